"""Models of edXML document and status packages (QCVN 102:2016).

Python names are readable English; the wire names (the standard's own spelling, including its
``Bussiness``) are the aliases. Models are tolerant so that anything real traffic carries can be
read; the rules in :mod:`lgsp.documents.rules` decide what is acceptable under a profile.
Dates are ``datetime.date``; timestamps are aware datetimes in Vietnam time (UTC+7, no DST) —
QCVN 102 writes them without a zone (``yyyy/MM/dd HH:mm:ss``), Asia/Ho_Chi_Minh implied.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Annotated, Any, Self

from lxml import etree
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr

from lgsp.documents.attachments import Attachment
from lgsp.findings import Finding

__all__ = [
    "VIETNAM_TZ",
    "Business",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "Code",
    "DocumentHeader",
    "DocumentPackage",
    "DocumentType",
    "EdxmlDate",
    "EdxmlTimestamp",
    "ManifestReference",
    "Organization",
    "OtherInfo",
    "Priority",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusHeader",
    "StatusPackage",
    "TraceHeader",
]

VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
"""Vietnam time. QCVN 102 timestamps carry no zone; Asia/Ho_Chi_Minh (UTC+7, no DST) is implied."""

_DATE_RE = re.compile(r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s*$")
_TS_RE = re.compile(
    r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def _parse_date(value: Any) -> Any:
    if isinstance(value, str):
        v = value.strip()
        # Fast path for the form real traffic uses (yyyy/MM/dd), then the tolerant regex.
        if (
            len(v) == 10
            and v[4] in "/-"
            and v[7] == v[4]
            and v[:4].isdigit()
            and v[5:7].isdigit()
            and v[8:].isdigit()
        ):
            return dt.date(int(v[:4]), int(v[5:7]), int(v[8:]))
        m = _DATE_RE.match(v)
        if not m:
            raise ValueError(f"{value!r} is not a date in the form yyyy/MM/dd")
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    return value


def parse_timestamp(text: str) -> dt.datetime:
    """A QCVN 102 timestamp (``yyyy/MM/dd HH:mm:ss``, Vietnam time) as an aware datetime;
    ValueError when it is not one."""
    value = _parse_timestamp(text)
    assert isinstance(value, dt.datetime)  # noqa: S101 - _parse_timestamp returns or raises
    return value


def _parse_timestamp(value: Any) -> Any:
    if isinstance(value, str):
        m = _TS_RE.match(value)
        if not m:
            raise ValueError(f"{value!r} is not a timestamp in the form yyyy/MM/dd HH:mm:ss")
        tz: dt.tzinfo = VIETNAM_TZ
        if m[7]:
            tz = (
                dt.UTC
                if m[7] == "Z"
                else dt.timezone(
                    (1 if m[7][0] == "+" else -1)
                    * dt.timedelta(hours=int(m[7][1:3]), minutes=int(m[7][-2:]))
                )
            )
        value = dt.datetime(
            int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), tzinfo=tz
        )
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=VIETNAM_TZ)
        return value.astimezone(VIETNAM_TZ)
    return value


def format_date(value: dt.date) -> str:
    """QCVN 102 date: ``yyyy/MM/dd``."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_timestamp(value: dt.datetime) -> str:
    """QCVN 102 timestamp: ``yyyy/MM/dd HH:mm:ss`` in Vietnam time."""
    v = value.astimezone(VIETNAM_TZ) if value.tzinfo else value
    return f"{v.year:04d}/{v.month:02d}/{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"


def _normalise_status_code(value: Any) -> Any:
    # The Bkav hub writes "1" where QCVN 102 writes "01"; unknown codes ("999") are kept.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and len(value.strip()) == 1 and value.strip().isdigit():
        return "0" + value.strip()
    return value


EdxmlDate = Annotated[
    dt.date, BeforeValidator(_parse_date), PlainSerializer(format_date, return_type=str)
]
"""A date read from ``yyyy/MM/dd`` (``yyyy-MM-dd`` tolerated) and written as ``yyyy/MM/dd``."""
EdxmlTimestamp = Annotated[
    dt.datetime,
    BeforeValidator(_parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str),
]
"""An aware timestamp, written ``yyyy/MM/dd HH:mm:ss`` in Vietnam time."""
EdxmlInt = int
"""Whole numbers: pydantic's lax mode reads "12" from the wire natively."""
EdxmlBool = bool
"""``true``/``false`` (and ``1``/``0``): pydantic's lax mode reads them natively."""


class _Model(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        validate_assignment=True,
        extra="forbid",
        str_strip_whitespace=True,
        arbitrary_types_allowed=True,
    )


class Priority(enum.IntEnum):
    """``OtherInfo/Priority`` (Bkav hub: 0–4; the mapping of names is inferred)."""

    NORMAL = 0
    URGENT = 1
    VERY_URGENT = 2
    EXPRESS = 3
    EXPRESS_TIMED = 4


class BusinessDocType(enum.IntEnum):
    """``Bussiness/BussinessDocType``: what the package does to the document."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class StatusCode(enum.StrEnum):
    """Status package codes (QCVN 102 samples; codes 07–12 and 14 appear in no source)."""

    RECEIVED = "01"
    REJECTED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    FINISHED = "06"
    RECALL_REQUESTED = "13"
    CHANGE_ACCEPTED = "15"
    CHANGE_REJECTED = "16"

    @property
    def label(self) -> str:
        """The Vietnamese meaning of the code."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    StatusCode.RECEIVED: "Đã đến",
    StatusCode.REJECTED: "Từ chối tiếp nhận",
    StatusCode.ACCEPTED: "Đã tiếp nhận, vào sổ văn bản đến",
    StatusCode.ASSIGNED: "Phân công xử lý",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.FINISHED: "Hoàn thành xử lý",
    StatusCode.RECALL_REQUESTED: "Yêu cầu lấy lại văn bản",
    StatusCode.CHANGE_ACCEPTED: "Đồng ý cập nhật, lấy lại",
    StatusCode.CHANGE_REJECTED: "Từ chối cập nhật, lấy lại",
}


class Organization(_Model):
    """``From`` / ``To``: a sending or receiving organisation."""

    organ_id: str | None = Field(None, alias="OrganId")
    organization_in_charge: str | None = Field(None, alias="OrganizationInCharge")
    organ_name: str | None = Field(None, alias="OrganName")
    organ_address: str | None = Field(None, alias="OrganAdd")
    email: str | None = Field(None, alias="Email")
    telephone: str | None = Field(None, alias="Telephone")
    fax: str | None = Field(None, alias="Fax")
    website: str | None = Field(None, alias="Website")


class Code(_Model):
    """``Code``: the document's number and notation (số, ký hiệu), e.g. 7816 / VPCP-TTĐT."""

    number: str | None = Field(None, alias="CodeNumber")
    notation: str | None = Field(None, alias="CodeNotation")

    def __str__(self) -> str:
        return f"{self.number or ''}/{self.notation or ''}"


class PromulgationInfo(_Model):
    """``PromulgationInfo``: where and when the document was issued."""

    place: str | None = Field(None, alias="Place")
    date: EdxmlDate | None = Field(None, alias="PromulgationDate")


class DocumentType(_Model):
    """``DocumentType``: type code, detail and name (e.g. 1 / 0 / Công văn)."""

    type: EdxmlInt | None = Field(None, alias="Type")
    type_detail: EdxmlInt | None = Field(None, alias="TypeDetail")
    type_name: str | None = Field(None, alias="TypeName")


class SignerInfo(_Model):
    """``SignerInfo``: competence (TL., KT., …), position and full name of the signer."""

    competence: str | None = Field(None, alias="Competence")
    position: str | None = Field(None, alias="Position")
    full_name: str | None = Field(None, alias="FullName")


class OtherInfo(_Model):
    """``OtherInfo``: priority, sphere, typist, amounts, direction, appendixes.

    ``ReplyFors`` and ``ReferenceCodes`` have no documented structure; their content is kept
    as raw XML so that nothing received is lost.
    """

    priority: EdxmlInt | None = Field(None, alias="Priority")
    sphere_of_promulgation: str | None = Field(None, alias="SphereOfPromulgation")
    typer_notation: str | None = Field(None, alias="TyperNotation")
    promulgation_amount: EdxmlInt | None = Field(None, alias="PromulgationAmount")
    page_amount: EdxmlInt | None = Field(None, alias="PageAmount")
    reply_fors_xml: str | None = Field(None, alias="ReplyFors")
    direction: EdxmlBool | None = Field(None, alias="Direction")
    reference_codes_xml: str | None = Field(None, alias="ReferenceCodes")
    appendixes: list[str] = Field(default_factory=list, alias="Appendixes")


class ResponseFor(_Model):
    """``ResponseFor``: the earlier document this one answers (or, for a revoke, targets)."""

    organ_id: str | None = Field(None, alias="OrganId")
    code: str | None = Field(None, alias="Code")
    promulgation_date: EdxmlDate | None = Field(None, alias="PromulgationDate")
    document_id: str | None = Field(None, alias="DocumentId")


class DocumentHeader(_Model):
    """``MessageHeader`` of a document package, in the standard's element order."""

    from_: Organization = Field(default_factory=Organization, alias="From")
    to: list[Organization] = Field(default_factory=list, alias="To")
    document_id: str | None = Field(None, alias="DocumentId")
    code: Code = Field(default_factory=Code, alias="Code")
    promulgation: PromulgationInfo = Field(
        default_factory=PromulgationInfo, alias="PromulgationInfo"
    )
    document_type: DocumentType = Field(default_factory=DocumentType, alias="DocumentType")
    subject: str | None = Field(None, alias="Subject")
    content: str | None = Field(None, alias="Content")
    signer: SignerInfo = Field(default_factory=SignerInfo, alias="SignerInfo")
    due_date: EdxmlDate | None = Field(None, alias="DueDate")
    other_info: OtherInfo | None = Field(None, alias="OtherInfo")
    response_for: list[ResponseFor] = Field(default_factory=list, alias="ResponseFor")
    steering_type: EdxmlInt | None = Field(None, alias="SteeringType")
    response_for_task: list[str] = Field(default_factory=list, alias="ResponseForTask")
    application_type: str | None = Field(None, alias="ApplicationType")
    to_places: list[str] = Field(default_factory=list, alias="ToPlaces")


class TraceHeader(_Model):
    """``TraceHeader``: one hop of the package (organ and time)."""

    organ_id: str | None = Field(None, alias="OrganId")
    timestamp: EdxmlTimestamp | None = Field(None, alias="Timestamp")


class StaffInfo(_Model):
    """``StaffInfo``: the clerk who handled the package."""

    department: str | None = Field(None, alias="Department")
    department_id: str | None = Field(None, alias="DepartmentId")
    staff: str | None = Field(None, alias="Staff")
    staff_id: str | None = Field(None, alias="StaffId")
    email: str | None = Field(None, alias="Email")
    mobile: str | None = Field(None, alias="Mobile")


class Receiver(_Model):
    """``ReceiverList/Receiver`` of an update (meaning of ReceiverType 0/1 is undocumented)."""

    organ_id: str | None = Field(None, alias="OrganId")
    receiver_type: EdxmlInt | None = Field(None, alias="ReceiverType")


class BusinessDocumentInfo(_Model):
    """``BussinessDocumentInfo`` of an update (BussinessDocType 2)."""

    document_info: EdxmlInt | None = Field(None, alias="DocumentInfo")
    document_receiver: EdxmlInt | None = Field(None, alias="DocumentReceiver")
    receivers: list[Receiver] = Field(default_factory=list, alias="ReceiverList")


class ReplacementInfo(_Model):
    """``ReplacementInfo`` of a replace (BussinessDocType 3): replaced document and organs."""

    document_id: str | None = Field(None, alias="DocumentId")
    organ_ids: list[str] = Field(default_factory=list, alias="OrganIdList")


class Business(_Model):
    """The business block (``Bussiness`` on the wire): new, revoke, update or replace."""

    document_id: str | None = Field(None, alias="DocumentId")
    doc_type: EdxmlInt = Field(BusinessDocType.NEW, alias="BussinessDocType")
    reason: str | None = Field(None, alias="BussinessDocReason")
    paper: EdxmlInt | None = Field(None, alias="Paper")
    document_info: BusinessDocumentInfo | None = Field(None, alias="BussinessDocumentInfo")
    replacements: list[ReplacementInfo] = Field(default_factory=list, alias="ReplacementInfoList")
    staff: StaffInfo | None = Field(None, alias="StaffInfo")

    @property
    def kind(self) -> BusinessDocType | None:
        """The doc type as an enum, or None for a code outside 0–3 (kept as read)."""
        try:
            return BusinessDocType(self.doc_type)
        except ValueError:
            return None


class ManifestReference(_Model):
    """``edXMLManifest/Reference``: how the manifest describes one attachment."""

    content_id: str | None = Field(None, alias="ContentId")
    content_type: str | None = Field(None, alias="ContentType")
    description: str | None = Field(None, alias="Description")
    attachment_name: str | None = Field(None, alias="AttachmentName")


class _Package(_Model):
    """What document and status packages share: reader notes, the received tree, the kept
    signature, and the context-manager protocol that releases spooled attachments."""

    notes: list[Finding] = Field(default_factory=list, exclude=True)
    """What the reader tolerated in a read package (rule, place, message)."""

    _tree: etree._Element | None = PrivateAttr(None)
    _signature: str | etree._Element | None = PrivateAttr(None)

    @property
    def signature_xml(self) -> str | None:
        """The ``Signature`` element, verbatim, for the signature layer (serialised on demand)."""
        sig = self._signature
        if sig is not None and not isinstance(sig, str):
            sig = self._signature = etree.tostring(sig, encoding="unicode", with_tail=False)
        return sig

    @signature_xml.setter
    def signature_xml(self, value: str | None) -> None:
        self._signature = value

    def close(self) -> None:
        """Release what the package holds (spooled attachments); safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DocumentPackage(_Package):
    """An edXML document package: header, trace and business block, attachments, signature.

    ``manifest`` is what a read package's manifest said (kept for validation); the writer
    always derives the manifest from ``attachments``. :attr:`signature_xml` is the
    ``Signature`` element kept verbatim for the signature layer.
    """

    header: DocumentHeader = Field(default_factory=DocumentHeader, alias="MessageHeader")
    traces: list[TraceHeader] = Field(default_factory=list, alias="TraceHeaderList")
    trace_list_id: str | None = None
    trace_list_version: str | None = None
    business: Business | None = Field(None, alias="Bussiness")
    attachments: list[Attachment] = Field(default_factory=list, alias="AttachmentEncoded")
    manifest: list[ManifestReference] = Field(default_factory=list, alias="edXMLManifest")

    def close(self) -> None:
        """Release the temporary files that hold read attachments."""
        for attachment in self.attachments:
            attachment.close()


class StatusHeader(_Model):
    """``MessageHeader`` of a status package."""

    from_: Organization = Field(default_factory=Organization, alias="From")
    response_for: ResponseFor = Field(default_factory=ResponseFor, alias="ResponseFor")
    staff: StaffInfo | None = Field(None, alias="StaffInfo")
    code: Annotated[str | None, BeforeValidator(_normalise_status_code)] = Field(
        None, alias="StatusCode"
    )
    description: str | None = Field(None, alias="Description")
    timestamp: EdxmlTimestamp | None = Field(None, alias="Timestamp")

    @property
    def status(self) -> StatusCode | None:
        """The code as an enum, or None for a code no source knows (kept as read)."""
        try:
            return StatusCode(self.code) if self.code is not None else None
        except ValueError:
            return None


class StatusPackage(_Package):
    """An edXML status package: one status of a document, sent back to its sender."""

    header: StatusHeader = Field(default_factory=StatusHeader, alias="MessageHeader")
