"""The partner's agent: what the kit's partner agency does in a counterparty session.

It keeps the ledger up to date with the vendor's calls (sent, fetched, acknowledged), takes
what the vendor sent from the partner's inbox and acknowledges it, and carries out the
script's actions — documents, statuses, a revoke, a recall — through an :class:`lgsp.Client`
acting as the partner, like any agency's system would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lgsp.conformance._counterparty_ledger import PartnerItem, VendorMessage
from lgsp.conformance._counterparty_packages import Action, PartnerPackages
from lgsp.conformance._counterparty_watch import Call
from lgsp.errors import LgspError

if TYPE_CHECKING:
    from lgsp.conformance.counterparty import Counterparty

__all__ = ["PartnerAgent"]

_ATTEMPTS = 3


class PartnerAgent:
    """The partner's behaviour over a :class:`~lgsp.conformance.counterparty.Counterparty`."""

    def __init__(self, session: Counterparty) -> None:
        self.s = session
        self.ledger = session.ledger
        self.packages = PartnerPackages(
            session.vendor, session.partner, sign=session.script.sign, run_no=session.run_no
        )
        self._sent_documents: list[PartnerItem] = []
        #: Inbox doc ids to leave alone (an earlier session's), and those taken already.
        self.ignored: set[str] = set()
        self.taken: set[str] = set()
        #: The follow-ups (revoke, recall) scheduled.
        self.planned: set[str] = set()

    # -- the script ------------------------------------------------------------------------

    def begin(self) -> None:
        """Schedule the documents sent at the start."""
        count = self.s.script.documents
        for index in range(count):
            self.s.schedule(
                0.0,
                Action(0.0, 0, f"document {index + 1} of {count}", self.packages.document(index)),
            )
        self.s.event(
            "session",
            f"partner {self.s.partner.organ} ready: {count} document(s) to send to the vendor, "
            f"expecting at least {self.s.script.vendor_documents} from it",
        )

    def carry_out(self, action: Action) -> bool:
        """Send what ``action`` builds; True when it should be tried again later."""
        if action.outgoing is None:
            try:
                action.outgoing = action.build()
            except Exception as exc:  # noqa: BLE001 - an odd package of the vendor's to answer
                # must not end the session: the partner gives this answer up and says why.
                action.attempts = _ATTEMPTS - 1
                return self._failed(action, f"cannot build it: {type(exc).__name__}: {exc}")
        out = action.outgoing
        try:
            if out.route is not None:
                sender, receivers, kind = out.route
                outcome = self.s.client.documents.send(
                    out.data, sender=sender, receivers=receivers, message_type=kind
                )
            else:
                outcome = self.s.client.documents.send(out.data)
        except LgspError as exc:
            return self._failed(action, f"{type(exc).__name__}: {exc}")
        if not outcome.accepted or not outcome.doc_id:
            return self._failed(action, f"the axis refused it: {outcome.code} {outcome.message}")
        item = out.item
        with self.ledger.lock:
            item.doc_id, item.sent_at = outcome.doc_id, self.ledger.now()
        self.ledger.add_item(item)
        if item.kind == "document":
            self._sent_documents.append(item)
        self.s.event("partner", f"sent {item.label} to {item.organ} (doc {item.doc_id})", "ok")
        return False

    def _failed(self, action: Action, why: str) -> bool:
        action.attempts += 1
        if action.attempts < _ATTEMPTS:
            self.s.event(
                "partner", f"could not send {action.label} ({why}); trying again", "problem"
            )
            return True
        with self.ledger.lock:
            self.ledger.problems.append(f"{action.label} could not be sent: {why}")
        self.s.event("partner", f"gave up sending {action.label}: {why}", "problem")
        return False

    def follow_ups(self) -> None:
        """The revoke and the recall, once the vendor has handled the document they are about."""
        script, docs = self.s.script, self._sent_documents
        if not docs:
            return
        for name, wanted, target, after, build in (
            ("revoke", script.revoke, docs[0], script.revoke_after, self.packages.revoke),
            ("recall", script.recall, docs[-1], script.recall_after, self.packages.recall),
        ):
            if wanted and name not in self.planned and self._handled(target):
                self.planned.add(name)
                self.s.schedule(after, Action(0.0, 0, f"{name} of {target.label}", build(target)))

    def _handled(self, item: PartnerItem) -> bool:
        with self.ledger.lock:
            done = item.ack_status == "done"
        return done and all(
            self.ledger.replied(item.document_id, code) is not None
            for code in self.s.script.vendor_replies
        )

    def script_done(self) -> bool:
        """Every scripted send made (or given up on)."""
        script = self.s.script
        if len(self._sent_documents) < script.documents and not self.ledger.problems:
            return False
        if not self._sent_documents:
            return True
        return all(
            not wanted or name in self.planned
            for name, wanted in (("revoke", script.revoke), ("recall", script.recall))
        )

    def finish(self) -> None:
        """Record which follow-ups were never sent, and why."""
        script, docs = self.s.script, self._sent_documents
        for name, wanted, target in (
            ("revoke", script.revoke, docs[0] if docs else None),
            ("recall", script.recall, docs[-1] if docs else None),
        ):
            sent = any(i.kind == name for i in self.ledger.items)
            if not wanted or sent:
                continue
            why = (
                "the partner sent no document"
                if target is None
                else f"the vendor never handled {target.label} (acknowledged done and answered "
                f"{', '.join(script.vendor_replies) or 'nothing required'})"
                if name not in self.planned
                else "it was due after the session ended"
            )
            with self.ledger.lock:
                self.ledger.not_done[name] = why

    # -- what the vendor does ----------------------------------------------------------------

    def on_call(self, call: Call) -> None:
        """Record one of the vendor's calls."""
        op = call.operation.lower()
        if op == "sendedoc":
            self._on_send(call)
        elif op in ("getedoc", "downloadedoc", "updatestatus"):
            self._on_doc_call(call, op)
        elif not call.ok:
            self.s.event("vendor", f"{call.operation} refused: {_refusal(call)}", "problem")

    def _on_send(self, call: Call) -> None:
        if call.body is None:
            self.s.event(
                "vendor",
                f"sent a package of {call.body_size} bytes, too large to keep: it is checked "
                "from the partner's inbox if it arrives",
                "problem",
            )
            return
        message, _ = self.ledger.message(call.body, "sendEdoc body", self.s.profile)
        call.release(self.s.preview)
        answer = call.answer_json()
        with self.ledger.lock:
            message.calls.append(call)
            if call.ok and answer.get("DocId") is not None:
                message.doc_id, message.refused = str(answer["DocId"]), None
            elif not call.ok:
                message.refused = _refusal(call)
        axis = f"accepted as doc {message.doc_id}" if call.ok else f"refused {message.refused}"
        again = " again" if len(message.calls) > 1 else ""
        self.s.event(
            "vendor",
            f"sent{again} {message.label} → {_summary(message)}; axis: {axis}",
            "ok" if message.conformant and call.ok else "problem",
        )

    def _on_doc_call(self, call: Call, op: str) -> None:
        doc_id = call.doc_id
        item = self.ledger.by_doc.get(doc_id or "")
        if not call.ok:
            self.s.event(
                "vendor", f"{call.operation} doc {doc_id} refused: {_refusal(call)}", "problem"
            )
            return
        if item is None:
            return
        now = self.ledger.now()
        if op == "updatestatus":
            status = (call.params.get("status") or "").strip().strip('"').lower()
            with self.ledger.lock:
                item.ack_status, item.ack_call = status, call
                if status == "done" and item.acked_at is None:
                    item.acked_at = now
            self.s.event("vendor", f"acknowledged {item.label} (doc {doc_id}): {status}", "ok")
            return
        with self.ledger.lock:
            first = item.fetched is None
            if first:
                item.fetched, item.fetched_at = call, now
        if first:
            self.s.event("vendor", f"fetched {item.label} (doc {doc_id})", "ok")

    def poll_inbox(self) -> None:
        """Take what the vendor sent from the partner's inbox, check it, acknowledge it."""
        documents = self.s.client.documents
        try:
            waiting = documents.received()
        except LgspError as exc:
            self.s.event("partner", f"could not poll its inbox: {exc}", "problem")
            return
        for entry in waiting:
            doc_id = entry.doc_id
            if doc_id in self.ignored or doc_id in self.taken:
                continue
            try:
                data = documents.get(doc_id)
            except LgspError as exc:
                self.s.event("partner", f"could not download doc {doc_id}: {exc}", "problem")
                continue
            message, _ = self.ledger.message(data, f"doc {doc_id}", self.s.profile)
            with self.ledger.lock:
                first = message.delivered_at is None
                message.doc_id = message.doc_id or doc_id
                if first:
                    message.delivered_at = self.ledger.now()
            readable = message.inspected.unreadable is None
            try:
                documents.update_status(
                    doc_id,
                    "done" if readable else "fail",
                    None if readable else "the package cannot be read",
                )
            except LgspError as exc:
                self.s.event("partner", f"could not acknowledge doc {doc_id}: {exc}", "problem")
                continue
            self.taken.add(doc_id)
            if first:
                self._received(message, doc_id)

    def _received(self, message: VendorMessage, doc_id: str) -> None:
        self.s.event(
            "partner",
            f"received {message.label} (doc {doc_id}) → {_summary(message)}; acknowledged",
            "ok" if message.conformant else "problem",
        )
        inspected = message.inspected
        if inspected.kind == "document" and inspected.business in (None, 0):
            for reply in self.s.script.replies:
                self.s.schedule(
                    reply.after,
                    Action(
                        0.0,
                        0,
                        f"status {reply.code} for {message.label}",
                        self.packages.status(message, reply.code),
                    ),
                )


def _summary(message: VendorMessage) -> str:
    inspected = message.inspected
    if inspected.unreadable is not None:
        return f"unreadable ({inspected.unreadable})"
    errors = sum(1 for f in inspected.findings if f.severity == "error")
    warnings = sum(1 for f in inspected.findings if f.severity == "warning")
    if not errors:
        return f"conformant ({warnings} warning(s))"
    rules = ", ".join(dict.fromkeys(f.rule for f in inspected.findings if f.severity == "error"))
    return f"{errors} error(s): {rules}"


def _refusal(call: Call) -> str:
    answer = call.answer_json()
    why = answer.get("ErrorDesc") or answer.get("fault") or ""
    return f"{call.status} {why}".strip()
