"""CallLog over real flows: one redacted event per exchange, the raw exchange for audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture, capture_logs

from lgsp.errors import ProtocolError, TransportError
from lgsp.transports import MockTransport, Request, Response
from lgsp.transports.flow import run, run_async
from lgsp.transports.observe import (
    MASK,
    CallLog,
    Exchange,
    configure_logging,
    redact,
    redact_body,
    redact_processor,
    redact_url,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "transports.md"

BEARER = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.sig-Bearer-7731"
HASH_HEADER = "5f1e0c7a9b3d2e4f60718293a4b5c6d7e8f90123456789abcdef0123456789ab"
SIGNED_DOC = "doc-signed-value-5521"
PASSWORD = "Portal-Passw0rd-2291"
CLIENT_SECRET = "wso2-Client-Secret-8812"
QUERY_TOKEN = "query-Token-6610"
ACCESS_TOKEN = "access-Token-4409"
COOKIE = "JSESSIONID-Cookie-3317"
SESSION = "adapter-Session-1188"
SECRETS = (
    BEARER,
    HASH_HEADER,
    SIGNED_DOC,
    PASSWORD,
    CLIENT_SECRET,
    QUERY_TOKEN,
    ACCESS_TOKEN,
    COOKIE,
    SESSION,
)

CITIZEN = "Nguyễn Văn Ấn"
ID_NUMBER = "079123456789"
PHONE = "0912345678"
EMAIL = "an.nguyen@example.vn"
ADDRESS = "12 Lê Lợi, phường Bến Nghé"
BIRTH = "19850304000000"
PERSONAL = (CITIZEN, ID_NUMBER, PHONE, EMAIL, ADDRESS, BIRTH)
DOSSIER_CODE = "G09.20-20260609-0092637"


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def _calls(*requests: Request) -> Generator[Any, Any, list[int | str]]:
    """A flow sending each request in turn; a transport error is kept, not raised."""
    outcomes: list[int | str] = []
    for request in requests:
        try:
            response = yield request
        except TransportError as exc:
            outcomes.append(type(exc).__name__)
        else:
            outcomes.append(response.status_code)
    return outcomes


def _request(
    operation: str = "getEdoc",
    *,
    url: str = "https://vxp.example.vn/getEdoc",
    headers: tuple[tuple[str, str], ...] = (),
    content: bytes | Path = b"{}",
    attempt: int | None = 1,
    correlation_id: str = "c-1",
    spool: bool = False,
) -> Request:
    meta: dict[str, Any] = {"operation": operation, "correlation_id": correlation_id}
    if attempt is not None:
        meta["attempt"] = attempt
    return Request("POST", url, headers=headers, content=content, meta=meta, spool=spool)


def _answer(*responses: Response | Exception) -> Callable[[Request], Response]:
    queue = list(responses)

    def handler(request: Request) -> Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def _ok(request: Request) -> Response:
    return Response(200)


def _all_text(events: list[dict[str, Any]]) -> str:
    return repr(events) + json.dumps(events, default=str, ensure_ascii=False)


# --- One event per exchange ---------------------------------------------------------------------


def test_one_event_per_exchange_with_its_fields() -> None:
    log = CallLog()
    mock = MockTransport(
        _answer(
            Response(200, content=b'{"status":"OK","ErrorCode":"0","data":"UEsDB"}'),
            Response(503, content=b"busy"),
        )
    )
    flow = _calls(
        _request(
            url=f"https://user:{PASSWORD}@vxp.example.vn/getEdoc?token={QUERY_TOKEN}&x=1",
            content=b'{"docId":"d-1"}',
        ),
        _request(
            "updateStatus",
            url="https://vxp.example.vn/updateStatus",
            attempt=2,
            correlation_id="c-2",
        ),
    )
    with capture_logs() as events:
        assert run(flow, mock, observer=log) == [200, 503]
    assert [e["event"] for e in events] == ["lgsp.call", "lgsp.call"]
    first, second = events
    assert first["log_level"] == "info"
    assert first["operation"] == "getEdoc"
    assert first["method"] == "POST"
    assert first["endpoint"] == "https://vxp.example.vn/getEdoc"
    assert first["status"] == 200
    assert first["outcome"] == "ok"
    assert first["correlation_id"] == "c-1"
    assert first["attempt"] == 1
    assert first["bytes_sent"] == len(b'{"docId":"d-1"}')
    assert first["bytes_received"] == len(b'{"status":"OK","ErrorCode":"0","data":"UEsDB"}')
    assert first["remote_code"] == "0"
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert round(first["duration_ms"], 1) == first["duration_ms"]
    assert "error" not in first
    assert second["log_level"] == "warning"
    assert second["operation"] == "updateStatus"
    assert second["status"] == 503
    assert second["outcome"] == "http_error"
    assert second["attempt"] == 2
    assert second["correlation_id"] == "c-2"
    assert second["remote_code"] is None
    _assert_clean(events)


def test_transport_error_is_a_warning_with_the_error_class() -> None:
    log = CallLog(history=5)
    refused = TransportError(
        "cannot connect: refused",
        kind="connect",
        operation="getEdoc",
        url=f"https://vxp.example.vn/getEdoc?session={SESSION}",
        sent=False,
    )
    garbled = ProtocolError("the response is not JSON", operation="getEdoc", status_code=200)
    mock = MockTransport(_answer(refused, garbled))
    with capture_logs() as events:
        outcomes = run(_calls(_request(), _request(attempt=2)), mock, observer=log)
    assert outcomes == ["TransportError", "ProtocolError"]
    assert [e["log_level"] for e in events] == ["warning", "warning"]
    assert events[0]["outcome"] == "TransportError"
    assert events[0]["status"] is None
    assert events[0]["bytes_received"] is None
    assert "cannot connect: refused" in events[0]["error"]
    assert events[1]["outcome"] == "ProtocolError"
    assert events[1]["status"] == 200
    assert [x.error for x in log.history] == [refused, garbled]
    assert all(x.response is None for x in log.history)
    _assert_clean(events)


def test_async_flow_is_observed_the_same_way() -> None:
    async def handler(request: Request) -> Response:
        return Response(201, content=b'{"error_code":"00"}')

    log = CallLog()
    with capture_logs() as events:
        result = asyncio.run(
            run_async(_calls(_request("DongBoHoSoMC")), MockTransport(handler), observer=log)
        )
    assert result == [201]
    assert len(events) == 1
    assert events[0]["operation"] == "DongBoHoSoMC"
    assert events[0]["remote_code"] == "00"
    assert events[0]["log_level"] == "info"


def test_attempt_absent_from_meta_is_none() -> None:
    with capture_logs() as events:
        run(
            _calls(_request(attempt=None)),
            MockTransport(_answer(Response(200))),
            observer=CallLog(),
        )
    assert events[0]["attempt"] is None
    assert events[0]["bytes_received"] == 0


# --- Secrets and personal data ------------------------------------------------------------------


def _secret_laden_request() -> Request:
    signed = json.dumps({"XroadVnpt-docId": SIGNED_DOC, "XroadVnpt-systemid": "vxp.saas.03"})
    body = {
        "username": "tich-hop",
        "password": PASSWORD,
        "nested": [{"client_secret": CLIENT_SECRET}, {"Token": QUERY_TOKEN}],
        "session": SESSION,
        "service": "DongBoHoSoMC",
        "madonvi": "000.00.01.H41",
        "data": [
            {
                "MaHoSo": DOSSIER_CODE,
                "ChuHoSo": CITIZEN,
                "SoDinhDanh": ID_NUMBER,
                "SoDienThoai": PHONE,
                "Email": EMAIL,
                "DiaChiChiTiet": ADDRESS,
                "ThongTinNguoiNop": {"TenNguoiNop": CITIZEN, "NgaySinh": BIRTH, "MaTinh": "79"},
            }
        ],
    }
    return Request(
        "POST",
        f"https://adapter.example.vn/integration?token={QUERY_TOKEN}&page=1",
        headers=(
            ("Authorization", f"Bearer {BEARER}"),
            ("XroadVnpt-hash-header", HASH_HEADER),
            ("XroadVnpt-sign-header", signed),
            ("XroadVnpt-sign-header-key", "systemid;docId"),
            ("Cookie", f"JSESSIONID={COOKIE}"),
            ("dstcode", "DST-01"),
            ("Content-Type", "application/json"),
        ),
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        meta={"operation": "DongBoHoSoMC", "correlation_id": "c-9", "attempt": 1},
    )


def _secret_laden_response() -> Response:
    answer = {
        "error_code": 0,
        "session": SESSION,
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "result": [{"MaHoSo": DOSSIER_CODE, "HoVaTen": CITIZEN}],
    }
    return Response(
        200,
        headers=(
            ("Set-Cookie", f"JSESSIONID={COOKIE}; Path=/"),
            ("Content-Type", "application/json"),
        ),
        content=json.dumps(answer, ensure_ascii=False).encode(),
    )


def _assert_clean(events: list[dict[str, Any]]) -> None:
    text = _all_text(events)
    for value in SECRETS + PERSONAL:
        assert value not in text, f"{value!r} reached the log"
    for event in events:
        for item in event.values():
            for value in SECRETS + PERSONAL:
                assert value not in str(item)


def test_secrets_and_personal_data_never_reach_the_log() -> None:
    log = CallLog(log_bodies=True)
    mock = MockTransport(_answer(_secret_laden_response()))
    with capture_logs() as events:
        run(_calls(_secret_laden_request()), mock, observer=log)
    assert [e["event"] for e in events] == ["lgsp.call", "lgsp.call.detail"]
    _assert_clean(events)
    detail = events[1]
    assert detail["log_level"] == "debug"
    assert detail["correlation_id"] == "c-9"
    headers = detail["request_headers"]
    assert headers["Authorization"] == f"Bearer {MASK}"
    assert headers["XroadVnpt-hash-header"] == MASK
    assert headers["XroadVnpt-sign-header"] == MASK
    assert headers["XroadVnpt-sign-header-key"] == "systemid;docId"
    assert headers["Cookie"] == MASK
    assert headers["dstcode"] == "DST-01"
    assert detail["url"] == f"https://adapter.example.vn/integration?token={MASK}&page=1"
    body = json.loads(detail["request_body"])
    assert body["password"] == MASK
    assert body["username"] == "tich-hop"
    assert body["madonvi"] == "000.00.01.H41"
    assert body["nested"] == [{"client_secret": MASK}, {"Token": MASK}]
    assert body["data"][0]["MaHoSo"] == DOSSIER_CODE
    assert body["data"][0]["ChuHoSo"] == MASK
    assert body["data"][0]["ThongTinNguoiNop"] == MASK
    assert detail["response_headers"]["Set-Cookie"] == MASK
    answer = json.loads(detail["response_body"])
    assert answer["access_token"] == MASK
    assert answer["token_type"] == "Bearer"
    assert answer["result"] == [{"MaHoSo": DOSSIER_CODE, "HoVaTen": MASK}]


def test_rendered_json_lines_hold_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="DEBUG")
    log = CallLog(log_bodies=True)
    run(
        _calls(_secret_laden_request()),
        MockTransport(_answer(_secret_laden_response())),
        observer=log,
    )
    structlog.get_logger("app").info("login", password=PASSWORD, note=f"token={QUERY_TOKEN}")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["lgsp.call", "lgsp.call.detail", "login"]
    assert lines[2]["password"] == MASK
    assert lines[2]["note"] == f"token={MASK}"
    assert all(line["timestamp"].endswith("Z") for line in lines)
    _assert_clean(lines)


def test_console_rendering_at_info_drops_the_detail(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO")
    run(
        _calls(_secret_laden_request()),
        MockTransport(_answer(_secret_laden_response())),
        observer=CallLog(log_bodies=True),
    )
    err = capsys.readouterr().err
    assert "lgsp.call" in err
    assert "lgsp.call.detail" not in err
    for value in SECRETS + PERSONAL:
        assert value not in err


def test_detail_only_when_asked_and_enabled() -> None:
    def logger_at(level: int) -> tuple[Any, LogCapture]:
        capture = LogCapture()
        wrapper = structlog.make_filtering_bound_logger(level)
        return structlog.wrap_logger(None, processors=[capture], wrapper_class=wrapper), capture

    for log_bodies, level, expected in [
        (False, logging.DEBUG, ["lgsp.call"]),
        (True, logging.INFO, ["lgsp.call"]),
        (True, logging.DEBUG, ["lgsp.call", "lgsp.call.detail"]),
    ]:
        logger, capture = logger_at(level)
        log = CallLog(logger, log_bodies=log_bodies)
        run(_calls(_request()), MockTransport(_answer(Response(200))), observer=log)
        assert [e["event"] for e in capture.entries] == expected


def test_file_and_spooled_bodies_are_sized_not_read(tmp_path: Path) -> None:
    package = tmp_path / "goi-tin.edxml"
    package.write_bytes(b"<edXML>" + b"x" * 5000 + b"</edXML>")
    log = CallLog(log_bodies=True)
    mock = MockTransport(_answer(Response(200, content=b"PK\x03\x04" + b"z" * 3000)))
    with capture_logs() as events:
        run(_calls(_request("sendEdoc", content=package, spool=True)), mock, observer=log)
    summary, detail = events
    assert summary["bytes_sent"] == package.stat().st_size
    assert summary["bytes_received"] == 3004
    assert detail["request_body"] == f"<file goi-tin.edxml, {package.stat().st_size} bytes>"
    assert detail["response_body"] == "<spooled, 3004 bytes>"


# --- History and the audit hook -----------------------------------------------------------------


def test_history_keeps_the_last_n() -> None:
    log = CallLog(history=2)
    mock = MockTransport(_ok)
    requests = [_request(correlation_id=f"c-{i}") for i in range(5)]
    with capture_logs() as events:
        run(_calls(*requests), mock, observer=log)
    assert len(events) == 5
    assert [x.request.correlation_id for x in log.history] == ["c-3", "c-4"]
    unkept = CallLog()
    run(_calls(*requests), mock, observer=unkept)
    assert len(unkept.history) == 0


def test_on_exchange_receives_the_raw_exchange() -> None:
    seen: list[Exchange] = []
    request, response = _secret_laden_request(), _secret_laden_response()
    before = dt.datetime.now(dt.UTC)
    with capture_logs():
        run(
            _calls(request),
            MockTransport(_answer(response)),
            observer=CallLog(on_exchange=seen.append),
        )
    (exchange,) = seen
    assert exchange.request is request
    assert exchange.response is response
    assert exchange.error is None
    assert exchange.request.header("Authorization") == f"Bearer {BEARER}"
    assert isinstance(exchange.request.content, bytes)
    assert PASSWORD.encode() in exchange.request.content
    assert ACCESS_TOKEN.encode() in exchange.response.content
    assert exchange.started_at.tzinfo is not None
    assert before - dt.timedelta(seconds=1) <= exchange.started_at <= dt.datetime.now(dt.UTC)
    assert exchange.duration >= 0
    assert exchange.status == 200
    assert exchange.outcome == "ok"
    with pytest.raises(AttributeError):
        exchange.duration = 0  # type: ignore[misc]


def test_a_failing_hook_is_logged_and_the_call_goes_on() -> None:
    def hook(exchange: Exchange) -> None:
        raise RuntimeError(f"audit store down; client_secret={CLIENT_SECRET}")

    with capture_logs() as events:
        result = run(
            _calls(_request(), _request(attempt=2)),
            MockTransport(_ok),
            observer=CallLog(on_exchange=hook),
        )
    assert result == [200, 200]
    assert [e["event"] for e in events] == ["lgsp.call", "lgsp.call.hook_failed"] * 2
    failure = events[1]
    assert failure["log_level"] == "error"
    assert failure["error_type"] == "RuntimeError"
    assert "audit store down" in failure["error"]
    assert "exc_info" not in failure
    _assert_clean(events)


# --- Redaction ----------------------------------------------------------------------------------


def test_redact_nested_structures_and_header_pairs() -> None:
    value = {
        "Proxy-Authorization": "Basic dXNlcjpwYXNz",
        "clientSecret": CLIENT_SECRET,
        "items": [{"SoCMND": 123456789, "MaTTHC": "1.005129"}, ("refresh_token", "r-1")],
        "headers": (("X-Api-Key", "k-1"), ("Accept", "application/json")),
        "absent_password": None,
        "count": 3,
    }
    assert redact(value) == {
        "Proxy-Authorization": f"Basic {MASK}",
        "clientSecret": MASK,
        "items": [{"SoCMND": MASK, "MaTTHC": "1.005129"}, ("refresh_token", MASK)],
        "headers": (("X-Api-Key", MASK), ("Accept", "application/json")),
        "absent_password": None,
        "count": 3,
    }


def test_redact_json_given_as_bytes_or_text() -> None:
    data = {"Email": EMAIL, "inner": json.dumps({"secret": CLIENT_SECRET}), "MaHoSo": "H-1"}
    text = json.dumps(data)
    expected = {
        "Email": MASK,
        "inner": json.dumps({"secret": MASK}, separators=(",", ":")),
        "MaHoSo": "H-1",
    }
    assert json.loads(redact(text)) == expected
    assert json.loads(redact(text.encode())) == expected
    assert json.loads(redact_body(text)) == expected


def test_long_json_strings_are_cut() -> None:
    body = json.dumps({"data": "UEsDB" + "A" * 10_000, "ErrorCode": "0"}).encode()
    shown = json.loads(redact_body(body))
    assert shown["ErrorCode"] == "0"
    assert shown["data"].startswith("UEsDBAAA")
    assert shown["data"].endswith("…(10005 chars)")
    assert len(shown["data"]) < 250


def test_non_json_bodies_are_cut_then_scrubbed() -> None:
    form = f"grant_type=client_credentials&client_id=app&client_secret={CLIENT_SECRET}"
    assert redact_body(form.encode()) == (
        f"grant_type=client_credentials&client_id=app&client_secret={MASK}"
    )
    soap = (
        f"<s:Envelope><s:Body><m:token>{QUERY_TOKEN}</m:token><SoDinhDanh>{ID_NUMBER}"
        "</SoDinhDanh><OrganId>000.00.00.H41</OrganId></s:Body></s:Envelope>"
    )
    shown = redact_body(soap.encode())
    assert f"<m:token>{MASK}</m:token>" in shown
    assert f"<SoDinhDanh>{MASK}</SoDinhDanh>" in shown
    assert "<OrganId>000.00.00.H41</OrganId>" in shown
    broken = f'not json {{"password" : "{PASSWORD}", "x": 1'
    assert redact_body(broken) == f'not json {{"password":"{MASK}", "x": 1'
    # the preview ends at 200 bytes: what follows is not shown at all
    long = b"a" * 195 + f'"password":"{PASSWORD}"'.encode() + b"b" * 500
    shown = redact_body(long)
    assert PASSWORD not in shown
    assert PASSWORD[:3] not in shown
    assert shown.endswith(f"…(+{len(long) - 200} bytes)")
    assert len(shown.partition("…")[0].encode()) <= 200
    assert redact_body(b"") == ""


def test_redact_url() -> None:
    url = f"https://u:{PASSWORD}@h.example.vn/a?token={QUERY_TOKEN}&page=2&Client_Secret=x&q"
    expected = f"https://{MASK}@h.example.vn/a?token={MASK}&page=2&Client_Secret={MASK}&q"
    assert redact_url(url) == expected
    assert redact_url("https://h.example.vn/a") == "https://h.example.vn/a"


def test_redact_free_text() -> None:
    text = (
        f"call to https://h.vn/x?session={SESSION} failed; Authorization: Bearer {BEARER}\n"
        f"sent password={PASSWORD} to https://u:{CLIENT_SECRET}@h.vn/y\nCookie: {COOKIE}"
    )
    shown = redact(text)
    assert isinstance(shown, str)
    for secret in (SESSION, BEARER, PASSWORD, CLIENT_SECRET, COOKIE):
        assert secret not in shown
    assert "call to https://h.vn/x?session=***" in shown
    assert "to https://***@h.vn/y" in shown


def test_redact_processor_masks_fields_by_name() -> None:
    event = {"event": "x", "token": "t-1", "payload": {"HoVaTen": CITIZEN}, "n": 1}
    assert redact_processor(None, "info", event) == {
        "event": "x",
        "token": MASK,
        "payload": {"HoVaTen": MASK},
        "n": 1,
    }


def test_configure_logging_refuses_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(level="LOUD")


# --- The documentation's examples ---------------------------------------------------------------


def test_documented_observe_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- check: observe -->\n```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), {"__name__": "docs"})  # noqa: S102
    line = json.loads(capsys.readouterr().err.splitlines()[0])
    assert line["event"] == "lgsp.call"
    assert line["remote_code"] == "0"
