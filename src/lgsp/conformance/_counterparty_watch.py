"""What the vendor does on the axis, seen from outside the sandbox.

:class:`Watch` is an ASGI layer around the sandbox's app (the sandbox itself is not changed):
it passes every call on, and for the VXP calls of systems other than the partner's it records
a :class:`Call` — the operation, the document id, the request (a ``sendEdoc`` body whole, so
that a package the axis refuses is checked too) and the answer. It also answers
``GET /sandbox/counterparty`` (the session's report so far, as JSON) and
``GET /sandbox/counterparty/trust.pem`` (the test CA the partner signs with).

The session serves it with :class:`lgsp.sandbox.server.AppServer`, as the sandbox serves
itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgsp.transports.observe import redact, redact_body
from lgsp.transports.vxp_signing import HEADER_PREFIX

__all__ = ["REPORT_PATH", "TRUST_PATH", "Call", "Watch"]

REPORT_PATH = "/sandbox/counterparty"
TRUST_PATH = "/sandbox/counterparty/trust.pem"
_PREFIXES = ("/vxp/", "/vdxp-product/1.0/")
_PARAM = HEADER_PREFIX.lower()
#: Operations whose answer is a package: only its size is kept.
_PACKAGE_ANSWERS = frozenset({"getedoc", "downloadedoc"})


@dataclasses.dataclass(slots=True)
class Call:
    """One VXP call of the vendor, as it went over the wire."""

    operation: str
    method: str
    path: str
    system_id: str | None
    #: The call's parameters (from the ``XroadVnpt-*`` headers, names lowercased).
    params: dict[str, str]
    headers: list[tuple[str, str]]
    #: The whole body of a ``sendEdoc`` (None when it was larger than the watch keeps).
    body: bytes | None
    body_size: int
    status: int | None = None
    answer: bytes = b""
    answer_size: int = 0
    started: float = 0.0
    duration: float = 0.0
    #: The body as evidence shows it, once the body itself was let go (see :meth:`release`).
    shown_body: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def doc_id(self) -> str | None:
        value = self.params.get("docid")
        return value.strip().strip('"') if value else None

    def answer_json(self) -> dict[str, Any]:
        """The answer's envelope (``{status, ErrorCode, ErrorDesc, DocId…}``), or ``{}``."""
        try:
            data = json.loads(self.answer)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def release(self, preview: int) -> None:
        """Keep only what evidence shows of the body (a session may see many packages)."""
        if self.body is not None:
            self.shown_body = redact_body(self.body, limit=preview)
            self.body = None

    def evidence(self, step: str, preview: int) -> dict[str, Any]:
        """The fields of a :class:`~lgsp.conformance.results.Evidence`, secrets masked."""
        shown: dict[str, str] = {}
        for name, value in redact(tuple(self.headers)):
            shown[name] = f"{shown[name]}, {value}" if name in shown else str(value)
        if self.shown_body is not None:
            request_body: str | None = self.shown_body
        elif self.body is not None:
            request_body = redact_body(self.body, limit=preview)
        else:
            request_body = f"<{self.body_size} bytes, not kept>" if self.body_size else None
        if self.operation.lower() in _PACKAGE_ANSWERS and self.ok:
            response_body = f"<a package, {self.answer_size} bytes of answer>"
        else:
            response_body = redact_body(self.answer, limit=preview) if self.answer else ""
        return {
            "step": step,
            "operation": self.operation,
            "method": self.method,
            "url": self.path,
            "request_headers": shown,
            "request_body": request_body,
            "status": self.status,
            "response_body": response_body,
            "duration_ms": round(self.duration * 1000, 2),
            "started_at": dt.datetime.fromtimestamp(self.started, dt.UTC),
        }


def _params(headers: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered.startswith(_PARAM):
            found.setdefault(lowered[len(_PARAM) :], value)
    return found


def _json_params(body: bytes, params: dict[str, str]) -> None:
    """Parameters given as a JSON object body, where no header gave them (the sandbox reads
    them too)."""
    if body.lstrip()[:1] != b"{":
        return
    try:
        data = json.loads(body)
    except ValueError:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str | int):
                params.setdefault(str(key).lower(), str(value))


class Watch:
    """The sandbox app, with the vendor's VXP calls recorded and the session's own routes.

    ``on_call`` hears of each call of a system other than ``partner_system`` once it is
    answered (from the server's thread: it must be quick); ``report`` gives the current report
    as JSON text; ``max_body`` is the largest ``sendEdoc`` body kept whole."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        partner_system: str,
        on_call: Callable[[Call], None],
        report: Callable[[], str],
        trust_pem: Callable[[], bytes | None],
        max_body: int = 64 * 1024 * 1024,
        max_answer: int = 16 * 1024,
    ) -> None:
        self.app = app
        self.partner_system = partner_system
        self.on_call = on_call
        self.report = report
        self.trust_pem = trust_pem
        self.max_body = max_body
        self.max_answer = max_answer
        #: Set when the session is ready: until then the vendor's VXP calls wait (so that
        #: nothing the vendor does is mistaken for what an earlier session left).
        self.ready = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in (REPORT_PATH, TRUST_PATH) and scope["method"] == "GET":
            await self._own(path, send)
            return
        prefix = next((p for p in _PREFIXES if path.startswith(p)), None)
        if prefix is None:
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        params = _params(headers)
        system = params.get("systemid")
        system = system.strip().strip('"') if system else None
        if system == self.partner_system:
            await self.app(scope, receive, send)
            return
        while not self.ready.is_set():
            await asyncio.sleep(0.01)
        operation = path[len(prefix) :].strip("/")
        call = Call(operation, scope["method"], path, system, params, headers, b"", 0)
        recording = _Recording(self, call, receive, send)
        try:
            await self.app(scope, recording.receive, recording.send)
        finally:
            recording.tell()

    async def _own(self, path: str, send: Send) -> None:
        if path == REPORT_PATH:
            body = self.report().encode("utf-8")
            kind = b"application/json"
            status = 200
        else:
            pem = self.trust_pem()
            status = 200 if pem else 404
            body = pem or b"the partner does not sign its packages in this session\n"
            kind = b"application/x-pem-file" if pem else b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Recording:
    """One call on its way through: its body kept as it is read, its answer as it is sent."""

    def __init__(self, watch: Watch, call: Call, receive: Receive, send: Send) -> None:
        self.watch, self.call = watch, call
        self._receive, self._send = receive, send
        op = call.operation.lower()
        self.keep_body = op in ("sendedoc", "updatestatus", "getedoc", "downloadedoc")
        self.keep_answer = op not in _PACKAGE_ANSWERS
        self.chunks: list[bytes] = []
        self.told = False
        call.started = time.time()
        self.began = time.perf_counter()

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.call.body_size += len(chunk)
            if self.keep_body and self.call.body_size <= self.watch.max_body:
                self.chunks.append(chunk)
        return message

    async def send(self, message: Message) -> None:
        call = self.call
        if message["type"] == "http.response.start":
            call.status = message["status"]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            call.answer_size += len(chunk)
            room = self.watch.max_answer - len(call.answer)
            if room > 0 and self.keep_answer:
                call.answer += chunk[:room]
            if not message.get("more_body", False):
                # Told before the caller can have the whole answer: whatever the caller does
                # next, the session has heard of this call first.
                self.tell()
        await self._send(message)

    def tell(self) -> None:
        """Hand the finished call to the watch's listener (once)."""
        if self.told:
            return
        self.told = True
        call = self.call
        call.duration = time.perf_counter() - self.began
        call.body = b"".join(self.chunks) if call.body_size <= self.watch.max_body else None
        if call.body:
            _json_params(call.body, call.params)
        self.watch.on_call(call)
