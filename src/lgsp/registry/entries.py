"""What the registry cache hands back: entries with their provenance, reports, links."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from lgsp.codes import AdminUnitLevel, is_organ_code, is_procedure_code, normalize_admin_unit_code
from lgsp.errors import CodeError, RegistryError
from lgsp.registry.models import (
    AdminScheme,
    AdminUnitMapping,
    RegistryKind,
    RegistryRecord,
    model_for,
)
from lgsp.registry.search import MatchKind

__all__ = [
    "AdminLink",
    "ImportReport",
    "LookupResult",
    "RegistryEntry",
    "SourceInfo",
    "code_candidates",
]

R = TypeVar("R", bound=RegistryRecord)
_CODE_SHAPE = re.compile(r"[0-9A-Za-z]+(?:[.\-][0-9A-Za-z]+)+")
_UNIT_WIDTHS = {1: (2, 3, 5), 4: (5,)}
_LEVEL_OF_WIDTH = {
    2: AdminUnitLevel.PROVINCE,
    3: AdminUnitLevel.DISTRICT,
    5: AdminUnitLevel.COMMUNE,
}


@dataclass(frozen=True)
class RegistryEntry:
    """A cached record with its provenance: where it came from, when, and whether it is stale.

    ``match`` says how a lookup found it (None for :meth:`RegistryCache.get`). ``raw`` is the
    record as stored (wire names, JSON); ``record`` parses it on first use.
    """

    kind: RegistryKind
    code: str
    name: str
    scheme: AdminScheme | None
    source: str
    fetched_at: dt.datetime
    stale: bool
    match: MatchKind | None = None
    raw: str = field(default="{}", repr=False)

    @cached_property
    def record(self) -> RegistryRecord:
        """The record, as its kind's model."""
        return model_for(self.kind).model_validate_json(self.raw)

    def record_as(self, model: type[R]) -> R:
        """The record as ``model`` (e.g. ``Agency``); RegistryError if it is of another kind."""
        record = self.record
        if not isinstance(record, model):
            raise RegistryError(f"entry {self.code} is {self.kind}, not {model.__name__}")
        return record

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        """How long ago the entry was imported or fetched."""
        return (now or dt.datetime.now(dt.UTC)) - self.fetched_at


@dataclass(frozen=True, slots=True)
class LookupResult:
    """What :meth:`RegistryCache.lookup` found, and whether by ``code`` or by ``name``."""

    query: str
    matched_by: str
    entries: list[RegistryEntry]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import stored: entries written, entries removed, old → new links written."""

    kind: RegistryKind
    source: str
    imported: int
    removed: int
    links: int
    imported_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A source entries came from, when it was last imported, and how many entries hold it."""

    kind: RegistryKind
    source: str
    imported_at: dt.datetime
    count: int


@dataclass(frozen=True, slots=True)
class AdminLink:
    """A legacy unit → 2025 unit link, with both units when the cache holds them."""

    old_code: str
    new_code: str
    old: RegistryEntry | None
    new: RegistryEntry | None
    mapping: AdminUnitMapping
    source: str


def code_candidates(query: str) -> list[str]:
    """The codes a query may be; empty when it reads as a name.

    A single word is a code when it parses as an organ code (QCVN 102, QĐ 20, system id) or a
    procedure code, has the shape of a dotted or dashed code (``G03-GD10``), or holds a digit.
    Digits of no unit width are also tried zero-padded (``8`` → ``08``, ``008``, ``00008``),
    as spreadsheets drop the zeros.
    """
    text = query.strip()
    if not text or any(c.isspace() for c in text):
        return []
    looks_like_code = (
        any(c.isdigit() for c in text)
        or _CODE_SHAPE.fullmatch(text) is not None
        or is_organ_code(text)
        or is_procedure_code(text)
    )
    if not looks_like_code:
        return []
    found = dict.fromkeys([text, text.upper()])
    if text.isdigit():
        for width in _UNIT_WIDTHS.get(len(text), ()):
            try:
                found.setdefault(normalize_admin_unit_code(text, _LEVEL_OF_WIDTH[width]))
            except CodeError:  # pragma: no cover - digits of a smaller width always pad
                continue
    return list(found)


def schemes_for(kind: RegistryKind, scheme: AdminScheme | str | None) -> list[str]:
    """The schemes to look in, in order of preference (2025 before legacy when not given)."""
    if kind is not RegistryKind.ADMIN_UNITS:
        return [""]
    if scheme is None:
        return [AdminScheme.V2025.value, AdminScheme.LEGACY.value]
    return [AdminScheme(scheme).value]
