"""client.documents and client.agencies over the SOAP document hub, built from a profile."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from lxml import etree

from conftest import build_package
from lgsp import Client, ConfigurationError, RemoteServiceError, Settings
from lgsp.clients import SoapHubProfile
from lgsp.transports import MockTransport, Request, Response
from test_soap import fault, reply

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


class FakeHub:
    """The hub's operations over an in-memory store, answering the shipped WSDL's shapes."""

    def __init__(self) -> None:
        self.docs: dict[str, bytes] = {}
        self.traces: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Response:
        assert isinstance(request.content, bytes)
        self.headers.append({k.lower(): v for k, v in request.headers})
        (body,) = etree.fromstring(request.content)
        (call,) = body
        name = etree.QName(call).localname
        fields = {etree.QName(el).localname: el.text or "" for el in call}
        if name == "SendDocument":
            package = base64.b64decode(fields["package"])
            assert hashlib.sha256(package).hexdigest() == fields["hash"]
            doc_id = f"H{len(self.docs) + 1}"
            self.docs[doc_id] = package
            content = reply(name, f"<code>0</code><message>ok</message><docId>{doc_id}</docId>")
        elif name == "GetPendingDocumentIds":
            done = {d for d, _ in self.traces}
            ids = "".join(f"<docId>{d}</docId>" for d in self.docs if d not in done)
            content = reply(name, ids)
        elif name == "GetDocument":
            data = base64.b64encode(self.docs[fields["docId"]]).decode()
            content = reply(name, f"<package>{data}</package>")
        elif name == "UpdateTraces":
            if fields["docId"] not in self.docs:
                return Response(500, content=fault("s:Client", "unknown document"))
            self.traces.append((fields["docId"], fields["status"]))
            content = reply(name, "<code>0</code>")
        elif name == "GetOrganizations":
            content = reply(
                name,
                "<organization><code>000.00.00.H41</code>"
                "<name>UBND tỉnh Nghệ An</name></organization>",
            )
        else:  # pragma: no cover - the test calls only the operations above
            raise AssertionError(name)
        return Response(200, (("Content-Type", "text/xml"),), content)


def hub_client(fake: FakeHub, tmp_path: Path) -> Client:
    settings = Settings(
        documents=SoapHubProfile(
            endpoint="http://127.0.0.1:9/DocumentHub", organ_id="000.00.00.G22", token="hub-token"
        )
    )
    return Client.from_settings(
        settings,
        transport=MockTransport(fake),
        download_dir=tmp_path / "in",
        inbox=tmp_path / "inbox.db",
    )


def test_send_receive_acknowledge_over_the_hub(tmp_path: Path) -> None:
    fake = FakeHub()
    with hub_client(fake, tmp_path) as client:
        outcome = client.documents.send(build_package())
        assert outcome.accepted
        assert outcome.doc_id == "H1"
        assert fake.headers[0]["authorization"] == "hub-token"
        assert fake.headers[0]["organid"] == "000.00.00.G22"
        assert client.documents.count() == 1
        handed: list[str] = []
        report = client.documents.receive(lambda d: handed.append(d.doc_id))
        assert handed == ["H1"]
        assert report.acknowledged == ["H1"]
        assert fake.traces == [("H1", "done")]
        again = client.documents.receive(lambda d: handed.append(d.doc_id))
        assert again.handed_over == []
        assert [a.code for a in client.agencies.list()] == ["000.00.00.H41"]


def test_hub_faults_and_missing_operations(tmp_path: Path) -> None:
    fake = FakeHub()
    with hub_client(fake, tmp_path) as client:
        with pytest.raises(RemoteServiceError, match="unknown document"):
            client.documents.update_status("nope", "done")
        with pytest.raises(ConfigurationError, match="sent documents"):
            client.documents.sent()
        with pytest.raises(ConfigurationError, match="QĐ 20"):
            client.agencies.list_qd20(1)


def test_async_client_over_the_hub(tmp_path: Path) -> None:
    import asyncio

    from lgsp import AsyncClient

    fake = FakeHub()
    settings = Settings(
        documents=SoapHubProfile(
            endpoint="http://127.0.0.1:9/DocumentHub", organ_id="000.00.00.G22"
        )
    )

    async def main() -> list[str]:
        async with AsyncClient.from_settings(
            settings, transport=MockTransport(fake), download_dir=tmp_path / "in"
        ) as client:
            outcomes = await asyncio.gather(
                *[client.documents.send(build_package(subject=f"Số {n}")) for n in range(3)]
            )
            handed: list[str] = []
            await client.documents.receive(lambda d: handed.append(d.doc_id))
            assert all(o.accepted for o in outcomes)
            return handed

    assert sorted(asyncio.run(main())) == ["H1", "H2", "H3"]
    assert "authorization" not in fake.headers[0]  # no token in this profile
