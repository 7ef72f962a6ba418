"""XML-DSig algorithm identifiers: what lgsp writes, what it reads, and under which policy.

lgsp signs with RSA-SHA256 by default, ECDSA P-256 or RSA-PSS on request, and never with
SHA-1. It reads the legacy form real VXP traffic carries — RSA-SHA1 and SHA-1 digests, and the
misspelt exclusive-C14N URI ``http://www.w3.org/TR/xml-exc-c14n#`` of the official kit — only
under the ``interop`` policy, and marks such a result as legacy.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

from cryptography.hazmat.primitives import hashes

__all__ = [
    "C14N",
    "C14N_COMMENTS",
    "DIGESTS",
    "DSIG_NS",
    "ENVELOPED",
    "EXC_C14N",
    "EXC_C14N_COMMENTS",
    "LEGACY_EXC_C14N",
    "SIGNATURES",
    "SIGNING_ALGORITHMS",
    "DigestAlgorithm",
    "Policy",
    "SignatureAlgorithm",
    "SigningAlgorithm",
    "canonicalization",
]

Policy = Literal["strict", "interop"]
"""``strict`` refuses SHA-1 and the legacy forms; ``interop`` (the default) accepts them and
marks the result as legacy."""

SigningAlgorithm = Literal[
    "rsa-sha256", "rsa-sha384", "rsa-sha512", "ecdsa-sha256", "rsa-pss-sha256"
]
"""The algorithms lgsp signs with. SHA-1 is not among them."""

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_ENC = "http://www.w3.org/2001/04/xmlenc#"
_MORE_2007 = "http://www.w3.org/2007/05/xmldsig-more#"

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_COMMENTS = C14N + "#WithComments"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = EXC_C14N + "WithComments"
LEGACY_EXC_C14N = "http://www.w3.org/TR/xml-exc-c14n#"
"""The URI the VXP kit's samples use for exclusive C14N: not a registered algorithm."""
ENVELOPED = DSIG_NS + "enveloped-signature"


def canonicalization(uri: str, policy: Policy) -> tuple[bool, bool] | None:
    """(exclusive, with_comments) for a canonicalization URI the policy accepts, else None."""
    table = {
        C14N: (False, False),
        C14N_COMMENTS: (False, True),
        EXC_C14N: (True, False),
        EXC_C14N_COMMENTS: (True, True),
    }
    if policy == "interop":
        table[LEGACY_EXC_C14N] = (True, False)
    return table.get(uri)


@dataclasses.dataclass(frozen=True, slots=True)
class DigestAlgorithm:
    """A digest method: its URI, hash, and whether it is legacy (SHA-1)."""

    uri: str
    name: str
    hash: type[hashes.HashAlgorithm]
    legacy: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureAlgorithm:
    """A signature method: key family, hash, padding, and whether it is legacy (SHA-1)."""

    uri: str
    name: str
    family: Literal["rsa", "rsa-pss", "ecdsa"]
    hash: type[hashes.HashAlgorithm]
    legacy: bool = False


DIGESTS: dict[str, DigestAlgorithm] = {
    d.uri: d
    for d in (
        DigestAlgorithm(DSIG_NS + "sha1", "sha1", hashes.SHA1, legacy=True),
        DigestAlgorithm(_ENC + "sha256", "sha256", hashes.SHA256),
        DigestAlgorithm(_MORE + "sha384", "sha384", hashes.SHA384),
        DigestAlgorithm(_ENC + "sha512", "sha512", hashes.SHA512),
    )
}

SIGNATURES: dict[str, SignatureAlgorithm] = {
    s.uri: s
    for s in (
        SignatureAlgorithm(DSIG_NS + "rsa-sha1", "rsa-sha1", "rsa", hashes.SHA1, legacy=True),
        SignatureAlgorithm(_MORE + "rsa-sha256", "rsa-sha256", "rsa", hashes.SHA256),
        SignatureAlgorithm(_MORE + "rsa-sha384", "rsa-sha384", "rsa", hashes.SHA384),
        SignatureAlgorithm(_MORE + "rsa-sha512", "rsa-sha512", "rsa", hashes.SHA512),
        SignatureAlgorithm(_MORE + "ecdsa-sha256", "ecdsa-sha256", "ecdsa", hashes.SHA256),
        SignatureAlgorithm(_MORE + "ecdsa-sha384", "ecdsa-sha384", "ecdsa", hashes.SHA384),
        SignatureAlgorithm(_MORE + "ecdsa-sha512", "ecdsa-sha512", "ecdsa", hashes.SHA512),
        # RFC 6931: RSASSA-PSS with MGF1 of the same hash, salt as long as the hash.
        SignatureAlgorithm(
            _MORE_2007 + "sha256-rsa-MGF1", "rsa-pss-sha256", "rsa-pss", hashes.SHA256
        ),
    )
}

SIGNING_ALGORITHMS: dict[str, SignatureAlgorithm] = {
    s.name: s for s in SIGNATURES.values() if not s.legacy and s.name in get_args(SigningAlgorithm)
}
"""Signing algorithms by name (``rsa-sha256`` …); SHA-1 cannot be chosen."""

DIGEST_FOR: dict[type[hashes.HashAlgorithm], DigestAlgorithm] = {
    d.hash: d for d in DIGESTS.values() if not d.legacy
}
"""The digest method that goes with a signing algorithm's hash."""
