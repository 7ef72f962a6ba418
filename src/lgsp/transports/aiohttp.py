"""Async HTTP over aiohttp: :class:`AiohttpTransport`, the fast transport of the async client.

httpx stays lgsp's public face, but its async pool collapses under many concurrent calls
(a few hundred calls/s at 100 in flight, against some 5,000 for aiohttp on the same machine),
so async calls can go through aiohttp behind lgsp's own
:class:`~lgsp.transports.base.AsyncTransport`. Semantics match
:class:`~lgsp.transports.http.AsyncHttpxTransport`: the same timeouts, size limit, spooling,
URL encoding and errors. Every aiohttp and asyncio exception is translated here with the
``kind`` and ``sent`` a retry policy needs (a refused connection was not sent; a server that
disconnects after the request went out may have acted on it), which is also why aiohttp's own
unseen resend of idempotent requests is switched off.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import threading
import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from pathlib import Path
from typing import IO

import aiohttp
import yarl

from lgsp.errors import ConfigurationError, LgspError, ProtocolError, TransportError
from lgsp.transports.base import Request, Response, Timeouts, spool_file

__all__ = ["AiohttpTransport", "translate_aiohttp_error"]

_READ_CHUNK = 256 * 1024
#: Response header lines aiohttp accepts (its default, 8 KiB, is below h11's 16 KiB).
_MAX_HEADER_LINE = 16 * 1024
#: RFC 9110 token: what a header name may be (aiohttp itself only refuses CR, LF and NUL).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_good_names: set[str] = set()
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_AUTHORITY_END = re.compile(r"[/?#]")


def translate_aiohttp_error(exc: BaseException, request: Request) -> LgspError:
    """The lgsp error for an aiohttp (or asyncio, or socket) exception met by ``request``.

    Connector errors (refused, DNS, TLS, connect timeout) were never sent; anything later may
    have reached the remote. The order of the tests matters: connector errors are OSErrors,
    aiohttp's timeouts are connection errors too.
    """
    op, url = request.operation, request.url
    error: LgspError
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        error = ConfigurationError(
            f"cannot call {url!r}: not an absolute http:// or https:// URL", field="url"
        )
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = TransportError(
            f"connect timed out after {request.timeouts.connect} s",
            kind="connect",
            operation=op,
            url=url,
            sent=False,
        )
    elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = TransportError(
            f"the server's TLS certificate was refused: {exc.certificate_error}",
            kind="connect",
            operation=op,
            url=url,
            sent=False,
        )
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerFingerprintMismatch):
        # DNS failures (ClientConnectorDNSError), refusals, TLS handshakes that failed
        error = TransportError(
            f"cannot connect: {exc}", kind="connect", operation=op, url=url, sent=False
        )
    elif isinstance(exc, aiohttp.ClientPayloadError):  # truncated, bad chunking, bad encoding
        error = ProtocolError(f"the response body is broken: {exc}", operation=op, url=url)
    elif isinstance(exc, aiohttp.ClientResponseError):  # raised by the parser: not HTTP
        error = ProtocolError(
            f"the response is not valid HTTP: {exc.message}", operation=op, url=url
        )
    elif isinstance(exc, aiohttp.SocketTimeoutError):
        error = TransportError(
            f"no data from the remote for {request.timeouts.read} s",
            kind="timeout",
            operation=op,
            url=url,
        )
    elif isinstance(exc, TimeoutError):  # the total deadline: aiohttp raises a bare one
        error = TransportError(
            f"the exchange passed its total deadline of {request.timeouts.total} s",
            kind="timeout",
            operation=op,
            url=url,
        )
    else:  # ServerDisconnectedError, resets (ClientOSError), anything else after connecting
        error = TransportError(
            f"connection lost: {str(exc) or type(exc).__name__}", kind="read", operation=op, url=url
        )
    return error


@functools.lru_cache(maxsize=1024)
def _url(url: str) -> yarl.URL:
    """``url`` as httpx sends it: escapes already there are kept (``%2F`` stays ``%2F``, where
    yarl would decode it), and only characters that cannot appear raw are percent-encoded."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return yarl.URL(url)  # relative or nonsense: aiohttp refuses it with InvalidURL
    cut = _AUTHORITY_END.search(rest)
    netloc, tail = (rest[: cut.start()], rest[cut.start() :]) if cut else (rest, "")
    if not netloc.isascii():
        netloc = netloc.encode("idna").decode("ascii")
    tail = urllib.parse.quote(tail, safe=_URL_SAFE)  # "%" is safe: a lone one goes raw too
    return yarl.URL(f"{scheme}://{netloc}{tail}", encoded=True)


def _check_header_names(headers: Sequence[tuple[str, str]], request: Request) -> None:
    for name, _ in headers:
        if name not in _good_names:
            if not _TOKEN.fullmatch(name):
                raise ConfigurationError(
                    f"{request.operation}: {name!r} is not a valid HTTP header name",
                    field="headers",
                )
            if len(_good_names) < 4096:
                _good_names.add(name)


def _client_timeout(t: Timeouts) -> aiohttp.ClientTimeout:
    # aiohttp's ``connect`` includes waiting for a free pooled connection; ``sock_connect``
    # is the TCP + TLS handshake alone. There is no write timeout: ``total`` bounds it.
    return aiohttp.ClientTimeout(
        total=t.total, connect=t.pool + t.connect, sock_connect=t.connect, sock_read=t.read
    )


class _FileBody:
    """A file body streamed to aiohttp, which reports a failed read as a lost connection: the
    failure is kept here so that it is reported as what it is (nothing complete was sent)."""

    def __init__(self, request: Request, path: Path, size: int) -> None:
        self.request, self.path, self.size = request, path, size
        self.failure: OSError | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        sent = 0
        try:
            for chunk in self.request.iter_content():
                sent += len(chunk)
                if sent > self.size:
                    break
                yield chunk
        except OSError as exc:
            self.failure = exc
            raise
        if sent != self.size:  # never send other than the length announced
            self.failure = OSError(f"{self.path} changed size while being sent")
            raise self.failure


def _too_large(request: Request, status: int) -> ProtocolError:
    return ProtocolError(
        f"the response passed {request.max_response_bytes} bytes",
        operation=request.operation,
        url=request.url,
        status_code=status,
    )


def _unreadable(request: Request, exc: OSError) -> TransportError:
    return TransportError(
        f"cannot read the request body: {exc}",
        kind="write",
        operation=request.operation,
        url=request.url,
        sent=False,
    )


def _closed(request: Request) -> TransportError:
    return TransportError(
        "the transport is closed",
        kind="closed",
        operation=request.operation,
        url=request.url,
        sent=False,
    )


async def _read_limited(request: Request, raw: aiohttp.ClientResponse) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in raw.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > request.max_response_bytes:
            raise _too_large(request, raw.status)
        parts.append(chunk)
    return b"".join(parts)


async def _read_spooled(raw: aiohttp.ClientResponse) -> IO[bytes]:
    file = spool_file()
    try:
        async for chunk in raw.content.iter_chunked(_READ_CHUNK):
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


async def _closer(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Parked at its ``yield`` once started: the loop closes every such generator as it shuts
    down (``asyncio.run`` does), which closes the session on its own loop, sockets and all."""
    try:
        yield
    finally:
        await session.close()


class AiohttpTransport:
    """Async HTTP over one ``aiohttp.ClientSession`` per event loop, made on first use.

    TLS verification is on; ``verify`` takes ``False``, a CA bundle path or an
    ``ssl.SSLContext``; ``cert`` a client certificate (path, ``(cert, key)`` or
    ``(cert, key, password)``), loaded when the first call needs it. Connections are kept
    alive, at most ``max_connections`` at a time. A session belongs to the loop that made it:
    called from another loop (a second ``asyncio.run``), the transport opens a new session
    there and drops the one whose loop has finished.
    """

    def __init__(
        self,
        *,
        verify: bool | str | ssl.SSLContext = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        max_connections: int = 100,
        keepalive_seconds: float = 15.0,
    ) -> None:
        self._verify = verify
        self._cert = cert
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._lock = threading.Lock()
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._closed = False

    async def handle_async(self, request: Request) -> Response:
        if self._closed:
            raise _closed(request)
        headers = request.headers
        data: bytes | AsyncIterator[bytes] | None = None
        file_body: _FileBody | None = None
        if isinstance(request.content, Path):
            try:
                size = request.body_size()
            except OSError as exc:
                raise _unreadable(request, exc) from exc
            if request.header("content-length") is None:
                headers = (*headers, ("Content-Length", str(size)))
            file_body = _FileBody(request, request.content, size)
            data = file_body.chunks()
        elif request.content:
            data = request.content
        _check_header_names(headers, request)
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:  # the loop's generators were shut down
            session = await self._new_session(loop, request)
        try:
            async with session.request(
                request.method,
                _url(request.url),
                headers=headers,
                data=data,
                timeout=self._timeout(request.timeouts),
                allow_redirects=False,
                skip_auto_headers=("Content-Type",),  # httpx adds none; neither do we
            ) as raw:
                return await self._read(request, raw)
        except LgspError:
            raise
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            if file_body is not None and file_body.failure is not None:
                raise _unreadable(request, file_body.failure) from exc
            raise translate_aiohttp_error(exc, request) from exc
        except ValueError as exc:  # aiohttp refuses a header value or method before sending
            raise ConfigurationError(
                f"cannot send {request.operation}: {exc}", field="request"
            ) from exc
        except RuntimeError as exc:  # "Session is closed": aclose() ran meanwhile
            if session.closed:
                raise _closed(request) from exc
            raise

    async def _read(self, request: Request, raw: aiohttp.ClientResponse) -> Response:
        status = raw.status
        file: IO[bytes] | None = None
        if request.spool and status < 300:
            file, content = await _read_spooled(raw), b""
        elif raw.content_length is not None and "Content-Encoding" not in raw.headers:
            # The common case: an identity body of announced length, refused before reading
            # when too large (HEAD, 204 and 304 announce a length but carry no body).
            bodiless = request.method == "HEAD" or status in (204, 304) or status < 200
            if raw.content_length > request.max_response_bytes and not bodiless:
                raise _too_large(request, status)
            content = await raw.read()
        else:  # no length, or compressed: the limit applies to the decoded bytes
            content = await _read_limited(request, raw)
        return Response(
            status_code=status,
            headers=tuple((str(k), v) for k, v in raw.headers.items()),
            content=content,
            request=request,
            body_file=file,
        )

    def _timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(t)
        if timeout is None:
            timeout = self._timeouts[t] = _client_timeout(t)
        return timeout

    def _ssl(self) -> ssl.SSLContext | bool:
        if self._verify is True and self._cert is None:
            return True  # aiohttp's default verifying context, made once per process
        if isinstance(self._verify, ssl.SSLContext):
            context = self._verify
        elif self._verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            cafile = self._verify if isinstance(self._verify, str) else None
            context = ssl.create_default_context(cafile=cafile)
        if isinstance(self._cert, str):
            context.load_cert_chain(self._cert)
        elif self._cert is not None:
            context.load_cert_chain(*self._cert)
        return context

    async def _new_session(
        self, loop: asyncio.AbstractEventLoop, request: Request
    ) -> aiohttp.ClientSession:
        with self._lock:
            session = self._sessions.get(loop)
            if session is not None and not session.closed:
                return session
            if self._closed:
                raise _closed(request)
            dead = [
                self._forget(lp)
                for lp, old in list(self._sessions.items())
                if lp.is_closed() or old.closed
            ]
            try:
                tls = self._ssl()
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise ConfigurationError(f"cannot set up TLS: {exc}", field="verify") from exc
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                ssl=tls,
                keepalive_timeout=self._keepalive,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                raise_for_status=False,
                max_line_size=_MAX_HEADER_LINE,
                max_field_size=_MAX_HEADER_LINE,
            )
            # aiohttp resends GET/PUT/DELETE once, unseen, when a connection drops; lgsp's
            # flows own retries (budget, backoff, the observer), so the transport sends once.
            # There is no public switch; tests/test_transports_http.py checks that it holds.
            session._retry_connection = False
            self._sessions[loop] = session
            closer = self._closers[loop] = _closer(session)
        await anext(closer)
        for old in dead:
            # A loop closed without shutting down its async generators: closing its session
            # here only marks it closed (the loop cannot run); its sockets go with the GC.
            await old.aclose()
        return session

    def _forget(self, loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
        del self._sessions[loop]
        return self._closers.pop(loop)

    async def aclose(self) -> None:
        """Close the session of the running loop, and drop those of finished loops; a session
        of a loop still running in another thread is closed there."""
        with self._lock:
            self._closed = True
            closers = [(loop, self._forget(loop)) for loop in list(self._sessions)]
        current = asyncio.get_running_loop()
        for loop, closer in closers:
            if loop is current or loop.is_closed():
                await closer.aclose()
            else:
                asyncio.run_coroutine_threadsafe(closer.aclose(), loop)

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
