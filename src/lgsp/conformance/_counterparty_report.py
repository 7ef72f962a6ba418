"""The report of a counterparty session: one result per expectation of the vendor (see
:mod:`lgsp.conformance._counterparty_expectations`), one per message the vendor sent, and —
when the partner could not do all it had to — one for the partner's script.
"""

from __future__ import annotations

import datetime as dt

from lgsp import __version__
from lgsp.conformance._counterparty_expectations import (
    Session,
    evidence_of,
    expectation_results,
    listed,
    message_summary,
)
from lgsp.conformance._counterparty_ledger import Ledger, VendorMessage
from lgsp.conformance.results import CaseResult, Check, Outcome, Report
from lgsp.transports.observe import redact_url

__all__ = ["build_report", "message_result"]


def _axis(m: VendorMessage) -> str:
    if m.doc_id is not None:
        return f"accepted as doc {m.doc_id}"
    if m.refused is not None:
        return f"refused: {m.refused}"
    return "not seen on the axis (only in the partner's inbox)" if not m.calls else "no answer"


def _refused(m: VendorMessage) -> str:
    return f"; the axis refused it: {m.refused}" if m.doc_id is None and m.refused else ""


def message_result(m: VendorMessage, session: Session) -> CaseResult:
    """The result of one message the vendor sent."""
    inspected = m.inspected
    outcome: Outcome = "pass" if m.conformant else "fail"
    return CaseResult(
        id=f"counterparty.message.{m.seq:03d}",
        title=f"Vendor message {m.seq}: {m.label}",
        purpose=f"A package the vendor sent, checked under the {session.profile} profile.",
        rules=sorted({f.rule for f in inspected.findings}),
        area="message",
        outcome=outcome,
        message="" if m.conformant else message_summary(m) + _refused(m),
        checks=inspected.checks
        or [
            Check(
                step="check",
                expectation=f"passes the {session.profile} checks",
                passed=m.conformant,
                detail=message_summary(m),
            )
        ],
        findings=inspected.findings,
        evidence=[
            evidence_of(c, f"vendor {c.operation} #{n}", session.preview)
            for n, c in enumerate(m.calls[:5], 1)
        ],
        facts={
            **inspected.facts,
            "kind": inspected.kind,
            "doc_id": m.doc_id,
            "document_id": inspected.document_id,
            "status_code": inspected.status_code,
            "response_for": inspected.response_for,
            "from": inspected.from_organ,
            "to": inspected.to_organs,
            "sha256": m.sha256,
            "size": m.size,
            "axis": _axis(m),
            "times_sent": len(m.calls),
            "delivered_to_partner": m.delivered_at is not None,
            "seen_at_s": m.seen_at,
        },
    )


def build_report(ledger: Ledger, session: Session) -> Report:
    """The whole report as it stands (safe to call while the session runs)."""
    with ledger.lock:
        results = expectation_results(ledger, session)
        if ledger.problems or ledger.not_done:
            results.append(_script_result(ledger))
        results += [message_result(m, session) for m in ledger.messages]
        started = dt.datetime.fromtimestamp(ledger.began, dt.UTC)
        finished = (
            started + dt.timedelta(seconds=ledger.ended_at) if ledger.ended_at is not None else None
        )
        return Report(
            kind="counterparty",
            title=f"Counterparty session: {session.partner_organ} as the partner of "
            f"{session.vendor_system}",
            target=redact_url(session.url) + " (lgsp sandbox, started by the kit)",
            profile=session.profile,
            lgsp_version=__version__,
            started_at=started,
            finished_at=finished,
            results=results,
            settings={
                "vendor_system": session.vendor_system,
                "vendor_organs": list(session.vendor_organs),
                "partner_organ": session.partner_organ,
                "partner_system": session.partner_system,
                "script": session.script.model_dump(mode="json"),
                "ended": ledger.ended or "running",
                "partner_sent": len(ledger.items),
                "vendor_messages": len(ledger.messages),
            },
        )


def _script_result(ledger: Ledger) -> CaseResult:
    checks = [
        Check(step="partner", expectation=problem, passed=False, detail="")
        for problem in ledger.problems
    ] + [
        Check(step="partner", expectation=f"{action} not sent", passed=True, detail=why)
        for action, why in ledger.not_done.items()
    ]
    return CaseResult(
        id="counterparty.partner.script",
        title="The partner carries out its script",
        purpose="What the kit's partner could not do: a failure here is the kit's or the "
        "sandbox's, or follows from what the vendor did not do.",
        area="counterparty",
        outcome="error" if ledger.problems else "pass",
        message=listed(ledger.problems)
        if ledger.problems
        else listed([f"{a}: {w}" for a, w in ledger.not_done.items()]),
        checks=checks,
    )
