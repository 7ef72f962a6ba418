"""The durable outbox and the receive inbox: every state transition and refusal, dedupe by
payload hash, exclusive claims across threads and processes, and crashes (``kill -9``)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from lgsp.clients.outbox import (
    Inbox,
    InboxState,
    Outbox,
    OutboxEntry,
    OutboxState,
)
from lgsp.errors import ConfigurationError, OutboxError

SRC = Path(__file__).resolve().parents[1] / "src"
FAR = 10**7  # seconds: "much later" for now= arguments


def package(n: int, size: int = 5000) -> bytes:
    """A distinct payload of about ``size`` bytes (the outbox does not parse it)."""
    body = bytes(range(256)) * (size // 256 + 1)
    return b'<?xml version="1.0"?><edXML n="%d">' % n + body[:size] + b"</edXML>"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "outbox.sqlite3"


@pytest.fixture
def ob(db: Path) -> Any:
    with Outbox(db) as outbox:
        yield outbox


def child(code: str, *args: object) -> subprocess.Popen[str]:
    """A fresh interpreter running ``code`` with the repository's src on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen[str], *, killed: bool = False) -> list[str]:
    """Wait for a child; its output lines. Fails with its stderr if it did not end as planned."""
    out, err = proc.communicate(timeout=120)
    expected = -signal.SIGKILL if killed else 0
    assert proc.returncode == expected, f"child ended with {proc.returncode}:\n{err}"
    return out.splitlines()


# --------------------------------------------------------------------------------------------
# put


def test_put_accepts_a_package_durably(ob: Outbox, db: Path) -> None:
    data = package(1)
    entry = ob.put(data, params={"from": "000.00.00.G22", "to": ["000.00.00.H41"]})
    assert entry.created
    assert entry.payload_sha256 == sha(data)
    assert entry.state is OutboxState.QUEUED
    assert entry.attempts == 0
    assert entry.operation == "sendEdoc"
    assert dict(entry.params) == {"from": "000.00.00.G22", "to": ["000.00.00.H41"]}
    assert uuid.UUID(entry.message_id).version == 4
    assert entry.size == len(data)
    assert (entry.lease_owner, entry.lease_until, entry.remote_id) == (None, None, None)
    assert entry.payload_path == db.parent / "outbox.sqlite3.payloads" / f"{sha(data)}.edxml"
    assert entry.payload_path.read_bytes() == data
    assert ob.read_payload(entry.payload_sha256) == data
    with ob.open_payload(entry.payload_sha256) as stream:
        assert stream.read() == data
    assert [e.payload_sha256 for e in ob.entries()] == [sha(data)]
    # Entries travel to worker processes; the bytes here are our own.
    assert pickle.loads(pickle.dumps(entry)) == entry  # noqa: S301


def test_put_of_the_same_bytes_returns_the_entry_whatever_its_state(ob: Outbox) -> None:
    data = package(2)
    first = ob.put(data, message_id="msg-1", params={"n": 1})
    again = ob.put(data, operation="other", message_id="msg-2", params={"n": 2})
    assert not again.created
    assert (again.message_id, again.operation, dict(again.params)) == (
        "msg-1",
        "sendEdoc",
        {"n": 1},
    )

    def states() -> OutboxEntry:
        return ob.put(data)

    ob.claim()
    assert (states().state, states().created) == (OutboxState.IN_FLIGHT, False)
    ob.mark_failed(first.payload_sha256, error="refused")
    assert states().state is OutboxState.FAILED
    ob.requeue(first.payload_sha256)
    ob.claim()
    ob.mark_delivered(first.payload_sha256, remote_id="R-9")
    delivered = states()
    assert (delivered.state, delivered.remote_id, delivered.created) == ("delivered", "R-9", False)
    assert len(ob.entries()) == 1
    assert ob.counts() == {"queued": 0, "in_flight": 0, "delivered": 1, "failed": 0}


def test_put_from_a_file_streams_it_and_dedupes_with_bytes(ob: Outbox, tmp_path: Path) -> None:
    data = package(3, size=3_000_000)
    source = tmp_path / "big.edxml"
    source.write_bytes(data)
    entry = ob.put(source, operation="sendEdoc")
    assert entry.created
    assert entry.payload_sha256 == sha(data)
    assert entry.size == len(data)
    assert ob.read_payload(entry.payload_sha256) == data
    assert not ob.put(data).created
    assert not ob.put(source).created
    leftovers = sorted(p.name for p in ob.payload_dir.iterdir())
    assert leftovers == [f"{sha(data)}.edxml"]  # no temporary left behind


def test_put_refuses_what_it_cannot_keep(ob: Outbox) -> None:
    with pytest.raises(OutboxError, match="JSON-serialisable"):
        ob.put(package(4), params={"when": object()})
    with pytest.raises(OutboxError, match="JSON-serialisable"):
        ob.put(package(4), params={"ratio": float("nan")})
    with pytest.raises(OutboxError, match="operation"):
        ob.put(package(4), operation="")
    with pytest.raises(TypeError, match="bytes or a path"):
        ob.put("not bytes")  # type: ignore[arg-type]
    assert ob.entries() == []
    assert not ob.payload_dir.exists() or not any(ob.payload_dir.iterdir())


def test_put_restores_a_payload_file_deleted_by_hand(ob: Outbox) -> None:
    data = package(5)
    entry = ob.put(data)
    assert entry.payload_path is not None
    entry.payload_path.unlink()
    with pytest.raises(OutboxError, match="cannot read the payload"):
        ob.read_payload(entry.payload_sha256)
    assert not ob.put(data).created
    assert ob.read_payload(entry.payload_sha256) == data


def test_an_orphan_file_left_by_a_crash_does_not_stop_a_put(ob: Outbox) -> None:
    data = package(6)
    ob.payload_dir.mkdir(parents=True)
    (ob.payload_dir / f"{sha(data)}.edxml").write_bytes(b"half of it")
    entry = ob.put(data)
    assert entry.created
    assert ob.read_payload(entry.payload_sha256) == data


# --------------------------------------------------------------------------------------------
# claim and outcomes


def test_claim_takes_the_entry_due_longest_under_a_lease(ob: Outbox) -> None:
    a, b, c = (ob.put(package(n)).payload_sha256 for n in (10, 11, 12))
    now = time.time() + 5
    first = ob.claim(owner="w1", lease_seconds=60, now=now)
    assert first is not None
    assert (first.payload_sha256, first.state, first.attempts) == (a, "in_flight", 1)
    assert (first.lease_owner, first.lease_until, first.recovered) == ("w1", now + 60, False)
    ob.release(a, error="HTTP 503", retry_at=now + 30, owner="w1")
    assert ob.claim(now=now).payload_sha256 == b  # type: ignore[union-attr]
    assert ob.claim(now=now).payload_sha256 == c  # type: ignore[union-attr]
    assert ob.claim(now=now) is None  # a waits for its retry time; b and c are held
    again = ob.claim(now=now + 30)
    assert again is not None
    assert (again.payload_sha256, again.attempts, again.last_error) == (a, 2, "HTTP 503")


def test_claim_of_one_entry_by_hash(ob: Outbox) -> None:
    a, b = (ob.put(package(n)).payload_sha256 for n in (13, 14))
    got = ob.claim(sha256=b.upper())
    assert got is not None
    assert got.payload_sha256 == b
    assert ob.claim(sha256=b) is None  # held
    assert ob.claim(sha256="0" * 64) is None  # unknown
    assert ob.claim().payload_sha256 == a  # type: ignore[union-attr]


def test_an_expired_lease_comes_back_recovered(ob: Outbox) -> None:
    entry = ob.put(package(15))
    now = time.time()
    held = ob.claim(owner="dead", lease_seconds=100, now=now)
    assert held is not None
    assert not held.recovered
    assert ob.claim(owner="alive", now=now + 99) is None
    back = ob.claim(owner="alive", now=now + 100)
    assert back is not None
    assert (back.payload_sha256, back.recovered, back.attempts) == (entry.payload_sha256, True, 2)
    assert (back.lease_owner, back.message_id) == ("alive", entry.message_id)
    with pytest.raises(OutboxError, match=r"held by 'alive', not 'dead'.*taken over"):
        ob.mark_delivered(entry.payload_sha256, remote_id="R", owner="dead")
    assert ob.mark_delivered(entry.payload_sha256, remote_id="R", owner="alive").state == (
        "delivered"
    )


def test_an_expired_lease_nobody_took_can_still_be_settled(ob: Outbox) -> None:
    entry = ob.put(package(16))
    held = ob.claim(owner="slow", lease_seconds=0.001)
    assert held is not None
    assert held.lease_until is not None
    while time.time() <= held.lease_until:  # a millisecond at most
        pass
    done = ob.mark_delivered(entry.payload_sha256, remote_id="R-1", owner="slow")
    assert done.state is OutboxState.DELIVERED


def test_renew_extends_a_lease(ob: Outbox) -> None:
    entry = ob.put(package(17))
    now = time.time()
    ob.claim(owner="w", lease_seconds=10, now=now)
    renewed = ob.renew(entry.payload_sha256, lease_seconds=500, owner="w", now=now + 5)
    assert renewed.lease_until == now + 505
    assert ob.claim(owner="x", now=now + 400) is None
    with pytest.raises(OutboxError, match="held by 'w'"):
        ob.renew(entry.payload_sha256, owner="x")


def test_mark_delivered_is_final_and_idempotent(ob: Outbox) -> None:
    entry = ob.put(package(20))
    ob.claim()
    done = ob.mark_delivered(entry.payload_sha256, remote_id="R-1")
    assert (done.state, done.remote_id, done.lease_owner, done.lease_until) == (
        "delivered",
        "R-1",
        None,
        None,
    )
    assert ob.mark_delivered(entry.payload_sha256, remote_id="R-1") == done
    assert ob.mark_delivered(entry.payload_sha256, remote_id=None, owner="anyone") == done
    with pytest.raises(OutboxError, match=r"delivered with remote id 'R-1'.*'R-2'"):
        ob.mark_delivered(entry.payload_sha256, remote_id="R-2")
    assert ob.claim(now=time.time() + FAR) is None


def test_mark_delivered_fills_in_a_remote_id_found_later(ob: Outbox) -> None:
    entry = ob.put(package(21))
    ob.claim()
    ob.mark_delivered(entry.payload_sha256, remote_id=None)
    assert ob.mark_delivered(entry.payload_sha256, remote_id="R-7").remote_id == "R-7"


def test_mark_failed_then_requeue(ob: Outbox) -> None:
    entry = ob.put(package(22))
    ob.claim()
    failed = ob.mark_failed(entry.payload_sha256, error="code 97: bad receiver")
    assert (failed.state, failed.last_error, failed.lease_owner) == (
        "failed",
        "code 97: bad receiver",
        None,
    )
    assert ob.claim(now=time.time() + FAR) is None
    later = time.time() + 60
    queued = ob.requeue(entry.payload_sha256, retry_at=later)
    assert (queued.state, queued.next_attempt_at, queued.attempts) == ("queued", later, 1)
    assert ob.claim(now=later - 1) is None
    assert ob.claim(now=later).attempts == 2  # type: ignore[union-attr]


REFUSALS = [
    # (how far the entry gets, the call, what the message says)
    ("queued", lambda ob, s: ob.mark_delivered(s, remote_id="R"), "queued, not in flight"),
    ("queued", lambda ob, s: ob.release(s, error="e", retry_at=0), "claim it before"),
    ("queued", lambda ob, s: ob.mark_failed(s, error="e"), "claim it before"),
    ("queued", lambda ob, s: ob.renew(s), "claim it before"),
    ("queued", lambda ob, s: ob.requeue(s), "is queued, not failed"),
    ("in_flight", lambda ob, s: ob.requeue(s), "is in_flight, not failed"),
    ("in_flight", lambda ob, s: ob.mark_delivered(s, remote_id="R", owner="b"), "held by"),
    ("in_flight", lambda ob, s: ob.release(s, error="e", retry_at=0, owner="b"), "held by"),
    ("in_flight", lambda ob, s: ob.mark_failed(s, error="e", owner="b"), "held by"),
    ("delivered", lambda ob, s: ob.release(s, error="e", retry_at=0), "delivered already"),
    ("delivered", lambda ob, s: ob.mark_failed(s, error="e"), "delivered already"),
    ("delivered", lambda ob, s: ob.requeue(s), "is delivered, not failed"),
    ("failed", lambda ob, s: ob.mark_delivered(s, remote_id="R"), "failed for good"),
    ("failed", lambda ob, s: ob.release(s, error="e", retry_at=0), "requeue it before"),
    ("failed", lambda ob, s: ob.mark_failed(s, error="e"), "requeue it before"),
]


@pytest.mark.parametrize(("state", "call", "message"), REFUSALS)
def test_transitions_that_are_not_allowed_are_refused(
    ob: Outbox, state: str, call: Any, message: str
) -> None:
    entry = ob.put(package(30))
    s = entry.payload_sha256
    if state != "queued":
        ob.claim(owner="a")
    if state == "delivered":
        ob.mark_delivered(s, remote_id="R-0", owner="a")
    if state == "failed":
        ob.mark_failed(s, error="gone", owner="a")
    before = ob.get(s)
    with pytest.raises(OutboxError, match=message) as caught:
        call(ob, s)
    assert caught.value.path == str(ob.path)
    assert ob.get(s) == before  # nothing changed


def test_unknown_and_malformed_hashes(ob: Outbox) -> None:
    assert ob.get("a" * 64) is None
    with pytest.raises(OutboxError, match="no outbox entry"):
        ob.mark_delivered("a" * 64, remote_id="R")
    with pytest.raises(OutboxError, match="no outbox entry"):
        ob.open_payload("a" * 64)
    for bad in ("../../etc/passwd", "a" * 63, "g" * 64, ""):
        with pytest.raises(OutboxError, match="not a SHA-256"):
            ob.get(bad)
    with pytest.raises(ConfigurationError, match="unknown outbox state 'zombie'"):
        ob.entries("zombie")


def test_claim_refuses_a_lease_that_is_not_positive(ob: Outbox) -> None:
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ConfigurationError, match="lease_seconds"):
            ob.claim(lease_seconds=bad)


def test_entries_and_counts(ob: Outbox) -> None:
    shas = [ob.put(package(n)).payload_sha256 for n in range(40, 45)]
    ob.claim(owner="a")
    ob.claim(owner="a")
    ob.mark_delivered(shas[0], remote_id="R", owner="a")
    ob.mark_failed(shas[1], error="no", owner="a")
    ob.claim(owner="a")
    assert ob.counts() == {"queued": 2, "in_flight": 1, "delivered": 1, "failed": 1}
    assert [e.payload_sha256 for e in ob.entries()] == shas
    assert [e.payload_sha256 for e in ob.entries("queued")] == shas[3:]
    assert [e.payload_sha256 for e in ob.entries(OutboxState.IN_FLIGHT)] == [shas[2]]


def test_read_payload_notices_a_damaged_file(ob: Outbox) -> None:
    entry = ob.put(package(46))
    assert entry.payload_path is not None
    entry.payload_path.write_bytes(package(47))
    with pytest.raises(OutboxError, match="damaged") as caught:
        ob.read_payload(entry.payload_sha256)
    assert caught.value.path == str(entry.payload_path)
    assert ob.read_payload(entry.payload_sha256, verify=False) == package(47)


# --------------------------------------------------------------------------------------------
# vacuum


def test_vacuum_removes_orphans_once_old_enough(ob: Outbox) -> None:
    live = ob.put(package(50))
    orphan = ob.payload_dir / f"{sha(b'orphan')}.edxml"
    orphan.write_bytes(b"orphan")
    temp = ob.payload_dir / ".tmp-0123"
    temp.write_bytes(b"partial")
    stranger = ob.payload_dir / "README.txt"
    stranger.write_bytes(b"not ours")
    young = ob.vacuum()
    assert (young.orphan_files, young.delivered_payloads, young.bytes_freed) == (0, 0, 0)
    assert orphan.exists()
    assert temp.exists()
    old = ob.vacuum(now=time.time() + 7200)
    assert (old.orphan_files, old.bytes_freed) == (2, len(b"orphan") + len(b"partial"))
    assert not orphan.exists()
    assert not temp.exists()
    assert stranger.exists()
    assert ob.read_payload(live.payload_sha256) == package(50)


def test_vacuum_drops_old_delivered_payloads_but_remembers_them(ob: Outbox) -> None:
    old, recent, queued = (ob.put(package(n)) for n in (51, 52, 53))
    ob.claim()
    ob.mark_delivered(old.payload_sha256, remote_id="R-old")
    cutoff = time.time()
    ob.claim()
    ob.mark_delivered(recent.payload_sha256, remote_id="R-new")
    result = ob.vacuum(delivered_older_than=0.0, now=cutoff)
    assert (result.delivered_payloads, result.bytes_freed) == (1, old.size)
    gone = ob.get(old.payload_sha256)
    assert gone is not None
    assert gone.payload_path is None
    assert gone.state == "delivered"
    assert old.payload_path is not None
    assert not old.payload_path.exists()
    with pytest.raises(OutboxError, match="removed by vacuum"):
        ob.read_payload(old.payload_sha256)
    again = ob.put(package(51))
    assert (again.created, again.state, again.remote_id) == (False, "delivered", "R-old")
    assert again.payload_path is None
    assert ob.read_payload(recent.payload_sha256) == package(52)
    assert ob.read_payload(queued.payload_sha256) == package(53)
    assert ob.vacuum(now=time.time() + 7200).orphan_files == 0  # the put above kept no file


# --------------------------------------------------------------------------------------------
# files that cannot be used


def test_a_file_that_is_not_a_database(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an SQLite database\n" * 200)
    with Outbox(db) as outbox, pytest.raises(OutboxError, match="not an SQLite database") as e:
        outbox.put(package(60))
    assert e.value.path == str(db)
    assert isinstance(e.value.__cause__, sqlite3.DatabaseError)
    with Inbox(db) as inbox, pytest.raises(OutboxError, match=str(db)):
        inbox.begin("doc-1")


def test_a_damaged_outbox_file(db: Path) -> None:
    with Outbox(db) as outbox:
        outbox.put(package(61))
    with db.open("r+b") as raw:
        raw.write(b"\x00" * 100)  # the SQLite header
    with Outbox(db) as outbox, pytest.raises(OutboxError) as caught:
        outbox.counts()
    assert caught.value.path == str(db)


def test_someone_elses_sqlite_file(db: Path) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE agencies (code TEXT)")
    conn.close()
    with Outbox(db) as outbox, pytest.raises(OutboxError, match="holds other tables: agencies"):
        outbox.put(package(62))


def test_a_file_of_another_application(db: Path) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA application_id = 1234")
    conn.close()
    with Inbox(db) as inbox, pytest.raises(OutboxError, match="another application"):
        inbox.pending_acks()


def test_a_file_from_a_newer_lgsp(db: Path) -> None:
    with Outbox(db) as outbox:
        outbox.counts()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with Outbox(db) as outbox, pytest.raises(OutboxError, match="newer lgsp"):
        outbox.counts()


def test_a_payload_folder_that_is_a_file(db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "payloads"
    blocker.write_bytes(b"")
    with Outbox(db, payload_dir=blocker) as outbox:
        with pytest.raises(OutboxError, match="cannot store the payload") as caught:
            outbox.put(package(63))
        assert str(blocker) in str(caught.value)
        assert isinstance(caught.value.__cause__, OSError)
        assert outbox.entries() == []


def test_no_memory_database_and_no_use_after_close(db: Path) -> None:
    with pytest.raises(OutboxError, match="needs a file path"):
        Outbox(":memory:")
    outbox = Outbox(db)
    outbox.put(package(64))
    outbox.close()
    with pytest.raises(OutboxError, match="closed"):
        outbox.counts()


def test_nothing_touches_the_disk_before_the_first_call(db: Path) -> None:
    Outbox(db)
    Inbox(db)
    assert not db.parent.exists()


DISK_FULL = """
    import os, resource, signal, sys
    from lgsp.clients.outbox import Outbox
    from lgsp.errors import OutboxError

    ob = Outbox(sys.argv[1])
    ob.put(b"first, before the disk fills up")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    wal = os.path.getsize(sys.argv[1] + "-wal")
    resource.setrlimit(resource.RLIMIT_FSIZE, (wal, resource.RLIM_INFINITY))
    for payload in (os.urandom(wal + 4096), b"small enough for a file, not for the journal"):
        try:
            ob.put(payload)
        except OutboxError as exc:
            print(type(exc.__cause__).__name__, "|", exc.path, "|", exc, flush=True)
        else:
            print("no error", flush=True)
"""


def test_a_full_disk_is_an_outbox_error_and_stores_nothing(db: Path) -> None:
    lines = finish(child(DISK_FULL, db))
    big, small = (line.split(" | ") for line in lines)
    assert big[0] == "OSError"
    assert "cannot store the payload" in big[2]
    assert big[1].startswith(str(db.parent / "outbox.sqlite3.payloads"))
    assert small[0] in ("OperationalError", "DatabaseError")
    assert small[1] == str(db)
    with Outbox(db) as outbox:
        assert [e.size for e in outbox.entries()] == [len(b"first, before the disk fills up")]
        # The small payload's file was written before its row failed: an orphan, swept later.
        assert outbox.vacuum(now=time.time() + 7200).orphan_files == 1
        assert len(list(outbox.payload_dir.iterdir())) == 1


# --------------------------------------------------------------------------------------------
# concurrency


def test_threads_never_claim_the_same_entry(ob: Outbox) -> None:
    expected = {ob.put(package(n, size=200)).payload_sha256 for n in range(200)}
    start = threading.Barrier(4)
    claimed: list[list[str]] = [[] for _ in range(4)]
    failures: list[BaseException] = []

    def work(mine: list[str]) -> None:
        try:
            start.wait()
            while (entry := ob.claim()) is not None:
                mine.append(entry.payload_sha256)
                ob.mark_delivered(entry.payload_sha256, remote_id=None)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(mine,)) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    everything = [s for mine in claimed for s in mine]
    assert len(everything) == len(set(everything)) == 200
    assert set(everything) == expected
    assert ob.counts()["delivered"] == 200


CLAIMER = """
    import sys, time
    from pathlib import Path
    from lgsp.clients.outbox import Outbox

    ob = Outbox(sys.argv[1])
    ob.counts()
    print("ready", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.005)
    while (entry := ob.claim()) is not None:
        print(entry.payload_sha256, flush=True)
        ob.mark_delivered(entry.payload_sha256, remote_id=None)
"""


def _start_together(procs: list[subprocess.Popen[str]], go: Path) -> None:
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            for other in procs:
                other.kill()
            pytest.fail(f"a child did not start:\n{proc.communicate()[1]}")
    go.touch()


def test_processes_never_claim_the_same_entry(ob: Outbox, tmp_path: Path) -> None:
    expected = {ob.put(package(n, size=200)).payload_sha256 for n in range(200)}
    go = tmp_path / "go"
    procs = [child(CLAIMER, ob.path, go) for _ in range(2)]
    _start_together(procs, go)
    claimed = [finish(proc) for proc in procs]
    everything = [s for lines in claimed for s in lines]
    assert len(everything) == len(set(everything)) == 200
    assert set(everything) == expected
    assert ob.counts() == {"queued": 0, "in_flight": 0, "delivered": 200, "failed": 0}


def _forked_claimer(outbox: Outbox, out: Path) -> None:
    with out.open("w") as sink:
        while (entry := outbox.claim()) is not None:
            sink.write(entry.payload_sha256 + "\n")


def test_an_outbox_object_survives_fork(ob: Outbox, tmp_path: Path) -> None:
    expected = {ob.put(package(n, size=100)).payload_sha256 for n in range(100)}
    parent_owner = ob.owner
    context = multiprocessing.get_context("fork")
    outs = [tmp_path / f"forked-{i}.txt" for i in range(2)]
    workers = [context.Process(target=_forked_claimer, args=(ob, out)) for out in outs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    everything = [s for out in outs for s in out.read_text().split()]
    assert len(everything) == len(set(everything)) == 100
    assert set(everything) == expected
    owners = {e.lease_owner for e in ob.entries()}
    assert parent_owner not in owners  # each child took an owner name of its own
    assert ob.counts()["in_flight"] == 100


PUTTER = """
    import sys, time
    from pathlib import Path
    from lgsp.clients.outbox import Outbox

    ob = Outbox(sys.argv[1])
    ob.counts()
    print("ready", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.005)
    order = range(40) if sys.argv[3] == "up" else reversed(range(40))
    for n in order:
        data = b"payload %d " % (n % 20) + bytes(2000)  # 20 distinct payloads, each put twice
        entry = ob.put(data, params={"n": n})
        print(entry.payload_sha256, entry.created, entry.message_id, flush=True)
"""


def test_processes_putting_the_same_payloads_make_one_entry_each(
    ob: Outbox, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    procs = [child(PUTTER, ob.path, go, way) for way in ("up", "down")]
    _start_together(procs, go)
    reports = [line.split() for proc in procs for line in finish(proc)]
    assert len(reports) == 80
    entries = {e.payload_sha256: e for e in ob.entries()}
    assert len(entries) == 20
    for digest, entry in entries.items():
        mine = [r for r in reports if r[0] == digest]
        assert len(mine) == 4
        assert [r[1] for r in mine].count("True") == 1
        assert {r[2] for r in mine} == {entry.message_id}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 4)), min_size=1, max_size=12))
def test_any_interleaving_of_puts_gives_one_entry_per_hash(puts: list[tuple[int, int]]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="lgsp-outbox-"))
    try:
        outboxes = [Outbox(folder / "o.db"), Outbox(folder / "o.db")]
        first_ids: dict[str, str] = {}
        for which, n in puts:
            entry = outboxes[which].put(package(n, size=64))
            assert entry.created == (entry.payload_sha256 not in first_ids)
            first_ids.setdefault(entry.payload_sha256, entry.message_id)
            assert entry.message_id == first_ids[entry.payload_sha256]
        assert {e.payload_sha256 for e in outboxes[0].entries()} == set(first_ids)
        assert len(outboxes[1].entries()) == len({n for _, n in puts})
        for outbox in outboxes:
            outbox.close()
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------------------------
# the state machine against a model


PAYLOADS = [package(n, size=32) for n in range(3)]
SHAS = [sha(p) for p in PAYLOADS]
OWNERS = st.sampled_from(["A", "B"])
WHICH = st.integers(0, len(PAYLOADS) - 1)


class OutboxModel(RuleBasedStateMachine):
    """Random sequences of calls agree with a plain model of the states and leases."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="lgsp-outbox-"))
        self.ob = Outbox(self.folder / "o.db")
        self.now = time.time() + 10_000  # the virtual clock is ahead of every real time stamp
        self.ticks = 0  # orders the real time stamps (puts, requeues)
        self.model: dict[str, dict[str, Any]] = {}

    def teardown(self) -> None:
        self.ob.close()
        shutil.rmtree(self.folder)

    def _real_due(self) -> tuple[int, float]:
        self.ticks += 1
        return (0, self.ticks)

    @rule(i=WHICH)
    def put(self, i: int) -> None:
        entry = self.ob.put(PAYLOADS[i])
        assert entry.created == (SHAS[i] not in self.model)
        if entry.created:
            self.model[SHAS[i]] = {
                "state": "queued",
                "owner": None,
                "attempts": 0,
                "remote_id": None,
                "due": self._real_due(),
                "seq": len(self.model),
            }

    @rule(owner=OWNERS, lease=st.sampled_from([50.0, 300.0]))
    def claim(self, owner: str, lease: float) -> None:
        due = {
            s: m
            for s, m in self.model.items()
            if m["state"] in ("queued", "in_flight") and m["due"] <= (1, self.now)
        }
        entry = self.ob.claim(owner=owner, lease_seconds=lease, now=self.now)
        if not due:
            assert entry is None
            return
        expected = min(due, key=lambda s: (due[s]["due"], due[s]["seq"]))
        assert entry is not None
        assert entry.payload_sha256 == expected
        m = self.model[expected]
        assert entry.recovered == (m["state"] == "in_flight")
        m.update(state="in_flight", owner=owner, attempts=m["attempts"] + 1)
        m["due"] = (1, self.now + lease)  # when the lease expires

    def _holds(self, i: int, owner: str) -> bool:
        m = self.model.get(SHAS[i])
        return m is not None and m["state"] == "in_flight" and m["owner"] == owner

    @rule(i=WHICH, owner=OWNERS, remote=st.sampled_from([None, "R1", "R2"]))
    def mark_delivered(self, i: int, owner: str, remote: str | None) -> None:
        m = self.model.get(SHAS[i])
        again = (
            m is not None
            and m["state"] == "delivered"
            and (remote is None or m["remote_id"] in (None, remote))
        )
        if not (again or self._holds(i, owner)):
            with pytest.raises(OutboxError):
                self.ob.mark_delivered(SHAS[i], remote_id=remote, owner=owner)
            return
        entry = self.ob.mark_delivered(SHAS[i], remote_id=remote, owner=owner)
        assert m is not None
        if m["state"] == "in_flight":
            m.update(state="delivered", owner=None, remote_id=remote)
        elif m["remote_id"] is None:
            m["remote_id"] = remote
        assert entry.remote_id == m["remote_id"]

    @rule(i=WHICH, owner=OWNERS, delay=st.sampled_from([0.0, 10.0, 500.0]))
    def release(self, i: int, owner: str, delay: float) -> None:
        if not self._holds(i, owner):
            with pytest.raises(OutboxError):
                self.ob.release(SHAS[i], error="later", retry_at=self.now + delay, owner=owner)
            return
        self.ob.release(SHAS[i], error="later", retry_at=self.now + delay, owner=owner)
        self.model[SHAS[i]].update(state="queued", owner=None, due=(1, self.now + delay))

    @rule(i=WHICH, owner=OWNERS)
    def mark_failed(self, i: int, owner: str) -> None:
        if not self._holds(i, owner):
            with pytest.raises(OutboxError):
                self.ob.mark_failed(SHAS[i], error="no", owner=owner)
            return
        self.ob.mark_failed(SHAS[i], error="no", owner=owner)
        self.model[SHAS[i]].update(state="failed", owner=None)

    @rule(i=WHICH)
    def requeue(self, i: int) -> None:
        m = self.model.get(SHAS[i])
        if m is None or m["state"] != "failed":
            with pytest.raises(OutboxError):
                self.ob.requeue(SHAS[i])
            return
        self.ob.requeue(SHAS[i])
        m.update(state="queued", due=self._real_due())

    @rule(seconds=st.sampled_from([1.0, 60.0, 400.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @invariant()
    def agrees(self) -> None:
        entries = {e.payload_sha256: e for e in self.ob.entries()}
        assert set(entries) == set(self.model)
        for digest, m in self.model.items():
            entry = entries[digest]
            assert (entry.state, entry.attempts, entry.lease_owner) == (
                m["state"],
                m["attempts"],
                m["owner"],
            )
            assert (entry.lease_until is not None) == (m["state"] == "in_flight")


OutboxModel.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
test_outbox_model = OutboxModel.TestCase


# --------------------------------------------------------------------------------------------
# kill -9


PUT_FOREVER = """
    import sys
    from lgsp.clients.outbox import Outbox

    ob = Outbox(sys.argv[1])
    n = 0
    while True:
        data = b"<edXML n='%d'>" % n + bytes(range(256)) * 20 + b"</edXML>"
        entry = ob.put(data, params={"n": n})
        print("put returned", n, entry.payload_sha256, flush=True)
        n += 1
"""

PUT_THEN_DIE = """
    import os, signal, sys
    from lgsp.clients.outbox import Outbox

    ob = Outbox(sys.argv[1])
    for n in range(25):
        data = b"<edXML n='%d'>" % n + bytes(range(256)) * 20 + b"</edXML>"
        entry = ob.put(data, params={"n": n})
        print("put returned", n, entry.payload_sha256, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _check_survivors(db: Path, returned: list[list[str]]) -> None:
    with Outbox(db) as outbox:
        entries = outbox.entries()
        by_sha = {e.payload_sha256: e for e in entries}
        for _, _, n, digest in returned:
            entry = by_sha[digest]
            assert entry.state == "queued"
            assert entry.params["n"] == int(n)
        # The child may have committed one more put than it could report.
        assert len(returned) <= len(entries) <= len(returned) + 1
        for entry in entries:  # every row has its whole payload
            data = outbox.read_payload(entry.payload_sha256)
            assert data.startswith(b"<edXML n='%d'>" % entry.params["n"])
            assert not outbox.put(data).created
        assert len(outbox.entries()) == len(entries)


def test_kill_9_while_putting_loses_no_returned_put(db: Path) -> None:
    proc = child(PUT_FOREVER, db)
    assert proc.stdout is not None
    returned = []
    for line in proc.stdout:
        returned.append(line.split())
        if len(returned) == 40:
            break
    os.kill(proc.pid, signal.SIGKILL)
    returned += [line.split() for line in finish(proc, killed=True)]
    assert len(returned) >= 40
    _check_survivors(db, returned)


def test_kill_9_right_after_put_returned(db: Path) -> None:
    returned = [line.split() for line in finish(child(PUT_THEN_DIE, db), killed=True)]
    assert len(returned) == 25
    _check_survivors(db, returned)
    with Outbox(db) as outbox:
        assert len(outbox.entries()) == 25


CLAIM_THEN_DIE = """
    import os, signal, sys
    from lgsp.clients.outbox import Outbox

    ob = Outbox(sys.argv[1])
    ob.put(b"<edXML>held when the process died</edXML>")
    entry = ob.claim(lease_seconds=120)
    print(entry.payload_sha256, repr(entry.lease_until), entry.message_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_while_holding_a_claim(db: Path) -> None:
    (line,) = finish(child(CLAIM_THEN_DIE, db), killed=True)
    digest, lease_until, message_id = line.split()
    until = float(lease_until)
    with Outbox(db) as outbox:
        held = outbox.get(digest)
        assert held is not None
        assert held.state == "in_flight"
        assert outbox.claim(now=until - 1) is None  # the lease still runs
        back = outbox.claim(now=until)
        assert back is not None
        assert (back.payload_sha256, back.recovered, back.attempts) == (digest, True, 2)
        assert back.message_id == message_id
        assert outbox.read_payload(digest) == b"<edXML>held when the process died</edXML>"
        outbox.mark_delivered(digest, remote_id="R-1")


DELIVER_THEN_DIE = """
    import os, signal, sys
    from lgsp.clients.outbox import Outbox

    ob = Outbox(sys.argv[1])
    entry = ob.put(b"<edXML>delivered before the crash</edXML>")
    ob.claim()
    ob.mark_delivered(entry.payload_sha256, remote_id="R-42")
    print(entry.payload_sha256, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_after_mark_delivered(db: Path) -> None:
    (digest,) = finish(child(DELIVER_THEN_DIE, db), killed=True)
    with Outbox(db) as outbox:
        entry = outbox.get(digest)
        assert entry is not None
        assert (entry.state, entry.remote_id, entry.attempts) == ("delivered", "R-42", 1)
        assert outbox.claim(now=time.time() + FAR) is None
        again = outbox.put(b"<edXML>delivered before the crash</edXML>")
        assert (again.created, again.state) == (False, "delivered")


HAND_THEN_DIE = """
    import os, signal, sys
    from lgsp.clients.outbox import Inbox

    inbox = Inbox(sys.argv[1])
    assert inbox.record_handing("DOC-1", "aa" * 32)
    inbox.record_handed("DOC-1", "aa" * 32)
    assert inbox.record_handing("DOC-2")  # the handler of DOC-2 is still running ...
    print("handed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_between_hand_over_and_acknowledgement(db: Path) -> None:
    assert finish(child(HAND_THEN_DIE, db), killed=True) == ["handed"]
    with Inbox(db) as inbox:
        assert inbox.begin("DOC-1", sha256="aa" * 32) is InboxState.HANDED
        assert inbox.seen("DOC-1")
        assert inbox.pending_acks() == ["DOC-1"]
        assert not inbox.record_handing("DOC-1")  # nobody hands it over again
        assert inbox.begin("DOC-2") is InboxState.HANDING
        assert inbox.interrupted() == ["DOC-2"]
        inbox.record_acknowledged("DOC-1")
        assert inbox.begin("DOC-1") is InboxState.ACKNOWLEDGED
        assert inbox.pending_acks() == []


# --------------------------------------------------------------------------------------------
# inbox


def test_inbox_states(db: Path) -> None:
    with Inbox(db) as inbox:
        assert inbox.begin("D") is InboxState.NEW
        assert not inbox.seen("D")
        assert inbox.get("D") is None
        assert inbox.record_handing("D")
        assert inbox.begin("D") is InboxState.HANDING
        handed = inbox.record_handed("D", "bb" * 32)
        assert (handed.state, handed.sha256) == (InboxState.HANDED, "bb" * 32)
        assert handed.handed_at is not None
        assert handed.acknowledged_at is None
        assert inbox.record_handed("D") == handed  # idempotent
        assert inbox.pending_acks() == ["D"]
        assert inbox.interrupted() == []
        acked = inbox.record_acknowledged("D")
        assert acked.state is InboxState.ACKNOWLEDGED
        assert acked.acknowledged_at is not None
        assert inbox.record_acknowledged("D").acknowledged_at == acked.acknowledged_at
        assert inbox.record_handed("D").state is InboxState.ACKNOWLEDGED  # stays acknowledged
        assert inbox.counts() == {"handing": 0, "handed": 0, "acknowledged": 1}


def test_inbox_acknowledges_a_document_never_handed_over(db: Path) -> None:
    with Inbox(db) as inbox:
        record = inbox.record_acknowledged("REJECTED-1")
        assert (record.state, record.handed_at) == (InboxState.ACKNOWLEDGED, None)
        assert inbox.begin("REJECTED-1") is InboxState.ACKNOWLEDGED


def test_inbox_refuses_a_doc_id_reused_for_other_bytes(db: Path) -> None:
    with Inbox(db) as inbox:
        inbox.record_handed("D", "aa" * 32)
        for call in (
            lambda: inbox.begin("D", sha256="cc" * 32),
            lambda: inbox.record_handed("D", "cc" * 32),
            lambda: inbox.record_handing("D", "cc" * 32),
        ):
            with pytest.raises(OutboxError, match="reused a doc id"):
                call()
        assert inbox.begin("D", sha256="aa" * 32) is InboxState.HANDED
        with pytest.raises(OutboxError, match="non-empty"):
            inbox.begin("")


def test_inbox_and_outbox_share_a_file(db: Path) -> None:
    with Outbox(db) as outbox, Inbox(db) as inbox:
        outbox.put(package(70))
        inbox.record_handed("D-1")
        assert outbox.counts()["queued"] == 1
        assert inbox.pending_acks() == ["D-1"]


HANDING_RACE = """
    import sys, time
    from pathlib import Path
    from lgsp.clients.outbox import Inbox

    inbox = Inbox(sys.argv[1])
    inbox.counts()
    print("ready", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.005)
    for n in range(60):
        if inbox.record_handing(f"DOC-{n}"):
            print(f"DOC-{n}", flush=True)
"""


def test_only_one_receiver_hands_a_document_over(db: Path, tmp_path: Path) -> None:
    with Inbox(db) as inbox:
        inbox.counts()
    go = tmp_path / "go"
    procs = [child(HANDING_RACE, db, go) for _ in range(2)]
    _start_together(procs, go)
    won = [doc for proc in procs for doc in finish(proc)]
    assert sorted(won) == sorted(f"DOC-{n}" for n in range(60))


def test_inbox_abandon_undoes_only_a_hand_over_in_progress(tmp_path: Path) -> None:
    from lgsp.clients.outbox import Inbox, InboxState

    with Inbox(tmp_path / "inbox.db") as inbox:
        assert inbox.record_handing("d1")
        assert inbox.abandon("d1")
        assert inbox.begin("d1") == InboxState.NEW
        assert inbox.record_handing("d1")
        inbox.record_handed("d1")
        assert not inbox.abandon("d1")
        assert inbox.begin("d1") == InboxState.HANDED
