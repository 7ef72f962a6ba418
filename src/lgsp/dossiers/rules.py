"""Rules of dossier payloads, each with an id and a severity per profile.

:data:`RULES` is the one place that says how serious each rule is under ``strict`` (what lgsp
sends) and ``lenient`` (what it accepts). Rules over the models live here; the rules that need
the JSON as it was received (date forms, numbers sent as text) live in
:mod:`lgsp.dossiers.validation`, which runs both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lgsp import codes
from lgsp.dossiers._wire import WireModel, field_specs, join_path
from lgsp.dossiers.formats import ApplicantKind, Target
from lgsp.dossiers.models import (
    DossierLookupRequest,
    DossierSyncItem,
    DossierSyncRequest,
    Fee,
    ProgressUpdateRequest,
    Supplement,
    _Progress,
)
from lgsp.dossiers.status import DossierStatus, TransitionTable, status_label
from lgsp.dossiers.token_models import (
    DossierComponent,
    DossierCreation,
    StatusUpdate,
    Submitter,
    SubmitterDetails,
)
from lgsp.errors import CodeError, DossierError
from lgsp.findings import Finding, Profile, Rule

__all__ = ["RULES", "Emit", "ModelChecker", "Rule", "emitter", "progress_steps"]

_CATALOGUE = [
    Rule("dossier.json", "error", "error", "text that is not JSON"),
    Rule("dossier.type", "error", "error", "a value of the wrong type (text for a number…)"),
    Rule("dossier.date", "error", "error", "a date that cannot be read in any known form"),
    Rule("dossier.required", "error", "error", "a field no receiver can do without"),
    Rule("dossier.recommended", "error", "warning", "a field the contract asks for"),
    Rule("dossier.code", "error", "warning", "a dossier code that does not fit the pattern"),
    Rule("dossier.procedure_code", "error", "warning", "MaTTHC that is not a TTHC code"),
    Rule("dossier.unit_code", "error", "warning", "a unit code that is not an organ code"),
    Rule("dossier.status", "error", "warning", "a status outside 1–10"),
    Rule("dossier.status_dates", "error", "warning", "a status its dates contradict"),
    Rule("dossier.transition", "error", "warning", "a status change the table forbids"),
    Rule("dossier.date_order", "error", "warning", "a date before the one it follows"),
    Rule("dossier.date_format", "error", "warning", "a date not in the target's form"),
    Rule("dossier.wire_type", "error", "info", "a number or flag not written as the target does"),
    Rule("dossier.applicant_kind", "error", "warning", "LoaiDoiTuong the target has no code for"),
    Rule("dossier.fee", "error", "warning", "a fee with a negative amount"),
    Rule("dossier.range", "warning", "info", "a code outside its (uncertain) catalogue"),
    Rule("dossier.duplicate", "error", "warning", "one dossier twice in one request"),
    Rule("dossier.admin_unit", "error", "warning", "a province, district or commune code"),
    Rule("dossier.identity", "warning", "info", "a citizen's number not 9 or 12 digits"),
    Rule("dossier.contact", "warning", "info", "an e-mail address or phone number malformed"),
    Rule("dossier.unknown_field", "warning", "info", "a field the contract does not define"),
]
RULES: dict[str, Rule] = {r.id: r for r in _CATALOGUE}

Emit = Callable[[str, str, str], None]

# Statuses that a dossier only reaches once received (every status but 1 and 3).
_RECEIVED_STATES = frozenset(DossierStatus) - {DossierStatus.REGISTERED, DossierStatus.NOT_RECEIVED}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 .()-]{5,18}[0-9]")
_STAGES = (1, 2, 4)  # HinhThucThu (iGate catalogue)


def _missing(value: Any) -> bool:
    """None, a blank string (the classic adapter's "nothing") or an empty list."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list) and not value)


def _text(value: str | None) -> str | None:
    """``value`` unless it is missing."""
    return None if value is None or not value.strip() else value


@functools.lru_cache(maxsize=4096)
def _organ_problem(value: str) -> str | None:
    # The same units recur in every payload: parse each code once. Lenient: real units are
    # written in the QĐ 20 form too (G09.20).
    try:
        codes.parse_organ_code(value)
    except CodeError as exc:
        return str(exc)
    return None


class ModelChecker:
    """Runs the model rules over payload models and reports through ``emit``."""

    def __init__(
        self,
        emit: Emit,
        *,
        target: Target,
        pattern: codes.DossierCodePattern,
        table: TransitionTable,
    ) -> None:
        self.emit = emit
        self.target = target
        self.pattern = pattern
        self.table = table
        self.unreadable: dict[int, frozenset[str]] = {}
        """Wire names of the fields that could not be read, by id() of the model read."""
        self._specific: dict[type[WireModel], Callable[[Any, str], None]] = {
            DossierSyncItem: self._sync_item,
            Fee: self._fee,
            Supplement: self._supplement,
            DossierSyncRequest: self._sync_request,
            ProgressUpdateRequest: self._progress_request,
            DossierLookupRequest: self._lookup_request,
            DossierCreation: self._creation,
            DossierComponent: self._component,
            Submitter: self._submitter,
            SubmitterDetails: self._details,
            StatusUpdate: self._status_update,
        }

    # the walk --------------------------------------------------------------------------------

    def check(self, model: WireModel, path: str = "") -> None:
        """Every rule of ``model`` and its nested models."""
        skip = self.unreadable.get(id(model), frozenset())
        specs = field_specs(type(model))
        for name in (*model.REQUIRED, *model.RECOMMENDED):
            info = type(model).model_fields[name]
            alias = info.serialization_alias or info.alias or name
            if alias not in skip and _missing(getattr(model, name)):
                rule = "dossier.required" if name in model.REQUIRED else "dossier.recommended"
                self.emit(rule, join_path(path, alias), f"{alias} is missing")
        extra = model.model_extra
        if extra:
            names = ", ".join(sorted(extra))
            self.emit(
                "dossier.unknown_field",
                path or "(payload)",
                f"{names}: not in the contract lgsp knows; kept and written back as received",
            )
        if isinstance(model, _Progress):
            self._progress(model, path)
        specific = self._specific.get(type(model))
        if specific is not None:
            specific(model, path)
        for spec in specs.values():
            if spec.nested is None or spec.alias in skip:
                continue
            value = getattr(model, spec.name)
            if spec.many:
                for i, child in enumerate(value or ()):
                    self.check(child, f"{join_path(path, spec.alias)}[{i}]")
            elif value is not None:
                self.check(value, join_path(path, spec.alias))

    # shared checks ---------------------------------------------------------------------------

    def dossier_code(self, value: str | None, where: str) -> codes.DossierCode | None:
        code = _text(value)
        if code is None:
            return None
        try:
            return self.pattern.parse(code)
        except CodeError as exc:
            self.emit("dossier.code", where, str(exc))
            return None

    def _procedure(self, value: str | None, where: str) -> None:
        if (code := _text(value)) is not None:
            try:
                codes.parse_procedure_code(code)
            except CodeError as exc:
                self.emit("dossier.procedure_code", where, str(exc))

    def _unit(self, value: str | None, where: str) -> None:
        if (code := _text(value)) is not None:
            problem = _organ_problem(code)
            if problem is not None:
                self.emit("dossier.unit_code", where, problem)

    def _status(self, value: int | None, where: str) -> None:
        if value is not None and not isinstance(value, DossierStatus):
            self.emit(
                "dossier.status",
                where,
                f"status {value} is not a portal status code (1 Mới đăng ký … 10 Đã trả kết quả)",
            )

    def _applicant(self, value: ApplicantKind | int | None, where: str) -> None:
        if isinstance(value, ApplicantKind):
            try:
                self.target.applicant_code(value)
            except DossierError as exc:
                self.emit("dossier.applicant_kind", where, str(exc))
        elif value is not None:
            target = self.target
            message = f"LoaiDoiTuong {value} is no code of the {target.name} target"
            self.emit("dossier.applicant_kind", where, f"{message} ({target.describe_codes()})")

    def _order(self, earlier: Any, later: Any, where: str, what: str) -> None:
        if earlier is not None and later is not None and later < earlier:
            self.emit("dossier.date_order", where, f"{what} ({later} before {earlier})")

    def _range(self, value: int | None, allowed: Sequence[int], where: str, what: str) -> None:
        if value is not None and value not in allowed:
            listed = ", ".join(map(str, allowed))
            self.emit("dossier.range", where, f"{what} {value} is outside the known {listed}")

    def transitions(self, steps: Iterable[tuple[str | None, int | None, str]]) -> None:
        """Check each dossier's status history, given as (code, status, location) in order."""
        last: dict[str, int] = {}
        for code, status, where in steps:
            if code is None or not isinstance(status, DossierStatus):
                continue
            previous = last.get(code)
            last[code] = status
            if previous is not None:
                try:
                    self.table.check(previous, status, dossier_code=code)
                except DossierError as exc:
                    self.emit("dossier.transition", where, str(exc))

    def duplicates(self, codes_at: Iterable[tuple[str | None, str]]) -> None:
        seen: dict[str, str] = {}
        for value, where in codes_at:
            code = _text(value)
            if code is None:
                continue
            if code in seen:
                self.emit("dossier.duplicate", where, f"dossier {code} is also at {seen[code]}")
            else:
                seen[code] = where

    # per model -------------------------------------------------------------------------------

    def _sync_item(self, m: DossierSyncItem, path: str) -> None:
        self.dossier_code(m.code, join_path(path, "MaHoSo"))
        self._procedure(m.procedure_code, join_path(path, "MaTTHC"))
        self._status(m.status, join_path(path, "TrangThaiHoSo"))
        self._applicant(m.applicant_kind, join_path(path, "LoaiDoiTuong"))
        self._range(m.delivery, (0, 1), join_path(path, "HinhThuc"), "HinhThuc")
        status = m.status
        unreadable = self.unreadable.get(id(m), frozenset())  # not "missing": reported already
        if status in _RECEIVED_STATES:
            assert isinstance(status, DossierStatus)  # noqa: S101 - member of the set
            for value, alias in ((m.received_at, "NgayTiepNhan"), (m.due_at, "NgayHenTra")):
                if value is None and alias not in unreadable:
                    self.emit(
                        "dossier.status_dates",
                        join_path(path, alias),
                        f"{alias} is missing, but status {status.describe()} means the "
                        "dossier was received",
                    )
        if (
            status is DossierStatus.RETURNED
            and m.returned_at is None
            and "NgayTra" not in unreadable
        ):
            self.emit(
                "dossier.status_dates",
                join_path(path, "NgayTra"),
                f"NgayTra is missing, but status {status_label(status)} says the result was "
                "handed over",
            )
        if m.returned_at is not None and isinstance(status, DossierStatus) and status != 10:
            self.emit(
                "dossier.status_dates",
                join_path(path, "NgayTra"),
                f"NgayTra is set, but status {status_label(status)} says the result was not "
                "handed over (10 Đã trả kết quả)",
            )
        received = m.received_at
        self._order(received, m.due_at, join_path(path, "NgayHenTra"), "due before received")
        self._order(received, m.returned_at, join_path(path, "NgayTra"), "returned before received")
        self._order(
            received,
            m.processing_ended_at,
            join_path(path, "NgayKetThucXuLy"),
            "ended before received",
        )
        self._order(
            m.processing_ended_at,
            m.returned_at,
            join_path(path, "NgayTra"),
            "returned before processing ended",
        )
        if m.email and not _EMAIL.fullmatch(m.email.strip()):
            self.emit(
                "dossier.contact", join_path(path, "Email"), f"{m.email!r} is no e-mail address"
            )
        if m.phone and not _PHONE.fullmatch(m.phone.strip()):
            self.emit(
                "dossier.contact", join_path(path, "SoDienThoai"), f"{m.phone!r} is no number"
            )

    def _fee(self, m: Fee, path: str) -> None:
        if m.amount is not None and m.amount < 0:
            self.emit("dossier.fee", join_path(path, "Gia"), f"the amount {m.amount} is negative")
        self._range(m.collection_stage, _STAGES, join_path(path, "HinhThucThu"), "HinhThucThu")

    def _supplement(self, m: Supplement, path: str) -> None:
        self._order(
            m.requested_at,
            m.received_at,
            join_path(path, "NgayTiepNhanBoSung"),
            "supplement received before it was asked for",
        )

    def _progress(self, m: _Progress, path: str) -> None:
        self.dossier_code(m.code, join_path(path, "MaHoSo"))
        self._status(m.status, join_path(path, "TrangThai"))
        self._order(
            m.started_at,
            m.due_at,
            join_path(path, "NgayKetThucTheoQuyDinh"),
            "the step is due before it started",
        )

    def _status_update(self, m: StatusUpdate, path: str) -> None:
        self.dossier_code(m.code, join_path(path, "MaHoSo"))
        self._status(m.status, join_path(path, "TrangThai"))

    def _sync_request(self, m: DossierSyncRequest, path: str) -> None:
        self._unit(m.unit_code, join_path(path, "madonvi"))
        self.duplicates(
            (item.code, f"{join_path(path, 'data')}[{i}]") for i, item in enumerate(m.data)
        )

    def _progress_request(self, m: ProgressUpdateRequest, path: str) -> None:
        self._unit(m.unit_code, join_path(path, "madonvi"))
        self.transitions(progress_steps(m.data, join_path(path, "data")))

    def _lookup_request(self, m: DossierLookupRequest, path: str) -> None:
        self._unit(m.unit_code, join_path(path, "madonvi"))
        self.dossier_code(m.code, join_path(path, "mahoso"))

    def _creation(self, m: DossierCreation, path: str) -> None:
        where = join_path(path, "MaHoSo")
        parsed = self.dossier_code(m.code, where)
        if parsed is not None and m.receiving_unit and parsed.unit != m.receiving_unit:
            self.emit(
                "dossier.code",
                where,
                f"the code's unit {parsed.unit} is not MaDonViTiepNhan {m.receiving_unit}: the "
                "portal numbers dossiers per receiving unit",
            )
        self._procedure(m.procedure_code, join_path(path, "MaTTHC"))
        self._unit(m.receiving_unit, join_path(path, "MaDonViTiepNhan"))
        self._applicant(m.applicant_kind, join_path(path, "LoaiDoiTuong"))
        self._order(
            m.submitted_at,
            m.received_at,
            join_path(path, "NgayTiepNhan"),
            "received before submitted",
        )
        submitter = m.submitter
        if (
            submitter is not None
            and submitter.applicant_kind is not None
            and m.applicant_kind is not None
            and submitter.applicant_kind != m.applicant_kind
        ):
            self.emit(
                "dossier.applicant_kind",
                join_path(path, "ThongTinNguoiNop.LoaiDoiTuong"),
                f"the submitter's LoaiDoiTuong ({submitter.applicant_kind}) is not the "
                f"dossier's ({m.applicant_kind})",
            )

    def _component(self, m: DossierComponent, path: str) -> None:
        if m.quantity is not None and m.quantity < 1:
            self.emit(
                "dossier.range", join_path(path, "SoLuong"), f"SoLuong {m.quantity} is below 1"
            )
        self._range(m.copy_kind, (0, 1, 2), join_path(path, "LoaiBan"), "LoaiBan")

    def _submitter(self, m: Submitter, path: str) -> None:
        self._applicant(m.applicant_kind, join_path(path, "LoaiDoiTuong"))
        details = m.details
        if (
            m.applicant_kind == ApplicantKind.CITIZEN
            and details is not None
            and details.id_number
            and not (details.id_number.isdigit() and len(details.id_number) in (9, 12))
        ):
            self.emit(
                "dossier.identity",
                join_path(path, "ThongTinChiTiet.SoDinhDanh"),
                f"{details.id_number!r}: a citizen's number has 12 digits (CCCD) or 9 (CMND)",
            )

    def _details(self, m: SubmitterDetails, path: str) -> None:
        self._order(
            m.birth_date, m.id_issued_on, join_path(path, "NgayCapDinhDanh"), "issued before birth"
        )
        for value, alias, level in (
            (m.province_code, "MaTinh", codes.AdminUnitLevel.PROVINCE),
            (m.district_code, "MaHuyen", codes.AdminUnitLevel.DISTRICT),
            (m.commune_code, "MaXa", codes.AdminUnitLevel.COMMUNE),
            (m.owner_province_code, "MaTinhChuHs", codes.AdminUnitLevel.PROVINCE),
            (m.owner_commune_code, "MaXaChuHs", codes.AdminUnitLevel.COMMUNE),
        ):
            if (code := _text(value)) is not None:
                try:
                    codes.parse_admin_unit_code(code, level)
                except CodeError as exc:
                    self.emit("dossier.admin_unit", join_path(path, alias), str(exc))


def progress_steps(
    items: Sequence[_Progress | StatusUpdate], path: str
) -> list[tuple[str | None, int | None, str]]:
    """(code, status, location) of each step, in time order where the steps carry times."""
    steps = [(item, f"{path}[{i}]") for i, item in enumerate(items)]
    times = [item.handled_at for item in items if isinstance(item, _Progress)]
    known = [t for t in times if t is not None]
    if len(known) == len(steps):
        # ThoiDiemXuLy orders the steps; the sort is stable for equal times.
        order = sorted(range(len(steps)), key=known.__getitem__)
        steps = [steps[i] for i in order]
    return [(item.code, item.status, where) for item, where in steps]


def emitter(out: list[Finding], profile: Profile) -> Emit:
    """An ``emit`` that records a finding with the severity ``profile`` gives the rule."""

    def emit(rule: str, location: str, message: str) -> None:
        out.append(
            Finding(
                rule=rule,
                severity=RULES[rule].severity(profile),
                location=location or "(payload)",
                message=message,
            )
        )

    return emit
