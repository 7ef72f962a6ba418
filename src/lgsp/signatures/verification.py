"""XML-DSig verification of edXML packages, modern and legacy forms.

Real traffic writes the signature un-namespaced (so in the QCVN 102 namespace), with RSA-SHA1,
SHA-1 and the kit's misspelt exclusive-C14N URI; the ``interop`` policy reads that form and
marks the result as legacy, the ``strict`` policy refuses it.

Verification is built against signature wrapping: a package carries exactly one
``Signature``, in its place, over exactly one ``Reference URI=""`` with only the enveloped and
canonicalization transforms; one envelope, one header, one ``MessageHeader`` in the whole
document; no comments inside the signature; and the package a caller reads afterwards is
mapped from the very tree whose digest was checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hmac
import os
from typing import IO, Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field

from lgsp._xml import DEFAULT_LIMITS, XMLLimits
from lgsp.documents.models import DocumentPackage, StatusPackage, parse_timestamp
from lgsp.documents.reader import EDXML_NS, package_from_tree
from lgsp.errors import SignatureError
from lgsp.signatures._dsig import (
    _Q,
    COVERS_WHOLE_PACKAGE,
    _b64,
    _c14n_subtree,
    _census,
    _document_digest,
    _load,
)
from lgsp.signatures.algorithms import (
    DIGESTS,
    DSIG_NS,
    ENVELOPED,
    SIGNATURES,
    DigestAlgorithm,
    Policy,
    canonicalization,
)
from lgsp.signatures.signers import check_signature_value
from lgsp.signatures.trust import TrustResult, TrustSettings, validate_certificate

__all__ = [
    "COVERS_WHOLE_PACKAGE",
    "CertificateInfo",
    "VerificationResult",
    "check_package_signature",
    "verify_package",
]


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
