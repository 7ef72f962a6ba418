"""The test PKI: certificate shapes, presets, CRLs, and the files an Identity writes."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lgsp.testing.pki import Identity, TestPKI, make_pki

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki(now=NOW)


def _ext(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension:
    return certificate.extensions.get_extension_for_class(kind)  # type: ignore[type-var]


def _public(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _cn(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


# --------------------------------------------------------------------------------------------
# the CAs


def test_root_is_a_self_signed_ca(pki: TestPKI) -> None:
    root = pki.root.certificate
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)
    constraints = _ext(root, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = _ext(root, x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    assert pki.root.chain == ()


def test_intermediate_is_issued_by_the_root_and_links_keys(pki: TestPKI) -> None:
    root, ca = pki.root.certificate, pki.intermediate.certificate
    ca.verify_directly_issued_by(root)
    assert _ext(ca, x509.BasicConstraints).value.path_length == 0
    aki = _ext(ca, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == _ext(root, x509.SubjectKeyIdentifier).value.digest
    points = _ext(ca, x509.CRLDistributionPoints).value
    assert [str(n.value) for p in points for n in p.full_name] == [pki.root_crl_url]
    assert _cn(ca) == "Test CA lgsp"
    assert _cn(root) == "Test CA lgsp Root"


def test_pem_accessors_load_back(pki: TestPKI) -> None:
    assert x509.load_pem_x509_certificate(pki.root_pem()) == pki.root.certificate
    assert x509.load_pem_x509_certificate(pki.intermediate_pem()) == pki.intermediate.certificate


def test_crl_urls_are_never_fetchable(pki: TestPKI) -> None:
    for url in (pki.crl_url, pki.root_crl_url):
        assert url.startswith("http://crl.test.invalid/")


# --------------------------------------------------------------------------------------------
# subscriber certificates


def test_signer_has_a_vietnamese_subject(pki: TestPKI) -> None:
    subject = pki.signer().certificate.subject
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Văn An"
    organisation = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert organisation == "Ủy ban nhân dân tỉnh Thử Nghiệm"
    assert "L=Hà Nội" in subject.rfc4514_string()
    assert pki.signer().common_name == "Nguyễn Văn An"


def test_signer_extensions(pki: TestPKI) -> None:
    identity = pki.signer()
    certificate = identity.certificate
    certificate.verify_directly_issued_by(pki.intermediate.certificate)
    constraints = _ext(certificate, x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    usage = _ext(certificate, x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_encipherment
    aki = _ext(certificate, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == (
        _ext(pki.intermediate.certificate, x509.SubjectKeyIdentifier).value.digest
    )
    ski = _ext(certificate, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(identity.key.public_key())
    points = _ext(certificate, x509.CRLDistributionPoints).value
    assert [str(n.value) for p in points for n in p.full_name] == [pki.crl_url]
    emails = _ext(certificate, x509.SubjectAlternativeName).value
    assert emails.get_values_for_type(x509.RFC822Name) == ["nguyenvanan@thunghiem.test"]
    assert isinstance(identity.key, rsa.RSAPrivateKey)
    assert identity.key.key_size == 2048


def test_chain_is_the_intermediate_without_the_root(pki: TestPKI) -> None:
    assert pki.signer().chain == (pki.intermediate.certificate,)
    assert pki.root.certificate not in pki.signer().chain


def test_ec_signer_uses_p256(pki: TestPKI) -> None:
    key = pki.ec_signer().key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    pki.ec_signer().certificate.verify_directly_issued_by(pki.intermediate.certificate)


@pytest.mark.parametrize(
    ("preset", "starts", "ends"),
    [
        ("signer", NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=730)),
        ("expired", NOW - dt.timedelta(days=760), NOW - dt.timedelta(days=30)),
        ("not_yet_valid", NOW + dt.timedelta(days=30), NOW + dt.timedelta(days=760)),
    ],
)
def test_validity_periods_follow_the_pki_clock(
    pki: TestPKI, preset: str, starts: dt.datetime, ends: dt.datetime
) -> None:
    certificate = getattr(pki, preset)().certificate
    assert certificate.not_valid_before_utc == starts
    assert certificate.not_valid_after_utc == ends


def test_wrong_usage_allows_key_encipherment_only(pki: TestPKI) -> None:
    usage = _ext(pki.wrong_usage().certificate, x509.KeyUsage).value
    assert usage.key_encipherment
    assert not usage.digital_signature
    assert not usage.content_commitment


def test_untrusted_comes_from_a_separate_root(pki: TestPKI) -> None:
    identity = pki.untrusted()
    [issuer] = identity.chain
    identity.certificate.verify_directly_issued_by(issuer)
    assert issuer != pki.intermediate.certificate
    assert issuer.issuer != pki.root.certificate.subject
    issuer.verify_directly_issued_by(pki.untrusted_root().certificate)
    with pytest.raises((ValueError, InvalidSignature)):
        identity.certificate.verify_directly_issued_by(pki.intermediate.certificate)


def test_presets_are_made_once(pki: TestPKI) -> None:
    assert pki.signer() is pki.signer()
    assert pki.revoked() is pki.revoked()
    assert pki.untrusted() is pki.untrusted()


def test_every_certificate_of_a_pki_has_its_own_key(pki: TestPKI) -> None:
    identities = [
        pki.root,
        pki.intermediate,
        pki.signer(),
        pki.ec_signer(),
        pki.expired(),
        pki.not_yet_valid(),
        pki.revoked(),
        pki.wrong_usage(),
        pki.untrusted(),
        pki.untrusted_root(),
    ]
    keys = {_public(i.key) for i in identities}
    assert len(keys) == len(identities)


def test_keys_are_pooled_across_pkis(pki: TestPKI) -> None:
    other = make_pki(now=NOW, organisation="Trung tâm Chứng thực Thử")
    assert _public(other.root.key) == _public(pki.root.key)
    assert other.root.certificate.subject != pki.root.certificate.subject
    assert other.crl_url != pki.crl_url


def test_issue_with_options(pki: TestPKI) -> None:
    start, end = NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=10)
    identity = pki.issue(
        "Vũ Thị Giang",
        key_type="ec",
        not_before=start,
        not_after=end,
        key_usage=("digital_signature",),
        extended_key_usage=("email_protection", "document_signing", "1.2.3.4"),
        email="giang@thunghiem.test",
        organisation="Sở Nội vụ tỉnh Thử Nghiệm",
    )
    certificate = identity.certificate
    assert isinstance(identity.key, ec.EllipticCurvePrivateKey)
    assert certificate.not_valid_before_utc == start
    assert certificate.not_valid_after_utc == end
    usage = _ext(certificate, x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.content_commitment
    purposes = list(_ext(certificate, x509.ExtendedKeyUsage).value)
    assert purposes == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
        x509.ObjectIdentifier("1.2.3.4"),
    ]
    assert "O=Sở Nội vụ tỉnh Thử Nghiệm" in certificate.subject.rfc4514_string()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"key_usage": ("sign_everything",)}, "unknown key usage sign_everything"),
        ({"extended_key_usage": ("magic",)}, "unknown extended key usage 'magic'"),
        ({"key_usage": ("encipher_only",)}, "need key_agreement"),
        ({"key_type": "dsa"}, "key_type must be 'rsa' or 'ec'"),
        ({"not_before": NOW, "not_after": NOW}, "must come after not_before"),
    ],
)
def test_issue_refuses_bad_options(pki: TestPKI, options: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        pki.issue("Sai Tham Số", **options)  # type: ignore[arg-type]


def test_make_pki_refuses_a_naive_clock_and_unknown_key_types() -> None:
    with pytest.raises(ValueError, match="time zone"):
        make_pki(now=dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="key_type"):
        make_pki(key_type="dsa")  # type: ignore[arg-type]


def test_ec_certificate_authorities() -> None:
    ec_pki = make_pki(now=NOW, key_type="ec", organisation="CA Đường Cong")
    assert isinstance(ec_pki.root.key, ec.EllipticCurvePrivateKey)
    signer = ec_pki.signer()
    signer.certificate.verify_directly_issued_by(ec_pki.intermediate.certificate)
    assert signer.certificate.signature_algorithm_oid.dotted_string == "1.2.840.10045.4.3.2"
    assert ec_pki.crl().is_signature_valid(ec_pki.intermediate.key.public_key())


# --------------------------------------------------------------------------------------------
# CRLs


def test_crl_lists_the_revoked_preset(pki: TestPKI) -> None:
    crl = pki.crl()
    assert crl.issuer == pki.intermediate.certificate.subject
    assert crl.is_signature_valid(pki.intermediate.key.public_key())
    assert crl.last_update_utc == NOW - dt.timedelta(hours=1)
    assert crl.next_update_utc == NOW + dt.timedelta(days=7)
    entry = crl.get_revoked_certificate_by_serial_number(pki.revoked().certificate.serial_number)
    assert entry is not None
    assert entry.revocation_date_utc == NOW - dt.timedelta(days=1)
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    serial = pki.signer().certificate.serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is None


def test_crl_next_update_and_der(pki: TestPKI) -> None:
    later = NOW + dt.timedelta(days=30)
    crl = x509.load_der_x509_crl(pki.crl_der(next_update=later))
    assert crl.next_update_utc == later
    assert crl.is_signature_valid(pki.intermediate.key.public_key())


def test_root_crl_is_empty_and_signed_by_the_root(pki: TestPKI) -> None:
    crl = x509.load_der_x509_crl(pki.root_crl_der())
    assert crl.issuer == pki.root.certificate.subject
    assert crl.is_signature_valid(pki.root.key.public_key())
    assert len(crl) == 0
    assert [c.issuer for c in pki.crls()] == [
        pki.intermediate.certificate.subject,
        pki.root.certificate.subject,
    ]


def test_issue_revoked_lands_on_the_next_crl() -> None:
    fresh = make_pki(now=NOW, organisation="CA Thu Hồi")
    before = fresh.crl()
    identity = fresh.issue("Bùi Văn Khoa", revoked=True)
    serial = identity.certificate.serial_number
    assert before.get_revoked_certificate_by_serial_number(serial) is None
    assert fresh.crl().get_revoked_certificate_by_serial_number(serial) is not None


# --------------------------------------------------------------------------------------------
# Identity serialisations


def _same_key(loaded: object, identity: Identity) -> bool:
    assert isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return _public(loaded) == _public(identity.key)


@pytest.mark.parametrize("preset", ["signer", "ec_signer"])
def test_key_pem_round_trips(pki: TestPKI, preset: str) -> None:
    identity: Identity = getattr(pki, preset)()
    plain = identity.key_pem()
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _same_key(serialization.load_pem_private_key(plain, password=None), identity)
    locked = identity.key_pem(b"mat-khau")
    assert locked.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert _same_key(serialization.load_pem_private_key(locked, password=b"mat-khau"), identity)
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(locked, password=None)


def test_certificate_and_chain_pem_round_trip(pki: TestPKI) -> None:
    identity = pki.signer()
    assert x509.load_pem_x509_certificate(identity.certificate_pem()) == identity.certificate
    assert tuple(x509.load_pem_x509_certificates(identity.chain_pem())) == identity.chain
    assert pki.root.chain_pem() == b""


@pytest.mark.parametrize("password", [b"mat-khau-123", b""])
def test_pkcs12_round_trips(pki: TestPKI, password: bytes) -> None:
    identity = pki.ec_signer()
    key, certificate, extra = pkcs12.load_key_and_certificates(
        identity.pkcs12(password), password or None
    )
    assert _same_key(key, identity)
    assert certificate == identity.certificate
    assert tuple(extra) == identity.chain


def test_pkcs12_needs_its_password(pki: TestPKI) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography's message varies by backend
        pkcs12.load_key_and_certificates(pki.signer().pkcs12(b"dung"), b"sai")


def test_write_puts_four_files(pki: TestPKI, tmp_path: Path) -> None:
    identity = pki.signer()
    files = identity.write(tmp_path / "dinh-danh")
    assert {k: p.name for k, p in files.items()} == {
        "key": "key.pem",
        "certificate": "cert.pem",
        "chain": "chain.pem",
        "pkcs12": "identity.p12",
    }
    assert _same_key(
        serialization.load_pem_private_key(files["key"].read_bytes(), password=None), identity
    )
    assert x509.load_pem_x509_certificate(files["certificate"].read_bytes()) == (
        identity.certificate
    )
    assert tuple(x509.load_pem_x509_certificates(files["chain"].read_bytes())) == identity.chain
    _, certificate, _ = pkcs12.load_key_and_certificates(files["pkcs12"].read_bytes(), None)
    assert certificate == identity.certificate
    assert stat.S_IMODE(files["key"].stat().st_mode) == 0o600


def test_write_with_a_password_encrypts_key_and_pkcs12(pki: TestPKI, tmp_path: Path) -> None:
    identity = pki.ec_signer()
    files = identity.write(tmp_path, password=b"mat-khau")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(files["key"].read_bytes(), password=None)
    key, _, _ = pkcs12.load_key_and_certificates(files["pkcs12"].read_bytes(), b"mat-khau")
    assert _same_key(key, identity)
