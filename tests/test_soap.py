"""SOAP over lgsp's transports: envelopes from the shipped WSDL, replies read through the XML
gate, the WSDL loaded once and never from the network, and whole calls to a loopback server."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import http.server
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from lgsp.errors import (
    ConfigurationError,
    HostileXMLError,
    LgspError,
    ProtocolError,
    RemoteServiceError,
    ValidationError,
)
from lgsp.transports import AsyncHttpxTransport, HttpTransport, Request, Response
from lgsp.transports._soap_wsdl import LocalFiles
from lgsp.transports.flow import run, run_async
from lgsp.transports.soap import DocumentHubCodec, SoapService, load_wsdl

HUB = "urn:lgsp:document-hub:1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_DIR = Path(__file__).resolve().parents[1] / "src" / "lgsp" / "schemas" / "wsdl"
TEST_WSDL_DIR = Path(__file__).resolve().parent / "data" / "wsdl"
ENDPOINT = "http://127.0.0.1:9/DocumentHub"
SENDER = "000.00.00.G22"
RECEIVER = "000.00.00.H41"
PACKAGE = '<?xml version="1.0" encoding="UTF-8"?><edXML>Công văn số 1234</edXML>'.encode()


@pytest.fixture(scope="module")
def hub_schema() -> etree.XMLSchema:
    """The hub's message schema, to check that what lgsp sends is what it describes."""
    return etree.XMLSchema(etree.parse(str(WSDL_DIR / "document-hub.xsd")))


@pytest.fixture
def hub() -> DocumentHubCodec:
    return DocumentHubCodec(ENDPOINT)


def body_child(request: Request) -> etree._Element:
    """The one element inside the request's SOAP Body."""
    assert isinstance(request.content, bytes)
    root = etree.fromstring(request.content)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"
    (body,) = root
    assert body.tag == f"{{{SOAP_ENV}}}Body"
    (child,) = body
    return child


def children(element: etree._Element) -> dict[str, str | None]:
    return {etree.QName(el).localname: el.text for el in element}


def envelope(inner: str, *, prefix: str = "s") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{prefix}:Envelope xmlns:{prefix}="{SOAP_ENV}">'
        f"<{prefix}:Body>{inner}</{prefix}:Body></{prefix}:Envelope>"
    ).encode()


def reply(operation: str, fields: str) -> bytes:
    return envelope(f'<h:{operation}Response xmlns:h="{HUB}">{fields}</h:{operation}Response>')


def fault(code: str, message: str) -> bytes:
    return envelope(
        f"<s:Fault><faultcode>{code}</faultcode><faultstring>{message}</faultstring></s:Fault>"
    )


def answer(request: Request, content: bytes, status: int = 200, **headers: str) -> Response:
    return Response(status, headers=tuple(headers.items()), content=content, request=request)


# --------------------------------------------------------------------------------------------
# envelopes


def test_send_document_envelope(hub: DocumentHubCodec, hub_schema: etree.XMLSchema) -> None:
    request = hub.send_document(SENDER, PACKAGE)
    assert request.method == "POST"
    assert request.url == ENDPOINT
    assert request.header("Content-Type") == "text/xml; charset=utf-8"
    assert request.header("SOAPAction") == f'"{HUB}/SendDocument"'
    assert request.header("organid") == SENDER
    assert request.meta == {"operation": "SendDocument", "soap": True}
    assert isinstance(request.content, bytes)
    assert request.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    child = body_child(request)
    assert child.tag == f"{{{HUB}}}SendDocument"
    assert [etree.QName(el).namespace for el in child] == [HUB] * 4
    fields = children(child)
    assert list(fields) == ["organId", "type", "package", "hash"]
    assert fields["organId"] == SENDER
    assert fields["type"] == "EDOC"
    assert base64.b64decode(fields["package"] or "") == PACKAGE
    assert fields["hash"] == hashlib.sha256(PACKAGE).hexdigest()
    hub_schema.assertValid(child)


def test_every_operation_builds_a_valid_envelope(
    hub: DocumentHubCodec, hub_schema: etree.XMLSchema
) -> None:
    requests = {
        "SendDocument": hub.send_document(SENDER, PACKAGE, kind="STATUS"),
        "GetPendingDocumentIds": hub.get_pending_document_ids(RECEIVER, kind="EDOC"),
        "GetDocument": hub.get_document(RECEIVER, "doc-1"),
        "UpdateTraces": hub.update_traces(
            RECEIVER, "doc-1", "done", description="Đã tiếp nhận, vào sổ văn bản đến"
        ),
        "GetOrganizations": hub.get_organizations(RECEIVER),
        "GetTraces": hub.get_traces("doc-1"),
    }
    for operation, request in requests.items():
        child = body_child(request)
        assert child.tag == f"{{{HUB}}}{operation}"
        assert request.header("SOAPAction") == f'"{HUB}/{operation}"'
        assert request.operation == operation
        hub_schema.assertValid(child)
    assert children(body_child(requests["UpdateTraces"]))["description"] == (
        "Đã tiếp nhận, vào sổ văn bản đến"
    )


def test_optional_fields_are_left_out(hub: DocumentHubCodec) -> None:
    assert children(body_child(hub.get_pending_document_ids(RECEIVER))) == {"organId": RECEIVER}
    assert len(body_child(hub.get_organizations())) == 0
    request = hub.get_organizations()
    assert request.header("organid") is None
    assert "description" not in children(body_child(hub.update_traces(RECEIVER, "d", "fail")))


def test_caller_headers_and_timeouts_pass_through() -> None:
    from lgsp.transports import Timeouts

    service = SoapService(endpoint=ENDPOINT)
    timeouts = Timeouts(read=5.0, total=9.0)
    request = service.request(
        "GetTraces",
        docId="doc-1",
        headers=[("authorization", "token-1")],
        timeouts=timeouts,
    )
    assert request.header("authorization") == "token-1"
    assert request.timeouts == timeouts
    assert request.header("SOAPAction") == f'"{HUB}/GetTraces"'


def test_bad_requests_are_refused(hub: DocumentHubCodec) -> None:
    service = SoapService(endpoint=ENDPOINT)
    with pytest.raises(ConfigurationError, match="not an operation"):
        service.request("DeleteEverything")
    with pytest.raises(ValidationError) as missing:
        service.request("GetDocument", organId=RECEIVER)  # docId is required
    assert missing.value.findings[0].location == "GetDocument"
    with pytest.raises(ValidationError):
        service.request("GetTraces", docId="d", unknown="x")
    with pytest.raises(ValidationError, match="not one of"):
        hub.send_document(SENDER, PACKAGE, kind="MAIL")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="is empty"):
        hub.send_document(SENDER, b"")
    with pytest.raises(ValidationError, match="not one of"):
        hub.update_traces(RECEIVER, "d", "lost")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="is empty"):
        hub.get_document(RECEIVER, " ")
    with pytest.raises(ConfigurationError):
        SoapService(endpoint="")


def test_a_wsdl_without_the_port_asked_for_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no port 'Nope'"):
        SoapService(endpoint=ENDPOINT, port="Nope").request("GetTraces", docId="d")
    with pytest.raises(ConfigurationError, match="no service 'Nope'"):
        SoapService(endpoint=ENDPOINT, service="Nope").load()
    service = SoapService(endpoint=ENDPOINT, service="DocumentHub", port="DocumentHubSoap11")
    assert service.operations() == [
        "GetDocument",
        "GetOrganizations",
        "GetPendingDocumentIds",
        "GetTraces",
        "SendDocument",
        "UpdateTraces",
    ]


# --------------------------------------------------------------------------------------------
# replies


def test_parse_every_reply(hub: DocumentHubCodec) -> None:
    sent = hub.parse_send(
        answer(
            hub.send_document(SENDER, PACKAGE),
            reply(
                "SendDocument", "<h:code>0</h:code><h:message>OK</h:message><h:docId>D-7</h:docId>"
            ),
        )
    )
    assert sent == {"code": "0", "message": "OK", "doc_id": "D-7"}
    pending = hub.parse_pending(
        answer(
            hub.get_pending_document_ids(RECEIVER),
            reply("GetPendingDocumentIds", "<h:docId>D-1</h:docId><h:docId>D-2</h:docId>"),
        )
    )
    assert pending == ["D-1", "D-2"]
    none_pending = hub.parse_pending(
        answer(hub.get_pending_document_ids(RECEIVER), reply("GetPendingDocumentIds", ""))
    )
    assert none_pending == []
    package = hub.parse_document(
        answer(
            hub.get_document(RECEIVER, "D-1"),
            reply("GetDocument", f"<h:package>{base64.b64encode(PACKAGE).decode()}</h:package>"),
        )
    )
    assert package == PACKAGE
    updated = hub.parse_update_traces(
        answer(
            hub.update_traces(RECEIVER, "D-1", "done"), reply("UpdateTraces", "<h:code>0</h:code>")
        )
    )
    assert updated == {"code": "0", "message": None}
    organizations = hub.parse_organizations(
        answer(
            hub.get_organizations(),
            reply(
                "GetOrganizations",
                "<h:organization><h:code>000.00.00.H41</h:code>"
                "<h:name>UBND tỉnh Nghệ An</h:name><h:mail>vanthu@nghean.example.gov.vn</h:mail>"
                "</h:organization><h:organization><h:code>000.01.00.H41</h:code>"
                "<h:name>Sở Nội vụ</h:name><h:parentCode>000.00.00.H41</h:parentCode>"
                "</h:organization>",
            ),
        )
    )
    assert [o["code"] for o in organizations] == ["000.00.00.H41", "000.01.00.H41"]
    assert organizations[0]["name"] == "UBND tỉnh Nghệ An"
    assert organizations[0]["mail"] == "vanthu@nghean.example.gov.vn"
    assert organizations[0]["parent_code"] is None
    assert organizations[1]["parent_code"] == "000.00.00.H41"
    traces = hub.parse_traces(
        answer(
            hub.get_traces("D-1"),
            reply(
                "GetTraces",
                "<h:trace><h:organId>000.00.00.H41</h:organId><h:status>done</h:status>"
                "<h:time>2024-05-02T09:15:00+07:00</h:time>"
                "<h:description>Đã nhận</h:description></h:trace>",
            ),
        )
    )
    assert traces == [
        {
            "organ_id": "000.00.00.H41",
            "status": "done",
            "time": dt.datetime(2024, 5, 2, 9, 15, tzinfo=dt.timezone(dt.timedelta(hours=7))),
            "description": "Đã nhận",
        }
    ]


def test_soap_service_returns_plain_values() -> None:
    service = SoapService(endpoint=ENDPOINT)
    request = service.request("GetDocument", organId=RECEIVER, docId="D-1")
    value = service.parse(
        "GetDocument",
        answer(
            request,
            reply("GetDocument", f"<h:package>{base64.b64encode(b'abc').decode()}</h:package>"),
        ),
    )
    assert value == {"package": b"abc"}
    assert type(value) is dict
    listed = service.parse(
        "GetPendingDocumentIds",
        answer(request, reply("GetPendingDocumentIds", "<h:docId>a</h:docId>")),
    )
    assert listed == {"docId": ["a"]}
    assert type(listed["docId"]) is list


def test_unknown_elements_in_a_reply_are_tolerated(hub: DocumentHubCodec) -> None:
    request = hub.update_traces(RECEIVER, "D-1", "done")
    content = reply(
        "UpdateTraces",
        "<h:code>0</h:code><h:message>OK</h:message><h:extra>added by a newer hub</h:extra>",
    )
    assert hub.parse_update_traces(answer(request, content)) == {"code": "0", "message": "OK"}


@pytest.mark.parametrize("status", [500, 200])
def test_a_fault_is_a_remote_service_error(hub: DocumentHubCodec, status: int) -> None:
    request = hub.send_document(SENDER, PACKAGE)
    response = answer(request, fault("s:Client", "Mã đơn vị không tồn tại"), status)
    with pytest.raises(RemoteServiceError) as caught:
        hub.parse_send(response)
    error = caught.value
    assert error.code == "s:Client"
    assert error.message == "Mã đơn vị không tồn tại"
    assert error.status_code == status
    assert error.operation == "SendDocument"
    assert error.url == ENDPOINT


def test_a_fault_with_retry_after(hub: DocumentHubCodec) -> None:
    request = hub.get_pending_document_ids(RECEIVER)
    response = answer(request, fault("s:Server", "busy"), 503, **{"Retry-After": "7"})
    with pytest.raises(RemoteServiceError) as caught:
        hub.parse_pending(response)
    assert caught.value.retry_after == 7.0
    assert caught.value.code == "s:Server"


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (502, b"<html><body>Bad Gateway</body></html>"),
        (503, b""),
        (500, b"Internal Server Error"),
        (404, b'<?xml version="1.0"?><error>not here</error>'),
        (500, reply("SendDocument", "<h:code>0</h:code>")),
    ],
)
def test_an_http_error_without_a_fault(hub: DocumentHubCodec, status: int, content: bytes) -> None:
    request = hub.send_document(SENDER, PACKAGE)
    with pytest.raises(RemoteServiceError) as caught:
        hub.parse_send(answer(request, content, status))
    assert caught.value.status_code == status
    assert caught.value.code is None


MALFORMED = {
    "not XML": b'{"status": "OK"}',
    "truncated": reply("SendDocument", "<h:code>0</h:code>")[:-30],
    "empty": b"",
    "whitespace": b"  \r\n",
    "not an envelope": f'<h:SendDocumentResponse xmlns:h="{HUB}"/>'.encode(),
    "SOAP 1.2 envelope": (
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'
    ),
    "no Body": f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Header/></s:Envelope>'.encode(),
    "empty Body": envelope(""),
    "another operation's reply": reply("GetDocument", "<h:package>AA==</h:package>"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_reply_is_a_protocol_error(case: str) -> None:
    service = SoapService(endpoint=ENDPOINT)
    request = service.request(
        "SendDocument", organId=SENDER, type="EDOC", package=b"x", hash="0" * 64
    )
    with pytest.raises(ProtocolError) as caught:
        service.parse("SendDocument", answer(request, MALFORMED[case]))
    assert caught.value.operation == "SendDocument"
    assert caught.value.status_code == 200


@pytest.mark.parametrize("text", ["QQ", "@@@@", ""])
def test_a_package_that_is_not_base64_is_a_protocol_error(hub: DocumentHubCodec, text: str) -> None:
    request = hub.get_document(RECEIVER, "D-1")
    with pytest.raises(ProtocolError, match="no package"):
        hub.parse_document(answer(request, reply("GetDocument", f"<h:package>{text}</h:package>")))


def test_an_unreadable_value_is_read_as_missing(hub: DocumentHubCodec) -> None:
    """zeep reads leniently: a value its type cannot parse becomes None, the rest is kept."""
    request = hub.get_traces("D-1")
    content = reply(
        "GetTraces",
        "<h:trace><h:organId>000.00.00.H41</h:organId><h:status>done</h:status>"
        "<h:time>yesterday</h:time></h:trace>",
    )
    (trace,) = hub.parse_traces(answer(request, content))
    assert trace["time"] is None
    assert trace["organ_id"] == "000.00.00.H41"


HOSTILE = {
    "internal entity": (
        b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x "EXPANDED-SECRET">]>'
        + envelope(
            '<h:UpdateTracesResponse xmlns:h="urn:lgsp:document-hub:1">'
            "<h:code>&x;</h:code></h:UpdateTracesResponse>"
        ).split(b"?>", 1)[1]
    ),
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<lolz>&lol3;</lolz>"
    ),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>'
    ),
    "external DTD": (
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://dtd.example.invalid/r.dtd"><r/>'
    ),
    "too deep": envelope("<a>" * 60 + "</a>" * 60),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("status", [200, 500])
def test_a_hostile_reply_is_refused_unexpanded(case: str, status: int) -> None:
    service = SoapService(endpoint=ENDPOINT)
    request = service.request("UpdateTraces", organId=RECEIVER, docId="d", status="done")
    with pytest.raises((HostileXMLError, ProtocolError)) as caught:
        service.parse("UpdateTraces", answer(request, HOSTILE[case], status))
    assert "EXPANDED-SECRET" not in str(caught.value)
    assert "root:" not in str(caught.value)


def test_spooled_reply_is_read(hub: DocumentHubCodec) -> None:
    from lgsp.transports.base import spool_file

    request = hub.get_document(RECEIVER, "D-1")
    spooled = spool_file()
    spooled.write(
        reply("GetDocument", f"<h:package>{base64.b64encode(PACKAGE).decode()}</h:package>")
    )
    spooled.seek(0)
    response = Response(200, content=b"", request=request, body_file=spooled)
    assert hub.parse_document(response) == PACKAGE
    response.close()


def test_a_package_past_libxml2s_text_limit_is_read(hub: DocumentHubCodec) -> None:
    """A 12 MB package is a 16 MB Base64 text node: past what libxml2 allows by default."""
    package = bytes(range(256)) * (12_000_000 // 256)
    request = hub.get_document(RECEIVER, "D-1")
    content = reply("GetDocument", f"<h:package>{base64.b64encode(package).decode()}</h:package>")
    assert hub.parse_document(answer(request, content)) == package


# --------------------------------------------------------------------------------------------
# round trips


@settings(max_examples=60, deadline=None)
@given(package=st.binary(min_size=1, max_size=2048))
def test_package_round_trip(package: bytes) -> None:
    hub = DocumentHubCodec(ENDPOINT)
    sent = children(body_child(hub.send_document(SENDER, package)))
    assert base64.b64decode(sent["package"] or "") == package
    assert sent["hash"] == hashlib.sha256(package).hexdigest()
    request = hub.get_document(RECEIVER, "D-1")
    content = reply("GetDocument", f"<h:package>{base64.b64encode(package).decode()}</h:package>")
    assert hub.parse_document(answer(request, content)) == package


_XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=60, deadline=None)
@given(organ_id=_XML_TEXT, description=_XML_TEXT)
def test_text_round_trip(organ_id: str, description: str) -> None:
    hub = DocumentHubCodec(ENDPOINT)
    request = hub.update_traces(organ_id, "D-1", "processing", description=description)
    sent = children(body_child(request))
    assert sent["organId"] == organ_id
    assert sent["description"] == description
    assert request.header("organid") == organ_id


# --------------------------------------------------------------------------------------------
# the WSDL: loaded once, from package data, never from the network


def test_wsdl_loaded_once_per_process() -> None:
    first = load_wsdl("document-hub.wsdl")
    assert load_wsdl("document-hub.wsdl") is first
    assert load_wsdl(WSDL_DIR / "document-hub.wsdl") is first  # the same file, by path
    a = SoapService(endpoint=ENDPOINT)
    b = SoapService(endpoint="http://127.0.0.1:10/other")
    a.load()
    b.load()
    assert a._binding().document is b._binding().document is first


def test_concurrent_first_loads_share_one_document(tmp_path: Path) -> None:
    for name in ("document-hub.wsdl", "document-hub.xsd"):
        (tmp_path / name).write_bytes((WSDL_DIR / name).read_bytes())
    barrier = threading.Barrier(6)
    found: list[object] = []

    def work() -> None:
        barrier.wait()
        found.append(load_wsdl(tmp_path / "document-hub.wsdl"))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 6
    assert all(doc is found[0] for doc in found)


def test_constructing_a_service_reads_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "absent.wsdl"
    service = SoapService(missing, endpoint=ENDPOINT)  # no error: nothing is read yet
    with pytest.raises(ConfigurationError, match="no WSDL"):
        service.request("Ping")


@pytest.mark.parametrize(
    "name", ["remote-xsd-import.wsdl", "remote-wsdl-import.wsdl", "outside-import.wsdl"]
)
def test_an_import_from_elsewhere_is_a_configuration_error(name: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_wsdl(TEST_WSDL_DIR / name)
    assert caught.value.field == "wsdl"
    with pytest.raises(ConfigurationError):  # not cached as a success, refused again
        load_wsdl(TEST_WSDL_DIR / name)


def test_the_loader_refuses_every_remote_location() -> None:
    loader = LocalFiles(WSDL_DIR)
    assert loader.load(str(WSDL_DIR / "document-hub.xsd")).startswith(b"<?xml")
    assert loader.load((WSDL_DIR / "document-hub.xsd").as_uri()).startswith(b"<?xml")
    for url in (
        "http://schemas.example.invalid/x.xsd",
        "https://schemas.example.invalid/x.xsd",
        "ftp://schemas.example.invalid/x.xsd",
        "file://fileserver.example.invalid/share/x.xsd",
        "/etc/hostname",
        str(WSDL_DIR / ".." / "edxml-common.xsd"),
    ):
        with pytest.raises(ConfigurationError):
            loader.load(url)


def test_a_wsdl_with_a_dtd_is_refused(tmp_path: Path) -> None:
    source = (WSDL_DIR / "document-hub.wsdl").read_text(encoding="utf-8")
    hostile = source.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY x "y">]>',
        1,
    )
    assert hostile != source
    (tmp_path / "document-hub.xsd").write_bytes((WSDL_DIR / "document-hub.xsd").read_bytes())
    (tmp_path / "dtd.wsdl").write_text(hostile, encoding="utf-8")
    with pytest.raises(ConfigurationError):
        load_wsdl(tmp_path / "dtd.wsdl")


@pytest.mark.parametrize("name", ["", "../README.md", "wsdl/document-hub.wsdl", "absent.wsdl"])
def test_bad_package_names(name: str) -> None:
    with pytest.raises(ConfigurationError):
        load_wsdl(name)


def test_aload_reads_the_wsdl_off_the_event_loop() -> None:
    service = SoapService(endpoint=ENDPOINT)
    seen: list[int] = []
    real = service._binding

    def record() -> Any:
        seen.append(threading.get_ident())
        return real()

    service._binding = record  # type: ignore[method-assign]

    async def main() -> int:
        await service.aload()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert seen
    assert loop_thread not in seen
    assert service._bound is not None


# --------------------------------------------------------------------------------------------
# end to end: a tiny hub on 127.0.0.1


class _Hub:
    """A loopback hub: stores what SendDocument sends, answers GetDocument, faults otherwise."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}
        self.actions: list[str] = []
        self.lock = threading.Lock()

    def handle(self, action: str, organ_id: str | None, body: bytes) -> tuple[int, bytes]:
        self.actions.append(action)
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        (child,) = root.find(f"{{{SOAP_ENV}}}Body")  # type: ignore[misc]
        fields = children(child)
        if action == f'"{HUB}/SendDocument"' and child.tag == f"{{{HUB}}}SendDocument":
            package = base64.b64decode(fields["package"] or "")
            if (
                hashlib.sha256(package).hexdigest() != fields["hash"]
                or organ_id != fields["organId"]
            ):
                return 500, fault("s:Client", "hash or organ id does not match")
            with self.lock:
                doc_id = f"D-{len(self.store) + 1}"
                self.store[doc_id] = package
            return 200, reply(
                "SendDocument",
                f"<h:code>0</h:code><h:message>Đã nhận</h:message><h:docId>{doc_id}</h:docId>",
            )
        if action == f'"{HUB}/GetDocument"' and child.tag == f"{{{HUB}}}GetDocument":
            package = self.store.get(fields["docId"] or "")
            if package is None:
                return 500, fault("s:Client", f"no document {fields['docId']}")
            encoded = base64.b64encode(package).decode()
            return 200, reply("GetDocument", f"<h:package>{encoded}</h:package>")
        return 500, fault("s:Client", f"unknown action {action}")


@pytest.fixture
def loopback_hub() -> Iterator[tuple[str, _Hub]]:
    state = _Hub()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            assert self.headers.get("Content-Type") == "text/xml; charset=utf-8"
            status, content = state.handle(
                self.headers.get("SOAPAction", ""), self.headers.get("organid"), body
            )
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/DocumentHub", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def exchange(hub: DocumentHubCodec, package: bytes) -> Generator[Any, Any, tuple[str, bytes]]:
    """The flow: send a package, then fetch it back by the id the hub gave."""
    response = yield hub.send_document(SENDER, package)
    sent = hub.parse_send(response)
    assert sent["code"] == "0"
    assert sent["doc_id"] is not None
    response = yield hub.get_document(RECEIVER, sent["doc_id"])
    return sent["doc_id"], hub.parse_document(response)


def fetch(hub: DocumentHubCodec, doc_id: str) -> Generator[Any, Any, bytes]:
    response = yield hub.get_document(RECEIVER, doc_id)
    return hub.parse_document(response)


def test_end_to_end_sync(loopback_hub: tuple[str, _Hub]) -> None:
    url, state = loopback_hub
    hub = DocumentHubCodec(url)
    with HttpTransport() as transport:
        doc_id, package = run(exchange(hub, PACKAGE), transport)
        assert package == PACKAGE
        assert state.store[doc_id] == PACKAGE
        with pytest.raises(RemoteServiceError) as caught:
            run(fetch(hub, "D-404"), transport)
    assert caught.value.code == "s:Client"
    assert caught.value.status_code == 500
    assert "D-404" in caught.value.message
    assert state.actions == [
        f'"{HUB}/SendDocument"',
        f'"{HUB}/GetDocument"',
        f'"{HUB}/GetDocument"',
    ]


def test_end_to_end_async(loopback_hub: tuple[str, _Hub]) -> None:
    url, state = loopback_hub
    hub = DocumentHubCodec(url)
    big = PACKAGE + bytes(range(256)) * 4096  # 1 MiB more: a realistic package size

    async def main() -> list[tuple[str, bytes]]:
        await hub.aload()
        async with AsyncHttpxTransport() as transport:
            return await asyncio.gather(
                run_async(exchange(hub, PACKAGE), transport),
                run_async(exchange(hub, big), transport),
            )

    results = asyncio.run(main())
    assert sorted(len(package) for _, package in results) == [len(PACKAGE), len(big)]
    assert {doc_id for doc_id, _ in results} == set(state.store)
    assert all(state.store[doc_id] == package for doc_id, package in results)


def test_transport_errors_stay_lgsp_errors() -> None:
    """Nothing listens on the port: the flow sees lgsp's TransportError, not httpx's."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hub = DocumentHubCodec(f"http://127.0.0.1:{port}/DocumentHub")
    from lgsp.errors import TransportError

    with HttpTransport() as transport, pytest.raises(TransportError) as caught:
        run(fetch(hub, "D-1"), transport)
    assert caught.value.sent is False
    assert isinstance(caught.value, LgspError)
