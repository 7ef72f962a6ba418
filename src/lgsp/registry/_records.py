"""Records on their way into the cache: validated, keyed, folded, written."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pydantic

from lgsp.errors import RegistryError
from lgsp.registry import _store as sql
from lgsp.registry.folding import FoldedName
from lgsp.registry.models import AdminScheme, RegistryKind, RegistryRecord, SyncUnit, model_for

__all__ = ["FetchResult", "entry_rows", "fetched_records", "write_entries"]

FetchResult = (
    RegistryRecord | Mapping[str, Any] | Sequence[RegistryRecord | Mapping[str, Any]] | None
)
"""What a fetch function may return: a record, a dict, a list of either, or nothing."""

Key = tuple[str, str]
"""(scheme, code): what makes an entry unique within its kind."""


def fetched_records(kind: RegistryKind, code: str, result: FetchResult) -> list[RegistryRecord]:
    """A fetch result as records; empty for "nothing found"."""
    if result is None:
        return []
    items: list[Any] = [result] if isinstance(result, RegistryRecord | Mapping) else list(result)
    items = [i for i in items if not (isinstance(i, Mapping) and not i)]
    model = model_for(kind)
    records: list[RegistryRecord] = []
    for index, item in enumerate(items):
        try:
            record = item if isinstance(item, model) else model.model_validate(item)
        except pydantic.ValidationError as exc:
            raise RegistryError(f"fetched {kind} record {index} is not valid: {exc}") from exc
        if not record.index_fields().code and len(items) == 1:
            record = record.model_copy(update={"code": code})
        records.append(record)
    return records


def entry_rows(
    kind: RegistryKind,
    records: Iterable[RegistryRecord | Mapping[str, Any]],
    source: str,
    stamp: float,
) -> tuple[dict[Key, tuple[Any, ...]], list[Key]]:
    """Rows for the entries table by key, and the keys of units the feed deleted."""
    model = model_for(kind)
    rows: dict[Key, tuple[Any, ...]] = {}
    tombstones: list[Key] = []
    for index, item in enumerate(records):
        try:
            record = item if isinstance(item, model) else model.model_validate(item)
        except pydantic.ValidationError as exc:
            raise RegistryError(
                f"record {index} is not a valid {kind} record: {exc}", source=source
            ) from exc
        fields = record.index_fields()
        if not fields.code:
            raise RegistryError(f"record {index} has no code", source=source)
        key = (fields.scheme, fields.code)
        if isinstance(record, SyncUnit) and record.deleted:
            tombstones.append(key)
            rows.pop(key, None)
            continue
        folded = FoldedName(fields.name)
        rows[key] = (
            kind.value,
            fields.scheme,
            fields.code,
            fields.ident,
            fields.parent,
            fields.name,
            folded.key,
            len(folded.key),
            record.model_dump_json(by_alias=True, exclude_none=True),
            source,
            stamp,
        )
    return rows, tombstones


def write_entries(
    conn: sqlite3.Connection,
    kind: RegistryKind,
    *,
    rows: Mapping[Key, tuple[Any, ...]],
    tombstones: Sequence[Key],
    link_rows: Sequence[tuple[Any, ...]],
    source: str,
    stamp: float,
    replace: bool,
    scheme: AdminScheme | str | None,
) -> int:
    """Write prepared rows in the caller's transaction; how many entries were removed."""
    kind_id = sql.KIND_IDS[kind.value]
    removed = 0
    if replace:
        if kind is not RegistryKind.ADMIN_UNITS:
            conn.execute(sql.DELETE_KIND_WORDS, (kind_id,))
            conn.execute(sql.DELETE_KIND_COUNTS, (kind_id,))
            removed += conn.execute(sql.DELETE_KIND, (kind.value,)).rowcount
        else:
            dropped = {AdminScheme(scheme).value} if scheme else {s for s, _ in rows}
            for each in sorted(dropped):
                found = sql.rows(conn, sql.FORGET_SCHEME, (kind.value, each))
                removed += sql.forget(conn, found)
    if conn.execute(sql.HAS_KIND, (kind.value,)).fetchone() is not None:
        # Entries replaced (same kind, scheme and code) and units deleted by the feed.
        keys = set(rows) | set(tombstones)
        codes = sorted({code for _, code in keys})
        for chunk in range(0, len(codes), 10_000):
            found = [
                r
                for r in sql.rows(
                    conn,
                    sql.FORGET_CODES,
                    (kind.value, _json(codes[chunk : chunk + 10_000])),
                )
                if (r[4], r[5]) in keys
            ]
            removed += sum(1 for r in found if (r[4], r[5]) not in rows)
            sql.forget(conn, found)
    first = conn.execute(sql.NEXT_ID).fetchone()[0]
    ids = {key: first + n for n, key in enumerate(rows)}
    conn.executemany(sql.INSERT_ENTRY, [(ids[k], *row) for k, row in rows.items()])
    conn.execute(sql.INSERT_WORDS, {"kind_id": kind_id, "first": first})
    conn.execute(sql.COUNT_WORDS, {"kind_id": kind_id, "first": first})
    conn.executemany(sql.INSERT_LINK, link_rows)
    count = conn.execute(sql.COUNT_SOURCE, (kind.value, source)).fetchone()[0]
    conn.execute(sql.NOTE_SOURCE, (kind.value, source, stamp, count))
    return removed


def _json(items: Iterable[Any]) -> str:
    return json.dumps(list(items), ensure_ascii=False)
