"""Sandbox load: 50 concurrent clients sending packages with 100 KB attachments.

* ``sandbox-load``: the sandbox runs in its own process (``Sandbox`` on a free loopback port,
  the demo provisioning, a SQLite file in a temporary folder), so that it has a core of its own;
  this process drives it with 50 concurrent senders for 60 s (``--quick``: 5 s), twice:

  (a) 50 :class:`lgsp.AsyncClient`\\ s, one ``documents.send`` after another each, as vendors'
      code would (the client hashes, signs the ``XroadVnpt-*`` headers, reads the envelope);
  (b) 50 tasks posting pre-signed ``sendEdoc`` requests over one raw aiohttp session: the
      least a client can do, so that what is measured is the sandbox.

  Every package is distinct (its own number, DocumentId and subject) and carries a 100,000-byte
  attachment of random bytes (about 136 KB of package). The packages are made from one template
  per client, built and validated up front with :mod:`lgsp.testing.samples`, by substituting
  the number in the bytes (a ~40 µs copy): 60 s at 300/s would need 2.4 GB of packages built
  ahead. Reported: packages/s accepted, p50/p99 latency of a send, and the proof, read from
  the sandbox's store after the run, that every accepted package is there exactly once: one
  ``vxp_documents`` row per DocId the senders got back, its ``sha256`` the SHA-256 of the bytes
  that sender sent, the stored bytes hashing to it, no row that no sender was told about.
  Target (issue 6): ≥ 300 packages/s on the 2-core machine.

Run alone: ``python -m benchmarks.sandbox_load [--quick] [--seconds S] [--clients N]
[--processes P] [--py-spy FILE]`` (``--py-spy`` records the sandbox process during the first
phase, when ``py-spy`` is on PATH).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._harness import Row, Settings, millis, table, times
from benchmarks._inputs import Inputs
from lgsp import AsyncClient, package_to_bytes
from lgsp.clients import RetrySettings, TimeoutSettings, VxpProfile
from lgsp.clients import Settings as ClientSettings
from lgsp.documents import Attachment
from lgsp.testing import samples
from lgsp.transports.vxp_signing import sdk_file_hash, sign_request

CLIENTS = 50
SECONDS, QUICK_SECONDS = 60.0, 5.0
ATTACHMENT_BYTES = 100_000
TARGET_PER_S = 300.0
SYSTEM_ID, SECRET = "vxp.saas.03", "sandbox-secret-a"  # the demo provisioning's system A
SENDER, RECEIVER = "000.00.00.G22", "000.00.00.H41"
PLACEHOLDER = b"90000000"  # the number in the template; 8 digits, as every number sent

# The sandbox's process: started with a JSON of options, prints its URL, serves until stdin
# closes. It runs as ``lgsp sandbox`` does (the defaults of ``serve`` for its worker threads
# and processes) unless told otherwise; options the installed Sandbox does not take are left out.
_SERVER = r"""
import inspect, json, sys
from lgsp.sandbox import Sandbox, SandboxConfig, serve
options = json.loads(sys.argv[1])
known = inspect.signature(Sandbox).parameters
as_served = {
    k: p.default for k, p in inspect.signature(serve).parameters.items()
    if k in ("workers", "processes")
}
extra = {k: v for k, v in {**as_served, **options.get("extra", {})}.items() if k in known}
sandbox = Sandbox(SandboxConfig.demo(), db=options["db"], **extra).start()
print(json.dumps({"url": sandbox.url, "extra": extra}), flush=True)
sys.stdin.read()
sandbox.stop()
"""


# The floor: uvicorn with the same loop and HTTP parser as the sandbox, answering every
# ``sendEdoc`` with a DocId after reading and hashing the body — what any Python server on
# this stack costs for the same exchange, measured in the same run.
_FLOOR = r"""
import hashlib, itertools, json, socket, sys, threading, uvicorn
numbers = itertools.count(1)
async def app(scope, receive, send):
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    hashlib.sha256(body).digest()
    answer = json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "",
                         "DocId": str(next(numbers))}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]})
    await send({"type": "http.response.body", "body": answer})
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
server = uvicorn.Server(uvicorn.Config(app, loop="asyncio", http="h11", lifespan="off",
                                       log_level="warning", access_log=False))
thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
thread.start()
while not server.started:
    threading.Event().wait(0.01)
print(json.dumps({"url": "http://127.0.0.1:%d" % sock.getsockname()[1], "extra": {}}), flush=True)
sys.stdin.read()
server.should_exit = True
thread.join()
"""


@contextlib.contextmanager
def server_process(script: str, options: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """A server in a child process; yields its URL, pid and the options it took."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root / "src"), env.get("PYTHONPATH", "")) if p
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, options],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None  # noqa: S101 - PIPE was asked for
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server did not start (exit {process.wait(10)})")
        started = json.loads(line)
        yield started["url"], process.pid, started["extra"]
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sandbox_process(db: Path, extra: dict[str, Any]) -> Any:
    """The sandbox in a child process, its store at ``db``."""
    return server_process(_SERVER, json.dumps({"db": str(db), "extra": extra}))


class Packages:
    """Distinct packages per client: one template each, the number substituted per package."""

    def __init__(self, clients: int) -> None:
        self.templates: list[bytes] = []
        for i in range(clients):
            attachment = Attachment.from_bytes(
                f"du-lieu-{i:02d}.bin", os.urandom(ATTACHMENT_BYTES), content_id=f"dl-{i:02d}"
            )
            pkg = samples.document(
                number=PLACEHOLDER.decode(),
                subject=f"V/v thử tải sandbox, gói số {PLACEHOLDER.decode()}",
                attachments=[attachment],
            )
            data = package_to_bytes(pkg)  # strict rules run first
            # DocumentId, CodeNumber, Subject: nothing else may hold the placeholder.
            if data.count(PLACEHOLDER) != 3:
                raise RuntimeError("the placeholder number appears where it should not")
            self.templates.append(data)

    def make(self, client: int, seq: int) -> bytes:
        return self.templates[client].replace(PLACEHOLDER, b"%02d%06d" % (client, seq))

    @property
    def size(self) -> int:
        return len(self.templates[0])


@dataclasses.dataclass(slots=True)
class Sent:
    started: float
    seconds: float
    doc_id: str | None
    sha256: str
    error: str | None = None


Send = Callable[[bytes], Awaitable[tuple[str | None, str, str | None]]]
"""Sends one package: (DocId or None, SHA-256 hex of the bytes, error or None)."""


async def _drive(
    senders: list[Send], packages: Packages, seconds: float, offset: int
) -> tuple[list[Sent], float]:
    """Each sender sends one package after another until ``seconds`` have passed."""
    records: list[Sent] = []
    deadline = time.perf_counter() + seconds

    async def loop(client: int, send: Send) -> None:
        seq = offset
        while time.perf_counter() < deadline:
            body = packages.make(client, seq)
            seq += 1
            began = time.perf_counter()
            try:
                doc_id, sha, error = await send(body)
            except Exception as exc:  # noqa: BLE001 - every failure is counted, not raised
                doc_id, sha, error = None, hashlib.sha256(body).hexdigest(), repr(exc)
            records.append(Sent(began, time.perf_counter() - began, doc_id, sha, error))

    began = time.perf_counter()
    await asyncio.gather(*(loop(i, s) for i, s in enumerate(senders)))
    return records, time.perf_counter() - began


async def _with_lgsp(url: str, packages: Packages, seconds: float, offset: int) -> Any:
    settings = ClientSettings(
        documents=VxpProfile(endpoint=f"{url}/vxp", system_id=SYSTEM_ID, secret=SECRET),
        retries=RetrySettings(max_attempts=1),  # one call per send: latency is the call's
        timeouts=TimeoutSettings(read=120),
    )
    clients = [AsyncClient.from_settings(settings) for _ in range(len(packages.templates))]

    def sender(client: AsyncClient) -> Send:
        async def send(body: bytes) -> tuple[str | None, str, str | None]:
            out = await client.documents.send(
                body, sender=SENDER, receivers=[RECEIVER], message_type="edoc"
            )
            error = None if out.accepted else f"{out.code} {out.message}"
            return out.doc_id if out.accepted else None, out.payload_sha256, error

        return send

    try:
        return await _drive([sender(c) for c in clients], packages, seconds, offset)
    finally:
        for client in clients:
            await client.aclose()


async def _with_aiohttp(url: str, packages: Packages, seconds: float, offset: int) -> Any:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def send(body: bytes) -> tuple[str | None, str, str | None]:
            sha = hashlib.sha256(body).hexdigest()
            params = {
                "from": SENDER,
                "to": RECEIVER,
                "servicetype": "eDoc",
                "messagetype": "edoc",
                "hash-file": sdk_file_hash(body),
            }
            headers = sign_request(
                params,
                system_id=SYSTEM_ID,
                secret=SECRET,
                content_type="application/octet-stream",
            )
            async with session.post(f"{url}/vxp/sendEdoc", data=body, headers=headers) as r:
                answer = await r.json(content_type=None)
            if r.status == 200 and answer.get("ErrorCode") == "0":
                return str(answer["DocId"]), sha, None
            return None, sha, f"HTTP {r.status} {answer.get('ErrorDesc')}"

        senders: list[Send] = [send] * len(packages.templates)
        return await _drive(senders, packages, seconds, offset)


@dataclasses.dataclass
class Phase:
    name: str
    records: list[Sent]
    elapsed: float
    #: CPU seconds the sandbox's process (and its children) and this process used.
    server_cpu: float = float("nan")
    client_cpu: float = float("nan")

    @property
    def accepted(self) -> list[Sent]:
        return [r for r in self.records if r.doc_id is not None]

    @property
    def per_second(self) -> float:
        return len(self.accepted) / self.elapsed

    def timeline(self, step: float = 5.0) -> list[int]:
        """Accepted sends started in each ``step`` seconds of the phase (does it hold up?)."""
        if not self.records:
            return []
        start = min(r.started for r in self.records)
        counts = [0] * (int(self.elapsed // step) + 1)
        for r in self.accepted:
            counts[int((r.started - start) // step)] += 1
        return counts

    def latency(self, q: int) -> float:
        """The q-th percentile of send latency (accepted sends)."""
        values = sorted(r.seconds for r in self.accepted) or [float("nan")]
        return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def prove_exactly_once(db: Path, phases: list[Phase]) -> tuple[bool, str, dict[str, int]]:
    """Read the store: one row per accepted DocId with the sender's hash, bytes to match."""
    told = {r.doc_id: r.sha256 for p in phases for r in p.accepted if r.doc_id is not None}
    accepted = sum(len(p.accepted) for p in phases)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = {str(d): s for d, s in conn.execute("SELECT doc_id, sha256 FROM vxp_documents")}
        repeated = conn.execute(
            "SELECT COUNT(*) FROM (SELECT sha256 FROM vxp_documents GROUP BY sender, sha256"
            " HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        bad_bytes = 0
        for doc_id, data in conn.execute("SELECT doc_id, data FROM vxp_payloads"):
            if hashlib.sha256(data).hexdigest() != rows.get(str(doc_id)):
                bad_bytes += 1
        payloads = conn.execute("SELECT COUNT(*) FROM vxp_payloads").fetchone()[0]
    finally:
        conn.close()
    missing = [d for d in told if d not in rows]
    wrong_hash = [d for d, sha in told.items() if d in rows and rows[d] != sha]
    unknown = [d for d in rows if d not in told]
    counts = {
        "accepted": accepted,
        "distinct_doc_ids": len(told),
        "rows": len(rows),
        "payloads": payloads,
        "missing": len(missing),
        "wrong_hash": len(wrong_hash),
        "rows_nobody_was_told": len(unknown),
        "repeated_hashes": repeated,
        "bytes_not_matching": bad_bytes,
    }
    ok = accepted == len(told) == len(rows) == payloads and not (
        missing or wrong_hash or unknown or repeated or bad_bytes
    )
    text = (
        f"{len(rows):,} rows = {accepted:,} accepted, hashes match"
        if ok
        else ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return ok, text, counts


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid`` and its children (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if entry.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    tool = shutil.which("py-spy")
    if tool is None:
        print("py-spy is not on PATH: no profile recorded", file=sys.stderr)
        return None
    fmt = "raw" if out.suffix in (".txt", ".raw") else "flamegraph"
    return subprocess.Popen(
        [
            tool,
            "record",
            "--gil",
            "-p",
            str(pid),
            "-d",
            str(int(seconds)),
            "-r",
            "200",
            "-f",
            fmt,
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_load(
    seconds: float,
    clients: int = CLIENTS,
    *,
    extra: dict[str, Any] | None = None,
    py_spy: Path | None = None,
) -> tuple[list[Phase], tuple[bool, str, dict[str, int]], dict[str, Any]]:
    """Both phases against one sandbox process; the phases and the store's proof."""
    packages = Packages(clients)
    with tempfile.TemporaryDirectory(prefix="lgsp-sandbox-load-") as tmp:
        db = Path(tmp) / "sandbox.db"
        with sandbox_process(db, extra or {}) as (url, pid, took):
            # Warm-up: connections, imports and caches on both sides. Its packages are
            # accepted packages like the others: the proof counts them too.
            warm = Phase("warm-up", *asyncio.run(_with_aiohttp(url, packages, 0.5, 900_000)))
            spy = _py_spy(pid, seconds, py_spy) if py_spy else None
            phases = []
            for offset, (name, drive) in enumerate(
                (("lgsp.AsyncClient", _with_lgsp), ("raw aiohttp", _with_aiohttp))
            ):
                server_cpu, own_cpu = _cpu_seconds(pid), sum(os.times()[:2])
                records, elapsed = asyncio.run(drive(url, packages, seconds, offset * 400_000))
                phase = Phase(name, records, elapsed)
                phase.server_cpu = _cpu_seconds(pid) - server_cpu
                phase.client_cpu = sum(os.times()[:2]) - own_cpu
                phases.append(phase)
            if spy is not None:
                spy.wait()
        proof = prove_exactly_once(db, [warm, *phases])
    with server_process(_FLOOR, "{}") as (url, pid, _):
        asyncio.run(_with_aiohttp(url, packages, 0.5, 900_000))
        server_cpu, own_cpu = _cpu_seconds(pid), sum(os.times()[:2])
        records, elapsed = asyncio.run(_with_aiohttp(url, packages, seconds, 800_000))
        floor = Phase("floor", records, elapsed, _cpu_seconds(pid) - server_cpu)
        floor.client_cpu = sum(os.times()[:2]) - own_cpu
    info = {
        "clients": clients,
        "package_bytes": packages.size,
        "sandbox_options": took,
        "warm_up_packages": len(warm.accepted),
        "floor": floor,
    }
    return phases, proof, info


def _cpu_row(phase: Phase, case: str) -> Row:
    done = max(1, len(phase.records))
    busy = f"{phase.server_cpu / phase.elapsed:.2f} / {phase.client_cpu / phase.elapsed:.2f}"
    return Row(
        case=case,
        figure=f"{millis(phase.server_cpu / done)} / {millis(phase.client_cpu / done)} ({busy})",
        baseline="",
        ratio="",
        target="",
        met=None,
        data={"server_cpu_seconds": phase.server_cpu, "client_cpu_seconds": phase.client_cpu},
    )


def _rows(
    phases: list[Phase], proof: tuple[bool, str, dict[str, int]], info: dict[str, Any]
) -> list[Row]:
    floor: Phase = info["floor"]
    facts = {k: v for k, v in info.items() if k != "floor"}
    floor_rate = floor.per_second
    rows: list[Row] = []
    for phase in phases:
        errors = [r for r in phase.records if r.error is not None]
        rate = phase.per_second
        rows.append(
            Row(
                case=f"sandbox load, {facts['clients']} × {phase.name}, "
                f"{facts['package_bytes'] // 1000} KB packages",
                figure=f"{rate:,.0f} packages/s",
                baseline=f"{floor_rate:,.0f}/s bare uvicorn+h11",
                ratio=times(floor_rate / rate) if rate else "",
                target=f"≥ {TARGET_PER_S:,.0f}/s",
                met=rate >= TARGET_PER_S,
                data={
                    "per_s": rate,
                    "floor_per_s": floor_rate,
                    "time_ratio": floor_rate / rate if rate else None,
                    "accepted": len(phase.accepted),
                    "errors": len(errors),
                    "first_error": errors[0].error if errors else None,
                    "seconds": phase.elapsed,
                    "p50_seconds": phase.latency(50),
                    "p99_seconds": phase.latency(99),
                    **facts,
                },
            )
        )
        rows.append(_cpu_row(phase, "  CPU per package: sandbox / this process (cores busy)"))
        rows.append(
            Row(
                case="  latency of a send p50 / p99",
                figure=f"{millis(phase.latency(50))} / {millis(phase.latency(99))}",
                baseline=f"{millis(floor.latency(50))} / {millis(floor.latency(99))}",
                ratio="",
                target="",
                met=None,
                data={"errors": len(errors)},
            )
        )
    rows.append(_cpu_row(floor, "  floor: CPU per exchange, server / this process"))
    ok, text, counts = proof
    rows.append(
        Row(
            case="  every accepted package in the store exactly once",
            figure=text,
            baseline="",
            ratio="",
            target="all",
            met=ok,
            data=dict(counts),
        )
    )
    return rows


def sandbox_load_case(_inputs: Inputs, settings: Settings) -> list[Row]:
    """The sandbox (own process) under 50 concurrent senders of 100 KB packages."""
    quick = settings.repeats < Settings().repeats
    phases, proof, info = run_load(QUICK_SECONDS if quick else SECONDS)
    return _rows(phases, proof, info)


CASES: dict[str, Callable[[Inputs, Settings], list[Row]]] = {"sandbox-load": sandbox_load_case}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandbox_load")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:.0f} s per phase")
    parser.add_argument("--seconds", type=float, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--processes", type=int, help="the sandbox's reader processes")
    parser.add_argument("--workers", type=int, help="the sandbox's worker threads")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="profile the sandbox")
    args = parser.parse_args(argv)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    extra = {
        k: v for k, v in (("processes", args.processes), ("workers", args.workers)) if v is not None
    }
    phases, proof, info = run_load(seconds, args.clients, extra=extra, py_spy=args.py_spy)
    print(table(_rows(phases, proof, info)))
    timeline = {p.name: p.timeline() for p in phases}
    print(json.dumps({"sandbox_options": info["sandbox_options"], "proof": proof[2]}))
    print(json.dumps({"accepted per 5 s": timeline}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
