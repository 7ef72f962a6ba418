"""Bulk dossier input for ``lgsp dossier sync``: DongBoHoSoMC items from JSON or CSV files,
each checked on its own so that one bad row refuses that row only.

JSON holds a list of items, one item, or a whole request body (its ``data``; its
``isUpdating`` counts as ``--updating``). CSV has one row per dossier under a header of wire
names; list fields (``TaiLieuNop``, ``DanhSachLePhi``…) hold JSON text in their cell.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lgsp.cli._client import EXIT_REMOTE, call_failure, refusal_code
from lgsp.dossiers import DossierSyncItem, validate_dossier
from lgsp.errors import AuthError, LgspError, RemoteServiceError, TransportError, ValidationError
from lgsp.findings import Finding

if typing.TYPE_CHECKING:
    from collections.abc import Callable

    from lgsp.clients import Client

__all__ = [
    "BulkFile",
    "BulkItem",
    "StoppedError",
    "UnreadableError",
    "check_items",
    "read_file",
    "send_items",
]

_INDEX = re.compile(r"\[(\d+)\]")
_TRUE = ("true", "1", "yes")


class UnreadableError(ValueError):
    """A file that holds no dossier item lgsp can read; the message says why."""


@dataclasses.dataclass
class BulkItem:
    """One dossier of the input: where it came from, its wire fields, what is wrong with it."""

    source: str
    raw: dict[str, Any]
    updating: bool = False
    findings: list[Finding] = dataclasses.field(default_factory=list)
    model: DossierSyncItem | None = None
    accepted: bool | None = None  # None: not sent (refused locally, or the run stopped)
    batch: int | None = None
    error: dict[str, Any] | None = None

    @property
    def code(self) -> str | None:
        value = self.raw.get("MaHoSo")
        return None if value is None else str(value)

    @property
    def refused_locally(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "code": self.code,
            "accepted": bool(self.accepted),
            "sent": self.accepted is not None,
            "batch": self.batch,
            "updating": self.updating,
            "findings": [
                {
                    "rule": f.rule,
                    "severity": f.severity,
                    "location": f.location,
                    "message": f.message,
                }
                for f in self.findings
            ],
            "error": self.error,
        }


@dataclasses.dataclass
class BulkFile:
    """A file of the input: its format and its items, or why it cannot be read."""

    path: str
    format: str | None = None
    items: list[BulkItem] = dataclasses.field(default_factory=list)
    error: str | None = None


def _list_fields() -> frozenset[str]:
    """Wire names of DongBoHoSoMC's list fields (their CSV cells hold JSON)."""
    return frozenset(
        str(field.alias)
        for field in DossierSyncItem.model_fields.values()
        if typing.get_origin(field.annotation) is list
    )


def _local(location: str, message: str) -> Finding:
    return Finding(rule="dossier.input", severity="error", location=location, message=message)


def read_file(path: Path) -> BulkFile:
    """The items of one file ('-' is standard input); unreadable files say why."""
    name = str(path)
    result = BulkFile(path=name)
    try:
        raw = sys.stdin.buffer.read() if name == "-" else path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        result.error = f"{exc.strerror or exc}"
        return result
    except UnicodeDecodeError as exc:
        result.error = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        return result
    is_json = path.suffix.lower() == ".json" or (
        path.suffix.lower() != ".csv" and text.lstrip()[:1] in ("[", "{")
    )
    try:
        if is_json:
            result.format = "json"
            result.items = _from_json(name, text)
        else:
            result.format = "csv"
            result.items = _from_csv(name, text)
    except UnreadableError as exc:
        result.error = str(exc)
    except RecursionError:
        result.error = "JSON nested too deeply to read"
    if not result.items and result.error is None:
        result.error = "no dossier in it"
    return result


def _is_true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def _from_json(name: str, text: str) -> list[BulkItem]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableError(
            f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    updating = False
    if isinstance(data, Mapping) and isinstance(data.get("data"), list):
        updating = _is_true(data.get("isUpdating", False))
        data = data["data"]
    elif isinstance(data, Mapping) and "MaHoSo" in data:
        data = [data]
    if not isinstance(data, list):
        raise UnreadableError(
            "no dossier items: expected a list of DongBoHoSoMC items, one item, or a request "
            "body with 'data'"
        )
    items = []
    for i, value in enumerate(data):
        item = BulkItem(f"{name}[{i}]", dict(value) if isinstance(value, Mapping) else {}, updating)
        if not isinstance(value, Mapping):
            item.findings.append(_local(item.source, "not a JSON object"))
        items.append(item)
    return items


def _from_csv(name: str, text: str) -> list[BulkItem]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\x00extra")
        fields = reader.fieldnames
        if not fields or not any(f.strip() for f in fields):
            raise UnreadableError("no header row (the first row names the wire fields: MaHoSo…)")
        lists = _list_fields()
        items = []
        for row in reader:
            item = BulkItem(f"{name}:{reader.line_num}", {})
            for key, cell in row.items():
                if key == "\x00extra":
                    item.findings.append(_local(item.source, "more cells than header columns"))
                    continue
                column = key.strip()
                if cell is None or not cell.strip() or not column:
                    continue
                if column in lists:
                    try:
                        item.raw[column] = json.loads(cell)
                    except json.JSONDecodeError as exc:
                        item.findings.append(
                            _local(f"{item.source} {column}", f"not JSON text: {exc.msg}")
                        )
                    continue
                item.raw[column] = cell.strip()
            if item.raw or item.findings:  # a row of empty cells is no dossier
                items.append(item)
    except csv.Error as exc:
        raise UnreadableError(f"not CSV: {exc}") from None
    return items


def check_items(items: list[BulkItem]) -> None:
    """Validate every item for the classic target (strict) and read the sound ones into models.

    The items are checked together, so one dossier twice in the input is found; each finding
    goes to its item, with positions shown as the items' own sources.
    """
    readable = [item for item in items if item.raw and not item.refused_locally]
    sources = [item.source for item in readable]
    if readable:
        found = validate_dossier(
            [item.raw for item in readable], target="classic", profile="strict", kind="sync-item"
        )
        for finding in found:
            match = _INDEX.match(finding.location)
            if match is None:
                continue
            index = int(match.group(1))
            location = sources[index] + finding.location[match.end() :]
            message = _INDEX.sub(lambda m: _source(sources, m), finding.message)
            readable[index].findings.append(
                finding.model_copy(update={"location": location, "message": message})
            )
    for item in readable:
        if item.refused_locally:
            continue
        try:
            item.model = DossierSyncItem.from_wire(item.raw, target="classic")
        except (LgspError, ValueError) as exc:
            item.findings.append(_local(item.source, f"cannot be read: {exc}"))


def _source(sources: list[str], match: re.Match[str]) -> str:
    index = int(match.group(1))
    return sources[index] if index < len(sources) else match.group(0)


# sending -----------------------------------------------------------------------------------------
class StoppedError(Exception):
    """The platform could not be reached: the run stops; ``code`` and ``message`` say why."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _batches(items: list[BulkItem], size: int) -> list[list[BulkItem]]:
    """Consecutive items with the same isUpdating, at most ``size`` per batch."""
    out: list[list[BulkItem]] = []
    for item in items:
        if out and len(out[-1]) < size and out[-1][0].updating == item.updating:
            out[-1].append(item)
        else:
            out.append([item])
    return out


def _sync(client: Client, batch: list[BulkItem]) -> None:
    """One DongBoHoSoMC call; raises StoppedError when the platform failed (not the items)."""
    models = [item.model for item in batch if item.model is not None]
    try:
        client.dossiers.sync(models, updating=batch[0].updating)
    except RemoteServiceError as exc:
        if refusal_code(exc) == EXIT_REMOTE:
            raise StoppedError(*call_failure(exc)) from None
        raise
    except (TransportError, AuthError) as exc:
        raise StoppedError(*call_failure(exc)) from None


def _refuse(item: BulkItem, exc: RemoteServiceError | ValidationError) -> None:
    item.accepted = False
    if isinstance(exc, ValidationError):
        item.findings += exc.findings
        item.error = {"code": None, "message": "the client's own check refused the batch"}
    else:
        item.error = {"code": exc.code, "message": exc.message}


def send_items(
    client: Client, items: list[BulkItem], size: int, advance: Callable[[int], None]
) -> None:
    """Send the sound items in batches of ``size``; a batch the portal refuses is sent again
    item by item (DongBoHoSoMC keys dossiers by MaHoSo: harmless), so that each refusal
    names its dossier. Raises StoppedError when the platform fails; what was not sent by
    then keeps ``accepted`` None."""
    for number, batch in enumerate(_batches([i for i in items if i.model], size), 1):
        for item in batch:
            item.batch = number
        try:
            _sync(client, batch)
        except (RemoteServiceError, ValidationError) as exc:
            if len(batch) == 1:
                _refuse(batch[0], exc)
            else:
                for item in batch:
                    try:
                        _sync(client, [item])
                    except (RemoteServiceError, ValidationError) as one:
                        _refuse(item, one)
                    else:
                        item.accepted = True
        else:
            for item in batch:
                item.accepted = True
        advance(len(batch))
