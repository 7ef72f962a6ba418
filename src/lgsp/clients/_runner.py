"""The two drivers a resource uses: blocking or on the event loop (flows are shared)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

from lgsp.transports.base import AsyncTransport, Transport
from lgsp.transports.flow import Observer, run, run_async

__all__ = ["AsyncRunner", "SyncRunner"]


class _HasSync(Protocol):
    @property
    def transport(self) -> Transport: ...

    @property
    def observer(self) -> Observer | None: ...


class _HasAsync(Protocol):
    @property
    def async_transport(self) -> AsyncTransport: ...

    @property
    def observer(self) -> Observer | None: ...


class SyncRunner:
    """Base of the blocking resources."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def _run(self, flow: Generator[Any, Any, Any]) -> Any:
        return run(flow, self._owner.transport, self._owner.observer)


class AsyncRunner:
    """Base of the async resources."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    async def _run(self, flow: Generator[Any, Any, Any]) -> Any:
        return await run_async(flow, self._owner.async_transport, self._owner.observer)
