"""A loopback HTTP/1.1 server whose answers, faults included, are scripted by the test.

The server listens on 127.0.0.1 (a free port), serves each connection in its own thread over
plain blocking sockets (so that a fault is exactly the bytes the test asked for), keeps
connections alive between requests, and records every request it read in full. A handler
decides each answer::

    def handler(method, path, headers, body):
        if path == "/flaky":
            return Fault.reset_before_response
        return Reply.json({"status": "OK"})

    with serve(handler) as server:
        ...  # call server.url("/flaky")
        assert server.count("/flaky") == 1

``handler`` may also be a fixed :class:`Reply` or :class:`Fault`, or :func:`script` for a
sequence of answers (the last one repeats). The faults:

========================== =============================================================
``Fault.reset_before_response``  read the request, then RST the connection (SO_LINGER 0)
``Fault.close_before_response``  read the request, then close cleanly (FIN), no answer
``Fault.hang``                   never answer (until the server stops): read timeouts
``Fault.truncated_body``         a Content-Length larger than the body sent, then FIN (or RST)
``Fault.bad_chunking``           a chunked body whose chunk-size line is not hexadecimal
``Fault.slow_loris``             headers, then the body one byte every ``seconds``
``Fault.malformed``              bytes that are not HTTP, then FIN
``Fault.delay(s, reply)``        wait ``s`` seconds, then answer ``reply``
``Fault.status(429, ...)``       a plain answer with that status (and ``Retry-After``)
========================== =============================================================

Every fault instance can be called to change its settings:
``Fault.slow_loris(seconds=0.05, size=40)``, ``Fault.truncated_body(declared=10_000)``.
``Reply.json``, ``Reply.chunked`` and ``Reply.gzip`` build common answers. ``serve(handler,
tls=context)`` speaks HTTPS. :func:`refused_port` gives a port where connections are refused,
:func:`stalled_port` one where they hang (connect timeouts).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import http
import json
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, ClassVar

__all__ = [
    "Fault",
    "LoopbackServer",
    "Received",
    "Reply",
    "refused_port",
    "script",
    "serve",
    "stalled_port",
]

Headers = tuple[tuple[str, str], ...]
_MAX_LINE = 65_536


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A normal answer. ``Content-Length`` is added unless ``headers`` carry their own."""

    status: int = 200
    headers: Headers = ()
    body: bytes = b""

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Sequence[tuple[str, str]] = ()) -> Reply:
        data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        extra = (("Content-Type", "application/json; charset=utf-8"), *headers)
        return cls(status, tuple(extra), data)

    @classmethod
    def chunked(cls, body: bytes, status: int = 200, chunk: int = 1000) -> Reply:
        """``body`` sent with ``Transfer-Encoding: chunked`` (no length known in advance)."""
        parts = [
            b"%x\r\n%s\r\n" % (len(body[i : i + chunk]), body[i : i + chunk])
            for i in range(0, len(body), chunk)
        ]
        return cls(status, (("Transfer-Encoding", "chunked"),), b"".join(parts) + b"0\r\n\r\n")

    @classmethod
    def gzip(cls, body: bytes, status: int = 200) -> Reply:
        """``body`` compressed, with ``Content-Encoding: gzip``: clients must decode it."""
        return cls(status, (("Content-Encoding", "gzip"),), gzip.compress(body))


@dataclasses.dataclass(frozen=True, slots=True)
class Fault:
    """A misbehaving answer; use the ready-made instances on the class (see the module doc)."""

    kind: str
    seconds: float = 0.0
    """``delay``: the pause before answering; ``slow_loris``: the pause between two bytes."""
    size: int = 0
    """``slow_loris``: the body length announced and trickled; ``truncated_body``: bytes sent."""
    declared: int = 0
    """``truncated_body``: the Content-Length announced (more than ``size``)."""
    data: bytes = b""
    """``malformed``: what is written instead of an HTTP response."""
    reply: Reply | None = None
    """``delay``: the answer given after the pause."""
    reset: bool = False
    """``truncated_body``: end with RST (SO_LINGER 0) rather than FIN."""

    reset_before_response: ClassVar[Fault]
    close_before_response: ClassVar[Fault]
    hang: ClassVar[Fault]
    truncated_body: ClassVar[Fault]
    bad_chunking: ClassVar[Fault]
    slow_loris: ClassVar[Fault]
    malformed: ClassVar[Fault]

    def __call__(self, **changes: Any) -> Fault:
        """The same fault with some settings changed, e.g. ``Fault.hang(seconds=...)``."""
        return dataclasses.replace(self, **changes)

    @staticmethod
    def delay(seconds: float, reply: Reply | None = None) -> Fault:
        """Wait ``seconds`` (cut short if the server stops), then answer ``reply``."""
        return Fault("delay", seconds=seconds, reply=reply or Reply(200, body=b"late"))

    @staticmethod
    def status(
        code: int,
        *,
        retry_after: str | None = None,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> Reply:
        """A plain answer with status ``code`` (e.g. 429 or 503), ``Retry-After`` if given."""
        extra = (("Retry-After", retry_after),) if retry_after is not None else ()
        return Reply(code, (*tuple(headers), *extra), body)


Fault.reset_before_response = Fault("reset")
Fault.close_before_response = Fault("close")
Fault.hang = Fault("hang")
Fault.truncated_body = Fault("truncated", size=10, declared=1_000)
Fault.bad_chunking = Fault("bad_chunking")
# 600 bytes at one per 0.1 s: a minute of trickle, far past any timeout a test sets.
Fault.slow_loris = Fault("slow_loris", seconds=0.1, size=600)
Fault.malformed = Fault("malformed", data=b"this is not HTTP at all\r\n\r\n")

Answer = Reply | Fault
Handler = Callable[[str, str, Mapping[str, str], bytes], Answer]


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """One request as the server read it; ``connection`` numbers the TCP connection (from 0)."""

    method: str
    path: str
    headers: Headers
    body: bytes
    connection: int

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


def script(*answers: Answer) -> Handler:
    """A handler giving ``answers`` in order, one per request; the last one repeats."""
    if not answers:
        raise ValueError("script() needs at least one answer")
    queue = list(answers)
    lock = threading.Lock()

    def handler(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        with lock:
            return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


class _ConnectionEndedError(Exception):
    """The client went away, or the server is stopping: end this connection's thread."""


class LoopbackServer:
    """The running server: :meth:`url`, the :attr:`requests` it read, :meth:`stop`."""

    def __init__(self, handler: Handler | Answer, tls: ssl.SSLContext | None = None) -> None:
        if isinstance(handler, Reply | Fault):
            handler = script(handler)
        self.handler: Handler = handler
        self.tls = tls
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        """Exceptions raised by the handler (the client then sees a 500)."""
        self._acceptor = threading.Thread(target=self._accept, name="loopback-accept", daemon=True)
        self._acceptor.start()

    # public API ----------------------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def requests(self) -> list[Received]:
        """Every request read in full so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def count(self, path: str | None = None) -> int:
        """How many requests arrived (for ``path`` only, query included, if given)."""
        return sum(1 for r in self.requests if path is None or r.path == path)

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted."""
        with self._lock:
            return len(self._connections)

    def stop(self) -> None:
        """Stop accepting, cut every open connection, and join the threads."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
        with contextlib.suppress(OSError):
            self._listener.close()
        # Elsewhere a blocked accept() may only wake on a connection: poke it.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            pass
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(5)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # serving -------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                conn.close()
                return
            with self._lock:
                number = len(self._connections)
                self._connections.append(conn)
                thread = threading.Thread(
                    target=self._serve, args=(conn, number), name=f"loopback-{number}", daemon=True
                )
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:  # the client refused our certificate, or hung up
                conn.close()
                return
            with self._lock:
                self._connections[number] = conn
        reader = conn.makefile("rb")
        try:
            while not self._stopping.is_set():
                received = _read_request(reader, number)
                if received is None:
                    return
                with self._lock:
                    self._requests.append(received)
                answer = self._answer(received)
                if not self._send(conn, answer):
                    return
                if (received.header("connection") or "").lower() == "close":
                    return
        except (_ConnectionEndedError, OSError, ValueError):
            return
        finally:
            reader.close()
            with contextlib.suppress(OSError):
                conn.close()

    def _answer(self, received: Received) -> Answer:
        folded: dict[str, str] = {}
        for key, value in received.headers:
            name = key.lower()
            folded[name] = f"{folded[name]}, {value}" if name in folded else value
        try:
            return self.handler(received.method, received.path, folded, received.body)
        except Exception as exc:  # noqa: BLE001 - reported to the test through .errors
            self.errors.append(exc)
            return Reply(500, body=f"handler failed: {exc!r}".encode())

    def _send(self, conn: socket.socket, answer: Answer) -> bool:
        """Write ``answer``; False when the connection must end after it."""
        if isinstance(answer, Reply):
            conn.sendall(_head(answer.status, answer.headers, len(answer.body)) + answer.body)
            return True
        if answer.kind == "delay":
            if self._stopping.wait(answer.seconds):
                raise _ConnectionEndedError
            return self._send(conn, answer.reply or Reply())
        return _play(conn, answer, self._stopping)


def _play(conn: socket.socket, fault: Fault, stopping: threading.Event) -> bool:
    """Play ``fault`` on a connection whose request was read; False: close it afterwards."""
    keep_alive = False
    match fault.kind:
        case "reset":  # closing with a zero linger sends RST instead of FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        case "close":
            pass
        case "hang":
            stopping.wait()
        case "truncated":
            conn.sendall(_head(200, (), fault.declared) + b"x" * fault.size)
            if fault.reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        case "bad_chunking":
            head = _head(200, (("Transfer-Encoding", "chunked"),), None)
            conn.sendall(head + b"4\r\nabcd\r\nzz-not-hex\r\nefgh\r\n0\r\n\r\n")
        case "slow_loris":
            conn.sendall(_head(200, (), fault.size))
            for _ in range(fault.size):
                if stopping.wait(fault.seconds):
                    break
                conn.sendall(b"x")  # raises once the client has given up
            else:
                keep_alive = True
        case "malformed":
            conn.sendall(fault.data)
        case _:
            raise ValueError(f"unknown fault {fault.kind!r}")
    return keep_alive


def _head(status: int, headers: Headers, length: int | None) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    names = {k.lower() for k, _ in headers}
    lines += [f"{k}: {v}" for k, v in headers]
    if length is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_line(reader: IO[bytes]) -> bytes:
    line = reader.readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        raise _ConnectionEndedError  # EOF mid-line, or a line too long to be a test's request
    return line.rstrip(b"\r\n")


def _read_request(reader: IO[bytes], connection: int) -> Received | None:
    first = reader.readline(_MAX_LINE)
    if not first:
        return None  # the client closed an idle keep-alive connection
    method, target, _version = first.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while line := _read_line(reader):
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    found = {k.lower(): v for k, v in headers}
    if "chunked" in found.get("transfer-encoding", "").lower():
        parts = []
        while size := int(_read_line(reader).split(b";", 1)[0], 16):
            parts.append(reader.read(size))
            _read_line(reader)
        while _read_line(reader):  # trailers
            pass
        body = b"".join(parts)
    else:
        length = int(found.get("content-length", "0"))
        body = reader.read(length) if length else b""
        if len(body) != length:
            raise _ConnectionEndedError
    return Received(method, target, tuple(headers), body, connection)


@contextlib.contextmanager
def serve(handler: Handler | Answer, tls: ssl.SSLContext | None = None) -> Iterator[LoopbackServer]:
    """Run a :class:`LoopbackServer` for the ``with`` block; stopped and joined at its end.
    With ``tls`` (a server-side ``ssl.SSLContext``) it speaks HTTPS."""
    server = LoopbackServer(handler, tls)
    try:
        yield server
    finally:
        server.stop()


_refusing: list[socket.socket] = []


def refused_port() -> int:
    """A loopback port where connections are refused: bound (so nobody else takes it for the
    life of the test session) but never listening."""
    if not _refusing:
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("127.0.0.1", 0))
        _refusing.append(holder)
    port: int = _refusing[0].getsockname()[1]
    return port


@contextlib.contextmanager
def stalled_port() -> Iterator[int]:
    """A loopback port where connecting hangs: a listener that never accepts, its one-slot
    queue filled, so the kernel drops further handshakes (connect timeouts, on Linux)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(("127.0.0.1", port))
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
