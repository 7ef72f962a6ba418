"""Outbox benchmarks: what durability costs per package.

* ``outbox``: :meth:`Outbox.put` of distinct 5,000-byte packages (payload file written, fsync'd,
  renamed, folder fsync'd, then the row committed with ``synchronous = FULL``), against the
  floor of that same durable work done bare in the same run: a temporary file written and
  fsync'd, renamed, the folder fsync'd, one ``INSERT`` committed in a WAL file with
  ``synchronous = FULL`` and no index. Target: a put well under a few milliseconds (≤ 3 ms).

  For context: a put of bytes already in the outbox (the dedupe path: a hash and one read), a
  ``BLOB``-in-the-row insert (one fsync: what a file-less design would cost), and one send
  cycle without the network — :meth:`Outbox.claim` + :meth:`Outbox.mark_delivered`, two
  commits — against two bare ``UPDATE`` commits.

Every figure is bound by fsync, so it says more about the disk than about lgsp; the ratios to
the bare work in the same run are the figures to compare across machines (second target:
at most 1.5x the bare work).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Row, Settings, Timing, compare, millis, noise, rate, times
from benchmarks._inputs import Inputs
from lgsp.clients.outbox import Outbox

PAYLOAD_BYTES = 5_000
PUT_TARGET_S = 0.003
PUT_TARGET_RATIO = 1.5
"""Put against the bare file + row work in the same run: carries over to any disk."""


def _payloads() -> Callable[[], bytes]:
    """Distinct 5,000-byte packages, one per call."""
    counter = itertools.count()
    filler = bytes(range(256)) * (PAYLOAD_BYTES // 256 + 1)

    def next_payload() -> bytes:
        head = b'<?xml version="1.0"?><edXML n="%d">' % next(counter)
        return (head + filler)[: PAYLOAD_BYTES - 8] + b"</edXML>"

    return next_payload


def _bare_db(path: Path, blob: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    kind = "BLOB" if blob else "TEXT"
    conn.execute(f"CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v {kind}, s TEXT)")
    return conn


def _bare_put(
    folder: Path, conn: sqlite3.Connection, payloads: Callable[[], bytes]
) -> Callable[[], None]:
    folder.mkdir(parents=True, exist_ok=True)
    counter = itertools.count()

    def put() -> None:
        data = payloads()
        n = next(counter)
        tmp = folder / f".tmp-{n}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(folder / f"{n}.edxml")
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v, s) VALUES (?, 'queued')", (str(n),))
        conn.execute("COMMIT")

    return put


def _blob_put(conn: sqlite3.Connection, payloads: Callable[[], bytes]) -> Callable[[], None]:
    def put() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v, s) VALUES (?, 'queued')", (payloads(),))
        conn.execute("COMMIT")

    return put


def _cycles(outbox: Outbox, bare: sqlite3.Connection, settings: Settings) -> dict[str, Timing]:
    """claim + mark_delivered on a queue filled beforehand, vs two bare UPDATE commits."""
    per_sample = 20 if settings.repeats < 10 else 50
    payloads = _payloads()
    ours: list[float] = []
    base: list[float] = []
    for sample in range(settings.repeats):
        for _ in range(per_sample):  # untimed: what the sample will send
            outbox.put(payloads())
        first = sample * per_sample + 1
        rows = range(first, first + per_sample)
        bare.executemany("INSERT INTO t (k, v, s) VALUES (?, 'x', 'queued')", [(k,) for k in rows])
        start = time.perf_counter()
        for _ in range(per_sample):
            entry = outbox.claim()
            assert entry is not None  # noqa: S101 - the queue was filled above
            outbox.mark_delivered(entry.payload_sha256, remote_id=None)
        ours.append((time.perf_counter() - start) / per_sample)
        start = time.perf_counter()
        for k in rows:
            for state in ("in_flight", "delivered"):
                bare.execute("BEGIN IMMEDIATE")
                bare.execute("UPDATE t SET s = ? WHERE k = ?", (state, k))
                bare.execute("COMMIT")
        base.append((time.perf_counter() - start) / per_sample)
    return {"lgsp": Timing(ours), "baseline": Timing(base)}


def outbox_case(inputs: Inputs, settings: Settings) -> list[Row]:
    """Outbox.put of 5 KB packages vs the bare durable work; claim + mark_delivered."""
    work = inputs.workdir / "outbox"
    work.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(work / "outbox.sqlite3")
    bare = _bare_db(work / "bare.sqlite3", blob=False)
    blob = _bare_db(work / "blob.sqlite3", blob=True)
    cycles_db = _bare_db(work / "cycles.sqlite3", blob=False)
    cycles_outbox = Outbox(work / "cycles-outbox.sqlite3")
    try:
        ours_payloads = _payloads()
        known = outbox.put(ours_payloads()).payload_sha256
        known_bytes = outbox.read_payload(known)
        t = compare(
            {
                "lgsp": lambda: outbox.put(ours_payloads()),
                "baseline": _bare_put(work / "bare-files", bare, _payloads()),
                "blob": _blob_put(blob, _payloads()),
                "again": lambda: outbox.put(known_bytes),
            },
            repeats=settings.repeats,
            warmup=settings.warmup,
            sample_seconds=settings.sample_seconds,
        )
        cycle = _cycles(cycles_outbox, cycles_db, settings)
    finally:
        outbox.close()
        cycles_outbox.close()
        for conn in (bare, blob, cycles_db):
            conn.close()
    put, floor = t["lgsp"], t["baseline"]
    ratio = put.median / floor.median
    send, send_floor = cycle["lgsp"], cycle["baseline"]
    return [
        Row(
            case=f"outbox put, {PAYLOAD_BYTES:,} B package (file + row, fsync'd)",
            figure=f"{millis(put.median)}{noise(put)} ({rate(put.per_second, 'put')})",
            baseline=f"{millis(floor.median)}{noise(floor)} bare file + row",
            ratio=times(ratio),
            target=f"≤ {millis(PUT_TARGET_S)}",
            met=put.median <= PUT_TARGET_S,
            data={
                "seconds": put.median,
                "baseline_seconds": floor.median,
                "spread": put.spread,
                "baseline_spread": floor.spread,
                "time_ratio": ratio,
            },
        ),
        Row(
            case="  same put against the bare durable work",
            figure=times(ratio),
            baseline="",
            ratio=times(ratio),
            target=f"≤ {PUT_TARGET_RATIO:.2f}x",
            met=ratio <= PUT_TARGET_RATIO,
            data={"time_ratio": ratio},
        ),
        Row(
            case="  put of bytes already in the outbox (dedupe)",
            figure=f"{millis(t['again'].median)}{noise(t['again'])}",
            baseline="",
            ratio="",
            target="",
            met=None,
            data={"seconds": t["again"].median},
        ),
        Row(
            case="  for context: BLOB in the row, one fsync",
            figure=f"{millis(t['blob'].median)}{noise(t['blob'])}",
            baseline="",
            ratio=times(t["blob"].median / floor.median),
            target="",
            met=None,
            data={"seconds": t["blob"].median},
        ),
        Row(
            case="outbox claim + mark_delivered (two commits)",
            figure=f"{millis(send.median)}{noise(send)} ({rate(send.per_second, 'cycle')})",
            baseline=f"{millis(send_floor.median)}{noise(send_floor)} two bare UPDATEs",
            ratio=times(send.median / send_floor.median),
            target="",
            met=None,
            data={
                "seconds": send.median,
                "baseline_seconds": send_floor.median,
                "per_s": send.per_second,
                "samples": len(send.samples),
                "mean_seconds": statistics.fmean(send.samples),
            },
        ),
    ]


CASES: dict[str, Callable[[Inputs, Settings], list[Row]]] = {"outbox": outbox_case}
