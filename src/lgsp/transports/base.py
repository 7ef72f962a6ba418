"""The one transport interface lgsp owns: requests, responses, and the two protocols.

A :class:`Request` is plain data (method, URL, headers, a body that can be sent again) plus
``meta``: what lgsp knows about the call (operation name, VXP parameters, correlation id) for
auth schemes and logging. A :class:`Response` is what came back, read whole, or spooled to a
temporary file when the request asked for it (``spool=True``) so that a large download never
sits in memory. Adapters (httpx, aiohttp, zeep's codec, the mock) implement :class:`Transport`
or :class:`AsyncTransport`; the clients never see the library underneath.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from lgsp.errors import ProtocolError

__all__ = [
    "AUTH_TIMEOUTS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUTS",
    "AsyncTransport",
    "Request",
    "Response",
    "Timeouts",
    "Transport",
    "spool_file",
]

#: Bodies above this are refused with ProtocolError unless the request spools to disk.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: A spooled body stays in memory up to this size, then moves to a temporary file.
SPOOL_MEMORY_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed for each phase. ``total`` bounds the whole exchange, body included: a
    response that trickles in byte by byte (slow loris) is cut off when it passes."""

    connect: float = 10.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0
    total: float | None = 120.0


#: The default timeouts (immutable, shared).
DEFAULT_TIMEOUTS = Timeouts()
#: Token and login calls: short, they hold every call waiting on them.
AUTH_TIMEOUTS = Timeouts(total=30.0)


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, immutable so that a retry resends exactly the same call.

    ``content`` is bytes or a :class:`~pathlib.Path` whose file is streamed (and can be
    streamed again on a retry). ``meta`` carries ``operation`` (e.g. ``sendEdoc``),
    ``correlation_id`` and whatever an auth scheme needs (``vxp_params``, ``json``).
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes | Path = b""
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    timeouts: Timeouts = Timeouts()
    spool: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @property
    def operation(self) -> str:
        return str(self.meta.get("operation") or self.method)

    @property
    def correlation_id(self) -> str | None:
        value = self.meta.get("correlation_id")
        return str(value) if value is not None else None

    def header(self, name: str) -> str | None:
        """The last value of a header, matched case-insensitively."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found

    def replace(self, **changes: Any) -> Request:
        """A copy with some fields changed (``dataclasses.replace`` without re-running
        ``__init__``: this runs several times per call)."""
        copy = object.__new__(Request)
        for name in _REQUEST_FIELDS:
            object.__setattr__(copy, name, changes.get(name, getattr(self, name)))
        return copy

    def with_headers(self, extra: Sequence[tuple[str, str]], *, replace: bool = True) -> Request:
        """A copy with ``extra`` headers added; with ``replace``, same-named ones are dropped."""
        names = {k.lower() for k, _ in extra} if replace else set()
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in names)
        return self.replace(headers=kept + tuple(extra))

    def with_json(self, **fields: Any) -> Request:
        """A copy whose JSON body (``meta['json']``) has ``fields`` set, body re-encoded."""
        body = dict(self.meta.get("json") or {})
        body.update(fields)
        meta = {**self.meta, "json": body}
        return self.replace(content=encode_json(body), meta=meta)

    def with_meta(self, **fields: Any) -> Request:
        return self.replace(meta={**self.meta, **fields})

    def body_size(self) -> int:
        if isinstance(self.content, Path):
            return self.content.stat().st_size
        return len(self.content)

    def iter_content(self, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """The body in chunks; a file body is opened afresh on each call."""
        if isinstance(self.content, Path):
            with self.content.open("rb") as handle:
                while chunk := handle.read(chunk_size):
                    yield chunk
        elif self.content:
            yield self.content


_REQUEST_FIELDS = tuple(f.name for f in dataclasses.fields(Request))


def encode_json(body: Any) -> bytes:
    """JSON the way lgsp sends it: UTF-8, Vietnamese kept as text, no spaces."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def spool_file() -> IO[bytes]:
    """A temporary file that stays in memory until it grows past 1 MiB."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)


@dataclasses.dataclass(slots=True)
class Response:
    """One HTTP response. ``content`` holds the body, or ``b""`` when it was spooled to
    ``body_file`` (positioned at 0; the caller owns and closes it)."""

    status_code: int
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes = b""
    request: Request | None = None
    body_file: IO[bytes] | None = None
    elapsed: float = 0.0
    #: Set by the retry flow: whether sending the call once more could not duplicate it.
    retry_safe: bool | None = None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def read(self) -> bytes:
        """The whole body, reading a spooled file if there is one."""
        if self.body_file is not None:
            self.body_file.seek(0)
            data = self.body_file.read()
            self.body_file.seek(0)
            return data
        return self.content

    def json(self) -> Any:
        """The body as JSON; anything else is a :class:`~lgsp.errors.ProtocolError`."""
        data = self.read()
        request = self.request
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            preview = data[:60]
            raise ProtocolError(
                f"the response is not JSON ({exc}); it starts {preview!r}",
                operation=request.operation if request else None,
                url=request.url if request else None,
                status_code=self.status_code,
            ) from exc

    def close(self) -> None:
        if self.body_file is not None:
            self.body_file.close()
            self.body_file = None


@runtime_checkable
class Transport(Protocol):
    """Sends one request and returns its response; raises only lgsp errors."""

    def handle(self, request: Request) -> Response: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    """The async twin of :class:`Transport`."""

    async def handle_async(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...
