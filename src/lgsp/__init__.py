"""lgsp — the contracts of Vietnam's data-sharing platform (LGSP), VXP and the DVCQG portal.

The curated public API: document exchange (edXML packages), signatures, findings and errors.
Everything here is importable from ``lgsp`` directly; submodules hold the rest.
"""

from lgsp.documents import (
    Attachment,
    Business,
    BusinessDocType,
    DocumentPackage,
    Organization,
    StatusCode,
    StatusPackage,
    WriteOptions,
    check,
    package_to_bytes,
    read_document,
    read_package,
    read_status,
    validate,
    write_package,
)
from lgsp.errors import (
    AttachmentError,
    CodeError,
    DossierError,
    HostileXMLError,
    LgspError,
    PackageError,
    RegistryError,
    SignatureError,
    ValidationError,
    XMLError,
)
from lgsp.findings import Finding
from lgsp.signatures import (
    KeySigner,
    Signer,
    VerificationResult,
    sign_package,
    verify_package,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "Attachment",
    "AttachmentError",
    "Business",
    "BusinessDocType",
    "CodeError",
    "DocumentPackage",
    "DossierError",
    "Finding",
    "HostileXMLError",
    "KeySigner",
    "LgspError",
    "Organization",
    "PackageError",
    "RegistryError",
    "SignatureError",
    "Signer",
    "StatusCode",
    "StatusPackage",
    "ValidationError",
    "VerificationResult",
    "WriteOptions",
    "XMLError",
    "__version__",
    "check",
    "package_to_bytes",
    "read_document",
    "read_package",
    "read_status",
    "sign_package",
    "validate",
    "verify_package",
    "write_package",
]
