"""Checking the signatures embedded in a PDF, one field at a time, with pyHanko's parts.

pyHanko's all-in-one validator ties integrity to certificate-path validation; lgsp keeps them
apart so a result says separately whether the bytes are intact, what they cover, and whether
the signer is trusted (through :mod:`lgsp.signatures.trust`, when settings are given).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, SignatureCoverageLevel
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import (
    extract_certs_for_validation,
    extract_self_reported_ts,
    validate_sig_integrity,
)

from lgsp.signatures._pdf_models import (
    Coverage,
    LaterChanges,
    PdfAlgorithms,
    PdfSignatureResult,
    SignerCertificate,
    TimestampInfo,
)
from lgsp.signatures._pdf_pages import page_refs, widget_place

if TYPE_CHECKING:
    from lgsp.signatures.trust import TrustSettings

__all__ = ["inspect_signatures"]

_COVERAGE: dict[SignatureCoverageLevel, Coverage] = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire revision, later incremental updates present",
}
_LATER: dict[ModificationLevel, LaterChanges] = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation data",
    ModificationLevel.FORM_FILLING: "form filling and signatures",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other changes",
}
_WEAK_DIGESTS = frozenset({"md5", "sha1"})
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}
# What a malformed signature can make pyHanko or asn1crypto raise while we read it.
_UNREADABLE = (PdfError, SignatureValidationError, ValueError, KeyError, TypeError, IndexError)


def inspect_signatures(
    reader: PdfFileReader, *, trust: TrustSettings | None, now: dt.datetime | None
) -> list[PdfSignatureResult]:
    """One result per filled signature field, in signing order (unreadable ones last)."""
    pages = page_refs(reader)
    found: list[tuple[int, PdfSignatureResult]] = []
    for name, _value, field_ref in enumerate_sig_fields(reader, filled_status=True):
        field: Any = field_ref.get_object()
        page, box = widget_place(field, pages)
        where: dict[str, Any] = {"field_name": str(name), "page": page, "box": box}
        try:
            emb = EmbeddedPdfSignature(reader, field, str(name))
            order = emb.signed_revision
            result = _inspect(reader, emb, where, trust, now)
        except _UNREADABLE as exc:
            order = 1 << 30
            result = PdfSignatureResult(
                **where,
                intact=False,
                coverage="partial",
                valid=False,
                reason=f"the signature cannot be read: {_message(exc)}",
            )
        found.append((order, result))
    found.sort(key=lambda item: item[0])
    return [result for _order, result in found]


def _message(exc: Exception) -> str:
    return str(getattr(exc, "failure_message", None) or exc or type(exc).__name__)


def _inspect(
    reader: PdfFileReader,
    emb: EmbeddedPdfSignature,
    where: dict[str, Any],
    trust: TrustSettings | None,
    now: dt.datetime | None,
) -> PdfSignatureResult:
    problems: list[str] = []
    is_timestamp = emb.sig_object_type == "/DocTimeStamp"
    signer_cert = emb.signer_cert
    intact = _integrity(emb, signer_cert, is_timestamp, problems)  # 1. the signed bytes

    # 2. Coverage, and what later incremental updates do.
    level = emb.evaluate_signature_coverage()
    coverage = _COVERAGE.get(level, "partial")
    later: LaterChanges | None = None
    if coverage == "partial":
        problems.append("the signature does not cover the whole revision it belongs to")
    elif reader.xrefs.hybrid_xrefs_present:
        later = "other changes"
        problems.append("the file uses hybrid cross-reference sections, which can hide changes")
    else:
        later = _later_changes(reader, emb, level, problems)

    # 3. Who, when, how.
    algorithms = _algorithms(emb.signer_info, signer_cert)
    if algorithms.digest in _WEAK_DIGESTS:
        problems.append(f"the signature uses {algorithms.digest}, which is no longer accepted")
    chain = [_to_crypto(c) for c in emb.other_embedded_certs]
    signer = _to_crypto(signer_cert)
    signing_time, source = _signing_time(emb)
    timestamp = _signature_timestamp(emb, trust, now) if not is_timestamp else None
    if is_timestamp:
        tst_time = _tst_info(emb.signed_data)["gen_time"].native
        signing_time, source = tst_time, None
    if timestamp is not None and not timestamp.valid:
        problems.append("the signature time-stamp is not valid")

    # 4. Trust, at the time-stamp's time when a valid one vouches for it.
    trust_result = None
    if trust is not None:
        from lgsp.signatures.trust import validate_certificate

        moment = timestamp.time if timestamp is not None and timestamp.valid else signing_time
        trust_result = validate_certificate(signer, chain, trust, signing_time=moment, now=now)
        if trust_result.outcome != "passed":
            problems.append(f"the signer is not trusted ({trust_result.outcome}): "
                            f"{trust_result.reason}")  # fmt: skip

    sig_object = emb.sig_object
    valid = not problems
    return PdfSignatureResult(
        **where,
        kind="document timestamp" if is_timestamp else "signature",
        intact=intact,
        coverage=coverage,
        later_changes=later,
        sub_filter=_name(sig_object.get("/SubFilter")),
        signer=_summary(signer),
        signing_time=signing_time,
        signing_time_source=source,
        timestamp=timestamp,
        algorithms=algorithms,
        declared_reason=_text(sig_object.get("/Reason")),
        declared_location=_text(sig_object.get("/Location")),
        trust=trust_result,
        valid=valid,
        reason=_summary_line(coverage) if valid else "; ".join(problems),
    )


def _integrity(
    emb: EmbeddedPdfSignature,
    signer_cert: asn1_x509.Certificate,
    is_timestamp: bool,
    problems: list[str],
) -> bool:
    """The bytes in ``/ByteRange`` are those signed, and the signature value verifies."""
    digest = emb.compute_digest()
    try:
        if is_timestamp:
            if _document_timestamp_intact(emb, signer_cert, digest):
                return True
            problems.append("the document time-stamp does not match the signed bytes")
            return False
        digest_ok, value_ok = validate_sig_integrity(emb.signer_info, signer_cert, "data", digest)
    except SignatureValidationError as exc:
        problems.append(f"the signature is malformed: {_message(exc)}")
        return False
    if not digest_ok:
        problems.append("the signed bytes were changed after signing (digest mismatch)")
    elif not value_ok:
        problems.append("the signature value does not verify with the signer's key")
    return bool(digest_ok and value_ok)


def _summary_line(coverage: Coverage) -> str:
    if coverage == "entire file":
        return "the signature is valid and covers the entire file"
    return "the signature is valid; later updates add only signatures, form data or annotations"


def _later_changes(
    reader: PdfFileReader,
    emb: EmbeddedPdfSignature,
    level: SignatureCoverageLevel,
    problems: list[str],
) -> LaterChanges:
    """pyHanko's difference analysis of the revisions after the signed one."""
    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return "none"
    diff = DEFAULT_DIFF_POLICY.review_file(
        reader, emb.signed_revision, field_mdp_spec=emb.fieldmdp, doc_mdp=emb.docmdp_level
    )
    if isinstance(diff, SuspiciousModification):
        problems.append(f"a later update changes the signed document: {diff}")
        return "other changes"
    changes: ModificationLevel = diff.modification_level
    docmdp = emb.docmdp_level
    if changes == ModificationLevel.OTHER:
        problems.append("a later update changes the signed document")
    elif docmdp is not None and changes.value > docmdp.value:
        problems.append(f"a later update goes beyond what the signature permits ({docmdp.name})")
    return _LATER[changes]


def _document_timestamp_intact(
    emb: EmbeddedPdfSignature, tsa_cert: asn1_x509.Certificate, digest: bytes
) -> bool:
    tst_info = _tst_info(emb.signed_data)
    imprint_ok = tst_info["message_imprint"]["hashed_message"].native == digest
    content = emb.signed_data["encap_content_info"]["content"].contents
    digest_ok, value_ok = validate_sig_integrity(
        emb.signer_info, tsa_cert, "tst_info", _digest(emb.md_algorithm, content)
    )
    return bool(imprint_ok and digest_ok and value_ok)


def _signature_timestamp(
    emb: EmbeddedPdfSignature, trust: TrustSettings | None, now: dt.datetime | None
) -> TimestampInfo | None:
    """The first signature time-stamp token (CAdES ``signature-time-stamp``), if any."""
    unsigned = emb.signer_info["unsigned_attrs"]
    tokens = [
        value
        for attr in (unsigned if unsigned.native is not None else [])
        if attr["type"].native == "signature_time_stamp_token"
        for value in attr["values"]
    ]
    if not tokens:
        return None
    signed_data: cms.SignedData = tokens[0]["content"]
    tst_info = _tst_info(signed_data)
    certs = extract_certs_for_validation(signed_data)
    tsa_info = signed_data["signer_infos"][0]
    imprint = tst_info["message_imprint"]
    expected = _digest(
        imprint["hash_algorithm"]["algorithm"].native, emb.signer_info["signature"].native
    )
    content = signed_data["encap_content_info"]["content"].contents
    md = tsa_info["digest_algorithm"]["algorithm"].native
    try:
        digest_ok, value_ok = validate_sig_integrity(
            tsa_info, certs.signer_cert, "tst_info", _digest(md, content)
        )
    except SignatureValidationError:
        digest_ok = value_ok = False
    intact = bool(imprint["hashed_message"].native == expected and digest_ok and value_ok)
    tsa = _to_crypto(certs.signer_cert)
    tsa_trust = None
    if trust is not None:
        from lgsp.signatures.trust import validate_certificate

        others = [_to_crypto(c) for c in certs.other_certs]
        time = tst_info["gen_time"].native
        tsa_trust = validate_certificate(tsa, others, trust, signing_time=time, now=now)
    return TimestampInfo(
        time=tst_info["gen_time"].native,
        intact=intact,
        authority=_summary(tsa),
        trust=tsa_trust,
        valid=intact and (tsa_trust is None or tsa_trust.outcome == "passed"),
    )


def _tst_info(signed_data: cms.SignedData) -> Any:
    return signed_data["encap_content_info"]["content"].parsed


def _digest(algorithm: str, data: bytes) -> bytes:
    try:
        h = hashes.Hash(_HASHES[algorithm]())
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {algorithm}") from None
    h.update(data)
    return h.finalize()


def _signing_time(
    emb: EmbeddedPdfSignature,
) -> tuple[dt.datetime | None, Any]:
    claimed = extract_self_reported_ts(emb.signer_info)
    if claimed is not None:
        return claimed, "signed attributes"
    raw = emb.sig_object.get("/M")
    if raw is None:
        return None, None
    try:
        return generic.parse_pdf_date(raw, strict=False), "signature dictionary"
    except PdfError:
        return None, None


def _algorithms(signer_info: cms.SignerInfo, cert: asn1_x509.Certificate) -> PdfAlgorithms:
    digest = signer_info["digest_algorithm"]["algorithm"].native
    try:
        signature = signer_info["signature_algorithm"].signature_algo
    except ValueError:
        signature = signer_info["signature_algorithm"]["algorithm"].native
    return PdfAlgorithms(digest=digest, signature=signature, key=_key_label(_to_crypto(cert)))


def _key_label(cert: x509.Certificate) -> str | None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


def _to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _summary(cert: x509.Certificate) -> SignerCertificate:
    def first(oid: x509.ObjectIdentifier) -> str | None:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    return SignerCertificate(
        common_name=first(NameOID.COMMON_NAME),
        organization=first(NameOID.ORGANIZATION_NAME),
        serial=format(cert.serial_number, "x"),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _name(value: object) -> str | None:
    return str(value).lstrip("/") if value is not None else None


def _text(value: object) -> str | None:
    return str(value) if value is not None else None
