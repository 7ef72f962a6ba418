"""PAdES signatures on PDF documents and attachments, as Nghị định 30/2020 Phụ lục I lays out.

Sign with :func:`sign_pdf` and an lgsp :class:`~lgsp.signatures.signers.Signer` (an in-memory
:class:`~lgsp.signatures.signers.KeySigner`, or a token): PAdES baseline B-B, SHA-256, RSA or
ECDSA, each signature an incremental update so earlier ones stay intact. The appearance says
what shows on the page:

* :class:`PersonalSignature` — the signer's signature image (blue PNG) between title and name;
* :class:`OrganisationSeal` — the Văn thư's second signature with the red seal image, over the
  left third of the personal signature (place it with :func:`seal_box_for`);
* :class:`AttachmentStamp` — the organisation signature on a separate attachment file: no
  image, the document number and the signing time at the top right of page 1.

Verify with :func:`verify_pdf`: one :class:`PdfSignatureResult` per signature field, saying
whether the signed bytes are intact, what they cover, who signed and when, and — with
:class:`~lgsp.signatures.trust.TrustSettings` — whether the signer is trusted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError

from lgsp.documents.models import VIETNAM_TZ
from lgsp.errors import SignatureError
from lgsp.signatures import _pdf_sign
from lgsp.signatures._pdf_io import MALFORMED, PdfInput, open_reader, read_pdf
from lgsp.signatures._pdf_models import (
    MM,
    AttachmentStamp,
    Box,
    Coverage,
    LaterChanges,
    OrganisationSeal,
    PdfAlgorithms,
    PdfAppearance,
    PdfSignatureResult,
    PersonalSignature,
    SignerCertificate,
    TimestampInfo,
)
from lgsp.signatures._pdf_verify import inspect_signatures

if TYPE_CHECKING:
    from lgsp.signatures.signers import Signer
    from lgsp.signatures.trust import TrustSettings

__all__ = [
    "MM",
    "SEAL_OVERLAP",
    "AttachmentStamp",
    "Box",
    "Coverage",
    "LaterChanges",
    "OrganisationSeal",
    "PdfAlgorithms",
    "PdfAppearance",
    "PdfInput",
    "PdfSignatureResult",
    "PersonalSignature",
    "SignerCertificate",
    "TimestampInfo",
    "check_pdf_signatures",
    "seal_box_for",
    "sign_pdf",
    "verify_pdf",
]

SEAL_OVERLAP = 1 / 3
"""Share of the personal signature's width the seal covers (Phụ lục I, item 8a: "trùm lên
khoảng 1/3 hình ảnh chữ ký số của người có thẩm quyền về phía bên trái")."""


def seal_box_for(personal_box: Box, seal_size: float | tuple[float, float]) -> Box:
    """Where the seal goes: its right edge one third into the personal signature box, centred
    on it vertically, so the seal covers the left third of the signature image.

    ``seal_size`` is the seal's real size in points — a diameter, or ``(width, height)``;
    ``40 * MM`` for a 40 mm seal.
    """
    x1, y1, x2, y2 = personal_box
    if not (x2 > x1 and y2 > y1):
        raise SignatureError(f"personal box {personal_box} must have x2 > x1 and y2 > y1")
    width, height = seal_size if isinstance(seal_size, tuple) else (seal_size, seal_size)
    if width <= 0 or height <= 0:
        raise SignatureError(f"seal size {seal_size} must be positive")
    right = x1 + (x2 - x1) * SEAL_OVERLAP
    middle = (y1 + y2) / 2
    return (right - width, middle - height / 2, right, middle + height / 2)


def sign_pdf(
    data: PdfInput,
    *,
    signer: Signer,
    appearance: PdfAppearance | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Sign ``data`` and return the whole signed PDF (the input plus one incremental update).

    ``appearance`` ``None`` makes an invisible signature. ``field_name`` defaults to the
    appearance's kind (``PersonalSignature``, ``OrganisationSeal``, ``AttachmentStamp``,
    numbered when taken). ``signing_time`` (aware; default now) goes into the signature
    dictionary's ``/M`` — PAdES keeps it out of the CMS — and, for an attachment stamp, onto
    the page; an :class:`AttachmentStamp` carrying its own time must agree with it.
    Raises :class:`~lgsp.errors.SignatureError` when the input is not a readable PDF or the
    signature cannot be made.
    """
    raw, label = read_pdf(data)
    when = _signing_time(appearance, signing_time)
    try:
        writer = _pdf_sign.open_writer(raw, label)
        field_spec, style = _pdf_sign.field_setup(writer, appearance, field_name, when)
        metadata = signers.PdfSignatureMetadata(
            field_name=field_spec.sig_field_name,
            md_algorithm=_pdf_sign.DIGEST,
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        pdf_signer = _pdf_sign.PinnedTimePdfSigner(
            metadata,
            signer=_pdf_sign.CmsSigner(signer),
            stamp_style=style,
            new_field_spec=field_spec,
            signing_time=when,
        )
        output = pdf_signer.sign_pdf(writer)
    except (PdfError, SigningError, ValueError, KeyError) as exc:
        raise SignatureError(f"{label}: cannot sign the PDF: {exc}") from exc
    return bytes(output.getbuffer())


def _signing_time(
    appearance: PdfAppearance | None, signing_time: dt.datetime | None
) -> dt.datetime:
    shown = appearance.signing_time if isinstance(appearance, AttachmentStamp) else None
    for moment in (signing_time, shown):
        if moment is not None and moment.utcoffset() is None:
            raise SignatureError("the signing time must carry a time zone (e.g. +07:00)")
    if signing_time is not None and shown is not None and signing_time != shown:
        raise SignatureError(
            f"the attachment stamp shows {shown.isoformat()} but the signing time is "
            f"{signing_time.isoformat()}; the time on the page must be the signing time"
        )
    moment = signing_time or shown or dt.datetime.now(VIETNAM_TZ)
    # /M and the stamp text carry whole seconds; drop the rest so both say the same.
    return moment.replace(microsecond=0).astimezone(VIETNAM_TZ)


def verify_pdf(
    data: PdfInput,
    *,
    trust: TrustSettings | None = None,
    now: dt.datetime | None = None,
) -> list[PdfSignatureResult]:
    """Check every signature field of ``data``, in signing order; ``[]`` for an unsigned PDF.

    A bad signature is reported in its result, never raised. ``trust`` adds certificate-path
    validation of each signer (and time-stamp authority) at ``now`` (default: the current
    time). Raises :class:`~lgsp.errors.SignatureError` when ``data`` is not a readable PDF.
    """
    raw, label = read_pdf(data)
    reader = open_reader(raw, label)
    try:
        return inspect_signatures(reader, trust=trust, now=now)
    except MALFORMED as exc:
        raise SignatureError(f"{label}: not a readable PDF: {exc or type(exc).__name__}") from exc


def check_pdf_signatures(
    data: PdfInput,
    *,
    trust: TrustSettings | None = None,
    now: dt.datetime | None = None,
) -> list[PdfSignatureResult]:
    """:func:`verify_pdf`, raising :class:`~lgsp.errors.SignatureError` (with the results)
    unless the PDF has at least one signature and every one is valid."""
    results = verify_pdf(data, trust=trust, now=now)
    if not results:
        raise SignatureError("the PDF has no signature", result=results)
    bad = [r for r in results if not r.valid]
    if bad:
        lines = "; ".join(f"{r.field_name}: {r.reason}" for r in bad)
        raise SignatureError(f"{len(bad)} of {len(results)} signature(s) not valid: {lines}",
                             result=results)  # fmt: skip
    return results
