"""What signing and verifying edXML share: the document's place for a signature, the
enveloped-signature transform, canonicalisation of SignedInfo, and the one-pass census.

QCVN 102 puts one enveloped signature in ``edXMLHeader``, after ``TraceHeaderList`` (after
``MessageHeader`` in a status package), with ``Reference URI=""``: it covers the whole package
but itself.
"""

from __future__ import annotations

import binascii
import copy
import os
from pathlib import Path
from typing import IO, Any, cast

from cryptography.hazmat.primitives import hashes
from lxml import etree

from lgsp._xml import XMLLimits, parse_whole
from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.documents.reader import EDXML_NS
from lgsp.documents.writer import package_to_bytes
from lgsp.errors import PackageError, SignatureError
from lgsp.signatures.algorithms import (
    DSIG_NS,
)

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
