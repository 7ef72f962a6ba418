"""The sandbox's portal side, driven by lgsp's own clients over real HTTP on loopback.

The classic DVCQG adapter (login with ``dstcode``, DongBoHoSoMC, CapNhatTienDoHoSoMC,
TraCuuHoSo, the catalogue) through ``Client(dossiers=PortalService(...))``, and the token-based
portal (GetNextValue, DongBoHoSo, CapNhatTienTrinh, CapNhatTrangThai) through
``TokenPortalService``. Time moves through the sandbox's clock, never by sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import lgsp
from lgsp.clients import (
    PortalCodec,
    PortalService,
    TokenPortalCodec,
    TokenPortalService,
)
from lgsp.dossiers import VIETNAM_TZ, DossierStatus, DossierSyncItem
from lgsp.errors import AuthError, RemoteServiceError, TransportError
from lgsp.sandbox.config import SandboxConfig
from lgsp.sandbox.portal import ClassicCode, portal_dossier, portal_history
from lgsp.sandbox.server import Sandbox
from lgsp.sandbox.state import SandboxState
from lgsp.transports.auth import ClientCredentials, PortalSession
from lgsp.transports.base import Response
from lgsp.transports.retry import RetryPolicy
from test_dossiers_data import (
    CODE,
    creation,
    progress_item,
    progress_update,
    status_update,
    sync_item,
)

UNIT = "000.00.01.H41"  # the demo portal user's madonvi
DSTCODE = "DST-H41"
START = dt.datetime(2026, 6, 9, 8, 0, tzinfo=VIETNAM_TZ).timestamp()


class Clock:
    """The sandbox's clock, moved by the tests."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def open_state(profile: str = "lenient", db: Path | str = ":memory:") -> SandboxState:
    config = SandboxConfig.demo().model_copy(update={"profile": profile})
    state = SandboxState.open(config, db=db)
    state.clock = Clock()
    return state


@contextlib.contextmanager
def serving(state: SandboxState) -> Iterator[str]:
    """The whole sandbox app over ``state`` on a free loopback port; the state stays ours."""
    with Sandbox(state=state) as sandbox:
        yield sandbox.url


@pytest.fixture
def state() -> Iterator[SandboxState]:
    state = open_state()
    yield state
    state.store.close()


@pytest.fixture
def base(state: SandboxState) -> Iterator[str]:
    with serving(state) as url:
        yield url


def clock_of(state: SandboxState) -> Clock:
    assert isinstance(state.clock, Clock)
    return state.clock


# --- classic adapter helpers -----------------------------------------------------------------


def portal_client(
    base: str,
    *,
    password: str = "sandbox-portal",
    dstcode: str = DSTCODE,
    check: Any = "strict",
    retry: RetryPolicy | None = None,
) -> tuple[lgsp.Client, PortalSession]:
    session = PortalSession(f"{base}/portal/auth", "tich-hop", password, dstcode)
    codec = PortalCodec(
        f"{base}/portal/integration", f"{base}/portal/share", unit_code=UNIT, check=check
    )
    return lgsp.Client(dossiers=PortalService(codec, [session]), retry=retry), session


def registered(code: str, **overrides: Any) -> DossierSyncItem:
    """A dossier just registered (1): no hand-over yet."""
    fields: dict[str, Any] = {
        "code": code,
        "status": DossierStatus.REGISTERED,
        "returned_at": None,
        "return_info": None,
        "processing_ended_at": None,
    }
    fields.update(overrides)
    return sync_item(**fields)


def code_of(n: int) -> str:
    return f"000.00.12.H49-20260609-{n:07d}"


def login(base: str) -> str:
    answer = httpx.post(
        f"{base}/portal/auth",
        json={"username": "tich-hop", "password": "sandbox-portal"},
        headers={"dstcode": DSTCODE},
    ).json()
    assert answer["error_code"] == 0
    return str(answer["session"])


def raw_call(
    base: str, path: str, body: Any, *, dstcode: str = DSTCODE
) -> tuple[Response, dict[str, Any]]:
    """A call as lgsp's Response (for PortalSession.lapsed) and its JSON."""
    reply = httpx.post(f"{base}{path}", json=body, headers={"dstcode": dstcode})
    response = Response(reply.status_code, tuple(reply.headers.items()), reply.content)
    return response, reply.json()


# --- classic adapter: login and session ----------------------------------------------------------


def test_a_wrong_password_is_an_auth_error(base: str) -> None:
    client, _ = portal_client(base, password="not-the-password")
    with client, pytest.raises(AuthError, match="wrong username or password"):
        client.dossiers.lookup(CODE)


def test_a_login_with_another_dstcode_is_refused(base: str) -> None:
    client, _ = portal_client(base, dstcode="DST-OTHER")
    with client, pytest.raises(AuthError, match="dstcode"):
        client.catalogue.procedures()


def test_a_lapsed_session_is_renewed_once_and_the_call_succeeds(
    base: str, state: SandboxState
) -> None:
    client, session = portal_client(base)
    with client:
        client.dossiers.sync([registered(code_of(1))])
        assert session.logins == 1
        clock_of(state).advance(3601)  # PortalUser.session_lifetime is 3600
        found = client.dossiers.lookup(code_of(1))
    assert session.logins == 2
    assert [d.code for d in found.result] == [code_of(1)]


def test_the_fault_knob_shortens_sessions(base: str, state: SandboxState) -> None:
    state.faults.token_lifetime = 10
    client, session = portal_client(base)
    with client:
        client.catalogue.procedures()
        clock_of(state).advance(11)
        client.catalogue.procedures()
    assert session.logins == 2


def test_session_refusals_are_recognised_by_lgsp_and_others_are_not(base: str) -> None:
    checker = PortalSession(f"{base}/portal/auth", "tich-hop", "x", DSTCODE)
    body = {"session": "never-issued", "madonvi": UNIT, "service": "TraCuuHoSo", "mahoso": CODE}
    response, answer = raw_call(base, "/portal/integration", body)
    assert answer["error_code"] == ClassicCode.SESSION
    assert "session" in answer["message"]
    assert checker.lapsed(response)

    missing = {k: v for k, v in body.items() if k != "session"}
    response, answer = raw_call(base, "/portal/integration", missing)
    assert answer["error_code"] == ClassicCode.SESSION
    assert checker.lapsed(response)

    body["session"] = login(base)
    response, answer = raw_call(base, "/portal/integration", body, dstcode="DST-OTHER")
    assert answer["error_code"] == ClassicCode.NOT_ALLOWED
    assert "dstcode" in answer["message"]
    assert not checker.lapsed(response)

    response, answer = raw_call(base, "/portal/integration", {**body, "madonvi": "000.00.00.G22"})
    assert answer["error_code"] == ClassicCode.NOT_ALLOWED
    assert not checker.lapsed(response)

    response, answer = raw_call(base, "/portal/integration", {**body, "service": "XoaHoSo"})
    assert answer["error_code"] == ClassicCode.UNKNOWN_SERVICE
    assert "XoaHoSo" in answer["message"]
    assert not checker.lapsed(response)

    _, answer = raw_call(base, "/portal/share", body)  # TraCuuHoSo is an integration service
    assert answer["error_code"] == ClassicCode.UNKNOWN_SERVICE
    assert "integration endpoint" in answer["message"]

    reply = httpx.post(f"{base}/portal/integration", content=b"{not json", headers={})
    assert reply.json()["error_code"] == ClassicCode.BAD_REQUEST


# --- classic adapter: DongBoHoSoMC ---------------------------------------------------------------


def test_a_batch_is_synced_and_a_resend_changes_nothing(base: str, state: SandboxState) -> None:
    batch = [registered(code_of(n)) for n in (1, 2, 3)]
    client, _ = portal_client(base)
    with client:
        first = client.dossiers.sync(batch)
        again = client.dossiers.sync(batch)  # a resend after a lost answer: harmless
        found = client.dossiers.lookup(code_of(2))
    assert first["error_code"] == 0
    assert [r["message"] for r in first["result"]] == ["created"] * 3
    assert [r["message"] for r in again["result"]] == ["unchanged"] * 3
    assert found.succeeded
    assert found.result[0].status == DossierStatus.REGISTERED
    assert found.result[0].owner_name == batch[1].owner_name
    assert [h.status for h in portal_history(state, code_of(1))] == [1]


def test_a_sync_whose_answer_was_lost_can_be_sent_again(base: str, state: SandboxState) -> None:
    batch = [registered(code_of(n)) for n in (1, 2)]
    client, _ = portal_client(base, retry=RetryPolicy(max_attempts=1))
    with client:
        client.catalogue.procedures()  # logged in before the faults start
        state.faults.update(drop_rate=1.0)
        with pytest.raises(TransportError):
            client.dossiers.sync(batch)  # stored, but the answer never came
        state.faults.reset()
        again = client.dossiers.sync(batch)
    assert state.faults.drops == 1
    assert [r["message"] for r in again["result"]] == ["unchanged"] * 2


def test_is_updating_must_agree_with_what_the_portal_holds(base: str) -> None:
    client, _ = portal_client(base)
    with client:
        with pytest.raises(RemoteServiceError, match="never synced") as unknown:
            client.dossiers.sync([registered(code_of(7))], updating=True)
        client.dossiers.sync([registered(code_of(7))])
        changed = registered(code_of(7), summary="Trích yếu đã sửa")
        with pytest.raises(RemoteServiceError, match="isUpdating True") as known:
            client.dossiers.sync([changed], updating=False)
        updated = client.dossiers.sync([changed], updating=True)
        found = client.dossiers.lookup(code_of(7))
    assert unknown.value.code == known.value.code == str(int(ClassicCode.CONFLICT))
    assert updated["result"][0]["message"] == "updated"
    assert found.result[0].summary == "Trích yếu đã sửa"


def test_a_batch_takes_the_valid_items_and_names_the_refused_ones(
    base: str, state: SandboxState
) -> None:
    good = registered(code_of(1))
    bad = registered(code_of(2), procedure_code=None)  # MaTTHC is required
    client, _ = portal_client(base, check=None)  # let the sandbox see the bad item
    with client, pytest.raises(RemoteServiceError) as refused:
        client.dossiers.sync([good, bad])
    assert refused.value.code == str(int(ClassicCode.INVALID))
    assert "1 of 2 dossiers refused" in str(refused.value)
    assert "dossier.required" in str(refused.value)
    assert portal_dossier(state, code_of(1)) is not None
    assert portal_dossier(state, code_of(2)) is None


def test_the_strict_profile_refuses_what_the_lenient_one_takes() -> None:
    item = registered(code_of(1), summary=None)  # recommended: an error only when strict
    for profile, accepted in (("lenient", True), ("strict", False)):
        state = open_state(profile)
        try:
            with serving(state) as base:
                client, _ = portal_client(base, check=None)
                with client:
                    if accepted:
                        client.dossiers.sync([item])
                    else:
                        with pytest.raises(RemoteServiceError, match=r"dossier\.recommended"):
                            client.dossiers.sync([item])
            assert (portal_dossier(state, code_of(1)) is not None) is accepted
        finally:
            state.store.close()


# --- classic adapter: CapNhatTienDoHoSoMC, TraCuuHoSo -------------------------------------------


def test_a_dossier_walks_1_2_4_9_10_and_cannot_go_back(base: str, state: SandboxState) -> None:
    code = code_of(9)
    client, _ = portal_client(base)
    with client:
        client.dossiers.sync([registered(code)])
        for status in (2, 4, 9, 10):
            answer = client.dossiers.update_progress([progress_item(code=code, status=status)])
            assert answer["error_code"] == 0
        with pytest.raises(RemoteServiceError, match=r"dossier\.transition") as refused:
            client.dossiers.update_progress([progress_item(code=code, status=4)])
        found = client.dossiers.lookup(code)
    assert refused.value.code == str(int(ClassicCode.TRANSITION))
    assert "10 (Đã trả kết quả) cannot be followed by 4" in str(refused.value)
    assert found.result[0].status == DossierStatus.RETURNED
    steps = portal_history(state, code)
    assert [h.status for h in steps] == [1, 2, 4, 9, 10]
    assert steps[-1].service == "CapNhatTienDoHoSoMC"
    assert steps[-1].step is not None
    assert steps[-1].step["NguoiXuLy"] == "Trần Thị Bình"


def test_a_status_change_by_resync_follows_the_table_too(base: str) -> None:
    code = code_of(4)
    client, _ = portal_client(base)
    with client:
        client.dossiers.sync([registered(code)])
        with pytest.raises(RemoteServiceError, match=r"dossier\.transition"):
            # 1 → 4 skips the receipt (2)
            client.dossiers.sync([sync_item(code=code, status=4, returned_at=None)], updating=True)


def test_progress_for_an_unknown_dossier_is_refused(base: str) -> None:
    client, _ = portal_client(base)
    with client, pytest.raises(RemoteServiceError, match="sync it with DongBoHoSoMC") as refused:
        client.dossiers.update_progress([progress_item(code=code_of(5), status=2)])
    assert refused.value.code == str(int(ClassicCode.UNKNOWN_DOSSIER))


def test_looking_up_an_unknown_dossier_finds_nothing(base: str) -> None:
    client, _ = portal_client(base)
    with client:
        found = client.dossiers.lookup(code_of(6))
    assert found.succeeded
    assert found.result == []


# --- classic adapter: catalogue -----------------------------------------------------------------


def test_the_catalogue_serves_the_seeded_procedures_fields_and_organs(base: str) -> None:
    client, _ = portal_client(base)
    with client:
        one = client.catalogue.procedure("1.001193")
        none = client.catalogue.procedure("9.999999")
        procedures = client.catalogue.procedures()
        fields = client.catalogue.fields_of_work()
        organs = client.catalogue.organs()
    assert one is not None
    assert one.name == "Đăng ký khai sinh"
    assert [(f.code, f.name) for f in one.fields_of_work] == [("G09-HT", "Hộ tịch")]
    assert none is None
    assert [p.code for p in procedures] == ["1.001193", "1.005129"]
    assert [(f.code, f.sector_code) for f in fields] == [("G09-HT", "TP"), ("G09-XD", "XD")]
    by_code = {o.code: o for o in organs}
    assert by_code["000.00.01.H41"].name == "Văn phòng UBND tỉnh Nghệ An"
    assert by_code["000.00.01.H41"].level == "2"
    assert len(organs) == 4


# --- token-based portal --------------------------------------------------------------------------


def token_client(base: str, secret: str = "sandbox-dvc") -> tuple[lgsp.Client, ClientCredentials]:
    auth = ClientCredentials(f"{base}/portal-token/token", "dvc-bo", secret)
    codec = TokenPortalCodec(f"{base}/portal-token")
    return lgsp.Client(dossiers=TokenPortalService(codec, [auth])), auth


def test_a_wrong_client_secret_is_an_auth_error(base: str) -> None:
    client, _ = token_client(base, secret="wrong")
    with client, pytest.raises(AuthError, match="refused the client credentials"):
        client.dossiers.next_code("G09.20")


def test_calls_without_a_bearer_token_are_refused(base: str) -> None:
    reply = httpx.get(f"{base}/portal-token/GetNextValue", params={"code": "G09.20"})
    assert reply.status_code == 401
    assert reply.json() == {
        "success": False,
        "error_code": "unauthorized",
        "message": "a bearer token is required",
    }
    reply = httpx.post(
        f"{base}/portal-token/DongBoHoSo", json={}, headers={"Authorization": "Bearer forged"}
    )
    assert reply.status_code == 401
    assert reply.json()["error_code"] == "invalid_token"


def test_next_codes_never_repeat_across_threads_and_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    state = open_state(db=db)
    try:
        with serving(state) as base:
            client, _ = token_client(base)
            with client, ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(lambda _: client.dossiers.next_code("G09.20"), range(200)))
    finally:
        state.store.close()
    assert len(set(codes)) == 200
    assert min(codes) == "G09.20-20260609-0000001"
    assert max(codes) == "G09.20-20260609-0000200"

    state = open_state(db=db)  # the same file: the counter carries on
    try:
        with serving(state) as base:
            client, _ = token_client(base)
            with client:
                after = client.dossiers.next_code("G09.20")
                other = client.dossiers.next_code("000.00.01.H41")
                clock_of(state).advance(86_400)
                tomorrow = client.dossiers.next_code("G09.20")
    finally:
        state.store.close()
    assert after == "G09.20-20260609-0000201"
    assert other == "000.00.01.H41-20260609-0000001"
    assert tomorrow == "G09.20-20260610-0000001"


def test_a_malformed_organ_code_gets_no_number(base: str) -> None:
    client, _ = token_client(base)
    with client:
        with pytest.raises(RemoteServiceError) as refused:
            client.dossiers.next_code("not an organ")
        first = client.dossiers.next_code("G09.20")
    assert refused.value.code == "invalid_code"
    assert refused.value.status_code == 400
    assert first.endswith("-0000001")


def test_a_dossier_is_created_stepped_and_closed(base: str, state: SandboxState) -> None:
    client, _ = token_client(base)
    with client:
        code = client.dossiers.next_code("G09.20")
        created = client.dossiers.create(creation(code=code))
        dossier_id = created["data"]["IdHoSo"]
        step = progress_update(code=code, dossier_id=dossier_id, status=4)
        stepped = client.dossiers.update_steps([step])
        client.dossiers.update_status([status_update(code=code, dossier_id=dossier_id, status=9)])
        closed = client.dossiers.update_status(
            [status_update(code=code, dossier_id=dossier_id, status=10)]
        )
        with pytest.raises(RemoteServiceError, match="cannot be followed by 4") as refused:
            client.dossiers.update_steps([step])
    assert created["success"] is True
    assert created["data"] == {"IdHoSo": dossier_id, "MaHoSo": code, "TrangThai": 2}
    assert stepped["data"] == [{"IdHoSo": dossier_id, "MaHoSo": code, "TrangThai": 4}]
    assert closed["data"][0]["TrangThai"] == 10
    assert refused.value.code == "dossier.transition"
    assert refused.value.status_code == 409
    steps = portal_history(state, code)
    assert [(h.status, h.service) for h in steps] == [
        (2, "DongBoHoSo"),
        (4, "CapNhatTienTrinh"),
        (9, "CapNhatTrangThai"),
        (10, "CapNhatTrangThai"),
    ]
    assert steps[1].step is not None
    assert steps[1].step["NguoiXuLy"] == "Ngô Văn Em"


def test_an_array_of_updates_is_taken_whole_or_not_at_all(base: str, state: SandboxState) -> None:
    client, _ = token_client(base)
    with client:
        code = client.dossiers.next_code("G09.20")
        client.dossiers.create(creation(code=code))
        with pytest.raises(RemoteServiceError, match=r"\[1\]") as refused:
            client.dossiers.update_status(
                [status_update(code=code, dossier_id=None, status=s) for s in (4, 1)]
            )
    assert refused.value.code == "dossier.transition"
    stored = portal_dossier(state, code)
    assert stored is not None
    assert stored.status == 2  # the 4 of the first item was rolled back with the array


def test_updates_for_unknown_dossiers_or_ids_are_refused(base: str) -> None:
    client, _ = token_client(base)
    with client:
        with pytest.raises(RemoteServiceError) as unknown:
            client.dossiers.update_status([status_update(code="G09.20-20260609-0000077")])
        code = client.dossiers.next_code("G09.20")
        client.dossiers.create(creation(code=code))
        with pytest.raises(RemoteServiceError, match="is not the id") as wrong_id:
            client.dossiers.update_status([status_update(code=code, dossier_id="0" * 24)])
    assert (unknown.value.code, unknown.value.status_code) == ("not_found", 404)
    assert (wrong_id.value.code, wrong_id.value.status_code) == ("dossier_id_mismatch", 422)


def test_an_invalid_dossier_is_refused_with_its_findings(base: str) -> None:
    client, _ = token_client(base)
    with client:
        code = client.dossiers.next_code("G09.20")
        with pytest.raises(RemoteServiceError, match=r"dossier\.required") as refused:
            client.dossiers.create(creation(code=code, submitter=None))
    assert (refused.value.code, refused.value.status_code) == ("validation_failed", 422)


def test_strict_creation_needs_an_issued_code_and_refuses_duplicates() -> None:
    state = open_state("strict")
    try:
        with serving(state) as base:
            client, _ = token_client(base)
            with client:
                with pytest.raises(RemoteServiceError, match="not issued") as unissued:
                    client.dossiers.create(creation(code="G09.20-20260609-0000050"))
                code = client.dossiers.next_code("G09.20")
                first = client.dossiers.create(creation(code=code))
                again = client.dossiers.create(creation(code=code))  # a resend
                with pytest.raises(RemoteServiceError, match="exists already") as duplicate:
                    client.dossiers.create(creation(code=code, owner_name="Người khác"))
    finally:
        state.store.close()
    assert (unissued.value.code, unissued.value.status_code) == ("code_not_issued", 409)
    assert again["data"]["IdHoSo"] == first["data"]["IdHoSo"]
    assert again["message"] == "already created"
    assert (duplicate.value.code, duplicate.value.status_code) == ("duplicate", 409)


def test_lenient_creation_takes_a_foreign_code_and_never_issues_it(base: str) -> None:
    client, _ = token_client(base)
    with client:
        client.dossiers.create(creation(code="G09.21-20260609-0000041", receiving_unit="G09.21"))
        following = client.dossiers.next_code("G09.21")
    assert following == "G09.21-20260609-0000042"


def test_an_expired_token_is_replaced_once_and_the_call_succeeds(
    base: str, state: SandboxState
) -> None:
    client, auth = token_client(base)
    with client:
        client.dossiers.next_code("G09.20")
        clock_of(state).advance(3601)  # LgspApplication.token_lifetime is 3600
        code = client.dossiers.next_code("G09.20")
    assert auth.fetches == 2
    assert code.endswith("-0000002")


def test_the_token_answer_has_the_wso2_form(base: str, state: SandboxState) -> None:
    state.faults.token_lifetime = 120
    form = {
        "grant_type": "client_credentials",
        "client_id": "dvc-bo",
        "client_secret": "sandbox-dvc",
    }
    answer = httpx.post(f"{base}/portal-token/token", data=form).json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 120
    assert answer["access_token"]
    basic = httpx.post(
        f"{base}/portal-token/token",
        data={"grant_type": "client_credentials"},
        auth=("dvc-bo", "sandbox-dvc"),
    )
    assert basic.status_code == 200
    wrong_grant = httpx.post(f"{base}/portal-token/token", data={**form, "grant_type": "password"})
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")


def test_the_openapi_page_lists_the_portal_routes(base: str) -> None:
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert "DongBoHoSoMC" in paths["/portal/integration"]["post"]["summary"]
    assert "GetNextValue" in paths["/portal-token/DongBoHoSo"]["post"]["summary"]
    ids = [
        op["operationId"]
        for path, item in paths.items()
        if path.startswith("/portal")
        for op in item.values()
    ]
    assert len(ids) == len(set(ids)) == 8
