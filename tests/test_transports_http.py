"""The three HTTP transports against a loopback server that misbehaves on purpose.

Every test runs once per transport (``HttpTransport``, ``AsyncHttpxTransport``,
``AiohttpTransport``) and expects the same outcome from each: the same response, or the same
lgsp error with the same ``kind`` and ``sent``. The agreed classification:

* refused connection, connect timeout, TLS certificate refused: ``TransportError(kind=
  "connect", sent=False)``; nothing reached the server;
* reset or clean close after the request was read, before any answer: ``kind="read"``,
  ``sent=True``, and the request reached the server exactly once (no hidden resend);
* no data within the read timeout: ``kind="timeout"``; the total deadline passed while the
  body trickled in: ``kind="timeout"`` too;
* an answer lgsp cannot read — not HTTP, bad chunking, a body cut short by FIN or by RST, a
  body over ``max_response_bytes`` — :class:`~lgsp.errors.ProtocolError` (``sent=True``);
* a 429 with ``Retry-After`` is a response like any other: retrying is not a transport's job.

Nothing else may escape: :func:`fails` turns any exception that is not an lgsp error into a
test failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import ipaddress
import socket
import ssl
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from _servers import Fault, Reply, refused_port, serve, stalled_port
from lgsp.errors import ConfigurationError, LgspError, ProtocolError, TransportError
from lgsp.transports import AsyncTransport, Transport
from lgsp.transports.aiohttp import AiohttpTransport, translate_aiohttp_error
from lgsp.transports.base import Request, Response, Timeouts
from lgsp.transports.http import AsyncHttpxTransport, HttpTransport

TRANSPORTS: dict[str, Any] = {
    "HttpTransport": HttpTransport,
    "AsyncHttpxTransport": AsyncHttpxTransport,
    "AiohttpTransport": AiohttpTransport,
}
KINDS = tuple(TRANSPORTS)
ASYNC_KINDS = KINDS[1:]
FAST = Timeouts(connect=2.0, read=5.0, total=10.0)


class Caller:
    """One transport, called synchronously whatever its kind: an async one runs on a loop of
    its own for the whole test (its connection pool stays on that loop)."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self.loop = None if kind == "HttpTransport" else asyncio.new_event_loop()
        self.transport: Any = TRANSPORTS[kind](**options)

    def __call__(self, request: Request) -> Response:
        if self.loop is None:
            response: Response = self.transport.handle(request)
            return response
        return self.loop.run_until_complete(self.transport.handle_async(request))

    def close(self) -> None:
        if self.loop is None:
            self.transport.close()
            return
        self.loop.run_until_complete(self.transport.aclose())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


@pytest.fixture(params=KINDS)
def caller(request: pytest.FixtureRequest) -> Iterator[Caller]:
    made = Caller(request.param)
    yield made
    made.close()


@pytest.fixture(params=ASYNC_KINDS)
def async_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def post(url: str, body: bytes = b"{}", **fields: Any) -> Request:
    fields.setdefault("timeouts", FAST)
    return Request("POST", url, content=body, meta={"operation": "test"}, **fields)


def fails(call: Caller, request: Request) -> LgspError:
    """The lgsp error the call raised; a response, or any other exception, fails the test."""
    try:
        response = call(request)
    except LgspError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - the point: nothing else may escape
        pytest.fail(f"{call.kind} let {type(exc).__module__}.{type(exc).__name__} escape: {exc}")
    pytest.fail(f"{call.kind} answered {response.status_code} where it should have failed")


def transport_error(call: Caller, request: Request) -> TransportError:
    error = fails(call, request)
    assert isinstance(error, TransportError), f"{type(error).__name__}: {error}"
    return error


# normal exchanges -----------------------------------------------------------------------------


def echo(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
    answer = (("X-Method", method), ("X-Token", headers.get("x-token", "")))
    return Reply(201, (*answer, ("Content-Type", "text/plain")), b"echo:" + body)


def test_headers_body_and_status_travel_both_ways(caller: Caller) -> None:
    body = "Hồ sơ số 1".encode()
    with serve(echo) as server:
        headers = (("X-Token", "abc"), ("Content-Type", "application/json"))
        response = caller(post(server.url("/api/send?a=1"), body, headers=headers))
        (seen,) = server.requests
    assert response.status_code == 201
    assert response.header("x-method") == "POST"
    assert response.header("X-Token") == "abc"
    assert response.header("content-type") == "text/plain"
    assert response.content == b"echo:" + body
    assert response.body_file is None
    assert seen.method == "POST"
    assert seen.path == "/api/send?a=1"
    assert seen.header("content-type") == "application/json"
    assert seen.header("content-length") == str(len(body))
    assert seen.body == body


def test_no_content_type_is_invented(caller: Caller) -> None:
    with serve(Reply(204)) as server:
        response = caller(post(server.url(), b"raw bytes"))
        (seen,) = server.requests
    assert response.status_code == 204
    assert seen.header("content-type") is None
    assert seen.body == b"raw bytes"


def test_a_file_body_is_streamed_with_its_length(caller: Caller, tmp_path: Path) -> None:
    data = bytes(range(256)) * 2_000  # 512,000 bytes: several read chunks
    path = tmp_path / "goi-tin.edxml"
    path.write_bytes(data)
    with serve(echo) as server:
        response = caller(post(server.url("/upload"), path))
        (seen,) = server.requests
    assert response.status_code == 201
    assert seen.header("content-length") == str(len(data))
    assert seen.header("transfer-encoding") is None
    assert seen.body == data


def test_spooled_2xx_body_goes_to_a_file_past_the_size_limit(caller: Caller) -> None:
    data = b"0123456789" * 300_000  # 3 MB: past the in-memory part of the spool
    with serve(Reply(200, body=data)) as server:
        response = caller(post(server.url(), spool=True, max_response_bytes=1_000))
    try:
        assert response.content == b""
        assert response.body_file is not None
        assert response.body_file.read() == data
        assert response.read() == data
    finally:
        response.close()


def test_spooling_keeps_an_error_body_in_memory(caller: Caller) -> None:
    with serve(Reply(404, body=b"not here")) as server:
        response = caller(post(server.url(), spool=True))
    assert response.status_code == 404
    assert response.body_file is None
    assert response.content == b"not here"


def test_a_compressed_body_is_decoded(caller: Caller) -> None:
    data = "Ủy ban nhân dân tỉnh Nghệ An. ".encode() * 500
    with serve(Reply.gzip(data)) as server:
        response = caller(post(server.url()))
    assert response.content == data


def test_a_chunked_body_is_read_whole(caller: Caller) -> None:
    data = b"x" * 10_000
    with serve(Reply.chunked(data, chunk=777)) as server:
        response = caller(post(server.url()))
    assert response.content == data


def test_429_with_retry_after_is_a_plain_response(caller: Caller) -> None:
    with serve(Fault.status(429, retry_after="2", body=b"slow down")) as server:
        response = caller(post(server.url()))
        assert server.count() == 1
    assert response.status_code == 429
    assert response.header("retry-after") == "2"
    assert response.content == b"slow down"


def test_a_late_answer_within_the_timeouts_is_a_response(caller: Caller) -> None:
    with serve(Fault.delay(0.05, Reply(200, body=b"late"))) as server:
        response = caller(post(server.url()))
    assert response.content == b"late"


def test_connections_are_kept_alive(caller: Caller) -> None:
    with serve(echo) as server:
        for n in range(3):
            assert caller(post(server.url(), b"%d" % n)).content == b"echo:%d" % n
        assert server.count() == 3
        assert server.connections == 1


def test_url_escapes_are_sent_as_written(caller: Caller) -> None:
    # yarl alone would send x=/ and Đ+z: a query signed or compared byte for byte would break
    with serve(Reply(200)) as server:
        caller(Request("GET", server.url("/p%2Fq/ä b?x=%2F&y=Đ z&z=a+b&w=100%"), timeouts=FAST))
        (seen,) = server.requests
    assert seen.path == "/p%2Fq/%C3%A4%20b?x=%2F&y=%C4%90%20z&z=a+b&w=100%"


# faults before any answer ---------------------------------------------------------------------


def test_refused_connection_was_not_sent(caller: Caller) -> None:
    error = transport_error(caller, post(f"http://127.0.0.1:{refused_port()}/"))
    assert (error.kind, error.sent) == ("connect", False)
    assert error.operation == "test"
    assert error.__cause__ is not None


def test_connect_timeout_was_not_sent(caller: Caller) -> None:
    with stalled_port() as port:
        timeouts = Timeouts(connect=0.2, read=5.0, total=10.0)
        error = transport_error(caller, post(f"http://127.0.0.1:{port}/", timeouts=timeouts))
    assert (error.kind, error.sent) == ("connect", False)


@pytest.mark.parametrize("method", ["POST", "GET", "PUT"])
def test_reset_after_the_request_was_read_is_sent_once(caller: Caller, method: str) -> None:
    # aiohttp would resend a GET or PUT by itself here; lgsp's transports never do
    with serve(Fault.reset_before_response) as server:
        request = Request(method, server.url("/x"), content=b"{}", timeouts=FAST)
        error = transport_error(caller, request)
        assert server.count() == 1
    assert not isinstance(error, ProtocolError)
    assert (error.kind, error.sent) == ("read", True)


def test_close_without_an_answer_is_a_read_error(caller: Caller) -> None:
    with serve(Fault.close_before_response) as server:
        error = transport_error(caller, Request("GET", server.url(), timeouts=FAST))
        assert server.count() == 1
    assert not isinstance(error, ProtocolError)
    assert (error.kind, error.sent) == ("read", True)


def test_no_answer_within_the_read_timeout(caller: Caller) -> None:
    with serve(Fault.hang) as server:
        timeouts = Timeouts(connect=2.0, read=0.2, total=30.0)
        error = transport_error(caller, post(server.url(), timeouts=timeouts))
        assert server.count() == 1
    assert (error.kind, error.sent) == ("timeout", True)


# faults in the answer -------------------------------------------------------------------------


@pytest.mark.parametrize("reset", [False, True], ids=["FIN", "RST"])
def test_a_body_cut_short_is_a_protocol_error(caller: Caller, reset: bool) -> None:
    with serve(Fault.truncated_body(reset=reset)) as server:
        error = transport_error(caller, post(server.url()))
    assert isinstance(error, ProtocolError)
    assert error.sent is True


def test_bad_chunking_is_a_protocol_error(caller: Caller) -> None:
    with serve(Fault.bad_chunking) as server:
        error = transport_error(caller, post(server.url()))
    assert isinstance(error, ProtocolError)


def test_an_answer_that_is_not_http_is_a_protocol_error(caller: Caller) -> None:
    with serve(Fault.malformed) as server:
        error = transport_error(caller, post(server.url()))
    assert isinstance(error, ProtocolError)
    assert error.sent is True


def test_a_trickling_body_is_cut_at_the_total_deadline(caller: Caller) -> None:
    # The trickle would last a minute and no single byte is late for the read timeout: only
    # the total deadline can end the call, and a response here would mean it was ignored.
    with serve(Fault.slow_loris) as server:
        timeouts = Timeouts(connect=2.0, read=5.0, total=0.5)
        error = transport_error(caller, post(server.url(), timeouts=timeouts))
    assert not isinstance(error, ProtocolError)
    assert (error.kind, error.sent) == ("timeout", True)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, body=b"x" * 5_000),
        Reply.chunked(b"x" * 5_000),
        Reply.gzip(b"\0" * 200_000),  # 200 KB once decoded, a few hundred bytes on the wire
    ],
    ids=["content-length", "chunked", "gzip"],
)
def test_a_body_over_the_limit_is_a_protocol_error(caller: Caller, reply: Reply) -> None:
    with serve(reply) as server:
        error = transport_error(caller, post(server.url(), max_response_bytes=1_000))
    assert isinstance(error, ProtocolError)
    assert "1000 bytes" in str(error)


# requests that cannot be sent -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/x", "http:///x", "/relative"])
def test_an_unusable_url_is_a_configuration_error(caller: Caller, url: str) -> None:
    error = fails(caller, post(url))
    assert isinstance(error, ConfigurationError)
    assert error.field == "url"


@pytest.mark.parametrize("name", ["missing.bin", "."], ids=["missing", "a-directory"])
def test_an_unreadable_file_body_is_not_sent(caller: Caller, tmp_path: Path, name: str) -> None:
    # a directory passes the size check and fails once the body is being streamed
    with serve(echo) as server:
        error = transport_error(caller, post(server.url(), tmp_path / name))
        assert server.count() == 0
    assert (error.kind, error.sent) == ("write", False)


@pytest.mark.parametrize(
    "header", [("X-Bad", "a\r\nX-Injected: 1"), ("X Bad", "a"), ("X-Bad\r\nX-Injected", "1")]
)
def test_a_malformed_header_is_refused_before_sending(
    caller: Caller, header: tuple[str, str]
) -> None:
    with serve(echo) as server:
        fails(caller, post(server.url(), headers=(header,)))
        assert server.count() == 0


def test_a_closed_transport_refuses_to_send(caller: Caller) -> None:
    with serve(echo) as server:
        caller(post(server.url()))
        if caller.loop is None:
            caller.transport.close()
        else:
            caller.loop.run_until_complete(caller.transport.aclose())
        error = transport_error(caller, post(server.url()))
        assert server.count() == 1
    assert (error.kind, error.sent) == ("closed", False)


# TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 signed by a test CA, and the CA's PEM file."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lgsp test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return server, ca_file


def test_tls_verification_is_on_by_default(
    caller: Caller, tls: tuple[ssl.SSLContext, Path]
) -> None:
    with serve(echo, tls=tls[0]) as server:
        error = transport_error(caller, post(server.url()))
        assert server.count() == 0
    assert (error.kind, error.sent) == ("connect", False)


@pytest.mark.parametrize("kind", KINDS)
def test_tls_with_a_trusted_ca(kind: str, tls: tuple[ssl.SSLContext, Path]) -> None:
    call = Caller(kind, verify=ssl.create_default_context(cafile=tls[1]))
    try:
        with serve(echo, tls=tls[0]) as server:
            assert call(post(server.url(), b"secret")).content == b"echo:secret"
    finally:
        call.close()


def test_aiohttp_takes_a_ca_file_path(tls: tuple[ssl.SSLContext, Path]) -> None:
    call = Caller("AiohttpTransport", verify=str(tls[1]))
    try:
        with serve(echo, tls=tls[0]) as server:
            assert call(post(server.url(), b"ok")).content == b"echo:ok"
    finally:
        call.close()


# async specifics -----------------------------------------------------------------------------


def test_the_transports_implement_lgsp_protocols() -> None:
    sync = HttpTransport()
    try:
        assert isinstance(sync, Transport)
    finally:
        sync.close()
    assert isinstance(AiohttpTransport(), AsyncTransport)  # no session, nothing to close
    assert isinstance(AsyncHttpxTransport(), AsyncTransport)


def test_concurrent_calls_all_arrive(async_kind: str) -> None:
    async def main(url: str) -> list[Response]:
        call = TRANSPORTS[async_kind]()
        try:
            requests = [post(url, b"%d" % n) for n in range(60)]
            return list(await asyncio.gather(*(call.handle_async(r) for r in requests)))
        finally:
            await call.aclose()

    with serve(echo) as server:
        responses = asyncio.run(main(server.url()))
        assert server.count() == 60
    assert sorted(r.content for r in responses) == sorted(b"echo:%d" % n for n in range(60))


def test_cancellation_is_not_translated(async_kind: str) -> None:
    async def main(url: str) -> bytes:
        call = TRANSPORTS[async_kind]()
        try:
            with pytest.raises(asyncio.TimeoutError):  # the caller's own deadline
                await asyncio.wait_for(call.handle_async(post(url + "hang")), 0.2)
            return bytes((await call.handle_async(post(url + "ok"))).content)
        finally:
            await call.aclose()

    def handler(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        return Fault.hang if path == "/hang" else Reply(200, body=b"after")

    with serve(handler) as server:
        assert asyncio.run(main(server.url())) == b"after"


def test_aiohttp_survives_successive_event_loops() -> None:
    transport = AiohttpTransport()  # made outside any loop: nothing happens until a call
    with serve(echo) as server, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for n in range(3):
            response = asyncio.run(transport.handle_async(post(server.url(), b"%d" % n)))
            assert response.content == b"echo:%d" % n
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(transport.handle_async(post(server.url()))).status_code
        # the loop shuts its generators down (closing the session) but goes on running
        loop.run_until_complete(loop.shutdown_asyncgens())
        assert loop.run_until_complete(transport.handle_async(post(server.url()))).status_code
        # a loop closed without shutting down its generators: its session is dropped
        loop.close()
        assert asyncio.run(transport.handle_async(post(server.url(), b"4"))).content == b"echo:4"
        asyncio.run(transport.aclose())
        del loop
        gc.collect()
        assert server.count() == 6
    unclosed = [w for w in seen if "Unclosed client session" in str(w.message)]
    assert unclosed == []


_KEY = ConnectionKey("lgsp.example.gov.vn", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "kind", "sent"),
    [
        (aiohttp.ServerDisconnectedError(), "read", True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), "read", True),
        (aiohttp.ClientConnectionResetError("Cannot write to closing transport"), "read", True),
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), "timeout", True),
        (aiohttp.ConnectionTimeoutError("Connection timeout"), "connect", False),
        (TimeoutError(), "timeout", True),
        (aiohttp.ClientPayloadError("Response payload is not completed"), "protocol", True),
        (ConnectionResetError(104, "reset"), "read", True),
        (aiohttp.ClientError("anything else"), "read", True),
        (aiohttp.ClientConnectorDNSError(_KEY, socket.gaierror(-2, "unknown")), "connect", False),
        (
            aiohttp.ClientConnectorCertificateError(_KEY, ssl.SSLCertVerificationError("expired")),
            "connect",
            False,
        ),
    ],
)
def test_aiohttp_errors_met_outside_loopback(exc: BaseException, kind: str, sent: bool) -> None:
    """What a loopback server cannot stage (DNS, a write reset), straight from aiohttp's own
    exception objects."""
    error = translate_aiohttp_error(exc, post("http://example.invalid/"))
    assert isinstance(error, TransportError)
    assert (error.kind, error.sent) == (kind, sent)
