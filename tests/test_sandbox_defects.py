"""The sandbox's two extra duties (the package size limit, certificate dates) and its defects.

Each defect is shown doing its wrong thing when switched on, and the sandbox behaving when it
is off, through lgsp's own clients (or raw httpx where the envelope itself is the point)
against a sandbox started by the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import lgsp
from lgsp import Client, package_to_bytes
from lgsp.clients import TokenPortalCodec, TokenPortalService
from lgsp.documents import Attachment, Organization
from lgsp.dossiers import DossierStatus
from lgsp.errors import ConfigurationError, RemoteServiceError
from lgsp.sandbox import Faults, Sandbox, SandboxConfig
from lgsp.sandbox.faults import DEFECTS, Defect
from lgsp.signatures import KeySigner, sign_package
from lgsp.testing import samples
from lgsp.testing.pki import Identity, TestPKI, make_pki
from lgsp.transports.auth import ClientCredentials
from lgsp.transports.vxp_signing import sdk_file_hash
from sandbox_fixtures import (
    APP_BOUND,
    CONFIG,
    ORGAN_A,
    ORGAN_B,
    SYSTEM_A,
    SYSTEM_B,
    gateway_settings,
    hub_settings,
    running_sandbox,
    sdk_headers,
    stored_count,
    vxp_settings,
)
from test_dossiers_data import creation, progress_item, status_update, sync_item

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
HUB_NS = "urn:lgsp:document-hub:1"
DEFAULT_LIMIT = 10 * 1024 * 1024
SMALL_LIMIT = 64 * 1024  # the ordinary samples pass; a 100 KB attachment does not
HTML_ERROR = "<html><body>Internal Server Error</body></html>"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture
def small() -> Iterator[Sandbox]:
    """A sandbox that takes packages of at most :data:`SMALL_LIMIT` bytes."""
    with running_sandbox(CONFIG.model_copy(update={"max_package_bytes": SMALL_LIMIT})) as running:
        yield running


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki(organisation="Sandbox defects CA")


def play(sandbox: Sandbox, *defects: Defect) -> None:
    sandbox.state.faults.update(defects=defects)


def document(number: str, **fields: object) -> lgsp.DocumentPackage:
    return samples.document(number=number, **fields)  # type: ignore[arg-type]


def big_document(number: str, size: int = 100_000) -> lgsp.DocumentPackage:
    """A document with a random attachment of ``size`` bytes."""
    filler = Attachment.from_bytes(
        "Phụ lục.bin", os.urandom(size), content_id=f"big-{number}", description="Phụ lục"
    )
    return document(number, attachments=[filler])


def signed(package: lgsp.DocumentPackage, identity: Identity) -> bytes:
    signer = KeySigner(identity.key, identity.certificate, identity.chain)
    return sign_package(package_to_bytes(package), signer)


def received_ids(sandbox: Sandbox, system: tuple[str, str], kind: str = "edoc") -> list[str]:
    with Client.from_settings(vxp_settings(sandbox, system)) as client:
        return [item.doc_id for item in client.documents.received(kind)]


def deliveries(sandbox: Sandbox, doc_id: str) -> list[tuple[str, str]]:
    with sandbox.state.store.reading() as db:
        rows = db.execute(
            "SELECT organ, status FROM vxp_deliveries WHERE doc_id = ? ORDER BY organ",
            (int(doc_id),),
        ).fetchall()
    return [(str(organ), str(status)) for organ, status in rows]


def sdk_call(
    sandbox: Sandbox,
    operation: str,
    params: dict[str, object],
    body: bytes = b"",
    *,
    prefix: str = "/vxp",
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """A raw call signed as system A, the way the official SDK makes it."""
    headers = sdk_headers(params, content_type="application/octet-stream")  # type: ignore[arg-type]
    headers += list((extra or {}).items())
    with httpx.Client(timeout=30) as http:
        return http.post(f"{sandbox.url}{prefix}/{operation}", headers=headers, content=body)


def send_params(data: bytes) -> dict[str, object]:
    return {
        "from": ORGAN_A,
        "to": ORGAN_B,
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": sdk_file_hash(data),
    }


def soap_send(sandbox: Sandbox, package: bytes, organ: str = ORGAN_A) -> httpx.Response:
    envelope = (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}" '
        f'xmlns:hub="{HUB_NS}"><soap:Body><hub:SendDocument><hub:organId>{organ}'
        "</hub:organId><hub:type>EDOC</hub:type><hub:package>"
    ).encode()
    envelope += base64.b64encode(package)
    envelope += b"</hub:package></hub:SendDocument></soap:Body></soap:Envelope>"
    with httpx.Client(timeout=30) as http:
        return http.post(
            sandbox.url + "/soap/DocumentHub",
            content=envelope,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )


def fault_of(answer: httpx.Response) -> tuple[str, str]:
    """(faultstring, detail code) of a SOAP Fault."""
    text = answer.text
    assert "<soap:Fault>" in text, text
    found = re.search(r"<faultstring>(.*?)</faultstring>", text, re.DOTALL)
    code = re.search(r"<hub:code[^>]*>(.*?)</hub:code>", text, re.DOTALL)
    assert found is not None and code is not None
    return found.group(1), code.group(1)


def gateway_token(sandbox: Sandbox) -> str:
    answer = httpx.post(
        sandbox.url + "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": APP_BOUND[0],
            "client_secret": APP_BOUND[1],
        },
    )
    return str(answer.json()["access_token"])


# -- the defect knob ----------------------------------------------------------------------


def test_defects_are_set_by_name_shown_and_reset() -> None:
    faults = Faults()
    faults.update(defects=["lose-status", "wrong-envelope"])
    assert faults.plays(Defect.LOSE_STATUS) and not faults.plays(Defect.LOSE_DOCUMENT)
    assert faults.snapshot()["defects"] == ["lose-status", "wrong-envelope"]
    with pytest.raises(TypeError, match="no defect 'lose-everything'") as unknown:
        faults.update(defects=["lose-everything"])
    assert all(name in str(unknown.value) for name in DEFECTS)
    with pytest.raises(TypeError, match="a list of names"):
        faults.update(defects="lose-status")
    assert faults.snapshot()["defects"] == ["lose-status", "wrong-envelope"]  # unchanged
    faults.reset()
    assert faults.defects == frozenset() and faults.snapshot()["defects"] == []
    assert len(DEFECTS) == 12


def test_defects_over_http(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as http:
        shown = http.put("/sandbox/faults", json={"defects": ["duplicate-send", "lose-status"]})
        assert shown.status_code == 200
        assert shown.json()["defects"] == ["duplicate-send", "lose-status"]
        assert sandbox.state.faults.plays(Defect.DUPLICATE_SEND)
        refused = http.put("/sandbox/faults", json={"defects": ["no-such-thing"]})
        assert refused.status_code == 400
        assert "no defect 'no-such-thing'" in refused.json()["error"]
        assert "accept-bad-signature" in refused.json()["error"]
        assert http.get("/sandbox/faults").json()["defects"] == ["duplicate-send", "lose-status"]
        assert http.put("/sandbox/faults", json={"defects": []}).json()["defects"] == []


def test_defects_and_limits_from_a_config_file(tmp_path: Path) -> None:
    file = tmp_path / "sandbox.toml"
    file.write_text(
        'max_package_bytes = 2048\n[faults]\ndefects = ["duplicate-send", "ack-without-effect"]\n',
        "utf-8",
    )
    config = SandboxConfig.from_toml(file)
    assert config.max_package_bytes == 2048
    assert config.faults.defects == {"duplicate-send", "ack-without-effect"}
    assert Faults.from_settings(config.faults).plays(Defect.ACK_WITHOUT_EFFECT)
    assert SandboxConfig().max_package_bytes == DEFAULT_LIMIT
    file.write_text('[faults]\ndefects = ["lose-all"]\n', "utf-8")
    with pytest.raises(ConfigurationError, match="no defect 'lose-all'") as unknown:
        SandboxConfig.from_toml(file)
    assert unknown.value.field == "faults.defects"
    file.write_text("max_package_bytes = 0\n", "utf-8")
    with pytest.raises(ConfigurationError) as zero:
        SandboxConfig.from_toml(file)
    assert zero.value.field == "max_package_bytes"
    file.write_text(f'trust_anchors = ["{(tmp_path / "none.pem").as_posix()}"]\n', "utf-8")
    with pytest.raises(ConfigurationError, match="no such certificate file"):
        SandboxConfig.from_toml(file)


# -- A1: the size of a package --------------------------------------------------------------


def test_the_axis_refuses_a_body_over_10_mib_before_parsing_it(sandbox: Sandbox) -> None:
    # junk, not a package: a refusal that came from parsing would say "cannot be read"
    over = b"x" * (DEFAULT_LIMIT + 1)
    answer = sdk_call(sandbox, "sendEdoc", send_params(over), over)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["status"], body["ErrorCode"]) == ("FAIL", "413")
    assert "10485760 bytes" in body["ErrorDesc"] and "10 MiB" in body["ErrorDesc"]
    # exactly at the limit, the body is read (and refused for what it is)
    at_limit = b"x" * DEFAULT_LIMIT
    answer = sdk_call(sandbox, "sendEdoc", send_params(at_limit), at_limit)
    assert answer.status_code == 422 and "cannot be read" in answer.json()["ErrorDesc"]
    assert stored_count(sandbox) == 0
    # the connection is still good for the next call
    with Client.from_settings(vxp_settings(sandbox)) as client:
        assert client.documents.send(document("4130")).accepted


def test_a_body_without_content_length_is_cut_at_the_limit(small: Sandbox) -> None:
    data = package_to_bytes(big_document("4131"))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    headers = sdk_headers(send_params(data), content_type="application/octet-stream")  # type: ignore[arg-type]
    with httpx.Client() as http:
        answer = http.post(f"{small.url}/vxp/sendEdoc", headers=headers, content=chunks())
    assert answer.status_code == 413
    assert f"more than {SMALL_LIMIT} bytes" in answer.json()["ErrorDesc"]


def test_clients_get_the_413_directly_and_through_the_gateway(small: Sandbox) -> None:
    package = big_document("4132")
    with Client.from_settings(vxp_settings(small)) as direct:
        outcome = direct.documents.send(package)
        assert (outcome.accepted, outcome.code) == (False, "413")
        assert outcome.message is not None and f"limit is {SMALL_LIMIT} bytes" in outcome.message
        assert direct.documents.send(document("4133")).accepted  # small ones still go
    with Client.from_settings(gateway_settings(small)) as gateway:
        outcome = gateway.documents.send(package)
        assert (outcome.accepted, outcome.code) == (False, "413")
    assert stored_count(small) == 1


def test_the_hub_refuses_an_oversized_package_with_a_fault(small: Sandbox) -> None:
    data = package_to_bytes(big_document("4134", 55_000))  # its envelope is under the cap
    assert SMALL_LIMIT < len(data) < SMALL_LIMIT * 3 // 2
    answer = soap_send(small, data)
    assert answer.status_code == 500
    message, code = fault_of(answer)
    assert code == "413" and f"limit is {SMALL_LIMIT} bytes" in message
    assert f"({len(data)} bytes)" in message  # the package was measured, not parsed
    # an envelope far beyond the limit is refused while it is read
    huge = soap_send(small, os.urandom(SMALL_LIMIT * 2))
    assert huge.status_code == 500 and fault_of(huge)[1] == "413"
    with Client.from_settings(hub_settings(small, ORGAN_A)) as client:
        outcome = client.documents.send(big_document("4135"))
        assert not outcome.accepted and outcome.code == "soap:Client"
        assert outcome.message is not None and "max_package_bytes" in outcome.message
    assert stored_count(small) == 0


def test_ignore_size_limit(small: Sandbox) -> None:
    play(small, Defect.IGNORE_SIZE_LIMIT)
    with Client.from_settings(vxp_settings(small)) as direct:
        assert direct.documents.send(big_document("4136")).accepted
    with Client.from_settings(hub_settings(small, ORGAN_A)) as hub:
        assert hub.documents.send(big_document("4137")).accepted
    assert stored_count(small) == 2


# -- A2: certificate dates ------------------------------------------------------------------


def test_an_expired_or_not_yet_valid_signing_certificate_is_refused(
    sandbox: Sandbox, pki: TestPKI
) -> None:
    expired = pki.expired().certificate
    with Client.from_settings(vxp_settings(sandbox)) as client:
        outcome = client.documents.send(signed(document("4220"), pki.expired()))
        assert (outcome.accepted, outcome.code) == (False, "422")
        assert outcome.message is not None
        assert "Lê Văn Cường" in outcome.message and "expired" in outcome.message
        assert f"notAfter {expired.not_valid_after_utc:%Y-%m-%d %H:%M:%S}" in outcome.message
        early = client.documents.send(signed(document("4221"), pki.not_yet_valid()))
        assert (early.accepted, early.code) == (False, "422")
        assert early.message is not None and "Phạm Thị Dung" in early.message
        assert "not yet valid" in early.message and "notAfter" in early.message
        assert client.documents.send(signed(document("4222"), pki.signer())).accepted
    assert stored_count(sandbox) == 1


def test_certificates_are_judged_at_the_time_of_receipt(sandbox: Sandbox, pki: TestPKI) -> None:
    # the sandbox's clock back to a day the expired certificate was still good
    sandbox.state.clock = (pki.now - dt.timedelta(days=100)).timestamp
    with Client.from_settings(vxp_settings(sandbox)) as client:
        assert client.documents.send(signed(document("4223"), pki.expired())).accepted
        late = client.documents.send(signed(document("4224"), pki.signer()))
    # the ordinary signer's validity began 30 days before the PKI's now: not yet, then
    assert (late.accepted, late.code) == (False, "422")


def test_accept_expired_certificate(sandbox: Sandbox, pki: TestPKI) -> None:
    data = signed(document("4225"), pki.expired())
    with Client.from_settings(vxp_settings(sandbox)) as client:
        assert not client.documents.send(data).accepted
        play(sandbox, Defect.ACCEPT_EXPIRED_CERTIFICATE)
        taken = client.documents.send(data)
    assert taken.accepted and taken.doc_id is not None
    assert received_ids(sandbox, SYSTEM_B) == [taken.doc_id]


def test_trust_anchors_refuse_a_signer_from_another_root(tmp_path: Path, pki: TestPKI) -> None:
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(pki.root_pem())
    config = CONFIG.model_copy(update={"trust_anchors": [anchor]})
    with running_sandbox(config) as sandbox, Client.from_settings(vxp_settings(sandbox)) as client:
        assert client.documents.send(signed(document("4226"), pki.signer())).accepted
        stranger = client.documents.send(signed(document("4227"), pki.untrusted()))
    assert (stranger.accepted, stranger.code) == (False, "422")
    assert stranger.message is not None and "not trusted" in stranger.message


def test_worker_processes_apply_the_same_checks_and_defects(pki: TestPKI) -> None:
    # packages above 16 KiB are read in the worker process: the policy crosses to it
    data = signed(big_document("4228", 40_000), pki.expired())
    tampered = signed(big_document("4229", 40_000), pki.signer()).replace(
        b"<edXML:Subject>V/v", b"<edXML:Subject>V/V", 1
    )
    with (
        running_sandbox(processes=1) as sandbox,
        Client.from_settings(vxp_settings(sandbox)) as client,
    ):
        refused = client.documents.send(data)
        assert refused.code == "422" and refused.message and "expired" in refused.message
        assert client.documents.send(tampered).code == "422"
        play(sandbox, Defect.ACCEPT_EXPIRED_CERTIFICATE, Defect.ACCEPT_BAD_SIGNATURE)
        assert client.documents.send(data).accepted
        assert client.documents.send(tampered).accepted


# -- defects of taking packages in ----------------------------------------------------------


def test_accept_bad_signature(sandbox: Sandbox, pki: TestPKI) -> None:
    good = signed(document("5001"), pki.signer())
    tampered = good.replace(b"<edXML:Subject>V/v", b"<edXML:Subject>V/V", 1)
    assert tampered != good
    with Client.from_settings(vxp_settings(sandbox)) as client:
        refused = client.documents.send(tampered)
        assert refused.code == "422" and refused.message
        assert "signature is invalid" in refused.message
        play(sandbox, Defect.ACCEPT_BAD_SIGNATURE)
        taken = client.documents.send(tampered)
    assert taken.accepted and taken.doc_id is not None
    assert received_ids(sandbox, SYSTEM_B) == [taken.doc_id]
    with sandbox.state.store.reading() as db:
        (kept,) = db.execute("SELECT signature FROM vxp_documents").fetchone()
    assert kept == "invalid"


def test_accept_unknown_organ(sandbox: Sandbox) -> None:
    nowhere = Organization(organ_id="000.00.00.Z99", organ_name="Không có")
    with Client.from_settings(vxp_settings(sandbox)) as client:
        refused = client.documents.send(document("5002", receivers=[nowhere]))
        assert (refused.accepted, refused.code) == (False, "404")
        play(sandbox, Defect.ACCEPT_UNKNOWN_ORGAN)
        taken = client.documents.send(document("5003", receivers=[nowhere]))
        both = client.documents.send(document("5004", receivers=[nowhere, samples.NGHE_AN]))
    assert taken.accepted and taken.doc_id is not None
    assert deliveries(sandbox, taken.doc_id) == []  # delivered nowhere
    assert both.accepted and both.doc_id is not None
    assert deliveries(sandbox, both.doc_id) == [(ORGAN_B, "new")]


def _without_subject(number: str) -> bytes:
    data = package_to_bytes(document(number))
    return re.sub(rb"<edXML:Subject>.*?</edXML:Subject>", b"", data, count=1, flags=re.DOTALL)


def test_accept_invalid_package(sandbox: Sandbox) -> None:
    with Client.from_settings(vxp_settings(sandbox)) as client:
        refused = client.documents.send(_without_subject("5005"))
        assert refused.code == "422" and refused.message
        assert "header.required" in refused.message
        play(sandbox, Defect.ACCEPT_INVALID_PACKAGE)
        taken = client.documents.send(_without_subject("5006"))
        unreadable = client.documents.send(
            b"<not-a-package/>", sender=ORGAN_A, receivers=[ORGAN_B], message_type="edoc"
        )
    assert taken.accepted
    assert received_ids(sandbox, SYSTEM_B) == [taken.doc_id]
    assert unreadable.code == "422"  # what does not parse is still refused


def test_duplicate_send(sandbox: Sandbox) -> None:
    first = package_to_bytes(document("5007"))
    second = package_to_bytes(document("5008"))
    with Client.from_settings(vxp_settings(sandbox)) as client:
        sent = client.documents.send(first)
        assert client.documents.send(first).doc_id == sent.doc_id
        play(sandbox, Defect.DUPLICATE_SEND)
        once = client.documents.send(second)
        again = client.documents.send(second)
    assert once.doc_id != again.doc_id
    assert stored_count(sandbox, hashlib.sha256(first).hexdigest()) == 1
    assert stored_count(sandbox, hashlib.sha256(second).hexdigest()) == 2


def test_lose_status(sandbox: Sandbox) -> None:
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b,
    ):
        original = document("5009")
        assert a.documents.send(original).accepted
        kept = b.documents.send(samples.status(original, "03"))
        assert [i.doc_id for i in a.documents.received("status")] == [kept.doc_id]
        play(sandbox, Defect.LOSE_STATUS)
        lost = b.documents.send(samples.status(original, "04"))
        assert lost.accepted and lost.doc_id is not None
        assert [i.doc_id for i in a.documents.received("status")] == [kept.doc_id]
        assert a.documents.send(document("5010")).accepted  # documents still go
    assert len(received_ids(sandbox, SYSTEM_B)) == 2


def test_lose_document(sandbox: Sandbox) -> None:
    with Client.from_settings(vxp_settings(sandbox)) as a:
        kept = a.documents.send(document("5011"))
        play(sandbox, Defect.LOSE_DOCUMENT)
        lost = a.documents.send(document("5012"))
    assert lost.accepted and lost.doc_id not in (None, kept.doc_id)
    assert received_ids(sandbox, SYSTEM_B) == [kept.doc_id]
    with Client.from_settings(hub_settings(sandbox, ORGAN_B)) as hub:
        assert [i.doc_id for i in hub.documents.received()] == [kept.doc_id]


def test_ack_without_effect(sandbox: Sandbox) -> None:
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b,
        Client.from_settings(hub_settings(sandbox, ORGAN_B)) as hub,
    ):
        done = a.documents.send(document("5013")).doc_id
        b.documents.update_status(done or "", "done")
        assert b.documents.received() == []
        play(sandbox, Defect.ACK_WITHOUT_EFFECT)
        stuck = a.documents.send(document("5014")).doc_id or ""
        assert b.documents.update_status(stuck, "done") is not None  # answered OK
        hub.documents.update_status(stuck, "done")  # UpdateTraces: answered OK too
        assert [i.doc_id for i in b.documents.received()] == [stuck]
        status_of = {i.sender_doc_id: i.receive_status for i in a.documents.sent()}
    assert status_of == {done: "done", stuck: "new"}
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b,
        pytest.raises(RemoteServiceError) as bad,
    ):
        b.documents.update_status("999", "done")  # the checks still run
    assert bad.value.code == "404"


# -- wrong-envelope -------------------------------------------------------------------------


def test_wrong_envelope_on_the_axis_and_the_gateway(small: Sandbox) -> None:
    def refusals() -> list[httpx.Response]:
        with httpx.Client(base_url=small.url) as http:
            no_token = http.post("/vdxp-product/1.0/getAgenciesList")
        too_big = sdk_call(small, "sendEdoc", send_params(b"x"), b"x" * (SMALL_LIMIT + 1))
        return [sdk_call(small, "getEdoc", {"docId": "999"}), no_token, too_big]

    right = refusals()
    assert [r.status_code for r in right] == [404, 401, 413]
    assert right[0].json()["ErrorCode"] == "404" and "fault" in right[1].json()
    play(small, Defect.WRONG_ENVELOPE)
    for answer in refusals():
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.text == HTML_ERROR
    with Client.from_settings(vxp_settings(small)) as client:  # successes stay right
        assert client.documents.send(document("5015")).accepted
        assert client.agencies.list()
    assert httpx.get(small.url + "/sandbox/faults").json()["defects"] == ["wrong-envelope"]


def test_wrong_envelope_on_the_hub(sandbox: Sandbox) -> None:
    unreadable = b"<x/>"  # not a package: a Fault naming why
    assert fault_of(soap_send(sandbox, unreadable))[1] == "422"
    play(sandbox, Defect.WRONG_ENVELOPE)
    answer = soap_send(sandbox, unreadable)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/plain")
    assert "cannot be read" in answer.text and "<soap:" not in answer.text
    with Client.from_settings(hub_settings(sandbox, ORGAN_A)) as hub:
        assert hub.documents.send(document("5016")).accepted


def test_wrong_envelope_on_the_portals(sandbox: Sandbox) -> None:
    def login(password: str) -> httpx.Response:
        return httpx.post(
            sandbox.url + "/portal/auth",
            json={"username": "tich-hop", "password": password},
            headers={"dstcode": "DST-H41"},
        )

    def next_value(token: str) -> httpx.Response:
        return httpx.get(
            sandbox.url + "/portal-token/GetNextValue",
            params={"code": "G09.20"},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert login("wrong").json() == {"error_code": 1, "message": "wrong username or password"}
    assert next_value("forged").json()["error_code"] == "invalid_token"
    play(sandbox, Defect.WRONG_ENVELOPE)
    classic = login("wrong")
    assert classic.status_code == 200 and classic.json() == {"error": "wrong username or password"}
    token = next_value("forged")
    assert token.status_code == 401 and token.json() == {"error": "unknown access token"}
    assert login("sandbox-portal").json()["error_code"] == 0  # a success stays right


# -- accept-any-token -----------------------------------------------------------------------


def test_accept_any_token_at_the_gateway(sandbox: Sandbox) -> None:
    def agencies(token: str | None) -> httpx.Response:
        extra = {"Authorization": f"Bearer {token}"} if token else {}
        return sdk_call(sandbox, "getAgenciesList", {}, prefix="/vdxp-product/1.0", extra=extra)

    token = gateway_token(sandbox)
    assert agencies(token).status_code == 200
    real_clock = sandbox.state.clock
    sandbox.state.clock = lambda: real_clock() + 7200  # the token (3600 s) has expired
    assert agencies(token).json()["fault"]["code"] == 900901
    assert agencies("forged").json()["fault"]["code"] == 900901
    play(sandbox, Defect.ACCEPT_ANY_TOKEN)
    assert agencies(token).json()["status"] == "OK"
    assert agencies("forged").json()["status"] == "OK"
    assert agencies(None).status_code == 401  # no token at all is still refused


def test_accept_any_token_at_the_hub(sandbox: Sandbox) -> None:
    with Client.from_settings(hub_settings(sandbox, ORGAN_A, token="forged")) as hub:
        with pytest.raises(RemoteServiceError) as refused:
            hub.documents.received()
        assert refused.value.status_code == 401
        play(sandbox, Defect.ACCEPT_ANY_TOKEN)
        assert hub.documents.received() == []


def test_accept_any_token_at_the_token_portal(sandbox: Sandbox) -> None:
    def next_value() -> httpx.Response:
        return httpx.get(
            sandbox.url + "/portal-token/GetNextValue",
            params={"code": "G09.20"},
            headers={"Authorization": "Bearer forged"},
        )

    assert next_value().status_code == 401
    play(sandbox, Defect.ACCEPT_ANY_TOKEN)
    answer = next_value()
    assert answer.status_code == 200 and answer.json()["success"] is True


# -- allow-illegal-transition -----------------------------------------------------------------


def test_allow_illegal_transition(sandbox: Sandbox) -> None:
    auth = ClientCredentials(f"{sandbox.url}/portal-token/token", "dvc-bo", "sandbox-dvc")
    service = TokenPortalService(TokenPortalCodec(f"{sandbox.url}/portal-token"), [auth])
    with lgsp.Client(dossiers=service) as client:
        code = client.dossiers.next_code("G09.20")
        client.dossiers.create(creation(code=code))
        client.dossiers.update_status([status_update(code=code, dossier_id=None, status=10)])
        back = [status_update(code=code, dossier_id=None, status=4)]
        with pytest.raises(RemoteServiceError) as refused:
            client.dossiers.update_status(back)
        assert refused.value.code == "dossier.transition"
        play(sandbox, Defect.ALLOW_ILLEGAL_TRANSITION)
        moved = client.dossiers.update_status(back)
    assert moved["data"][0]["TrangThai"] == 4


def test_allow_illegal_transition_on_the_classic_adapter(sandbox: Sandbox) -> None:
    session = httpx.post(
        sandbox.url + "/portal/auth",
        json={"username": "tich-hop", "password": "sandbox-portal"},
        headers={"dstcode": "DST-H41"},
    ).json()["session"]
    code = "000.00.01.H41-20260609-0000001"

    def progress(status: int) -> int:
        answer = httpx.post(
            sandbox.url + "/portal/integration",
            headers={"dstcode": "DST-H41"},
            json={
                "service": "CapNhatTienDoHoSoMC",
                "session": session,
                "madonvi": "000.00.01.H41",
                "data": [_classic_step(code, status)],
            },
        )
        return int(answer.json()["error_code"])

    synced = httpx.post(
        sandbox.url + "/portal/integration",
        headers={"dstcode": "DST-H41"},
        json={
            "service": "DongBoHoSoMC",
            "session": session,
            "madonvi": "000.00.01.H41",
            "data": [_classic_dossier(code)],
        },
    ).json()
    assert synced["error_code"] == 0, synced
    assert progress(10) == 8  # 1 → 10 skips the steps between: ClassicCode.TRANSITION
    play(sandbox, Defect.ALLOW_ILLEGAL_TRANSITION)
    assert progress(10) == 0


def _classic_dossier(code: str) -> dict[str, object]:
    item = sync_item(
        code=code,
        status=DossierStatus.REGISTERED,
        returned_at=None,
        return_info=None,
        processing_ended_at=None,
    )
    return item.to_wire("classic")


def _classic_step(code: str, status: int) -> dict[str, object]:
    return progress_item(code=code, status=status).to_wire("classic")
