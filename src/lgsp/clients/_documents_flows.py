"""Document exchange as flows: send (through the outbox), list, download, acknowledge, receive.

Written once, driven by :class:`~lgsp.clients.documents.Documents` (blocking) and
:class:`~lgsp.clients.documents.AsyncDocuments`. Blocking work — writing the package,
hashing it, reading and verifying a download, the outbox's SQLite — goes through
:class:`~lgsp.transports.flow.Invoke` so the async client runs it in a thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import IO, Any

from lgsp.clients._core import VxpService, execute, ready
from lgsp.clients.models import (
    AckStatus,
    Delivery,
    MessageType,
    ReceivedItem,
    ReceiveReport,
    SendOutcome,
    SentItem,
)
from lgsp.documents import DocumentPackage, StatusPackage, package_to_bytes, read_package
from lgsp.errors import (
    ConfigurationError,
    LgspError,
    RemoteServiceError,
    TransportError,
)
from lgsp.transports.base import Response
from lgsp.transports.flow import Effect, Invoke
from lgsp.transports.retry import RetryPolicy, call
from lgsp.transports.vxp_signing import sdk_hex

__all__ = ["DocumentFlows", "Payload", "prepare_payload"]

Flow = Generator[Effect, Any, Any]
PackageLike = DocumentPackage | StatusPackage | bytes | str | os.PathLike[str]


@dataclasses.dataclass(frozen=True, slots=True)
class Payload:
    """A package ready to send: its bytes (or file), hashes, addressing."""

    content: bytes | Path
    sha256: str
    sdk_hash: str
    sender: str
    receivers: tuple[str, ...]
    message_type: str


def _addressing(pkg: DocumentPackage | StatusPackage) -> tuple[str | None, list[str], str]:
    if isinstance(pkg, StatusPackage):
        to = [pkg.header.response_for.organ_id] if pkg.header.response_for.organ_id else []
        return pkg.header.from_.organ_id, [c for c in to if c], MessageType.STATUS
    receivers = [o.organ_id for o in pkg.header.to if o.organ_id]
    return pkg.header.from_.organ_id, receivers, MessageType.EDOC


def _hashes(content: bytes | Path) -> tuple[str, str]:
    digest = hashlib.sha256()
    if isinstance(content, bytes):
        digest.update(content)
    else:
        with content.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    raw = digest.digest()
    return raw.hex(), sdk_hex(raw)


def prepare_payload(
    package: PackageLike,
    *,
    sender: str | None = None,
    receivers: Sequence[str] | None = None,
    message_type: str | None = None,
) -> Payload:
    """Bytes, hashes and addressing of ``package`` (a model is written strictly first; bytes
    or a file are read for their header unless ``sender`` and ``receivers`` are given)."""
    content: bytes | Path
    if isinstance(package, DocumentPackage | StatusPackage):
        model: DocumentPackage | StatusPackage | None = package
        content = package_to_bytes(package)
    else:
        content = package if isinstance(package, bytes) else Path(package)
        model = None
        if sender is None or not receivers or message_type is None:
            model = read_package(content)
    if model is not None:
        found_sender, found_receivers, found_type = _addressing(model)
        sender = sender or found_sender
        receivers = receivers or found_receivers
        message_type = message_type or found_type
    if not sender:
        raise ConfigurationError("the package names no sender (From/OrganId)", field="sender")
    if not receivers:
        raise ConfigurationError("the package names no receiver (To/OrganId)", field="receivers")
    sha, sdk = _hashes(content)
    return Payload(
        content, sha, sdk, sender, tuple(receivers), str(message_type or MessageType.EDOC)
    )


def _outcome(
    payload: Payload,
    message_id: str,
    response: Response | None,
    data: dict[str, Any] | None,
    error: RemoteServiceError | None,
) -> SendOutcome:
    request = response.request if response is not None else None
    attempts = int(request.meta.get("attempt", 1)) if request is not None else 1
    if error is not None:
        return SendOutcome(
            False,
            None,
            "FAIL",
            error.code,
            error.message,
            error.retry_safe,
            message_id,
            payload.sha256,
            attempts,
            request=request,
            response=response,
        )
    data = data or {}
    doc_id = data.get("DocId", data.get("docId", data.get("doc_id")))
    return SendOutcome(
        True,
        None if doc_id is None else str(doc_id),
        str(data.get("status") or "OK"),
        None if data.get("ErrorCode") is None else str(data.get("ErrorCode")),
        data.get("ErrorDesc") or None,
        True,
        message_id,
        payload.sha256,
        attempts,
        request=request,
        response=response,
    )


class DocumentFlows:
    """The flows of :class:`~lgsp.clients.documents.Documents` over one VXP service."""

    def __init__(
        self,
        service: VxpService,
        policy: RetryPolicy,
        *,
        outbox: Any = None,
        inbox: Any = None,
        download_dir: Path | None = None,
        lease_seconds: float = 300.0,
    ) -> None:
        self.lease_seconds = lease_seconds
        self.service = service
        self.policy = policy
        self.outbox = outbox
        self.inbox = inbox
        self.download_dir = download_dir

    def _ready(self) -> Flow:
        yield from ready(self.service)

    # -- sending ---------------------------------------------------------------------------

    def _send_once(self, payload: Payload, message_id: str) -> Flow:
        yield from self._ready()
        codec, service = self.service.codec, self.service
        operation = codec.send(
            payload.content,
            sender=payload.sender,
            receivers=payload.receivers,
            message_type=payload.message_type,
            payload_hash=payload.sdk_hash,
            message_id=message_id,
        )
        response = yield from call(
            operation.request,
            auth=service.auth,
            policy=self.policy,
            idempotent=service.dedupes_by_hash,
        )
        try:
            data = operation.parse(response)
        except RemoteServiceError as exc:
            return _outcome(payload, message_id, response, None, exc)
        finally:
            response.close()
        return _outcome(payload, message_id, response, data, None)

    def send(
        self,
        package: PackageLike,
        *,
        sender: str | None = None,
        receivers: Sequence[str] | None = None,
        message_type: str | None = None,
        message_id: str | None = None,
    ) -> Flow:
        payload = yield Invoke(
            lambda: prepare_payload(
                package, sender=sender, receivers=receivers, message_type=message_type
            ),
            blocking=True,
        )
        if self.outbox is None:
            return (yield from self._send_once(payload, message_id or uuid.uuid4().hex))
        entry = yield Invoke(
            lambda: self.outbox.put(
                payload.content,
                operation="sendEdoc",
                message_id=message_id,
                params={
                    "from": payload.sender,
                    "to": list(payload.receivers),
                    "messagetype": payload.message_type,
                },
            ),
            blocking=True,
        )
        if entry.state == "delivered":
            return SendOutcome(
                True,
                entry.remote_id,
                "OK",
                None,
                "already delivered",
                True,
                entry.message_id,
                payload.sha256,
                entry.attempts,
                duplicate=True,
            )
        claimed = yield Invoke(
            lambda: self.outbox.claim(sha256=payload.sha256, lease_seconds=self.lease_seconds),
            blocking=True,
        )
        if claimed is None:  # another worker holds it, or it waits for a later retry
            return SendOutcome(
                False,
                None,
                "QUEUED",
                None,
                "queued in the outbox",
                True,
                entry.message_id,
                payload.sha256,
                entry.attempts,
            )
        return (yield from self._deliver(claimed, payload))

    def _deliver(self, entry: Any, payload: Payload) -> Flow:
        """Send one claimed outbox entry and record what happened."""
        outbox = self.outbox
        try:
            outcome = yield from self._send_once(payload, entry.message_id)
        except TransportError as exc:
            reason = str(exc)
            if not exc.sent or self.service.dedupes_by_hash:
                retry_at = self.policy.backoff(entry.attempts) + _now()
                yield Invoke(
                    outbox.release,
                    (entry.payload_sha256,),
                    {"error": reason, "retry_at": retry_at},
                    blocking=True,
                )
            else:
                uncertain = (
                    f"uncertain: {reason} — the axis may hold it; check the sent list, then requeue"
                )
                yield Invoke(
                    outbox.mark_failed, (entry.payload_sha256,), {"error": uncertain}, blocking=True
                )
            raise
        if outcome.accepted:
            yield Invoke(
                lambda: outbox.mark_delivered(entry.payload_sha256, remote_id=outcome.doc_id),
                blocking=True,
            )
        elif outcome.retry_safe:
            retry_at = self.policy.backoff(entry.attempts) + _now()
            yield Invoke(
                lambda: outbox.release(
                    entry.payload_sha256, error=outcome.message or "refused", retry_at=retry_at
                ),
                blocking=True,
            )
        else:
            yield Invoke(
                lambda: outbox.mark_failed(
                    entry.payload_sha256, error=outcome.message or "refused"
                ),
                blocking=True,
            )
        # attempts: this delivery's calls plus the outbox's earlier deliveries of the entry
        return dataclasses.replace(outcome, attempts=outcome.attempts + entry.attempts - 1)

    def deliver_pending(self, limit: int | None = None) -> Flow:
        """Send what the outbox holds (after a restart, too), one entry at a time.

        An entry whose sender died mid-send is resent only when the receiver deduplicates by
        payload hash; otherwise it is held as failed ("uncertain") for an operator to check
        and requeue, because a blind resend could make a second copy.
        """
        outbox = self.outbox
        if outbox is None:
            raise ConfigurationError("deliver_pending needs an outbox", field="outbox_path")
        outcomes: list[SendOutcome] = []
        while limit is None or len(outcomes) < limit:
            entry = yield Invoke(
                lambda: outbox.claim(lease_seconds=self.lease_seconds), blocking=True
            )
            if entry is None:
                break
            if getattr(entry, "recovered", False) and not self.service.dedupes_by_hash:
                yield Invoke(
                    lambda e=entry: outbox.mark_failed(
                        e.payload_sha256,
                        error="uncertain: the sending process stopped mid-send; check the sent "
                        "list, then requeue",
                    ),
                    blocking=True,
                )
                continue
            params = entry.params
            sdk = sdk_hex(bytes.fromhex(entry.payload_sha256))
            payload = Payload(
                Path(entry.payload_path),
                entry.payload_sha256,
                sdk,
                str(params.get("from")),
                tuple(params.get("to") or ()),
                str(params.get("messagetype") or MessageType.EDOC),
            )
            try:
                outcomes.append((yield from self._deliver(entry, payload)))
            except TransportError:
                continue
        return outcomes

    # -- listing and acknowledging -----------------------------------------------------------

    def received(
        self,
        message_type: str | None = None,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> Flow:
        yield from self._ready()
        op = self.service.codec.received_list(
            message_type=message_type, from_date=from_date, to_date=to_date
        )
        items: list[ReceivedItem] = yield from execute(op, self.service.auth, self.policy)
        return items

    def sent(self, message_type: str | None = None, doc_id: str | None = None) -> Flow:
        yield from self._ready()
        op = self.service.codec.sent_list(message_type=message_type, doc_id=doc_id)
        items: list[SentItem] = yield from execute(op, self.service.auth, self.policy)
        return items

    def count(self, message_type: str = "edoc") -> Flow:
        yield from self._ready()
        return (
            yield from execute(
                self.service.codec.count(message_type), self.service.auth, self.policy
            )
        )

    def update_status(
        self, doc_id: str, status: AckStatus | str, description: str | None = None
    ) -> Flow:
        yield from self._ready()
        op = self.service.codec.update_status(
            doc_id, AckStatus(status).value, description=description
        )
        return (yield from execute(op, self.service.auth, self.policy))

    # -- downloading -------------------------------------------------------------------------

    def download(self, doc_id: str, to: str | os.PathLike[str] | IO[bytes]) -> Flow:
        """Fetch a package to a path (written whole or not at all) or a binary stream."""
        yield from self._ready()
        codec = self.service.codec
        response = yield from call(
            codec.get(doc_id), auth=self.service.auth, policy=self.policy, idempotent=True
        )
        try:
            if isinstance(to, str | os.PathLike):
                size = yield Invoke(
                    _save, (codec.read_package_into, response, Path(to)), blocking=True
                )
            else:
                size = yield Invoke(codec.read_package_into, (response, to), blocking=True)
        finally:
            response.close()
        return size

    # -- the receive loop --------------------------------------------------------------------

    def receive(
        self,
        handler: Callable[[Delivery], Any],
        *,
        message_type: str | None = None,
        verify: Callable[[Path], Any] | None = None,
        acknowledge: bool = True,
    ) -> Flow:
        """One pass: poll → download → verify → hand over → acknowledge, each doc id once."""
        if self.download_dir is None:
            raise ConfigurationError("receiving needs a download directory", field="download_dir")
        inbox = self.inbox
        report = ReceiveReport()
        items: list[ReceivedItem] = yield from self.received(message_type)
        for item in items:
            doc_id = item.doc_id
            state = (yield Invoke(inbox.begin, (doc_id,), blocking=True)) if inbox else "new"
            state_name = getattr(state, "value", state)
            if state_name == "handing":
                # The hand-over started before a crash and may have reached the handler:
                # not handed over again (an operator decides), not acknowledged either.
                report.interrupted.append(doc_id)
                continue
            if state_name != "new":
                report.already_handed.append(doc_id)
                if state_name == "handed" and acknowledge:
                    yield from self._acknowledge(doc_id, report)
                continue
            try:
                delivery = yield from self._fetch(item, verify)
            except LgspError as exc:
                report.failed[doc_id] = str(exc)
                continue
            if delivery is None:
                report.failed[doc_id] = "the signature did not verify"
                if acknowledge:
                    yield from execute(
                        self.service.codec.update_status(
                            doc_id, AckStatus.FAIL.value, description="signature not valid"
                        ),
                        self.service.auth,
                        self.policy,
                    )
                continue
            if inbox is not None:
                mine = yield Invoke(inbox.record_handing, (doc_id,), blocking=True)
                if not mine:  # another receiver sharing the inbox took it
                    report.already_handed.append(doc_id)
                    continue
            try:
                yield Invoke(handler, (delivery,))
            except Exception as exc:  # noqa: BLE001 - the handler's failure is reported
                report.failed[doc_id] = f"the handler failed: {exc!r}"
                if inbox is not None:
                    yield Invoke(inbox.abandon, (doc_id,), blocking=True)
                continue
            if inbox is not None:
                yield Invoke(inbox.record_handed, (doc_id,), blocking=True)
            report.handed_over.append(doc_id)
            if acknowledge:
                yield from self._acknowledge(doc_id, report)
        return report

    def _acknowledge(self, doc_id: str, report: ReceiveReport) -> Flow:
        try:
            yield from self.update_status(doc_id, AckStatus.DONE)
        except LgspError as exc:
            report.failed[doc_id] = f"handed over, but not acknowledged: {exc}"
            return
        if self.inbox is not None:
            yield Invoke(self.inbox.record_acknowledged, (doc_id,), blocking=True)
        report.acknowledged.append(doc_id)

    def _fetch(self, item: ReceivedItem, verify: Callable[[Path], Any] | None) -> Flow:
        if self.download_dir is None:  # checked by receive(); keeps the type narrow
            raise ConfigurationError("receiving needs a download directory", field="download_dir")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in item.doc_id)
        path = self.download_dir / f"{safe}.edxml"
        yield from self.download(item.doc_id, path)
        verification = None
        if verify is not None:
            verification = yield Invoke(verify, (path,), blocking=True)
            if not getattr(verification, "valid", True):
                return None
        package = yield Invoke(read_package, (path,), blocking=True)
        return Delivery(item.doc_id, path, package, verification, item)


def _now() -> float:
    import time

    return time.time()


def _save(read_into: Callable[[Response, IO[bytes]], int], response: Response, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as handle:
            size = read_into(response, handle)
            handle.flush()
            os.fsync(handle.fileno())
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return size
