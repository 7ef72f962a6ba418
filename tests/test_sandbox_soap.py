"""The sandbox's SOAP document hub, through lgsp's own clients (sync and async) and raw."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from conftest import build_package, build_status
from lgsp import AsyncClient, Client, package_to_bytes
from lgsp.errors import RemoteServiceError
from lgsp.sandbox import Sandbox
from lgsp.transports.soap import DocumentHubCodec
from sandbox_fixtures import (
    APP_BOUND,
    CONFIG,
    ORGAN_A,
    ORGAN_B,
    SYSTEM_A,
    SYSTEM_B,
    hub_settings,
    running_sandbox,
    stored_count,
    vxp_settings,
)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
HUB_NS = "urn:lgsp:document-hub:1"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def soap(sandbox: Sandbox, body: bytes, **headers: str) -> httpx.Response:
    with httpx.Client() as http:
        return http.post(
            sandbox.url + "/soap/DocumentHub",
            content=body,
            headers={"Content-Type": "text/xml; charset=utf-8", **headers},
        )


def fault_of(response: httpx.Response) -> tuple[str, str, str]:
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault is not None, response.text
    code = fault.findtext(f"detail/{{{HUB_NS}}}code") or ""
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or "", code


def test_vxp_sender_hub_receiver_and_status_back(sandbox: Sandbox, tmp_path: Path) -> None:
    package = build_package()
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(hub_settings(sandbox, ORGAN_B), download_dir=tmp_path) as b,
    ):
        sent = a.documents.send(package)
        assert sent.accepted and sent.doc_id
        (item,) = b.documents.received()
        assert item.doc_id == sent.doc_id
        assert b.documents.count() == 1
        assert b.documents.get(sent.doc_id) == package_to_bytes(package)
        b.documents.update_status(sent.doc_id, "done")
        assert b.documents.received() == []
        assert a.documents.sent()[0].receive_status == "done"
        # B answers over the hub with a status package; A reads it over VXP
        status = b.documents.send(build_status())
        assert status.accepted and status.doc_id
        (back,) = a.documents.received("status")
        assert back.doc_id == status.doc_id and back.from_code == ORGAN_B
        # the hub's sender is the organ: resending the same bytes gives the same docId
        again = b.documents.send(build_status())
        assert again.doc_id == status.doc_id
        assert stored_count(sandbox) == 2
        # the receive loop over the hub
        second = a.documents.send(build_package(subject="Văn bản thứ hai")).doc_id
        report = b.documents.receive(lambda delivery: None)
        assert report.handed_over == [second] and report.acknowledged == [second]


def test_async_client_over_the_hub(sandbox: Sandbox) -> None:
    async def scenario() -> None:
        async with (
            AsyncClient.from_settings(hub_settings(sandbox, ORGAN_A)) as a,
            AsyncClient.from_settings(hub_settings(sandbox, ORGAN_B)) as b,
        ):
            sent = await a.documents.send(build_package())
            assert sent.accepted and sent.doc_id
            items = await b.documents.received()
            assert [i.doc_id for i in items] == [sent.doc_id]
            data = await b.documents.get(sent.doc_id)
            assert hashlib.sha256(data).hexdigest() == sent.payload_sha256
            await b.documents.update_status(sent.doc_id, "done")
            assert await b.documents.received() == []
            organs = [x.code for x in await a.agencies.list()]
            assert ORGAN_A in organs and ORGAN_B in organs

    asyncio.run(scenario())


def test_the_hub_refuses_what_the_axis_refuses(sandbox: Sandbox) -> None:
    with Client.from_settings(hub_settings(sandbox, ORGAN_B)) as b:
        # a document whose From is another organ than the caller's
        outcome = b.documents.send(build_package())
        assert not outcome.accepted and outcome.code == "soap:Client"
        assert outcome.message is not None and "differs" in outcome.message
        with pytest.raises(RemoteServiceError) as missing:
            b.documents.get("999")
        assert missing.value.code == "soap:Client"
        assert "no document 999" in str(missing.value)


def test_organizations_and_traces_through_the_codec(sandbox: Sandbox) -> None:
    with Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a:
        doc_id = a.documents.send(build_package()).doc_id
    assert doc_id
    hub = DocumentHubCodec(sandbox.url + "/soap/DocumentHub")
    with httpx.Client() as http:

        def run(request):  # type: ignore[no-untyped-def]
            from lgsp.transports.base import Response

            answer = http.request(
                request.method, request.url, headers=list(request.headers), content=request.content
            )
            return Response(
                answer.status_code, tuple(answer.headers.items()), answer.content, request=request
            )

        organizations = hub.parse_organizations(run(hub.get_organizations()))
        by_code = {o["code"]: o for o in organizations}
        assert by_code["000.00.01.H41"]["parent_code"] == ORGAN_B
        assert by_code[ORGAN_A]["mail"] == "vanthu@vpcp.example.gov.vn"
        one = hub.parse_organizations(run(hub.get_organizations(ORGAN_B)))
        assert [o["code"] for o in one] == [ORGAN_B]
        run(hub.update_traces(ORGAN_B, doc_id, "processing", description="đang xử lý"))
        (trace,) = hub.parse_traces(run(hub.get_traces(doc_id)))
        assert trace["organ_id"] == ORGAN_B and trace["status"] == "processing"
        assert trace["description"] == "đang xử lý" and trace["time"] is not None


def _envelope(inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}" '
        f'xmlns:hub="{HUB_NS}"><soap:Body>{inner}</soap:Body></soap:Envelope>'
    ).encode()


def test_raw_requests_that_are_refused_get_faults(sandbox: Sandbox) -> None:
    not_xml = soap(sandbox, b"this is not XML")
    assert not_xml.status_code == 500
    assert fault_of(not_xml)[0] == "soap:Client" and fault_of(not_xml)[2] == "400"
    hostile = soap(sandbox, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert "DOCTYPE" in fault_of(hostile)[1]
    unknown = soap(
        sandbox,
        _envelope("<hub:CheckPermission><hub:organId>x</hub:organId></hub:CheckPermission>"),
    )
    assert fault_of(unknown)[2] == "404"
    mismatch = soap(
        sandbox,
        _envelope(
            f"<hub:GetPendingDocumentIds><hub:organId>{ORGAN_B}</hub:organId>"
            "</hub:GetPendingDocumentIds>"
        ),
        organid=ORGAN_A,
    )
    assert "differs" in fault_of(mismatch)[1]
    package = package_to_bytes(build_package())
    wrong_hash = soap(
        sandbox,
        _envelope(
            f"<hub:SendDocument><hub:organId>{ORGAN_A}</hub:organId><hub:type>EDOC</hub:type>"
            f"<hub:package>{base64.b64encode(package).decode()}</hub:package>"
            f"<hub:hash>{'0' * 64}</hub:hash></hub:SendDocument>"
        ),
    )
    assert "hash-file does not match" in fault_of(wrong_hash)[1]
    assert stored_count(sandbox) == 0


def test_hub_tokens(sandbox: Sandbox) -> None:
    with httpx.Client() as http:
        token = http.post(
            sandbox.url + "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": APP_BOUND[0],
                "client_secret": APP_BOUND[1],
            },
        ).json()["access_token"]
    # APP_BOUND calls as system A: organ A yes, organ B no
    with Client.from_settings(hub_settings(sandbox, ORGAN_A, token=token)) as a:
        assert a.documents.received() == []
    with (
        Client.from_settings(hub_settings(sandbox, ORGAN_B, token=token)) as b,
        pytest.raises(RemoteServiceError) as other_organ,
    ):
        b.documents.received()
    assert "does not act for the organ" in str(other_organ.value)
    with (
        Client.from_settings(hub_settings(sandbox, ORGAN_A, token="not-a-token")) as c,
        pytest.raises(RemoteServiceError) as unknown,
    ):
        c.documents.received()
    assert unknown.value.status_code == 401 and "not known" in str(unknown.value)


def test_a_hub_that_requires_tokens_refuses_calls_without() -> None:
    with running_sandbox(CONFIG.model_copy(update={"hub_token_required": True})) as sandbox:
        answer = soap(
            sandbox,
            _envelope(
                f"<hub:GetPendingDocumentIds><hub:organId>{ORGAN_B}</hub:organId>"
                "</hub:GetPendingDocumentIds>"
            ),
        )
        assert answer.status_code == 401 and "no access token" in fault_of(answer)[1]


def test_the_wsdl_is_served_with_the_sandbox_address(sandbox: Sandbox) -> None:
    with httpx.Client() as http:
        wsdl = http.get(sandbox.url + "/soap/DocumentHub?wsdl")
        assert wsdl.status_code == 200 and wsdl.headers["content-type"].startswith("text/xml")
        root = etree.fromstring(wsdl.content)
        ns = {
            "w": "http://schemas.xmlsoap.org/wsdl/",
            "s": "http://schemas.xmlsoap.org/wsdl/soap/",
            "x": "http://www.w3.org/2001/XMLSchema",
        }
        address = root.find("w:service/w:port/s:address", ns)
        assert address is not None
        assert address.get("location") == sandbox.url + "/soap/DocumentHub"
        imported = root.find("w:types/x:schema/x:import", ns)
        assert imported is not None
        location = str(
            httpx.URL(sandbox.url + "/soap/DocumentHub?wsdl").join(
                imported.get("schemaLocation", "")
            )
        )
        xsd = http.get(location)
        assert xsd.status_code == 200
        assert etree.fromstring(xsd.content).get("targetNamespace") == HUB_NS
        assert http.get(sandbox.url + "/soap/document-hub.xsd").content == xsd.content


def test_a_document_for_an_organ_without_a_system_is_served_by_the_hub(
    sandbox: Sandbox,
) -> None:
    other = "000.00.00.H40"
    package = build_package(
        to=[build_package().header.to[0].model_copy(update={"organ_id": other})]
    )
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b,
        Client.from_settings(hub_settings(sandbox, other)) as h,
    ):
        doc_id = a.documents.send(package).doc_id
        assert b.documents.received() == []
        assert [i.doc_id for i in h.documents.received()] == [doc_id]
