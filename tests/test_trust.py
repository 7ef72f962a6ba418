"""Certificate trust: each preset of the test PKI gets the outcome and reason a person expects."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pydantic
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, RevokedError

from lgsp.errors import LgspError
from lgsp.signatures.trust import (
    RevocationFetcher,
    TrustResult,
    TrustSettings,
    load_certificates,
    load_crl,
    validate_certificate,
    validate_certificate_async,
)
from lgsp.testing.pki import Identity, TestPKI, make_pki

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

SIGNER = "'CN=Nguyễn Văn An, O=Ủy ban nhân dân tỉnh Thử Nghiệm'"
REVOKED = "'CN=Hoàng Minh Đức, O=Ủy ban nhân dân tỉnh Thử Nghiệm'"
CA = "'CN=Test CA lgsp, O=Test CA lgsp'"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki(now=NOW)


def _settings(pki: TestPKI, **options: object) -> TrustSettings:
    options.setdefault("anchors", [pki.root.certificate])
    return TrustSettings(**options)  # type: ignore[arg-type]


def _check(
    identity: Identity, settings: TrustSettings, *, signing_time: dt.datetime | None = None
) -> TrustResult:
    return validate_certificate(
        identity.certificate, identity.chain, settings, signing_time=signing_time, now=NOW
    )


class MemoryFetcher:
    """Serves CRLs from a dict, as a caller's HTTP client would serve them from the web."""

    def __init__(self, published: dict[str, bytes]) -> None:
        self.published = published
        self.calls: list[str] = []

    def fetch_crl(self, url: str) -> bytes | None:
        self.calls.append(url)
        return self.published.get(url)


class BrokenFetcher:
    def fetch_crl(self, url: str) -> bytes | None:
        raise OSError(f"connection refused by {url}")


def _published(pki: TestPKI) -> dict[str, bytes]:
    return {pki.crl_url: pki.crl_der(), pki.root_crl_url: pki.root_crl_der()}


# --------------------------------------------------------------------------------------------
# valid signers


@pytest.mark.parametrize("revocation", ["soft", "hard"])
def test_valid_signer_passes(pki: TestPKI, revocation: str) -> None:
    result = _check(pki.signer(), _settings(pki, crls=pki.crls(), revocation=revocation))
    assert result.outcome == "passed", result.reason
    assert result.passed
    assert result.reason.startswith(f"the certificate {SIGNER} leads to the trust anchor ")
    assert "is not revoked" in result.reason
    assert result.notes == []
    assert result.path == [
        pki.signer().certificate.subject.rfc4514_string(),
        pki.intermediate.certificate.subject.rfc4514_string(),
        pki.root.certificate.subject.rfc4514_string(),
    ]
    assert result.checked_at == NOW
    assert result.valid_now is True
    assert result.valid_at_signing is None


def test_ec_signer_passes(pki: TestPKI) -> None:
    result = _check(pki.ec_signer(), _settings(pki, crls=pki.crls(), revocation="hard"))
    assert result.outcome == "passed", result.reason
    assert "Trần Thị Bình" in result.reason


def test_signing_time_inside_validity_passes(pki: TestPKI) -> None:
    signed = NOW - dt.timedelta(days=2)
    result = _check(pki.signer(), _settings(pki, crls=pki.crls()), signing_time=signed)
    assert result.outcome == "passed", result.reason
    assert "valid now and at the signing time" in result.reason
    assert result.signing_time == signed
    assert result.valid_at_signing is True


def test_chain_given_only_through_the_intermediates_pool_passes(pki: TestPKI) -> None:
    bare = Identity(key=pki.signer().key, certificate=pki.signer().certificate)
    settings = _settings(pki, intermediates=[pki.intermediate.certificate], crls=pki.crls())
    result = _check(bare, settings)
    assert result.outcome == "passed", result.reason
    assert len(result.path) == 3


@pytest.mark.parametrize("source", ["given", "fetched"])
def test_the_intermediate_itself_may_be_the_anchor(pki: TestPKI, source: str) -> None:
    # Trusting an issuing CA directly: its own CRL must still be usable.
    revocation = (
        {"crls": [pki.crl()]}
        if source == "given"
        else {"fetcher": MemoryFetcher({pki.crl_url: pki.crl_der()})}
    )
    settings = TrustSettings(
        anchors=[pki.intermediate.certificate],
        revocation="hard",
        **revocation,  # type: ignore[arg-type]
    )
    result = _check(pki.signer(), settings)
    assert result.outcome == "passed", result.reason
    assert result.notes == []
    assert result.path == [
        pki.signer().certificate.subject.rfc4514_string(),
        pki.intermediate.certificate.subject.rfc4514_string(),
    ]
    revoked = _check(pki.revoked(), settings)
    assert revoked.outcome == "failed"
    assert "was revoked on 2026-11-22" in revoked.reason


def test_a_crl_with_a_forged_signature_is_not_vouched_for(pki: TestPKI) -> None:
    # The anchor's name as issuer, but signed with another key: it must not count.
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.intermediate.certificate.subject)
        .last_update(NOW - dt.timedelta(hours=1))
        .next_update(NOW + dt.timedelta(days=7))
        .sign(pki.ec_signer().key, hashes.SHA256())
    )
    settings = TrustSettings(
        anchors=[pki.intermediate.certificate], crls=[forged], revocation="hard"
    )
    result = _check(pki.signer(), settings)
    assert result.outcome == "indeterminate", result.reason
    assert "revocation" in result.reason


def _forged_crl(pki: TestPKI) -> x509.CertificateRevocationList:
    """The intermediate's name, the signer listed as revoked — signed with an unrelated EC key."""
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(pki.signer().certificate.serial_number)
        .revocation_date(NOW - dt.timedelta(days=3))
        .build()
    )
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.intermediate.certificate.subject)
        .last_update(NOW - dt.timedelta(hours=1))
        .next_update(NOW + dt.timedelta(days=7))
        .add_revoked_certificate(entry)
        .sign(pki.ec_signer().key, hashes.SHA256())
    )


@pytest.mark.parametrize(("revocation", "outcome"), [("hard", "indeterminate"), ("soft", "passed")])
def test_forged_crl_neither_crashes_nor_revokes(
    pki: TestPKI, revocation: str, outcome: str
) -> None:
    crls = [_forged_crl(pki), pki.root_crl()]
    result = _check(pki.signer(), _settings(pki, crls=crls, revocation=revocation))
    assert result.outcome == outcome, result.reason
    text = " ".join([result.reason, *result.notes])
    assert "CRL signature could not be verified" in text
    assert "revoked on" not in text


def test_forged_certificate_fails_on_its_signature(pki: TestPKI) -> None:
    # Claims the (RSA) intermediate as issuer but is signed with an EC key.
    forged = (
        x509.CertificateBuilder()
        .subject_name(pki.signer().certificate.subject)
        .issuer_name(pki.intermediate.certificate.subject)
        .public_key(pki.signer().key.public_key())
        .serial_number(4242)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(pki.ec_signer().key, hashes.SHA256())
    )
    result = validate_certificate(forged, pki.signer().chain, _settings(pki), now=NOW)
    assert result.outcome == "failed"
    assert result.reason == (
        "the certificate path is not valid: the signature of the end-entity certificate could "
        "not be verified"
    )


# --------------------------------------------------------------------------------------------
# validity periods


def test_expired_without_signing_time_fails(pki: TestPKI) -> None:
    result = _check(pki.expired(), _settings(pki, crls=pki.crls()))
    assert result.outcome == "failed"
    assert result.reason == (
        "the certificate 'CN=Lê Văn Cường, O=Ủy ban nhân dân tỉnh Thử Nghiệm' expired on "
        "2026-10-24 09:00:00 UTC; no signing time was given, so it cannot be judged at the "
        "moment it signed"
    )
    assert result.valid_now is False


def test_expired_since_signing_passes_with_a_note(pki: TestPKI) -> None:
    signed = NOW - dt.timedelta(days=60)
    result = _check(pki.expired(), _settings(pki, crls=pki.crls()), signing_time=signed)
    assert result.outcome == "passed", result.reason
    assert "valid at the signing time" in result.reason
    [note] = result.notes
    assert "has expired since the signature was made" in note
    assert "valid until 2026-10-24 09:00:00 UTC" in note
    assert result.valid_now is False
    assert result.valid_at_signing is True


def test_expired_before_signing_fails(pki: TestPKI) -> None:
    signed = NOW - dt.timedelta(days=10)
    result = _check(pki.expired(), _settings(pki, crls=pki.crls()), signing_time=signed)
    assert result.outcome == "failed"
    assert "had already expired at the signing time 2026-11-13 09:00:00 UTC" in result.reason
    assert result.valid_at_signing is False


def test_not_yet_valid_fails(pki: TestPKI) -> None:
    result = _check(pki.not_yet_valid(), _settings(pki, crls=pki.crls()))
    assert result.outcome == "failed"
    assert result.reason == (
        "the certificate 'CN=Phạm Thị Dung, O=Ủy ban nhân dân tỉnh Thử Nghiệm' was not yet "
        "valid on 2026-11-23 09:00:00 UTC: it is valid from 2026-12-23 09:00:00 UTC"
    )


def test_signing_time_before_the_certificate_fails(pki: TestPKI) -> None:
    signed = NOW - dt.timedelta(days=40)
    result = _check(pki.signer(), _settings(pki, crls=pki.crls()), signing_time=signed)
    assert result.outcome == "failed"
    assert result.reason == (
        f"the signing time 2026-10-14 09:00:00 UTC is before the certificate {SIGNER} "
        "became valid on 2026-10-24 09:00:00 UTC"
    )


def test_signing_time_after_the_check_is_noted(pki: TestPKI) -> None:
    signed = NOW + dt.timedelta(minutes=5)
    result = _check(pki.signer(), _settings(pki, crls=pki.crls()), signing_time=signed)
    assert result.outcome == "passed", result.reason
    assert any("later than the time of the check" in n for n in result.notes)


# --------------------------------------------------------------------------------------------
# revocation


@pytest.mark.parametrize("revocation", ["soft", "hard"])
def test_revoked_with_crl_fails(pki: TestPKI, revocation: str) -> None:
    result = _check(pki.revoked(), _settings(pki, crls=pki.crls(), revocation=revocation))
    assert result.outcome == "failed"
    assert result.reason == (
        f"the certificate {REVOKED} was revoked on 2026-11-22 (key compromise) according to "
        f"the CRL of {CA}"
    )


def test_revoked_fails_whatever_signing_time_is_claimed(pki: TestPKI) -> None:
    signed = NOW - dt.timedelta(days=10)
    result = _check(pki.revoked(), _settings(pki, crls=pki.crls()), signing_time=signed)
    assert result.outcome == "failed"
    assert "was revoked on 2026-11-22 (key compromise)" in result.reason
    assert "only a trusted timestamp" in result.reason


def test_revoked_after_expiry_is_still_caught() -> None:
    # Validated at the signing time (it has expired since), then found on the current CRL.
    fresh = make_pki(now=NOW, organisation="CA Hết Hạn")
    identity = fresh.issue(
        "Đinh Văn Lâm",
        not_before=NOW - dt.timedelta(days=100),
        not_after=NOW - dt.timedelta(days=5),
        revoked=True,
    )
    settings = TrustSettings(anchors=[fresh.root.certificate], crls=fresh.crls())
    result = _check(identity, settings, signing_time=NOW - dt.timedelta(days=20))
    assert result.outcome == "failed"
    assert "'CN=Đinh Văn Lâm, O=Ủy ban nhân dân tỉnh Thử Nghiệm' was revoked on" in result.reason


def test_revoked_without_crl_is_indeterminate_when_hard(pki: TestPKI) -> None:
    result = _check(pki.revoked(), _settings(pki, revocation="hard"))
    assert result.outcome == "indeterminate"
    assert result.reason.startswith(
        f"no revocation information for {REVOKED} (CRL not given and fetching off; it is "
        f"published at {pki.crl_url})"
    )
    assert f"and for {CA} (CRL not given and fetching off" in result.reason


def test_revoked_without_crl_passes_with_a_note_when_soft(pki: TestPKI) -> None:
    result = _check(pki.revoked(), _settings(pki))
    assert result.outcome == "passed", result.reason
    assert "could not be fully checked for revocation" in result.reason
    [note] = result.notes
    assert note.startswith(
        f"revocation not fully checked: no revocation information for {REVOKED} "
        "(CRL not given and fetching off"
    )


def test_hard_needs_the_root_crl_for_an_intermediate_that_declares_one(pki: TestPKI) -> None:
    result = _check(pki.signer(), _settings(pki, crls=[pki.crl()], revocation="hard"))
    assert result.outcome == "indeterminate"
    assert result.reason == (
        f"no revocation information for {CA} (CRL not given and fetching off; it is published "
        f"at {pki.root_crl_url})"
    )


def test_soft_notes_the_missing_root_crl_but_still_checks_the_signer(pki: TestPKI) -> None:
    result = _check(pki.revoked(), _settings(pki, crls=[pki.crl()]))
    assert result.outcome == "failed"
    assert "was revoked on 2026-11-22" in result.reason
    assert any(CA in note for note in result.notes)


def test_revocation_off_checks_nothing(pki: TestPKI) -> None:
    result = _check(pki.revoked(), _settings(pki, crls=pki.crls(), revocation="off"))
    assert result.outcome == "passed", result.reason
    assert "was not checked for revocation" in result.reason
    assert result.notes == ["revocation was not checked (revocation is 'off')"]


@pytest.mark.parametrize(("revocation", "outcome"), [("hard", "indeterminate"), ("soft", "passed")])
def test_stale_crl(pki: TestPKI, revocation: str, outcome: str) -> None:
    stale = pki.crl(next_update=NOW - dt.timedelta(minutes=30))
    settings = _settings(pki, crls=[stale, pki.root_crl()], revocation=revocation)
    result = _check(pki.signer(), settings)
    assert result.outcome == outcome, result.reason
    text = result.reason if outcome == "indeterminate" else " ".join(result.notes)
    assert "the revocation information could not be used" in text
    assert "CRL is not recent enough" in text


@pytest.mark.parametrize("revocation", ["soft", "hard"])
def test_an_out_of_date_crl_that_lists_the_certificate_still_revokes_it(
    pki: TestPKI, revocation: str
) -> None:
    stale = pki.crl(next_update=NOW - dt.timedelta(minutes=30))
    settings = _settings(pki, crls=[stale, pki.root_crl()], revocation=revocation)
    result = _check(pki.revoked(), settings)
    assert result.outcome == "failed", result.reason
    assert result.reason.startswith(f"the certificate {REVOKED} was revoked on 2026-11-22")


def test_ocsp_request_is_noted(pki: TestPKI) -> None:
    result = _check(pki.signer(), _settings(pki, crls=pki.crls(), ocsp=True))
    assert result.outcome == "passed", result.reason
    assert any(note.startswith("OCSP was not queried") for note in result.notes)


# --------------------------------------------------------------------------------------------
# fetching through the caller's fetcher (in memory: tests never touch the network)


def test_fetcher_is_a_revocation_fetcher() -> None:
    assert isinstance(MemoryFetcher({}), RevocationFetcher)
    assert not isinstance(object(), RevocationFetcher)


def test_fetched_crl_finds_the_revocation(pki: TestPKI) -> None:
    fetcher = MemoryFetcher(_published(pki))
    result = _check(pki.revoked(), _settings(pki, fetcher=fetcher, revocation="hard"))
    assert result.outcome == "failed"
    assert f"was revoked on 2026-11-22 (key compromise) according to the CRL of {CA}" in (
        result.reason
    )
    assert pki.crl_url in fetcher.calls


def test_fetched_crls_let_a_good_signer_pass_hard(pki: TestPKI) -> None:
    fetcher = MemoryFetcher(_published(pki))
    result = _check(pki.signer(), _settings(pki, fetcher=fetcher, revocation="hard"))
    assert result.outcome == "passed", result.reason
    assert result.notes == []
    assert sorted(fetcher.calls) == sorted([pki.crl_url, pki.root_crl_url])


def test_fetcher_is_asked_at_most_once_per_url(pki: TestPKI) -> None:
    fetcher = MemoryFetcher({pki.crl_url: pki.crl_der()})  # the root CRL is missing
    result = _check(pki.revoked(), _settings(pki, fetcher=fetcher))
    assert result.outcome == "failed"
    assert len(fetcher.calls) == len(set(fetcher.calls))


def test_fetcher_with_nothing_is_indeterminate_when_hard(pki: TestPKI) -> None:
    result = _check(pki.signer(), _settings(pki, fetcher=MemoryFetcher({}), revocation="hard"))
    assert result.outcome == "indeterminate"
    assert "CRL not given and none fetched" in result.reason
    assert f"{pki.root_crl_url}: the fetcher returned nothing" in result.reason


def test_failing_fetcher_is_noted_when_soft(pki: TestPKI) -> None:
    result = _check(pki.signer(), _settings(pki, fetcher=BrokenFetcher()))
    assert result.outcome == "passed", result.reason
    notes = " ".join(result.notes)
    assert f"{pki.crl_url}: the fetcher failed: connection refused by {pki.crl_url}" in notes


def test_fetcher_returning_garbage_is_reported(pki: TestPKI) -> None:
    fetcher = MemoryFetcher(dict.fromkeys(_published(pki), b"<html>404</html>"))
    result = _check(pki.signer(), _settings(pki, fetcher=fetcher, revocation="hard"))
    assert result.outcome == "indeterminate"
    assert "the fetcher returned something that is not a CRL" in result.reason


# --------------------------------------------------------------------------------------------
# key usage


def test_wrong_usage_fails(pki: TestPKI) -> None:
    result = _check(pki.wrong_usage(), _settings(pki, crls=pki.crls()))
    assert result.outcome == "failed"
    assert result.reason == (
        "the certificate 'CN=Văn thư Sở Nội vụ, O=Ủy ban nhân dân tỉnh Thử Nghiệm' may not sign "
        "documents: its key usage allows key encipherment, and a document signature needs "
        "digital signature or non-repudiation"
    )


@pytest.mark.parametrize("usage", ["digital_signature", "non_repudiation"])
def test_one_of_the_key_usages_is_enough(usage: str) -> None:
    fresh = make_pki(now=NOW, organisation="CA Khóa")
    identity = fresh.issue("Ngô Thị Mai", key_usage=(usage,))
    settings = TrustSettings(anchors=[fresh.root.certificate], crls=fresh.crls())
    assert _check(identity, settings).outcome == "passed"


def test_key_usage_requirement_is_configurable(pki: TestPKI) -> None:
    anything = _settings(pki, crls=pki.crls(), key_usage=frozenset())
    assert _check(pki.wrong_usage(), anything).outcome == "passed"
    encipher = _settings(pki, crls=pki.crls(), key_usage=frozenset({"key_encipherment"}))
    assert _check(pki.signer(), encipher).outcome == "failed"


def test_certificate_without_key_usage_passes_with_a_note(pki: TestPKI) -> None:
    issuer = pki.intermediate
    unrestricted = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lý Thị Oanh")]))
        .issuer_name(issuer.certificate.subject)
        .public_key(pki.ec_signer().key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )
    result = validate_certificate(
        unrestricted, pki.signer().chain, _settings(pki, crls=pki.crls()), now=NOW
    )
    assert result.outcome == "passed", result.reason
    [note] = result.notes
    assert note == (
        "the certificate 'CN=Lý Thị Oanh' has no key usage extension, so its key may be used "
        "for anything (RFC 5280)"
    )


# --------------------------------------------------------------------------------------------
# anchors and paths


def test_untrusted_root_names_the_missing_anchor(pki: TestPKI) -> None:
    result = _check(pki.untrusted(), _settings(pki, crls=pki.crls()))
    assert result.outcome == "indeterminate"
    assert result.reason == (
        "no path to a trust anchor: the issuer 'CN=CA Ngoài Danh Sách Root, O=CA Ngoài Danh "
        "Sách' of 'CN=CA Ngoài Danh Sách, O=CA Ngoài Danh Sách' is not among the 1 anchor given "
        "and its certificate was not supplied; pass its CA certificate with --trust (or, if it "
        "is not a root, as an intermediate)"
    )
    assert result.path[0] == pki.untrusted().certificate.subject.rfc4514_string()


def test_untrusted_root_supplied_but_not_trusted(pki: TestPKI) -> None:
    identity = pki.untrusted()
    chain = (*identity.chain, pki.untrusted_root().certificate)
    result = validate_certificate(identity.certificate, chain, _settings(pki), now=NOW)
    assert result.outcome == "indeterminate"
    assert "'CN=CA Ngoài Danh Sách Root, O=CA Ngoài Danh Sách' is a self-signed root" in (
        result.reason
    )


def test_untrusted_root_passes_once_trusted(pki: TestPKI) -> None:
    settings = TrustSettings(anchors=[pki.untrusted_root().certificate], revocation="off")
    assert _check(pki.untrusted(), settings).outcome == "passed"


def test_missing_intermediate_is_indeterminate(pki: TestPKI) -> None:
    bare = Identity(key=pki.signer().key, certificate=pki.signer().certificate)
    result = _check(bare, _settings(pki, crls=pki.crls()))
    assert result.outcome == "indeterminate"
    assert f"the issuer {CA} of {SIGNER} is not among the 1 anchor given" in result.reason


def test_anchor_of_another_pki_does_not_help(pki: TestPKI) -> None:
    other = make_pki(now=NOW, organisation="CA Khác")
    settings = TrustSettings(anchors=[other.root.certificate, other.intermediate.certificate])
    result = _check(pki.signer(), settings)
    assert result.outcome == "indeterminate"
    assert "not among the 2 anchors given" in result.reason


def test_empty_anchors_trust_nothing(pki: TestPKI) -> None:
    result = _check(pki.signer(), TrustSettings(anchors=[], crls=pki.crls()))
    assert result.outcome == "failed"
    assert result.reason.startswith("nothing is trusted: no trust anchors were given")


# --------------------------------------------------------------------------------------------
# the pyHanko context, event loops, and argument checks


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _validate(context: ValidationContext, identity: Identity) -> object:
    validator = CertificateValidator(
        _asn1(identity.certificate),
        intermediate_certs=[_asn1(c) for c in identity.chain],
        validation_context=context,
    )
    return asyncio.run(validator.async_validate_path())


def test_validation_context_validates_with_the_settings(pki: TestPKI) -> None:
    settings = _settings(pki, crls=pki.crls(), revocation="hard")
    context = settings.validation_context(moment=NOW)
    assert isinstance(context, ValidationContext)
    assert context.moment == NOW
    _validate(context, pki.signer())
    with pytest.raises(RevokedError):
        _validate(settings.validation_context(moment=NOW), pki.revoked())


def test_validation_context_never_uses_the_system_store(pki: TestPKI) -> None:
    context = TrustSettings(anchors=[], revocation="off").validation_context(moment=NOW)
    with pytest.raises(PathBuildingError):
        _validate(context, pki.signer())


def test_validation_context_hard_without_crls_can_be_built(pki: TestPKI) -> None:
    context = _settings(pki, revocation="hard").validation_context()
    assert isinstance(context, ValidationContext)


def test_validation_context_uses_the_fetcher(pki: TestPKI) -> None:
    fetcher = MemoryFetcher(_published(pki))
    context = _settings(pki, fetcher=fetcher, revocation="hard").validation_context(moment=NOW)
    with pytest.raises(RevokedError):
        _validate(context, pki.revoked())
    assert pki.crl_url in fetcher.calls


def test_sync_call_works_inside_a_running_loop(pki: TestPKI) -> None:
    settings = _settings(pki, crls=pki.crls())

    async def inside() -> tuple[TrustResult, TrustResult]:
        blocking = _check(pki.signer(), settings)
        awaited = await validate_certificate_async(
            pki.signer().certificate, pki.signer().chain, settings, now=NOW
        )
        return blocking, awaited

    blocking, awaited = asyncio.run(inside())
    assert blocking.outcome == awaited.outcome == "passed"
    assert blocking.reason == awaited.reason


def test_naive_times_are_refused(pki: TestPKI) -> None:
    naive = dt.datetime(2026, 11, 23, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(LgspError, match="must carry a time zone"):
        validate_certificate(pki.signer().certificate, (), _settings(pki), now=naive)
    with pytest.raises(LgspError, match="signing_time must carry a time zone"):
        _check(pki.signer(), _settings(pki), signing_time=naive)


def test_settings_are_required(pki: TestPKI) -> None:
    with pytest.raises(TypeError, match="never falls back to the operating system"):
        validate_certificate(pki.signer().certificate)


def test_result_is_frozen(pki: TestPKI) -> None:
    result = _check(pki.signer(), _settings(pki, crls=pki.crls()))
    with pytest.raises(pydantic.ValidationError):
        result.outcome = "failed"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# settings and loaders


def test_settings_load_certificates_and_crls_from_bytes_and_paths(
    pki: TestPKI, tmp_path: Path
) -> None:
    root_file = tmp_path / "root.cer"
    root_file.write_bytes(pki.root.certificate.public_bytes(Encoding.DER))
    settings = TrustSettings(
        anchors=[root_file],
        intermediates=pki.intermediate_pem(),
        crls=[pki.crl_der(), pki.root_crl()],
    )
    assert settings.anchors == (pki.root.certificate,)
    assert settings.intermediates == (pki.intermediate.certificate,)
    assert [c.issuer for c in settings.crls] == [c.issuer for c in pki.crls()]
    result = _check(Identity(pki.signer().key, pki.signer().certificate), settings)
    assert result.outcome == "passed", result.reason


def test_settings_refuse_wrong_values(pki: TestPKI) -> None:
    with pytest.raises(pydantic.ValidationError, match="unknown key usage sign_anything"):
        _settings(pki, key_usage=frozenset({"sign_anything"}))
    with pytest.raises(pydantic.ValidationError):
        _settings(pki, revocation="sometimes")
    with pytest.raises(pydantic.ValidationError):
        _settings(pki, fetcher=object())
    with pytest.raises(pydantic.ValidationError):
        TrustSettings()  # type: ignore[call-arg]
    settings = _settings(pki)
    with pytest.raises(pydantic.ValidationError):
        settings.revocation = "off"  # type: ignore[misc]


def test_load_certificates_reads_every_common_form(pki: TestPKI, tmp_path: Path) -> None:
    both = [pki.intermediate.certificate, pki.root.certificate]
    bundle = pki.intermediate_pem() + pki.root_pem()
    assert load_certificates(bundle) == both
    assert load_certificates(bundle.decode("ascii")) == both
    der = pki.root.certificate.public_bytes(Encoding.DER)
    assert load_certificates(der) == [pki.root.certificate]
    # PKCS#7 holds a SET OF certificates: the order is the encoder's
    p7b = pkcs7.serialize_certificates(both, Encoding.DER)
    assert set(load_certificates(p7b)) == set(both)
    pem_p7b = pkcs7.serialize_certificates(both, Encoding.PEM)
    assert set(load_certificates(pem_p7b)) == set(both)
    path = tmp_path / "bundle.pem"
    path.write_bytes(bundle)
    assert load_certificates(path) == both
    assert load_certificates(str(path)) == both


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not a certificate", "neither a PEM bundle, a DER certificate nor a PKCS#7 bundle"),
        (b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n", "no readable PEM"),
    ],
)
def test_load_certificates_refuses_garbage(data: bytes, words: str) -> None:
    with pytest.raises(LgspError, match=words):
        load_certificates(data)


def test_load_certificates_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LgspError, match="cannot read certificate file"):
        load_certificates(tmp_path / "absent.pem")


def test_load_crl_reads_der_and_pem(pki: TestPKI, tmp_path: Path) -> None:
    crl = pki.crl()
    assert load_crl(pki.crl_der()).issuer == crl.issuer
    pem = crl.public_bytes(Encoding.PEM)
    assert load_crl(pem).issuer == crl.issuer
    path = tmp_path / "ca.crl"
    path.write_bytes(pki.crl_der())
    assert load_crl(path).issuer == crl.issuer
    with pytest.raises(LgspError, match="not a readable certificate revocation list"):
        load_crl(b"\x30\x03\x02\x01\x00")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_loaders_fail_only_with_lgsp_errors(data: bytes) -> None:
    for loader in (load_certificates, load_crl):
        try:
            loader(data)
        except LgspError:
            continue
