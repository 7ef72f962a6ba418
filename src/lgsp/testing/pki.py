"""A throw-away public-key infrastructure made by code, for tests of signing and trust.

Signature code cannot be tested without certificates, and real ones (a VNPT-CA token, the
Government root CA) cannot go into a repository. :func:`make_pki` builds a small PKI shaped like
the Vietnamese one — a root CA, an issuing (intermediate) CA, subscriber certificates with
Vietnamese names — and named presets for the cases a verifier must tell apart: a good signer, an
expired one, one not yet valid, a revoked one (listed on the CRL), one whose key usage does not
allow signing, and one from a root nobody trusts.

Everything here is test material. The keys are generated in memory, never protected, and the
CRL distribution points use the reserved ``.invalid`` top-level domain
(``http://crl.test.invalid/…``) so nothing can ever be fetched from them.

Key generation is the slow part (an RSA-2048 key takes tens of milliseconds), so keys come from a
per-process pool: the n-th key of a kind that any :class:`TestPKI` asks for is made once and reused
by every later PKI in the process. Within one PKI each certificate has its own key; two PKIs made
in the same process share keys position by position, so give them different ``organisation``
names (hence different certificate names) when a test needs two PKIs that must not trust each
other.

``Identity.chain`` holds the issuing CA certificates **without the root**, leaf's issuer first —
what a signer embeds next to its certificate (XML-DSig ``KeyInfo``, a CMS ``certificates`` set). The
root is what a verifier must already trust; get it with :meth:`TestPKI.root_pem` or
``pki.root.certificate``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from lgsp.signatures.trust import KEY_USAGES

__all__ = [
    "DEFAULT_SUBSCRIBER_ORGANISATION",
    "Identity",
    "KeyType",
    "PrivateKey",
    "TestPKI",
    "make_pki",
]

KeyType = Literal["rsa", "ec"]
"""``"rsa"`` is RSA-2048 (usable for PKCS#1 v1.5 and PSS signatures); ``"ec"`` is ECDSA P-256."""

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEFAULT_SUBSCRIBER_ORGANISATION = "Ủy ban nhân dân tỉnh Thử Nghiệm"
"""The ``O=`` of subscriber certificates unless :meth:`TestPKI.issue` is told otherwise."""

_LOCALITY = "Hà Nội"
_RSA_BITS = 2048

# --------------------------------------------------------------------------------------------
# the per-process key pool

_POOL_LOCK = threading.Lock()
_KEY_POOL: dict[tuple[str, int], PrivateKey] = {}


def _pooled_key(key_type: KeyType, slot: int) -> PrivateKey:
    """The ``slot``-th key of ``key_type`` in this process, made on first use."""
    with _POOL_LOCK:
        key = _KEY_POOL.get((key_type, slot))
        if key is None:
            if key_type == "rsa":
                key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
            else:
                key = ec.generate_private_key(ec.SECP256R1())
            _KEY_POOL[(key_type, slot)] = key
        return key


# --------------------------------------------------------------------------------------------
# names for key usages


_EXTENDED_KEY_USAGES: dict[str, ObjectIdentifier] = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "time_stamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    # id-kp-documentSigning, RFC 9336
    "document_signing": ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
}

_DOTTED_OID = re.compile(r"^[0-2](\.\d+)+$")


def _key_usage(names: Iterable[str]) -> x509.KeyUsage:
    wanted = set(names)
    unknown = sorted(wanted - set(KEY_USAGES))
    if unknown:
        raise ValueError(
            f"unknown key usage {', '.join(unknown)}; use any of {', '.join(KEY_USAGES)}"
        )
    agreement = "key_agreement" in wanted
    if ("encipher_only" in wanted or "decipher_only" in wanted) and not agreement:
        raise ValueError("encipher_only and decipher_only need key_agreement as well")
    return x509.KeyUsage(
        digital_signature="digital_signature" in wanted,
        content_commitment="non_repudiation" in wanted,
        key_encipherment="key_encipherment" in wanted,
        data_encipherment="data_encipherment" in wanted,
        key_agreement=agreement,
        key_cert_sign="key_cert_sign" in wanted,
        crl_sign="crl_sign" in wanted,
        encipher_only="encipher_only" in wanted,
        decipher_only="decipher_only" in wanted,
    )


def _extended_key_usage(names: Iterable[str]) -> list[ObjectIdentifier]:
    oids = []
    for name in names:
        if name in _EXTENDED_KEY_USAGES:
            oids.append(_EXTENDED_KEY_USAGES[name])
        elif _DOTTED_OID.match(name):
            oids.append(ObjectIdentifier(name))
        else:
            raise ValueError(
                f"unknown extended key usage {name!r}; use a dotted OID or any of "
                f"{', '.join(_EXTENDED_KEY_USAGES)}"
            )
    return oids


def _slug(text: str) -> str:
    """ASCII path segment for a CRL URL: ``"Test CA lgsp"`` → ``"test-ca-lgsp"``."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-") or "ca"


def _name(*, common_name: str, organisation: str, unit: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, _LOCALITY),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _signing_hash(key: PrivateKey) -> hashes.SHA256:
    del key  # SHA-256 for both RSA (PKCS#1 v1.5) and ECDSA
    return hashes.SHA256()


# --------------------------------------------------------------------------------------------
# Identity


@dataclass(frozen=True)
class Identity:
    """A private key, its certificate, and the CA certificates above it (root excluded).

    ``chain`` starts with the certificate's issuer and climbs towards the root without including
    it: a verifier gets the root from its trust anchors, never from the signer.
    """

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def common_name(self) -> str:
        """The certificate's ``CN``, e.g. ``"Nguyễn Văn An"``."""
        values = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else self.certificate.subject.rfc4514_string()

    def key_pem(self, password: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted when a password is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def certificate_pem(self) -> bytes:
        """The certificate as one PEM block."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self) -> bytes:
        """The issuing CA certificates as concatenated PEM blocks (empty for a root)."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def pkcs12(self, password: bytes) -> bytes:
        """Key, certificate and chain as a PKCS#12 file (``.p12``/``.pfx``), as tokens export.

        An empty password gives an unencrypted file.
        """
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            name=self.common_name.encode("utf-8"),
            key=self.key,
            cert=self.certificate,
            cas=list(self.chain) or None,
            encryption_algorithm=encryption,
        )

    def write(
        self, folder: str | os.PathLike[str], *, password: bytes | None = None
    ) -> dict[str, Path]:
        """Write ``key.pem``, ``cert.pem``, ``chain.pem`` and ``identity.p12`` into ``folder``.

        The folder is created if needed. With ``password`` the key file and the PKCS#12 file are
        encrypted with it; without, both are unencrypted. Returns the paths under the keys
        ``"key"``, ``"certificate"``, ``"chain"`` and ``"pkcs12"``.
        """
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        files = {
            "key": (target / "key.pem", self.key_pem(password)),
            "certificate": (target / "cert.pem", self.certificate_pem()),
            "chain": (target / "chain.pem", self.chain_pem()),
            "pkcs12": (target / "identity.p12", self.pkcs12(password or b"")),
        }
        written: dict[str, Path] = {}
        for role, (path, data) in files.items():
            path.write_bytes(data)
            if role in {"key", "pkcs12"}:
                path.chmod(0o600)
            written[role] = path
        return written


# --------------------------------------------------------------------------------------------
# the PKI


@dataclass(frozen=True)
class _Revocation:
    serial_number: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


class _Authority:
    """One CA of the PKI: its identity, where its CRL lives, and what it has revoked."""

    def __init__(self, identity: Identity, crl_url: str) -> None:
        self.identity = identity
        self.crl_url = crl_url
        self.revocations: list[_Revocation] = []
        self.crl_number = 0


class TestPKI:
    """A root CA, an issuing CA under it, and subscriber certificates issued by the latter.

    Build it with :func:`make_pki`. ``now`` is the PKI's clock: every validity period and the
    CRL dates are set relative to it, so a test that pins ``now`` gets the same answers on any
    day. The presets (:meth:`signer`, :meth:`expired`, …) are made once per PKI and then returned
    again on each call.
    """

    __test__ = False  # a class whose name starts with "Test", but not a pytest test class

    def __init__(
        self,
        *,
        now: dt.datetime,
        key_type: KeyType,
        organisation: str,
    ) -> None:
        if now.utcoffset() is None:
            raise ValueError("now must carry a time zone, e.g. datetime.now(timezone.utc)")
        self.now = now.replace(microsecond=0)
        self.key_type: KeyType = key_type
        self.organisation = organisation
        self._slots: dict[str, int] = {"rsa": 0, "ec": 0}
        self._presets: dict[str, Identity] = {}
        slug = _slug(organisation)
        self.root_crl_url = f"http://crl.test.invalid/{slug}/root.crl"
        self.crl_url = f"http://crl.test.invalid/{slug}/ca.crl"

        self._root = self._make_root(organisation, self.root_crl_url)
        self._ca = self._make_intermediate(self._root, organisation, self.crl_url)
        self._other: tuple[_Authority, _Authority] | None = None

    # ---- the CAs

    @property
    def root(self) -> Identity:
        """The root CA (self-signed): the certificate a verifier puts among its trust anchors."""
        return self._root.identity

    @property
    def intermediate(self) -> Identity:
        """The issuing CA: issues every subscriber certificate and signs :meth:`crl`."""
        return self._ca.identity

    def root_pem(self) -> bytes:
        """The root CA certificate as PEM (the trust anchor)."""
        return self.root.certificate_pem()

    def intermediate_pem(self) -> bytes:
        """The issuing CA certificate as PEM."""
        return self.intermediate.certificate_pem()

    # ---- issuing

    def issue(
        self,
        common_name: str,
        *,
        key_type: KeyType = "rsa",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key_usage: Iterable[str] = ("digital_signature", "non_repudiation"),
        extended_key_usage: Iterable[str] = (),
        revoked: bool = False,
        email: str | None = None,
        organisation: str = DEFAULT_SUBSCRIBER_ORGANISATION,
    ) -> Identity:
        """A subscriber certificate issued by the intermediate CA, with a key of its own.

        Validity defaults to ``now - 30 days`` … ``now + 2 years``. ``key_usage`` takes the
        RFC 5280 names (``digital_signature``, ``non_repudiation``, ``key_encipherment``, …);
        ``extended_key_usage`` takes names (``email_protection``, ``client_auth``,
        ``document_signing``, …) or dotted OIDs. ``revoked=True`` puts the certificate on the
        intermediate's CRL as revoked one day before ``now`` for key compromise.
        """
        return self._issue(
            self._ca,
            common_name,
            key_type=key_type,
            not_before=not_before,
            not_after=not_after,
            key_usage=key_usage,
            extended_key_usage=extended_key_usage,
            revoked=revoked,
            email=email,
            organisation=organisation,
        )

    # ---- presets

    def signer(self) -> Identity:
        """A valid RSA signer with digitalSignature + nonRepudiation (the ordinary case)."""
        return self._preset(
            "signer",
            lambda: self._issue(
                self._ca,
                "Nguyễn Văn An",
                unit="Văn phòng",
                email="nguyenvanan@thunghiem.test",
            ),
        )

    def ec_signer(self) -> Identity:
        """A valid signer with an ECDSA P-256 key."""
        return self._preset(
            "ec_signer",
            lambda: self._issue(self._ca, "Trần Thị Bình", unit="Sở Tư pháp", key_type="ec"),
        )

    def expired(self) -> Identity:
        """A signer whose validity ended 30 days before ``now`` (it began 2 years before that)."""
        return self._preset(
            "expired",
            lambda: self._issue(
                self._ca,
                "Lê Văn Cường",
                not_before=self.now - dt.timedelta(days=760),
                not_after=self.now - dt.timedelta(days=30),
            ),
        )

    def not_yet_valid(self) -> Identity:
        """A signer whose validity starts 30 days after ``now``."""
        return self._preset(
            "not_yet_valid",
            lambda: self._issue(
                self._ca,
                "Phạm Thị Dung",
                not_before=self.now + dt.timedelta(days=30),
                not_after=self.now + dt.timedelta(days=760),
            ),
        )

    def revoked(self) -> Identity:
        """A signer revoked one day before ``now`` (key compromise); :meth:`crl` lists it."""
        return self._preset(
            "revoked", lambda: self._issue(self._ca, "Hoàng Minh Đức", revoked=True)
        )

    def wrong_usage(self) -> Identity:
        """A certificate for key encipherment only: it may not sign documents."""
        return self._preset(
            "wrong_usage",
            lambda: self._issue(
                self._ca, "Văn thư Sở Nội vụ", unit="Văn thư", key_usage=("key_encipherment",)
            ),
        )

    def untrusted(self) -> Identity:
        """A valid-looking signer from a second, separate root that nobody trusts.

        Its ``chain`` holds that other PKI's intermediate (not its root).
        """
        return self._preset(
            "untrusted",
            lambda: self._issue(
                self._other_authorities()[1], "Đỗ Thị Hạnh", organisation="Công ty Mạo Danh"
            ),
        )

    def untrusted_root(self) -> Identity:
        """The separate root above :meth:`untrusted` — to trust it deliberately in a test."""
        return self._other_authorities()[0].identity

    # ---- revocation lists

    def crl(self, *, next_update: dt.datetime | None = None) -> x509.CertificateRevocationList:
        """The intermediate CA's CRL, listing every certificate it issued with ``revoked=True``.

        The :meth:`revoked` preset is always on it (it is made first if needed). ``thisUpdate``
        is one hour before ``now``; ``nextUpdate`` defaults to ``now + 7 days``.
        """
        self.revoked()
        return self._crl(self._ca, next_update)

    def crl_der(self, *, next_update: dt.datetime | None = None) -> bytes:
        """:meth:`crl` as DER, as a CRL distribution point serves it."""
        return self.crl(next_update=next_update).public_bytes(serialization.Encoding.DER)

    def root_crl(self, *, next_update: dt.datetime | None = None) -> x509.CertificateRevocationList:
        """The root CA's CRL (empty: the intermediate is in good standing).

        The intermediate's certificate names it as its CRL distribution point, so a verifier that
        requires revocation information for CA certificates which declare it needs this one too.
        """
        return self._crl(self._root, next_update)

    def root_crl_der(self, *, next_update: dt.datetime | None = None) -> bytes:
        """:meth:`root_crl` as DER."""
        return self.root_crl(next_update=next_update).public_bytes(serialization.Encoding.DER)

    def crls(self) -> list[x509.CertificateRevocationList]:
        """Both CRLs, the intermediate's first: all the revocation information of the PKI."""
        return [self.crl(), self.root_crl()]

    # ---- internals

    def _next_key(self, key_type: KeyType) -> PrivateKey:
        slot = self._slots[key_type]
        self._slots[key_type] = slot + 1
        return _pooled_key(key_type, slot)

    def _preset(self, name: str, make: Callable[[], Identity]) -> Identity:
        cached = self._presets.get(name)
        if cached is None:
            cached = make()
            self._presets[name] = cached
        return cached

    def _make_root(self, organisation: str, crl_url: str) -> _Authority:
        key = self._next_key(self.key_type)
        name = _name(common_name=f"{organisation} Root", organisation=organisation)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=5 * 365))
            .not_valid_after(self.now + dt.timedelta(days=15 * 365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(("key_cert_sign", "crl_sign")), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
            .sign(key, _signing_hash(key))
        )
        return _Authority(Identity(key=key, certificate=certificate), crl_url)

    def _make_intermediate(self, root: _Authority, organisation: str, crl_url: str) -> _Authority:
        key = self._next_key(self.key_type)
        issuer = root.identity
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name=organisation, organisation=organisation))
            .issuer_name(issuer.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=3 * 365))
            .not_valid_after(self.now + dt.timedelta(days=10 * 365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(("key_cert_sign", "crl_sign")), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(_aki(issuer), critical=False)
            .add_extension(_distribution_points(root.crl_url), critical=False)
            .sign(issuer.key, _signing_hash(issuer.key))
        )
        return _Authority(Identity(key=key, certificate=certificate), crl_url)

    def _other_authorities(self) -> tuple[_Authority, _Authority]:
        if self._other is None:
            organisation = "CA Ngoài Danh Sách"
            slug = _slug(f"{self.organisation} other")
            root = self._make_root(organisation, f"http://crl.test.invalid/{slug}/root.crl")
            ca = self._make_intermediate(
                root, organisation, f"http://crl.test.invalid/{slug}/ca.crl"
            )
            self._other = (root, ca)
        return self._other

    def _issue(
        self,
        authority: _Authority,
        common_name: str,
        *,
        key_type: KeyType = "rsa",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key_usage: Iterable[str] = ("digital_signature", "non_repudiation"),
        extended_key_usage: Iterable[str] = (),
        revoked: bool = False,
        email: str | None = None,
        organisation: str = DEFAULT_SUBSCRIBER_ORGANISATION,
        unit: str | None = None,
    ) -> Identity:
        if key_type not in ("rsa", "ec"):
            raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")
        start = not_before or self.now - dt.timedelta(days=30)
        end = not_after or self.now + dt.timedelta(days=2 * 365)
        if end <= start:
            raise ValueError(f"not_after ({end}) must come after not_before ({start})")
        issuer = authority.identity
        key = self._next_key(key_type)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name=common_name, organisation=organisation, unit=unit))
            .issuer_name(issuer.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(key_usage), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(_aki(issuer), critical=False)
            .add_extension(_distribution_points(authority.crl_url), critical=False)
        )
        usages = _extended_key_usage(extended_key_usage)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
            )
        certificate = builder.sign(issuer.key, _signing_hash(issuer.key))
        if revoked:
            authority.revocations.append(
                _Revocation(
                    certificate.serial_number,
                    self.now - dt.timedelta(days=1),
                    x509.ReasonFlags.key_compromise,
                )
            )
        # Subscribers are issued by an intermediate; the root stays out of the chain.
        return Identity(key=key, certificate=certificate, chain=(issuer.certificate,))

    def _crl(
        self, authority: _Authority, next_update: dt.datetime | None
    ) -> x509.CertificateRevocationList:
        issuer = authority.identity
        authority.crl_number += 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.certificate.subject)
            .last_update(self.now - dt.timedelta(hours=1))
            .next_update(next_update or self.now + dt.timedelta(days=7))
            .add_extension(x509.CRLNumber(authority.crl_number), critical=False)
            .add_extension(_aki(issuer), critical=False)
        )
        for entry in authority.revocations:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial_number)
                .revocation_date(entry.revoked_at)
                .add_extension(x509.CRLReason(entry.reason), critical=False)
                .build()
            )
        return builder.sign(issuer.key, _signing_hash(issuer.key))


def _aki(issuer: Identity) -> x509.AuthorityKeyIdentifier:
    ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def _distribution_points(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def make_pki(
    *,
    now: dt.datetime | None = None,
    key_type: KeyType = "rsa",
    organisation: str = "Test CA lgsp",
) -> TestPKI:
    """A fresh test PKI: root ``"{organisation} Root"`` and issuing CA ``"{organisation}"``.

    ``now`` (default: the current time, UTC) anchors every date; ``key_type`` is the CAs' key
    type (subscriber keys are chosen per :meth:`TestPKI.issue`). Keys come from the per-process
    pool, so a second PKI in the same run costs no key generation.
    """
    if key_type not in ("rsa", "ec"):
        raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return TestPKI(now=moment, key_type=key_type, organisation=organisation)
