"""Whether a signer's certificate leads to a CA the caller trusts, and was good when it signed.

A valid signature value proves only that someone held the key. Whether that someone counts —
a civil servant whose certificate was issued under the Government root CA (Ban Cơ yếu Chính phủ)
or a licensed public CA such as VNPT-CA, not revoked, allowed to sign — is a question of trust,
and this module answers it the same way for the XML-DSig envelopes of edXML packages and for the
PAdES signatures of PDF attachments.

Trust is explicit. The caller names its trust anchors in :class:`TrustSettings`; an empty list
trusts nothing, and the operating system's certificate store is never consulted (a TLS store
says nothing about who may sign Vietnamese official documents). Revocation lists are given, or
fetched by a :class:`RevocationFetcher` the caller plugs in; lgsp itself opens no connection.

Path building and RFC 5280 validation are pyhanko-certvalidator's; this module chooses its
policies, runs it, and turns its exceptions into a :class:`TrustResult` whose ``reason`` is a
sentence a person can act on.

Decisions worth knowing:

* **Outcomes.** ``failed``: something is definitely wrong (revoked, expired at the signing time,
  not yet valid, invalid path, key usage that forbids signing, no anchors at all).
  ``indeterminate``: lgsp could not decide with what it was given — no path to any of the anchors
  (a missing anchor or intermediate), or, under ``revocation="hard"``, no usable revocation
  information. ``passed``: everything checked out; ``notes`` say what was not checked.
* **Two moments.** The path is validated at ``now`` (``checked_at``). When ``signing_time`` is
  given, every certificate of the path must also have been within its validity period at that
  moment. A certificate that has expired *since* the signing time passes, with a note: the
  path is validated again at the signing time (current CRLs are applied to that moment). The
  signing time is the one the signature claims; only a trusted timestamp proves it, so this
  leniency stops at expiry — a revocation dated before ``now`` fails the certificate whatever
  signing time is claimed.
* **Revocation.** ``"hard"`` requires revocation information for the signer's certificate and
  for every CA certificate that declares where its status is published (a CRL distribution
  point or OCSP responder); missing or unusable information (say, an out-of-date CRL) is
  ``indeterminate``. ``"soft"`` tries the same, and when information is missing or unusable
  carries on without it, saying so in ``notes``. In both, an authentic CRL that lists a
  certificate of the path as revoked fails it, even an out-of-date one: revocation is final
  (certificate holds excepted). ``"off"`` checks nothing. OCSP is not queried: the fetcher
  protocol carries CRLs only (``ocsp=True`` adds a note saying so).
* **Anchors** may be roots or issuing CAs trusted directly; CRLs an issuing-CA anchor signed are
  usable too. Forged certificates and CRLs (a key that does not fit the signature algorithm)
  fail or are ignored rather than crash the check.
* **Key usage.** The signer's certificate needs *one* of ``settings.key_usage``
  (digitalSignature or nonRepudiation by default). A certificate without a keyUsage extension
  is unrestricted (RFC 5280) and passes, with a note.

pyhanko-certvalidator 0.33 is asynchronous. :func:`validate_certificate_async` is the native
entry point; :func:`validate_certificate` runs it with :func:`asyncio.run`, or — when called
from inside a running event loop — on a private worker thread with its own loop, blocking the
caller until it is done (async code should await :func:`validate_certificate_async` instead).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    CRLFetchError,
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    OCSPFetchError,
    PathBuildingError,
    PathError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers import CertificateFetcher, CRLFetcher, Fetchers, OCSPFetcher
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import CertificateRegistry
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from lgsp.errors import LgspError

__all__ = [
    "KEY_USAGES",
    "Outcome",
    "RevocationFetcher",
    "RevocationMode",
    "TrustResult",
    "TrustSettings",
    "load_certificates",
    "load_crl",
    "validate_certificate",
    "validate_certificate_async",
]

Outcome = Literal["passed", "indeterminate", "failed"]
RevocationMode = Literal["off", "soft", "hard"]

KEY_USAGES = (
    "digital_signature",
    "non_repudiation",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
"""The RFC 5280 key usage names :attr:`TrustSettings.key_usage` accepts."""

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# loaders


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


@runtime_checkable
class RevocationFetcher(Protocol):
    """The caller's way to fetch a CRL from a distribution-point URL; lgsp does no HTTP itself.

    Return the CRL bytes (DER or PEM), or ``None`` when there is nothing at that URL. Raising
    is treated like ``None`` and the error text is kept for the result's reason. The method is
    called from a worker thread, at most once per URL per validation.
    """

    def fetch_crl(self, url: str) -> bytes | None:
        """The CRL published at ``url``, or ``None``."""
        ...


def _as_certificates(value: Any) -> Any:
    if isinstance(value, bytes | str | Path):
        return tuple(load_certificates(value))
    if isinstance(value, Iterable):
        items: list[Any] = []
        for item in value:
            if isinstance(item, bytes | str | Path):
                items.extend(load_certificates(item))
            else:
                items.append(item)
        return tuple(items)
    return value


class TrustSettings(BaseModel):
    """What a verifier trusts, and how hard it looks for revocation.

    ``anchors`` are the CA certificates trusted outright (typically the Government root CA and
    the public CAs' roots the organisation accepts); there is no default and no fallback to the
    operating system's store — an empty list trusts nothing. ``intermediates`` is an extra pool
    of CA certificates for building paths when signatures do not embed them. ``crls`` are
    revocation lists at hand; ``fetcher`` may fetch more by URL. Certificates and CRLs may also
    be given as bytes, PEM text or paths; they are loaded on construction.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    anchors: Sequence[x509.Certificate]
    intermediates: Sequence[x509.Certificate] = ()
    crls: Sequence[x509.CertificateRevocationList] = ()
    fetcher: RevocationFetcher | None = None
    revocation: RevocationMode = "soft"
    ocsp: bool = False
    key_usage: frozenset[str] = frozenset({"digital_signature", "non_repudiation"})

    @field_validator("anchors", "intermediates", mode="before")
    @classmethod
    def _load_certificates(cls, value: Any) -> Any:
        return _as_certificates(value)

    @field_validator("crls", mode="before")
    @classmethod
    def _load_crls(cls, value: Any) -> Any:
        if isinstance(value, bytes | str | Path):
            return (load_crl(value),)
        if isinstance(value, Iterable):
            return tuple(load_crl(v) if isinstance(v, bytes | str | Path) else v for v in value)
        return value

    @field_validator("anchors", "intermediates", "crls", mode="after")
    @classmethod
    def _freeze(cls, value: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(value)

    @field_validator("key_usage", mode="after")
    @classmethod
    def _known_usages(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(value - set(KEY_USAGES))
        if unknown:
            raise ValueError(
                f"unknown key usage {', '.join(unknown)}; use any of {', '.join(KEY_USAGES)}"
            )
        return value

    def validation_context(self, *, moment: dt.datetime | None = None) -> ValidationContext:
        """A pyhanko-certvalidator context with these anchors, pools, CRLs and policy.

        For code that drives pyHanko itself (PAdES validation). ``moment`` is the validation
        time (``None``: now). The revocation policy follows :attr:`revocation` — ``"hard"``
        requires information for the signer and for CA certificates that declare it, ``"soft"``
        uses what is there, ``"off"`` checks nothing. Key usage is *not* part of the context:
        pass :attr:`key_usage` to pyHanko as any-of key-usage constraints.
        """
        fetches = _FetchCache(self.fetcher) if self.fetcher is not None else None
        return self._context(
            moment=moment,
            best_signature_time=None,
            policy=_CONTEXT_POLICY[self.revocation],
            retroactive=False,
            extra_certificates=(),
            fetches=fetches,
        )

    def _context(
        self,
        *,
        moment: dt.datetime | None,
        best_signature_time: dt.datetime | None,
        policy: RevocationCheckingPolicy,
        retroactive: bool,
        extra_certificates: Sequence[x509.Certificate],
        fetches: _FetchCache | None,
    ) -> ValidationContext:
        if moment is not None:
            moment = _aware(moment, "moment")
        pool = [_to_asn1(c) for c in (*extra_certificates, *self.intermediates)]
        adapter = _CRLFetcherAdapter(fetches) if fetches is not None else None
        fetchers = None
        if adapter is not None:
            fetchers = Fetchers(
                ocsp_fetcher=_NoOCSP(), crl_fetcher=adapter, cert_fetcher=_NoCertificates()
            )
        context = ValidationContext(
            # A list, never None: None would mean the operating system's store.
            trust_roots=[_to_asn1(c) for c in self.anchors],
            moment=moment,
            best_signature_time=best_signature_time,
            allow_fetching=fetchers is not None,
            fetchers=fetchers,
            crls=[c.public_bytes(Encoding.DER) for c in self.crls],
            revinfo_policy=CertRevTrustPolicy(policy, retroactive_revinfo=retroactive),
            # Built here so that no certificate fetcher is attached: issuers come only from
            # what the caller gave.
            certificate_registry=CertificateRegistry.build(pool),
            signature_validator=_SIGNATURE_VALIDATOR,
        )
        voucher = _AnchorCRLs(context, self.anchors)
        for crl in self.crls:
            voucher.vouch(crl, asn1_crl.CertificateList.load(crl.public_bytes(Encoding.DER)))
        if adapter is not None:
            adapter.voucher = voucher
        return context


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

    async def fetch(self, cert: Any, *, use_deltas: Any = None) -> list[Any]:  # noqa: ARG002
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
    async def fetch(self, cert: Any, authority: Any) -> Any:  # noqa: ARG002
        raise OCSPFetchError("lgsp does not query OCSP responders; revocation comes from CRLs")

    def fetched_responses(self) -> list[Any]:
        return []

    def fetched_responses_for_cert(self, cert: Any) -> list[Any]:  # noqa: ARG002
        return []


class _NoCertificates(CertificateFetcher):
    async def fetch_cert_issuers(self, cert: Any) -> AsyncGenerator[Any, None]:  # noqa: ARG002
        return
        yield  # pragma: no cover - makes this an (empty) async generator

    async def fetch_crl_issuers(self, certificate_list: Any) -> AsyncGenerator[Any, None]:  # noqa: ARG002
        return
        yield  # pragma: no cover

    def fetched_certs(self) -> list[Any]:
        return []


# --------------------------------------------------------------------------------------------
# result


class TrustResult(BaseModel):
    """The verdict on one certificate, with a reason a person can act on.

    ``path`` lists subjects from the certificate up to the trust anchor (as far as it was
    built). ``valid_now`` and ``valid_at_signing`` report the certificate's own validity period
    at ``checked_at`` and at ``signing_time`` (``None`` when that moment was not given).
    """

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    reason: str
    path: list[str] = Field(default_factory=list)
    checked_at: dt.datetime
    signing_time: dt.datetime | None = None
    valid_now: bool | None = None
    valid_at_signing: bool | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """``outcome == "passed"``."""
        return self.outcome == "passed"


# --------------------------------------------------------------------------------------------
# helpers on names, times and certificates


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


def _dn(name: x509.Name) -> str:
    """``'CN=…, O=…'`` — the parts of a name a person recognises, quoted."""
    parts = [
        f"{label}={attribute.value!s}"
        for oid, label in ((NameOID.COMMON_NAME, "CN"), (NameOID.ORGANIZATION_NAME, "O"))
        for attribute in name.get_attributes_for_oid(oid)
    ]
    return "'" + (", ".join(parts) if parts else name.rfc4514_string()) + "'"


def _label(certificate: x509.Certificate) -> str:
    return _dn(certificate.subject)


def _day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d")


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _within(certificate: x509.Certificate, moment: dt.datetime) -> bool:
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


def _anchor_word(count: int) -> str:
    return f"{count} anchor{'' if count == 1 else 's'}"


def _plain(message: str) -> str:
    """A certvalidator message without its boilerplate opening."""
    for opening in ("The path could not be validated because ", "The path could not be validated"):
        if message.startswith(opening):
            return message[len(opening) :]
    return message


def _path_certificates(path: Any) -> list[x509.Certificate]:
    """The certificates of a certvalidator path, leaf first, anchor last."""
    return [_from_asn1(c) for c in path.iter_certs(include_root=True)][::-1]


def _declares_status(certificate: x509.Certificate) -> bool:
    """Whether the certificate names a CRL distribution point or an OCSP responder."""
    extensions = certificate.extensions
    with contextlib.suppress(x509.ExtensionNotFound):
        extensions.get_extension_for_class(x509.CRLDistributionPoints)
        return True
    with contextlib.suppress(x509.ExtensionNotFound):
        access = extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        return any(d.access_method == AuthorityInformationAccessOID.OCSP for d in access)
    return False


def _crl_urls(certificate: x509.Certificate) -> list[str]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return []
    return [
        str(name.value)
        for point in points.value
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


_REASONS = {
    "unspecified": "reason unspecified",
    "key_compromise": "key compromise",
    "ca_compromise": "CA compromise",
    "affiliation_changed": "affiliation changed",
    "superseded": "superseded",
    "cessation_of_operation": "cessation of operation",
    "certificate_hold": "on hold",
    "privilege_withdrawn": "privilege withdrawn",
    "aa_compromise": "AA compromise",
}

_VERIFYING_KEYS = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    dsa.DSAPublicKey,
)


@dataclass(frozen=True)
class _Listing:
    certificate: x509.Certificate
    revoked_at: dt.datetime
    reason: str
    crl_issuer: x509.Name


def _usage_names(usage: x509.KeyUsage) -> list[str]:
    names = []
    for name in KEY_USAGES:
        attribute = "content_commitment" if name == "non_repudiation" else name
        try:
            if getattr(usage, attribute):
                names.append(name)
        except ValueError:  # encipher_only / decipher_only without key_agreement
            continue
    return names


def _words(names: Iterable[str], joiner: str = "and") -> str:
    """``["digital_signature", "non_repudiation"]`` → ``"digital signature or non-repudiation"``."""
    words = [n.replace("non_", "non-").replace("_", " ") for n in names]
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} {joiner} {words[-1]}"


# --------------------------------------------------------------------------------------------
# validation


class _Verdict(Exception):  # noqa: N818 - an internal early exit carrying a result, not an error
    def __init__(self, outcome: Outcome, reason: str, path: list[x509.Certificate]) -> None:
        super().__init__(reason)
        self.outcome: Outcome = outcome
        self.reason = reason
        self.path = path


@dataclass
class _Job:
    settings: TrustSettings
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    now: dt.datetime
    signing_time: dt.datetime | None
    fetches: _FetchCache | None
    notes: list[str] = field(default_factory=list)
    revocation_complete: bool = False

    # ---- running certvalidator

    async def validate_at(self, moment: dt.datetime, *, retroactive: bool) -> Any:
        """The validated path at ``moment``, trying the mode's revocation policies in turn.

        A later policy is tried only when the earlier one found revocation information missing
        or unusable; what was missing becomes a note once the last attempt is over, when every
        CRL that could be fetched has been.
        """
        attempts = _ATTEMPTS[self.settings.revocation]
        best_time = self.signing_time if self.signing_time and self.signing_time < moment else None
        shortfalls: list[PathValidationError] = []
        try:
            for index, policy in enumerate(attempts):
                context = self.settings._context(
                    moment=moment,
                    best_signature_time=best_time,
                    policy=policy,
                    retroactive=retroactive,
                    extra_certificates=self.chain,
                    fetches=self.fetches,
                )
                validator = CertificateValidator(_to_asn1(self.leaf), validation_context=context)
                try:
                    path = await validator.async_validate_path()
                except InsufficientRevinfoError as exc:
                    if index == len(attempts) - 1:
                        raise
                    shortfalls.append(exc)
                    continue
                except (ValidationError, PathError):
                    raise
                except Exception as exc:  # hostile input must not escape as a crash
                    raise _Verdict(
                        "indeterminate",
                        "the certificates could not be processed (they may be malformed): "
                        f"{type(exc).__name__}: {exc}",
                        [self.leaf, *self.chain],
                    ) from exc
                self.revocation_complete = policy is _STRICT
                return path
        finally:
            for shortfall in shortfalls:
                explained = self.missing_revocation(shortfall, every=True)
                self.notes.append(f"revocation not fully checked: {explained}")
        raise AssertionError("unreachable: the last attempt returns or raises")

    # ---- what the caller gave and what was fetched

    def available_crls(self) -> list[x509.CertificateRevocationList]:
        fetched = self.fetches.fetched() if self.fetches is not None else []
        return [*self.settings.crls, *fetched]

    def pool(self) -> list[x509.Certificate]:
        return [*self.chain, *self.settings.intermediates]

    # ---- explaining

    def missing_revocation(self, exc: PathValidationError, *, every: bool = False) -> str:
        """Which certificates lacked revocation information, and why.

        certvalidator works from the anchor down and stops at the first certificate without
        information; that one is named, or with ``every`` all that have none at hand (so the
        reader learns every CRL still needed).
        """
        certificates = _path_certificates(exc.original_path)
        crls = self.available_crls()
        missing = [
            c
            for c in certificates[:-1]
            if (c == self.leaf or _declares_status(c))
            and not any(r.issuer == c.issuer for r in crls)
        ]
        if not missing:
            return f"the revocation information could not be used: {_plain(exc.failure_msg)}"
        if not every:
            missing = missing[-1:]
        parts = []
        for certificate in missing:
            urls = _crl_urls(certificate)
            if self.fetches is None:
                why = "CRL not given and fetching off"
                if urls:
                    why += f"; it is published at {', '.join(urls)}"
            else:
                problems = [
                    f"{u}: {self.fetches.problems[u]}" for u in urls if u in self.fetches.problems
                ]
                why = "CRL not given and none fetched"
                if problems:
                    why += f" — {'; '.join(problems)}"
            parts.append(f"{_label(certificate)} ({why})")
        return "no revocation information for " + " and for ".join(parts)

    def no_path(self) -> tuple[str, list[x509.Certificate]]:
        """Why no path reaches an anchor, found by walking issuer names from the leaf."""
        anchors = list(self.settings.anchors)
        count = _anchor_word(len(anchors))
        pool = self.pool()
        walked = [self.leaf]
        current = self.leaf
        for _ in range(16):
            if current.issuer == current.subject:
                reason = (
                    f"no path to a trust anchor: {_label(current)} is a self-signed root that "
                    f"is not among the {count} given; if you trust it, pass its certificate "
                    "with --trust"
                )
                return reason, walked
            if any(a.subject == current.issuer for a in anchors):
                reason = (
                    f"no path to a trust anchor: {_label(current)} names "
                    f"{_dn(current.issuer)} as its issuer, but the anchor of that name does not "
                    "match its authority key identifier (a different CA key with the same name?)"
                )
                return reason, walked
            issuer = next(
                (c for c in pool if c.subject == current.issuer and c not in walked), None
            )
            if issuer is None:
                reason = (
                    f"no path to a trust anchor: the issuer {_dn(current.issuer)} of "
                    f"{_label(current)} is not among the {count} given and its certificate was "
                    "not supplied; pass its CA certificate with --trust (or, if it is not a "
                    "root, as an intermediate)"
                )
                return reason, walked
            walked.append(issuer)
            current = issuer
        return f"no path to a trust anchor from {_label(self.leaf)}", walked

    def culprit(self, exc: PathValidationError, at: Callable[[x509.Certificate], bool]) -> Any:
        if exc.is_ee_cert:
            return self.leaf
        certificates = _path_certificates(exc.original_path)
        return next((c for c in certificates if at(c)), certificates[0])

    def listed(self, certificates: list[x509.Certificate], moment: dt.datetime) -> _Listing | None:
        """The first certificate of the path an authentic CRL lists as revoked by ``moment``.

        A second look after certvalidator, which judges revocation at the moment it validates
        at (the signing time, for a certificate that has expired since) and only from CRLs it
        finds fresh. A revocation is final whatever the CRL's age, so any CRL signed by the
        certificate's issuer counts here.
        """
        crls = self.available_crls()
        for certificate, issuer in itertools.pairwise(certificates):
            key = issuer.public_key()
            if not isinstance(key, _VERIFYING_KEYS):
                continue
            for crl in crls:
                if crl.issuer != certificate.issuer or not crl.is_signature_valid(key):
                    continue
                entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
                if entry is None or entry.revocation_date_utc > moment:
                    continue
                reason = "unspecified"
                with contextlib.suppress(x509.ExtensionNotFound):
                    extension = entry.extensions.get_extension_for_class(x509.CRLReason)
                    reason = extension.value.reason.name
                if reason in {"remove_from_crl", "certificate_hold"}:
                    continue  # a hold may be lifted: only certvalidator, on a fresh CRL, judges it
                return _Listing(certificate, entry.revocation_date_utc, reason, crl.issuer)
        return None

    def revoked_reason(
        self, certificate: x509.Certificate, when: dt.datetime, reason: str, crl_issuer: x509.Name
    ) -> str:
        text = (
            f"the certificate {_label(certificate)} was revoked on {_day(when)} "
            f"({_REASONS.get(reason, reason.replace('_', ' '))}) according to the CRL of "
            f"{_dn(crl_issuer)}"
        )
        if self.signing_time is not None and self.signing_time < when:
            text += (
                f"; the signature claims to be older ({_stamp(self.signing_time)}), but a "
                "claimed signing time cannot set a revocation aside — only a trusted timestamp "
                "could"
            )
        return text

    def judge(self, exc: Exception, *, at_signing: bool = False) -> _Verdict:  # noqa: PLR0911
        """A certvalidator exception as an outcome and a sentence."""
        moment = self.signing_time if at_signing and self.signing_time else self.now
        when = f"at the signing time {_stamp(moment)}" if at_signing else f"on {_stamp(moment)}"
        path = (
            _path_certificates(exc.original_path)
            if isinstance(exc, PathValidationError)
            else [self.leaf]
        )
        if isinstance(exc, RevokedError):
            certificate = self.culprit(exc, lambda _: False)
            listing = self.listed(path, self.now)
            if listing is not None:
                certificate = listing.certificate
            issuer = listing.crl_issuer if listing is not None else certificate.issuer
            reason = self.revoked_reason(certificate, exc.revocation_dt, exc.reason.native, issuer)
            return _Verdict("failed", reason, path)
        if isinstance(exc, ExpiredError):
            certificate = self.culprit(exc, lambda c: c.not_valid_after_utc == exc.expired_dt)
            return _Verdict(
                "failed",
                f"the certificate {_label(certificate)} had expired {when}: it was valid until "
                f"{_stamp(certificate.not_valid_after_utc)}",
                path,
            )
        if isinstance(exc, NotYetValidError):
            certificate = self.culprit(exc, lambda c: c.not_valid_before_utc == exc.valid_from)
            return _Verdict(
                "failed",
                f"the certificate {_label(certificate)} was not yet valid {when}: it is valid "
                f"from {_stamp(certificate.not_valid_before_utc)}",
                path,
            )
        if isinstance(exc, InsufficientRevinfoError):
            listing = self.listed(path, self.now)
            if listing is not None:  # out of date or not, a CRL that lists it is final
                reason = self.revoked_reason(
                    listing.certificate, listing.revoked_at, listing.reason, listing.crl_issuer
                )
                return _Verdict("failed", reason, path)
            return _Verdict("indeterminate", self.missing_revocation(exc, every=True), path)
        if isinstance(exc, DisallowedAlgorithmError):
            return _Verdict(
                "failed",
                "a certificate of the path uses an algorithm lgsp does not accept: "
                f"{_plain(exc.failure_msg)}",
                path,
            )
        if isinstance(exc, PathValidationError):
            return _Verdict(
                "failed", f"the certificate path is not valid: {_plain(exc.failure_msg)}", path
            )
        if isinstance(exc, PathBuildingError | InvalidCertificateError):
            reason, walked = self.no_path()
            return _Verdict("indeterminate", reason, walked)
        message = exc.failure_msg if isinstance(exc, ValidationError) else str(exc)
        return _Verdict("failed", f"the certificate could not be validated: {message}", path)

    # ---- the whole check

    async def run(self) -> tuple[Outcome, str, list[x509.Certificate]]:
        settings = self.settings
        if not settings.anchors:
            raise _Verdict(
                "failed",
                "nothing is trusted: no trust anchors were given; pass the CA certificates "
                "you trust (e.g. the Government root CA or your CA's root) with --trust",
                [self.leaf, *self.chain],
            )
        if settings.revocation == "off":
            self.notes.append("revocation was not checked (revocation is 'off')")
        if settings.ocsp:
            self.notes.append(
                "OCSP was not queried: lgsp's fetcher protocol carries CRLs only; revocation "
                "was judged from CRLs"
            )
        if self.signing_time is not None and self.signing_time > self.now:
            self.notes.append(
                f"the signing time {_stamp(self.signing_time)} is later than the time of the "
                f"check {_stamp(self.now)}"
            )

        try:
            path = await self.validate_at(self.now, retroactive=False)
        except ExpiredError as exc:
            path = await self.expired_since(exc)
        except (ValidationError, PathError) as exc:
            raise self.judge(exc) from exc

        certificates = _path_certificates(path)
        if self.signing_time is not None:
            self.check_at_signing(certificates, self.signing_time)
        if settings.revocation != "off":
            listing = self.listed(certificates, self.now)
            if listing is not None:
                raise _Verdict(
                    "failed",
                    self.revoked_reason(
                        listing.certificate, listing.revoked_at, listing.reason, listing.crl_issuer
                    ),
                    certificates,
                )
        self.check_usage(certificates)
        return "passed", self.passed_reason(certificates), certificates

    async def expired_since(self, exc: ExpiredError) -> Any:
        """Validation at the signing time for a path that has expired since; else a verdict."""
        certificate = self.culprit(exc, lambda c: c.not_valid_after_utc == exc.expired_dt)
        if self.signing_time is None:
            raise _Verdict(
                "failed",
                f"the certificate {_label(certificate)} expired on "
                f"{_stamp(certificate.not_valid_after_utc)}; no signing time was given, so it "
                "cannot be judged at the moment it signed",
                _path_certificates(exc.original_path),
            ) from exc
        if self.signing_time > certificate.not_valid_after_utc:
            raise _Verdict(
                "failed",
                f"the certificate {_label(certificate)} had already expired at the signing time "
                f"{_stamp(self.signing_time)}: it was valid until "
                f"{_stamp(certificate.not_valid_after_utc)}",
                _path_certificates(exc.original_path),
            ) from exc
        try:
            path = await self.validate_at(self.signing_time, retroactive=True)
        except (ValidationError, PathError) as again:
            raise self.judge(again, at_signing=True) from again
        self.notes.append(
            f"the certificate {_label(certificate)} has expired since the signature was made: "
            f"it was valid until {_stamp(certificate.not_valid_after_utc)} and the signing time "
            f"is {_stamp(self.signing_time)}; it passes because it was valid then (the signing "
            "time is the one the signature claims)"
        )
        return path

    def check_at_signing(self, certificates: list[x509.Certificate], moment: dt.datetime) -> None:
        for certificate in certificates:
            if moment < certificate.not_valid_before_utc:
                raise _Verdict(
                    "failed",
                    f"the signing time {_stamp(moment)} is before the certificate "
                    f"{_label(certificate)} became valid on "
                    f"{_stamp(certificate.not_valid_before_utc)}",
                    certificates,
                )
            if moment > certificate.not_valid_after_utc:
                raise _Verdict(
                    "failed",
                    f"the certificate {_label(certificate)} had expired at the signing time "
                    f"{_stamp(moment)}: it was valid until "
                    f"{_stamp(certificate.not_valid_after_utc)}",
                    certificates,
                )

    def check_usage(self, certificates: list[x509.Certificate]) -> None:
        required = self.settings.key_usage
        if not required:
            return
        try:
            usage = self.leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            self.notes.append(
                f"the certificate {_label(self.leaf)} has no key usage extension, so its key "
                "may be used for anything (RFC 5280)"
            )
            return
        allowed = _usage_names(usage)
        if set(allowed) & required:
            return
        raise _Verdict(
            "failed",
            f"the certificate {_label(self.leaf)} may not sign documents: its key usage allows "
            f"{_words(allowed) or 'nothing'}, and a document signature needs "
            f"{_words(sorted(required), 'or')}",
            certificates,
        )

    def passed_reason(self, certificates: list[x509.Certificate]) -> str:
        anchor = _label(certificates[-1])
        when = "now and at the signing time" if self.signing_time is not None else "now"
        if any("has expired since" in note for note in self.notes):
            when = "at the signing time"
        if self.revocation_complete:
            revocation = "is not revoked"
        elif self.settings.revocation == "off":
            revocation = "was not checked for revocation"
        else:
            revocation = "could not be fully checked for revocation (see notes)"
        return (
            f"the certificate {_label(self.leaf)} leads to the trust anchor {anchor}, is valid "
            f"{when}, {revocation}, and may sign documents"
        )


async def validate_certificate_async(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    settings: TrustSettings | None = None,
    *,
    signing_time: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> TrustResult:
    """:func:`validate_certificate` for code already running in an event loop."""
    if settings is None:
        raise TypeError(
            "validate_certificate needs settings=TrustSettings(anchors=[…]) naming the CAs you "
            "trust; lgsp never falls back to the operating system's certificate store"
        )
    checked_at = _aware(now, "now") if now is not None else dt.datetime.now(dt.UTC)
    signed_at = _aware(signing_time, "signing_time") if signing_time is not None else None
    job = _Job(
        settings=settings,
        leaf=certificate,
        chain=tuple(chain),
        now=checked_at,
        signing_time=signed_at,
        fetches=_FetchCache(settings.fetcher) if settings.fetcher is not None else None,
    )
    outcome: Outcome
    try:
        outcome, reason, certificates = await job.run()
    except _Verdict as verdict:
        outcome, reason, certificates = verdict.outcome, verdict.reason, verdict.path
    return TrustResult(
        outcome=outcome,
        reason=reason,
        path=[c.subject.rfc4514_string() for c in certificates],
        checked_at=checked_at,
        signing_time=signed_at,
        valid_now=_within(certificate, checked_at),
        valid_at_signing=_within(certificate, signed_at) if signed_at is not None else None,
        notes=list(dict.fromkeys(job.notes)),
    )


def validate_certificate(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    settings: TrustSettings | None = None,
    *,
    signing_time: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> TrustResult:
    """Whether ``certificate`` leads to one of ``settings.anchors`` and may sign, as a verdict.

    ``chain`` is what came with the signature (e.g. the ``KeyInfo`` certificates); it and
    ``settings.intermediates`` are the pool the path is built from. ``now`` is the time of the
    check (default: the current time, UTC); ``signing_time`` the time the signature claims.
    Both must carry a time zone. Never raises for a bad certificate — that is an outcome; raises
    :class:`TypeError` without settings and :class:`~lgsp.errors.LgspError` for a naive time.
    """
    return _run_sync(
        lambda: validate_certificate_async(
            certificate, chain, settings, signing_time=signing_time, now=now
        )
    )


def _run_sync(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from synchronous code, inside a running loop or not."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # A running loop cannot be re-entered: run on a private thread with a loop of its own.
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="lgsp-trust"
    ) as worker:
        return worker.submit(lambda: asyncio.run(make())).result()
