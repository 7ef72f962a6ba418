"""REST over httpx: :class:`HttpTransport` (sync) and :class:`AsyncHttpxTransport` (async).

Every httpx exception is translated here into a :class:`~lgsp.errors.TransportError` whose
``kind`` and ``sent`` say what happened and whether the request may have reached the remote
(a refused connection or a pool timeout: it did not; a reset or a read timeout: it may have).
Bodies are read under a size limit and a total deadline, so a response that never ends, or
trickles in byte by byte, is cut off with a clear error instead of holding the caller.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

import h11
import httpx

from lgsp.errors import ConfigurationError, ProtocolError, TransportError
from lgsp.transports.base import Request, Response, Timeouts, spool_file

__all__ = ["AsyncHttpxTransport", "HttpTransport", "translate_httpx_error"]


def _timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def translate_httpx_error(exc: Exception, request: Request) -> Exception:  # noqa: PLR0911
    """The lgsp error for an httpx exception raised while ``request`` was under way."""
    op, url = request.operation, request.url
    if isinstance(exc, httpx.ConnectTimeout):
        return TransportError(
            f"connect timed out: {exc}", kind="connect", operation=op, url=url, sent=False
        )
    if isinstance(exc, httpx.PoolTimeout):
        return TransportError(
            "no free connection in the pool in time",
            kind="timeout",
            operation=op,
            url=url,
            sent=False,
        )
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(
            f"timed out waiting for the remote: {exc or type(exc).__name__}",
            kind="timeout",
            operation=op,
            url=url,
        )
    if isinstance(exc, httpx.ConnectError):
        return TransportError(
            f"cannot connect: {exc}", kind="connect", operation=op, url=url, sent=False
        )
    if isinstance(exc, httpx.WriteError):
        return TransportError(
            f"connection lost while sending: {exc}", kind="write", operation=op, url=url
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        if _refused_by_parser(exc):  # a bad status line, bad framing, a body cut short
            return ProtocolError(f"the response is not valid HTTP: {exc}", operation=op, url=url)
        return TransportError(
            f"the remote broke the exchange: {exc}", kind="read", operation=op, url=url
        )
    if isinstance(exc, httpx.ReadError | httpx.NetworkError):
        return TransportError(
            f"connection lost while reading: {exc}", kind="read", operation=op, url=url
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigurationError(f"cannot call {url!r}: {exc}", field="url")
    if isinstance(exc, httpx.HTTPError):
        return TransportError(f"{type(exc).__name__}: {exc}", kind="read", operation=op, url=url)
    return exc


def _refused_by_parser(exc: BaseException) -> bool:
    """Whether h11 refused what the remote sent (rather than httpcore seeing the connection
    close before any response, which is a lost connection, not a bad answer)."""
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, h11.RemoteProtocolError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _cut_short(exc: Exception, request: Request) -> ProtocolError:
    return ProtocolError(
        f"the response was cut short: {str(exc) or type(exc).__name__}",
        operation=request.operation,
        url=request.url,
    )


def _closed(request: Request) -> TransportError:
    return TransportError(
        "the transport is closed",
        kind="closed",
        operation=request.operation,
        url=request.url,
        sent=False,
    )


def _headers(request: Request) -> list[tuple[bytes, bytes]]:
    # A value outside ASCII (a Vietnamese description sent as a VXP header parameter) goes as
    # UTF-8, as the official SDK's org.json text does and as aiohttp sends it; httpx would
    # refuse the text.
    headers = [(k.encode("ascii"), v.encode("utf-8")) for k, v in request.headers]
    if not isinstance(request.content, bytes) and request.header("content-length") is None:
        headers.append((b"Content-Length", str(request.body_size()).encode("ascii")))
    return headers


class _Body:
    """Collects a body under the size limit and the total deadline."""

    def __init__(self, request: Request, deadline: float | None, status: int) -> None:
        self.request = request
        self.deadline = deadline
        self.status = status
        self.size = 0
        self.parts: list[bytes] = []
        self.file: IO[bytes] | None = spool_file() if request.spool and status < 300 else None

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.file is None and self.size > self.request.max_response_bytes:
            raise ProtocolError(
                f"the response passed {self.request.max_response_bytes} bytes",
                operation=self.request.operation,
                url=self.request.url,
                status_code=self.status,
            )
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TransportError(
                f"the response was still arriving after {self.request.timeouts.total} s",
                kind="timeout",
                operation=self.request.operation,
                url=self.request.url,
            )
        if self.file is not None:
            self.file.write(chunk)
        else:
            self.parts.append(chunk)

    def response(self, raw: httpx.Response) -> Response:
        if self.file is not None:
            self.file.seek(0)
        return Response(
            status_code=raw.status_code,
            headers=tuple(raw.headers.multi_items()),
            content=b"".join(self.parts),
            request=self.request,
            body_file=self.file,
        )

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()


class HttpTransport:
    """Blocking HTTP over httpx (one connection pool, reused).

    Pass your own ``httpx.Client`` to control proxies, cookies, HTTP/2 — lgsp then sends
    through it. Otherwise lgsp sends straight through httpx's connection pool
    (``httpx.HTTPTransport``), skipping what a client adds per call and lgsp does not use
    (cookies, redirects, auth, environment proxies), with TLS verification on (``verify``
    takes a CA bundle path or an ``ssl.SSLContext``).
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        verify: Any = True,
        cert: Any = None,
        max_connections: int = 20,
    ) -> None:
        self._own = client is None
        self._client = client
        self._pool: httpx.HTTPTransport | None = None
        self._closed = False
        if client is None:
            self._pool = httpx.HTTPTransport(
                verify=verify,
                cert=cert,
                limits=httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
            )

    def _send(self, request: Request, content: bytes | Iterator[bytes]) -> httpx.Response:
        timeout = _timeout(request.timeouts)
        if self._pool is not None:
            raw_request = httpx.Request(
                request.method,
                request.url,
                headers=_headers(request),
                content=content,
                extensions={"timeout": timeout.as_dict()},
            )
            if not raw_request.url.host:  # httpx.Client refuses these itself; the pool does not
                raise httpx.InvalidURL(f"no host in {request.url!r}")
            return self._pool.handle_request(raw_request)
        assert self._client is not None  # noqa: S101 - one of the two is always set
        raw_request = self._client.build_request(
            request.method,
            request.url,
            headers=_headers(request),
            content=content,
            timeout=timeout,
        )
        return self._client.send(raw_request, stream=True)

    def handle(self, request: Request) -> Response:
        if self._closed or (self._client is not None and self._client.is_closed):
            raise _closed(request)
        content: bytes | Iterator[bytes] = (
            request.content if isinstance(request.content, bytes) else request.iter_content()
        )
        deadline = time.monotonic() + request.timeouts.total if request.timeouts.total else None
        try:
            raw = self._send(request, content)
            try:
                body = _Body(request, deadline, raw.status_code)
                try:
                    for chunk in raw.iter_bytes():
                        body.add(chunk)
                except BaseException as exc:
                    body.discard()
                    if isinstance(exc, httpx.ReadError):  # reset mid-body: the answer is cut
                        raise _cut_short(exc, request) from exc
                    raise
            finally:
                raw.close()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise translate_httpx_error(exc, request) from exc
        except OSError as exc:  # a file body that cannot be read
            raise TransportError(
                f"cannot read the request body: {exc}",
                kind="write",
                operation=request.operation,
                url=request.url,
                sent=False,
            ) from exc
        return body.response(raw)

    def close(self) -> None:
        if self._own and not self._closed:
            self._closed = True
            if self._pool is not None:
                self._pool.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _aiter(request: Request) -> AsyncIterator[bytes]:
    for chunk in request.iter_content():
        yield chunk


class AsyncHttpxTransport:
    """Async HTTP over an ``httpx.AsyncClient``; pass one built on any httpx transport
    (``httpx_aiohttp.AiohttpTransport`` among them). See :mod:`lgsp.transports.aiohttp` for
    the faster default of :class:`lgsp.AsyncClient`."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        verify: Any = True,
        cert: Any = None,
        max_connections: int = 100,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.AsyncClient(
            verify=verify,
            cert=cert,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
        )

    async def handle_async(self, request: Request) -> Response:
        if self._client.is_closed:
            raise _closed(request)
        content: bytes | AsyncIterator[bytes] = (
            request.content if isinstance(request.content, bytes) else _aiter(request)
        )
        deadline = time.monotonic() + request.timeouts.total if request.timeouts.total else None
        try:
            raw_request = self._client.build_request(
                request.method,
                request.url,
                headers=_headers(request),
                content=content,
                timeout=_timeout(request.timeouts),
            )
            raw = await self._client.send(raw_request, stream=True)
            try:
                body = _Body(request, deadline, raw.status_code)
                try:
                    async for chunk in raw.aiter_bytes():
                        body.add(chunk)
                except BaseException as exc:
                    body.discard()
                    if isinstance(exc, httpx.ReadError):  # reset mid-body: the answer is cut
                        raise _cut_short(exc, request) from exc
                    raise
            finally:
                await raw.aclose()
        except httpx.HTTPError as exc:
            raise translate_httpx_error(exc, request) from exc
        except OSError as exc:  # a file body that cannot be read
            raise TransportError(
                f"cannot read the request body: {exc}",
                kind="write",
                operation=request.operation,
                url=request.url,
                sent=False,
            ) from exc
        return body.response(raw)

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncHttpxTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
