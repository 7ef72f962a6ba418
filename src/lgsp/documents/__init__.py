"""Document exchange: edXML document and status packages (QCVN 102:2016). No I/O but files.

Read leniently (:func:`read_package`), write strictly (:func:`write_package`), validate under
a profile (:func:`validate`).
"""

from lgsp.documents.attachments import Attachment
from lgsp.documents.models import (
    VIETNAM_TZ,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentHeader,
    DocumentPackage,
    DocumentType,
    ManifestReference,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusHeader,
    StatusPackage,
    TraceHeader,
)
from lgsp.documents.reader import EDXML_NS, read_document, read_package, read_status
from lgsp.documents.rules import RULES, Rule
from lgsp.documents.validation import check, validate, validate_model
from lgsp.documents.writer import WriteOptions, build_tree, package_to_bytes, write_package

__all__ = [
    "EDXML_NS",
    "RULES",
    "VIETNAM_TZ",
    "Attachment",
    "Business",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "Code",
    "DocumentHeader",
    "DocumentPackage",
    "DocumentType",
    "ManifestReference",
    "Organization",
    "OtherInfo",
    "Priority",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "Rule",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusHeader",
    "StatusPackage",
    "TraceHeader",
    "WriteOptions",
    "build_tree",
    "check",
    "package_to_bytes",
    "read_document",
    "read_package",
    "read_status",
    "validate",
    "validate_model",
    "write_package",
]
