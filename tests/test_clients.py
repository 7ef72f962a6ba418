"""Client and AsyncClient over MockTransport: every resource, the outbox, the receive loop."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from _fake_vxp import FakeVxp
from conftest import build_package, build_status
from lgsp import read_package
from lgsp.clients._core import PortalService, TokenPortalService, VxpService
from lgsp.clients._portal import PortalCodec, TokenPortalCodec
from lgsp.clients._vxp import VxpCodec
from lgsp.clients.client import AsyncClient, Client
from lgsp.clients.models import Delivery
from lgsp.clients.outbox import Inbox
from lgsp.dossiers import DossierProgressItem, DossierSyncItem
from lgsp.errors import ConfigurationError, ProtocolError, RemoteServiceError, TransportError
from lgsp.registry import RegistryCache
from lgsp.transports import MockTransport, Request, Response
from lgsp.transports.auth import ClientCredentials, PortalSession, VxpSigning
from lgsp.transports.retry import RetryPolicy

BASE = "http://127.0.0.1:9/vxp"
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


def vxp(
    system: str = "vxp.saas.03", secret: str = "sender-secret", *, dedupes: bool = True
) -> VxpService:
    return VxpService(VxpCodec(BASE), [VxpSigning(system, secret)], dedupes_by_hash=dedupes)


def client_for(fake: FakeVxp, tmp_path: Path, **kwargs: Any) -> Client:
    kwargs.setdefault("documents", vxp())
    return Client(
        transport=MockTransport(fake.mock), retry=NO_WAIT, download_dir=tmp_path / "in", **kwargs
    )


def test_send_then_receive_then_acknowledge(tmp_path: Path) -> None:
    fake = FakeVxp()
    package = build_package()
    with client_for(fake, tmp_path) as sender:
        outcome = sender.documents.send(package)
    assert outcome.accepted and outcome.doc_id == "1000"
    assert outcome.retry_safe and outcome.attempts == 1
    stored = fake.docs["1000"]
    assert stored.sender == "000.00.00.G22" and stored.receivers == ["000.00.00.H41"]
    assert outcome.payload_sha256 == __import__("hashlib").sha256(stored.content).hexdigest()
    # the signed parameters are the SDK's
    operation, params = fake.calls[0]
    assert operation == "sendEdoc"
    assert params["to"] == '"000.00.00.H41"' and params["messagetype"] == "edoc"
    assert params["systemid"] == "vxp.saas.03"

    delivered: list[Delivery] = []
    receiver = client_for(
        fake, tmp_path, documents=vxp("vxp.saas.07", "receiver-secret"), inbox=tmp_path / "inbox.db"
    )
    assert receiver.documents.count() == 1
    report = receiver.documents.receive(delivered.append)
    assert report.handed_over == ["1000"] and report.acknowledged == ["1000"] and report.ok
    assert delivered[0].package.header.subject == package.header.subject
    assert delivered[0].path.read_bytes() == stored.content
    assert fake.docs["1000"].status == "done"
    receiver.close()


def test_status_package_goes_back_to_the_sender(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as client:
        outcome = client.documents.send(build_status())
    assert outcome.accepted
    assert fake.docs[outcome.doc_id or ""].message_type == "status"
    assert fake.calls[0][1]["messagetype"] == "status"


def test_bytes_and_path_payloads_are_sent_as_they_are(tmp_path: Path) -> None:
    from lgsp import package_to_bytes

    fake = FakeVxp(dedupe=False)
    data = package_to_bytes(build_package())
    path = tmp_path / "p.edxml"
    path.write_bytes(data)
    with client_for(fake, tmp_path) as client:
        first = client.documents.send(data)
        second = client.documents.send(path)
    assert fake.docs[first.doc_id or ""].content == data
    assert fake.docs[second.doc_id or ""].content == data


def test_refusal_is_an_outcome_not_an_exception(tmp_path: Path) -> None:
    def refuse(request: Request) -> Response:
        return Response(200, content=b'{"status":"FAIL","ErrorCode":"-5","ErrorDesc":"to unknown"}')

    client = Client(documents=vxp(), transport=MockTransport(refuse), retry=NO_WAIT)
    outcome = client.documents.send(build_package())
    assert not outcome.accepted
    assert (outcome.code, outcome.message, outcome.status) == ("-5", "to unknown", "FAIL")
    assert outcome.doc_id is None


def test_reads_raise_remote_errors_with_the_axis_code(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as client, pytest.raises(RemoteServiceError) as info:
        client.documents.update_status("nope", "done")
    assert info.value.code == "-1" and "no such document" in str(info.value)
    with (
        client_for(fake, tmp_path, documents=vxp(secret="wrong")) as client,
        pytest.raises(RemoteServiceError) as info,
    ):
        client.documents.received()
    assert info.value.status_code == 401


def test_download_streams_to_a_path_and_refuses_bad_base64(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as client:
        doc_id = client.documents.send(build_package()).doc_id or ""
        target = tmp_path / "out" / "x.edxml"
        size = client.documents.download(doc_id, target)
        assert size == target.stat().st_size == len(fake.docs[doc_id].content)
        assert client.documents.get(doc_id) == fake.docs[doc_id].content

    def broken(request: Request) -> Response:
        return Response(200, content=b'{"status":"OK","ErrorCode":"0","data":"QUJD!!"}')

    client = Client(documents=vxp(), transport=MockTransport(broken), retry=NO_WAIT)
    with pytest.raises(ProtocolError, match="getEdoc"):
        client.documents.download("1", tmp_path / "bad.edxml")
    assert not (tmp_path / "bad.edxml").exists()
    assert not (tmp_path / "bad.edxml.part").exists()


def test_outbox_delivers_each_payload_once(tmp_path: Path) -> None:
    fake = FakeVxp(dedupe=False)  # the remote would keep a second copy: the outbox must not send
    with client_for(fake, tmp_path, outbox=tmp_path / "out.db") as client:
        first = client.documents.send(build_package())
        again = client.documents.send(build_package())
    assert first.accepted and not first.duplicate
    assert again.duplicate and again.doc_id == first.doc_id
    assert len(fake.docs) == 1
    assert [op for op, _ in fake.calls] == ["sendEdoc"]


def test_outbox_keeps_what_could_not_be_sent_and_delivers_it_later(tmp_path: Path) -> None:
    fake = FakeVxp()
    down = {"on": True}

    def flaky(request: Request) -> Response:
        if down["on"]:
            raise TransportError("refused", kind="connect", sent=False)
        return fake.mock(request)

    client = Client(
        documents=vxp(),
        transport=MockTransport(flaky),
        outbox=tmp_path / "o.db",
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
    )
    with pytest.raises(TransportError):
        client.documents.send(build_package())
    assert client.outbox.counts()["queued"] == 1
    client.close()
    down["on"] = False
    later = Client(
        documents=vxp(), transport=MockTransport(flaky), outbox=tmp_path / "o.db", retry=NO_WAIT
    )
    outcomes = later.documents.deliver_pending()
    assert [o.accepted for o in outcomes] == [True]
    assert len(fake.docs) == 1
    assert later.outbox.counts()["delivered"] == 1
    later.close()


def test_an_uncertain_send_is_held_unless_the_remote_deduplicates(tmp_path: Path) -> None:
    fake = FakeVxp(dedupe=False)

    def lost_answer(request: Request) -> Response:
        fake.mock(request)  # the axis stores it, then the connection drops
        raise TransportError("reset after sending", kind="read", sent=True)

    client = Client(
        documents=vxp(dedupes=False),
        transport=MockTransport(lost_answer),
        outbox=tmp_path / "o.db",
        retry=NO_WAIT,
    )
    with pytest.raises(TransportError) as info:
        client.documents.send(build_package())
    assert info.value.sent
    entry = client.outbox.entries()[0]
    assert entry.state == "failed" and "uncertain" in (entry.last_error or "")
    assert len(fake.docs) == 1  # not resent blindly
    client.close()


def test_receive_twice_hands_over_once(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as sender:
        sender.documents.send(build_package())
    fake.docs["1000"].status = "new"
    seen: list[str] = []

    def ack_fails_once(request: Request) -> Response:
        if request.operation == "updateStatus" and not seen[1:]:
            seen.append("ack-lost")
            raise TransportError("reset", kind="read", sent=True)
        return fake.mock(request)

    policy = RetryPolicy(max_attempts=1)
    receiver = Client(
        documents=vxp("vxp.saas.07", "receiver-secret"),
        transport=MockTransport(ack_fails_once),
        inbox=tmp_path / "i.db",
        download_dir=tmp_path / "in",
        retry=policy,
    )
    handed: list[str] = []

    def handler(delivery: Delivery) -> None:
        handed.append(delivery.doc_id)
        seen.append("handed")

    first = receiver.documents.receive(handler)
    assert first.handed_over == ["1000"] and "1000" in first.failed  # handed, not acknowledged
    second = receiver.documents.receive(handler)
    assert second.already_handed == ["1000"] and second.acknowledged == ["1000"]
    assert handed == ["1000"]
    assert fake.docs["1000"].status == "done"
    receiver.close()


def test_a_failing_handler_leaves_the_package_for_the_next_pass(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as sender:
        sender.documents.send(build_package())
    receiver = client_for(
        fake,
        tmp_path,
        documents=vxp("vxp.saas.07", "receiver-secret"),
        inbox=Inbox(tmp_path / "i.db"),
    )
    calls: list[str] = []

    def handler(delivery: Delivery) -> None:
        calls.append(delivery.doc_id)
        if len(calls) == 1:
            raise RuntimeError("database down")

    first = receiver.documents.receive(handler)
    assert "database down" in first.failed["1000"]
    assert fake.docs["1000"].status == "new"  # not acknowledged
    second = receiver.documents.receive(handler)
    assert second.handed_over == ["1000"] and calls == ["1000", "1000"]
    receiver.close()


def test_verification_failure_is_acknowledged_as_fail(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as sender:
        sender.documents.send(build_package())

    class Invalid:
        valid = False

    receiver = client_for(fake, tmp_path, documents=vxp("vxp.saas.07", "receiver-secret"))
    handed: list[Delivery] = []
    report = receiver.documents.receive(handed.append, verify=lambda path: Invalid())
    assert handed == [] and "did not verify" in report.failed["1000"]
    assert fake.docs["1000"].status == "fail"


def test_agencies_feed_the_registry_cache(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as client, RegistryCache(tmp_path / "r.db") as cache:
        agencies = client.agencies.list(cache=cache)
        assert [a.code for a in agencies] == ["000.00.00.G22", "000.00.00.H41"]
        assert cache.get("agencies", "000.00.00.G22") is not None
        assert [a.code for a in client.agencies.list_qd20(1)] == ["000.00.00.G22"]
        client.agencies.register({"id": "3", "code": "000.00.00.H42", "name": "Tỉnh Hà Tĩnh"})
        assert len(client.agencies.list()) == 3
        client.agencies.delete("000.00.00.H42")
        with pytest.raises(RemoteServiceError, match="no such agency"):
            client.agencies.delete("000.00.00.H42")
        units = client.agencies.sync_units(cache=cache)
        assert units[0].code == "000.00.00.H41"


class FakePortal:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.logins = 0

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.content) if request.content else {}
        if request.url.endswith("/auth"):
            self.logins += 1
            return Response(200, content=b'{"error_code":0,"session":"S"}')
        assert request.header("dstcode") == "DST" and body["session"] == "S"
        self.bodies.append(body)
        service = body["service"]
        if service == "TraCuuHoSo":
            return Response(
                200,
                content=json.dumps(
                    {"error_code": 0, "result": [{"MaHoSo": body["mahoso"], "TrangThaiHoSo": "4"}]}
                ).encode(),
            )
        if service == "LayDanhMucLinhVuc":
            return Response(
                200,
                content=json.dumps(
                    {
                        "error_code": "00",
                        "result": [
                            {"MALINHVUC": "G09-LV01", "TENLINHVUC": "Hộ tịch", "MANGANH": "N1"}
                        ],
                    }
                ).encode(),
            )
        if service == "LayThuTuc":
            return Response(
                200,
                content=json.dumps(
                    {"error_code": 0, "result": {"TENTTHC": "Đăng ký khai sinh"}}
                ).encode(),
            )
        return Response(200, content=b'{"error_code":0}')


def portal_client(fake: FakePortal) -> Client:
    codec = PortalCodec(
        "http://127.0.0.1:9/integration", "http://127.0.0.1:9/share", unit_code="000.00.01.H22"
    )
    session = PortalSession("http://127.0.0.1:9/auth", "u", "p", "DST")
    return Client(
        dossiers=PortalService(codec, [session]), transport=MockTransport(fake), retry=NO_WAIT
    )


def test_dossier_sync_progress_lookup_and_catalogue(tmp_path: Path) -> None:
    from test_dossiers_data import progress_item, sync_item

    fake = FakePortal()
    client = portal_client(fake)
    item: DossierSyncItem = sync_item()
    client.dossiers.sync([item], updating=True)
    sent = fake.bodies[-1]
    assert sent["service"] == "DongBoHoSoMC" and sent["madonvi"] == "000.00.01.H22"
    assert sent["isUpdating"] in ("True", True) and sent["data"][0]["MaHoSo"] == item.code
    step: DossierProgressItem = progress_item()
    client.dossiers.update_progress([step])
    assert fake.bodies[-1]["service"] == "CapNhatTienDoHoSoMC"
    found = client.dossiers.lookup(item.code or "")
    assert found.result[0].code == item.code
    with RegistryCache(tmp_path / "r.db") as cache:
        fields = client.catalogue.fields_of_work(cache=cache)
        assert fields[0].code == "G09-LV01" and cache.get("fields", "G09-LV01") is not None
        procedure = client.catalogue.procedure("1.005129", cache=cache)
        assert procedure is not None and procedure.code == "1.005129"
    assert fake.logins == 1
    with pytest.raises(ConfigurationError, match="token-based"):
        client.dossiers.next_code("G09.20")


def test_token_portal(tmp_path: Path) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.url.endswith("/token"):
            return Response(200, content=b'{"access_token":"A","expires_in":300}')
        if "GetNextValue" in request.url:
            return Response(200, content=b'{"data":"G09.20-20260609-0092637"}')
        return Response(200, content=b'{"success":true}')

    service = TokenPortalService(
        TokenPortalCodec("http://127.0.0.1:9/api"),
        [ClientCredentials("http://127.0.0.1:9/token", "c", "s")],
    )
    client = Client(dossiers=service, transport=MockTransport(handler), retry=NO_WAIT)
    assert client.dossiers.next_code("G09.20") == "G09.20-20260609-0092637"
    assert seen[-1].url.endswith("/GetNextValue?code=G09.20")
    assert seen[-1].header("authorization") == "Bearer A"
    with pytest.raises(ConfigurationError, match="classic"):
        client.dossiers.lookup("X")


def test_missing_profile_is_a_configuration_error() -> None:
    client = Client(transport=MockTransport(lambda r: Response(200)))
    with pytest.raises(ConfigurationError, match="documents"):
        client.documents.received()
    with pytest.raises(ConfigurationError, match="dossiers"):
        client.dossiers.lookup("X")


def test_async_client_does_the_same(tmp_path: Path) -> None:
    fake = FakeVxp()

    async def main() -> tuple[Any, ...]:
        async with AsyncClient(
            documents=vxp(),
            transport=MockTransport(fake.mock),
            retry=NO_WAIT,
            download_dir=tmp_path / "in",
        ) as client:
            outcomes = await asyncio.gather(
                *[client.documents.send(build_package(subject=f"Văn bản {n}")) for n in range(5)]
            )
            received = await client.documents.received()
            handed: list[str] = []

            async def handler(delivery: Delivery) -> None:
                await asyncio.sleep(0)
                handed.append(delivery.doc_id)

            report = await client.documents.receive(handler)
            agencies = await client.agencies.list()
            return outcomes, received, report, handed, agencies

    outcomes, received, report, handed, agencies = asyncio.run(main())
    assert all(o.accepted for o in outcomes) and len({o.doc_id for o in outcomes}) == 5
    assert len(received) == 5 and sorted(handed) == sorted(o.doc_id for o in outcomes)
    assert len(report.acknowledged) == 5 and len(agencies) == 2


def test_package_read_back_after_download(tmp_path: Path) -> None:
    fake = FakeVxp()
    with client_for(fake, tmp_path) as client:
        doc_id = client.documents.send(build_package()).doc_id or ""
        path = tmp_path / "d.edxml"
        client.documents.download(doc_id, path)
    package = read_package(path)
    assert base64.b64encode(path.read_bytes())  # a real file
    assert package.header.from_.organ_id == "000.00.00.G22"


def test_documented_client_examples_run() -> None:
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "clients.md").read_text("utf-8")
    blocks = re.findall(r"<!-- check: clients -->\n```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/clients.md", "exec"), {})  # noqa: S102 - our own docs


def test_vxp_requests_carry_exactly_the_sdk_headers(tmp_path: Path) -> None:
    fake = FakeVxp()
    mock = MockTransport(fake.mock)
    with Client(documents=vxp(), transport=mock, retry=NO_WAIT) as client:
        client.documents.send(build_package())
        client.documents.update_status("1000", "done")
    send, ack = mock.requests
    assert {k for k, _ in send.headers} == {
        "XroadVnpt-timestamp",
        "XroadVnpt-systemid",
        "XroadVnpt-Content-Type",
        "XroadVnpt-from",
        "XroadVnpt-to",
        "XroadVnpt-servicetype",
        "XroadVnpt-messagetype",
        "XroadVnpt-hash-file",
        "Content-Type",
        "XroadVnpt-sign-header-key",
        "XroadVnpt-sign-header",
        "XroadVnpt-hash-header",
        "User-Agent",
        "XroadVnpt-version",
    }
    assert send.header("content-type") == "application/octet-stream"
    for request in (send, ack):  # each header once: two Content-Type headers are invalid HTTP
        names = [k.lower() for k, _ in request.headers]
        assert len(names) == len(set(names)), names
    assert send.header("user-agent") == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert ack.header("XroadVnpt-sign-header-key") == "systemid;docId;timestamp;Content-Type;status"
    assert ack.content == b"{}"


def test_a_vietnamese_parameter_travels_as_utf8_and_verifies(tmp_path: Path) -> None:
    from _servers import Reply, serve

    fake = FakeVxp()

    def handler(method: str, path: str, headers: Any, body: bytes) -> Reply:
        status, reply_headers, data = fake.handle(method, path, list(headers.items()), body)
        return Reply(status, tuple(reply_headers), data)

    with serve(handler) as server:
        base = server.url("/vxp")
        service = VxpService(VxpCodec(base), [VxpSigning("vxp.saas.03", "sender-secret")])
        with Client(documents=service, retry=NO_WAIT) as client:
            doc_id = client.documents.send(build_package()).doc_id or ""
            client.documents.update_status(doc_id, "fail", description="Sai thể thức văn bản")
    assert fake.docs[doc_id].status == "fail"
    assert fake.calls[-1][1]["description"] == "Sai thể thức văn bản"
