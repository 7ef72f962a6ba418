"""Signature envelopes: XML-DSig on edXML packages, PAdES on PDF attachments, trust.

Sign with :func:`sign_package` and a :class:`Signer` (in-memory :class:`KeySigner`, or your
own for a token, an HSM or a remote service); two-phase with :func:`prepare_signature` and
:func:`complete_signature`. Verify with :func:`verify_package`, which returns what it
found; trust is checked against the anchors of a :class:`TrustSettings`, never the operating
system's store. PDF attachments: :mod:`lgsp.signatures.pdf` (pyHanko).
"""

from lgsp.signatures.algorithms import Policy, SigningAlgorithm
from lgsp.signatures.signers import KeySigner, Signer
from lgsp.signatures.trust import (
    RevocationFetcher,
    TrustResult,
    TrustSettings,
    load_certificates,
    load_crl,
    validate_certificate,
)
from lgsp.signatures.verification import (
    CertificateInfo,
    VerificationResult,
    check_package_signature,
    verify_package,
)
from lgsp.signatures.xmldsig import (
    PreparedSignature,
    complete_signature,
    prepare_signature,
    sign_package,
)

__all__ = [
    "CertificateInfo",
    "KeySigner",
    "Policy",
    "PreparedSignature",
    "RevocationFetcher",
    "Signer",
    "SigningAlgorithm",
    "TrustResult",
    "TrustSettings",
    "VerificationResult",
    "check_package_signature",
    "complete_signature",
    "load_certificates",
    "load_crl",
    "prepare_signature",
    "sign_package",
    "validate_certificate",
    "verify_package",
]
