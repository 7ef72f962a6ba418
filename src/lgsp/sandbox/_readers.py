"""Reading a received package: the facts the store keeps, and where the work runs.

Reading and validating a package is CPU work under the GIL (a 100 KB attachment: about 1.5 ms).
:class:`PackageReaders` runs it in the server's worker threads (``processes=0``), or in a pool
of worker processes (fresh interpreters running :mod:`lgsp.sandbox._reader_worker`, fed over
pipes) so that it uses the machine's other cores while the server's process moves bytes and
writes the store. Nothing of the caller's script is re-imported in them (no ``__main__``
guard needed), and they end when the sandbox stops or its process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import os
import struct
import sys
import weakref
from pathlib import Path
from typing import Any

from lgsp.documents import DocumentPackage, StatusPackage, read_package, validate
from lgsp.errors import LgspError
from lgsp.findings import Finding, Profile
from lgsp.sandbox._common import Refusal, Workers
from lgsp.signatures import (
    TrustSettings,
    VerificationResult,
    validate_certificate,
    verify_package,
)

__all__ = ["PackageFacts", "PackageReaders", "ReadPolicy", "read_checked"]

_SHOWN_FINDINGS = 8
#: The worker's wire format (see :mod:`lgsp.sandbox._reader_worker`): a request's head (the
#: lengths of its JSON header and of the package, a spare word), a reply's length.
HEAD = struct.Struct(">III")
REPLY = struct.Struct(">I")
#: Packages smaller than this are read in a thread even with processes: shipping costs more.
MIN_OFFLOAD = 16 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class PackageFacts:
    """What the store keeps of an accepted package, besides its bytes."""

    message_type: str
    from_organ: str | None
    receivers: list[str]
    document_id: str | None
    subject: str | None
    notation: str | None
    status_code: str | None
    signature: str
    signature_note: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ReadPolicy:
    """How a received package is checked: plain data (it crosses to worker processes as JSON).
    The switches are off only when the sandbox plays the matching defect."""

    profile: Profile
    #: The time of receipt, epoch seconds: certificates must be valid then.
    received: float
    #: Validate under ``profile`` (off: ``accept-invalid-package``).
    validate: bool = True
    #: Refuse a signature that does not verify (off: ``accept-bad-signature``).
    verify: bool = True
    #: Refuse a signing certificate outside its validity (off: ``accept-expired-certificate``).
    certificate_dates: bool = True
    #: PEM files of the trusted CAs; empty: the signer's path is not checked.
    trust_anchors: tuple[str, ...] = ()


def _findings_text(errors: list[Finding]) -> str:
    shown = "; ".join(f"{f.rule} at {f.location}: {f.message}" for f in errors[:_SHOWN_FINDINGS])
    more = len(errors) - _SHOWN_FINDINGS
    return shown + (f"; and {more} more" if more > 0 else "")


def _facts(pkg: DocumentPackage | StatusPackage, signature: str, note: str | None) -> PackageFacts:
    if isinstance(pkg, StatusPackage):
        rf = pkg.header.response_for
        return PackageFacts(
            "status",
            pkg.header.from_.organ_id,
            [rf.organ_id] if rf.organ_id else [],
            rf.document_id,
            pkg.header.description,
            rf.code,
            pkg.header.code,
            signature,
            note,
        )
    code = pkg.header.code
    return PackageFacts(
        "edoc",
        pkg.header.from_.organ_id,
        [o.organ_id for o in pkg.header.to if o.organ_id],
        pkg.header.document_id,
        pkg.header.subject,
        str(code) if code.number or code.notation else None,
        None,
        signature,
        note,
    )


def read_checked(policy: ReadPolicy, body: bytes, label: str) -> PackageFacts:
    """Read with :func:`lgsp.read_package`, validate under the policy's profile, verify a
    signature when there is one (``interop`` policy) and the dates (and, with anchors, the
    path) of its certificate; a :class:`Refusal` (422) says what is wrong. A pure function of
    its arguments, so that it can run in another process."""
    try:
        pkg = read_package(body, name=label)
    except LgspError as exc:
        raise Refusal(422, "422", f"the package cannot be read: {exc}") from None
    try:
        if policy.validate:
            _validated(pkg, policy.profile)
        signature, note = "none", None
        if pkg.signature_xml is not None:
            signature, note = _verified(body, label, policy)
        return _facts(pkg, signature, note)
    finally:
        pkg.close()


def _validated(pkg: DocumentPackage | StatusPackage, profile: Profile) -> None:
    try:
        findings = validate(pkg, profile=profile)
    except LgspError as exc:
        raise Refusal(422, "422", f"the package cannot be validated: {exc}") from None
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        rules = ", ".join(dict.fromkeys(f.rule for f in errors))
        raise Refusal(
            422,
            "422",
            f"the package is invalid under the {profile} profile (rules {rules}): "
            + _findings_text(errors),
        )


def _verified(body: bytes, label: str, policy: ReadPolicy) -> tuple[str, str | None]:
    """The signature's outcome as stored (``valid``, ``legacy``, ``invalid``) and its note."""
    result = verify_package(body, policy="interop", name=label)
    if not result.valid:
        if policy.verify:
            raise Refusal(422, "422", f"the package signature is invalid: {result.reason}")
        return "invalid", result.reason
    received = dt.datetime.fromtimestamp(policy.received, dt.UTC)
    if policy.certificate_dates:
        _check_dates(result, received)
    if policy.trust_anchors and result.certificate is not None and result.signer is not None:
        # judged at the time of receipt (the trace's claimed time is the sender's word); when
        # the dates are not checked, at a time the certificate was valid
        when = (
            received
            if policy.certificate_dates
            else min(max(received, result.signer.not_before), result.signer.not_after)
        )
        verdict = validate_certificate(
            result.certificate,
            result.chain,
            _trust(policy.trust_anchors),
            signing_time=when,
            now=when,
        )
        if verdict.outcome != "passed":
            raise Refusal(422, "422", f"the signing certificate is not trusted: {verdict.reason}")
    return ("legacy" if result.legacy else "valid"), result.reason


def _check_dates(result: VerificationResult, received: dt.datetime) -> None:
    """Refuse a signing certificate that is not valid at the time of receipt."""
    signer = result.signer
    if signer is None:
        return
    if received > signer.not_after:
        raise Refusal(
            422,
            "422",
            f"the signing certificate {signer.subject!r} expired: notAfter "
            f"{signer.not_after:%Y-%m-%d %H:%M:%S} UTC, the package arrived "
            f"{received:%Y-%m-%d %H:%M:%S} UTC",
        )
    if received < signer.not_before:
        raise Refusal(
            422,
            "422",
            f"the signing certificate {signer.subject!r} is not yet valid: notBefore "
            f"{signer.not_before:%Y-%m-%d %H:%M:%S} UTC (notAfter "
            f"{signer.not_after:%Y-%m-%d %H:%M:%S} UTC), the package arrived "
            f"{received:%Y-%m-%d %H:%M:%S} UTC",
        )


@functools.cache
def _trust(anchors: tuple[str, ...]) -> TrustSettings:
    """Trust settings over the anchor files, loaded once per process. Revocation is not
    checked: the sandbox fetches nothing, so only a path to an anchor decides."""
    try:
        return TrustSettings(anchors=[Path(path) for path in anchors], revocation="off")
    except (OSError, ValueError, LgspError) as exc:
        raise Refusal(500, "500", f"the sandbox's trust anchors cannot be read: {exc}") from None


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def call(self, header: bytes, body: bytes) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:  # pragma: no cover - the pool makes both pipes
            raise OSError("the worker has no pipes")
        stdin.write(HEAD.pack(len(header), len(body), 0) + header)
        stdin.write(body)
        await stdin.drain()
        (size,) = REPLY.unpack(await stdout.readexactly(REPLY.size))
        reply: dict[str, Any] = json.loads(await stdout.readexactly(size))
        return reply

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class _Pool:
    """The worker processes of one event loop, handed out one call at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self.workers: list[_Worker] = []
        self._starting: asyncio.Future[None] | None = None
        self._respawning: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._spawn_all())
        await asyncio.shield(self._starting)

    async def _spawn_all(self) -> None:
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _spawn(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lgsp.sandbox._reader_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=_child_env(),
        )
        worker = _Worker(process)
        self.workers.append(worker)
        self.idle.put_nowait(worker)

    async def read(self, policy: ReadPolicy, body: bytes, label: str) -> PackageFacts:
        await self.start()
        worker = await self.idle.get()
        header = json.dumps({"policy": dataclasses.asdict(policy), "label": label}).encode()
        try:
            reply = await worker.call(header, body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            # the worker died (or answered nonsense): replace it, refuse this one call
            worker.kill()
            self.workers.remove(worker)
            await self._spawn()
            raise Refusal(500, "500", f"the package reader failed: {exc!r}") from None
        except BaseException:
            # cancelled mid-call: the pipe is out of step, so this worker is done
            worker.kill()
            self.workers.remove(worker)
            self._respawning.add(asyncio.ensure_future(self._spawn()))
            raise
        self.idle.put_nowait(worker)
        if "facts" in reply:
            return PackageFacts(**reply["facts"])
        if "refusal" in reply:
            status, code, message = reply["refusal"]
            raise Refusal(int(status), str(code), str(message))
        raise Refusal(500, "500", f"the package reader failed: {reply.get('error')}")

    async def aclose(self) -> None:
        for worker in self.workers:
            stdin = worker.process.stdin
            if stdin is not None:
                stdin.close()  # the worker ends when its input does
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except TimeoutError:
                worker.kill()
        self.workers.clear()

    def kill(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.workers.clear()


def _child_env() -> dict[str, str]:
    """The environment of a worker: this one, with lgsp's own folder first on the path (so
    that the worker imports the same lgsp, however this process found it)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


class PackageReaders:
    """Runs :func:`read_checked`: by the state's workers (``processes=0``), or in a pool of
    worker processes (one pool per event loop, started by the app at startup or on first use,
    stopped at shutdown)."""

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool]
        self._pools = weakref.WeakKeyDictionary()

    def offloads(self, body: bytes) -> bool:
        """Whether ``body`` is read in a worker process."""
        return self.processes > 0 and len(body) >= MIN_OFFLOAD

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _Pool(self.processes)
        return pool

    async def start(self) -> None:
        """Start this loop's worker processes now (rather than on the first read)."""
        if self.processes > 0:
            await self._pool().start()

    async def read(
        self, workers: Workers, policy: ReadPolicy, body: bytes, label: str
    ) -> PackageFacts:
        if not self.offloads(body):
            return await workers.run(read_checked, policy, body, label)
        return await self._pool().read(policy, body, label)

    async def aclose(self) -> None:
        """Stop this loop's worker processes."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.aclose()

    def close(self) -> None:
        """Kill the worker processes of every loop (for when no loop runs any more)."""
        for pool in list(self._pools.values()):
            pool.kill()
        self._pools.clear()
