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
import datetime as dt
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers import Fetchers
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
)
from pyhanko_certvalidator.registry import CertificateRegistry

from lgsp.signatures._trust_context import (
    _CONTEXT_POLICY,
    _SIGNATURE_VALIDATOR,
    _AnchorCRLs,
    _aware,
    _CRLFetcherAdapter,
    _FetchCache,
    _NoCertificates,
    _NoOCSP,
    _to_asn1,
    _within,
    load_certificates,
    load_crl,
)

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
    from lgsp.signatures._trust_job import _Job, _Verdict  # the job needs the models here

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
