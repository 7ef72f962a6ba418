"""Name search over the cache's tables: exact, then prefix, then all-words matches.

Every name is stored with its folded key (see :mod:`lgsp.registry.folding`) and one row per
distinct word, ``(kind, word, key length, entry)``, in a B-tree; a second table counts the
names holding each word. A query is folded the same way and answered in tiers, each with a
``LIMIT``:

1. **exact** — the whole key equals the query's key (an index probe);
2. **prefix** — the key starts with the query's key (a range scan of the same index, in key
   order): ``ubnd xa hoa ti`` finds ``UBND xã Hòa Tiến - UBND huyện Hòa Vang…``;
3. **words** — only when no name equals or starts with the query: every word of the query
   is a word of the name, in any order, the last word whole first, then as the start of a
   word. The scan follows the query's rarest word in ``(word, length)`` order, so the shortest
   names come first without sorting; each other word, rarest first, is one primary-key probe.

A query whose words are each common but rarely together (``tan phu hoa an``) costs a scan of
the rarest word's names; anything more specific is a few index probes.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Literal

from lgsp.registry._store import KIND_IDS
from lgsp.registry.folding import FoldedName

__all__ = ["MatchKind", "search_ids", "tier"]

MatchKind = Literal["code", "exact", "prefix", "tokens"]
"""How an entry matched: by code, or by name (exact key, key prefix, all words)."""

_TIERS: dict[MatchKind, int] = {"code": 0, "exact": 1, "prefix": 2, "tokens": 3}
_TOP = chr(0x10FFFF)  # sorts after every other character, in SQLite's BINARY collation too
_MAX_JOINED = 6
"""Words beyond the driver checked by index probes; more are checked in the folded key."""

# Named parameters throughout; lists (schemes, extra words) travel as JSON arrays read with
# json_each. ``:schemes`` is NULL for "any scheme".
_EXACT = (
    "SELECT id, nlen FROM entries WHERE kind = :kind AND folded = :key AND (:schemes IS NULL "
    "OR scheme IN (SELECT value FROM json_each(:schemes))) LIMIT :limit"
)
_PREFIX = (
    "SELECT id, nlen FROM entries WHERE kind = :kind AND folded > :key AND folded < :top "
    "AND (:schemes IS NULL OR scheme IN (SELECT value FROM json_each(:schemes))) LIMIT :limit"
)
_FREQUENCIES = (
    "SELECT token, df FROM words WHERE kind = :kind_id "
    "AND token IN (SELECT value FROM json_each(:tokens))"
)
# A lone word taken as the start of longer words, in word order.
_BY_PREFIX = (
    "SELECT DISTINCT t.entry, t.nlen FROM tokens t CROSS JOIN entries e ON e.id = t.entry "
    "WHERE t.kind = :kind_id AND t.token > :prefix AND t.token < :prefix_top "
    "AND (:schemes IS NULL OR e.scheme IN (SELECT value FROM json_each(:schemes))) "
    "LIMIT :limit"
)


@functools.lru_cache(maxsize=64)
def _by_words(joined: int, checked: bool) -> str:
    """The all-words statement: driver ``:driver``, ``joined`` words probed (``:w0``…), and
    with ``checked`` the prefix, extra words and schemes tested in the entry's folded key.

    Built from constant pieces only (values are bound); CROSS JOIN keeps the driver outside,
    so rows come in its index order.
    """
    sql = ["SELECT t.entry, t.nlen FROM tokens t"]
    sql += [
        f"CROSS JOIN tokens x{i} ON x{i}.kind = t.kind AND x{i}.token = :w{i} "
        f"AND x{i}.nlen = t.nlen AND x{i}.entry = t.entry"
        for i in range(joined)
    ]
    if checked:
        sql.append("CROSS JOIN entries e ON e.id = t.entry")
    sql.append("WHERE t.kind = :kind_id AND t.token = :driver")
    if checked:
        sql.append(
            "AND (:prefix IS NULL OR instr(' ' || e.folded, ' ' || :prefix) > 0) "
            "AND NOT EXISTS (SELECT 1 FROM json_each(:rest) r "
            "WHERE instr(' ' || e.folded || ' ', ' ' || r.value || ' ') = 0) "
            "AND (:schemes IS NULL OR e.scheme IN (SELECT value FROM json_each(:schemes)))"
        )
    sql.append("ORDER BY t.nlen, t.entry LIMIT :limit")
    return " ".join(sql)


def _rows(cursor: sqlite3.Cursor) -> list[tuple[int, int]]:
    return [(int(r[0]), int(r[1])) for r in cursor.fetchall()]


def _words_query(
    conn: sqlite3.Connection,
    *,
    kind_id: int,
    full: Sequence[str],
    prefix: str | None,
    schemes: str | None,
    limit: int,
) -> list[tuple[int, int]]:
    """Entries having every word of ``full`` and a word starting with ``prefix``; (id, length)."""
    args: dict[str, object] = {"kind_id": kind_id, "schemes": schemes, "limit": limit}
    if not full:
        assert prefix is not None  # noqa: S101 - the caller passes one or the other
        args |= {"prefix": prefix, "prefix_top": prefix + _TOP}
        return _rows(conn.execute(_BY_PREFIX, args))
    counts = dict(conn.execute(_FREQUENCIES, {"kind_id": kind_id, "tokens": json.dumps(full)}))
    if any(not counts.get(word) for word in full):
        return []  # a word no name has
    ordered = sorted(full, key=lambda w: (counts[w], -len(w)))
    driver, probed, rest = ordered[0], ordered[1 : 1 + _MAX_JOINED], ordered[1 + _MAX_JOINED :]
    checked = prefix is not None or bool(rest) or schemes is not None
    args |= {f"w{i}": word for i, word in enumerate(probed)}
    args |= {"driver": driver, "prefix": prefix, "rest": json.dumps(rest)}
    return _rows(conn.execute(_by_words(len(probed), checked), args))


def search_ids(
    conn: sqlite3.Connection,
    kind: str,
    query: FoldedName,
    limit: int,
    schemes: Sequence[str] | None = None,
) -> list[tuple[int, MatchKind, int]]:
    """Up to ``limit`` entries of ``kind`` matching ``query``: (id, how, key length), best first."""
    key = query.key
    words = key.split()
    if not words or limit <= 0:
        return []
    found: list[tuple[int, MatchKind, int]] = []
    seen: set[int] = set()

    def take(rows: Sequence[tuple[int, int]], how: MatchKind) -> bool:
        for entry, length in sorted(rows, key=lambda r: r[1]):
            if entry not in seen:
                seen.add(entry)
                found.append((entry, how, length))
                if len(found) >= limit:
                    return True
        return False

    scheme_list = json.dumps(list(schemes)) if schemes else None
    args = {"kind": kind, "key": key, "schemes": scheme_list, "limit": limit}
    if take(conn.execute(_EXACT, args).fetchall(), "exact"):
        return found
    for start in (key, query.typed):
        if start is not None and len(found) < limit:
            args |= {"key": start, "top": start + _TOP, "limit": limit - len(found)}
            take(conn.execute(_PREFIX, args).fetchall(), "prefix")
    if found:
        return found
    full = list(dict.fromkeys(words))
    last = words[-1]
    # The last word whole first (shortest names first), then as the start of a longer word.
    for complete, prefix in ((full, None), ([w for w in full if w != last], last)):
        if prefix is not None and prefix in complete:
            continue
        rows = _words_query(
            conn,
            kind_id=KIND_IDS[kind],
            full=complete,
            prefix=prefix,
            schemes=scheme_list,
            limit=limit,  # entries of the first pass may come back: as many more as taken
        )
        if take(rows, "tokens"):
            break
    return found


def tier(how: MatchKind) -> int:
    """Rank of a match kind: lower is better."""
    return _TIERS[how]
