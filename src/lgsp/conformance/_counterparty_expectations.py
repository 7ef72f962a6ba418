"""What a counterparty session expects of the vendor, checked against its ledger.

The expectations (their ids start with ``counterparty.vendor.``):

* ``sent-document`` — the vendor sent the partner at least ``vendor_documents`` documents;
* ``sent-valid-messages`` — every package it sent passes the message checks (a verdict: it
  cannot become true later, so it never holds a session open);
* ``fetched-document`` / ``acknowledged-document`` — each document the partner sent (its
  revoke too) was fetched (``getEdoc`` or ``downloadEdoc``) and acknowledged ``done``;
* ``replied-status-NN`` — each new document of the partner was answered with a status NN;
* ``answered-recall`` — a status 13 of the partner was answered with 15 or 16;
* ``fetched-status`` / ``acknowledged-status`` — each status the partner sent was fetched
  and acknowledged ``done``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from lgsp.conformance._counterparty_ledger import Ledger, PartnerItem, VendorMessage
from lgsp.conformance._counterparty_script import Script
from lgsp.conformance._counterparty_watch import Call
from lgsp.conformance.results import CaseResult, Check, Evidence, Outcome

__all__ = [
    "VERDICTS",
    "Session",
    "evidence_of",
    "expectation_results",
    "listed",
    "message_summary",
]

#: Expectations that are verdicts on what came, not things still to come.
VERDICTS = frozenset({"counterparty.vendor.sent-valid-messages"})
_SHOWN = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """What the report says about the session itself (no secret)."""

    url: str
    vendor_system: str
    vendor_organs: tuple[str, ...]
    partner_organ: str
    partner_system: str
    profile: str
    script: Script
    preview: int = 2048


def _ago(ledger: Ledger, at: float) -> str:
    end = ledger.ended_at if ledger.ended_at is not None else ledger.now()
    return f"sent {max(end - at, 0):.1f} s before the session ended"


def listed(names: Sequence[str]) -> str:
    """The first few names, and how many more."""
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _result(
    id_: str,
    title: str,
    purpose: str,
    rules: list[str],
    checks: list[Check],
    *,
    empty: str,
    evidence: list[Evidence] | None = None,
    facts: dict[str, object] | None = None,
    lead: str = "missing",
) -> CaseResult:
    """Pass when every check held; skipped (with ``empty`` as the reason) when there was
    nothing to check; fail naming, after ``lead``, what did not hold otherwise."""
    missing = [c.expectation for c in checks if not c.passed]
    outcome: Outcome = "skipped" if not checks else ("fail" if missing else "pass")
    message = empty if not checks else (f"{lead}: {listed(missing)}" if missing else "")
    return CaseResult(
        id=f"counterparty.vendor.{id_}",
        title=title,
        purpose=purpose,
        rules=rules,
        area="counterparty",
        outcome=outcome,
        message=message,
        checks=checks,
        evidence=evidence or [],
        facts=facts or {},
    )


def evidence_of(call: object, step: str, preview: int) -> Evidence:
    """A recorded call of the vendor as evidence."""
    assert isinstance(call, Call)  # noqa: S101 - the ledger holds Calls only
    return Evidence(**call.evidence(step, preview))


def _per_item(
    items: list[PartnerItem],
    session: Session,
    *,
    what: str,
    test: Callable[[PartnerItem], tuple[bool, str]],
    call: Callable[[PartnerItem], object | None],
) -> tuple[list[Check], list[Evidence]]:
    checks: list[Check] = []
    evidence: list[Evidence] = []
    for item in items:
        passed, detail = test(item)
        checks.append(
            Check(
                step=f"doc {item.doc_id}",
                expectation=f"{what} {item.label} (doc {item.doc_id})",
                passed=passed,
                detail=detail,
            )
        )
        seen = call(item)
        if seen is not None and len(evidence) < 20:
            evidence.append(evidence_of(seen, f"doc {item.doc_id}", session.preview))
    return checks, evidence


def _fetched(ledger: Ledger) -> Callable[[PartnerItem], tuple[bool, str]]:
    def test(item: PartnerItem) -> tuple[bool, str]:
        if item.fetched is not None and item.fetched_at is not None:
            return True, (
                f"{item.fetched.operation} {item.fetched_at - item.sent_at:.1f} s after it was sent"
            )
        return False, f"never fetched ({_ago(ledger, item.sent_at)})"

    return test


def _acknowledged(ledger: Ledger) -> Callable[[PartnerItem], tuple[bool, str]]:
    def test(item: PartnerItem) -> tuple[bool, str]:
        if item.ack_status == "done" and item.acked_at is not None:
            return True, f"done {item.acked_at - item.sent_at:.1f} s after it was sent"
        if item.ack_status is not None:
            return False, f"acknowledged {item.ack_status}, never done"
        return False, f"never acknowledged ({_ago(ledger, item.sent_at)})"

    return test


def _replied(ledger: Ledger, codes: Sequence[str]) -> Callable[[PartnerItem], tuple[bool, str]]:
    def test(item: PartnerItem) -> tuple[bool, str]:
        for code in codes:
            found = ledger.replied(item.document_id, code)
            if found is not None:
                return True, f"status {code} came: vendor message {found.seq}"
        sent = ledger.replies_to(item.document_id)
        if not sent:
            return False, f"no status about it ({_ago(ledger, item.sent_at)})"
        seen = ", ".join(
            f"{m.inspected.status_code or '?'}"
            + ("" if m.delivered_at is not None else f" (not delivered: {m.refused or 'pending'})")
            for m in sent
        )
        return False, f"statuses about it: {seen}"

    return test


@dataclasses.dataclass(frozen=True, slots=True)
class _Duty:
    """An expectation checked on each item the partner sent of some kinds."""

    id: str
    title: str
    purpose: str
    rules: tuple[str, ...]
    kinds: tuple[str, ...]
    what: str
    test: Callable[[Ledger], Callable[[PartnerItem], tuple[bool, str]]]
    call: Callable[[PartnerItem], object | None]
    empty: str


_NO_DOCUMENT = "the partner sent no document"
_NO_STATUS = "the partner sent no status (the vendor sent it no document to answer)"
_DUTIES = (
    _Duty(
        "fetched-document",
        "The vendor fetches each document sent to it",
        "A document the partner sends is downloaded by the vendor (getEdoc, downloadEdoc).",
        ("vxp.getEdoc",),
        ("document", "revoke"),
        "fetched",
        _fetched,
        lambda i: i.fetched,
        _NO_DOCUMENT,
    ),
    _Duty(
        "acknowledged-document",
        "The vendor acknowledges each document sent to it",
        "A received document is acknowledged done (updateStatus), so that it leaves the "
        "receiver's list.",
        ("vxp.updateStatus",),
        ("document", "revoke"),
        "acknowledged",
        _acknowledged,
        lambda i: i.ack_call,
        _NO_DOCUMENT,
    ),
    _Duty(
        "fetched-status",
        "The vendor fetches the statuses sent about its documents",
        "The partner's answers to the vendor's documents are downloaded by the vendor.",
        ("vxp.getEdoc",),
        ("status", "recall"),
        "fetched",
        _fetched,
        lambda i: i.fetched,
        _NO_STATUS,
    ),
    _Duty(
        "acknowledged-status",
        "The vendor acknowledges the statuses sent about its documents",
        "The partner's answers to the vendor's documents are acknowledged done.",
        ("vxp.updateStatus",),
        ("status", "recall"),
        "acknowledged",
        _acknowledged,
        lambda i: i.ack_call,
        _NO_STATUS,
    ),
)


def _replies(code: str) -> _Duty:
    return _Duty(
        f"replied-status-{code}",
        f"The vendor answers each document with status {code}",
        f"A received document is answered with a status package {code} referring to it "
        "(ResponseFor/DocumentId).",
        ("edxml.status", f"status.{code}"),
        ("document",),
        f"status {code} for",
        lambda ledger: _replied(ledger, [code]),
        lambda _i: None,
        _NO_DOCUMENT,
    )


def _recall(ledger: Ledger) -> _Duty:
    return _Duty(
        "answered-recall",
        "The vendor answers a request to take a document back",
        "A status 13 (the sender asks for its document back) is answered with 15 (agreed) or "
        "16 (refused).",
        ("status.13", "status.15", "status.16"),
        ("recall",),
        "an answer (15 or 16) to",
        lambda ledger: _replied(ledger, ["15", "16"]),
        lambda _i: None,
        "the recall was not sent: " + ledger.not_done.get("recall", "not yet"),
    )


def _sent_results(ledger: Ledger, session: Session) -> list[CaseResult]:
    """What the vendor sent: enough documents, and every package conformant."""
    wanted = session.script.vendor_documents
    documents = [m for m in ledger.messages if m.inspected.kind == "document"]
    delivered = [m for m in documents if m.delivered_at is not None]
    checks = [
        Check(
            step=f"message {m.seq}",
            expectation=f"{m.label} delivered to {session.partner_organ}",
            passed=True,
            detail=f"doc {m.doc_id}",
        )
        for m in delivered
    ]
    if len(delivered) < wanted:
        lost = [m.label for m in documents if m.delivered_at is None]
        checks.append(
            Check(
                step="session",
                expectation=f"at least {wanted} document(s) sent to the partner",
                passed=False,
                detail=f"{len(delivered)} delivered"
                + (f"; not delivered: {listed(lost)}" if lost else ""),
            )
        )
    valid = [
        Check(
            step=f"message {m.seq}",
            expectation=m.label,
            passed=m.conformant,
            detail=message_summary(m),
        )
        for m in ledger.messages
    ]
    return [
        _result(
            "sent-document",
            "The vendor sends documents to the partner",
            "A document the vendor's system sends reaches the partner agency over the axis.",
            ["vxp.sendEdoc"],
            checks,
            empty="no document was required of the vendor, and none came",
            evidence=[
                evidence_of(m.calls[0], f"message {m.seq}", session.preview)
                for m in delivered[:10]
                if m.calls
            ],
        ),
        _result(
            "sent-valid-messages",
            "Everything the vendor sends passes the message checks",
            f"Each package the vendor sent conforms under the {session.profile} profile "
            "(structure, rules, signature).",
            ["edxml"],
            valid,
            empty="the vendor sent nothing",
            lead=f"not conformant under the {session.profile} profile",
        ),
    ]


def expectation_results(ledger: Ledger, session: Session) -> list[CaseResult]:
    """One result per expectation of the vendor (call under the ledger's lock)."""
    script = session.script
    duties = [
        *_DUTIES[:2],
        *(_replies(code) for code in script.vendor_replies),
        *([_recall(ledger)] if script.recall else []),
        *_DUTIES[2:],
    ]
    results = _sent_results(ledger, session)
    for duty in duties:
        items = [i for i in ledger.items if i.kind in duty.kinds]
        checks, evidence = _per_item(
            items, session, what=duty.what, test=duty.test(ledger), call=duty.call
        )
        results.append(
            _result(
                duty.id,
                duty.title,
                duty.purpose,
                list(duty.rules),
                checks,
                empty=duty.empty,
                evidence=evidence,
            )
        )
    return results


def message_summary(m: VendorMessage) -> str:
    """The findings of a message in one line."""
    if m.inspected.unreadable is not None:
        return f"unreadable: {m.inspected.unreadable}"
    errors = [f for f in m.inspected.findings if f.severity == "error"]
    warnings = sum(1 for f in m.inspected.findings if f.severity == "warning")
    if not errors:
        return f"no error, {warnings} warning(s)"
    rules = ", ".join(dict.fromkeys(f.rule for f in errors))
    return f"{len(errors)} error(s) ({rules}), {warnings} warning(s)"
