"""Failure on purpose: latency, refusals (503), dropped connections, short-lived tokens.

:class:`Faults` holds the knobs; the sandbox reads them on every call, so a test changes them
while the server runs (``sandbox.state.faults.error_rate = 1.0``). :class:`FaultMiddleware`
applies them to every API route (not to ``/health``, the OpenAPI page or the WSDL):

* ``latency``: the answer waits that many seconds;
* ``error_rate``: that share of calls is answered ``503`` with ``Retry-After`` *before* any
  processing, so resending is always safe;
* ``drop_rate``: that share of calls is processed in full, then the connection is cut (TCP RST)
  instead of answering: the client cannot know whether its call took effect.

Token lifetimes (``token_lifetime``) are read by the token endpoints.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgsp.sandbox.config import FaultSettings

__all__ = ["FaultMiddleware", "Faults"]

#: Paths the faults never touch: a sandbox must stay observable while it misbehaves.
EXEMPT_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/sandbox/faults"})


@dataclasses.dataclass
class Faults:
    """The fault knobs, changeable at run time; counters say what was injected."""

    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    token_lifetime: int | None = None
    seed: int | None = None
    #: Seconds announced in ``Retry-After`` with a 503.
    retry_after: int = 1
    #: Path prefixes the faults apply to (None: every API route).
    paths: tuple[str, ...] | None = None
    errors: int = 0
    drops: int = 0
    _rng: random.Random = dataclasses.field(init=False, repr=False)
    _lock: threading.Lock = dataclasses.field(
        init=False, repr=False, default_factory=threading.Lock
    )

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault draws, not secrets

    @classmethod
    def from_settings(cls, settings: FaultSettings) -> Faults:
        return cls(
            latency=settings.latency,
            error_rate=settings.error_rate,
            drop_rate=settings.drop_rate,
            token_lifetime=settings.token_lifetime,
            seed=settings.seed,
        )

    def update(self, **knobs: Any) -> None:
        """Set several knobs at once (unknown names raise TypeError); ``seed`` reseeds."""
        for name, value in knobs.items():
            if name.startswith("_") or name not in _KNOBS:
                raise TypeError(f"no fault knob {name!r} (known: {', '.join(sorted(_KNOBS))})")
            setattr(self, name, value)
        if "seed" in knobs:
            with self._lock:
                self._rng = random.Random(self.seed)  # noqa: S311

    def reset(self) -> None:
        """No fault at all, counters kept."""
        self.update(latency=0.0, error_rate=0.0, drop_rate=0.0, token_lifetime=None, paths=None)

    def snapshot(self) -> dict[str, Any]:
        """The knobs and counters as JSON-ready values."""
        return {
            "latency": self.latency,
            "error_rate": self.error_rate,
            "drop_rate": self.drop_rate,
            "token_lifetime": self.token_lifetime,
            "seed": self.seed,
            "retry_after": self.retry_after,
            "paths": list(self.paths) if self.paths is not None else None,
            "errors": self.errors,
            "drops": self.drops,
        }

    def applies_to(self, path: str) -> bool:
        if path in EXEMPT_PATHS:
            return False
        return self.paths is None or any(path.startswith(p) for p in self.paths)

    def _draw(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        with self._lock:
            return self._rng.random() < rate

    def draw_error(self) -> bool:
        hit = self._draw(self.error_rate)
        if hit:
            self.errors += 1
        return hit

    def draw_drop(self) -> bool:
        hit = self._draw(self.drop_rate)
        if hit:
            self.drops += 1
        return hit


_KNOBS = frozenset(
    {"latency", "error_rate", "drop_rate", "token_lifetime", "seed", "retry_after", "paths"}
)


class _Dropped(Exception):  # noqa: N818 - signals a cut connection to the server, by design
    """Raised when the transport could not be reached: the server then closes the connection."""


class FaultMiddleware:
    """Applies the :class:`Faults` that ``faults()`` gives (asked at each call) around ``app``.

    It must be the outermost layer, handed the server's own ``send``: cutting a connection
    needs the server's transport (see :func:`_drop`).
    """

    def __init__(self, app: ASGIApp, faults: Callable[[], Faults]) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.faults()
        if scope["type"] != "http" or not faults.applies_to(scope["path"]) or _is_wsdl(scope):
            await self.app(scope, receive, send)
            return
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.draw_error():
            await _refuse(send, faults.retry_after)
            return
        if not faults.drop_rate or not faults.draw_drop():
            await self.app(scope, receive, send)
            return

        async def swallow(_message: Message) -> None:
            return None  # the answer is made, then thrown away with the connection

        await self.app(scope, receive, swallow)
        await _drop(send)


def _is_wsdl(scope: Scope) -> bool:
    return bool(scope["method"] == "GET" and scope["path"].startswith("/soap/"))


async def _refuse(send: Send, retry_after: int) -> None:
    body = json.dumps(
        {
            "status": "FAIL",
            "ErrorCode": "503",
            "ErrorDesc": "the sandbox refused the call (fault injection): try again later",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Cut the connection without a byte of answer.

    uvicorn's ``send`` is a method of its request cycle, which holds the asyncio transport:
    aborting it sends a TCP RST. Once the loop has noticed the loss, uvicorn writes nothing
    more. Under another server (or a test client) the call fails with an exception instead,
    which servers turn into a closed connection or an error.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise _Dropped("fault injection: connection dropped")
    transport.abort()
    await asyncio.sleep(0)  # let connection_lost run: uvicorn then marks the cycle disconnected
