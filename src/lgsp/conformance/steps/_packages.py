"""The packages the document cases send — valid ones, and each defect a platform must refuse —
and the reading of those that come back.

:func:`build` makes one package between two organs from the builders of
:mod:`lgsp.testing.samples` — a document, a status answering one, or the revoke, update or
replace of one — signs it with a test identity and applies one *mutation*. Everything is
deterministic but the number the caller gives (``ctx.unique()``), so that no run collides
with an earlier one on a shared test axis and the same number always gives the same bytes.

The test PKI (:func:`lgsp.testing.pki.make_pki`) is made once per process. :func:`validity`
and :func:`references` read a downloaded package: is it still valid and signed, which earlier
documents does it name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable

from lgsp.conformance.negative._make_hostile import billion_laughs, with_doctype
from lgsp.documents import (
    VIETNAM_TZ,
    Attachment,
    DocumentPackage,
    Organization,
    StatusPackage,
    WriteOptions,
    package_to_bytes,
    read_package,
    validate,
)
from lgsp.errors import LgspError
from lgsp.signatures import KeySigner, sign_package, verify_package
from lgsp.testing import pki, samples
from lgsp.testing.samples import organization

__all__ = [
    "HOSTILE_KINDS",
    "KINDS",
    "MUTATIONS",
    "REFUSED",
    "UNKNOWN_ORGAN",
    "Built",
    "build",
    "organization",
    "references",
    "validity",
]

#: What ``package`` may name.
KINDS = ("document", "status", "revoke", "update", "replace")
#: A well-formed QCVN 102 code no directory is expected to hold (not one of the demo's either).
UNKNOWN_ORGAN = "000.00.00.Z99"
#: Not an organ code in any accepted form (QCVN 102, QĐ 20/2020, system id): a ``-`` in it.
MALFORMED_ORGAN = "G22-KHONG-HOP-LE"
#: An address nothing can resolve (RFC 2606 ``.invalid``): a platform that fetches it leaks.
_NOWHERE = "http://lgsp-kit.invalid"

# The DOCTYPE each hostile kind puts before the root, and what it puts in Subject.
_HOSTILE: dict[str, tuple[str, str]] = {
    "billion-laughs": (billion_laughs(), "&lol9;"),
    "quadratic-blowup": (
        f'<!DOCTYPE edXML [\n<!ENTITY big "{"A" * 10_000}">\n]>',
        "&big;" * 2_000,
    ),
    "external-entity": (
        '<!DOCTYPE edXML [\n<!ENTITY xxe SYSTEM "file:///etc/hostname">\n]>',
        "&xxe;",
    ),
    "parameter-entity": (
        f'<!DOCTYPE edXML [\n<!ENTITY % remote SYSTEM "{_NOWHERE}/remote.dtd">\n%remote;\n]>',
        "V/v kiểm thử",
    ),
    "external-dtd": (f'<!DOCTYPE edXML SYSTEM "{_NOWHERE}/edxml.dtd">', "V/v kiểm thử"),
    "dtd": ("<!DOCTYPE edXML [\n<!ELEMENT edXML ANY>\n]>", "V/v kiểm thử"),
    "deep-nesting": ("", "<x>" * 5_000 + "deep" + "</x>" * 5_000),
}
HOSTILE_KINDS = tuple(_HOSTILE)
MUTATIONS = (
    "none",
    "bad-signature",
    "expired-certificate",
    "unknown-organ",
    "malformed-organ",
    "oversized",
    "invalid",
    *(f"hostile-xml:{kind}" for kind in HOSTILE_KINDS),
)
#: What each mutation makes of a package, as a refusal's expectation names it.
REFUSED = {
    "bad-signature": "a package whose signature does not verify",
    "expired-certificate": "a package signed with an expired certificate",
    "unknown-organ": "a package to an organ the directory does not hold",
    "malformed-organ": "a package to a malformed organ code",
    "oversized": "a package above the size limit",
    "invalid": "a package missing a required header element",
}
#: The fixed moment of the packages (their promulgation date and status timestamps).
_DAY = dt.date(2024, 5, 2)
_SUBJECT = re.compile(rb"(<(?:[\w.-]+:)?Subject>)(.*?)(</(?:[\w.-]+:)?Subject>)", re.DOTALL)


@dataclasses.dataclass(frozen=True, slots=True)
class Built:
    """A package ready to send, and what later steps need to know of it."""

    content: bytes
    #: The package as built, before any mutation (what a status or revoke of it answers).
    model: DocumentPackage | StatusPackage
    #: VXP ``messagetype``: ``edoc`` or ``status``.
    message_type: str
    sender: str
    receivers: tuple[str, ...]
    mutation: str
    signed: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def document_id(self) -> str | None:
        """The edXML DocumentId of a document (what statuses and revokes name)."""
        if isinstance(self.model, DocumentPackage):
            return self.model.header.document_id
        return None


@functools.cache
def _pki() -> pki.TestPKI:
    return pki.make_pki(organisation="lgsp conformance kit")


@functools.cache
def _signer(which: str) -> KeySigner:
    test_pki = _pki()
    identity = test_pki.expired() if which == "expired" else test_pki.signer()
    return KeySigner(identity.key, identity.certificate, identity.chain)


def _big_attachment(number: str, max_bytes: int) -> Attachment:
    # Base64 makes 4 bytes of 3: this much incompressible content puts the package just above
    # max_bytes (the rest of the package is a few KB). shake_256 is fast and reproducible.
    size = -(-max_bytes * 3 // 4)
    data = hashlib.shake_256(f"lgsp-kit-{number}".encode()).digest(size)
    return Attachment.from_bytes(
        f"Phụ lục {number}.bin",
        data,
        content_id=f"big-{number}",
        description="Phụ lục dung lượng lớn",
        content_type="application/octet-stream",
    )


def _model(
    kind: str,
    *,
    number: str,
    sender: Organization,
    receiver: Organization,
    original: DocumentPackage | None,
    code: str | None,
    attachments: list[Attachment] | None,
) -> DocumentPackage | StatusPackage:
    if kind == "document":
        return samples.document(
            number=number,
            date=_DAY,
            sender=sender,
            receivers=[receiver],
            subject=f"V/v kiểm thử kết nối liên thông, văn bản số {number}",
            attachments=attachments,
        )
    if original is None:
        raise ValueError(f"a {kind} package answers an earlier document: give 'of'")
    if kind == "status":
        stamp = dt.datetime.combine(_DAY, dt.time(9, 0), VIETNAM_TZ)
        return samples.status(original, code or "03", sender=sender, at=stamp)
    makers: dict[str, Callable[..., DocumentPackage]] = {
        "revoke": samples.revoke,
        "update": samples.update,
        "replace": samples.replace,
    }
    if kind not in makers:
        raise ValueError(f"package must be one of {', '.join(KINDS)} (got {kind!r})")
    return makers[kind](original, number=number)


def _hostile(content: bytes, kind: str) -> bytes:
    # The negative corpus's own maker: a DOCTYPE after the declaration, entities in Subject.
    doctype, subject = _HOSTILE[kind]
    return with_doctype(doctype, subject, data=content)


def _without_subject(content: bytes) -> bytes:
    return _SUBJECT.sub(b"", content, count=1)


def _tampered(content: bytes) -> bytes:
    # Change signed content after signing: the digest no longer matches.
    changed = _SUBJECT.sub(lambda m: m[1] + m[2] + " (đã sửa)".encode() + m[3], content, count=1)
    if changed == content:
        raise ValueError("bad-signature: the package has no Subject to change")
    return changed


def build(
    kind: str,
    *,
    number: str,
    sender: Organization,
    receiver: Organization,
    original: DocumentPackage | None = None,
    code: str | None = None,
    mutate: str = "none",
    sign: bool = True,
    max_bytes: int = 10 * 1024 * 1024,
) -> Built:
    """One package of ``kind`` from ``sender`` to ``receiver`` (a status goes to the
    original's sender), signed unless told not to, with the mutation ``mutate``."""
    if mutate not in MUTATIONS:
        raise ValueError(f"mutate must be one of {', '.join(MUTATIONS)} (got {mutate!r})")
    if mutate != "none" and kind == "status":
        raise ValueError(f"the mutation {mutate!r} applies to document packages only")
    addressed = {
        "unknown-organ": Organization(organ_id=UNKNOWN_ORGAN, organ_name="Cơ quan không có"),
        "malformed-organ": Organization(organ_id=MALFORMED_ORGAN, organ_name="Mã sai dạng"),
    }.get(mutate, receiver)
    attachments = [_big_attachment(number, max_bytes)] if mutate == "oversized" else None
    model = _model(
        kind,
        number=number,
        sender=sender,
        receiver=addressed,
        original=original,
        code=code,
        attachments=attachments,
    )
    # The writer refuses what strict rules forbid; a malformed organ code is the point here.
    # Random content does not compress: storing it saves the deflate of megabytes.
    options = WriteOptions(
        validate_first=mutate != "malformed-organ", compresslevel=0 if attachments else 6
    )
    content = package_to_bytes(model, options=options)
    if mutate == "invalid":
        content = _without_subject(content)
    hostile = mutate.startswith("hostile-xml:")
    signed = sign and not hostile
    if hostile:
        content = _hostile(content, mutate.split(":", 1)[1])
    elif signed or mutate in ("bad-signature", "expired-certificate"):
        which = "expired" if mutate == "expired-certificate" else "valid"
        content = sign_package(content, _signer(which))
        signed = True
    if mutate == "bad-signature":
        content = _tampered(content)
    receivers: tuple[str, ...]
    if isinstance(model, StatusPackage):
        rf = model.header.response_for.organ_id
        message_type, receivers = "status", (rf,) if rf else ()
    else:
        message_type = "edoc"
        receivers = tuple(o.organ_id for o in model.header.to if o.organ_id)
    return Built(
        content,
        model,
        message_type,
        model.header.from_.organ_id or sender.organ_id or "",
        receivers,
        mutate,
        signed,
    )


def references(pkg: DocumentPackage) -> set[str]:
    """The DocumentIds ``pkg`` names: ResponseFor, Bussiness/DocumentId, ReplacementInfo."""
    refs = {r.document_id for r in pkg.header.response_for if r.document_id}
    if pkg.business is not None:
        refs |= {r.document_id for r in pkg.business.replacements if r.document_id}
        if pkg.business.document_id:
            refs.add(pkg.business.document_id)
    return refs


def validity(data: bytes) -> str | None:
    """Why a received package is not valid (the lenient rules, its signature), or None."""
    try:
        pkg = read_package(data)
    except LgspError as exc:
        return f"cannot be read: {exc}"
    try:
        errors = [f for f in validate(pkg, profile="lenient") if f.severity == "error"]
        signed = pkg.signature_xml is not None
    finally:
        pkg.close()
    if errors:
        return "; ".join(f"{f.rule} at {f.location}: {f.message}" for f in errors[:5])
    if signed:
        result = verify_package(data)
        if not result.valid:
            return f"the signature does not verify: {result.reason}"
    return None
