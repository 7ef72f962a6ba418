"""XML-DSig on edXML: signing, verifying (modern and legacy forms), policies, two-phase signing,
the signature-wrapping family, and interoperability with xmlsec1 in both directions."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

import lgsp
from lgsp.documents import EDXML_NS
from lgsp.errors import SignatureError
from lgsp.signatures import (
    KeySigner,
    check_package_signature,
    complete_signature,
    prepare_signature,
    sign_package,
    verify_package,
)

DS = "http://www.w3.org/2000/09/xmldsig#"
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@functools.cache
def _identity(kind: str = "rsa", cn: str = "Nguyễn Văn Ký") -> tuple[object, x509.Certificate]:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND tỉnh Nghệ An"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def signer(kind: str = "rsa", cn: str = "Nguyễn Văn Ký") -> KeySigner:
    key, cert = _identity(kind, cn)
    return KeySigner(key, cert)  # type: ignore[arg-type]


def unsigned(make_package, **overrides) -> bytes:  # type: ignore[no-untyped-def]
    return lgsp.package_to_bytes(make_package(**overrides))


# -------------------------------------------------------------------------- sign and verify
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha512", "rsa-pss-sha256"])
def test_rsa_sign_then_verify(make_package, algorithm: str) -> None:  # type: ignore[no-untyped-def]
    signed = sign_package(unsigned(make_package), signer(), algorithm=algorithm)  # type: ignore[arg-type]
    result = verify_package(signed, policy="strict")
    assert result.valid, result.reason
    assert not result.legacy
    assert result.form == "xmldsig"
    assert result.signer is not None
    assert "Nguyễn Văn Ký" in result.signer.subject
    assert result.covers
    assert "whole package" in result.covers
    assert result.canonicalization == "http://www.w3.org/2001/10/xml-exc-c14n#"


def test_ecdsa_p256_sign_then_verify(make_package) -> None:  # type: ignore[no-untyped-def]
    signed = sign_package(unsigned(make_package), signer("ec"))
    result = verify_package(signed, policy="strict")
    assert result.valid, result.reason
    assert result.signature_method == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


def test_signature_sits_after_trace_list_in_the_dsig_namespace(make_package) -> None:  # type: ignore[no-untyped-def]
    root = etree.fromstring(sign_package(unsigned(make_package), signer()))
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    assert header is not None
    tags = [etree.QName(c).localname for c in header if isinstance(c.tag, str)]
    assert tags == ["MessageHeader", "TraceHeaderList", "Signature"]
    sig = header[-1]
    assert sig.tag == f"{{{DS}}}Signature"
    certs = sig.findall(f".//{{{DS}}}X509Certificate")
    assert len(certs) == 1
    text = etree.tostring(sig).decode()
    assert "sha1" not in text.lower()


def test_status_package_signature_follows_message_header(make_status) -> None:  # type: ignore[no-untyped-def]
    signed = sign_package(lgsp.package_to_bytes(make_status()), signer())
    root = etree.fromstring(signed)
    header = root.find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    assert header is not None
    assert [etree.QName(c).localname for c in header if isinstance(c.tag, str)] == [
        "MessageHeader",
        "Signature",
    ]
    result = verify_package(signed, policy="strict")
    assert result.valid, result.reason
    assert isinstance(result.package, lgsp.StatusPackage)


def test_sign_accepts_a_model_and_the_package_reads_back(make_package) -> None:  # type: ignore[no-untyped-def]
    pkg = make_package()
    signed = sign_package(pkg, signer())
    result = verify_package(signed)
    assert result.valid, result.reason
    read = result.package
    assert isinstance(read, lgsp.DocumentPackage)
    assert read.header.subject == pkg.header.subject
    assert [a.read_bytes() for a in read.attachments] == [a.read_bytes() for a in pkg.attachments]
    assert read.signature_xml is not None
    assert "SignatureValue" in read.signature_xml


def test_never_signs_with_sha1(make_package) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignatureError, match="does not sign with 'rsa-sha1'"):
        sign_package(unsigned(make_package), signer(), algorithm="rsa-sha1")  # type: ignore[arg-type]


def test_an_already_signed_package_is_not_signed_over(make_package) -> None:  # type: ignore[no-untyped-def]
    signed = sign_package(unsigned(make_package), signer())
    with pytest.raises(SignatureError, match="already signed"):
        sign_package(signed, signer())
    again = sign_package(signed, signer("ec"), replace=True)
    result = verify_package(again, policy="strict")
    assert result.valid, result.reason
    assert len(etree.fromstring(again).findall(f".//{{{DS}}}Signature")) == 1


def test_key_and_certificate_must_match() -> None:
    key, _ = _identity("rsa")
    _, other = _identity("rsa", "Người khác")
    with pytest.raises(SignatureError, match="does not match the certificate"):
        KeySigner(key, other)  # type: ignore[arg-type]


def test_pem_and_pkcs12_loading(tmp_path: Path, make_package) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert = _identity()
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"mat-khau"),
        )
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    from_pem = KeySigner.from_pem(tmp_path / "key.pem", tmp_path / "cert.pem", password=b"mat-khau")
    p12 = pkcs12.serialize_key_and_certificates(
        b"ky",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(b"mat-khau"),  # type: ignore[arg-type]
    )
    from_p12 = KeySigner.from_pkcs12(p12, b"mat-khau")
    for s in (from_pem, from_p12):
        assert verify_package(sign_package(unsigned(make_package), s), policy="strict").valid
    with pytest.raises(SignatureError, match="cannot open the PKCS#12"):
        KeySigner.from_pkcs12(p12, b"sai")


# -------------------------------------------------------------------------------- two-phase
def test_two_phase_signing_with_an_external_token(make_package) -> None:  # type: ignore[no-untyped-def]
    """The browser-token flow: the server prepares, the token signs the digest, the server
    completes — here across a serialisation boundary."""
    key, cert = _identity()
    prepared = prepare_signature(unsigned(make_package), certificate=cert)
    assert prepared.digest == hashlib.sha256(prepared.signed_info).digest()
    assert prepared.digest_info is not None
    assert prepared.digest_info.endswith(prepared.digest)
    stored = prepared.document  # what the server keeps while the token works
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    value = key.sign(prepared.digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))  # type: ignore[attr-defined]
    signed = complete_signature(stored, value)
    assert verify_package(signed, policy="strict").valid


def test_two_phase_refuses_a_value_from_another_key(make_package) -> None:  # type: ignore[no-untyped-def]
    _, cert = _identity()
    other, _ = _identity("rsa", "Người khác")
    prepared = prepare_signature(unsigned(make_package), certificate=cert)
    bad = other.sign(prepared.signed_info, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
    with pytest.raises(SignatureError, match="does not verify with the certificate"):
        prepared.complete(bad)


class _RemoteSigner:
    """A Signer that never exposes its key: the protocol in use (a token or HSM stand-in)."""

    def __init__(self) -> None:
        self._key, self._cert = _identity("ec")
        self.calls = 0

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    @property
    def chain(self) -> list[x509.Certificate]:
        return []

    def sign(self, data: bytes, algorithm: str) -> bytes:
        from lgsp.signatures.signers import ecdsa_der_to_raw

        assert algorithm == "ecdsa-sha256"
        self.calls += 1
        der = self._key.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[attr-defined]
        return ecdsa_der_to_raw(der, 256)


def test_custom_signer_protocol(make_package) -> None:  # type: ignore[no-untyped-def]
    remote = _RemoteSigner()
    signed = sign_package(unsigned(make_package), remote, algorithm="ecdsa-sha256")
    assert remote.calls == 1
    assert verify_package(signed, policy="strict").valid


# ----------------------------------------------------------------------------- legacy form
def _legacy_sign(data: bytes, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    """A package signed the way real VXP traffic is: an un-prefixed Signature inheriting the
    root's default namespace (so in the QCVN 102 namespace), inclusive C14N of SignedInfo,
    RSA-SHA1, a SHA-1 digest and the kit's misspelt exclusive-C14N transform URI.

    Built independently of lgsp: the signature goes in as text, and the canonical SignedInfo
    is written out by hand — inclusive C14N renders every namespace in scope on the apex
    (here the default namespace and ``edXML:``, both bound to QCVN 102)."""
    c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    exc_legacy = "http://www.w3.org/TR/xml-exc-c14n#"
    # The digest: the package without the signature, exclusive C14N, SHA-1. The signature is
    # inserted with no whitespace around it, so removing it gives back these very bytes.
    octets = etree.tostring(
        etree.fromstring(data).getroottree(), method="c14n", exclusive=True, with_comments=False
    )
    digest = base64.b64encode(hashlib.sha1(octets).digest()).decode()  # noqa: S324
    inner = (
        f'<CanonicalizationMethod Algorithm="{c14n}"></CanonicalizationMethod>'
        f'<SignatureMethod Algorithm="{DS}rsa-sha1"></SignatureMethod>'
        '<Reference URI=""><Transforms>'
        f'<Transform Algorithm="{DS}enveloped-signature"></Transform>'
        f'<Transform Algorithm="{exc_legacy}"></Transform>'
        f'</Transforms><DigestMethod Algorithm="{DS}sha1"></DigestMethod>'
        f"<DigestValue>{digest}</DigestValue></Reference>"
    )
    canonical = (
        f'<SignedInfo xmlns="{EDXML_NS}" xmlns:edXML="{EDXML_NS}">{inner}</SignedInfo>'
    ).encode()
    # SHA-1 on purpose: this is the legacy form lgsp must still read
    value = base64.b64encode(key.sign(canonical, padding.PKCS1v15(), hashes.SHA1())).decode()  # noqa: S303
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    signature = (
        f"<Signature><SignedInfo>{inner}</SignedInfo><SignatureValue>{value}</SignatureValue>"
        f"<KeyInfo><X509Data><X509Certificate>{der}</X509Certificate></X509Data></KeyInfo>"
        "</Signature>"
    ).encode()
    marker = b"</edXML:TraceHeaderList>"
    assert data.count(marker) == 1
    return data.replace(marker, marker + signature)


def test_legacy_form_verifies_under_interop_and_is_marked(make_package) -> None:  # type: ignore[no-untyped-def]
    key, cert = _identity()
    signed = _legacy_sign(unsigned(make_package), key, cert)  # type: ignore[arg-type]
    result = verify_package(signed, policy="interop")
    assert result.valid, result.reason
    assert result.legacy
    assert result.form == "legacy-qcvn"
    assert any("SHA-1" in n for n in result.notes)
    kept = result.package.signature_xml
    assert kept is not None
    assert kept.startswith("<Signature")  # kept as sent: not re-prefixed as edXML:Signature
    strict = verify_package(signed, policy="strict")
    assert not strict.valid
    assert "legacy" in strict.reason or "SHA-1" in strict.reason


def test_legacy_form_tampered_is_invalid_even_under_interop(make_package) -> None:  # type: ignore[no-untyped-def]
    key, cert = _identity()
    signed = _legacy_sign(unsigned(make_package), key, cert)  # type: ignore[arg-type]
    tampered = signed.replace(b"000.00.00.G22", b"000.00.00.G23", 1)
    result = verify_package(tampered, policy="interop")
    assert not result.valid
    assert "changed after it was signed" in result.reason


def test_the_kit_samples_do_not_verify(corpus_dir: Path) -> None:
    """The kit's signatures are placeholders (one DigestValue for every file, certificates cut
    short): lgsp says so instead of accepting them."""
    for name in ("edoc_update.edxml", "edoc_replacement.edxml", "edoc_revocation.edxml"):
        result = verify_package(corpus_dir / name)
        assert not result.valid
        assert result.form == "legacy-qcvn"
        assert "changed after it was signed" in result.reason


# -------------------------------------------------------------------- signature wrapping
def _signed_tree(make_package) -> etree._Element:  # type: ignore[no-untyped-def]
    return etree.fromstring(sign_package(unsigned(make_package), signer()))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _q(name: str) -> str:
    return f"{{{EDXML_NS}}}{name}"


def _header(root: etree._Element) -> etree._Element:
    found = root.find(f"{_q('edXMLEnvelope')}/{_q('edXMLHeader')}")
    assert found is not None
    return found


def test_wrapping_signature_moved_out_of_the_header(make_package) -> None:  # type: ignore[no-untyped-def]
    root = _signed_tree(make_package)
    sig = _header(root).find(f"{{{DS}}}Signature")
    assert sig is not None
    root.append(sig)  # now a child of the root
    result = verify_package(_bytes(root))
    assert not result.valid
    assert "not a child of edXMLHeader" in result.reason


def test_wrapping_duplicated_signature(make_package) -> None:  # type: ignore[no-untyped-def]
    root = _signed_tree(make_package)
    sig = _header(root).find(f"{{{DS}}}Signature")
    assert sig is not None
    _header(root).append(copy.deepcopy(sig))
    result = verify_package(_bytes(root))
    assert not result.valid
    assert "2 Signature elements" in result.reason


def test_wrapping_second_message_header(make_package) -> None:  # type: ignore[no-untyped-def]
    """A forged MessageHeader hidden where a lenient reader might pick it up."""
    root = _signed_tree(make_package)
    header = _header(root)
    forged = copy.deepcopy(header.find(_q("MessageHeader")))
    assert forged is not None
    subject = forged.find(_q("Subject"))
    assert subject is not None
    subject.text = "Chuyển khoản 1 tỷ đồng"
    header.insert(0, forged)
    result = verify_package(_bytes(root))
    assert not result.valid
    assert "2 MessageHeader" in result.reason
    with pytest.raises(SignatureError):
        _ = result.package


def test_wrapping_forged_header_inside_the_signature_object(make_package) -> None:  # type: ignore[no-untyped-def]
    """Content placed inside the Signature is not covered by URI="" (enveloped): refused."""
    root = _signed_tree(make_package)
    sig = _header(root).find(f"{{{DS}}}Signature")
    assert sig is not None
    obj = etree.SubElement(sig, f"{{{DS}}}Object")
    obj.append(copy.deepcopy(_header(root).find(_q("MessageHeader"))))
    result = verify_package(_bytes(root))
    assert not result.valid
    assert "2 MessageHeader" in result.reason


def test_comment_inside_the_signature_is_refused(make_package) -> None:  # type: ignore[no-untyped-def]
    root = _signed_tree(make_package)
    dv = root.find(f".//{{{DS}}}DigestValue")
    assert dv is not None
    dv.append(etree.Comment(" x "))
    result = verify_package(_bytes(root))
    assert not result.valid
    assert "comments" in result.reason


def test_comment_in_signed_content_reads_as_the_signed_text(make_package) -> None:  # type: ignore[no-untyped-def]
    """A comment added after signing splits a text node; the digest (comments excluded) still
    holds, and the package read back shows exactly the signed text, not a part of it."""
    root = _signed_tree(make_package)
    subject = root.find(f".//{_q('Subject')}")
    assert subject is not None
    assert subject.text
    signed_text = subject.text
    half = len(signed_text) // 2
    subject.text = signed_text[:half]
    comment = etree.Comment(" chèn ")
    comment.tail = signed_text[half:]
    subject.append(comment)
    result = verify_package(_bytes(root))
    assert result.valid, result.reason
    assert result.package.header.subject == signed_text  # type: ignore[union-attr]


def test_whitespace_change_in_signed_content_is_detected(make_package) -> None:  # type: ignore[no-untyped-def]
    root = _signed_tree(make_package)
    subject = root.find(f".//{_q('Subject')}")
    assert subject is not None
    assert subject.text
    subject.text = subject.text + " "
    assert not verify_package(_bytes(root)).valid


def test_tampered_attachment_is_detected(make_package) -> None:  # type: ignore[no-untyped-def]
    signed = sign_package(unsigned(make_package), signer())
    m = re.search(rb"(ContentTransferEncoded[^>]*>)([A-Za-z0-9+/]{8})", signed)
    assert m is not None
    swapped = m.group(2)[::-1] if m.group(2)[::-1] != m.group(2) else b"AAAAAAAA"
    tampered = signed[: m.start(2)] + swapped + signed[m.end(2) :]
    result = verify_package(tampered)
    assert not result.valid
    assert "changed after it was signed" in result.reason


def test_swapped_certificate_is_detected(make_package) -> None:  # type: ignore[no-untyped-def]
    root = _signed_tree(make_package)
    _, other = _identity("rsa", "Kẻ mạo danh")
    node = root.find(f".//{{{DS}}}X509Certificate")
    assert node is not None
    node.text = base64.b64encode(other.public_bytes(serialization.Encoding.DER)).decode()
    result = verify_package(_bytes(root))
    assert not result.valid
    assert "does not verify with any certificate" in result.reason


@pytest.mark.parametrize(
    ("attribute", "value", "reason"),
    [
        ("URI", "#MessageHeader", "Reference URI"),
        ("Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116", "not accepted"),
    ],
)
def test_reference_and_transform_allowlist(
    make_package, attribute: str, value: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    root = _signed_tree(make_package)
    target = (
        root.find(f".//{{{DS}}}Reference")
        if attribute == "URI"
        else root.findall(f".//{{{DS}}}Transform")[-1]
    )
    assert target is not None
    target.set(attribute, value)
    result = verify_package(_bytes(root))
    assert not result.valid
    assert reason in result.reason


def test_unsigned_package_is_reported(make_package) -> None:  # type: ignore[no-untyped-def]
    result = verify_package(unsigned(make_package))
    assert not result.valid
    assert result.form == "none"
    with pytest.raises(SignatureError, match="not signed"):
        check_package_signature(unsigned(make_package))


def test_hostile_xml_is_refused_before_any_verification(make_package) -> None:  # type: ignore[no-untyped-def]
    signed = sign_package(unsigned(make_package), signer())
    hostile = signed.replace(b"?>", b'?>\n<!DOCTYPE edXML [<!ENTITY a "b">]>', 1)
    with pytest.raises(lgsp.HostileXMLError, match="DOCTYPE"):
        verify_package(hostile)


def test_claimed_signing_time_is_the_latest_trace(make_package) -> None:  # type: ignore[no-untyped-def]
    pkg = make_package()
    result = verify_package(sign_package(pkg, signer()))
    latest = max(t.timestamp for t in pkg.traces if t.timestamp)
    assert result.claimed_signing_time == latest


# -------------------------------------------------------------------------------- xmlsec1
def _xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        pytest.fail("xmlsec1 is not installed: .ci/run installs it (Debian package xmlsec1)")
    return path


def test_xmlsec1_verifies_what_lgsp_signs(make_package, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for kind in ("rsa", "ec"):
        s = signer(kind)
        (tmp_path / "cert.pem").write_bytes(s.certificate.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "signed.xml").write_bytes(sign_package(unsigned(make_package), s))
        done = subprocess.run(
            [
                _xmlsec1(),
                "--verify",
                "--pubkey-cert-pem",
                str(tmp_path / "cert.pem"),
                str(tmp_path / "signed.xml"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "OK" in done.stdout + done.stderr


def test_lgsp_verifies_what_xmlsec1_signs(make_package, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """xmlsec1 fills a template placed where QCVN 102 wants it, with inclusive C14N of
    SignedInfo (so the inherited edXML: prefix is rendered) and an exclusive transform."""
    key, cert = _identity()
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    root = etree.fromstring(unsigned(make_package))
    template = etree.fromstring(
        f"""<Signature xmlns="{DS}"><SignedInfo>
<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<Reference URI=""><Transforms>
<Transform Algorithm="{DS}enveloped-signature"/>
<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>
<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference>
</SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>"""
    )
    trace = _header(root).find(_q("TraceHeaderList"))
    assert trace is not None
    trace.addnext(template)
    (tmp_path / "template.xml").write_bytes(_bytes(root))
    done = subprocess.run(
        [
            _xmlsec1(),
            "--sign",
            "--privkey-pem",
            f"{tmp_path / 'key.pem'},{tmp_path / 'cert.pem'}",
            "--output",
            str(tmp_path / "signed.xml"),
            str(tmp_path / "template.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = verify_package(tmp_path / "signed.xml", policy="strict")
    assert result.valid, result.reason
    assert result.signer is not None
    assert "Nguyễn Văn Ký" in result.signer.subject
    # and xmlsec1's work, tampered, is caught
    data = (tmp_path / "signed.xml").read_bytes().replace(b"Trung", b"Trunk", 1)
    if data != (tmp_path / "signed.xml").read_bytes():
        assert not verify_package(data).valid
