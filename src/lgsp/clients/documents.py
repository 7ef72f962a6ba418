"""``client.documents``: send, list, download, acknowledge and receive edXML packages.

The methods are thin: each builds a flow (:mod:`lgsp.clients._documents_flows`) and the
client drives it, blocking or on the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from lgsp.clients._documents_flows import DocumentFlows, PackageLike
from lgsp.clients._runner import AsyncRunner, SyncRunner
from lgsp.clients.models import (
    AckStatus,
    Delivery,
    ReceivedItem,
    ReceiveReport,
    SendOutcome,
    SentItem,
)

__all__ = ["AsyncDocuments", "Documents"]


class Documents(SyncRunner):
    """Document exchange over VXP, straight or through an LGSP gateway (blocking)."""

    def __init__(self, flows: Callable[[], DocumentFlows], runner: Any) -> None:
        super().__init__(runner)
        self._flows = flows

    def send(
        self,
        package: PackageLike,
        *,
        sender: str | None = None,
        receivers: Sequence[str] | None = None,
        message_type: str | None = None,
        message_id: str | None = None,
    ) -> SendOutcome:
        """Send a document or status package (a model, bytes or a path).

        With an outbox, the package is stored durably first and delivered once per payload
        hash. Returns what the remote said; raises TransportError when the call did not
        complete (``error.sent`` tells whether it may have reached the remote)."""
        result: SendOutcome = self._run(
            self._flows().send(
                package,
                sender=sender,
                receivers=receivers,
                message_type=message_type,
                message_id=message_id,
            )
        )
        return result

    def deliver_pending(self, limit: int | None = None) -> list[SendOutcome]:
        """Deliver what the outbox holds (for instance after a restart)."""
        result: list[SendOutcome] = self._run(self._flows().deliver_pending(limit))
        return result

    def received(
        self,
        message_type: str | None = None,
        *,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> list[ReceivedItem]:
        """``getReceivedEdocList``: packages waiting for this system."""
        result: list[ReceivedItem] = self._run(
            self._flows().received(message_type, from_date, to_date)
        )
        return result

    def sent(self, message_type: str | None = None, *, doc_id: str | None = None) -> list[SentItem]:
        """``getSentEdocList``: what this system sent and where it stands."""
        result: list[SentItem] = self._run(self._flows().sent(message_type, doc_id))
        return result

    def count(self, message_type: str = "edoc") -> int:
        """``countReceiveEdoc`` / ``countReceiveStatus``."""
        result: int = self._run(self._flows().count(message_type))
        return result

    def download(self, doc_id: str, to: str | os.PathLike[str] | IO[bytes]) -> int:
        """``getEdoc`` to a path (complete or absent) or a binary stream; returns the size."""
        result: int = self._run(self._flows().download(doc_id, to))
        return result

    def get(self, doc_id: str) -> bytes:
        """``getEdoc`` into memory (small packages; prefer :meth:`download`)."""
        import io

        buffer = io.BytesIO()
        self.download(doc_id, buffer)
        return buffer.getvalue()

    def update_status(
        self, doc_id: str, status: AckStatus | str, description: str | None = None
    ) -> dict[str, Any]:
        """``updateStatus``: acknowledge a received package (done / fail / processing)."""
        result: dict[str, Any] = self._run(self._flows().update_status(doc_id, status, description))
        return result

    def receive(
        self,
        handler: Callable[[Delivery], Any],
        *,
        message_type: str | None = None,
        verify: Callable[[Path], Any] | None = None,
        acknowledge: bool = True,
    ) -> ReceiveReport:
        """One pass of the receive loop: poll, download, verify, hand over, acknowledge.

        With an inbox, a package already handed over is recognised by its doc id and only
        acknowledged, never handed over twice. ``verify(path)`` returns a result with
        ``valid`` (``lgsp.verify_package`` fits); an invalid package is acknowledged ``fail``."""
        result: ReceiveReport = self._run(
            self._flows().receive(
                handler, message_type=message_type, verify=verify, acknowledge=acknowledge
            )
        )
        return result


class AsyncDocuments(AsyncRunner):
    """Document exchange over VXP (async); the same operations as :class:`Documents`."""

    def __init__(self, flows: Callable[[], DocumentFlows], runner: Any) -> None:
        super().__init__(runner)
        self._flows = flows

    async def send(
        self,
        package: PackageLike,
        *,
        sender: str | None = None,
        receivers: Sequence[str] | None = None,
        message_type: str | None = None,
        message_id: str | None = None,
    ) -> SendOutcome:
        """See :meth:`Documents.send`."""
        result: SendOutcome = await self._run(
            self._flows().send(
                package,
                sender=sender,
                receivers=receivers,
                message_type=message_type,
                message_id=message_id,
            )
        )
        return result

    async def deliver_pending(self, limit: int | None = None) -> list[SendOutcome]:
        result: list[SendOutcome] = await self._run(self._flows().deliver_pending(limit))
        return result

    async def received(
        self,
        message_type: str | None = None,
        *,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> list[ReceivedItem]:
        result: list[ReceivedItem] = await self._run(
            self._flows().received(message_type, from_date, to_date)
        )
        return result

    async def sent(
        self, message_type: str | None = None, *, doc_id: str | None = None
    ) -> list[SentItem]:
        result: list[SentItem] = await self._run(self._flows().sent(message_type, doc_id))
        return result

    async def count(self, message_type: str = "edoc") -> int:
        result: int = await self._run(self._flows().count(message_type))
        return result

    async def download(self, doc_id: str, to: str | os.PathLike[str] | IO[bytes]) -> int:
        result: int = await self._run(self._flows().download(doc_id, to))
        return result

    async def get(self, doc_id: str) -> bytes:
        import io

        buffer = io.BytesIO()
        await self.download(doc_id, buffer)
        return buffer.getvalue()

    async def update_status(
        self, doc_id: str, status: AckStatus | str, description: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(
            self._flows().update_status(doc_id, status, description)
        )
        return result

    async def receive(
        self,
        handler: Callable[[Delivery], Any | Awaitable[Any]],
        *,
        message_type: str | None = None,
        verify: Callable[[Path], Any] | None = None,
        acknowledge: bool = True,
    ) -> ReceiveReport:
        """See :meth:`Documents.receive`; ``handler`` may be a coroutine function."""
        result: ReceiveReport = await self._run(
            self._flows().receive(
                handler, message_type=message_type, verify=verify, acknowledge=acknowledge
            )
        )
        return result
