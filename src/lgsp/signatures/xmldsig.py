"""XML-DSig signing of edXML packages, in the modern form.

lgsp writes the signature in the XML-DSig namespace, where QCVN 102 puts it, with exclusive
C14N and RSA-SHA256 by default (ECDSA P-256 and RSA-PSS on request), the certificate and chain
in KeyInfo; never SHA-1. Keys are held by a :class:`~lgsp.signatures.Signer`; two-phase
signing (browser tokens) goes through :func:`prepare_signature` and
:func:`complete_signature`. Verification: :mod:`lgsp.signatures.verification`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from lgsp._xml import DEFAULT_LIMITS, XMLLimits, parse_whole
from lgsp.errors import PackageError, SignatureError
from lgsp.signatures._dsig import (
    _DIGEST_INFO,
    _DS,
    _Q,
    SignSource,
    _b64,
    _c14n_subtree,
    _document_digest,
    _header,
    _load,
    _serialise,
    _signatures,
)
from lgsp.signatures.algorithms import (
    DIGEST_FOR,
    DSIG_NS,
    ENVELOPED,
    EXC_C14N,
    SIGNATURES,
    SIGNING_ALGORITHMS,
    SignatureAlgorithm,
    SigningAlgorithm,
)
from lgsp.signatures.signers import KeySigner, Signer, check_signature_value, digest_of

__all__ = ["PreparedSignature", "complete_signature", "prepare_signature", "sign_package"]


class PreparedSignature:
    """A package with its signature ready but for the value: the first phase of two-phase
    signing (browser tokens, remote services). Hand :attr:`signed_info` (or :attr:`digest`,
    or :attr:`digest_info` for tokens that sign a raw PKCS#1 block) to whoever holds the key,
    then :meth:`complete` with the value they return. :attr:`document` is the prepared
    package as bytes, for completing later in another process (:func:`complete_signature`).
    """

    def __init__(
        self,
        root: etree._Element,
        signature: etree._Element,
        signed_info: bytes,
        algorithm: SignatureAlgorithm,
        certificate: x509.Certificate,
    ) -> None:
        self._root = root
        self._signature = signature
        self.signed_info = signed_info
        """The canonical SignedInfo: the exact bytes the signature value signs."""
        self.algorithm: SigningAlgorithm = algorithm.name  # type: ignore[assignment]
        self._alg = algorithm
        self.certificate = certificate
        self.digest = digest_of(signed_info, algorithm.hash)
        """The hash of :attr:`signed_info` (what a token signs when it hashes nothing)."""

    @property
    def digest_info(self) -> bytes | None:
        """DER DigestInfo of :attr:`digest` for raw RSA PKCS#1 v1.5 signing; None otherwise."""
        if self._alg.family != "rsa":
            return None
        return _DIGEST_INFO[self._alg.hash] + self.digest

    @property
    def document(self) -> bytes:
        """The prepared package (empty SignatureValue) as bytes."""
        return _serialise(self._root)

    def complete(self, value: bytes, *, check: bool = True) -> bytes:
        """Put the signature value in and return the signed package; the value is checked
        against the certificate first, so a wrong key or a mangled value never ships.
        (``check=False`` is for values this process just made with the certificate's own
        key, which :class:`KeySigner` guarantees.)"""
        if check and not check_signature_value(
            self.certificate, value, self.signed_info, self._alg
        ):
            raise SignatureError(
                "the signature value does not verify with the certificate "
                f"{self.certificate.subject.rfc4514_string()}: wrong key, wrong algorithm "
                "or a damaged value"
            )
        node = self._signature.find(_DS + "SignatureValue")
        assert node is not None  # noqa: S101 - made by prepare_signature
        node.text = base64.b64encode(value).decode("ascii")
        return _serialise(self._root)


def prepare_signature(
    source: SignSource,
    *,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    algorithm: SigningAlgorithm = "rsa-sha256",
    replace: bool = False,
    name: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
) -> PreparedSignature:
    """Insert an unsigned XML-DSig signature where QCVN 102 puts it and compute what to sign.

    ``source`` is a package (model, bytes, path or file). A package already signed raises
    SignatureError unless ``replace`` is true. SHA-1 cannot be chosen.
    """
    alg = SIGNING_ALGORITHMS.get(algorithm)
    if alg is None:
        raise SignatureError(
            f"lgsp does not sign with {algorithm!r}; choose one of "
            f"{', '.join(sorted(SIGNING_ALGORITHMS))}"
        )
    root, _label = _load(source, name, limits)
    header = _header(root)
    existing = _signatures(root)
    if existing and not replace:
        raise SignatureError("the package is already signed; pass replace=True to re-sign it")
    for old in existing:
        parent = old.getparent()
        if parent is not None:
            # lxml's remove() takes the tail text along: hand it to the node before.
            previous = old.getprevious()
            if previous is not None:
                previous.tail = old.tail
            else:
                parent.text = (parent.text or "") + (old.tail or "") or None
            parent.remove(old)
    anchor = header.find(_Q + "TraceHeaderList")
    if anchor is None:
        anchor = header.find(_Q + "MessageHeader")
    if anchor is None:
        raise PackageError("the package has no MessageHeader to sign")
    signature = etree.Element(_DS + "Signature", nsmap={None: DSIG_NS})  # type: ignore[dict-item]
    signature.tail = anchor.tail
    anchor.addnext(signature)
    signed_info = etree.SubElement(signature, _DS + "SignedInfo")
    etree.SubElement(signed_info, _DS + "CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _DS + "SignatureMethod", Algorithm=alg.uri)
    reference = etree.SubElement(signed_info, _DS + "Reference", URI="")
    transforms = etree.SubElement(reference, _DS + "Transforms")
    etree.SubElement(transforms, _DS + "Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, _DS + "Transform", Algorithm=EXC_C14N)
    digest_alg = DIGEST_FOR[alg.hash]
    etree.SubElement(reference, _DS + "DigestMethod", Algorithm=digest_alg.uri)
    digest_value = etree.SubElement(reference, _DS + "DigestValue")
    etree.SubElement(signature, _DS + "SignatureValue")
    x509_data = etree.SubElement(etree.SubElement(signature, _DS + "KeyInfo"), _DS + "X509Data")
    for cert in (certificate, *chain):
        etree.SubElement(x509_data, _DS + "X509Certificate").text = base64.b64encode(
            cert.public_bytes(serialization.Encoding.DER)
        ).decode("ascii")
    digest = _document_digest(root, signature, exclusive=True, hash_type=digest_alg.hash)
    digest_value.text = base64.b64encode(digest).decode("ascii")
    canonical = _c14n_subtree(signed_info, exclusive=True, with_comments=False)
    return PreparedSignature(root, signature, canonical, alg, certificate)


def complete_signature(prepared_document: bytes, value: bytes) -> bytes:
    """Complete a prepared package (:attr:`PreparedSignature.document`) with a signature
    value made elsewhere, e.g. by a browser token after a round trip."""
    root = parse_whole(prepared_document)
    found = [s for s in _signatures(root) if s.tag == _DS + "Signature"]
    if len(found) != 1:
        raise SignatureError("a prepared package holds exactly one XML-DSig Signature")
    signature = found[0]
    signed_info = signature.find(_DS + "SignedInfo")
    method = signed_info.find(_DS + "SignatureMethod") if signed_info is not None else None
    cert_node = signature.find(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
    alg = SIGNATURES.get(method.get("Algorithm", "")) if method is not None else None
    if signed_info is None or alg is None or alg.legacy or cert_node is None:
        raise SignatureError("the prepared package's signature is incomplete or not lgsp's")
    certificate = x509.load_der_x509_certificate(_b64(cert_node.text))
    canonical = _c14n_subtree(signed_info, exclusive=True, with_comments=False)
    return PreparedSignature(root, signature, canonical, alg, certificate).complete(value)


def sign_package(
    source: SignSource,
    signer: Signer,
    *,
    algorithm: SigningAlgorithm | None = None,
    replace: bool = False,
    name: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
) -> bytes:
    """Sign a package and return its bytes. ``algorithm`` defaults to the signer's own
    (RSA-SHA256 for RSA keys, ECDSA-SHA256 for EC keys)."""
    chosen: SigningAlgorithm = algorithm or (
        signer.default_algorithm if isinstance(signer, KeySigner) else "rsa-sha256"
    )
    prepared = prepare_signature(
        source,
        certificate=signer.certificate,
        chain=signer.chain,
        algorithm=chosen,
        replace=replace,
        name=name,
        limits=limits,
    )
    # A KeySigner's key is checked against its certificate when it is built; any other signer
    # (a token, an HSM, a service) has its value verified before the package is returned.
    return prepared.complete(
        signer.sign(prepared.signed_info, chosen), check=not isinstance(signer, KeySigner)
    )


# ------------------------------------------------------------------------------ verifying
