"""XML-DSig by hand, for the corpus: signatures lgsp itself would never make.

lgsp's signer makes one form only (enveloped, ``URI=""``, no SHA-1). The corpus needs others —
a reference to one element by ``Id``, SHA-1, the legacy un-namespaced form, an XSLT transform,
an HMAC — made correctly, so that the only thing wrong with each file is the attack it
carries. :func:`naive_verify` is the careless verifier those attacks are built to fool.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from lgsp._xml import parse_whole
from lgsp.conformance.negative._base import EDXML_NS
from lgsp.testing.pki import Identity

__all__ = [
    "DS",
    "ENVELOPED",
    "EXC",
    "LEGACY_EXC",
    "XSLT",
    "c14n",
    "enveloped_signed",
    "header_of",
    "id_signed",
    "naive_verify",
    "serialise",
]

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
LEGACY_EXC = "http://www.w3.org/TR/xml-exc-c14n#"  # the VXP kit's misspelt URI
ENVELOPED = DS + "enveloped-signature"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
METHODS = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha1": DS + "rsa-sha1",
    "hmac-sha256": "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
}
DIGESTS = {"sha256": "http://www.w3.org/2001/04/xmlenc#sha256", "sha1": DS + "sha1"}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}
_Q = "{" + EDXML_NS + "}"

Hook = Callable[[etree._Element], None]


def serialise(root: etree._Element) -> bytes:
    """The whole document as UTF-8 bytes with its declaration."""
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def c14n(el: etree._Element) -> bytes:
    """Exclusive canonical form of an element, comments left out."""
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def header_of(root: etree._Element) -> etree._Element:
    """The package's edXMLHeader."""
    header = root.find(f"{_Q}edXMLEnvelope/{_Q}edXMLHeader")
    if header is None:
        raise ValueError("the sample has no edXMLHeader")
    return header


def _enveloped(root: etree._Element, signature: etree._Element) -> bytes:
    """The document without the signature (the text around it kept), canonicalised."""
    steps: list[int] = []
    node = signature
    while (up := node.getparent()) is not None:
        steps.append(up.index(node))
        node = up
    doc = copy.deepcopy(root)
    sig = doc
    for step in reversed(steps):
        sig = sig[step]
    parent, previous = sig.getparent(), sig.getprevious()
    if parent is None:
        raise ValueError("the signature has no parent")
    if previous is not None:
        previous.tail = (previous.tail or "") + (sig.tail or "")
    else:
        parent.text = (parent.text or "") + (sig.tail or "")
    parent.remove(sig)
    return etree.tostring(doc.getroottree(), method="c14n", exclusive=True, with_comments=False)


def _digest(data: bytes, name: str) -> str:
    # SHA-1 on purpose: the legacy files reproduce what real VXP traffic still signs with.
    return base64.b64encode(hashlib.new(name, data).digest()).decode("ascii")


def _skeleton(
    ns: str, *, c14n_uri: str, method: str, uri: str, transforms: Sequence[str], digest: str
) -> etree._Element:
    """A Signature with an empty DigestValue, SignatureValue and KeyInfo."""
    q = "{" + ns + "}"
    sig = etree.Element(q + "Signature", nsmap={None: ns})  # type: ignore[dict-item]
    info = etree.SubElement(sig, q + "SignedInfo")
    etree.SubElement(info, q + "CanonicalizationMethod", Algorithm=c14n_uri)
    etree.SubElement(info, q + "SignatureMethod", Algorithm=METHODS[method])
    ref = etree.SubElement(info, q + "Reference", URI=uri)
    node = etree.SubElement(ref, q + "Transforms")
    for algorithm in transforms:
        etree.SubElement(node, q + "Transform", Algorithm=algorithm)
    etree.SubElement(ref, q + "DigestMethod", Algorithm=DIGESTS[digest])
    etree.SubElement(ref, q + "DigestValue")
    etree.SubElement(sig, q + "SignatureValue")
    etree.SubElement(etree.SubElement(sig, q + "KeyInfo"), q + "X509Data")
    return sig


def _place(root: etree._Element, sig: etree._Element) -> None:
    """Where QCVN 102 puts the signature: after TraceHeaderList (or MessageHeader)."""
    header = header_of(root)
    anchor = header.find(_Q + "TraceHeaderList")
    anchor = anchor if anchor is not None else header.find(_Q + "MessageHeader")
    if anchor is None:
        raise ValueError("the sample has no MessageHeader")
    sig.tail = anchor.tail
    anchor.addnext(sig)


def _unprefixed(root: etree._Element) -> tuple[etree._Element, etree._Element]:
    """The document again with its QCVN-namespace Signature written ``<Signature>``, in the
    default namespace, as real VXP traffic writes it (lxml would reuse the ``edXML:``
    prefix); returns (root, signature)."""
    text = serialise(root)
    start, end = text.index(b"<edXML:Signature>"), text.index(b"</edXML:Signature>")
    block = text[start : end + len(b"</edXML:Signature>")].replace(b"edXML:", b"")
    again = parse_whole(text[:start] + block + text[end + len(b"</edXML:Signature>") :])
    return again, next(again.iter(_Q + "Signature"))


def _child(parent: etree._Element, path: str) -> etree._Element:
    ns = parent.tag[1 : parent.tag.index("}")]
    q = "{" + ns + "}"
    found = parent.find("/".join(q + step for step in path.split("/")))
    if found is None:
        raise ValueError(f"no {path} in the signature")
    return found


def _complete(sig: etree._Element, identity: Identity, digest_value: str, hash_name: str) -> None:
    """Fill DigestValue, KeyInfo and the value signed with the identity's key."""
    ns = sig.tag[1 : sig.tag.index("}")]
    _child(sig, "SignedInfo/Reference/DigestValue").text = digest_value
    data = _child(sig, "KeyInfo/X509Data")
    for cert in (identity.certificate, *identity.chain):
        der = cert.public_bytes(serialization.Encoding.DER)
        text = base64.b64encode(der).decode("ascii")
        etree.SubElement(data, "{" + ns + "}X509Certificate").text = text
    info = _child(sig, "SignedInfo")
    key = identity.key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("the corpus signs with RSA keys")
    if _child(info, "SignatureMethod").get("Algorithm") == METHODS["hmac-sha256"]:
        # Algorithm confusion: an HMAC keyed with the certificate anyone can read.
        secret = identity.certificate.public_bytes(serialization.Encoding.DER)
        raw = hmac.new(secret, c14n(info), hashlib.sha256).digest()
    else:
        raw = key.sign(c14n(info), padding.PKCS1v15(), _HASHES[hash_name]())
    _child(sig, "SignatureValue").text = base64.b64encode(raw).decode("ascii")


def enveloped_signed(
    data: bytes,
    identity: Identity,
    *,
    ns: str = DS,
    c14n_uri: str = EXC,
    method: str = "rsa-sha256",
    digest: str = "sha256",
    extra: Sequence[str] = (),
    before_signing: Hook | None = None,
) -> tuple[etree._Element, etree._Element]:
    """``data`` signed with one ``Reference URI=""`` (the enveloped transform, ``extra``
    transforms, exclusive C14N); ``before_signing`` may add to the signature first. The
    digest is over the enveloped, canonical document whatever ``extra`` says. Returns
    (root, signature)."""
    root = parse_whole(data)
    transforms = [ENVELOPED, *extra, c14n_uri]
    sig = _skeleton(
        ns, c14n_uri=c14n_uri, method=method, uri="", transforms=transforms, digest=digest
    )
    _place(root, sig)
    if ns == EDXML_NS:
        root, sig = _unprefixed(root)
    if before_signing is not None:
        before_signing(sig)
    hash_name = "sha1" if method == "rsa-sha1" else "sha256"
    _complete(sig, identity, _digest(_enveloped(root, sig), digest), hash_name)
    return root, sig


def id_signed(
    data: bytes,
    identity: Identity,
    *,
    target: str | None = None,
    ident: str,
    before_signing: Hook | None = None,
) -> tuple[etree._Element, etree._Element]:
    """A signature over one element alone, referenced as ``#ident``: the child ``target``
    of edXMLHeader (given the ``Id``), or else the element carrying ``Id="ident"`` that
    ``before_signing`` adds to the signature. Returns (root, signature)."""
    root = parse_whole(data)
    if target is not None:
        element = header_of(root).find(_Q + target)
        if element is None:
            raise ValueError(f"the sample has no {target}")
        element.set("Id", ident)
    sig = _skeleton(
        DS, c14n_uri=EXC, method="rsa-sha256", uri="#" + ident, transforms=[EXC], digest="sha256"
    )
    _place(root, sig)
    if before_signing is not None:
        before_signing(sig)
    element = _by_id(root, ident)
    if element is None:
        raise ValueError(f"nothing carries Id {ident!r}")
    _complete(sig, identity, _digest(c14n(element), "sha256"), "sha256")
    return root, sig


def _by_id(root: etree._Element, ident: str) -> etree._Element | None:
    """The first element in document order whose ``Id`` is ``ident`` (what a careless
    getElementById does when two carry it)."""
    return next((el for el in root.iter() if el.get("Id") == ident), None)


def naive_verify(data: bytes) -> bool:
    """A careless verifier: the first Signature found anywhere, its one Reference resolved
    (``URI=""`` as the enveloped document, ``#id`` as the first element with that Id), the
    digest and the value checked with the first certificate of KeyInfo — and nothing else:
    not where the signature is, not what it covers, not what a reader will read."""
    root = parse_whole(data)
    sig = next(root.iter("{*}Signature"), None)
    if sig is None:
        return False
    info = _child(sig, "SignedInfo")
    ref = _child(info, "Reference")
    uri = ref.get("URI", "")
    algorithm = _child(ref, "DigestMethod").get("Algorithm", "")
    name = "sha1" if algorithm.endswith("sha1") else "sha256"
    if uri == "":
        octets = _enveloped(root, sig)
    else:
        target = _by_id(root, uri.removeprefix("#"))
        if target is None:
            return False
        octets = c14n(target)
    if _digest(octets, name) != (_child(ref, "DigestValue").text or "").strip():
        return False
    der = base64.b64decode(_child(sig, "KeyInfo/X509Data/X509Certificate").text or "")
    public = x509.load_der_x509_certificate(der).public_key()
    method = _child(info, "SignatureMethod").get("Algorithm", "")
    if not isinstance(public, rsa.RSAPublicKey) or "rsa" not in method:
        return False
    # SHA-1 on purpose: the legacy files are checked the way real VXP traffic is signed.
    chosen = hashes.SHA1() if method.endswith("rsa-sha1") else hashes.SHA256()  # noqa: S303
    value = base64.b64decode(_child(sig, "SignatureValue").text or "")
    try:
        public.verify(value, c14n(info), padding.PKCS1v15(), chosen)
    except InvalidSignature:
        return False
    return True
