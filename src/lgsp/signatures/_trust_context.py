"""Plumbing between lgsp's trust settings and pyHanko's certvalidator: signature checks that
fail closed, CRLs vouched for by non-root anchors, revocation policies, and fetchers that never
touch the network unless the caller's own fetcher does."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    CRLFetchError,
    OCSPFetchError,
)
from pyhanko_certvalidator.fetchers import CertificateFetcher, CRLFetcher, OCSPFetcher
from pyhanko_certvalidator.policy_decl import (
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from lgsp.errors import LgspError

if TYPE_CHECKING:
    from lgsp.signatures.trust import RevocationFetcher


class _MismatchIsInvalid(DefaultSignatureValidator):
    """certvalidator's signature check, with a key that does not fit the algorithm as invalid.

    The default validator asserts that, say, an ECDSA signature comes with an EC key; a forged
    certificate or CRL (which anyone can put in a signature or serve from a URL) would crash
    validation with AssertionError instead of failing it.
    """

    def validate_signature(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().validate_signature(*args, **kwargs)
        except (AssertionError, TypeError, AttributeError) as exc:
            raise InvalidSignature("the key type does not fit the signature algorithm") from exc


_SIGNATURE_VALIDATOR = _MismatchIsInvalid()


class _AnchorCRLs:
    """Tells certvalidator who signed CRLs issued by an anchor that is not a self-signed root.

    Trusting an issuing CA directly (say, a public CA's sub-CA) is common. certvalidator finds
    the issuer of a CRL by placing it in the path below the anchor, which works for a
    self-signed root but not when the issuer *is* a non-root anchor — its subscribers' CRLs
    would then never be usable. A CRL whose issuer is such an anchor, and whose signature
    verifies with the anchor's key (checked here), is recorded as issued by it.
    """

    def __init__(self, context: ValidationContext, anchors: Sequence[x509.Certificate]) -> None:
        self._manager: Any = context.revinfo_manager  # record_crl_issuer is unannotated
        self._anchors = [a for a in anchors if a.subject != a.issuer]

    def vouch(self, crl: x509.CertificateRevocationList, native: Any) -> None:
        for anchor in self._anchors:
            key = anchor.public_key()
            if (
                crl.issuer == anchor.subject
                and isinstance(key, _VERIFYING_KEYS)
                and crl.is_signature_valid(key)
            ):
                self._manager.record_crl_issuer(native, _to_asn1(anchor))
                return


# Signer: CRL or OCSP required. CA certificates: required when they declare where their status
# is published.
_STRICT = RevocationCheckingPolicy(
    ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
)
_TOLERANT = RevocationCheckingPolicy(
    ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
)
_NO_CHECK = RevocationCheckingPolicy(
    ee_certificate_rule=RevocationCheckingRule.NO_CHECK,
    intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK,
)
_CONTEXT_POLICY: dict[str, RevocationCheckingPolicy] = {
    "hard": _STRICT,
    "soft": _TOLERANT,
    "off": _NO_CHECK,
}
# The policies validate_certificate tries in turn: a later one only after the earlier one found
# revocation information missing or unusable.
_ATTEMPTS: dict[str, tuple[RevocationCheckingPolicy, ...]] = {
    "hard": (_STRICT,),
    "soft": (_STRICT, _TOLERANT, _NO_CHECK),
    "off": (_NO_CHECK,),
}


# --------------------------------------------------------------------------------------------
# fetching through the caller's fetcher


class _FetchCache:
    """The caller's fetcher behind a per-validation cache; remembers what went wrong per URL."""

    def __init__(self, fetcher: RevocationFetcher) -> None:
        self._fetcher = fetcher
        self._found: dict[str, tuple[x509.CertificateRevocationList, Any]] = {}
        self.problems: dict[str, str] = {}

    async def get(self, url: str) -> tuple[x509.CertificateRevocationList, Any] | None:
        """The CRL at ``url`` as (cryptography, asn1crypto) objects, or ``None``."""
        if url in self._found:
            return self._found[url]
        if url in self.problems:
            return None
        try:
            data = await asyncio.to_thread(self._fetcher.fetch_crl, url)
        except Exception as exc:  # noqa: BLE001 - the caller's code; its failure is reported
            self.problems[url] = f"the fetcher failed: {exc}"
            return None
        if data is None:
            self.problems[url] = "the fetcher returned nothing"
            return None
        try:
            parsed = load_crl(bytes(data))
        except LgspError:
            self.problems[url] = "the fetcher returned something that is not a CRL"
            return None
        native = asn1_crl.CertificateList.load(parsed.public_bytes(Encoding.DER))
        self._found[url] = (parsed, native)
        return self._found[url]

    def fetched(self) -> list[x509.CertificateRevocationList]:
        return [crl for crl, _ in self._found.values()]

    def fetched_native(self) -> list[Any]:
        return [native for _, native in self._found.values()]


def _distribution_urls(certificate: Any) -> list[str]:
    """CRL distribution-point URIs of an asn1crypto certificate."""
    urls: list[str] = []
    if not isinstance(certificate, asn1_x509.Certificate):
        return urls
    for point in certificate.crl_distribution_points:
        name = point["distribution_point"]
        if name.name != "full_name":
            continue
        urls.extend(g.native for g in name.chosen if g.name == "uniform_resource_identifier")
    return urls


class _CRLFetcherAdapter(CRLFetcher):
    def __init__(self, cache: _FetchCache) -> None:
        self._cache = cache
        self._per_certificate: dict[bytes, list[Any]] = {}
        self.voucher: _AnchorCRLs | None = None

    async def fetch(self, cert: Any, *, use_deltas: Any = None) -> list[Any]:
        urls = _distribution_urls(cert)
        found = []
        for url in urls:
            pair = await self._cache.get(url)
            if pair is None:
                continue
            if self.voucher is not None:
                self.voucher.vouch(*pair)
            found.append(pair[1])
        self._per_certificate[cert.dump()] = found
        if not found:
            if urls:
                detail = "; ".join(f"{u}: {self._cache.problems.get(u, 'nothing')}" for u in urls)
            else:
                detail = "the certificate names no CRL distribution point"
            raise CRLFetchError(f"no CRL could be fetched ({detail})")
        return found

    def fetched_crls(self) -> list[Any]:
        return self._cache.fetched_native()

    def fetched_crls_for_cert(self, cert: Any) -> list[Any]:
        return self._per_certificate[cert.dump()]  # KeyError: not fetched yet, as the API expects


class _NoOCSP(OCSPFetcher):
    async def fetch(self, cert: Any, authority: Any) -> Any:
        raise OCSPFetchError("lgsp does not query OCSP responders; revocation comes from CRLs")

    def fetched_responses(self) -> list[Any]:
        return []

    def fetched_responses_for_cert(self, cert: Any) -> list[Any]:
        return []


class _NoCertificates(CertificateFetcher):
    async def fetch_cert_issuers(self, cert: Any) -> AsyncGenerator[Any, None]:
        return
        yield  # pragma: no cover - makes this an (empty) async generator

    async def fetch_crl_issuers(self, certificate_list: Any) -> AsyncGenerator[Any, None]:
        return
        yield  # pragma: no cover

    def fetched_certs(self) -> list[Any]:
        return []


def _read(data: bytes | str | Path, what: str) -> tuple[bytes, str]:
    """Bytes and a label for messages; a ``str`` is PEM text if it has a PEM header, else a path."""
    if isinstance(data, bytes):
        return data, f"the {what} bytes given"
    if isinstance(data, str) and "-----BEGIN" in data:
        return data.encode("utf-8"), f"the {what} text given"
    path = Path(data)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise LgspError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc


def load_certificates(data: bytes | str | Path) -> list[x509.Certificate]:
    """Certificates from a PEM bundle, a DER certificate, or a PKCS#7 (``.p7b``) bundle.

    ``data`` is the content as bytes, PEM text as ``str``, or a file path (``Path``, or a ``str``
    without a PEM header). CA certificates are often distributed as ``.cer`` files in either
    DER or PEM; both load. Raises :class:`~lgsp.errors.LgspError` when nothing can be read.
    """
    content, source = _read(data, "certificate")
    certificates = _parse_certificates(content, source)
    if not certificates:
        raise LgspError(f"{source}: the bundle holds no certificate")
    return certificates


def _parse_certificates(content: bytes, source: str) -> list[x509.Certificate]:
    if b"-----BEGIN" in content:
        if b"-----BEGIN PKCS7-----" in content:
            try:
                return list(pkcs7.load_pem_pkcs7_certificates(content))
            except ValueError as exc:
                raise LgspError(f"{source}: not a readable PKCS#7 bundle ({exc})") from exc
        try:
            certificates = x509.load_pem_x509_certificates(content)
        except ValueError as exc:
            raise LgspError(
                f"{source}: no readable PEM certificate (expected '-----BEGIN CERTIFICATE-----' "
                f"blocks): {exc}"
            ) from exc
        return list(certificates)
    try:
        return [x509.load_der_x509_certificate(content)]
    except ValueError:
        pass
    try:
        return list(pkcs7.load_der_pkcs7_certificates(content))
    except ValueError as exc:
        raise LgspError(
            f"{source}: neither a PEM bundle, a DER certificate nor a PKCS#7 bundle"
        ) from exc


def load_crl(data: bytes | str | Path) -> x509.CertificateRevocationList:
    """A certificate revocation list in DER (as distribution points serve it) or PEM.

    ``data`` is read like :func:`load_certificates`. Raises :class:`~lgsp.errors.LgspError`
    when it is not a CRL.
    """
    content, source = _read(data, "CRL")
    try:
        if b"-----BEGIN" in content:
            return x509.load_pem_x509_crl(content)
        return x509.load_der_x509_crl(content)
    except ValueError as exc:
        raise LgspError(f"{source}: not a readable certificate revocation list ({exc})") from exc


# --------------------------------------------------------------------------------------------
# settings


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if value.utcoffset() is None:
        raise LgspError(
            f"{what} must carry a time zone (got {value.isoformat()}); "
            "use e.g. datetime.now(timezone.utc) or a time in Vietnam time (UTC+7)"
        )
    return value


def _to_asn1(certificate: x509.Certificate) -> Any:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _from_asn1(certificate: Any) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate.dump())


def _within(certificate: x509.Certificate, moment: dt.datetime) -> bool:
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


_VERIFYING_KEYS = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    dsa.DSAPublicKey,
)
