"""Validation of dossier payloads: every finding, never a raise on the first one.

:func:`validate_dossier` takes a model, a list of models, or parsed JSON (one item, an array of
items, or a request body: the kind is detected) and returns findings; :func:`check_dossier`
raises :class:`~lgsp.errors.ValidationError` when any is an error. JSON as received is checked
as it was written (date forms, numbers as text or not, for the target), then read into models
(a value that cannot be read is a finding, the rest is still checked) and the model rules run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from lgsp.codes import DEFAULT_DOSSIER_PATTERN, DossierCodePattern
from lgsp.dossiers._fields import ApplicantKindField, DateField, Scalar
from lgsp.dossiers._wire import (
    WireModel,
    context_for,
    field_specs,
    findings_from_pydantic,
    join_path,
)
from lgsp.dossiers.formats import Target, parse_datetime, resolve_target
from lgsp.dossiers.models import DossierSyncItem, _Progress
from lgsp.dossiers.payloads import detect_kind, payload_kind
from lgsp.dossiers.rules import Emit, ModelChecker, emitter, progress_steps
from lgsp.dossiers.status import DEFAULT_TRANSITIONS, TransitionTable
from lgsp.dossiers.token_models import StatusUpdate
from lgsp.findings import Finding, Profile, raise_for_findings

__all__ = ["check_dossier", "validate_dossier"]

_BODY_LISTS = ("data", "result")  # the list fields of request bodies, read item by item


def validate_dossier(
    item_or_payload: WireModel | Sequence[WireModel] | Mapping[str, Any] | Sequence[Any],
    *,
    target: Target | str = "classic",
    profile: Profile = "strict",
    kind: str | None = None,
    pattern: DossierCodePattern = DEFAULT_DOSSIER_PATTERN,
    transitions: TransitionTable = DEFAULT_TRANSITIONS,
) -> list[Finding]:
    """Every finding of a dossier payload for ``target`` under ``profile``.

    ``item_or_payload`` is a model (or a list of models) or parsed JSON: one item, an array of
    items or a request body, detected from its keys unless ``kind`` names it (a name of
    :data:`~lgsp.dossiers.PAYLOADS`). ``pattern`` is the dossier-code layout and
    ``transitions`` the status table that a series of steps of one dossier must follow.
    Raises :class:`~lgsp.errors.DossierError` (rule ``dossier.kind``) only when the JSON is no
    payload lgsp knows.
    """
    resolved = resolve_target(target)
    out: list[Finding] = []
    emit = emitter(out, profile)
    checker = ModelChecker(emit, target=resolved, pattern=pattern, table=transitions)
    if isinstance(item_or_payload, WireModel):
        checker.check(item_or_payload)
        return out
    if _all_models(item_or_payload):
        models = list(item_or_payload)
        for i, model in enumerate(models):
            checker.check(model, f"[{i}]")
        _cross_items(checker, models)
        return out
    if kind is None:
        found, many = detect_kind(item_or_payload, target=resolved)
    else:
        found, many = payload_kind(kind), isinstance(item_or_payload, list)
    reader = _RawReader(emit, checker, resolved)
    if many:
        assert isinstance(item_or_payload, Sequence)  # noqa: S101 - many means a list
        items = [reader.read(found.model, raw, f"[{i}]") for i, raw in enumerate(item_or_payload)]
        _cross_items(checker, items)
    else:
        reader.read(found.model, item_or_payload, "")
    return out


def check_dossier(
    item_or_payload: WireModel | Sequence[WireModel] | Mapping[str, Any] | Sequence[Any],
    *,
    target: Target | str = "classic",
    profile: Profile = "strict",
    kind: str | None = None,
    pattern: DossierCodePattern = DEFAULT_DOSSIER_PATTERN,
    transitions: TransitionTable = DEFAULT_TRANSITIONS,
) -> list[Finding]:
    """:func:`validate_dossier`, raising ValidationError when any finding is an error."""
    found = validate_dossier(
        item_or_payload,
        target=target,
        profile=profile,
        kind=kind,
        pattern=pattern,
        transitions=transitions,
    )
    raise_for_findings(found, source=_source(item_or_payload))
    return found


def _source(payload: Any) -> str | None:
    return type(payload).__name__ if isinstance(payload, WireModel) else None


def _all_models(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str | bytes)
        and bool(value)
        and all(isinstance(v, WireModel) for v in value)
    )


def _cross_items(checker: ModelChecker, models: Sequence[WireModel]) -> None:
    """Rules across the items of an array: one dossier twice, a status history."""
    syncs = [(m.code, f"[{i}]") for i, m in enumerate(models) if isinstance(m, DossierSyncItem)]
    checker.duplicates(syncs)
    steps = [m for m in models if isinstance(m, _Progress | StatusUpdate)]
    if steps and len(steps) == len(models):
        checker.transitions(progress_steps(steps, ""))


class _RawReader:
    """Checks JSON as received, reads it into models leniently, then runs the model rules."""

    def __init__(self, emit: Emit, checker: ModelChecker, target: Target) -> None:
        self.emit = emit
        self.checker = checker
        self.target = target
        self.context = context_for(target)

    def read(self, model: type[WireModel], raw: Any, path: str) -> WireModel:
        """``raw`` read as ``model`` and checked; what cannot be read is reported."""
        # A request body's items are read one by one, so that one bad item hides neither the
        # others nor the envelope.
        lists: dict[str, list[Any]] = {}
        if isinstance(raw, Mapping):
            specs = field_specs(model)
            lists = {n: raw[n] for n in _BODY_LISTS if n in specs and isinstance(raw.get(n), list)}
            raw = {k: v for k, v in raw.items() if k not in lists}
        built = self._read_one(model, raw, path)
        for name, items in lists.items():
            spec = field_specs(model)[name]
            assert spec.nested is not None  # noqa: S101 - data and result hold models
            where = join_path(path, name)
            read = [
                self._read_one(spec.nested, item, f"{where}[{i}]") for i, item in enumerate(items)
            ]
            setattr(built, spec.name, read)
        self.checker.check(built, path)
        return built

    def _read_one(self, model: type[WireModel], raw: Any, path: str) -> WireModel:
        """The model read leniently: a field that cannot be read is reported and left out (the
        missing-field rules skip it); what is no object at all becomes an empty placeholder, so
        that the positions of a list's items stay those of the JSON."""
        if not isinstance(raw, Mapping):
            self.emit("dossier.type", path or "(payload)", f"a {model.__name__} is a JSON object")
            return self._placeholder(model)
        self.wire_forms(model, raw, path)
        try:
            return model.model_validate(raw, context=self.context)
        except pydantic.ValidationError as exc:
            for finding in findings_from_pydantic(exc, prefix=path):
                self.emit(finding.rule, finding.location, finding.message)
            broken = frozenset(
                str(err["loc"][0]) for err in exc.errors(include_url=False) if err["loc"]
            )
        try:
            built = model.model_validate(
                {k: v for k, v in raw.items() if k not in broken}, context=self.context
            )
        except pydantic.ValidationError:
            return self._placeholder(model)
        self.checker.unreadable[id(built)] = broken
        return built

    def _placeholder(self, model: type[WireModel]) -> WireModel:
        empty = model.model_construct()
        self.checker.unreadable[id(empty)] = frozenset(field_specs(model))
        return empty

    def wire_forms(self, model: type[WireModel], raw: Mapping[str, Any], path: str) -> None:
        """Dates and scalars as received, against the target's forms."""
        specs = field_specs(model)
        for key, value in raw.items():
            spec = specs.get(key)
            if spec is None or value is None:
                continue
            where = join_path(path, key)
            marker = spec.marker
            if isinstance(marker, DateField):
                self._date_form(marker, key, value, where)
            elif isinstance(marker, Scalar | ApplicantKindField):
                self._scalar_form(marker, key, value, where)
            elif spec.nested is not None:
                if spec.many and isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, Mapping):
                            self.wire_forms(spec.nested, item, f"{where}[{i}]")
                elif isinstance(value, Mapping):
                    self.wire_forms(spec.nested, value, where)

    def _date_form(self, marker: DateField, key: str, value: Any, where: str) -> None:
        if not isinstance(value, str) or not value:
            return  # "" is the classic "no date"; other types are the reader's to refuse
        fmt = self.target.date_format(marker.role)
        if not fmt.matches(value, date_only=marker.date_only) and _readable_date(value):
            self.emit(
                "dossier.date_format",
                where,
                f"{key} {value!r} is not in the {self.target.name} target's form "
                f"({fmt.describe(date_only=marker.date_only)})",
            )

    def _scalar_form(
        self, marker: Scalar | ApplicantKindField, key: str, value: Any, where: str
    ) -> None:
        # Only values the reader accepts: one it cannot read is its finding (dossier.type).
        flag = isinstance(marker, Scalar) and marker.json_type == "boolean"
        name = self.target.name
        if self.target.text_scalars:
            if isinstance(value, str):
                if flag and value not in ("True", "False") and value.lower() in _FLAG_TEXTS:
                    message = f"{key} {value!r}: the {name} target writes True or False"
                    self.emit("dossier.wire_type", where, message)
            elif isinstance(value, bool | int):
                self.emit(
                    "dossier.wire_type",
                    where,
                    f"{key} is the JSON {'boolean' if isinstance(value, bool) else 'number'} "
                    f"{json.dumps(value)}; the {name} target writes it as text ({str(value)!r})",
                )
        elif isinstance(value, str) and (value.strip().isdigit() or value.lower() in _FLAG_TEXTS):
            kind = "boolean" if flag else "number"
            message = f"{key} is the text {value!r}; the {name} target writes a JSON {kind}"
            self.emit("dossier.wire_type", where, message)


_FLAG_TEXTS = frozenset({"true", "false", "0", "1", "yes", "no", "on", "off", "t", "f", "y", "n"})


def _readable_date(text: str) -> bool:
    """True when a date is in some known form (else the reader reports it: dossier.date)."""
    try:
        parse_datetime(text)
    except ValueError:
        return False
    return True
