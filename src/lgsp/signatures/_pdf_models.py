"""Public models of the PDF signature layer: appearances to sign with, results of verifying.

Re-exported by :mod:`lgsp.signatures.pdf`; kept apart so the signing and verifying modules can
share them without importing each other.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lgsp.signatures.trust import TrustResult

__all__ = [
    "MM",
    "AttachmentStamp",
    "Box",
    "Coverage",
    "LaterChanges",
    "OrganisationSeal",
    "PdfAlgorithms",
    "PdfAppearance",
    "PdfSignatureResult",
    "PersonalSignature",
    "SignerCertificate",
    "TimestampInfo",
]

MM = 72 / 25.4
"""PDF points per millimetre: ``40 * MM`` is a 40 mm seal."""

Box = tuple[float, float, float, float]
"""``(x1, y1, x2, y2)`` in PDF points, origin at the bottom left of the page."""


def _check_box(box: Box) -> Box:
    x1, y1, x2, y2 = box
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"box {box} must be (x1, y1, x2, y2) with x2 > x1 and y2 > y1")
    return box


def _check_aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("the signing time must carry a time zone (e.g. +07:00)")
    return value


# ----------------------------------------------------------------------------- appearances
class _ImageAppearance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    page: int = -1
    """Page index, 0 for the first page, -1 (the default) for the last."""
    box: Box
    """Where the image goes, in points; the image is fitted inside, aspect ratio kept."""
    image: bytes = Field(repr=False)
    """PNG bytes with a transparent background."""

    _box = field_validator("box")(_check_box)


class PersonalSignature(_ImageAppearance):
    """The signer's own signature (Nghị định 30/2020 Phụ lục I, item 7d): the image of the
    handwritten signature, blue, PNG with a transparent background, in a box the caller
    places centred between the signer's title and full name."""

    kind: Literal["personal"] = "personal"


class OrganisationSeal(_ImageAppearance):
    """The organisation's signature applied by the Văn thư (item 8a): the seal image, red,
    real size, PNG with a transparent background, covering about one third of the personal
    signature image on its left — see :func:`~lgsp.signatures.pdf.seal_box_for`."""

    kind: Literal["seal"] = "seal"


class AttachmentStamp(BaseModel):
    """The organisation's signature on an attachment sent as a separate file (items 8b, 10d):
    no image; at the top right of the first page, the document's number and notation and the
    signing time in ISO 8601 with the Vietnam offset, Times (base-14 Times-Roman), regular,
    10 pt, black."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["attachment"] = "attachment"
    document_number: str = Field(min_length=1, max_length=60)
    """Số và ký hiệu of the document the attachment belongs to, e.g. ``1234/UBND-VX``."""
    signing_time: dt.datetime | None = None
    """Shown on the page and signed as the signing time; ``None`` takes ``sign_pdf``'s."""
    top: float = Field(10 * MM, ge=0)
    """Distance from the top edge of the page to the top of the text, in points."""
    right: float = Field(15 * MM, ge=0)
    """Distance from the right edge of the page to the end of the text, in points."""

    _time = field_validator("signing_time")(_check_aware)

    @field_validator("document_number")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\t") or value != value.strip():
            raise ValueError("the document number is one line without surrounding spaces")
        return value


PdfAppearance = Annotated[
    PersonalSignature | OrganisationSeal | AttachmentStamp, Field(discriminator="kind")
]
"""How a signature shows on the page; ``None`` where an appearance is optional means an
invisible signature."""


# --------------------------------------------------------------------------------- results
Coverage = Literal["entire file", "entire revision, later incremental updates present", "partial"]
"""What the signature's byte range covers. ``partial``: not even the whole revision it was
made in — the signed bytes do not describe a document on their own."""

LaterChanges = Literal[
    "none", "validation data", "form filling and signatures", "annotations", "other changes"
]
"""What incremental updates after the signed revision do. ``other changes`` means the
document as shown may differ from what was signed (changed pages, objects replaced)."""


class SignerCertificate(BaseModel):
    """The certificate of whoever signed: who, issued by whom, which one."""

    model_config = ConfigDict(frozen=True)

    common_name: str | None
    organization: str | None
    serial: str
    """Serial number in hexadecimal, lower case."""
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    """SHA-256 fingerprint of the DER certificate, hexadecimal."""


class PdfAlgorithms(BaseModel):
    model_config = ConfigDict(frozen=True)

    digest: str
    """Digest of the signed bytes, e.g. ``sha256``."""
    signature: str
    """Signature scheme, e.g. ``rsassa_pkcs1v15``, ``rsassa_pss``, ``ecdsa``."""
    key: str | None
    """The signer's public key, e.g. ``RSA-2048`` or ``EC secp256r1``."""


class TimestampInfo(BaseModel):
    """A time-stamp token over the signature (PAdES B-T) or a document time-stamp."""

    model_config = ConfigDict(frozen=True)

    time: dt.datetime
    """The time the TSA asserts."""
    intact: bool
    """The token's imprint matches what it stamps, and the TSA's signature verifies."""
    authority: SignerCertificate | None = None
    trust: TrustResult | None = None
    """The verdict on the TSA's certificate when trust settings were given."""
    valid: bool
    """Intact and, when trust was given, the TSA is trusted."""


class PdfSignatureResult(BaseModel):
    """What verifying one signature field found. Never raised: read :attr:`valid` and
    :attr:`reason`."""

    model_config = ConfigDict(frozen=True)

    field_name: str
    kind: Literal["signature", "document timestamp"] = "signature"
    page: int | None = None
    """Page index of the widget (0 is the first page), ``None`` when it has none."""
    box: Box | None = None
    """The widget's rectangle on the page; ``None`` for an invisible signature."""
    intact: bool
    """The signed bytes are exactly those signed: their digest matches the one in the
    signature, and the signature value verifies with the signer's certificate."""
    coverage: Coverage
    later_changes: LaterChanges | None = None
    """``None`` when the analysis was not possible (partial coverage)."""
    sub_filter: str | None = None
    """``ETSI.CAdES.detached`` for PAdES, ``adbe.pkcs7.detached`` for plain PKCS#7."""
    signer: SignerCertificate | None = None
    signing_time: dt.datetime | None = None
    """The time the signer claims (not proven without a time-stamp)."""
    signing_time_source: Literal["signed attributes", "signature dictionary"] | None = None
    """Where :attr:`signing_time` comes from: the CMS ``signing-time`` attribute, or the
    ``/M`` entry of the signature dictionary (PAdES forbids the former)."""
    timestamp: TimestampInfo | None = None
    algorithms: PdfAlgorithms | None = None
    declared_reason: str | None = None
    """The ``/Reason`` the signer wrote; not to be confused with :attr:`reason`."""
    declared_location: str | None = None
    trust: TrustResult | None = None
    """The verdict on the signer's certificate when trust settings were given."""
    valid: bool
    """Intact, covering its whole revision, no later changes beyond signatures, form filling,
    annotations or validation data, a digest stronger than SHA-1, and — when trust settings
    were given — trusted."""
    reason: str
    """Why the signature is not valid, or a one-line summary when it is."""
