"""The local registry cache: a SQLite file (or ``:memory:``) of directory entries.

It imports service responses and files, answers lookups by code and by name (accent-insensitive,
see :mod:`lgsp.registry.search`), walks hierarchies, and knows when and from where each entry
came. Failed lookups are never stored: :meth:`RegistryCache.get_or_fetch` stores only what a
fetch returned successfully.

Threads each get their own connection to a file cache (WAL journal: readers never wait for a
writer; writers queue behind ``busy_timeout``), so several threads and processes can share one
file. A ``:memory:`` cache has one connection behind a lock. Nothing touches the disk until the
first call.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lgsp.errors import RegistryError
from lgsp.registry import _store as sql
from lgsp.registry._records import FetchResult, entry_rows, fetched_records, write_entries
from lgsp.registry._store import Store, default_registry_path
from lgsp.registry.entries import (
    AdminLink,
    ImportReport,
    LookupResult,
    RegistryEntry,
    SourceInfo,
    code_candidates,
    schemes_for,
)
from lgsp.registry.folding import FoldedName
from lgsp.registry.importers import InputFormat, ParsedFile, read_registry_data, read_registry_file
from lgsp.registry.models import (
    AdminScheme,
    AdminUnitMapping,
    RegistryKind,
    RegistryRecord,
)
from lgsp.registry.search import MatchKind, search_ids, tier

__all__ = ["FetchResult", "RegistryCache", "default_registry_path"]


_CACHE_MAX_AGE: Any = object()  # "use the cache's max_age"


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _json(items: Iterable[Any]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def _compact(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class RegistryCache:
    """A local store of registry entries (see the module docstring).

    ``path`` is a file (created with its folder on first use), ``":memory:"``, or None for
    :func:`default_registry_path`. ``max_age`` marks older entries ``stale`` and makes
    :meth:`get_or_fetch` fetch them again; ``clock`` returns the current time (tests pin it).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_age: dt.timedelta | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.path: str | Path = (
            ":memory:" if str(path) == ":memory:" else Path(path or default_registry_path())
        )
        self.max_age = max_age
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._store = Store(self.path, timeout=timeout)

    def __enter__(self) -> RegistryCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryCache({str(self.path)!r})"

    def close(self) -> None:
        """Close every connection (from any thread); the cache cannot be used afterwards."""
        self._store.close()

    # --- reading entries --------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self._clock().astimezone(dt.UTC)

    def _entry(
        self,
        row: Sequence[Any],
        match: MatchKind | None = None,
        *,
        max_age: dt.timedelta | None = _CACHE_MAX_AGE,
        now: dt.datetime | None = None,
    ) -> RegistryEntry:
        limit = self.max_age if max_age is _CACHE_MAX_AGE else max_age
        fetched_at = _utc(row[7])
        return RegistryEntry(
            kind=RegistryKind(row[1]),
            code=row[3],
            name=row[4],
            scheme=AdminScheme(row[2]) if row[2] else None,
            source=row[6],
            fetched_at=fetched_at,
            stale=limit is not None and (now or self._now()) - fetched_at > limit,
            match=match,
            raw=row[5],
        )

    def _row(
        self, conn: sqlite3.Connection, kind: RegistryKind, code: str, schemes: Sequence[str]
    ) -> tuple[Any, ...] | None:
        found = sql.rows(conn, sql.BY_KIND_CODE, (kind.value, code, _json(schemes)))
        return min(found, key=lambda r: schemes.index(r[2])) if found else None

    def get(
        self,
        kind: RegistryKind | str,
        code: str,
        *,
        scheme: AdminScheme | str | None = None,
        max_age: dt.timedelta | None = _CACHE_MAX_AGE,
    ) -> RegistryEntry | None:
        """The entry of ``kind`` with ``code``, stale or not (see ``entry.stale``); or None.

        For admin units without ``scheme``, a 2025 unit wins over a legacy one of that code.
        """
        kind = RegistryKind(kind)
        with self._store.db() as conn:
            row = self._row(conn, kind, code, schemes_for(kind, scheme))
        return None if row is None else self._entry(row, max_age=max_age)

    def find_code(
        self, code: str, *, kind: RegistryKind | str | None = None, limit: int | None = None
    ) -> list[RegistryEntry]:
        """Every entry with ``code``, of any kind (or of ``kind``) and any scheme."""
        return self._by_codes([code], kind, limit)

    def _by_codes(
        self, codes: Sequence[str], kind: RegistryKind | str | None, limit: int | None
    ) -> list[RegistryEntry]:
        args = {"codes": _json(codes), "kind": None if kind is None else RegistryKind(kind).value}
        with self._store.db() as conn:
            found = sql.rows(conn, sql.BY_CODES, args)
        order = {code: n for n, code in enumerate(codes)}
        found.sort(key=lambda r: order.get(r[3], len(order)))  # stable: kind, scheme kept
        now = self._now()
        return [self._entry(r, "code", now=now) for r in found[:limit]]

    def search(
        self,
        query: str,
        *,
        kind: RegistryKind | str | None = None,
        limit: int = 10,
        scheme: AdminScheme | str | None = None,
    ) -> list[RegistryEntry]:
        """Entries whose name matches ``query``: exact, then prefix, then all words (any order).

        Matching ignores marks, case, ``đ``/``d`` and punctuation, and reads ``UBND``/``Ủy ban
        nhân dân`` (and ``HĐND``, ``TP``, ``TX``) as the same word.
        """
        folded = FoldedName(query)
        if not folded.key or limit <= 0:
            return []
        schemes = [AdminScheme(scheme).value] if scheme is not None else None
        with self._store.db() as conn:
            if kind is not None:
                kinds = [RegistryKind(kind)]
            else:
                present = {r[0] for r in conn.execute(sql.KINDS)}
                kinds = [k for k in RegistryKind if k.value in present]
            hits: list[tuple[int, int, int, int, MatchKind]] = []
            for order, each in enumerate(kinds):
                found = search_ids(conn, each.value, folded, limit, schemes)
                hits += [(tier(how), length, order, i, how) for i, how, length in found]
            if len(kinds) > 1:
                hits = sorted(hits, key=lambda h: h[:3])[:limit]
            by_id = {r[0]: r for r in sql.rows(conn, sql.BY_IDS, (_json(h[3] for h in hits),))}
        now = self._now()
        return [self._entry(by_id[h[3]], h[4], now=now) for h in hits if h[3] in by_id]

    def lookup(
        self, query: str, *, kind: RegistryKind | str | None = None, limit: int = 10
    ) -> LookupResult:
        """By code when ``query`` reads as one and such an entry exists, else by name."""
        candidates = code_candidates(query)
        if candidates:
            entries = self._by_codes(candidates, kind, limit)
            if entries:
                return LookupResult(query, "code", entries)
        return LookupResult(query, "name", self.search(query, kind=kind, limit=limit))

    def count(self, kind: RegistryKind | str | None = None) -> int:
        """How many entries the cache holds (of ``kind``)."""
        with self._store.db() as conn:
            value = None if kind is None else RegistryKind(kind).value
            return int(conn.execute(sql.COUNT, {"kind": value}).fetchone()[0])

    # --- fetch on a miss --------------------------------------------------------------------

    def get_or_fetch(
        self,
        kind: RegistryKind | str,
        code: str,
        fetch: Callable[[str], FetchResult],
        *,
        scheme: AdminScheme | str | None = None,
        max_age: dt.timedelta | None = _CACHE_MAX_AGE,
        source: str = "fetch",
        stale_if_error: bool = False,
    ) -> RegistryEntry | None:
        """The fresh entry for ``code``; on a miss or a stale entry, ``fetch(code)`` and store.

        Nothing is stored when ``fetch`` raises (the exception propagates, or with
        ``stale_if_error`` the stale entry is returned), returns nothing (None, ``[]``, ``{}``:
        the result is None), or returns records none of which has ``code``. A lone record
        without a code (a ``LayThuTuc`` answer) gets ``code``. Otherwise every record the fetch
        returned is stored. Two threads missing the same code may both fetch; the last store
        wins.
        """
        kind = RegistryKind(kind)
        entry = self.get(kind, code, scheme=scheme, max_age=max_age)
        if entry is not None and not entry.stale:
            return entry
        try:
            result = fetch(code)
        except Exception:
            if stale_if_error and entry is not None:
                return entry
            raise
        records = fetched_records(kind, code, result)
        wanted = schemes_for(kind, scheme)
        keys = [r.index_fields() for r in records]
        if not any(k.code == code and k.scheme in wanted for k in keys):
            return None
        self.import_records(kind, records, source=source)
        return self.get(kind, code, scheme=scheme, max_age=max_age)

    # --- imports ----------------------------------------------------------------------------

    def import_file(
        self,
        path: str | os.PathLike[str],
        *,
        kind: RegistryKind | str | None = None,
        scheme: AdminScheme | str | None = None,
        input_format: InputFormat | None = None,
        replace: bool = False,
    ) -> ImportReport:
        """Import a JSON or CSV file (see :mod:`lgsp.registry.importers`); all or nothing."""
        parsed = read_registry_file(Path(path), kind=kind, scheme=scheme, input_format=input_format)
        return self.import_parsed(parsed, replace=replace)

    def import_data(
        self,
        data: bytes | str,
        *,
        kind: RegistryKind | str | None = None,
        scheme: AdminScheme | str | None = None,
        input_format: InputFormat | None = None,
        source: str = "<input>",
        replace: bool = False,
    ) -> ImportReport:
        """Import JSON or CSV text or bytes, e.g. a service response body; all or nothing."""
        parsed = read_registry_data(
            data, kind=kind, scheme=scheme, input_format=input_format, source=source
        )
        return self.import_parsed(parsed, replace=replace)

    def import_parsed(self, parsed: ParsedFile, *, replace: bool = False) -> ImportReport:
        """Store what :func:`~lgsp.registry.importers.read_registry_file` read."""
        return self.import_records(
            parsed.kind,
            parsed.records,
            source=parsed.source,
            replace=replace,
            links=parsed.mappings,
        )

    def import_records(
        self,
        kind: RegistryKind | str,
        records: Iterable[RegistryRecord | Mapping[str, Any]],
        *,
        source: str,
        replace: bool = False,
        scheme: AdminScheme | str | None = None,
        links: Iterable[AdminUnitMapping] = (),
    ) -> ImportReport:
        """Store records of ``kind`` (models or dicts) from ``source``, in one transaction.

        An entry with the same kind, scheme and code is replaced. A ``SyncUnit`` marked
        ``deleted`` removes its entry. ``replace`` first drops every entry of the kind (of the
        schemes imported, for admin units; of ``scheme`` when given).
        """
        kind = RegistryKind(kind)
        now = self._now()
        stamp = now.timestamp()
        rows, tombstones = entry_rows(kind, records, source, stamp)
        link_rows = [
            (link.old_code, link.new_code, _compact(link.dump_wire()), source, stamp)
            for link in links
        ]
        with self._store.write() as conn:
            removed = write_entries(
                conn,
                kind,
                rows=rows,
                tombstones=tombstones,
                link_rows=link_rows,
                source=source,
                stamp=stamp,
                replace=replace,
                scheme=scheme,
            )
        return ImportReport(kind, source, len(rows), removed, len(link_rows), now)

    # --- freshness --------------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        """Every source imported, when it was last imported, and its entry count then."""
        with self._store.db() as conn:
            found = sql.rows(conn, sql.SOURCES, ())
        return [SourceInfo(RegistryKind(k), s, _utc(t), int(c)) for k, s, t, c in found]

    def stale_entries(
        self,
        *,
        kind: RegistryKind | str | None = None,
        max_age: dt.timedelta | None = None,
        limit: int | None = None,
    ) -> list[RegistryEntry]:
        """Entries older than ``max_age`` (default: the cache's), oldest first."""
        age = max_age or self.max_age
        if age is None:
            return []
        now = self._now()
        args = {
            "cutoff": (now - age).timestamp(),
            "kind": None if kind is None else RegistryKind(kind).value,
            "limit": -1 if limit is None else limit,
        }
        with self._store.db() as conn:
            found = sql.rows(conn, sql.STALE, args)
        return [self._entry(r, max_age=age, now=now) for r in found]

    def remove_stale(
        self, *, kind: RegistryKind | str | None = None, max_age: dt.timedelta | None = None
    ) -> int:
        """Drop entries older than ``max_age`` (default: the cache's); how many were dropped."""
        age = max_age or self.max_age
        if age is None:
            return 0
        args = {
            "cutoff": (self._now() - age).timestamp(),
            "kind": None if kind is None else RegistryKind(kind).value,
        }
        with self._store.write() as conn:
            return sql.forget(conn, sql.rows(conn, sql.FORGET_STALE, args))

    def remove(
        self, kind: RegistryKind | str, code: str, *, scheme: AdminScheme | str | None = None
    ) -> bool:
        """Drop one entry (of every scheme, for admin units without ``scheme``); whether any."""
        kind = RegistryKind(kind)
        schemes = _json(schemes_for(kind, scheme))
        with self._store.write() as conn:
            return sql.forget(conn, sql.rows(conn, sql.FORGET_ONE, (kind.value, code, schemes))) > 0

    # --- hierarchy --------------------------------------------------------------------------

    @staticmethod
    def _parent_row(conn: sqlite3.Connection, row: Sequence[Any]) -> tuple[Any, ...] | None:
        kind, scheme, parent = row[1], row[2], row[9]
        if not parent:
            return None
        # VXP's pid names the parent's id; files and units give the parent's code.
        for statement in (sql.BY_IDENT, sql.BY_CODE_IN_SCHEME):
            found = conn.execute(statement, (kind, scheme, parent)).fetchone()
            if found is not None and found[0] != row[0]:
                return tuple(found)
        return None

    def parent(
        self, kind: RegistryKind | str, code: str, *, scheme: AdminScheme | str | None = None
    ) -> RegistryEntry | None:
        """The parent of an entry (by ``pid`` for VXP records, ``parent_code`` for units)."""
        kind = RegistryKind(kind)
        with self._store.db() as conn:
            row = self._row(conn, kind, code, schemes_for(kind, scheme))
            parent = self._parent_row(conn, row) if row is not None else None
        return self._entry(parent) if parent is not None else None

    def children(
        self,
        kind: RegistryKind | str,
        code: str,
        *,
        scheme: AdminScheme | str | None = None,
        limit: int | None = None,
    ) -> list[RegistryEntry]:
        """The entries whose parent is this one, ordered by code."""
        kind = RegistryKind(kind)
        with self._store.db() as conn:
            row = self._row(conn, kind, code, schemes_for(kind, scheme))
            if row is None:
                return []
            args = {
                "kind": kind.value,
                "scheme": row[2],
                "keys": _json(dict.fromkeys([row[8], row[3]])),  # its id, and its code
                "id": row[0],
                "limit": -1 if limit is None else limit,
            }
            found = sql.rows(conn, sql.CHILDREN, args)
        now = self._now()
        return [self._entry(r, now=now) for r in found]

    def path_to_root(
        self, kind: RegistryKind | str, code: str, *, scheme: AdminScheme | str | None = None
    ) -> list[RegistryEntry]:
        """The entry, its parent, and so on up to the root; empty when the entry is unknown.

        A parent missing from the cache ends the path early; a loop raises RegistryError.
        """
        kind = RegistryKind(kind)
        path: list[tuple[Any, ...]] = []
        seen: set[int] = set()
        with self._store.db() as conn:
            row = self._row(conn, kind, code, schemes_for(kind, scheme))
            while row is not None:
                if row[0] in seen:
                    raise RegistryError(
                        f"the parents of {kind} {code} loop back to {row[3]}: the directory "
                        "data is inconsistent"
                    )
                seen.add(row[0])
                path.append(row)
                row = self._parent_row(conn, row)
        now = self._now()
        return [self._entry(r, now=now) for r in path]

    # --- administrative-unit links ----------------------------------------------------------

    def _links(self, statement: str, code: str) -> list[AdminLink]:
        with self._store.db() as conn:
            found = sql.rows(conn, statement, (code,))
        kind = RegistryKind.ADMIN_UNITS
        return [
            AdminLink(
                old_code=old,
                new_code=new,
                old=self.get(kind, old, scheme=AdminScheme.LEGACY),
                new=self.get(kind, new, scheme=AdminScheme.V2025),
                mapping=AdminUnitMapping.model_validate_json(data),
                source=source,
            )
            for old, new, data, source in found
        ]

    def successors(self, old_code: str) -> list[AdminLink]:
        """The 2025 units a legacy unit became (part of)."""
        return self._links(sql.LINKS_FROM, old_code)

    def predecessors(self, new_code: str) -> list[AdminLink]:
        """The legacy units a 2025 unit was formed from."""
        return self._links(sql.LINKS_TO, new_code)
