"""Reading registry files: service responses (JSON) and spreadsheets (CSV) into records.

JSON may be a service envelope — VXP's ``{status, ErrorCode, ErrorDesc, data}`` or the DVCQG
adapter's ``{error_code, result}`` — a bare list of records, or one record. An envelope that
reports a failure is refused: a failed answer is never imported. CSV has a header row; a UTF-8
BOM (as Excel's "CSV UTF-8" writes) is skipped, and the delimiter is read from the header
(``,``, ``;`` as Excel writes in locales with a decimal comma, or tab). Columns are matched by
their wire name or English name, ignoring case, marks and separators (``oldCode``,
``old_code``, ``Old code``); unknown columns are kept. Every problem is a
:class:`~lgsp.errors.RegistryError` naming the file and the line.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import pydantic

from lgsp.errors import RegistryError
from lgsp.registry import admin_units as _units
from lgsp.registry.folding import fold
from lgsp.registry.models import (
    AdminScheme,
    AdminUnit,
    AdminUnitMapping,
    RegistryKind,
    RegistryRecord,
    _Tolerant,
    model_for,
)

__all__ = ["ParsedFile", "detect_kind", "read_registry_data", "read_registry_file"]

InputFormat = Literal["json", "csv"]
M = TypeVar("M", bound=_Tolerant)

# Envelope keys: VXP (status / ErrorCode / ErrorDesc / data), DVCQG adapter (error_code /
# result; "00" is also seen for success), and the message fields each uses.
_PAYLOAD_KEYS = ("data", "result", "Data", "Result")
_OK_CODES = frozenset({"0", "00"})
_FAILED_STATUSES = frozenset({"fail", "failed", "error"})

# Folded field names that tell the kinds apart, most specific first.
_KIND_MARKERS: tuple[tuple[RegistryKind, frozenset[str]], ...] = (
    (RegistryKind.UNITS, frozenset({"centercode", "isagency", "modifydate", "deleted"})),
    (RegistryKind.AGENCIES, frozenset({"code102", "oldcode"})),
    (RegistryKind.ORGANS, frozenset({"madonvi", "capdonvi"})),
    (RegistryKind.PROCEDURES, frozenset({"matthc", "tentthc"})),
    (RegistryKind.FIELDS, frozenset({"malinhvuc", "tenlinhvuc", "manganh"})),
    (
        RegistryKind.ADMIN_UNITS,
        frozenset(
            {"old code", "new code", "ma cu", "ma moi", "division type", "province code"}
            | {"wards", "districts", "parent code", "scheme"}
            | _units.GSO_MARKERS
        ),
    ),
    (RegistryKind.AGENCIES, frozenset({"pid"})),
)


@dataclass(slots=True)
class ParsedFile:
    """What a file holds: records of one kind, and for admin units any old → new links."""

    kind: RegistryKind
    source: str
    records: list[RegistryRecord] = field(default_factory=list)
    mappings: list[AdminUnitMapping] = field(default_factory=list)


@dataclass(slots=True)
class _Row:
    """One record as read, with where it came from (line, or item index) for messages."""

    data: dict[str, Any]
    line: int | None = None
    where: str | None = None
    locate: Callable[[], int | None] | None = None
    """Finds the line when an error needs it (JSON: a second scan of the text)."""

    def find_line(self) -> int | None:
        if self.line is None and self.locate is not None:
            self.line = self.locate()
        return self.line


def detect_kind(field_names: Iterable[str]) -> RegistryKind | None:
    """The kind a set of field or column names points to, or None when it is unclear."""
    names = {fold(n) for n in field_names}
    for kind, markers in _KIND_MARKERS:
        if names & markers:
            return kind
    if {"code", "name"} <= names:
        return RegistryKind.AGENCIES
    return None


def read_registry_file(
    path: str | Path,
    *,
    kind: RegistryKind | str | None = None,
    scheme: AdminScheme | str | None = None,
    input_format: InputFormat | None = None,
) -> ParsedFile:
    """Read a JSON or CSV file (format from the extension, else from the content)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(exc.strerror or str(exc), source=str(path)) from exc
    if input_format is None:
        suffix = path.suffix.lower()
        input_format = (
            "json" if suffix == ".json" else "csv" if suffix in (".csv", ".tsv") else None
        )
    return read_registry_data(
        data, kind=kind, scheme=scheme, input_format=input_format, source=str(path)
    )


def read_registry_data(
    data: bytes | str,
    *,
    kind: RegistryKind | str | None = None,
    scheme: AdminScheme | str | None = None,
    input_format: InputFormat | None = None,
    source: str = "<input>",
) -> ParsedFile:
    """Read records from JSON or CSV text; ``kind`` is detected from the fields when omitted."""
    text = _decode(data, source) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if not text.strip():
        raise RegistryError("the input is empty", source=source)
    if input_format is None:
        input_format = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    wanted = RegistryKind(kind) if kind is not None else None
    wanted_scheme = AdminScheme(scheme) if scheme is not None else None
    rows = _json_rows(text, source) if input_format == "json" else _csv_rows(text, source)
    if wanted is None:
        keys = {k for row in rows[:50] for k in row.data}
        wanted = detect_kind(keys)
        if wanted is None:
            shown = ", ".join(sorted(keys)[:12]) or "none"
            raise RegistryError(
                f"cannot tell what kind of records these are (fields: {shown}); give the "
                "kind (agencies, units, procedures, fields, organs, admin-units)",
                source=source,
            )
    parsed = ParsedFile(wanted, source)
    if wanted is RegistryKind.ADMIN_UNITS:
        _admin_rows(rows, parsed, wanted_scheme)
    else:
        model = model_for(wanted)
        parsed.records.extend(_validate(model, row, source) for row in rows)
    return parsed


# --- decoding -------------------------------------------------------------------------------


def _line_of(text: str | bytes, offset: int) -> tuple[int, int]:
    newline = "\n" if isinstance(text, str) else b"\n"
    head = text[:offset]
    line = head.count(newline) + 1  # type: ignore[arg-type]
    column = offset - (head.rfind(newline) + 1)  # type: ignore[arg-type]
    return line, column + 1


def _decode(data: bytes, source: str) -> str:
    if b"\x00" in data[:4096]:
        raise RegistryError("this is not a text file (it holds NUL bytes)", source=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_of(data, exc.start)
        raise RegistryError(
            f"byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8 (Excel: "
            "'CSV UTF-8 (Comma delimited)')",
            source=source,
            line=line,
            column=column,
        ) from exc


# --- JSON -----------------------------------------------------------------------------------


def _json_rows(text: str, source: str) -> list[_Row]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(
            f"not valid JSON: {exc.msg}", source=source, line=exc.lineno, column=exc.colno
        ) from exc
    items = _unwrap(doc, source)
    located: list[int] | None = None

    def line_of(index: int) -> int | None:
        nonlocal located
        if items is doc or (isinstance(doc, dict) and doc.get("data") is items):
            if located is None:
                located = _element_lines(text)
            if len(located) == len(items):
                return located[index]
        return None

    rows: list[_Row] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise RegistryError(
                f"item {index} is a {type(item).__name__}, not an object",
                source=source,
                line=line_of(index),
            )
        rows.append(_Row(item, None, f"item {index}", functools.partial(line_of, index)))
    return rows


def _unwrap(doc: Any, source: str) -> list[Any]:
    """The records of a document: a bare list, an envelope's payload, or one record."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise RegistryError(
            f"expected a list of records or a response object, found a {type(doc).__name__}",
            source=source,
        )
    envelope = {"status", "ErrorCode", "error_code", *_PAYLOAD_KEYS} & doc.keys()
    if not envelope:
        return [doc]  # one record, e.g. a LayThuTuc answer saved as is
    _check_envelope(doc, source)
    for key in _PAYLOAD_KEYS:
        if key in doc:
            payload = doc[key]
            break
    else:
        raise RegistryError("the response has no 'data' (or 'result') field", source=source)
    if isinstance(payload, str):  # some gateways send the list as JSON text
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise RegistryError(
                f"the response's '{key}' is text that is not JSON: {exc.msg}", source=source
            ) from exc
    if payload is None:
        return []
    if isinstance(payload, dict):
        return [payload]
    if not isinstance(payload, list):
        raise RegistryError(
            f"the response's '{key}' is a {type(payload).__name__}, not a list", source=source
        )
    return payload


def _check_envelope(doc: Mapping[str, Any], source: str) -> None:
    status = doc.get("status")
    code = doc.get("ErrorCode", doc.get("error_code"))
    failed = isinstance(status, str) and status.strip().lower() in _FAILED_STATUSES
    if code is not None and str(code).strip() not in _OK_CODES:
        failed = True
    if failed:
        desc = doc.get("ErrorDesc") or doc.get("error_message") or doc.get("message") or ""
        detail = f"status {status!r}, error code {code!r}" + (f": {desc}" if desc else "")
        raise RegistryError(
            f"the service reported a failure ({detail}); nothing was imported", source=source
        )


def _element_lines(text: str) -> list[int]:
    """The line each element of the record array starts on: the top-level array, or the first
    array directly inside the top-level object (the envelope's payload). Run only to put a line
    number in an error message."""
    lines: list[int] = []
    stack: list[str] = []
    target: int | None = None
    line, in_string, escaped, expect = 1, False, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == "\n":
            line += 1
            continue
        if char in " \t\r":
            continue
        if target is not None and len(stack) == target:
            if char == ",":
                expect = True
                continue
            if char == "]":
                break
            if expect:
                lines.append(line)
                expect = False
        if char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
            if target is None and char == "[" and (len(stack) == 1 or stack == ["{", "["]):
                target, expect = len(stack), True
        elif char in "]}" and stack:
            stack.pop()
    return lines


# --- CSV ------------------------------------------------------------------------------------


def _csv_rows(text: str, source: str) -> list[_Row]:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise RegistryError(f"cannot read the header row: {exc}", source=source, line=1) from exc
    header = [h.strip() for h in header]
    for index, name in enumerate(header):
        if not name:
            raise RegistryError(
                f"column {index + 1} of the header has no name", source=source, line=1
            )
    rows: list[_Row] = []
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise RegistryError(f"not valid CSV: {exc}", source=source, line=start) from exc
        if not any(v.strip() for v in values):
            start = reader.line_num + 1
            continue
        if len(values) != len(header):
            raise RegistryError(
                f"{len(values)} fields where the header has {len(header)}",
                source=source,
                line=start,
            )
        rows.append(_Row(dict(zip(header, values, strict=True)), start))
        start = reader.line_num + 1
    return rows


# --- records --------------------------------------------------------------------------------


def _header_map(model: type[_Tolerant]) -> dict[str, str]:
    """Folded column name -> field name, for every field's name and wire aliases."""
    names: dict[str, str] = {}
    for name, info in model.model_fields.items():
        names[fold(name)] = name
        for alias in (info.alias, info.serialization_alias):
            if alias:
                names[fold(alias)] = name
        choices = info.validation_alias
        if isinstance(choices, pydantic.AliasChoices):
            for choice in choices.choices:
                if isinstance(choice, str):
                    names[fold(choice)] = name
    names.update(getattr(model, "HEADER_ALIASES", {}))
    return names


def _renamed(data: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        target = names.get(fold(key), key)
        if target in out and out[target] not in (None, ""):
            continue  # a second spelling of a field already filled: the first one wins
        out[target] = value
    return out


def _validate(
    model: type[M], row: _Row, source: str, defaults: Mapping[str, Any] | None = None
) -> M:
    names = _header_map(model)
    data = _renamed(row.data, names)
    for key, value in (defaults or {}).items():
        if data.get(key) in (None, ""):
            data[key] = value
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        columns = {names.get(fold(k), k): k for k in reversed(list(row.data))}
        problems = "; ".join(_describe(err, columns) for err in exc.errors(include_url=False)[:3])
        line = row.find_line()
        where = "" if line is not None or row.where is None else f"{row.where}: "
        raise RegistryError(where + problems, source=source, line=line) from exc


def _describe(err: Mapping[str, Any], columns: Mapping[str, str]) -> str:
    """``column 'Mã': is empty`` from a pydantic error, naming the column as the file does."""
    loc = [str(p) for p in err.get("loc", ())]
    if loc and loc[0] in columns:
        loc[0] = columns[loc[0]]
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing" or (err.get("input") is None and "loc" in err):
        message = "is empty" if loc and loc[0] in columns.values() else "is missing"
    return f"field '{'.'.join(loc)}': {message}" if loc else message


def _admin_rows(rows: Sequence[_Row], parsed: ParsedFile, scheme: AdminScheme | None) -> None:
    keys = {fold(k) for row in rows[:50] for k in row.data}
    mapping_names = _header_map(AdminUnitMapping)
    if {"old_code", "new_code"} <= {mapping_names.get(k) for k in keys}:
        parsed.mappings.extend(_validate(AdminUnitMapping, row, parsed.source) for row in rows)
        return
    if keys & _units.GSO_MARKERS:
        expanded: Iterator[tuple[_Row, dict[str, Any]]] = (
            (row, unit) for row in rows for unit in _units.gso_row_units(row.data, scheme)
        )
    elif keys & {"wards", "districts"}:
        expanded = ((row, unit) for row in rows for unit in _units.nested_units(row.data, scheme))
    else:
        expanded = ((row, row.data) for row in rows)
    defaults = {"scheme": scheme or AdminScheme.V2025}
    seen: set[tuple[str, str]] = set()
    for row, unit in expanded:
        unit_row = _Row(unit, row.line, row.where, row.locate)
        record = _validate(AdminUnit, unit_row, parsed.source, defaults)
        key = (record.scheme.value, record.code)
        if key not in seen:  # GSO exports repeat each province and district on every row
            seen.add(key)
            parsed.records.append(record)
