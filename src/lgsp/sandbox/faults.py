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

``defects`` names deliberately wrong behaviours (:class:`Defect`) that a test team switches on to
prove its conformance suite catches them. Each is one guarded branch where the right behaviour
is decided (see the enum); only ``wrong-envelope`` lives here, as it re-dresses answers on
their way out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import html
import json
import random
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from lgsp.sandbox.config import FaultSettings

__all__ = ["DEFECTS", "Defect", "FaultMiddleware", "Faults", "check_defects"]


class Defect(enum.StrEnum):
    """A deliberately wrong behaviour of the sandbox, and where its one guarded branch is."""

    #: A package whose signature does not verify is accepted (``_readers.read_checked``).
    ACCEPT_BAD_SIGNATURE = "accept-bad-signature"
    #: A signing certificate outside its validity is accepted (``_readers.read_checked``).
    ACCEPT_EXPIRED_CERTIFICATE = "accept-expired-certificate"
    #: Bodies above ``max_package_bytes`` are taken (``_accept.package_limit``).
    IGNORE_SIZE_LIMIT = "ignore-size-limit"
    #: A receiver missing from the directory is skipped instead of refused (``_accept``).
    ACCEPT_UNKNOWN_ORGAN = "accept-unknown-organ"
    #: Validation is skipped: whatever parses is taken (``_readers.read_checked``).
    ACCEPT_INVALID_PACKAGE = "accept-invalid-package"
    #: A resend of the same bytes is stored again under a new DocId (``_accept._dedupes``).
    DUPLICATE_SEND = "duplicate-send"
    #: Status packages are accepted but delivered to nobody (``_accept.finish``).
    LOSE_STATUS = "lose-status"
    #: Documents are accepted but delivered to nobody (``_accept.finish``).
    LOSE_DOCUMENT = "lose-document"
    #: Refusals and errors come in another envelope than the service's (:class:`FaultMiddleware`).
    WRONG_ENVELOPE = "wrong-envelope"
    #: Unknown or expired bearer tokens are taken (gateway, SOAP hub, token portal).
    ACCEPT_ANY_TOKEN = "accept-any-token"  # noqa: S105 - a defect's name, not a secret
    #: The portals take any dossier status change (``_portal_common.check_move``).
    ALLOW_ILLEGAL_TRANSITION = "allow-illegal-transition"
    #: updateStatus / UpdateTraces answer OK and change nothing (``_mailbox.acknowledge``).
    ACK_WITHOUT_EFFECT = "ack-without-effect"


DEFECTS = frozenset(Defect)
"""Every defect the sandbox can play."""


def check_defects(names: Iterable[Any]) -> frozenset[str]:
    """``names`` as a frozenset of known defect names; TypeError naming the known ones if not."""
    if isinstance(names, str | bytes) or not isinstance(names, Iterable):
        raise TypeError(f"defects must be a list of names (known: {', '.join(sorted(DEFECTS))})")
    chosen = frozenset(names)
    unknown = sorted(str(name) for name in chosen - DEFECTS)
    if unknown:
        raise TypeError(
            f"no defect {', '.join(map(repr, unknown))} (known: {', '.join(sorted(DEFECTS))})"
        )
    return frozenset(Defect(name) for name in chosen)


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
    #: Path prefixes the faults apply to (None: every API route); defects ignore it.
    paths: tuple[str, ...] | None = None
    #: The wrong behaviours played (:class:`Defect` names).
    defects: frozenset[str] = frozenset()
    errors: int = 0
    drops: int = 0
    _rng: random.Random = dataclasses.field(init=False, repr=False)
    _lock: threading.Lock = dataclasses.field(
        init=False, repr=False, default_factory=threading.Lock
    )

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault draws, not secrets
        self.defects = check_defects(self.defects)

    @classmethod
    def from_settings(cls, settings: FaultSettings) -> Faults:
        return cls(
            latency=settings.latency,
            error_rate=settings.error_rate,
            drop_rate=settings.drop_rate,
            token_lifetime=settings.token_lifetime,
            seed=settings.seed,
            defects=settings.defects,
        )

    def update(self, **knobs: Any) -> None:
        """Set several knobs at once (unknown names, and unknown defects, raise TypeError);
        ``seed`` reseeds."""
        for name in knobs:
            if name.startswith("_") or name not in _KNOBS:
                raise TypeError(f"no fault knob {name!r} (known: {', '.join(sorted(_KNOBS))})")
        if "defects" in knobs:
            knobs = {**knobs, "defects": check_defects(knobs["defects"])}
        for name, value in knobs.items():
            setattr(self, name, value)
        if "seed" in knobs:
            with self._lock:
                self._rng = random.Random(self.seed)  # noqa: S311

    def reset(self) -> None:
        """No fault and no defect at all, counters kept."""
        self.update(
            latency=0.0,
            error_rate=0.0,
            drop_rate=0.0,
            token_lifetime=None,
            paths=None,
            defects=frozenset(),
        )

    def plays(self, defect: Defect) -> bool:
        """Whether the sandbox plays ``defect`` now (a set lookup: the normal path's cost)."""
        return defect in self.defects

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
            "defects": sorted(str(name) for name in self.defects),
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
    {
        "latency",
        "error_rate",
        "drop_rate",
        "token_lifetime",
        "seed",
        "retry_after",
        "paths",
        "defects",
    }
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
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS or _is_wsdl(scope):
            await self.app(scope, receive, send)
            return
        answer = send  # what the app answers through; ``send`` stays the server's own
        if faults.plays(Defect.WRONG_ENVELOPE):
            answer = _misdressed(send, scope["path"])
        if not faults.applies_to(scope["path"]):
            await self.app(scope, receive, answer)
            return
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.draw_error():
            await _refuse(send, faults.retry_after)
            return
        if not faults.drop_rate or not faults.draw_drop():
            await self.app(scope, receive, answer)
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


# -- the wrong-envelope defect --------------------------------------------------------------

_HTML_ERROR = b"<html><body>Internal Server Error</body></html>"
_FAULTSTRING = re.compile(rb"<faultstring>(.*?)</faultstring>", re.DOTALL)


def _misdressed(send: Send, path: str) -> Send:
    """``send`` with every refusal re-dressed the wrong way for the service at ``path``: the
    answer is held until its last byte, then passed on as it was or replaced."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def answer(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        wrong = _wrong_envelope(path, int(start["status"]), body)
        if wrong is None:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        status, media_type, content = wrong
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media_type.encode()),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    return answer


def _wrong_envelope(path: str, status: int, body: bytes) -> tuple[int, str, bytes] | None:
    """The wrong answer for a refusal (status, media type, body); None for a success."""
    if path.startswith("/portal"):
        # The classic adapter refuses with HTTP 200 and error_code: read the body to tell.
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return None
        code = payload.get("error_code")
        refused = status >= 400 or code not in (None, 0, "0") or payload.get("success") is False
        if not refused:
            return None
        message = payload.get("message") or payload.get("error_description") or "error"
        return status, "application/json", json.dumps({"error": str(message)}).encode()
    if status < 400:
        return None
    if path.startswith("/soap/"):
        found = _FAULTSTRING.search(body)
        text = html.unescape(found.group(1).decode("utf-8", "replace")) if found else ""
        return 500, "text/plain; charset=utf-8", (text or "Internal Server Error").encode()
    return 500, "text/html; charset=utf-8", _HTML_ERROR
