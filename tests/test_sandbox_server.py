"""The running sandbox: gateway tokens, fault knobs, the store, the self-description, ``serve``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import build_package, build_status
from lgsp import AsyncClient, Attachment, Client, WriteOptions, package_to_bytes
from lgsp.clients.settings import TimeoutSettings
from lgsp.errors import RemoteServiceError, TransportError
from lgsp.sandbox import Sandbox, SandboxConfig, SandboxState, SandboxStore, create_app
from sandbox_fixtures import (
    APP_BOUND,
    APP_UNBOUND,
    CONFIG,
    ORGAN_A,
    SYSTEM_A,
    SYSTEM_B,
    gateway_settings,
    running_sandbox,
    sdk_headers,
    stored_count,
    vxp_settings,
)

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def token(sandbox: Sandbox, client_id: str, secret: str, **extra: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    form.update(extra)
    return httpx.post(sandbox.url + "/token", data=form)


# -- the gateway --------------------------------------------------------------------------


def test_token_endpoint(sandbox: Sandbox) -> None:
    answer = token(sandbox, *APP_BOUND, scope="vdxp")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "vdxp"
    basic = httpx.post(
        sandbox.url + "/token", data={"grant_type": "client_credentials"}, auth=APP_UNBOUND
    )
    assert basic.status_code == 200 and basic.json()["access_token"] != body["access_token"]
    wrong = token(sandbox, APP_BOUND[0], "wrong-secret")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = httpx.post(sandbox.url + "/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    sandbox.state.faults.token_lifetime = 5
    assert token(sandbox, *APP_BOUND).json()["expires_in"] == 5


def test_gateway_refuses_calls_without_a_live_token(sandbox: Sandbox) -> None:
    url = sandbox.url + "/vdxp-product/1.0/getAgenciesList"
    missing = httpx.post(url)
    assert missing.status_code == 401
    assert missing.json()["fault"]["code"] == 900902
    assert "invalid_request" in missing.headers["www-authenticate"]
    unknown = httpx.post(url, headers={"Authorization": "Bearer 0000"})
    assert unknown.status_code == 401 and unknown.json()["fault"]["code"] == 900901
    live = token(sandbox, *APP_BOUND).json()["access_token"]
    ok = httpx.post(url, headers={"Authorization": f"Bearer {live}"})
    assert ok.status_code == 200 and ok.json()["status"] == "OK"
    real = time.time()
    sandbox.state.clock = lambda: real + 3601  # the token's hour is over
    expired = httpx.post(url, headers={"Authorization": f"Bearer {live}"})
    assert expired.status_code == 401 and "expired" in expired.json()["fault"]["description"]
    nothing = httpx.post(sandbox.url + "/vdxp-product/1.0/nothing")
    assert nothing.status_code == 404 and "fault" in nothing.json()


def test_gateway_client_renews_an_expired_token(sandbox: Sandbox) -> None:
    with Client.from_settings(gateway_settings(sandbox)) as client:
        sent = client.documents.send(build_package())
        assert sent.accepted
        assert issued_tokens(sandbox) == 1
        real = time.time()
        sandbox.state.clock = lambda: real + 7200
        assert client.documents.sent()[0].sender_doc_id == sent.doc_id  # a 401, then renewed
        assert issued_tokens(sandbox) == 2


def issued_tokens(sandbox: Sandbox) -> int:
    with sandbox.state.store.reading() as db:
        return int(db.execute("SELECT COUNT(*) FROM gateway_tokens").fetchone()[0])


def test_unsigned_gateway_calls_need_a_bound_application(sandbox: Sandbox) -> None:
    with Client.from_settings(gateway_settings(sandbox, APP_UNBOUND)) as client:
        with pytest.raises(RemoteServiceError) as refused:
            client.documents.received()
        assert refused.value.status_code == 403
        assert "not bound to a VXP system" in str(refused.value)
    # signed, the same application works: the signature names the system
    with Client.from_settings(gateway_settings(sandbox, APP_UNBOUND, system=SYSTEM_B)) as b:
        assert b.documents.received() == []
    # a bound application cannot sign as another system
    with Client.from_settings(gateway_settings(sandbox, APP_BOUND, system=SYSTEM_B)) as other:
        with pytest.raises(RemoteServiceError) as mismatch:
            other.documents.received()
        assert mismatch.value.status_code == 403


def test_wrong_signature_behind_the_gateway_is_403(sandbox: Sandbox) -> None:
    live = token(sandbox, *APP_UNBOUND).json()["access_token"]
    headers = sdk_headers({"servicetype": "eDoc"}, system=(SYSTEM_A[0], "wrong"))
    answer = httpx.post(
        sandbox.url + "/vdxp-product/1.0/getReceivedEdocList",
        headers=[*headers, ("Authorization", f"Bearer {live}")],
    )
    assert answer.status_code == 403 and answer.json()["ErrorCode"] == "401"


def test_end_to_end_vxp_client_and_async_gateway_client(sandbox: Sandbox, tmp_path: Path) -> None:
    """Agency A sends with lgsp.Client over VXP; B reads and answers with lgsp.AsyncClient
    through the gateway (signed as system B); A sees the status."""
    package = build_package()
    with Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a:
        sent = a.documents.send(package)
        assert sent.accepted and sent.doc_id

    async def b_side() -> list[str]:
        settings = gateway_settings(sandbox, APP_UNBOUND, system=SYSTEM_B)
        async with AsyncClient.from_settings(settings, download_dir=tmp_path) as b:
            seen: list[str] = []

            async def handle(delivery: object) -> None:
                seen.append(delivery.package.header.subject)  # type: ignore[attr-defined]

            report = await b.documents.receive(handle)
            assert report.acknowledged == [sent.doc_id]
            status = await b.documents.send(build_status())
            assert status.accepted
            return seen

    assert asyncio.run(b_side()) == [package.header.subject]
    with Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a:
        assert a.documents.sent()[0].receive_status == "done"
        (status_item,) = a.documents.received("status")
        assert status_item.from_code != ORGAN_A


# -- faults ------------------------------------------------------------------------------


def test_error_rate_refuses_with_503_and_retry_after(sandbox: Sandbox) -> None:
    sandbox.state.faults.error_rate = 1.0
    answer = httpx.post(sandbox.url + "/vxp/getAgenciesList")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["ErrorCode"] == "503"
    assert httpx.get(sandbox.url + "/health").status_code == 200  # exempt
    with Client.from_settings(vxp_settings(sandbox)) as client:
        outcome = client.documents.send(build_package())
    assert not outcome.accepted and outcome.retry_safe  # refused unprocessed: safe to resend
    assert outcome.attempts == 3 and stored_count(sandbox) == 0
    assert sandbox.state.faults.errors == 4


def test_a_dropped_connection_after_processing(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    sandbox.state.faults.drop_rate = 1.0
    with Client.from_settings(vxp_settings(sandbox)) as client:
        with pytest.raises(TransportError) as lost:
            client.documents.send(data)
        assert lost.value.sent  # the call may have taken effect
        assert sandbox.state.faults.drops == 1
        assert stored_count(sandbox) == 1  # it did: processed, then the connection was cut
        sandbox.state.faults.drop_rate = 0.0
        again = client.documents.send(data)  # the resend finds the first copy
    assert again.accepted and "already received" in (again.message or "")
    assert stored_count(sandbox, hashlib.sha256(data).hexdigest()) == 1


def test_a_dropped_connection_seen_by_the_async_client(sandbox: Sandbox) -> None:
    sandbox.state.faults.update(drop_rate=1.0, paths=("/vxp/sendEdoc",))

    async def scenario() -> None:
        async with AsyncClient.from_settings(vxp_settings(sandbox)) as client:
            with pytest.raises(TransportError):
                await client.documents.send(build_package())
            assert await client.documents.received() == []  # not dropped: another path

    asyncio.run(scenario())
    assert stored_count(sandbox) == 1


def test_latency_beyond_the_read_timeout(sandbox: Sandbox) -> None:
    sandbox.state.faults.latency = 2.0
    short = TimeoutSettings(read=0.2, total=5.0)
    with (
        Client.from_settings(vxp_settings(sandbox, timeouts=short)) as client,
        pytest.raises(TransportError) as slow,
    ):
        client.agencies.list()
    assert slow.value.kind == "timeout"


def test_fault_knobs_over_http(sandbox: Sandbox) -> None:
    url = sandbox.url + "/sandbox/faults"
    changed = httpx.put(url, json={"error_rate": 1.0, "paths": ["/vxp/"]})
    assert changed.status_code == 200 and changed.json()["error_rate"] == 1.0
    assert httpx.post(sandbox.url + "/vxp/getAgenciesList").status_code == 503
    assert token(sandbox, *APP_BOUND).status_code == 200  # not under /vxp/
    assert httpx.put(url, json={"nonsense": 1}).status_code == 400
    sandbox.state.faults.reset()
    assert httpx.get(url).json()["error_rate"] == 0.0


# -- where the work runs -----------------------------------------------------------------


def big_package(subject: str | None = "Văn bản có tệp lớn", **over: Any) -> bytes:
    """A package past the size at which worker processes read it."""
    attachment = Attachment.from_bytes(
        "Phụ lục.pdf", b"%PDF-1.4\n" + os.urandom(40_000), content_id="phu-luc"
    )
    return package_to_bytes(
        build_package(subject=subject, attachments=[attachment], **over),
        options=WriteOptions(validate_first=subject is not None),
    )


@pytest.mark.parametrize("options", [{"processes": 2}, {"workers": 0}], ids=["processes", "inline"])
def test_other_ways_to_run_the_work(options: dict[str, int], tmp_path: Path) -> None:
    with running_sandbox(**options) as sandbox:
        data = big_package()
        assert sandbox.state.readers.offloads(data) == ("processes" in options)
        invalid = big_package(None, document_id=None)
        with (
            Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
            Client.from_settings(vxp_settings(sandbox, SYSTEM_B), download_dir=tmp_path) as b,
        ):
            sent = a.documents.send(data)
            assert sent.accepted and sent.doc_id
            assert a.documents.send(data).doc_id == sent.doc_id  # the resend
            refused = a.documents.send(invalid)
            assert not refused.accepted and refused.code == "422"
            assert "header.required" in (refused.message or "")
            report = b.documents.receive(lambda delivery: None)
            assert report.acknowledged == [sent.doc_id]
            assert b.documents.get(sent.doc_id) == data
        sandbox.state.faults.drop_rate = 1.0
        with Client.from_settings(vxp_settings(sandbox)) as a, pytest.raises(TransportError):
            a.documents.send(big_package("thứ ba"))
        assert stored_count(sandbox) == 2


# -- the store ---------------------------------------------------------------------------


def test_a_file_store_keeps_everything_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    data = package_to_bytes(build_package())
    with running_sandbox(db=db) as first:
        with Client.from_settings(vxp_settings(first, SYSTEM_B)) as b:
            b.agencies.register({"code": "000.00.09.H41", "name": "Sở Tư pháp"})
        with Client.from_settings(vxp_settings(first)) as a:
            doc_id = a.documents.send(data).doc_id
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with running_sandbox(db=db) as second:
        with Client.from_settings(vxp_settings(second, SYSTEM_B)) as b:
            assert [i.doc_id for i in b.documents.received()] == [doc_id]
            assert "000.00.09.H41" in [x.code for x in b.agencies.list()]
        with Client.from_settings(vxp_settings(second)) as a:
            assert a.documents.send(data).doc_id == doc_id  # dedupe across the restart


def insert_then_fail(store: SandboxStore) -> None:
    with store.transaction() as db:
        db.execute("INSERT INTO n VALUES (1)")
        _ = 1 / 0


def test_store_transactions_roll_back_and_serialise_writers(tmp_path: Path) -> None:
    for target in (":memory:", tmp_path / "store.db"):
        with SandboxStore(target) as store:
            store.add_schema("CREATE TABLE IF NOT EXISTS n (v INTEGER)")
            store.add_schema("CREATE TABLE IF NOT EXISTS n (v INTEGER)")  # idempotent
            with pytest.raises(ZeroDivisionError):
                insert_then_fail(store)
            with store.reading() as db:
                assert db.execute("SELECT COUNT(*) FROM n").fetchone()[0] == 0

            def bump() -> None:
                for _ in range(50):
                    with store.transaction() as db:  # read-modify-write, never interleaved
                        (v,) = db.execute("SELECT COALESCE(MAX(v), 0) FROM n").fetchone()
                        db.execute("INSERT INTO n VALUES (?)", (v + 1,))

            threads = [threading.Thread(target=bump) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with store.reading() as db:
                assert db.execute("SELECT COUNT(DISTINCT v), MAX(v) FROM n").fetchone() == (
                    200,
                    200,
                )
        assert store.closed
        with pytest.raises(sqlite3.ProgrammingError):
            store.add_schema("SELECT 1")


async def lifespan(app: Any) -> None:
    """Start an ASGI app up and shut it down, as a server does."""
    events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return events.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_create_app_owns_what_it_opens_and_leaves_a_given_state(tmp_path: Path) -> None:
    async def health(app: Any) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            return (await http.post("/vxp/getAgenciesList")).status_code

    app = create_app(CONFIG, db=tmp_path / "owned.db")
    state: SandboxState = app.state.sandbox
    assert asyncio.run(health(app)) == 401  # unsigned
    asyncio.run(lifespan(app))
    assert state.store.closed
    given = SandboxState.open(CONFIG)
    asyncio.run(lifespan(create_app(state=given)))
    assert not given.store.closed
    given.store.close()
    other = SandboxState.open(CONFIG)
    with pytest.raises(ValueError, match="either a config"):
        create_app(SandboxConfig.demo(), state=other)
    other.store.close()


# -- self-description and serving ------------------------------------------------------------


def test_openapi_docs_and_health(sandbox: Sandbox) -> None:
    spec = httpx.get(sandbox.url + "/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    for path in ("/token", "/vxp/sendEdoc", "/vdxp-product/1.0/getEdoc", "/soap/DocumentHub"):
        assert path in spec["paths"]
    assert spec["paths"]["/vxp/sendEdoc"]["post"]["requestBody"]["content"].keys() == {
        "application/octet-stream"
    }
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    page = httpx.get(sandbox.url + "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/vxp/getReceivedEdocList" in page.text and "<script" not in page.text
    assert httpx.get(sandbox.url + "/health").json() == {"status": "ok"}


def test_sandbox_lifecycle() -> None:
    sandbox = Sandbox(CONFIG)
    with pytest.raises(RuntimeError, match="not started"):
        _ = sandbox.url
    sandbox.start()
    url = sandbox.url
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url + "/health").status_code == 200
    sandbox.stop()
    assert sandbox.state.store.closed
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_in_the_foreground(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "fg.db"
    config = tmp_path / "sandbox.toml"
    config.write_text(
        '[[systems]]\nsystem_id = "vxp.saas.03"\nsecret = "s"\norgans = ["000.00.00.G22"]\n'
        '[[agencies]]\ncode = "000.00.00.G22"\nname = "Văn phòng Chính phủ"\n',
        "utf-8",
    )
    code = (
        "from lgsp.sandbox import serve; "
        f"serve(port={port}, db={str(db)!r}, config={str(config)!r}, log_level='warning')"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail(f"serve() did not answer: {process.stderr.read1().decode()}")  # type: ignore[union-attr]
        agencies = httpx.post(
            f"http://127.0.0.1:{port}/vxp/getAgenciesList",
            headers=sdk_headers({}, system=("vxp.saas.03", "s")),
        )
        assert [a["code"] for a in agencies.json()["data"]] == [ORGAN_A]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err.decode()
    printed = out.decode()
    assert f"lgsp sandbox listening on http://127.0.0.1:{port}" in printed
    assert "system vxp.saas.03: 000.00.00.G22" in printed
    assert db.exists()
    with sqlite3.connect(db) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert {"vxp_documents", "vxp_deliveries", "gateway_tokens"} <= names
