"""The classic DVCQG adapter as the sandbox plays it (vn-contracts §4.1).

Every answer is HTTP 200 with ``error_code`` in the body, as the adapter answers; the codes
are :class:`ClassicCode`. A lapsed or unknown session is code 2 with a message that speaks of
the session, which is how lgsp's :class:`~lgsp.transports.auth.PortalSession` knows to log in
again; no other refusal mentions it.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
import sqlite3
from typing import TYPE_CHECKING, Any

from lgsp.dossiers import (
    DossierProgressItem,
    DossierSyncItem,
    validate_dossier,
)
from lgsp.errors import DossierError, ValidationError
from lgsp.sandbox._portal_catalogue import fields_of_work, organs, procedures
from lgsp.sandbox._portal_common import (
    Answer,
    Call,
    Refusal,
    check_move,
    errors_of,
    findings_text,
    read_json,
)
from lgsp.sandbox._portal_store import (
    StoredDossier,
    add_history,
    canonical,
    find_credential,
    get_dossier,
    insert_dossier,
    issue_credential,
    update_dossier,
)

if TYPE_CHECKING:
    from lgsp.sandbox.config import PortalUser
    from lgsp.sandbox.state import SandboxState

__all__ = ["INTEGRATION_SERVICES", "SHARE_SERVICES", "ClassicCode", "ClassicPortal"]


class ClassicCode(enum.IntEnum):
    """``error_code`` values of the sandbox's classic adapter (the real table is not public)."""

    OK = 0
    LOGIN_REFUSED = 1  # unknown user or wrong password
    SESSION = 2  # no session, an unknown one or a lapsed one: log in again
    NOT_ALLOWED = 3  # dstcode or madonvi not those of the login
    UNKNOWN_SERVICE = 4  # no such service (or not on this endpoint)
    BAD_REQUEST = 5  # not JSON, a field missing or unreadable
    INVALID = 6  # a dossier or step breaks the validation rules (rule id given)
    CONFLICT = 7  # isUpdating disagrees with what the portal holds; another unit's dossier
    TRANSITION = 8  # a status change the table forbids (rule dossier.transition)
    UNKNOWN_DOSSIER = 9  # a progress report for a dossier never synced


INTEGRATION_SERVICES = ("DongBoHoSoMC", "CapNhatTienDoHoSoMC", "TraCuuHoSo")
SHARE_SERVICES = ("LayThuTuc", "LayDanhSachTTHC", "LayDanhMucCoQuan", "LayDanhMucLinhVuc")
_API = "classic"


def _refused(code: ClassicCode, message: str) -> Answer:
    return Answer({"error_code": int(code), "message": message})


def _flag(value: Any) -> bool | None:
    """isUpdating as sent ("True"/"False", a JSON boolean, 1/0); None when absent."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise Refusal(ClassicCode.BAD_REQUEST, f"isUpdating {value!r} is neither True nor False")


@dataclasses.dataclass(frozen=True, slots=True)
class _Item:
    """An item of ``data`` that passed validation: its code, status and normalised body."""

    index: int
    code: str
    status: int
    body: dict[str, Any]


class ClassicPortal:
    """Handlers of ``/portal/auth``, ``/portal/integration`` and ``/portal/share``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # -- login ---------------------------------------------------------------------------------

    def login(self, call: Call) -> Answer:
        try:
            data = read_json(call.body)
        except Refusal as exc:
            return _refused(ClassicCode.BAD_REQUEST, exc.message)
        username = data.get("username") if isinstance(data, dict) else None
        password = data.get("password") if isinstance(data, dict) else None
        if not isinstance(username, str) or not isinstance(password, str):
            return _refused(ClassicCode.BAD_REQUEST, 'the body must be {"username", "password"}')
        user = next((u for u in self.state.config.portal_users if u.username == username), None)
        if user is None or not secrets.compare_digest(password.encode(), user.password.encode()):
            return _refused(ClassicCode.LOGIN_REFUSED, "wrong username or password")
        dstcode = call.headers.get("dstcode")
        if dstcode != user.dstcode:
            return _refused(
                ClassicCode.NOT_ALLOWED,
                f"the dstcode header {dstcode!r} is not the one registered for {username!r}",
            )
        now = self.state.clock()
        seconds = self.state.token_lifetime(user.session_lifetime)
        with self.state.store.transaction() as conn:
            session = issue_credential(conn, "session", username, now, seconds)
        return Answer({"error_code": 0, "message": "Thành công", "session": session})

    # -- calls ---------------------------------------------------------------------------------

    def integration(self, call: Call) -> Answer:
        return self._call(call, INTEGRATION_SERVICES, "integration")

    def share(self, call: Call) -> Answer:
        return self._call(call, SHARE_SERVICES, "share")

    def _call(self, call: Call, served: tuple[str, ...], endpoint: str) -> Answer:
        try:
            return self._dispatch(call, served, endpoint)
        except Refusal as exc:
            code = exc.code if isinstance(exc.code, ClassicCode) else ClassicCode.BAD_REQUEST
            return _refused(code, exc.message)

    def _dispatch(self, call: Call, served: tuple[str, ...], endpoint: str) -> Answer:
        data = read_json(call.body)
        if not isinstance(data, dict):
            raise Refusal(ClassicCode.BAD_REQUEST, "the body must be a JSON object")
        user = self._user(call, data)
        service = data.get("service")
        if service not in served:
            raise Refusal(ClassicCode.UNKNOWN_SERVICE, _unknown_service(service, endpoint))
        handler = getattr(self, f"_{service}")
        answer: Answer = handler(user, data)
        return answer

    def _user(self, call: Call, data: dict[str, Any]) -> PortalUser:
        """The login behind the body's session; its dstcode and madonvi checked."""
        session = data.get("session")
        if not isinstance(session, str) or not session:
            raise Refusal(ClassicCode.SESSION, "no session in the body: log in first")
        with self.state.store.reading() as conn:
            found = find_credential(conn, "session", session)
        if found is None:
            raise Refusal(ClassicCode.SESSION, "unknown session: log in again")
        if found.expires_at <= self.state.clock():
            raise Refusal(ClassicCode.SESSION, "the session has expired: log in again")
        user = next((u for u in self.state.config.portal_users if u.username == found.owner), None)
        if user is None:
            raise Refusal(ClassicCode.SESSION, "the session's user is gone: log in again")
        dstcode = call.headers.get("dstcode")
        if dstcode != user.dstcode:
            raise Refusal(
                ClassicCode.NOT_ALLOWED,
                f"the dstcode header {dstcode!r} is not the one registered for {user.username!r}",
            )
        unit = data.get("madonvi")
        if unit != user.madonvi:
            raise Refusal(
                ClassicCode.NOT_ALLOWED,
                f"madonvi {unit!r} is not the unit of {user.username!r} ({user.madonvi})",
            )
        return user

    # -- DongBoHoSoMC --------------------------------------------------------------------------

    def _DongBoHoSoMC(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        raw_items = _data_list(data, "dossiers")
        updating = _flag(data.get("isUpdating"))
        checked = [self._read(i, raw, "sync-item") for i, raw in enumerate(raw_items)]
        now = self.state.clock()
        results: list[dict[str, Any]] = []
        with self.state.store.transaction() as conn:
            for i, item in enumerate(checked):
                if isinstance(item, Refusal):
                    results.append(_item_result(i, _code_of(raw_items[i]), item))
                    continue
                try:
                    outcome = self._sync_one(conn, user, item, updating, now)
                except Refusal as exc:
                    results.append(_item_result(i, item.code, exc))
                else:
                    results.append(_item_ok(i, item.code, outcome))
        return _batch(results, "dossiers")

    def _sync_one(
        self,
        conn: sqlite3.Connection,
        user: PortalUser,
        item: _Item,
        updating: bool | None,
        now: float,
    ) -> str:
        """Store one dossier; what happened (created, updated, unchanged) or a Refusal.

        isUpdating False is "a new dossier": a known code is refused unless the item is the
        very one stored (a resend after a lost answer is harmless); isUpdating True is "a
        change": an unknown code is refused; with no isUpdating, either is accepted.
        """
        existing = get_dossier(conn, item.code)
        if existing is None:
            if updating is True:
                raise Refusal(
                    ClassicCode.CONFLICT,
                    f"{item.code} was never synced: send it with isUpdating False",
                )
            stored = StoredDossier(
                item.code, _API, user.madonvi, None, item.status, item.body, now, now
            )
            insert_dossier(conn, stored)
            add_history(conn, item.code, item.status, "DongBoHoSoMC", now=now)
            return "created"
        _owned(existing, user)
        if canonical(existing.body) == canonical(item.body):
            return "unchanged"
        if updating is False:
            raise Refusal(
                ClassicCode.CONFLICT,
                f"{item.code} was synced before: send isUpdating True to change it",
            )
        _move(self.state, existing, item.status)
        update_dossier(conn, item.code, status=item.status, body=item.body, now=now)
        if item.status != existing.status:
            add_history(conn, item.code, item.status, "DongBoHoSoMC", now=now)
        return "updated"

    # -- CapNhatTienDoHoSoMC -------------------------------------------------------------------

    def _CapNhatTienDoHoSoMC(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        raw_items = _data_list(data, "steps")
        checked = [self._read(i, raw, "progress-item") for i, raw in enumerate(raw_items)]
        now = self.state.clock()
        results: list[dict[str, Any]] = []
        with self.state.store.transaction() as conn:
            for i, item in enumerate(checked):
                if isinstance(item, Refusal):
                    results.append(_item_result(i, _code_of(raw_items[i]), item))
                    continue
                try:
                    self._progress_one(conn, user, item, now)
                except Refusal as exc:
                    results.append(_item_result(i, item.code, exc))
                else:
                    results.append(_item_ok(i, item.code, "recorded"))
        return _batch(results, "steps")

    def _progress_one(
        self, conn: sqlite3.Connection, user: PortalUser, item: _Item, now: float
    ) -> None:
        existing = get_dossier(conn, item.code)
        if existing is None or existing.api != _API:
            raise Refusal(
                ClassicCode.UNKNOWN_DOSSIER,
                f"{item.code} is unknown: sync it with DongBoHoSoMC first",
            )
        _owned(existing, user)
        _move(self.state, existing, item.status)
        update_dossier(conn, item.code, status=item.status, now=now)
        add_history(conn, item.code, item.status, "CapNhatTienDoHoSoMC", now=now, step=item.body)

    # -- TraCuuHoSo ----------------------------------------------------------------------------

    def _TraCuuHoSo(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        code = data.get("mahoso")
        if not isinstance(code, str) or not code.strip():
            raise Refusal(ClassicCode.BAD_REQUEST, "mahoso (the dossier code) is missing")
        with self.state.store.reading() as conn:
            found = get_dossier(conn, code.strip())
        if found is None or found.api != _API:
            return Answer({"error_code": 0, "message": f"no dossier {code}", "result": []})
        item = dict(found.body)
        item["TrangThaiHoSo"] = str(found.status)  # the status now, whatever set it
        return _listed([item])

    # -- catalogue (share endpoint) ------------------------------------------------------------

    def _LayThuTuc(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        code = data.get("maTTHC")
        if not isinstance(code, str) or not code.strip():
            raise Refusal(ClassicCode.BAD_REQUEST, "maTTHC (the procedure code) is missing")
        found = [p for p in procedures(self.state.config) if p["MATTHC"] == code.strip()]
        return _listed(found)

    def _LayDanhSachTTHC(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        return _listed(procedures(self.state.config))

    def _LayDanhMucCoQuan(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        return _listed(organs(self.state.config))

    def _LayDanhMucLinhVuc(self, user: PortalUser, data: dict[str, Any]) -> Answer:  # noqa: N802
        return _listed(fields_of_work(self.state.config))

    # -- reading items -------------------------------------------------------------------------

    def _read(self, index: int, raw: Any, kind: str) -> _Item | Refusal:
        """An item validated under the sandbox's profile and read, or why it is refused."""
        findings = validate_dossier(
            raw, target="classic", profile=self.state.config.profile, kind=kind
        )
        errors = errors_of(findings)
        if errors:
            return Refusal(ClassicCode.INVALID, findings_text(errors), rule=errors[0].rule)
        model: DossierSyncItem | DossierProgressItem
        try:
            if kind == "sync-item":
                model = DossierSyncItem.from_wire(raw, target="classic")
            else:
                model = DossierProgressItem.from_wire(raw, target="classic")
        except ValidationError as exc:
            errors = errors_of(exc.findings)
            return Refusal(ClassicCode.INVALID, findings_text(errors), rule=errors[0].rule)
        code = (model.code or "").strip()
        if not code:
            return Refusal(ClassicCode.INVALID, "MaHoSo is missing", rule="dossier.required")
        status = model.status
        if status is None or not 1 <= int(status) <= 10:
            where = "TrangThaiHoSo" if kind == "sync-item" else "TrangThai"
            return Refusal(ClassicCode.INVALID, f"{where} is not 1-10", rule="dossier.status")
        return _Item(index, code, int(status), model.to_wire("classic"))


def _listed(records: list[dict[str, Any]]) -> Answer:
    return Answer({"error_code": 0, "message": "Thành công", "result": records})


def _unknown_service(service: Any, endpoint: str) -> str:
    if service in INTEGRATION_SERVICES or service in SHARE_SERVICES:
        other = "share" if endpoint == "integration" else "integration"
        return f"service {service} is served by the {other} endpoint, not the {endpoint} one"
    served = INTEGRATION_SERVICES if endpoint == "integration" else SHARE_SERVICES
    return f"unknown service {service!r}; the {endpoint} endpoint serves {', '.join(served)}"


def _data_list(data: dict[str, Any], what: str) -> list[Any]:
    items = data.get("data")
    if not isinstance(items, list) or not items:
        raise Refusal(ClassicCode.BAD_REQUEST, f"data must be a non-empty array of {what}")
    return items


def _code_of(raw: Any) -> str | None:
    code = raw.get("MaHoSo") if isinstance(raw, dict) else None
    return code if isinstance(code, str) else None


def _owned(existing: StoredDossier, user: PortalUser) -> None:
    if existing.api != _API or existing.unit != user.madonvi:
        raise Refusal(
            ClassicCode.CONFLICT, f"{existing.code} belongs to another unit ({existing.unit})"
        )


def _move(state: SandboxState, existing: StoredDossier, status: int) -> None:
    """Refuse a status change the default table forbids, naming the rule."""
    try:
        check_move(state, existing.status, status, existing.code)
    except DossierError as exc:
        raise Refusal(ClassicCode.TRANSITION, str(exc), rule=exc.rule) from None


def _item_ok(index: int, code: str, outcome: str) -> dict[str, Any]:
    return {"index": index, "MaHoSo": code, "error_code": 0, "message": outcome}


def _item_result(index: int, code: str | None, refusal: Refusal) -> dict[str, Any]:
    result: dict[str, Any] = {
        "index": index,
        "MaHoSo": code,
        "error_code": int(refusal.code) if isinstance(refusal.code, int) else 5,
        "message": refusal.message,
    }
    if refusal.rule:
        result["rule"] = refusal.rule
    return result


def _batch(results: list[dict[str, Any]], what: str) -> Answer:
    """The answer to a batch: error_code 0 when every item was taken, else the first refused
    item's code and a message naming the refused items (the others were taken)."""
    refused = [r for r in results if r["error_code"] != 0]
    if not refused:
        message = f"{len(results)} {what} accepted"
        return Answer({"error_code": 0, "message": message, "result": results})
    told = "; ".join(
        f"[{r['index']}] {r['MaHoSo'] or '?'}: "
        + (f"{r['rule']}: " if r.get("rule") else "")
        + r["message"]
        for r in refused[:3]
    )
    more = f"; and {len(refused) - 3} more" if len(refused) > 3 else ""
    message = f"{len(refused)} of {len(results)} {what} refused: {told}{more}"
    return Answer({"error_code": refused[0]["error_code"], "message": message, "result": results})
