"""PAdES B-B signing through pyHanko: the lgsp signer as a CMS signer, the pinned signing time,
and the signature field each Nghị định 30/2020 appearance needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from lgsp.documents.models import VIETNAM_TZ
from lgsp.errors import SignatureError
from lgsp.signatures import _pdf_stamps
from lgsp.signatures._pdf_io import open_reader
from lgsp.signatures._pdf_models import (
    AttachmentStamp,
    Box,
    OrganisationSeal,
    PersonalSignature,
)
from lgsp.signatures._pdf_pages import visible_page_box
from lgsp.signatures.signers import Signer, ecdsa_raw_to_der

__all__ = [
    "DIGEST",
    "CmsSigner",
    "PinnedTimePdfSigner",
    "field_setup",
    "iso_vietnam",
    "open_writer",
]

DIGEST = "sha256"

_FIELD_BASE = {
    "personal": "PersonalSignature",
    "seal": "OrganisationSeal",
    "attachment": "AttachmentStamp",
    None: "Signature",
}


def iso_vietnam(moment: dt.datetime) -> str:
    """``2026-11-23T09:15:00+07:00``: ISO 8601 to the second, in Vietnam time."""
    return moment.astimezone(VIETNAM_TZ).isoformat(timespec="seconds")


class CmsSigner(signers.Signer):
    """pyHanko's view of an lgsp :class:`~lgsp.signatures.signers.Signer`.

    The key never leaves the lgsp signer (a token or an HSM works the same way), and pyHanko's
    size-estimating dry run gets a dummy of the right length instead of a second signature.
    """

    def __init__(self, signer: Signer) -> None:
        public = signer.certificate.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            self._algorithm = "rsa-sha256"
            self._dummy = b"\x00" * ((public.key_size + 7) // 8)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            self._algorithm = "ecdsa-sha256"
            top = (1 << public.curve.key_size) - 1
            self._dummy = encode_dss_signature(top, top)
        else:
            raise SignatureError("PDF signing takes RSA or EC (ECDSA) certificates only")
        self._signer = signer
        store: Any = SimpleCertificateStore  # unannotated in pyhanko-certvalidator
        registry = store.from_certs([_asn1(c) for c in signer.chain])
        super().__init__(signing_cert=_asn1(signer.certificate), cert_registry=registry)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != DIGEST:
            raise SignatureError(f"lgsp signs PDFs with SHA-256, not {digest_algorithm}")
        if dry_run:
            return self._dummy
        value = self._signer.sign(data, self._algorithm)  # type: ignore[arg-type]
        return ecdsa_raw_to_der(value) if self._algorithm.startswith("ecdsa") else value


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


class PinnedTimePdfSigner(signers.PdfSigner):
    """pyHanko's signer with the signing time chosen by the caller instead of the clock: it goes
    into ``/M`` and, for the attachment stamp, is the time shown on the page."""

    def __init__(
        self,
        signature_meta: signers.PdfSignatureMetadata,
        signer: signers.Signer,
        *,
        stamp_style: BaseStampStyle | None,
        new_field_spec: fields.SigFieldSpec,
        signing_time: dt.datetime,
    ) -> None:
        super().__init__(
            signature_meta, signer, stamp_style=stamp_style, new_field_spec=new_field_spec
        )
        self._signing_time = signing_time

    def init_signing_session(
        self, pdf_out: BasePdfFileWriter, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session: PdfSigningSession = super().init_signing_session(
            pdf_out, existing_fields_only=existing_fields_only
        )
        session.system_time = self._signing_time
        return session


# --------------------------------------------------------------------------- field set-up
def field_setup(
    writer: IncrementalPdfFileWriter,
    appearance: PersonalSignature | OrganisationSeal | AttachmentStamp | None,
    field_name: str | None,
    signing_time: dt.datetime,
) -> tuple[fields.SigFieldSpec, BaseStampStyle | None]:
    """The new signature field (name, page, box) and the style that draws it."""
    kind = None if appearance is None else appearance.kind
    name = field_name or _free_name(writer, _FIELD_BASE[kind])
    if field_name is not None and field_name in _existing_names(writer):
        raise SignatureError(f"the PDF already has a signature field named {field_name!r}")
    if appearance is None:
        return fields.SigFieldSpec(sig_field_name=name), None
    pages = _page_count(writer)
    if isinstance(appearance, AttachmentStamp):
        lines = (appearance.document_number, iso_vietnam(signing_time))
        style = _pdf_stamps.TextStampStyle(lines=lines, size=10.0, leading=12.0)
        width, height = _pdf_stamps.text_block_size(lines, style.size, style.leading)
        _x1, _y1, x2, y2 = visible_page_box(writer, 0, for_stamp=True)
        right, top = x2 - appearance.right, y2 - appearance.top
        box: Box = (right - width, top - height, right, top)
        return _field_spec(name, 0, box), style
    page = appearance.page if appearance.page >= 0 else pages + appearance.page
    if not 0 <= page < pages:
        raise SignatureError(f"page {appearance.page} does not exist; the PDF has {pages} page(s)")
    what = "signature" if isinstance(appearance, PersonalSignature) else "seal"
    image = _pdf_stamps.load_png(appearance.image, what=what)
    return _field_spec(name, page, appearance.box), _pdf_stamps.ImageStampStyle(image=image)


def _field_spec(name: str, page: int, box: Box) -> fields.SigFieldSpec:
    # pyHanko annotates the box as ints; it writes any number, and points are fractional.
    options: dict[str, Any] = {"sig_field_name": name, "on_page": page, "box": box}
    return fields.SigFieldSpec(**options)


def _existing_names(writer: IncrementalPdfFileWriter) -> set[str]:
    return {str(name) for name, _value, _ref in fields.enumerate_sig_fields(writer)}


def _free_name(writer: IncrementalPdfFileWriter, base: str) -> str:
    taken = _existing_names(writer)
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _page_count(writer: IncrementalPdfFileWriter) -> int:
    return int(writer.root["/Pages"]["/Count"])


def open_writer(raw: bytes, label: str) -> IncrementalPdfFileWriter:
    """An incremental writer: what it adds goes after the original bytes, untouched."""
    reader = open_reader(raw, label)
    return IncrementalPdfFileWriter(reader.stream, prev=reader)
