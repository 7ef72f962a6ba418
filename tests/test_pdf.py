"""PAdES signing and verification of PDFs (lgsp.signatures.pdf), per Nghị định 30/2020 Phụ lục I.

PDFs and PNG images are written by code here; the PKI is lgsp.testing.pki with the clock pinned.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator.registry import SimpleCertificateStore

from lgsp.errors import LgspError, SignatureError
from lgsp.signatures.pdf import (
    MM,
    AttachmentStamp,
    OrganisationSeal,
    PersonalSignature,
    check_pdf_signatures,
    seal_box_for,
    sign_pdf,
    verify_pdf,
)
from lgsp.signatures.signers import KeySigner
from lgsp.signatures.trust import TrustSettings
from lgsp.testing.pki import Identity, TestPKI, make_pki

NOW = dt.datetime(2026, 11, 23, 2, 15, tzinfo=dt.UTC)  # 09:15:00 in Vietnam (UTC+7)
VN = dt.timezone(dt.timedelta(hours=7))
A4 = (595.0, 842.0)
PERSONAL_BOX = (340.0, 220.0, 480.0, 290.0)  # between "CHỦ TỊCH" and the name, see _pdf()
SEAL = 35 * MM

# --------------------------------------------------------------------------- test material


def _pdf(pages: int = 1, *, rotate: int = 0) -> bytes:
    """A small valid PDF with exact xref offsets: a letterhead, a title and a signer's name."""
    content = (
        b"BT /F1 14 Tf 72 760 Td (UY BAN NHAN DAN TINH THU NGHIEM) Tj ET\n"
        b"BT /F1 12 Tf 372 300 Td (CHU TICH) Tj ET\n"
        b"BT /F1 12 Tf 360 200 Td (Nguyen Van An) Tj ET"
    )
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding /WinAnsiEncoding >>",
    ]
    box = b"/MediaBox [0 0 %g %g] /Rotate %d" % (*A4, rotate)
    for i in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R " + box + b" "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


Pixel = Callable[[int, int], tuple[int, int, int, int]]


def _png(width: int, height: int, pixel: Pixel, *, alpha: bool = True) -> bytes:
    """A PNG written by hand (8-bit RGBA, or RGB without ``alpha``), filter 0 on every row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rgba = pixel(x, y)
            rows.extend(rgba if alpha else rgba[:3])
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def _signature_png() -> bytes:
    """A blue stroke on a transparent background, 2:1 like PERSONAL_BOX."""

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        on_stroke = abs((y - 20) - (x % 40)) < 4 or abs(y - 30) < 2
        return (20, 40, 200, 255) if on_stroke else (0, 0, 0, 0)

    return _png(120, 60, pixel)


def _seal_png() -> bytes:
    """A red ring on a transparent background."""
    size, centre = 80, 39.5

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        r = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
        return (220, 20, 20, 255) if 30 <= r <= 38 or 14 <= r <= 16 else (0, 0, 0, 0)

    return _png(size, size, pixel)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki(now=NOW)


def _signer(identity: Identity) -> KeySigner:
    return KeySigner(identity.key, identity.certificate, identity.chain)


@pytest.fixture(scope="module")
def personal_signed(pki: TestPKI) -> bytes:
    return sign_pdf(
        _pdf(),
        signer=_signer(pki.signer()),
        appearance=PersonalSignature(page=0, box=PERSONAL_BOX, image=_signature_png()),
        reason="Ký ban hành",
        location="Hà Nội",
        signing_time=NOW,
    )


@pytest.fixture(scope="module")
def sealed(pki: TestPKI, personal_signed: bytes) -> bytes:
    return sign_pdf(
        personal_signed,
        signer=_signer(pki.ec_signer()),
        appearance=OrganisationSeal(
            page=0, box=seal_box_for(PERSONAL_BOX, SEAL), image=_seal_png()
        ),
        signing_time=NOW + dt.timedelta(minutes=5),
    )


@pytest.fixture(scope="module")
def attachment_signed(pki: TestPKI) -> bytes:
    stamp = AttachmentStamp(document_number="1234/UBND-VX", signing_time=NOW.astimezone(VN))
    return sign_pdf(_pdf(pages=2), signer=_signer(pki.ec_signer()), appearance=stamp)


def _trust(pki: TestPKI) -> TrustSettings:
    return TrustSettings(anchors=[pki.root.certificate], crls=pki.crls(), revocation="soft")


def _field(data: bytes, name: str) -> generic.DictionaryObject:
    reader = PdfFileReader(io.BytesIO(data))
    for field_name, _value, ref in fields.enumerate_sig_fields(reader):
        if field_name == name:
            obj: generic.DictionaryObject = ref.get_object()
            return obj
    raise AssertionError(f"no field {name}")


# ------------------------------------------------------------------------------- signing


def test_sign_then_verify_personal_signature(personal_signed: bytes) -> None:
    original = _pdf()
    assert personal_signed.startswith(original)  # an incremental update: the original is kept
    [result] = verify_pdf(personal_signed)
    assert result.field_name == "PersonalSignature"
    assert result.intact
    assert result.coverage == "entire file"
    assert result.later_changes == "none"
    assert result.valid, result.reason
    assert result.reason == "the signature is valid and covers the entire file"
    assert result.signer is not None
    assert result.signer.common_name == "Nguyễn Văn An"
    assert result.signer.organization == "Ủy ban nhân dân tỉnh Thử Nghiệm"
    assert result.signing_time == NOW
    assert result.signing_time_source == "signature dictionary"  # PAdES: /M, not CMS
    assert result.sub_filter == "ETSI.CAdES.detached"
    assert result.algorithms is not None
    assert (result.algorithms.digest, result.algorithms.signature) == ("sha256", "rsassa_pkcs1v15")
    assert result.algorithms.key == "RSA-2048"
    assert result.declared_reason == "Ký ban hành"
    assert result.declared_location == "Hà Nội"
    assert result.page == 0
    assert result.box == PERSONAL_BOX
    assert result.timestamp is None
    assert result.trust is None


def test_image_fills_its_box_with_transparency(personal_signed: bytes) -> None:
    appearance = _field(personal_signed, "PersonalSignature")["/AP"]["/N"]
    stream = appearance.data
    # 120×60 image in a 140×70 box: scaled to the full box, no offset.
    assert re.search(rb"q 140 0 0 70 0 0 cm /Img0 Do Q", stream), stream
    image = appearance["/Resources"]["/XObject"]["/Img0"]
    assert (image["/Width"], image["/Height"]) == (120, 60)
    assert "/SMask" in image  # the transparent background is kept as a soft mask


def test_ecdsa_signature(pki: TestPKI) -> None:
    signed = sign_pdf(_pdf(), signer=_signer(pki.ec_signer()), signing_time=NOW)
    [result] = verify_pdf(signed)
    assert result.valid, result.reason
    assert result.algorithms is not None
    assert result.algorithms.signature == "ecdsa"
    assert result.algorithms.key == "EC secp256r1"
    assert result.box is None  # invisible signature
    assert result.field_name == "Signature"


def test_personal_signature_then_seal_keeps_the_first_intact(sealed: bytes) -> None:
    first, second = verify_pdf(sealed)
    assert (first.field_name, second.field_name) == ("PersonalSignature", "OrganisationSeal")
    assert first.intact
    assert first.coverage == "entire revision, later incremental updates present"
    assert first.later_changes == "form filling and signatures"
    assert first.valid, first.reason
    assert second.intact
    assert second.coverage == "entire file"
    assert second.valid, second.reason
    assert second.signer is not None
    assert second.signer.common_name == "Trần Thị Bình"
    assert second.signing_time == NOW + dt.timedelta(minutes=5)


def test_seal_box_covers_the_left_third_of_the_signature() -> None:
    x1, y1, x2, y2 = PERSONAL_BOX
    sx1, sy1, sx2, sy2 = seal_box_for(PERSONAL_BOX, SEAL)
    assert sx2 - sx1 == pytest.approx(SEAL)
    assert sy2 - sy1 == pytest.approx(SEAL)
    overlap = min(sx2, x2) - max(sx1, x1)
    assert overlap == pytest.approx((x2 - x1) / 3)
    assert sx1 < x1  # the rest of the seal sticks out to the left
    assert (sy1 + sy2) / 2 == pytest.approx((y1 + y2) / 2)
    assert seal_box_for(PERSONAL_BOX, (100.0, 80.0))[3] - seal_box_for(PERSONAL_BOX, (100.0, 80.0))[
        1
    ] == pytest.approx(80.0)


def test_signed_seal_widget_sits_over_the_signature(sealed: bytes) -> None:
    first, second = verify_pdf(sealed)
    assert first.box is not None
    assert second.box is not None
    width = first.box[2] - first.box[0]
    overlap = min(second.box[2], first.box[2]) - max(second.box[0], first.box[0])
    assert overlap == pytest.approx(width / 3, abs=0.01)
    assert second.box[0] < first.box[0]
    assert second.page == first.page == 0


def test_attachment_stamp_top_right_of_page_one(attachment_signed: bytes) -> None:
    [result] = verify_pdf(attachment_signed)
    assert result.valid, result.reason
    assert result.field_name == "AttachmentStamp"
    assert result.signing_time == NOW
    assert result.page == 0
    assert result.box is not None
    widget = _field(attachment_signed, "AttachmentStamp")
    appearance = widget["/AP"]["/N"]
    font = appearance["/Resources"]["/Font"]["/F1"]
    assert font["/BaseFont"] == "/Times-Roman"
    assert font["/Subtype"] == "/Type1"
    shown = re.findall(rb"/F1 (\S+) Tf 1 0 0 1 (\S+) (\S+) Tm <([0-9a-f]+)> Tj", appearance.data)
    texts = [bytes.fromhex(h.decode()).decode("latin-1") for _s, _x, _y, h in shown]
    assert texts == ["1234/UBND-VX", "2026-11-23T09:15:00+07:00"]
    assert {size for size, _x, _y, _h in shown} == {b"10"}
    assert b"0 g" in appearance.data  # black
    x0, y0 = result.box[0], result.box[1]
    page_w, page_h = A4
    for _size, x, y, _h in shown:
        assert x0 + float(x) > page_w / 2  # right half
        assert y0 + float(y) > page_h * 0.9  # top tenth
    # right-aligned: both lines end at the box's right edge, 15 mm from the page edge
    assert result.box[2] == pytest.approx(page_w - 15 * MM)
    assert result.box[3] == pytest.approx(page_h - 10 * MM)


def test_attachment_stamp_draws_d_with_stroke(pki: TestPKI) -> None:
    stamp = AttachmentStamp(document_number="15/QĐ-UBND", signing_time=NOW)
    signed = sign_pdf(_pdf(), signer=_signer(pki.signer()), appearance=stamp)
    appearance = _field(signed, "AttachmentStamp")["/AP"]["/N"]
    encoding = appearance["/Resources"]["/Font"]["/F1"]["/Encoding"]
    differences = list(encoding["/Differences"])
    assert differences[differences.index(0x8F) + 1] == "/Dcroat"
    assert b"15/Q".hex().encode() + b"8f" in appearance.data


def test_attachment_stamp_refuses_glyphs_times_roman_lacks(pki: TestPKI) -> None:
    stamp = AttachmentStamp(document_number="12/BTƯ-VP", signing_time=NOW)
    with pytest.raises(SignatureError, match="U\\+01AF"):
        sign_pdf(_pdf(), signer=_signer(pki.signer()), appearance=stamp)


def test_attachment_stamp_time_must_be_the_signing_time(pki: TestPKI) -> None:
    stamp = AttachmentStamp(document_number="1234/UBND-VX", signing_time=NOW)
    with pytest.raises(SignatureError, match="time on the page must be the signing time"):
        sign_pdf(
            _pdf(),
            signer=_signer(pki.signer()),
            appearance=stamp,
            signing_time=NOW + dt.timedelta(hours=1),
        )


def test_attachment_stamp_refuses_rotated_first_page(pki: TestPKI) -> None:
    rotated = _pdf(rotate=90)
    stamp = AttachmentStamp(document_number="1234/UBND-VX", signing_time=NOW)
    with pytest.raises(SignatureError, match="rotated"):
        sign_pdf(rotated, signer=_signer(pki.signer()), appearance=stamp)


def test_field_names_are_numbered_when_taken(pki: TestPKI, personal_signed: bytes) -> None:
    again = sign_pdf(
        personal_signed,
        signer=_signer(pki.signer()),
        appearance=PersonalSignature(page=-1, box=(72, 72, 172, 122), image=_signature_png()),
        signing_time=NOW,
    )
    assert [r.field_name for r in verify_pdf(again)] == ["PersonalSignature", "PersonalSignature2"]
    with pytest.raises(SignatureError, match="already has a signature field"):
        sign_pdf(again, signer=_signer(pki.signer()), field_name="PersonalSignature")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"GIF89a....", "must be PNG"),
        (_png(4, 4, lambda _x, _y: (0, 0, 255, 255), alpha=False), "no transparent background"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "not a readable PNG"),
    ],
)
def test_bad_images_are_refused(pki: TestPKI, image: bytes, message: str) -> None:
    appearance = PersonalSignature(page=0, box=PERSONAL_BOX, image=image)
    with pytest.raises(SignatureError, match=message):
        sign_pdf(_pdf(), signer=_signer(pki.signer()), appearance=appearance)


def test_missing_page_is_refused(pki: TestPKI) -> None:
    appearance = PersonalSignature(page=3, box=PERSONAL_BOX, image=_signature_png())
    with pytest.raises(SignatureError, match="page 3 does not exist"):
        sign_pdf(_pdf(), signer=_signer(pki.signer()), appearance=appearance)


def test_naive_signing_time_is_refused(pki: TestPKI) -> None:
    with pytest.raises(SignatureError, match="time zone"):
        sign_pdf(_pdf(), signer=_signer(pki.signer()), signing_time=dt.datetime(2026, 1, 1))  # noqa: DTZ001


# ------------------------------------------------------------------------------ tampering


def test_changed_byte_in_signed_range_is_not_intact(personal_signed: bytes) -> None:
    assert personal_signed.count(b"(CHU TICH)") == 1
    tampered = personal_signed.replace(b"(CHU TICH)", b"(CHU TICX)")
    [result] = verify_pdf(tampered)
    assert not result.intact
    assert not result.valid
    assert "changed after signing" in result.reason
    with pytest.raises(SignatureError, match="changed after signing"):
        check_pdf_signatures(tampered)


def test_later_update_changing_the_page_is_not_valid(personal_signed: bytes) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(personal_signed))
    forged = generic.StreamObject(stream_data=b"BT /F1 30 Tf 100 400 Td (FORGED) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(forged))
    out = io.BytesIO()
    writer.write(out)
    [result] = verify_pdf(out.getvalue())
    assert result.intact  # the signed bytes themselves are untouched …
    assert result.coverage == "entire revision, later incremental updates present"
    assert result.later_changes == "other changes"  # … but what is shown is not what was signed
    assert not result.valid
    assert "later update changes the signed document" in result.reason


# ---------------------------------------------------------------------------------- trust


def test_trusted_signer_passes(pki: TestPKI, sealed: bytes) -> None:
    results = verify_pdf(sealed, trust=_trust(pki), now=NOW + dt.timedelta(hours=1))
    for result in results:
        assert result.trust is not None
        assert result.trust.outcome == "passed", result.trust.reason
        assert result.valid, result.reason
    assert check_pdf_signatures(sealed, trust=_trust(pki), now=NOW + dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("preset", "outcome", "words"),
    [
        ("expired", "failed", "expired"),
        ("revoked", "failed", "revoked"),
        ("untrusted", "indeterminate", "trust anchor"),
    ],
)
def test_untrustworthy_signers(pki: TestPKI, preset: str, outcome: str, words: str) -> None:
    identity: Identity = getattr(pki, preset)()
    signed = sign_pdf(_pdf(), signer=_signer(identity), signing_time=NOW)
    [result] = verify_pdf(signed, trust=_trust(pki), now=NOW)
    assert result.intact  # the signature itself is fine …
    assert result.trust is not None
    assert result.trust.outcome == outcome, result.trust.reason
    assert words in result.trust.reason.lower()
    assert not result.valid  # … the signer is not
    assert f"not trusted ({outcome})" in result.reason


# ----------------------------------------------------------- signatures made by other tools


def _pyhanko_signer(identity: Identity) -> signers.SimpleSigner:
    key_der = identity.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(identity.certificate.public_bytes(Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in identity.chain]
        ),
    )


def test_pkcs7_signature_with_timestamps_from_another_tool(pki: TestPKI) -> None:
    tsa = pki.issue("TSA Thử Nghiệm", extended_key_usage=("time_stamping",))
    stamper = timestamps.DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.certificate.public_bytes(Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
        certs_to_embed=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in tsa.chain]
        ),
        fixed_dt=NOW + dt.timedelta(seconds=30),
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Legacy",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
    )
    out = signers.PdfSigner(meta, _pyhanko_signer(pki.signer()), timestamper=stamper).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(_pdf()))
    )
    doc_ts = signers.PdfTimeStamper(stamper).timestamp_pdf(
        IncrementalPdfFileWriter(out), md_algorithm="sha256"
    )
    signature, document_timestamp = verify_pdf(doc_ts.getvalue(), trust=_trust(pki), now=NOW)
    assert signature.sub_filter == "adbe.pkcs7.detached"
    assert signature.signing_time_source == "signed attributes"
    assert signature.timestamp is not None
    assert signature.timestamp.time == NOW + dt.timedelta(seconds=30)
    assert signature.timestamp.intact
    assert signature.timestamp.trust is not None
    assert signature.timestamp.trust.outcome == "passed", signature.timestamp.trust.reason
    assert signature.timestamp.valid
    assert signature.later_changes == "validation data"
    assert signature.valid, signature.reason
    assert document_timestamp.kind == "document timestamp"
    assert document_timestamp.intact
    assert document_timestamp.coverage == "entire file"
    assert document_timestamp.signing_time == NOW + dt.timedelta(seconds=30)


# ---------------------------------------------------------------------------------- input


def test_unsigned_pdf_has_no_results() -> None:
    assert verify_pdf(_pdf()) == []
    with pytest.raises(SignatureError, match="no signature"):
        check_pdf_signatures(_pdf())


def test_path_and_stream_inputs(tmp_path: Path, personal_signed: bytes) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(personal_signed)
    assert verify_pdf(path)[0].valid
    assert verify_pdf(str(path))[0].valid
    with path.open("rb") as stream:
        assert verify_pdf(stream)[0].valid


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 this is a zip, not a PDF", "not a PDF file"),
        (b"", "not a PDF file"),
        (b"%PDF-1.7\nthis is not really a PDF\n%%EOF\n", "not a readable PDF"),
        (_pdf()[:200], "not a readable PDF"),
    ],
)
def test_non_pdf_input_is_a_typed_error(data: bytes, message: str) -> None:
    with pytest.raises(SignatureError, match=message) as caught:
        verify_pdf(data)
    assert isinstance(caught.value, LgspError)


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(SignatureError, match="cannot read the file"):
        verify_pdf(tmp_path / "absent.pdf")


def test_signing_a_non_pdf_is_a_typed_error(pki: TestPKI) -> None:
    with pytest.raises(SignatureError, match="not a PDF file"):
        sign_pdf(b"<edXMLEnvelope/>", signer=_signer(pki.signer()))
