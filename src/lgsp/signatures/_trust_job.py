"""One certificate-path validation: builds the path, checks it at signing time and now,
reads revocation, and turns certvalidator's outcome into a :class:`TrustResult` with a
reason a person can act on."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from lgsp.signatures._trust_context import (
    _ATTEMPTS,
    _STRICT,
    _VERIFYING_KEYS,
    _FetchCache,
    _from_asn1,
    _to_asn1,
)
from lgsp.signatures.trust import KEY_USAGES, Outcome, TrustSettings

# --------------------------------------------------------------------------------------------
# helpers on names, times and certificates


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
