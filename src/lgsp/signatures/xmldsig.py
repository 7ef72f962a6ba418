"""XML-DSig on edXML packages: sign (modern form), verify (modern and legacy forms).

QCVN 102 puts one enveloped signature in ``edXMLHeader``, after ``TraceHeaderList`` (after
``MessageHeader`` in a status package), with ``Reference URI=""``: it covers the whole package
but itself. lgsp writes it in the XML-DSig namespace with exclusive C14N and RSA-SHA256 by
default. Real traffic writes it un-namespaced (so in the QCVN 102 namespace), with RSA-SHA1,
SHA-1 and the kit's misspelt exclusive-C14N URI; the ``interop`` policy reads that form and
marks the result as legacy, the ``strict`` policy refuses it.

Verification is built against signature wrapping: a package carries exactly one
``Signature``, in its place, over exactly one ``Reference URI=""`` with only the enveloped and
canonicalization transforms; one envelope, one header, one ``MessageHeader`` in the whole
document; no comments inside the signature; and the package a caller reads afterwards is
mapped from the very tree whose digest was checked.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import datetime as dt
import functools
import hmac
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree
from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field

from lgsp._xml import DEFAULT_LIMITS, XMLLimits, parse_whole
from lgsp.documents.models import DocumentPackage, StatusPackage, parse_timestamp
from lgsp.documents.reader import EDXML_NS, package_from_tree
from lgsp.documents.writer import package_to_bytes
from lgsp.errors import PackageError, SignatureError
from lgsp.signatures.algorithms import (
    DIGEST_FOR,
    DIGESTS,
    DSIG_NS,
    ENVELOPED,
    EXC_C14N,
    SIGNATURES,
    SIGNING_ALGORITHMS,
    DigestAlgorithm,
    Policy,
    SignatureAlgorithm,
    SigningAlgorithm,
    canonicalization,
)
from lgsp.signatures.signers import KeySigner, Signer, check_signature_value, digest_of
from lgsp.signatures.trust import TrustResult, TrustSettings, validate_certificate

__all__ = [
    "COVERS_WHOLE_PACKAGE",
    "CertificateInfo",
    "PreparedSignature",
    "VerificationResult",
    "check_package_signature",
    "complete_signature",
    "prepare_signature",
    "sign_package",
    "verify_package",
]

_DS = "{" + DSIG_NS + "}"
_Q = "{" + EDXML_NS + "}"
COVERS_WHOLE_PACKAGE = 'the whole package except the Signature element (enveloped, URI="")'

SignSource = bytes | str | os.PathLike[str] | IO[bytes] | DocumentPackage | StatusPackage

# DER DigestInfo prefixes (RFC 8017 §9.2) for tokens that sign a pre-computed digest raw.
_DIGEST_INFO = {
    hashes.SHA256: bytes.fromhex("3031300d060960864801650304020105000420"),
    hashes.SHA384: bytes.fromhex("3041300d060960864801650304020205000430"),
    hashes.SHA512: bytes.fromhex("3051300d060960864801650304020305000440"),
}


# --------------------------------------------------------------------------------- helpers
def _load(
    source: SignSource, name: str | None, limits: XMLLimits
) -> tuple[etree._Element, str | None]:
    if isinstance(source, DocumentPackage | StatusPackage):
        return parse_whole(package_to_bytes(source), source=name, limits=limits), name
    if isinstance(source, bytes | bytearray | memoryview):
        return parse_whole(bytes(source), source=name, limits=limits), name
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PackageError(
                f"cannot read the file: {exc.strerror or exc}", source=label
            ) from exc
        return parse_whole(data, source=label, limits=limits), label
    return parse_whole(source.read(), source=name, limits=limits), name


def _c14n_subtree(el: etree._Element, *, exclusive: bool, with_comments: bool) -> bytes:
    """Canonical form of an element as a document subset (SignedInfo).

    Exclusive C14N renders only the namespaces an element visibly uses: lxml's own subtree
    canonicalisation gets that right. Inclusive C14N renders every namespace in scope on the
    apex, and lxml's subtree form mis-renders inherited default namespaces (a stray
    ``xmlns=""``), so the element is re-rooted with every namespace in scope declared on it —
    its own prefix listed first, so that where two prefixes share one URI (``edXML:`` and the
    default namespace in edXML packages) it keeps the one it had — and the inherited
    ``xml:*`` attributes copied onto it."""
    if exclusive:
        return etree.tostring(el, method="c14n", exclusive=True, with_comments=with_comments)
    attrib: dict[str, str] = {str(k): str(v) for k, v in el.attrib.items()}
    for ancestor in el.iterancestors():
        for key, value in ancestor.attrib.items():
            name = str(key)
            if name.startswith("{http://www.w3.org/XML/1998/namespace}") and name not in attrib:
                attrib[name] = str(value)
    in_scope: dict[str | None, str] = dict(el.nsmap)
    ordered: dict[str | None, str] = {}
    if el.prefix in in_scope:
        ordered[el.prefix] = in_scope.pop(el.prefix)
    ordered.update(in_scope)
    root = etree.Element(el.tag, attrib=attrib, nsmap=cast(Any, ordered))  # stubs: no None key
    root.text = el.text
    for child in el:
        root.append(copy.deepcopy(child))  # tails come along
    return etree.tostring(root, method="c14n", exclusive=False, with_comments=with_comments)


_MARK = "lgsp-enveloped-mark"


def _document_digest(
    root: etree._Element,
    signature: etree._Element,
    *,
    exclusive: bool,
    hash_type: type[hashes.HashAlgorithm],
) -> bytes:
    """The digest of :func:`_document_octets`, hashed in pieces: no copy of a large package."""
    octets, start, end = _document_octets(root, signature, exclusive=exclusive)
    view = memoryview(octets)
    h = hashes.Hash(hash_type())
    h.update(view[:start])
    h.update(view[end:])
    return h.finalize()


def _document_octets(
    root: etree._Element, signature: etree._Element, *, exclusive: bool
) -> tuple[bytes, int, int]:
    """The enveloped-signature transform, then C14N without comments (URI="" excludes them).

    The signature is not taken out of the tree: detaching and re-attaching a node makes lxml
    reconcile namespaces, and where two prefixes share a URI (``edXML:`` and the default
    namespace in every edXML package) it may re-prefix the legacy Signature. Instead the
    Signature is marked with a temporary attribute, the whole document canonicalised, and
    the span of the Signature's own canonical bytes returned, to be left out — the text
    around it stays, as the transform requires."""
    token = os.urandom(12).hex()  # unpredictable: no content can forge the marker
    signature.set(_MARK, token)
    try:
        octets = etree.tostring(
            root.getroottree(), method="c14n", exclusive=exclusive, with_comments=False
        )
    finally:
        del signature.attrib[_MARK]
    marker = f' {_MARK}="{token}"'.encode("ascii")
    at = octets.find(marker)
    start = octets.rfind(b"<", 0, at)
    qname = (f"{signature.prefix}:Signature" if signature.prefix else "Signature").encode()
    close = b"</" + qname + b">"
    end = octets.find(close, at)
    if at < 0 or start < 0 or end < 0:  # pragma: no cover - the census guarantees one element
        raise SignatureError("cannot locate the Signature in the canonical document")
    return octets, start, end + len(close)


def _b64(text: str | None) -> bytes:
    raw = "".join((text or "").split())
    try:
        return binascii.a2b_base64(raw.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not valid Base64: {exc}") from exc


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def _header(root: etree._Element) -> etree._Element:
    if root.tag != _Q + "edXML":
        raise PackageError(f"root element is {root.tag!r}, not an edXML package")
    envelopes = list(root.iterchildren(_Q + "edXMLEnvelope"))
    headers = list(envelopes[0].iterchildren(_Q + "edXMLHeader")) if len(envelopes) == 1 else []
    if len(headers) != 1:
        raise PackageError("a package to sign has one edXMLEnvelope holding one edXMLHeader")
    return headers[0]


_WATCHED = ("{*}Signature", "{*}edXMLEnvelope", "{*}edXMLHeader", "{*}MessageHeader")


def _census(root: etree._Element) -> tuple[list[etree._Element], dict[str, int]]:
    """Every Signature element (any namespace or none) and how many envelopes, headers and
    MessageHeaders the document holds — one pass in C over the whole tree."""
    signatures: list[etree._Element] = []
    counts = {"edXMLEnvelope": 0, "edXMLHeader": 0, "MessageHeader": 0}
    for el in root.iter(*_WATCHED):
        local = str(el.tag).rpartition("}")[2]
        if local == "Signature":
            signatures.append(el)
        else:
            counts[local] += 1
    return signatures, counts


def _signatures(root: etree._Element) -> list[etree._Element]:
    return _census(root)[0]


# --------------------------------------------------------------------------------- signing
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
class CertificateInfo(BaseModel):
    """What a person needs to know of a certificate."""

    model_config = ConfigDict(frozen=True)

    subject: str
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertificateInfo:
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial=format(cert.serial_number, "x"),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            sha256=cert.fingerprint(hashes.SHA256()).hex(),
        )


class VerificationResult(BaseModel):
    """What verification found: valid or not and why, the algorithms, the signer, what the
    signature covers, the trust outcome. :attr:`package` is mapped from exactly the tree
    whose digest was checked."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    valid: bool
    """The signature verifies and the policy accepts its form and algorithms."""
    reason: str
    policy: Policy
    legacy: bool = False
    """Legacy form or algorithms (un-namespaced Signature, SHA-1): accepted by interop only."""
    form: Literal["xmldsig", "legacy-qcvn", "none"] = "none"
    canonicalization: str | None = None
    signature_method: str | None = None
    digest_method: str | None = None
    transforms: list[str] = []
    covers: str | None = None
    claimed_signing_time: dt.datetime | None = None
    """The sender's latest TraceHeader time (status: its Timestamp): covered by the signature,
    used as the signing time for trust; XML-DSig in edXML carries no signing time of its own."""
    trust: TrustResult | None = None
    """The certificate-path outcome, when trust settings were given."""
    notes: list[str] = []

    # One private slot (pydantic initialises each private attribute per instance).
    _state: _ResultState | None = PrivateAttr(None)

    @property
    def _st(self) -> _ResultState:
        if self._state is None:
            self._state = _ResultState()
        return self._state

    @computed_field  # type: ignore[prop-decorator]
    @property
    def signer(self) -> CertificateInfo | None:
        """Subject, issuer, serial, validity and fingerprint of the signer's certificate."""
        st = self._st
        if st.signer is None and st.certificate is not None:
            st.signer = CertificateInfo.of(st.certificate)
        return st.signer

    @property
    def ok(self) -> bool:
        """Valid, and trusted when trust was checked."""
        return self.valid and (self.trust is None or self.trust.outcome == "passed")

    @property
    def certificate(self) -> x509.Certificate | None:
        """The signer's certificate (the one whose key verifies the value)."""
        return self._st.certificate

    @property
    def chain(self) -> list[x509.Certificate]:
        """The other certificates KeyInfo carried."""
        return list(self._st.chain)

    @property
    def package(self) -> DocumentPackage | StatusPackage:
        """The package as signed, read from the verified tree (only when valid)."""
        st = self._st
        if not self.valid or st.root is None:
            raise SignatureError(f"no verified package to read: {self.reason}", result=self)
        if st.package is None:
            st.package = package_from_tree(st.root)
        return st.package


@dataclasses.dataclass
class _ResultState:
    """The parts of a result that are objects, not data: certificate, chain, verified tree."""

    certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = dataclasses.field(default_factory=list)
    root: etree._Element | None = None
    package: DocumentPackage | StatusPackage | None = None
    signer: CertificateInfo | None = None


@dataclasses.dataclass
class _Facts:
    """What verification learns as it goes; becomes a VerificationResult once, at the end."""

    policy: Policy
    legacy: bool = False
    form: Literal["xmldsig", "legacy-qcvn", "none"] = "none"
    canonicalization: str | None = None
    signature_method: str | None = None
    digest_method: str | None = None
    transforms: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = dataclasses.field(default_factory=list)
    claimed_signing_time: dt.datetime | None = None

    def result(self, *, valid: bool, reason: str) -> VerificationResult:
        result = VerificationResult(
            valid=valid,
            reason=reason,
            policy=self.policy,
            legacy=self.legacy,
            form=self.form,
            canonicalization=self.canonicalization,
            signature_method=self.signature_method,
            digest_method=self.digest_method,
            transforms=self.transforms,
            covers=COVERS_WHOLE_PACKAGE if valid else None,
            claimed_signing_time=self.claimed_signing_time,
            notes=self.notes,
        )
        result._state = _ResultState(certificate=self.certificate, chain=self.chain)
        return result


def _claimed_time(header: etree._Element) -> dt.datetime | None:
    """The latest TraceHeader timestamp (a status: its own Timestamp), in Vietnam time."""
    stamps = [
        t.text for t in header.iterfind(f"{_Q}TraceHeaderList/{_Q}TraceHeader/{_Q}Timestamp")
    ] + [t.text for t in header.iterfind(f"{_Q}MessageHeader/{_Q}Timestamp")]
    times = []
    for text in stamps:
        try:
            times.append(parse_timestamp(text or ""))
        except ValueError:
            continue  # not the signer's to vouch for: no signing time from it
    return max(times) if times else None


class _Refused(Exception):  # noqa: N818 - internal control flow, never escapes
    def __init__(self, reason: str) -> None:
        self.reason = reason


def verify_package(
    source: bytes | str | os.PathLike[str] | IO[bytes],
    *,
    policy: Policy = "interop",
    trust: TrustSettings | None = None,
    now: dt.datetime | None = None,
    name: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
) -> VerificationResult:
    """Verify the signature of a package. Never raises for a bad signature: the result says
    why. Raises XMLError / HostileXMLError / PackageError when the input cannot be read."""
    root, _label = _load(source, name, limits)
    facts = _Facts(policy=policy)
    try:
        _verify(root, facts)
    except _Refused as refused:
        return facts.result(valid=False, reason=refused.reason)
    result = facts.result(
        valid=True,
        reason="the signature is valid (legacy form: SHA-1 or un-namespaced Signature)"
        if facts.legacy
        else "the signature is valid",
    )
    result._st.root = root
    if trust is not None and facts.certificate is not None:
        result.trust = validate_certificate(
            facts.certificate,
            facts.chain,
            trust,
            signing_time=facts.claimed_signing_time,
            now=now,
        )
    return result


def check_package_signature(
    source: bytes | str | os.PathLike[str] | IO[bytes], **options: Any
) -> VerificationResult:
    """Verify and raise SignatureError unless the signature is valid (and trusted, when
    ``trust`` is given); returns the result otherwise."""
    result = verify_package(source, **options)
    if not result.ok:
        reason = (
            result.reason
            if not result.valid
            else f"not trusted: {result.trust.reason if result.trust else ''}"
        )
        raise SignatureError(reason, result=result)
    return result


def _only(parent: etree._Element, tag: str, what: str) -> etree._Element:
    found = list(parent.iterchildren(tag))
    if len(found) != 1:
        raise _Refused(f"{len(found)} {what} elements where there must be exactly one")
    return found[0]


def _verify(root: etree._Element, facts: _Facts) -> None:
    signatures, counts = _census(root)
    if not signatures:
        raise _Refused("the package is not signed: no Signature element")
    if len(signatures) > 1:
        raise _Refused(
            f"{len(signatures)} Signature elements: a package carries exactly one "
            "(a second one is a signature-wrapping pattern)"
        )
    signature = signatures[0]
    ns = signature.tag[1 : signature.tag.index("}")] if signature.tag.startswith("{") else ""
    if ns == DSIG_NS:
        facts.form = "xmldsig"
    elif ns in (EDXML_NS, ""):
        facts.form = "legacy-qcvn"
        facts.legacy = True
        if facts.policy == "strict":
            raise _Refused(
                "the Signature is outside the XML-DSig namespace (the legacy QCVN 102 form); "
                "the strict policy refuses it, the interop policy reads it"
            )
    else:
        raise _Refused(f"a Signature in the unknown namespace {ns}")
    q = "{" + ns + "}" if ns else ""
    header = _check_place(root, signature, counts, facts)
    _check_signed_info(root, signature, q, facts)
    facts.claimed_signing_time = _claimed_time(header)


def _check_place(
    root: etree._Element, signature: etree._Element, counts: dict[str, int], facts: _Facts
) -> etree._Element:
    """One envelope, one header, one MessageHeader; the Signature where QCVN 102 puts it."""
    for local, count in counts.items():
        if count != 1:
            raise _Refused(f"{count} {local} elements in the package: exactly one is signed")
    header = signature.getparent()
    envelope = header.getparent() if header is not None else None
    if (
        header is None
        or header.tag != _Q + "edXMLHeader"
        or envelope is None
        or envelope.getparent() is not root
    ):
        raise _Refused("the Signature is not a child of edXMLHeader, where QCVN 102 puts it")
    previous = signature.getprevious()
    while previous is not None and not isinstance(previous.tag, str):
        previous = previous.getprevious()
    expected = (
        "TraceHeaderList" if header.find(_Q + "TraceHeaderList") is not None else "MessageHeader"
    )
    if previous is None or previous.tag != _Q + expected:
        if facts.policy == "strict":
            raise _Refused(f"the Signature does not follow {expected}, where QCVN 102 puts it")
        facts.notes.append(f"the Signature does not directly follow {expected}")
    if next(signature.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
        raise _Refused("comments or processing instructions inside the Signature")
    return header


def _check_signed_info(
    root: etree._Element, signature: etree._Element, q: str, facts: _Facts
) -> None:
    """Algorithms, the one Reference and its transforms, the digest, the value, the signer."""
    policy = facts.policy
    signed_info = _only(signature, q + "SignedInfo", "SignedInfo")
    if signature.index(signed_info) != 0:
        raise _Refused("SignedInfo is not the first child of Signature")
    value_node = _only(signature, q + "SignatureValue", "SignatureValue")
    c14n_node = _only(signed_info, q + "CanonicalizationMethod", "CanonicalizationMethod")
    method_node = _only(signed_info, q + "SignatureMethod", "SignatureMethod")
    facts.canonicalization = c14n_node.get("Algorithm")
    facts.signature_method = method_node.get("Algorithm")
    c14n = canonicalization(facts.canonicalization or "", policy)
    if c14n is None:
        raise _Refused(f"canonicalization {facts.canonicalization!r} is not accepted ({policy})")
    alg = SIGNATURES.get(facts.signature_method or "")
    if alg is None:
        raise _Refused(f"signature method {facts.signature_method!r} is not supported")
    _legacy(facts, alg.legacy, alg.name)
    expected_digest, doc_exclusive, digest_alg = _check_reference(
        _only(signed_info, q + "Reference", "Reference"), q, facts
    )
    try:
        value = _b64(value_node.text)
    except ValueError as exc:
        raise _Refused(f"SignatureValue is {exc}") from exc
    digest = _document_digest(root, signature, exclusive=doc_exclusive, hash_type=digest_alg.hash)
    if not hmac.compare_digest(digest, expected_digest):
        raise _Refused(
            "the package was changed after it was signed: the digest of its content does not "
            "match the DigestValue"
        )
    canonical = _c14n_subtree(signed_info, exclusive=c14n[0], with_comments=c14n[1])
    certificates = _key_info_certificates(signature, q)
    signer = next(
        (c for c in certificates if check_signature_value(c, value, canonical, alg)), None
    )
    if signer is None:
        raise _Refused(
            "the signature value does not verify with any certificate in KeyInfo (a swapped "
            "certificate, a different key, or a damaged value)"
            if certificates
            else "KeyInfo carries no X509Certificate to verify with"
        )
    facts.certificate = signer
    facts.chain = [c for c in certificates if c is not signer]


def _check_reference(
    reference: etree._Element, q: str, facts: _Facts
) -> tuple[bytes, bool, DigestAlgorithm]:
    """The one Reference: URI="", the enveloped transform and at most one canonicalization,
    an accepted digest. Returns the expected digest, whether exclusive C14N applies, and the
    digest algorithm."""
    policy = facts.policy
    if reference.get("URI") != "":
        raise _Refused(
            f'the Reference URI is {reference.get("URI")!r}: lgsp verifies only URI="" '
            "(the whole package), which QCVN 102 uses"
        )
    transforms_node = reference.find(q + "Transforms")
    transforms = (
        [t.get("Algorithm", "") for t in transforms_node.findall(q + "Transform")]
        if transforms_node is not None
        else []
    )
    facts.transforms = transforms
    if transforms.count(ENVELOPED) != 1:
        raise _Refused("the Reference lacks the enveloped-signature transform")
    others = [t for t in transforms if t != ENVELOPED]
    chosen = canonicalization(others[0], policy) if others else (False, False)
    if len(others) > 1 or chosen is None:
        raise _Refused(f"transforms {others} are not accepted: only one canonicalization")
    digest_node = _only(reference, q + "DigestMethod", "DigestMethod")
    facts.digest_method = digest_node.get("Algorithm")
    digest_alg = DIGESTS.get(facts.digest_method or "")
    if digest_alg is None:
        raise _Refused(f"digest method {facts.digest_method!r} is not supported")
    _legacy(facts, digest_alg.legacy, digest_alg.name)
    try:
        expected_digest = _b64(_only(reference, q + "DigestValue", "DigestValue").text)
    except ValueError as exc:
        raise _Refused(f"DigestValue is {exc}") from exc
    return expected_digest, chosen[0], digest_alg


def _legacy(facts: _Facts, legacy: bool, name: str) -> None:
    if not legacy:
        return
    if facts.policy == "strict":
        raise _Refused(f"{name} relies on SHA-1, which the strict policy refuses")
    facts.legacy = True
    facts.notes.append(f"{name} relies on SHA-1 (legacy; accepted under interop)")


def _key_info_certificates(signature: etree._Element, q: str) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    key_info = signature.find(q + "KeyInfo")
    if key_info is None:
        return out
    for node in key_info.iter(q + "X509Certificate"):
        try:
            out.append(_certificate(_b64(node.text)))
        except ValueError:
            continue  # a cut-short certificate (the kit's samples) cannot be the signer's
    return out


@functools.lru_cache(maxsize=256)
def _certificate(der: bytes) -> x509.Certificate:
    """A certificate from DER, parsed once: senders sign package after package with one."""
    return x509.load_der_x509_certificate(der)
