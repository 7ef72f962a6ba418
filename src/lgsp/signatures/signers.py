"""Who signs: a protocol any key holder can implement, and in-memory keys.

A :class:`Signer` gives its certificate (and chain) and signs bytes. lgsp never needs the key
itself, so a USB token (PKCS#11), an HSM or a remote signing service implements the same three
members. For flows where the signature is made elsewhere and later — the browser-token
signing common in Vietnam — see :func:`lgsp.signatures.prepare_signature`.

Keys are loaded once: loading an RSA key from PEM costs ~60 ms with the default checks, so a
:class:`KeySigner` is built once and reused for every package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import pkcs12

from lgsp.errors import SignatureError
from lgsp.signatures.algorithms import SIGNING_ALGORITHMS, SignatureAlgorithm, SigningAlgorithm
from lgsp.signatures.trust import load_certificates

__all__ = [
    "KeySigner",
    "Signer",
    "check_signature_value",
    "ecdsa_der_to_raw",
    "ecdsa_raw_to_der",
]


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign: a key in memory, a token, an HSM, a remote service."""

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's certificate (its public key must match the signing key)."""
        ...

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """Issuing CA certificates to carry in KeyInfo (issuer first); may be empty."""
        ...

    def sign(self, data: bytes, algorithm: SigningAlgorithm) -> bytes:
        """Sign ``data`` (canonical SignedInfo) and return the signature value as XML-DSig
        carries it: PKCS#1 v1.5 or PSS bytes for RSA, ``r‖s`` for ECDSA (see
        :func:`ecdsa_der_to_raw` for devices that return DER)."""
        ...


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class KeySigner:
    """An in-memory private key with its certificate and chain. Build once, reuse."""

    def __init__(
        self,
        key: PrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SignatureError("only RSA and EC (ECDSA) keys can sign edXML packages")
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
            raise SignatureError(
                "the private key does not match the certificate "
                f"({certificate.subject.rfc4514_string()})"
            )
        self._key = key
        self._certificate = certificate
        self._chain = tuple(chain)

    @classmethod
    def from_pem(
        cls,
        key: bytes | str | os.PathLike[str],
        certificate: bytes | str | os.PathLike[str],
        *,
        chain: Sequence[bytes | str | os.PathLike[str]] = (),
        password: bytes | None = None,
    ) -> KeySigner:
        """From PEM bytes or files: a key, its certificate, and any chain files."""
        key_pem = Path(key).read_bytes() if isinstance(key, str | os.PathLike) else key
        try:
            private = serialization.load_pem_private_key(key_pem, password=password)
        except (ValueError, TypeError) as exc:
            raise SignatureError(f"cannot load the private key: {exc}") from exc
        certs = load_certificates(_as_source(certificate))
        extra = [c for item in chain for c in load_certificates(_as_source(item))]
        return cls(private, certs[0], [*certs[1:], *extra])  # type: ignore[arg-type]

    @classmethod
    def from_pkcs12(
        cls, data: bytes | str | os.PathLike[str], password: bytes | None = None
    ) -> KeySigner:
        """From a PKCS#12 (.p12 / .pfx) file or bytes, as CAs in Vietnam hand them out."""
        raw = Path(data).read_bytes() if isinstance(data, str | os.PathLike) else data
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(raw, password)
        except (ValueError, TypeError) as exc:
            raise SignatureError(f"cannot open the PKCS#12 file: {exc}") from exc
        if key is None or cert is None:
            raise SignatureError("the PKCS#12 file holds no key and certificate pair")
        return cls(key, cert, extra or ())  # type: ignore[arg-type]

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        return self._chain

    @property
    def default_algorithm(self) -> SigningAlgorithm:
        """RSA-SHA256 for RSA keys, ECDSA-SHA256 for EC keys."""
        return "ecdsa-sha256" if isinstance(self._key, ec.EllipticCurvePrivateKey) else "rsa-sha256"

    def sign(self, data: bytes, algorithm: SigningAlgorithm) -> bytes:
        alg = _signing(algorithm)
        key = self._key
        if alg.family == "ecdsa":
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise SignatureError(f"{algorithm} needs an EC key; this signer holds RSA")
            der = key.sign(data, ec.ECDSA(alg.hash()))
            return ecdsa_der_to_raw(der, key.curve.key_size)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SignatureError(f"{algorithm} needs an RSA key; this signer holds EC")
        return key.sign(data, _rsa_padding(alg), alg.hash())


def _as_source(item: bytes | str | os.PathLike[str]) -> bytes | str | Path:
    """A path-like as a Path (a str is a path here too: PEM text would start with '-')."""
    if isinstance(item, bytes):
        return item
    return Path(item)


def _signing(name: str) -> SignatureAlgorithm:
    alg = SIGNING_ALGORITHMS.get(name)
    if alg is None:
        known = ", ".join(sorted(SIGNING_ALGORITHMS))
        raise SignatureError(f"lgsp does not sign with {name!r}; choose one of {known}")
    return alg


def _rsa_padding(alg: SignatureAlgorithm) -> padding.AsymmetricPadding:
    if alg.family == "rsa-pss":
        digest = alg.hash()
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    return padding.PKCS1v15()


def ecdsa_der_to_raw(der: bytes, key_size: int) -> bytes:
    """DER ECDSA signature → the ``r‖s`` form XML-DSig carries."""
    r, s = decode_dss_signature(der)
    size = (key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecdsa_raw_to_der(raw: bytes) -> bytes:
    """``r‖s`` → DER, for verification with cryptography."""
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def check_signature_value(
    certificate: x509.Certificate, value: bytes, data: bytes, alg: SignatureAlgorithm
) -> bool:
    """True when ``value`` is a signature of ``data`` by the certificate's key."""
    key = certificate.public_key()
    try:
        if alg.family == "ecdsa":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            key.verify(ecdsa_raw_to_der(value), data, ec.ECDSA(alg.hash()))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(value, data, _rsa_padding(alg), alg.hash())
    except (InvalidSignature, ValueError):
        return False
    return True


def digest_of(data: bytes, hash_type: type[hashes.HashAlgorithm]) -> bytes:
    """The hash of ``data`` with the given algorithm."""
    h = hashes.Hash(hash_type())
    h.update(data)
    return h.finalize()
