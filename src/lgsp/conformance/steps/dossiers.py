"""Actions: dossier sync with the national portal — the classic DVCQG adapter (DongBoHoSoMC,
CapNhatTienDoHoSoMC, TraCuuHoSo, the catalogue; vn-contracts §4.1) and the token-based ministry
portal (GetNextValue, create, CapNhatTienTrinh, CapNhatTrangThai; §4.3).

Cases: ``cases/dossiers.toml``. Status moves follow lgsp's table
(:data:`lgsp.dossiers.DEFAULT_TRANSITIONS`): a dossier is brought to a status along the
shortest legal path, then asked to move; the platform must take every legal move and refuse
every illegal one, in its contract's envelope.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from collections import deque
from typing import Any

from lgsp.clients import Client
from lgsp.codes import DEFAULT_DOSSIER_PATTERN
from lgsp.conformance.runner import Context, step
from lgsp.conformance.steps._raw import (
    Seen,
    check_answer,
    exchanges,
    fresh_credential,
    profile_of,
    send,
)
from lgsp.conformance.suite import Step
from lgsp.dossiers import (
    DEFAULT_TRANSITIONS,
    VIETNAM_TZ,
    ApplicantKind,
    DossierComponent,
    DossierCreation,
    DossierStatus,
    DossierSyncItem,
    ProgressUpdate,
    StatusUpdate,
    Submitter,
    SubmitterDetails,
    TransitionTable,
)
from lgsp.errors import CodeError, RemoteServiceError
from lgsp.testing import samples

__all__ = ["legal_path"]


def legal_path(status: int, table: TransitionTable = DEFAULT_TRANSITIONS) -> list[int]:
    """The shortest legal history that ends in ``status``, starting where a new dossier can
    (registered 1 or received 2): ``legal_path(10) == [2, 10]``, ``legal_path(3) == [1, 3]``."""
    starts = [s for s in (1, 2) if s in table.initial]
    queue = deque([s] for s in starts)
    seen = set(starts)
    while queue:
        path = queue.popleft()
        if path[-1] == status:
            return path
        for following in sorted(table.successors(path[-1])):
            if following not in seen:
                seen.add(following)
                queue.append([*path, int(following)])
    raise ValueError(f"status {status} cannot be reached from 1 or 2 in table {table.name!r}")


@dataclasses.dataclass(slots=True)
class _Dossier:
    """A dossier a case made: its code, the token portal's id, its status, what was synced."""

    code: str
    status: int
    dossier_id: str | None = None
    item: DossierSyncItem | None = None
    party: str = "sender"
    #: The case that made it (shown when another case reuses it).
    made_by: str = ""


def _api(ctx: Context) -> str:
    profile = ctx.target.profile
    if profile == "portal":
        return "classic"
    if profile == "portal-token":
        return "token"
    raise ValueError(f"the {profile} profile does not sync dossiers")


def _now() -> dt.datetime:
    return dt.datetime.now(VIETNAM_TZ).replace(microsecond=0)


def _saved(ctx: Context, s: Step) -> _Dossier:
    name = str(s.params.get("dossier", "dossier"))
    found = ctx.saved.get(name)
    if not isinstance(found, _Dossier):
        raise ValueError(f"no earlier step saved a dossier as {name!r}")  # noqa: TRY004
    return found


def _creation(code: str, unit: str, *, received: bool) -> DossierCreation:
    """A token-portal dossier (§4.3) of a citizen's birth registration at ``unit``."""
    now = _now()
    citizen = SubmitterDetails(
        name="Nguyễn Văn An",
        id_number="040099012345",
        phone="0912000001",
        province_code="40",
        commune_code="16681",
        address="1 Lê Lợi",
    )
    return DossierCreation(
        code=code,
        procedure_code="1.001193",
        public_service_code="DVC-1.001193",
        owner_name="Nguyễn Văn An",
        applicant_kind=ApplicantKind.CITIZEN,
        receiving_unit=unit,
        submitted_at=now,
        received_at=now if received else None,
        components=[
            DossierComponent(
                component_code="000.00.00.G09-KQ002269", name="Tờ khai", quantity=1, copy_kind=0
            )
        ],
        submitter=Submitter(
            applicant_kind=ApplicantKind.CITIZEN, subject_id="cong-dan-1", details=citizen
        ),
    )


def _answered_status(answer: Any) -> int | None:
    """The status a token-portal answer reports (``data`` an object or a list), if any."""
    data = answer.get("data") if isinstance(answer, dict) else None
    item = data[-1] if isinstance(data, list) and data else data
    value = item.get("TrangThai") if isinstance(item, dict) else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _move(ctx: Context, client: Client, dossier: _Dossier, to: int, via: str) -> int | None:
    """Ask the platform to move ``dossier`` to ``to``; the status its answer reports.
    Raises RemoteServiceError when the platform refuses."""
    if via == "progress" and _api(ctx) == "classic":
        client.dossiers.update_progress(
            [samples.dossier_step(dossier.code, DossierStatus(to), at=_now())]
        )
        return None
    if via == "sync" and dossier.item is not None:
        item = dossier.item.model_copy(update={"status": DossierStatus(to)})
        client.dossiers.sync([item], updating=True)
        dossier.item = item
        return None
    if via == "progress":
        now = _now()
        update = ProgressUpdate(
            dossier_id=dossier.dossier_id,
            code=dossier.code,
            handler="Trần Thị Bình",
            handled_at=now,
            department="Bộ phận một cửa",
            content=f"Chuyển trạng thái {to}",
            status=to,
            started_at=now,
            due_at=now + dt.timedelta(days=3),
        )
        return _answered_status(client.dossiers.update_steps([update]))
    if via == "status":
        update_ = StatusUpdate(dossier_id=dossier.dossier_id, code=dossier.code, status=to)
        return _answered_status(client.dossiers.update_status([update_]))
    raise ValueError(f"via {via!r} does not apply to the {ctx.target.profile} profile")


def _default_via(ctx: Context) -> str:
    return "progress" if _api(ctx) == "classic" else "status"


def _lookup(client: Client, code: str) -> int | None:
    """The status TraCuuHoSo reports for ``code`` (None: not found)."""
    found = client.dossiers.lookup(code)
    matches = [i for i in found.result if (i.code or "").strip() == code]
    if not matches or matches[0].status is None:
        return None
    return int(matches[0].status)


def _reported(ctx: Context, client: Client, dossier: _Dossier, answered: int | None) -> int | None:
    """The status the platform reports now: TraCuuHoSo, or the token portal's last answer."""
    return _lookup(client, dossier.code) if _api(ctx) == "classic" else answered


# --- making and moving dossiers -----------------------------------------------------------


#: Dossiers each run made, for ``reuse``: a dossier is taken again only while its status is
#: the one wanted (a move the platform took, or a lookup that saw another status, changes it).
_POOL: weakref.WeakKeyDictionary[object, list[_Dossier]] = weakref.WeakKeyDictionary()


def _make(ctx: Context, s: Step, path: list[int]) -> tuple[_Dossier, int | None]:
    """A new dossier walked along ``path``; the status the last answer reported."""
    client = ctx.client(s.party)
    unit = ctx.party(s.party).organ
    answered: int | None = None
    if _api(ctx) == "classic":
        used = {d.code for d in _POOL.get(ctx.runner, ())}
        item = samples.dossier(unit=unit, status=DossierStatus(path[0]))
        while item.code in used:  # its 7 digits are random: never twice in one run
            item = samples.dossier(unit=unit, status=DossierStatus(path[0]))
        client.dossiers.sync([item], updating=False)
        dossier = _Dossier(str(item.code), path[0], item=item, party=s.party, made_by=ctx.case.id)
    else:
        code = client.dossiers.next_code(unit)
        created = client.dossiers.create(_creation(code, unit, received=path[0] == 2))
        data = created.get("data") if isinstance(created, dict) else None
        dossier_id = data.get("IdHoSo") if isinstance(data, dict) else None
        dossier = _Dossier(code, path[0], dossier_id, party=s.party, made_by=ctx.case.id)
        answered = _answered_status(created)
    for following in path[1:]:
        answered = _move(ctx, client, dossier, following, _default_via(ctx))
        dossier.status = following
    return dossier, answered


@step("open_dossier", params=("status", "reuse"), expects=("accepted", "status"))
def open_dossier(ctx: Context, s: Step) -> None:
    """A new dossier brought to ``status`` (default 2) along the shortest legal path: synced
    (DongBoHoSoMC) or created (GetNextValue, then create), then moved step by step. Every call
    must be taken; ``status``: the platform then reports the status reached. ``reuse`` takes a
    dossier an earlier case of the run left in that status, when there is one (the illegal
    moves, which must leave it as it was)."""
    target = int(s.params.get("status", 2))
    path = legal_path(target)
    pool = _POOL.setdefault(ctx.runner, [])
    reused = next(
        (d for d in pool if s.params.get("reuse") and d.status == target and d.party == s.party),
        None,
    )
    answered: int | None = None
    if reused is not None:
        dossier = reused
        ctx.note(f"a dossier in status {target} from earlier in the run is reused",
                 f"{dossier.code}, made by {dossier.made_by}")  # fmt: skip
    else:
        taken = f"the platform takes a new dossier in status {path[0]}"
        if len(path) > 1:
            taken += " and its moves " + " → ".join(map(str, path))
        try:
            dossier, answered = _make(ctx, s, path)
        except RemoteServiceError as exc:
            ctx.expect(False, taken, str(exc))
        ctx.note(taken, dossier.code)
        pool.append(dossier)
    ctx.saved[s.save or "dossier"] = dossier
    ctx.facts.setdefault("dossiers", []).append(dossier.code)
    if s.expect.get("status") is not None:
        wanted = int(s.expect["status"]) if s.expect["status"] is not True else target
        reported = _reported(ctx, ctx.client(s.party), dossier, answered)
        ctx.expect(reported == wanted, f"the platform reports status {wanted}", f"{reported}")


@step("move_dossier", params=("dossier", "to", "via"), expects=("accepted", "envelope",
      "unchanged", "status"))  # fmt: skip
def move_dossier(ctx: Context, s: Step) -> None:
    """Move a saved dossier to ``to`` (a status, or a list walked in order) through ``via``:
    ``progress`` (CapNhatTienDoHoSoMC / CapNhatTienTrinh), ``sync`` (DongBoHoSoMC with
    isUpdating, classic) or ``status`` (CapNhatTrangThai, token). Expect ``accepted`` (true:
    each move taken; false: refused, with the contract's ``envelope``, the status
    ``unchanged``), and the ``status`` reported at the end."""
    dossier = _saved(ctx, s)
    client = ctx.client(s.party)
    via = str(s.params.get("via", _default_via(ctx)))
    raw_to: Any = s.params["to"]
    targets = [int(t) for t in (raw_to if isinstance(raw_to, list) else [raw_to])]
    accept = s.expect.get("accepted", True) is not False
    answered: int | None = None
    for to in targets:
        before = dossier.status
        mark = len(ctx.evidence)
        move = f"{before} → {to}"
        try:
            answered = _move(ctx, client, dossier, to, via)
        except RemoteServiceError as exc:
            if accept:
                ctx.expect(False, f"the platform takes the move {move}", str(exc))
            ctx.note(f"the platform refuses the move {move}", str(exc))
            _judge_refusal(ctx, s, exchanges(ctx, mark), dossier)
            continue
        if not accept:
            dossier.status = to  # taken: the dossier is in ``to`` now (never reused as before)
            ctx.expect(False, f"the platform refuses the move {move}", "it was taken")
        ctx.note(f"the platform takes the move {move}")
        dossier.status = to
    if s.expect.get("status") is not None:
        wanted = int(s.expect["status"])
        reported = _reported(ctx, client, dossier, answered)
        ctx.expect(reported == wanted, f"the platform reports status {wanted}", f"{reported}")


def _judge_refusal(ctx: Context, s: Step, seen: list[Any], dossier: _Dossier) -> None:
    # (``status`` here is the dossier's, checked at the end, not the HTTP one)
    check_answer(ctx, s, Seen.of(seen[-1] if seen else None), keys=("envelope",))
    if s.expect.get("unchanged"):
        if _api(ctx) != "classic":
            ctx.facts["unchanged"] = "not observable: the token portal has no lookup"
            return
        now = _lookup(ctx.client(s.party), dossier.code)
        kept = dossier.status
        dossier.status = now if now is not None else -1
        ctx.expect(
            now == kept,
            f"the dossier keeps its status {kept}",
            f"TraCuuHoSo reports {now}",
        )


@step("lookup_dossier", params=("dossier",), expects=("found", "status"))
def lookup_dossier(ctx: Context, s: Step) -> None:
    """TraCuuHoSo finds a saved dossier (``found``) with the ``status`` it was last given."""
    if _api(ctx) != "classic":
        raise ValueError("TraCuuHoSo is a call of the classic adapter")
    dossier = _saved(ctx, s)
    status = _lookup(ctx.client(s.party), dossier.code)
    if s.expect.get("found") is not None:
        found = status is not None
        ctx.expect(found == bool(s.expect["found"]), "TraCuuHoSo finds the dossier", dossier.code)
    if s.expect.get("status") is not None:
        wanted = dossier.status if s.expect["status"] is True else int(s.expect["status"])
        ctx.expect(status == wanted, f"TraCuuHoSo reports status {wanted}", f"reported {status}")


# --- refusals of malformed dossiers -----------------------------------------------------------


@step("send_dossier", params=("remove", "change"), expects=("accepted", "status", "envelope"))
def send_dossier(ctx: Context, s: Step) -> None:
    """Send a dossier as raw JSON — the kit's valid one with wire fields taken out
    (``remove``) or set (``change``) — past the client's own checks: DongBoHoSoMC (classic) or
    the token portal's create. Expect ``accepted``, the HTTP ``status`` and the ``envelope``."""
    party = s.party
    profile = profile_of(ctx, party)
    unit = ctx.party(party).organ
    credential = fresh_credential(ctx, party)
    ctx.expect(credential is not None, "the kit logs in (or gets a token)")
    if _api(ctx) == "classic":
        item = samples.dossier(unit=unit).to_wire("classic")
    else:
        code = ctx.client(party).dossiers.next_code(unit)
        item = _creation(code, unit, received=True).to_wire("token")
    for name in s.params.get("remove", []):
        item.pop(str(name), None)
    item.update(dict(s.params.get("change", {})))
    if _api(ctx) == "classic":
        body = {
            "session": credential,
            "madonvi": profile.madonvi,
            "service": "DongBoHoSoMC",
            "isUpdating": "False",
            "data": [item],
        }
        answer = send(
            ctx, "POST", profile.integration_url, operation="DongBoHoSoMC",
            headers=[("dstcode", profile.dstcode)], json_body=body, party=party,
        )  # fmt: skip
    else:
        answer = send(
            ctx, "POST", profile.base_url.rstrip("/") + "/DongBoHoSo", operation="TaoHoSo",
            headers=[("Authorization", f"Bearer {credential}")], json_body=item, party=party,
        )  # fmt: skip
    check_answer(ctx, s, Seen.of(answer))


# --- dossier codes and the catalogue ----------------------------------------------------------


@step("next_code", params=("organ", "calls"), expects=("issued", "well_formed", "distinct",
      "status", "envelope"))  # fmt: skip
def next_code(ctx: Context, s: Step) -> None:
    """GetNextValue for ``organ`` (default: the party's), ``calls`` times: codes are
    ``issued`` in the form ``<organ>-<yyyyMMdd>-<7 digits>`` (``well_formed``) and never
    twice (``distinct``); a malformed organ is refused in the ``envelope``."""
    if _api(ctx) != "token":
        raise ValueError("GetNextValue is a call of the token-based portal")
    organ = str(s.params.get("organ", ctx.party(s.party).organ))
    client = ctx.client(s.party)
    codes: list[str] = []
    refusal: str | None = None
    mark = len(ctx.evidence)
    for _ in range(int(s.params.get("calls", 1))):
        try:
            codes.append(client.dossiers.next_code(organ))
        except RemoteServiceError as exc:
            refusal = str(exc)
            break
    ctx.facts["codes"] = codes
    if s.expect.get("issued") is not None:
        wanted = bool(s.expect["issued"])
        verb = "issues" if wanted else "refuses"
        ctx.expect((refusal is None) == wanted, f"the platform {verb} codes for {organ!r}",
                   refusal or ", ".join(codes))  # fmt: skip
    if s.expect.get("well_formed"):
        problems = []
        for code in codes:
            try:
                parsed = DEFAULT_DOSSIER_PATTERN.parse(code)
            except CodeError as exc:
                problems.append(str(exc))
                continue
            if parsed.unit != organ:
                problems.append(f"{code} is not a code of {organ}")
        ctx.expect(not problems, "codes read <organ>-<yyyyMMdd>-<7 digits>", "; ".join(problems))
    if s.expect.get("distinct"):
        ctx.expect(len(set(codes)) == len(codes), "no code is issued twice", ", ".join(codes))
    if refusal is not None:
        seen = exchanges(ctx, mark)
        check_answer(ctx, s, Seen.of(seen[-1] if seen else None), keys=("status", "envelope"))
