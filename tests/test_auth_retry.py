"""Auth schemes and the retry flow, over MockTransport (sync and async drivers)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from lgsp.errors import AuthError, TransportError
from lgsp.transports import MockTransport, Request, Response
from lgsp.transports.auth import BearerToken, ClientCredentials, PortalSession, VxpSigning
from lgsp.transports.flow import run, run_async
from lgsp.transports.retry import RetryPolicy, call, parse_retry_after
from lgsp.transports.vxp_signing import sign_request

API = "http://127.0.0.1:9/api/op"
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


def _json(data: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, headers, json.dumps(data).encode())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenServer:
    """A token endpoint and an API that accepts only the newest token."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.issued: list[str] = []
        self.lifetime = lifetime
        self.lock = threading.Lock()
        self.api_calls: list[Request] = []
        self.revoked: set[str] = set()
        self.refuse_all = False

    def __call__(self, request: Request) -> Response:
        if request.url.endswith("/token"):
            with self.lock:
                token = f"tok-{len(self.issued) + 1}"
                self.issued.append(token)
            return _json(
                {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
            )
        self.api_calls.append(request)
        token = (request.header("authorization") or "").removeprefix("Bearer ")
        if self.refuse_all or token in self.revoked or token not in self.issued:
            return _json({"fault": "invalid token"}, 401)
        return _json({"ok": True})


def _auth(clock: Clock) -> ClientCredentials:
    return ClientCredentials("http://127.0.0.1:9/token", "client", "s3cret", clock=clock)


def test_client_credentials_token_request_form() -> None:
    auth = _auth(Clock())
    request = auth.token_request()
    assert request.method == "POST"
    assert request.header("content-type") == "application/x-www-form-urlencoded"
    assert isinstance(request.content, bytes)
    assert sorted(request.content.decode().split("&")) == [
        "client_id=client",
        "client_secret=s3cret",
        "grant_type=client_credentials",
    ]
    basic = ClientCredentials("http://127.0.0.1:9/token", "client", "s3cret", basic=True)
    assert (basic.token_request().header("authorization") or "").startswith("Basic ")
    assert "s3cret" not in repr(auth)


def test_token_cached_then_refreshed_ahead_of_expiry() -> None:
    clock, server = Clock(), TokenServer(lifetime=600)
    auth = _auth(clock)
    mock = MockTransport(server)
    for _ in range(3):
        assert run(call(Request("GET", API), auth=[auth]), mock).status_code == 200
    assert server.issued == ["tok-1"]
    clock.now += 600 - 60 - 1  # still before the refresh point (60 s margin)
    run(call(Request("GET", API), auth=[auth]), mock)
    assert len(server.issued) == 1
    clock.now += 2  # past refresh_at, before the server's expiry: refreshed ahead
    run(call(Request("GET", API), auth=[auth]), mock)
    assert server.issued == ["tok-1", "tok-2"]


def test_a_401_renews_the_token_once_and_retries() -> None:
    clock, server = Clock(), TokenServer()
    auth = _auth(clock)
    mock = MockTransport(server)
    run(call(Request("GET", API), auth=[auth]), mock)
    server.revoked.add("tok-1")  # revoked on the server before its expiry
    response = run(call(Request("GET", API), auth=[auth]), mock)
    assert response.status_code == 200
    assert server.issued == ["tok-1", "tok-2"]
    assert len(server.api_calls) == 3  # first call, the 401, the single retry
    server.refuse_all = True  # a 401 that renewal cannot cure: renewed once, then surfaced
    response = run(call(Request("GET", API), auth=[auth]), mock)
    assert response.status_code == 401
    assert server.issued == ["tok-1", "tok-2", "tok-3"]
    assert len(server.api_calls) == 5


def test_concurrent_threads_refresh_once() -> None:
    clock, server = Clock(), TokenServer()
    auth = _auth(clock)
    mock = MockTransport(server)
    barrier = threading.Barrier(16)
    results: list[int] = []

    def worker() -> None:
        barrier.wait()
        results.append(run(call(Request("GET", API), auth=[auth]), mock).status_code)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 16
    assert server.issued == ["tok-1"]


def test_concurrent_tasks_refresh_once() -> None:
    clock, server = Clock(), TokenServer()
    auth = _auth(clock)

    async def slow_token(request: Request) -> Response:
        if request.url.endswith("/token"):
            await asyncio.sleep(0.01)  # every task reaches the lock while the fetch is out
        return server(request)

    mock = MockTransport(slow_token)

    async def main() -> list[int]:
        calls = [run_async(call(Request("GET", API), auth=[auth]), mock) for _ in range(100)]
        return [r.status_code for r in await asyncio.gather(*calls)]

    assert asyncio.run(main()) == [200] * 100
    assert server.issued == ["tok-1"]
    assert auth.fetches == 1


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        (_json({"error": "invalid_client"}, 401), "refused the client credentials"),
        (_json({"error": "boom"}, 500), "HTTP 500"),
        (Response(200, content=b"<html>login</html>"), "did not answer JSON"),
        (_json({"token_type": "Bearer"}), "no access_token"),
    ],
)
def test_token_endpoint_failures_are_auth_errors(response: Response, needle: str) -> None:
    auth = _auth(Clock())
    mock = MockTransport(lambda r: response if r.url.endswith("/token") else _json({}))
    with pytest.raises(AuthError, match=needle) as info:
        run(call(Request("GET", API), auth=[auth]), mock)
    assert "s3cret" not in str(info.value)


def test_bearer_token_header() -> None:
    mock = MockTransport(lambda r: _json({"auth": r.header("authorization")}))
    response = run(call(Request("GET", API), auth=[BearerToken("k")]), mock)
    assert response.json() == {"auth": "Bearer k"}


def test_vxp_signing_replaces_unsigned_headers_and_resigns_each_attempt() -> None:
    import datetime as dt

    moments = iter(
        [
            dt.datetime(2026, 11, 23, 14, 0, 28, 754000, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 23, 14, 0, 29, 1000, tzinfo=dt.UTC),
        ]
    )
    signing = VxpSigning("vxp.saas.03", "secret", now=lambda: next(moments))
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return _json({}, 503 if len(seen) == 1 else 200)

    params = {"docId": "42", "status": "done"}
    request = Request(
        "POST",
        API,
        (
            ("XroadVnpt-docId", "42"),
            ("XroadVnpt-status", "done"),
            ("Content-Type", "application/json"),
        ),
        b"{}",
        meta={"vxp_params": params},
    )
    run(call(request, auth=[signing], policy=NO_WAIT), MockTransport(handler))
    assert len(seen) == 2
    first, second = seen
    # Exactly the SDK's headers: one XroadVnpt-docId, signed; a fresh timestamp per attempt.
    assert [k for k, _ in first.headers].count("XroadVnpt-docId") == 1
    assert first.header("XroadVnpt-timestamp") != second.header("XroadVnpt-timestamp")
    expected = sign_request(
        params,
        system_id="vxp.saas.03",
        secret="secret",
        content_type="application/json",
        moment=dt.datetime(2026, 11, 23, 14, 0, 28, 754000, tzinfo=dt.UTC),
    )
    assert first.header("XroadVnpt-hash-header") == dict(expected)["XroadVnpt-hash-header"]
    assert first.content == second.content


class Portal:
    def __init__(self) -> None:
        self.sessions: list[str] = []
        self.valid: str | None = None
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.content) if request.content else {}
        if request.url.endswith("/login"):
            assert request.header("dstcode") == "DST"
            if body != {"username": "u", "password": "p"}:
                return _json({"error_code": 1, "message": "sai mật khẩu"})
            self.valid = f"S{len(self.sessions) + 1}"
            self.sessions.append(self.valid)
            return _json({"error_code": 0, "session": self.valid})
        self.bodies.append(body)
        assert request.header("dstcode") == "DST"
        if body.get("session") != self.valid:
            return _json({"error_code": -1, "message": "Session không hợp lệ"})
        return _json({"error_code": "00", "result": []})


def _portal_request() -> Request:
    from lgsp.transports.base import encode_json

    payload = {"madonvi": "000.00.01.H22", "service": "TraCuuHoSo", "mahoso": "X"}
    return Request(
        "POST", "http://127.0.0.1:9/integration", (), encode_json(payload), meta={"json": payload}
    )


def test_portal_session_login_reuse_and_renewal() -> None:
    portal = Portal()
    session = PortalSession("http://127.0.0.1:9/login", "u", "p", "DST")
    mock = MockTransport(portal)
    for _ in range(3):
        assert run(call(_portal_request(), auth=[session]), mock).json()["error_code"] == "00"
    assert portal.sessions == ["S1"]
    portal.valid = "expired-on-the-server"
    response = run(call(_portal_request(), auth=[session]), mock)
    assert response.json()["error_code"] == "00"
    assert portal.sessions == ["S1", "S2"]
    assert all(b["madonvi"] == "000.00.01.H22" for b in portal.bodies)


def test_portal_login_refused() -> None:
    session = PortalSession("http://127.0.0.1:9/login", "u", "wrong", "DST")
    with pytest.raises(AuthError, match="sai mật khẩu"):
        run(call(_portal_request(), auth=[session]), MockTransport(Portal()))


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, rng=lambda: 1.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    half = RetryPolicy(base_delay=1.0, jitter="equal", rng=lambda: 0.0)
    assert half.backoff(3) == 2.0
    assert RetryPolicy(rng=lambda: 0.5).delay(1, 9.0) == 9.0  # Retry-After wins when longer
    assert RetryPolicy(max_retry_after=5).delay(1, 60.0) is None


class Flaky:
    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        step = self.script.pop(0) if self.script else 200
        if isinstance(step, Exception):
            raise step
        return _json({"n": len(self.seen)}, step, (("Retry-After", "0"),) if step == 429 else ())


def _reset(sent: bool) -> TransportError:
    return TransportError("reset", kind="read" if sent else "connect", sent=sent)


@pytest.mark.parametrize(
    ("script", "idempotent", "expected_calls", "outcome"),
    [
        ([503, 503], False, 3, 200),  # refused unprocessed: always safe
        ([429], False, 2, 200),
        ([500], False, 1, 500),  # may have been processed: not retried when not idempotent
        ([500, 502], True, 3, 200),
        ([_reset(sent=False)], False, 2, 200),  # never left: always safe
        ([_reset(sent=True)], False, 1, "raise"),  # may have arrived: not for a send
        ([_reset(sent=True)], True, 2, 200),
        ([503, 503, 503, 503], True, 4, 503),  # attempts spent: the last answer
    ],
)
def test_retry_only_when_safe(
    script: list[Any], idempotent: bool, expected_calls: int, outcome: Any
) -> None:
    flaky = Flaky(list(script))
    flow = call(
        Request("POST", API, content=b"payload", meta={"correlation_id": "m-1"}),
        policy=NO_WAIT,
        idempotent=idempotent,
    )
    if outcome == "raise":
        with pytest.raises(TransportError):
            run(flow, MockTransport(flaky))
    else:
        assert run(flow, MockTransport(flaky)).status_code == outcome
    assert len(flaky.seen) == expected_calls
    # every attempt is the same call: same body, same message id
    assert {r.content for r in flaky.seen} == {b"payload"}
    assert {r.correlation_id for r in flaky.seen} == {"m-1"}
    assert [r.meta["attempt"] for r in flaky.seen] == list(range(1, expected_calls + 1))


def test_retry_after_beyond_the_cap_is_returned_not_waited() -> None:
    mock = MockTransport(lambda r: _json({}, 429, (("Retry-After", "3600"),)))
    response = run(call(Request("GET", API), idempotent=True), mock)
    assert response.status_code == 429
    assert len(mock.requests) == 1


def test_async_driver_retries_the_same_way() -> None:
    flaky = Flaky([503, _reset(sent=False)])

    async def main() -> int:
        response = await run_async(call(Request("POST", API), policy=NO_WAIT), MockTransport(flaky))
        return response.status_code

    assert asyncio.run(main()) == 200
    assert len(flaky.seen) == 3
