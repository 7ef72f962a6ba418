"""The token-based ministry portal as the sandbox plays it (vn-contracts §4.3).

Client credentials at ``POST /portal-token/token`` (a WSO2-style form) give a bearer token;
every other call needs it. Answers are ``{"success": true, …}`` or ``{"success": false,
"error_code", "message"}`` with a 4xx status: 401 for a missing, unknown or expired token (so
that lgsp fetches a new one), 400 for a request it cannot read, 422 for a payload that breaks
the validation rules, 404 for an unknown dossier, 409 for a duplicate or a status change the
table forbids (``error_code`` is then the rule id, ``dossier.transition``). The arrays of
CapNhatTienTrinh and CapNhatTrangThai are taken whole or not at all.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from lgsp.codes import DEFAULT_DOSSIER_PATTERN, is_organ_code
from lgsp.dossiers import (
    DossierCreation,
    ProgressUpdate,
    StatusUpdate,
    validate_dossier,
)
from lgsp.errors import CodeError, DossierError, ValidationError
from lgsp.sandbox._portal_common import (
    Answer,
    Call,
    Refusal,
    check_move,
    errors_of,
    findings_text,
    read_json,
    vietnam_day,
)
from lgsp.sandbox._portal_store import (
    StoredDossier,
    add_history,
    canonical,
    find_credential,
    get_dossier,
    insert_dossier,
    issue_credential,
    last_sequence,
    next_sequence,
    observe_sequence,
    update_dossier,
)
from lgsp.sandbox.faults import Defect

if TYPE_CHECKING:
    from lgsp.sandbox.config import LgspApplication
    from lgsp.sandbox.state import SandboxState

__all__ = ["TokenPortal"]

_API = "token"
_BEARER = {"WWW-Authenticate": 'Bearer realm="portal-token"'}


def _failure(refusal: Refusal) -> Answer:
    payload: dict[str, Any] = {
        "success": False,
        "error_code": refusal.code,
        "message": refusal.message,
    }
    return Answer(payload, refusal.status, _BEARER if refusal.status == 401 else None)


class TokenPortal:
    """Handlers of the ``/portal-token`` routes."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # -- token ---------------------------------------------------------------------------------

    def token(self, call: Call) -> Answer:
        """Client credentials, in the form (``client_id``, ``client_secret``) or HTTP Basic."""
        form = {k: v[0] for k, v in parse_qs(call.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return Answer(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                400,
            )
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = call.headers.get("authorization", "")
        if basic[:6].lower() == "basic ":
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        app = self._client(client_id, secret)
        if app is None:
            return Answer(
                {"error": "invalid_client", "error_description": "client authentication failed"},
                401,
            )
        seconds = self.state.token_lifetime(app.token_lifetime)
        with self.state.store.transaction() as conn:
            value = issue_credential(conn, "token", app.client_id, self.state.clock(), seconds)
        return Answer(
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": int(seconds),
                "scope": "default",
            }
        )

    def _client(self, client_id: str | None, secret: str | None) -> LgspApplication | None:
        if not client_id or secret is None:
            return None
        for app in self.state.config.portal_clients:
            if app.client_id == client_id and secrets.compare_digest(
                app.client_secret.encode(), secret.encode()
            ):
                return app
        return None

    def _bearer(self, call: Call) -> str:
        """The client id behind the call's bearer token, or a 401 Refusal."""
        header = call.headers.get("authorization", "")
        if header[:7].lower() != "bearer " or not header[7:].strip():
            raise Refusal("unauthorized", "a bearer token is required", status=401)
        with self.state.store.reading() as conn:
            found = find_credential(conn, "token", header[7:].strip())
        if found is None:
            return self._refused(Refusal("invalid_token", "unknown access token", status=401))
        if found.expires_at <= self.state.clock():
            refusal = Refusal("token_expired", "the access token has expired", status=401)
            return self._refused(refusal, found.owner)
        return found.owner

    def _refused(self, refusal: Refusal, owner: str = "(any token)") -> str:
        """Raise ``refusal`` for a bad token, unless the sandbox plays ``accept-any-token``."""
        if self.state.faults.plays(Defect.ACCEPT_ANY_TOKEN):
            return owner
        raise refusal

    def guarded(self, handler: Callable[[str, Call], Answer]) -> Callable[[Call], Answer]:
        """``handler`` behind the bearer check, its refusals turned into answers."""

        def run(call: Call) -> Answer:
            try:
                return handler(self._bearer(call), call)
            except Refusal as exc:
                return _failure(exc)

        return run

    # -- GetNextValue --------------------------------------------------------------------------

    def next_value(self, client: str, call: Call) -> Answer:
        """The next dossier code of an organ: ``<code>-<yyyyMMdd>-<7 digits>``, counted per
        organ and day in the store, so that no code is ever issued twice."""
        unit = call.query.get("code", "")
        if not unit or not is_organ_code(unit) or unit != unit.strip():
            raise Refusal("invalid_code", f"code {unit!r} is not an organ code (e.g. G09.20)")
        day = vietnam_day(self.state.clock())
        try:
            with self.state.store.transaction() as conn:
                sequence = next_sequence(conn, unit, day.strftime("%Y%m%d"))
                value = DEFAULT_DOSSIER_PATTERN.format(unit, day, sequence)  # rolls back if not
        except CodeError as exc:
            raise Refusal("invalid_code", str(exc), status=409) from None
        return Answer({"success": True, "message": "Thành công", "data": value})

    # -- DongBoHoSo ----------------------------------------------------------------------------

    def create(self, client: str, call: Call) -> Answer:
        """Create a dossier whose code GetNextValue issued (the strict profile insists; the
        lenient one takes any code and makes sure it is never issued)."""
        raw = read_json(call.body)
        if not isinstance(raw, dict):
            raise Refusal("invalid_request", "the body must be a JSON object (a dossier)")
        _validate(self.state, raw, "creation", "")
        try:
            model = DossierCreation.from_wire(raw, target=_API)
        except ValidationError as exc:
            raise _invalid(errors_of(exc.findings), "") from None
        code = (model.code or "").strip()
        if not code:
            raise Refusal("validation_failed", "MaHoSo is missing", rule="dossier.required")
        body = model.to_wire(_API)
        status = 2 if model.received_at is not None else 1
        now = self.state.clock()
        with self.state.store.transaction() as conn:
            existing = get_dossier(conn, code)
            if existing is not None:
                if _same(existing, client, body):
                    return _created(existing, "already created")  # a resend
                raise Refusal("duplicate", f"dossier {code} exists already", status=409)
            self._check_code(conn, code)
            dossier_id = secrets.token_hex(12)
            stored = StoredDossier(code, _API, client, dossier_id, status, body, now, now)
            insert_dossier(conn, stored)
            add_history(conn, code, status, "DongBoHoSo", now=now)
        return _created(stored, "created")

    def _check_code(self, conn: sqlite3.Connection, code: str) -> None:
        try:
            parsed = DEFAULT_DOSSIER_PATTERN.parse(code)
        except CodeError:
            return  # the dossier.code rule decided already (a warning under lenient)
        day = parsed.date.strftime("%Y%m%d")
        if last_sequence(conn, parsed.unit, day) >= parsed.sequence:
            return
        if self.state.config.profile == "strict":
            raise Refusal(
                "code_not_issued",
                f"MaHoSo {code} was not issued by GetNextValue: ask for a code first",
                status=409,
            )
        observe_sequence(conn, parsed.unit, day, parsed.sequence)

    # -- CapNhatTienTrinh, CapNhatTrangThai ----------------------------------------------------

    def steps(self, client: str, call: Call) -> Answer:
        return self._updates(client, call, ProgressUpdate, "progress-update", "CapNhatTienTrinh")

    def statuses(self, client: str, call: Call) -> Answer:
        return self._updates(client, call, StatusUpdate, "status-update", "CapNhatTrangThai")

    def _updates(
        self,
        client: str,
        call: Call,
        model: type[ProgressUpdate] | type[StatusUpdate],
        kind: str,
        service: str,
    ) -> Answer:
        raw = read_json(call.body)
        if not isinstance(raw, list) or not raw:
            raise Refusal("invalid_request", f"the body of {service} must be a non-empty array")
        items: list[ProgressUpdate | StatusUpdate] = []
        for i, entry in enumerate(raw):
            _validate(self.state, entry, kind, f"[{i}]")
            try:
                items.append(model.from_wire(entry, target=_API))
            except ValidationError as exc:
                raise _invalid(errors_of(exc.findings), f"[{i}]") from None
        now = self.state.clock()
        done: list[dict[str, Any]] = []
        with self.state.store.transaction() as conn:  # a refusal rolls the whole array back
            for i, item in enumerate(items):
                stored = self._dossier(conn, client, item, i)
                status = int(item.status) if item.status is not None else stored.status
                try:
                    check_move(self.state, stored.status, status, stored.code)
                except DossierError as exc:
                    raise Refusal(exc.rule, f"[{i}] {exc}", rule=exc.rule, status=409) from None
                update_dossier(conn, stored.code, status=status, now=now)
                step = item.to_wire(_API) if isinstance(item, ProgressUpdate) else None
                add_history(conn, stored.code, status, service, now=now, step=step)
                done.append(
                    {"IdHoSo": stored.dossier_id, "MaHoSo": stored.code, "TrangThai": status}
                )
        message = f"{len(done)} update(s) recorded"
        return Answer({"success": True, "message": message, "data": done})

    def _dossier(
        self, conn: sqlite3.Connection, client: str, item: ProgressUpdate | StatusUpdate, i: int
    ) -> StoredDossier:
        code = (item.code or "").strip()
        stored = get_dossier(conn, code) if code else None
        if stored is None or stored.api != _API:
            raise Refusal("not_found", f"[{i}] no dossier {code or '(no MaHoSo)'}", status=404)
        if stored.unit != client:
            raise Refusal(
                "forbidden", f"[{i}] dossier {code} was created by another client", status=403
            )
        if item.dossier_id is not None and item.dossier_id != stored.dossier_id:
            raise Refusal(
                "dossier_id_mismatch",
                f"[{i}] IdHoSo {item.dossier_id} is not the id of dossier {code} "
                f"({stored.dossier_id})",
                status=422,
            )
        return stored


def _same(existing: StoredDossier, client: str, body: dict[str, Any]) -> bool:
    return (
        existing.api == _API
        and existing.unit == client
        and canonical(existing.body) == canonical(body)
    )


def _created(stored: StoredDossier, message: str) -> Answer:
    data = {"IdHoSo": stored.dossier_id, "MaHoSo": stored.code, "TrangThai": stored.status}
    return Answer({"success": True, "message": message, "data": data})


def _validate(state: SandboxState, raw: Any, kind: str, where: str) -> None:
    findings = validate_dossier(raw, target=_API, profile=state.config.profile, kind=kind)
    errors = errors_of(findings)
    if errors:
        raise _invalid(errors, where)


def _invalid(errors: list[Any], where: str) -> Refusal:
    prefix = f"{where} " if where else ""
    return Refusal(
        "validation_failed",
        prefix + findings_text(errors),
        rule=errors[0].rule if errors else None,
        status=422,
    )
