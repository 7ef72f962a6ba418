"""What a counterparty session has seen: the vendor's messages, the partner's items.

The agent (:mod:`lgsp.conformance.counterparty`) is the only writer; the report route reads
from the server's thread, so every change and every report is made under :attr:`Ledger.lock`.
A vendor message is keyed by the SHA-256 of its bytes: the same package seen on the wire (its
``sendEdoc``, refused or not) and in the partner's inbox is one message, and a resend of the
same bytes is the same message sent again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from typing import Any, Literal

from lgsp.conformance._counterparty_watch import Call
from lgsp.conformance.messages import check_message
from lgsp.conformance.results import Check
from lgsp.documents import BusinessDocType, DocumentPackage, StatusPackage, read_package
from lgsp.errors import LgspError
from lgsp.findings import Finding, Profile

__all__ = ["Inspected", "Ledger", "PartnerItem", "VendorMessage", "inspect_message"]

PartnerKind = Literal["document", "revoke", "status", "recall"]


@dataclasses.dataclass(slots=True)
class Inspected:
    """What a package is and what the checks found in it."""

    kind: Literal["document", "status", "unreadable"]
    label: str
    findings: list[Finding]
    #: Why it could not be read as an edXML package (the findings say so too).
    unreadable: str | None = None
    document_id: str | None = None
    business: int | None = None
    status_code: str | None = None
    #: A status package's ResponseFor/DocumentId: the document it answers.
    response_for: str | None = None
    from_organ: str | None = None
    to_organs: list[str] = dataclasses.field(default_factory=list)
    #: The package read (attachments released), to answer it.
    package: DocumentPackage | StatusPackage | None = None
    #: The checks' own steps (read, signature, validate) and facts (signature, signer…).
    checks: list[Check] = dataclasses.field(default_factory=list)
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)


def inspect_message(data: bytes, name: str, profile: Profile) -> Inspected:
    """Read ``data`` for what it is, and check it with the message-conformance checks
    (:func:`lgsp.conformance.messages.check_message`, as an edXML package)."""
    checked = check_message(data, name=name, profile=profile, kind="edxml")
    findings, checks, facts = list(checked.findings), list(checked.checks), dict(checked.facts)
    try:
        pkg = read_package(data, name=name)
    except LgspError as exc:
        return Inspected(
            "unreadable",
            "an unreadable package",
            findings,
            checked.message or f"{type(exc).__name__}: {exc}",
            checks=checks,
            facts=facts,
        )
    pkg.close()
    if isinstance(pkg, StatusPackage):
        rf = pkg.header.response_for
        code = pkg.header.code
        return Inspected(
            "status",
            f"status {code or '?'} for {rf.document_id or 'an unnamed document'}",
            findings,
            checks=checks,
            facts=facts,
            document_id=rf.document_id,
            status_code=code,
            response_for=rf.document_id,
            from_organ=pkg.header.from_.organ_id,
            to_organs=[rf.organ_id] if rf.organ_id else [],
            package=pkg,
        )
    header = pkg.header
    kind = pkg.business.kind if pkg.business is not None else None
    doc_type = int(kind) if kind is not None else None
    what = (
        {
            BusinessDocType.REVOKE: "revoke",
            BusinessDocType.UPDATE: "update",
            BusinessDocType.REPLACE: "replacement",
        }.get(kind, "document")
        if kind is not None
        else "document"
    )
    notation = str(header.code) if header.code and header.code.number else None
    return Inspected(
        "document",
        f"{what} {notation or header.document_id or '(no number)'}",
        findings,
        checks=checks,
        facts=facts,
        document_id=header.document_id,
        business=doc_type,
        from_organ=header.from_.organ_id,
        to_organs=[o.organ_id for o in header.to if o.organ_id],
        package=pkg,
    )


@dataclasses.dataclass(slots=True)
class VendorMessage:
    """A package the vendor sent (on the wire, in the partner's inbox, or both)."""

    seq: int
    sha256: str
    size: int
    seen_at: float
    inspected: Inspected
    calls: list[Call] = dataclasses.field(default_factory=list)
    #: The axis's DocId, once it accepted the package.
    doc_id: str | None = None
    #: The axis's refusal of the last attempt, when it refused it.
    refused: str | None = None
    #: When the partner took it from its inbox (session seconds).
    delivered_at: float | None = None

    @property
    def conformant(self) -> bool:
        return self.inspected.unreadable is None and not any(
            f.severity == "error" for f in self.inspected.findings
        )

    @property
    def label(self) -> str:
        return self.inspected.label


@dataclasses.dataclass(slots=True)
class PartnerItem:
    """A package the partner sent to the vendor, and what the vendor did with it."""

    kind: PartnerKind
    doc_id: str
    #: The edXML DocumentId of the package (a status: of the document it is about).
    document_id: str
    label: str
    sent_at: float
    organ: str
    code: str | None = None
    #: The vendor message a status answers.
    about: int | None = None
    package: DocumentPackage | StatusPackage | None = None
    fetched: Call | None = None
    fetched_at: float | None = None
    #: The last acknowledgement the vendor gave (done / processing / fail) and its call.
    ack_status: str | None = None
    ack_call: Call | None = None
    acked_at: float | None = None


class Ledger:
    """Everything the session has seen, guarded by :attr:`lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.began = time.time()
        self._clock0 = time.monotonic()
        self.messages: list[VendorMessage] = []
        self.by_sha: dict[str, VendorMessage] = {}
        self.items: list[PartnerItem] = []
        self.by_doc: dict[str, PartnerItem] = {}
        #: What the partner could not do (an action that failed its attempts).
        self.problems: list[str] = []
        #: Scripted actions not carried out, and why (a follow-up the vendor never allowed).
        self.not_done: dict[str, str] = {}
        self.ended: str | None = None
        self.ended_at: float | None = None

    def restart(self) -> None:
        """Count the session's time from now (when it is ready for the vendor)."""
        with self.lock:
            self.began = time.time()
            self._clock0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the session began."""
        return round(time.monotonic() - self._clock0, 3)

    def message(self, data: bytes, name: str, profile: Profile) -> tuple[VendorMessage, bool]:
        """The message of these bytes, inspected once; True when it is new."""
        sha = hashlib.sha256(data).hexdigest()
        with self.lock:
            found = self.by_sha.get(sha)
        if found is not None:
            return found, False
        inspected = inspect_message(data, name, profile)
        with self.lock:
            found = self.by_sha.get(sha)
            if found is not None:
                return found, False
            message = VendorMessage(len(self.messages) + 1, sha, len(data), self.now(), inspected)
            self.messages.append(message)
            self.by_sha[sha] = message
        return message, True

    def add_item(self, item: PartnerItem) -> None:
        with self.lock:
            self.items.append(item)
            self.by_doc[item.doc_id] = item

    def replies_to(self, document_id: str) -> list[VendorMessage]:
        """The vendor's status packages about ``document_id`` (delivered or not)."""
        with self.lock:
            return [
                m
                for m in self.messages
                if m.inspected.kind == "status" and m.inspected.response_for == document_id
            ]

    def replied(self, document_id: str, code: str) -> VendorMessage | None:
        """The vendor's status ``code`` about ``document_id`` that reached the partner."""
        return next(
            (
                m
                for m in self.replies_to(document_id)
                if m.inspected.status_code == code and m.delivered_at is not None
            ),
            None,
        )
