"""The clients against real loopback servers with injected faults.

For each fault: what the caller sees, and proof from the server's own records (and the
outbox's) that nothing accepted was lost or sent twice. Includes kill -9 of a sending process.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from _fake_vxp import FakeVxp
from _servers import Fault, Reply, refused_port, serve
from conftest import build_package
from lgsp import package_to_bytes
from lgsp.clients._core import VxpService
from lgsp.clients._vxp import VxpCodec
from lgsp.clients.client import AsyncClient, Client
from lgsp.clients.outbox import Outbox
from lgsp.errors import ProtocolError, RemoteServiceError, TransportError
from lgsp.transports import Timeouts
from lgsp.transports.auth import ClientCredentials, VxpSigning
from lgsp.transports.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
SHORT = Timeouts(connect=2.0, read=0.4, write=2.0, pool=2.0, total=1.5)
SRC = Path(__file__).resolve().parents[1] / "src"


class Axis:
    """A FakeVxp behind a loopback server, with faults injected per operation."""

    def __init__(self, *, dedupe: bool = True) -> None:
        self.fake = FakeVxp(dedupe=dedupe)
        self.faults: dict[str, list[Any]] = {}
        self.lock = threading.Lock()

    def inject(self, operation: str, *answers: Any) -> None:
        self.faults.setdefault(operation, []).extend(answers)

    def __call__(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        operation = path.split("?", maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]
        with self.lock:
            pending = self.faults.get(operation)
            fault = pending.pop(0) if pending else None
        if fault == "process-then-reset":
            self.fake.handle(method, path, list(headers.items()), body)
            return Fault.reset_before_response
        if fault == "process-then-hang":
            self.fake.handle(method, path, list(headers.items()), body)
            return Fault.hang
        if fault is not None:
            return fault
        status, reply_headers, data = self.fake.handle(method, path, list(headers.items()), body)
        return Reply(status, tuple(reply_headers), data)


@pytest.fixture
def axis() -> Iterator[tuple[Axis, str]]:
    handler = Axis()
    with serve(handler) as server:
        yield handler, server.url("/vxp")


def _service(
    base: str, *, dedupes: bool = True, system: str = "vxp.saas.03", secret: str = "sender-secret"
) -> VxpService:
    return VxpService(
        VxpCodec(base, timeouts=SHORT), [VxpSigning(system, secret)], dedupes_by_hash=dedupes
    )


def _client(base: str, tmp_path: Path, **kwargs: Any) -> Client:
    kwargs.setdefault("documents", _service(base))
    kwargs.setdefault("retry", FAST)
    return Client(download_dir=tmp_path / "in", **kwargs)


def test_connection_refused_is_retried_then_surfaces_with_sent_false(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{refused_port()}/vxp"
    with _client(base, tmp_path, outbox=tmp_path / "o.db") as client:
        with pytest.raises(TransportError) as info:
            client.documents.send(build_package())
        assert info.value.kind == "connect" and info.value.sent is False
        # the package is kept, due for a later attempt
        assert client.outbox.counts()["queued"] == 1


@pytest.mark.parametrize("fault", ["process-then-reset", "process-then-hang"])
def test_lost_answer_after_processing(axis: tuple[Axis, str], tmp_path: Path, fault: str) -> None:
    handler, base = axis
    handler.inject("sendEdoc", fault)
    with _client(base, tmp_path, outbox=tmp_path / "o.db") as client:
        outcome = client.documents.send(build_package())
        # the receiver deduplicates by hash: the resend returned the first DocId
        assert outcome.accepted and outcome.attempts == 2
        assert len(handler.fake.docs) == 1 and outcome.doc_id in handler.fake.docs
        assert client.outbox.counts()["delivered"] == 1


def test_lost_answer_without_dedupe_is_held_not_resent(tmp_path: Path) -> None:
    handler = Axis(dedupe=False)
    handler.inject("sendEdoc", "process-then-reset")
    with (
        serve(handler) as server,
        _client(
            server.url("/vxp"),
            tmp_path,
            documents=_service(server.url("/vxp"), dedupes=False),
            outbox=tmp_path / "o.db",
        ) as client,
    ):
        with pytest.raises(TransportError) as info:
            client.documents.send(build_package())
        assert info.value.sent is True
        assert server.count("/vxp/sendEdoc") == 1
        assert len(handler.fake.docs) == 1
        [entry] = client.outbox.entries()
        assert entry.state == "failed" and "uncertain" in (entry.last_error or "")


def test_5xx_then_success(axis: tuple[Axis, str], tmp_path: Path) -> None:
    handler, base = axis
    handler.inject("sendEdoc", Fault.status(503), Fault.status(503))
    handler.inject("getReceivedEdocList", Fault.status(500))
    with _client(base, tmp_path) as client:
        outcome = client.documents.send(build_package())
        assert outcome.accepted and outcome.attempts == 3
        assert len(client.documents.received()) == 1  # a read: 500 retried
    assert len(handler.fake.docs) == 1


def test_500_on_a_send_is_not_retried_without_dedupe(tmp_path: Path) -> None:
    handler = Axis(dedupe=False)
    handler.inject("sendEdoc", Fault.status(500, body=b'{"status":"FAIL","ErrorCode":"500"}'))
    with serve(handler) as server:
        base = server.url("/vxp")
        with _client(base, tmp_path, documents=_service(base, dedupes=False)) as client:
            outcome = client.documents.send(build_package())
        assert not outcome.accepted and outcome.code == "500" and not outcome.retry_safe
        assert server.count("/vxp/sendEdoc") == 1


def test_429_with_retry_after_is_honoured(axis: tuple[Axis, str], tmp_path: Path) -> None:
    handler, base = axis
    handler.inject("sendEdoc", Fault.status(429, retry_after="1"))
    with _client(base, tmp_path) as client:
        outcome = client.documents.send(build_package())
    assert outcome.accepted and outcome.attempts == 2
    assert len(handler.fake.docs) == 1


def test_429_asking_too_long_is_an_outcome_and_stays_in_the_outbox(
    axis: tuple[Axis, str], tmp_path: Path
) -> None:
    handler, base = axis
    handler.inject("sendEdoc", Fault.status(429, retry_after="3600"))
    with _client(base, tmp_path, outbox=tmp_path / "o.db") as client:
        outcome = client.documents.send(build_package())
        assert not outcome.accepted and outcome.retry_safe
        [entry] = client.outbox.entries()
        assert entry.state == "queued"
    assert handler.fake.docs == {}


def test_read_timeout_on_a_read_is_retried(axis: tuple[Axis, str], tmp_path: Path) -> None:
    handler, base = axis
    handler.inject("countReceiveEdoc", Fault.hang)
    with _client(base, tmp_path) as client:
        assert client.documents.count() == 0


def test_malformed_and_truncated_answers(axis: tuple[Axis, str], tmp_path: Path) -> None:
    handler, base = axis
    with _client(base, tmp_path, retry=RetryPolicy(max_attempts=1)) as client:
        doc_id = client.documents.send(build_package()).doc_id or ""
        handler.inject("getReceivedEdocList", Reply(200, (), b"<html>gateway error</html>"))
        with pytest.raises(ProtocolError, match="not JSON"):
            client.documents.received()
        handler.inject("getEdoc", Fault.truncated_body)
        with pytest.raises(TransportError):
            client.documents.download(doc_id, tmp_path / "x.edxml")
        assert not list(tmp_path.glob("x.edxml*"))
        handler.inject("getEdoc", Fault.malformed)
        with pytest.raises(TransportError):
            client.documents.download(doc_id, tmp_path / "x.edxml")
        # after the faults, the same calls work: nothing was lost on the axis
        assert client.documents.download(doc_id, tmp_path / "x.edxml") > 0
        assert (tmp_path / "x.edxml").read_bytes() == handler.fake.docs[doc_id].content


def test_slow_loris_is_cut_at_the_total_deadline(axis: tuple[Axis, str], tmp_path: Path) -> None:
    handler, base = axis
    handler.inject("getEdoc", Fault.slow_loris(seconds=0.05, size=10_000))  # 500 s of trickle
    with _client(base, tmp_path, retry=RetryPolicy(max_attempts=1)) as client:
        doc_id = client.documents.send(build_package()).doc_id or ""
        with pytest.raises(TransportError) as info:
            client.documents.download(doc_id, tmp_path / "y.edxml")
        assert info.value.kind == "timeout"
        assert not list(tmp_path.glob("y.edxml*"))


def test_token_expiry_and_revocation_through_a_gateway(tmp_path: Path) -> None:
    fake = FakeVxp()
    issued: list[str] = []
    revoked: set[str] = set()

    def gateway(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        if path == "/token":
            issued.append(f"t{len(issued) + 1}")
            return Reply.json({"access_token": issued[-1], "expires_in": 3600})
        token = headers.get("authorization") or headers.get("Authorization") or ""
        token = token.removeprefix("Bearer ")
        if token not in issued or token in revoked:
            return Reply.json({"fault": "Invalid Credentials"}, 401)
        status, reply_headers, data = fake.handle(
            method, path.removeprefix("/vdxp-product/1.0"), list(headers.items()), body
        )
        return Reply(status, tuple(reply_headers), data)

    with serve(gateway) as server:
        auth = ClientCredentials(server.url("/token"), "app", "app-secret")
        service = VxpService(
            VxpCodec(server.url("/vdxp-product/1.0"), timeouts=SHORT),
            [auth, VxpSigning("vxp.saas.03", "sender-secret")],
        )
        with _client("", tmp_path, documents=service) as client:
            assert client.documents.send(build_package()).accepted
            revoked.add("t1")  # the gateway revokes the token before its expiry
            assert client.documents.count() == 1
            assert issued == ["t1", "t2"]
            revoked.add("t2")
            auth.clock = lambda: 10**9  # and now every cached token is past its refresh point
            assert client.documents.received()[0].doc_id == "1000"
            assert issued == ["t1", "t2", "t3"]


def test_async_client_at_100_concurrent_calls_with_faults(tmp_path: Path) -> None:
    import asyncio

    handler = Axis()
    for _ in range(10):
        handler.inject("sendEdoc", Fault.status(503))
    handler.inject("sendEdoc", "process-then-reset", "process-then-reset")
    packages = [package_to_bytes(build_package(subject=f"Công văn số {n}")) for n in range(100)]
    with serve(handler) as server:
        base = server.url("/vxp")

        async def main() -> list[Any]:
            async with AsyncClient(
                documents=_service(base), retry=FAST, outbox=tmp_path / "o.db"
            ) as client:
                return await asyncio.gather(*[client.documents.send(p) for p in packages])

        outcomes = asyncio.run(main())
    assert all(o.accepted for o in outcomes)
    digests = {hashlib.sha256(p).hexdigest() for p in packages}
    stored = {hashlib.sha256(d.content).hexdigest() for d in handler.fake.docs.values()}
    assert stored == digests and len(handler.fake.docs) == 100
    assert Outbox(tmp_path / "o.db").counts()["delivered"] == 100


# -- kill -9 ----------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from lgsp.clients._core import VxpService
    from lgsp.clients._vxp import VxpCodec
    from lgsp.clients.client import Client
    from lgsp.transports import Timeouts
    from lgsp.transports.auth import VxpSigning
    from lgsp.transports.retry import RetryPolicy

    base, outbox, package, dedupes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    service = VxpService(VxpCodec(base, timeouts=Timeouts(read=600, total=600)),
                         [VxpSigning("vxp.saas.03", "sender-secret")], dedupes_by_hash=dedupes)
    client = Client(documents=service, outbox=outbox, outbox_lease=0.5,
                    retry=RetryPolicy(max_attempts=1))
    print("sending", flush=True)
    client.documents.send(Path(package))
    print("sent", flush=True)
""")


def _child(base: str, tmp_path: Path, dedupes: bool) -> subprocess.Popen[str]:
    package = tmp_path / "pkg.edxml"
    if not package.exists():
        package.write_bytes(package_to_bytes(build_package()))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            base,
            str(tmp_path / "o.db"),
            str(package),
            "1" if dedupes else "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("dedupes", [True, False])
def test_kill_9_mid_send_then_restart(tmp_path: Path, dedupes: bool) -> None:
    handler = Axis(dedupe=dedupes)
    arrived = threading.Event()

    def on_send(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        answer = handler(method, path, headers, body)
        if path.endswith("/sendEdoc") and not arrived.is_set():
            arrived.set()  # the axis has it; the sender will die before hearing back
            return Fault.hang
        return answer

    with serve(on_send) as server:
        base = server.url("/vxp")
        child = _child(base, tmp_path, dedupes)
        assert arrived.wait(60), "the child never sent"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        assert child.returncode == -signal.SIGKILL
        [entry] = Outbox(tmp_path / "o.db").entries()
        assert entry.state == "in_flight"  # accepted by the outbox, fate unknown to the sender

        import time

        time.sleep(0.6)  # the dead sender's lease (0.5 s) runs out
        with _client(
            base, tmp_path, documents=_service(base, dedupes=dedupes), outbox=tmp_path / "o.db"
        ) as client:
            outcomes = client.documents.deliver_pending()
            [entry] = client.outbox.entries()
        assert len(handler.fake.docs) == 1  # never two copies
        if dedupes:
            assert [o.accepted for o in outcomes] == [True]
            assert entry.state == "delivered" and entry.remote_id == "1000"
            assert server.count("/vxp/sendEdoc") == 2  # resent once, deduplicated by the axis
        else:
            assert outcomes == [] and entry.state == "failed"
            assert "uncertain" in (entry.last_error or "")
            assert server.count("/vxp/sendEdoc") == 1


def test_kill_9_before_sending_then_restart(tmp_path: Path) -> None:
    handler = Axis(dedupe=False)
    base = f"http://127.0.0.1:{refused_port()}/vxp"  # the axis is down while the child runs
    child = _child(base, tmp_path, dedupes=False)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "sending"
    child.wait(60)  # it fails to connect (sent=False) and leaves the entry queued
    Outbox(tmp_path / "o.db").close()
    with serve(handler) as server:
        up = server.url("/vxp")
        with _client(
            up, tmp_path, documents=_service(up, dedupes=False), outbox=tmp_path / "o.db"
        ) as client:
            import time

            deadline = time.monotonic() + 30
            outcomes: list[Any] = []
            while not outcomes and time.monotonic() < deadline:
                outcomes = client.documents.deliver_pending()
                time.sleep(0.05)
            assert [o.accepted for o in outcomes] == [True]
            assert client.documents.deliver_pending() == []
    assert len(handler.fake.docs) == 1


def test_remote_refusal_carries_code_and_message(axis: tuple[Axis, str], tmp_path: Path) -> None:
    _, base = axis
    with _client(base, tmp_path) as client, pytest.raises(RemoteServiceError) as info:
        client.documents.update_status("missing", "done")
    assert info.value.code == "-1" and info.value.status_code == 200
    assert json.loads(json.dumps(str(info.value)))  # a plain, printable message
