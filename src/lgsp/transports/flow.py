"""Multi-step calls written once, as generators, and the thin drivers that run them.

A flow is a generator that yields *effects* and receives their results:

* a :class:`~lgsp.transports.base.Request` → the :class:`~lgsp.transports.base.Response`
  (or a :class:`~lgsp.errors.TransportError` thrown into the flow);
* :class:`Sleep` → ``None`` after the pause (retry backoff);
* :class:`Exclusive` → the value of a sub-flow run while holding a lock, so that a token
  refresh happens once however many calls need it;
* :class:`Invoke` → the value of a plain function call (the async driver awaits a coroutine
  and runs ``blocking`` work in a thread): handing a package to the caller's handler, writing
  a file.

:func:`run` drives a flow over a :class:`~lgsp.transports.base.Transport`, :func:`run_async`
over an :class:`~lgsp.transports.base.AsyncTransport`; the logic — auth, retries, the receive
loop — lives in the flows, never twice. Every exchange is reported to an :class:`Observer`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping
from typing import Any, Protocol, TypeVar

from lgsp.errors import LgspError
from lgsp.transports.base import AsyncTransport, Request, Response, Transport

__all__ = [
    "Effect",
    "Exclusive",
    "Flow",
    "FlowLock",
    "Invoke",
    "Observer",
    "Sleep",
    "run",
    "run_async",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


class FlowLock:
    """A lock usable from threads and from any event loop (one asyncio.Lock per loop)."""

    def __init__(self) -> None:
        self.thread_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._loop_locks = weakref.WeakKeyDictionary()

    def for_loop(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self.thread_lock:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock


@dataclasses.dataclass(frozen=True, slots=True)
class Exclusive:
    lock: FlowLock
    flow: Generator[Any, Any, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Invoke:
    func: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    blocking: bool = False

    def __call__(self) -> Any:
        return self.func(*self.args, **self.kwargs)


Effect = Request | Sleep | Exclusive | Invoke
Flow = Generator[Effect, Any, T]


class Observer(Protocol):
    """Told of every exchange; :class:`~lgsp.transports.observe.CallLog` is the default."""

    def exchange(
        self,
        request: Request,
        response: Response | None,
        error: LgspError | None,
        duration: float,
    ) -> None: ...


def _not_an_effect(effect: object) -> None:
    raise TypeError(f"a flow yielded {effect!r}, which is not an effect")


def _send(transport: Transport, request: Request, observer: Observer | None) -> Response:
    started = time.perf_counter()
    try:
        response = transport.handle(request)
    except LgspError as exc:
        if observer is not None:
            observer.exchange(request, None, exc, time.perf_counter() - started)
        raise
    response.elapsed = time.perf_counter() - started
    if observer is not None:
        observer.exchange(request, response, None, response.elapsed)
    return response


def run(flow: Flow[T], transport: Transport, observer: Observer | None = None) -> T:
    """Drive ``flow`` to its end with blocking I/O; return its value."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            if isinstance(effect, Request):
                value = _send(transport, effect, observer)
            elif isinstance(effect, Sleep):
                time.sleep(max(0.0, effect.seconds))
            elif isinstance(effect, Exclusive):
                with effect.lock.thread_lock:
                    value = run(effect.flow, transport, observer)
            elif isinstance(effect, Invoke):
                value = effect()
            else:  # pragma: no cover - a flow bug, not an input
                _not_an_effect(effect)
        except Exception as exc:  # noqa: BLE001 - thrown back into the flow, which decides
            error = exc


async def _send_async(
    transport: AsyncTransport, request: Request, observer: Observer | None
) -> Response:
    started = time.perf_counter()
    try:
        response = await transport.handle_async(request)
    except LgspError as exc:
        if observer is not None:
            observer.exchange(request, None, exc, time.perf_counter() - started)
        raise
    response.elapsed = time.perf_counter() - started
    if observer is not None:
        observer.exchange(request, response, None, response.elapsed)
    return response


async def run_async(
    flow: Flow[T], transport: AsyncTransport, observer: Observer | None = None
) -> T:
    """Drive ``flow`` to its end on the running event loop; return its value."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            if isinstance(effect, Request):
                value = await _send_async(transport, effect, observer)
            elif isinstance(effect, Sleep):
                await asyncio.sleep(max(0.0, effect.seconds))
            elif isinstance(effect, Exclusive):
                async with effect.lock.for_loop():
                    value = await run_async(effect.flow, transport, observer)
            elif isinstance(effect, Invoke):
                value = await asyncio.to_thread(effect) if effect.blocking else effect()
                if inspect.isawaitable(value):
                    value = await value
            else:  # pragma: no cover - a flow bug, not an input
                _not_an_effect(effect)
        except Exception as exc:  # noqa: BLE001 - thrown back into the flow, which decides
            error = exc
