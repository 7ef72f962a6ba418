"""The sandbox's VXP axis: what the official Java SDK sends, refusals, routing, statuses.

Raw calls are built with the SDK's own signing (``sign_request``), quirks included; the rest
goes through lgsp's Client against the running sandbox.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import build_package, build_status
from lgsp import Client, WriteOptions, package_to_bytes
from lgsp.errors import RemoteServiceError
from lgsp.sandbox import Sandbox
from lgsp.signatures import KeySigner, sign_package
from lgsp.testing.pki import make_pki
from lgsp.transports.vxp_signing import sdk_file_hash
from sandbox_fixtures import (
    CONFIG,
    ORGAN_A,
    ORGAN_B,
    SYSTEM_A,
    SYSTEM_B,
    running_sandbox,
    sdk_headers,
    stored_count,
    vxp_settings,
)

OTHER_ORGAN = "000.00.00.H40"  # in the directory, served by no system


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as running:
        yield running


def call(
    sandbox: Sandbox,
    operation: str,
    params: dict[str, Any],
    *,
    system: tuple[str, str] = SYSTEM_A,
    body: bytes = b"",
    content_type: str = "application/json",
    method: str = "POST",
    headers: Sequence[tuple[str, str]] | None = None,
) -> httpx.Response:
    """One call exactly as the SDK makes it (or with the given ``headers``)."""
    sent = (
        headers
        if headers is not None
        else sdk_headers(params, system=system, content_type=content_type)
    )
    with httpx.Client() as http:
        return http.request(
            method, f"{sandbox.url}/vxp/{operation}", headers=list(sent), content=body
        )


def package_with_unpadded_hash() -> bytes:
    """A package whose SHA-256 has a byte under 0x10, so the SDK's hash-file is shorter."""
    for n in range(200):
        data = package_to_bytes(build_package(subject=f"Công văn thử số {n}"))
        if len(sdk_file_hash(data)) < 64:
            return data
    raise AssertionError("no package with a short hash-file in 200 tries")


def send_params(data: bytes, to: str | list[str] = ORGAN_B, **over: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "from": ORGAN_A,
        "to": to,
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": sdk_file_hash(data),
    }
    params.update(over)
    return params


def sdk_send(sandbox: Sandbox, data: bytes, **over: Any) -> httpx.Response:
    return call(
        sandbox,
        "sendEdoc",
        send_params(data, **over),
        body=data,
        content_type="application/octet-stream",
    )


# -- what the official SDK sends ---------------------------------------------------------


def test_sdk_send_raw_body_unpadded_hash_and_quoted_to(sandbox: Sandbox) -> None:
    data = package_with_unpadded_hash()
    params = send_params(data)
    headers = sdk_headers(params, content_type="application/octet-stream")
    named = dict(headers)
    assert named["XroadVnpt-to"] == f'"{ORGAN_B}"'  # JSON text, quotes included
    assert len(named["XroadVnpt-hash-file"]) < 64  # the SDK's unpadded hex
    answer = call(sandbox, "sendEdoc", params, headers=headers, body=data)
    assert answer.status_code == 200
    envelope = answer.json()
    assert envelope["status"] == "OK" and envelope["ErrorCode"] == "0"
    doc_id = envelope["DocId"]
    with sandbox.state.store.reading() as db:
        row = db.execute(
            "SELECT d.from_organ, d.to_organs, d.sha256, p.data FROM vxp_documents d"
            " JOIN vxp_payloads p USING (doc_id) WHERE d.doc_id = ?",
            (int(doc_id),),
        ).fetchone()
    assert row[0] == ORGAN_A and json.loads(row[1]) == [ORGAN_B]
    assert row[2] == hashlib.sha256(data).hexdigest() and bytes(row[3]) == data


def test_padded_hash_file_is_accepted_too(sandbox: Sandbox) -> None:
    data = package_with_unpadded_hash()
    padded = hashlib.sha256(data).hexdigest()
    answer = sdk_send(sandbox, data, **{"hash-file": padded})
    assert answer.json()["status"] == "OK"


def test_hash_file_that_does_not_match_the_body_is_refused(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    answer = sdk_send(sandbox, data, **{"hash-file": sdk_file_hash(data + b" ")})
    assert answer.status_code == 400
    assert answer.json() == {
        "status": "FAIL",
        "ErrorCode": "400",
        "ErrorDesc": "hash-file does not match the SHA-256 of the body",
    }
    assert stored_count(sandbox) == 0


def test_leftover_headers_json_and_empty_bodies_of_the_sdk(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    doc_id = sdk_send(sandbox, data).json()["DocId"]
    # The SDK's header map leaks: the receiver's list call still signs hash-file, from, to.
    leftovers = {"from": ORGAN_A, "to": ORGAN_B, "hash-file": sdk_file_hash(data)}
    listing = call(
        sandbox,
        "getReceivedEdocList",
        {**leftovers, "servicetype": "eDoc", "messagetype": "edoc"},
        system=SYSTEM_B,
    )
    assert listing.status_code == 200
    items = listing.json()["data"]
    assert [i["docId"] for i in items] == [doc_id]
    item = items[0]
    assert set(item) >= {
        "docId",
        "serviceType",
        "messageType",
        "created_time",
        "updated_time",
        "from",
        "to",
        "status",
        "status_desc",
        "contentSha256",
        "contentLength",
        "versionSdk",
    }
    assert item["from"] == ORGAN_A and item["status"] == "new"
    assert item["contentSha256"] == hashlib.sha256(data).hexdigest()
    # getEdoc: body {}, docId and filePath as headers, leftovers from the list call too
    got = call(
        sandbox,
        "getEdoc",
        {**leftovers, "docId": doc_id, "filePath": "/var/qlvb/store", "messagetype": "edoc"},
        system=SYSTEM_B,
        body=b"{}",
    )
    assert got.json()["status"] == "OK"
    assert base64.b64decode(got.json()["data"]) == data
    done = call(
        sandbox,
        "updateStatus",
        {**leftovers, "docId": doc_id, "status": "done"},
        system=SYSTEM_B,
        body=b"{}",
    )
    assert done.json() == {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}
    count = call(sandbox, "countReceiveEdoc", leftovers, system=SYSTEM_B, method="GET")
    assert count.json()["count"] == 0


def test_to_as_a_json_array_reaches_every_organ(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    answer = sdk_send(sandbox, data, to=[ORGAN_B, OTHER_ORGAN])
    doc_id = answer.json()["DocId"]
    with sandbox.state.store.reading() as db:
        organs = [
            r[0]
            for r in db.execute(
                "SELECT organ FROM vxp_deliveries WHERE doc_id = ? ORDER BY organ", (int(doc_id),)
            )
        ]
    assert organs == [OTHER_ORGAN, ORGAN_B]
    with Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b:
        assert [i.doc_id for i in b.documents.received()] == [doc_id]


# -- refusals ----------------------------------------------------------------------------


def test_wrong_hmac_is_refused_with_401(sandbox: Sandbox) -> None:
    headers = [
        (k, "0" * 64 if k == "XroadVnpt-hash-header" else v)
        for k, v in sdk_headers({"servicetype": "eDoc"})
    ]
    answer = call(sandbox, "getReceivedEdocList", {}, headers=headers)
    assert answer.status_code == 401
    body = answer.json()
    assert body["status"] == "FAIL" and body["ErrorCode"] == "401"
    assert "hash-header does not match" in body["ErrorDesc"]


def test_a_secret_other_than_the_systems_is_refused(sandbox: Sandbox) -> None:
    answer = call(sandbox, "getAgenciesList", {}, system=(SYSTEM_A[0], "not-the-secret"))
    assert answer.status_code == 401 and answer.json()["ErrorCode"] == "401"


def test_unknown_system_is_refused(sandbox: Sandbox) -> None:
    answer = call(sandbox, "getAgenciesList", {}, system=("vxp.saas.99", "whatever"))
    assert answer.status_code == 401
    assert "unknown systemid 'vxp.saas.99'" in answer.json()["ErrorDesc"]


def test_a_header_changed_after_signing_is_refused(sandbox: Sandbox) -> None:
    headers = [
        (k, "999" if k == "XroadVnpt-docId" else v)
        for k, v in sdk_headers({"docId": "1", "filePath": "."})
    ]
    answer = call(sandbox, "getEdoc", {}, headers=headers, body=b"{}")
    assert answer.status_code == 401 and "differs from its signed value" in answer.text


def test_an_unsigned_direct_call_is_refused(sandbox: Sandbox) -> None:
    answer = call(sandbox, "getAgenciesList", {}, headers=[("XroadVnpt-systemid", SYSTEM_A[0])])
    assert answer.status_code == 401 and "not signed" in answer.json()["ErrorDesc"]


def test_an_invalid_package_is_refused_with_its_rule_ids(sandbox: Sandbox) -> None:
    # the writer checks the strict rules first: skip that to produce a broken package
    invalid = package_to_bytes(
        build_package(subject=None, document_id=None),
        options=WriteOptions(validate_first=False),
    )
    with Client.from_settings(vxp_settings(sandbox)) as client:
        outcome = client.documents.send(invalid)
    assert not outcome.accepted
    assert outcome.code == "422"
    assert outcome.message is not None
    assert outcome.message.startswith("the package is invalid under the lenient profile")
    assert "header.required" in outcome.message
    assert stored_count(sandbox) == 0


def test_bytes_that_are_not_a_package_are_refused(sandbox: Sandbox) -> None:
    answer = sdk_send(sandbox, b"<not-edxml/>")
    assert answer.status_code == 422
    assert answer.json()["ErrorDesc"].startswith("the package cannot be read")
    dtd = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    answer = sdk_send(sandbox, dtd)
    assert answer.status_code == 422 and "DOCTYPE" in answer.json()["ErrorDesc"]


def test_an_organ_the_system_does_not_serve_is_refused(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    answer = call(
        sandbox,
        "sendEdoc",
        send_params(data),
        system=SYSTEM_B,  # system B does not serve organ A
        body=data,
        content_type="application/octet-stream",
    )
    assert answer.status_code == 403
    assert "not served by the system vxp.saas.07" in answer.json()["ErrorDesc"]


def test_a_receiver_outside_the_directory_is_refused(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    answer = sdk_send(sandbox, data, to="000.00.00.Z99")
    assert answer.status_code == 404
    assert "no agency 000.00.00.Z99" in answer.json()["ErrorDesc"]


def test_from_that_differs_from_the_package_is_refused(sandbox: Sandbox) -> None:
    other = build_package().header.from_.model_copy(update={"organ_id": "000.00.01.H41"})
    data = package_to_bytes(build_package(from_=other))
    answer = sdk_send(sandbox, data)  # from: organ A, which system A serves
    assert answer.status_code == 400
    assert answer.json()["ErrorDesc"] == (
        "from 000.00.00.G22 differs from the package's From/OrganId 000.00.01.H41"
    )


def test_an_unknown_operation_is_404(sandbox: Sandbox) -> None:
    answer = call(sandbox, "sendKnobstick", {})
    assert answer.status_code == 404 and answer.json()["ErrorCode"] == "404"


# -- duplicates, routing, statuses -------------------------------------------------------


def test_resending_the_same_bytes_returns_the_first_doc_id(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    with Client.from_settings(vxp_settings(sandbox)) as client:
        first = client.documents.send(data)
        second = client.documents.send(data)
    assert first.accepted and second.accepted
    assert second.doc_id == first.doc_id
    assert second.message is not None and "already received" in second.message
    assert stored_count(sandbox, hashlib.sha256(data).hexdigest()) == 1


def test_without_dedupe_a_resend_is_a_second_copy() -> None:
    with running_sandbox(CONFIG.model_copy(update={"dedupe": False})) as sandbox:
        data = package_to_bytes(build_package())
        first = sdk_send(sandbox, data).json()["DocId"]
        second = sdk_send(sandbox, data).json()["DocId"]
        assert first != second
        assert stored_count(sandbox) == 2


def test_a_document_goes_a_to_b_and_its_status_comes_back(sandbox: Sandbox) -> None:
    package = build_package()
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b,
    ):
        sent = a.documents.send(package)
        assert sent.accepted
        assert a.documents.received() == []  # nothing for A's organs
        assert b.documents.count() == 1
        (item,) = b.documents.received()
        assert item.doc_id == sent.doc_id and item.from_code == ORGAN_A
        received = b.documents.get(item.doc_id)
        assert received == package_to_bytes(package)
        b.documents.update_status(item.doc_id, "done")
        # B answers with a status package: it goes to the ResponseFor organ, A's
        status = b.documents.send(build_status())
        assert status.accepted
        assert b.documents.count("status") == 0
        assert a.documents.count("status") == 1
        (back,) = a.documents.received("status")
        assert back.doc_id == status.doc_id and back.message_type == "status"
        assert back.from_code == ORGAN_B
        sent_items = a.documents.sent()
        assert [(s.sender_doc_id, s.to_code, s.receive_status) for s in sent_items] == [
            (sent.doc_id, ORGAN_B, "done")
        ]
        assert sent_items[0].notation == "1234/VPCP-TTĐT"


def test_update_status_lifecycle(sandbox: Sandbox, tmp_path: Path) -> None:
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B), download_dir=tmp_path) as b,
    ):
        doc_id = a.documents.send(build_package()).doc_id
        assert doc_id is not None
        b.documents.update_status(doc_id, "processing")
        (item,) = b.documents.received()
        assert item.status == "processing"  # still waiting while it is processed
        assert a.documents.sent()[0].receive_status == "processing"
        bad = call(
            sandbox,
            "updateStatus",
            {"docId": doc_id, "status": "archived"},
            system=SYSTEM_B,
            body=b"{}",
        )
        assert bad.status_code == 400 and "status must be" in bad.json()["ErrorDesc"]
        with pytest.raises(RemoteServiceError) as not_mine:
            a.documents.update_status(doc_id, "done")  # A is the sender, not a receiver
        assert not_mine.value.code == "403"
        b.documents.update_status(doc_id, "done")
        assert b.documents.received() == []
        b.documents.update_status(doc_id, "done")  # repeating is harmless
        with pytest.raises(RemoteServiceError) as final:
            b.documents.update_status(doc_id, "processing")
        assert final.value.code == "409"
        with pytest.raises(RemoteServiceError) as missing:
            b.documents.update_status("424242", "done")
        assert missing.value.code == "404"
        # the receive loop acknowledges what it handed over
        second = a.documents.send(build_package(subject="Văn bản thứ hai")).doc_id
        report = b.documents.receive(lambda delivery: None)
        assert report.handed_over == [second] and report.acknowledged == [second]
        assert b.documents.received() == []


def test_a_document_not_addressed_to_the_caller_cannot_be_read(sandbox: Sandbox) -> None:
    doc_id = sdk_send(sandbox, package_to_bytes(build_package())).json()["DocId"]
    other = ("vxp.saas.09", "sandbox-secret-c")
    config = CONFIG.model_copy(
        update={"systems": [*CONFIG.systems, _system(other, ["000.00.00.H40"])]}
    )
    sandbox.state.config = config
    answer = call(sandbox, "getEdoc", {"docId": doc_id, "filePath": "."}, system=other)
    assert answer.status_code == 403 and answer.json()["ErrorCode"] == "403"


def _system(system: tuple[str, str], organs: list[str]) -> Any:
    from lgsp.sandbox import VxpSystem

    return VxpSystem(system_id=system[0], secret=system[1], organs=organs)


def test_received_list_filters_by_type_and_date(sandbox: Sandbox) -> None:
    sdk_send(sandbox, package_to_bytes(build_package()))
    sandbox.state.clock = lambda: 1_899_960_000.0  # 2030-03-17 13:40 in Vietnam
    sdk_send(sandbox, package_to_bytes(build_package(subject="Sau")))
    with Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b:
        assert len(b.documents.received()) == 2
        assert len(b.documents.received("status")) == 0
    answer = call(
        sandbox,
        "getReceivedEdocList",
        {"servicetype": "eDoc", "fromDate": "2030-03-17", "toDate": "17/03/2030"},
        system=SYSTEM_B,
    )
    assert [i["created_time"][:10] for i in answer.json()["data"]] == ["2030-03-17"]
    bad = call(sandbox, "getReceivedEdocList", {"fromDate": "yesterday"}, system=SYSTEM_B)
    assert bad.status_code == 400


def test_download_edoc_gives_the_raw_package(sandbox: Sandbox) -> None:
    data = package_to_bytes(build_package())
    doc_id = sdk_send(sandbox, data).json()["DocId"]
    answer = call(
        sandbox, "downloadEdoc", {"docId": doc_id, "filePath": "."}, system=SYSTEM_B, method="GET"
    )
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-type"] == "application/octet-stream"


# -- signatures of packages ---------------------------------------------------------------


def _signer() -> KeySigner:
    identity = make_pki(organisation="Sandbox test CA").signer()
    return KeySigner(identity.key, identity.certificate, identity.chain)


def test_a_signed_package_is_verified_and_the_outcome_recorded(sandbox: Sandbox) -> None:
    signed = sign_package(package_to_bytes(build_package()), _signer())
    doc_id = sdk_send(sandbox, signed).json()["DocId"]
    with sandbox.state.store.reading() as db:
        row = db.execute(
            "SELECT signature, signature_note FROM vxp_documents WHERE doc_id = ?", (int(doc_id),)
        ).fetchone()
    assert row[0] == "valid" and "valid" in row[1]


def test_a_package_whose_signature_does_not_verify_is_refused(sandbox: Sandbox) -> None:
    signed = sign_package(package_to_bytes(build_package()), _signer())
    tampered = signed.replace(b"V/v tri", b"V/V tri", 1)
    assert tampered != signed
    answer = sdk_send(sandbox, tampered)
    assert answer.status_code == 422
    assert answer.json()["ErrorDesc"].startswith("the package signature is invalid")
    assert stored_count(sandbox) == 0


# -- the directory -----------------------------------------------------------------------


def test_agency_directory_operations(sandbox: Sandbox) -> None:
    with (
        Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as a,
        Client.from_settings(vxp_settings(sandbox, SYSTEM_B)) as b,
    ):
        codes = [x.code for x in a.agencies.list()]
        assert codes == ["000.00.00.G22", "000.00.00.H41", "000.00.01.H41", "000.00.00.H40"]
        assert [x.code for x in a.agencies.list_qd20(2)] == ["000.00.01.H41"]
        b.agencies.register(
            {"code": "000.00.02.H41", "name": "Sở Nội vụ Nghệ An", "pcode": ORGAN_B}
        )
        with pytest.raises(RemoteServiceError) as twice:
            b.agencies.register({"code": "000.00.02.H41", "name": "Sở Nội vụ Nghệ An"})
        assert twice.value.code == "409"
        added = next(x for x in a.agencies.list() if x.code == "000.00.02.H41")
        assert added.parent_id == "2" and added.id == "5"
        # the new agency is an organ of system B: A can address it, B receives for it
        package = build_package(
            to=[build_package().header.to[0].model_copy(update={"organ_id": "000.00.02.H41"})]
        )
        assert a.documents.send(package).accepted
        assert [i.to_code for i in b.documents.received()] == [["000.00.02.H41"]]
        with pytest.raises(RemoteServiceError) as not_yours:
            a.agencies.delete("000.00.02.H41")
        assert not_yours.value.code == "403"
        b.agencies.delete("000.00.02.H41")
        assert "000.00.02.H41" not in [x.code for x in a.agencies.list()]
        units = {u.code: u for u in a.agencies.sync_units()}
        assert units["000.00.02.H41"].deleted is True
        assert units["000.00.02.H41"].version == "2"
        assert units[ORGAN_A].center_code == SYSTEM_A[0]
        with pytest.raises(RemoteServiceError) as gone:
            b.agencies.delete("000.00.02.H41")
        assert gone.value.code == "404"


# -- concurrency ---------------------------------------------------------------------------


def test_concurrent_sends_store_one_row_per_package(sandbox: Sandbox) -> None:
    packages = [package_to_bytes(build_package(subject=f"Văn bản {n}")) for n in range(12)]
    errors: list[BaseException] = []
    doc_ids: dict[str, set[str]] = {}
    lock = threading.Lock()

    def worker(offset: int) -> None:
        try:
            with Client.from_settings(vxp_settings(sandbox)) as client:
                for i in range(len(packages)):
                    data = packages[(i + offset) % len(packages)]  # every package, every thread
                    outcome = client.documents.send(data)
                    assert outcome.accepted and outcome.doc_id
                    with lock:
                        doc_ids.setdefault(hashlib.sha256(data).hexdigest(), set()).add(
                            outcome.doc_id
                        )
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n * 3,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored_count(sandbox) == len(packages)
    assert all(len(ids) == 1 for ids in doc_ids.values())  # every resend got the first DocId
    with sandbox.state.store.reading() as db:
        assert db.execute("SELECT COUNT(*) FROM vxp_payloads").fetchone()[0] == len(packages)
        assert db.execute("SELECT COUNT(*) FROM vxp_deliveries").fetchone()[0] == len(packages)
