"""Running the endpoint suite: a target, its parties, the step actions, the evidence.

A :class:`Target` is the endpoint under test: its deployment profile, its URL and the
credentials of one or two parties — ``sender`` (the system whose conformance is proved) and,
for exchanges, ``receiver`` (a second system on the same platform). :func:`run_suite` runs
the selected :class:`~lgsp.conformance.suite.Case` objects against it and returns a
:class:`~lgsp.conformance.results.Report`.

Each step of a case is carried out by an action registered with :func:`step` (the actions live
in :mod:`lgsp.conformance.steps`). An action uses the parties' lgsp clients (``ctx.client``),
remembers what later steps need (``ctx.saved``) and records what it expected and saw
(``ctx.expect``). Every request the clients make is recorded as evidence of the step, with
secrets and personal data masked. The clients never retry: a 503 or a dropped connection is
the endpoint's behaviour and is reported as such.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lgsp import __version__
from lgsp.clients import Client, Settings
from lgsp.conformance.results import CaseResult, Check, Evidence, Outcome, Report
from lgsp.conformance.suite import Case, ProfileName, Step
from lgsp.errors import ConfigurationError, LgspError
from lgsp.findings import Finding
from lgsp.transports.base import Request, Response
from lgsp.transports.observe import redact, redact_body, redact_url
from lgsp.transports.retry import RetryPolicy

__all__ = [
    "STEPS",
    "Context",
    "ExpectationError",
    "KitOptions",
    "Party",
    "StepSpec",
    "Target",
    "check_case",
    "open_runner",
    "run_case",
    "run_suite",
    "step",
]


@dataclasses.dataclass(frozen=True, slots=True)
class KitOptions:
    """The limits and patience of a run; the defaults suit the sandbox and a test axis."""

    #: The package size the platform must refuse above (lgsp's sandbox: 10 MiB).
    max_package_bytes: int = 10 * 1024 * 1024
    #: The longest a light call (an agency list, a count) may take, in seconds.
    latency_budget: float = 2.0
    #: How many light calls in a row the availability case makes.
    availability_calls: int = 20
    #: The shortest token lifetime (``expires_in``) a gateway may announce, in seconds.
    min_token_lifetime: int = 300
    #: How long a sent package or status may take to show up at its receiver, in seconds.
    delivery_timeout: float = 10.0
    poll_interval: float = 0.25
    #: Bytes of each body kept as evidence.
    body_preview: int = 2048


@dataclasses.dataclass(frozen=True, slots=True)
class Party:
    """One system on the platform: how to reach it and the organ it acts for."""

    settings: Settings
    #: The organ code its packages come from (documents) or its unit (``madonvi``, dossiers).
    organ: str
    #: The organ's name, as written in packages.
    organ_name: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """The endpoint under test."""

    profile: ProfileName
    url: str
    sender: Party
    receiver: Party | None = None
    options: KitOptions = KitOptions()
    #: Set when the kit started the sandbox itself (reports say so).
    embedded: bool = False

    def party(self, name: str) -> Party:
        if name == "sender":
            return self.sender
        if name == "receiver" and self.receiver is not None:
            return self.receiver
        raise ConfigurationError(f"no {name} party was given for this run", field=name)


class ExpectationError(Exception):
    """An expectation did not hold: the case stops here (later steps depend on this one)."""


@dataclasses.dataclass(frozen=True, slots=True)
class StepSpec:
    """A registered action: its name, what it does, the parameters and expectations it knows."""

    name: str
    run: Callable[[Context, Step], None]
    params: frozenset[str]
    expects: frozenset[str]
    doc: str


STEPS: dict[str, StepSpec] = {}


def step(
    name: str, *, params: Iterable[str] = (), expects: Iterable[str] = ()
) -> Callable[[Callable[[Context, Step], None]], Callable[[Context, Step], None]]:
    """Register the action ``do = name``; ``params`` and ``expects`` are the keys it reads."""

    def register(fn: Callable[[Context, Step], None]) -> Callable[[Context, Step], None]:
        if name in STEPS:
            raise ValueError(f"the step {name!r} is registered twice")
        STEPS[name] = StepSpec(
            name, fn, frozenset(params), frozenset(expects), (fn.__doc__ or "").strip()
        )
        return fn

    return register


def _load_steps() -> None:
    import lgsp.conformance.steps  # noqa: F401 - registers the actions


def check_case(case: Case) -> list[str]:
    """What is wrong with a case's steps (unknown actions, parameters, expectations)."""
    _load_steps()
    problems = []
    for index, s in enumerate(case.steps, 1):
        spec = STEPS.get(s.do)
        if spec is None:
            problems.append(f"{case.id} step {index}: no action {s.do!r}")
            continue
        unknown = set(s.params) - spec.params
        if unknown:
            problems.append(f"{case.id} step {index} ({s.do}): unknown {sorted(unknown)}")
        wrong = set(s.expect) - spec.expects
        if wrong:
            problems.append(f"{case.id} step {index} ({s.do}): cannot expect {sorted(wrong)}")
    return problems


# --- evidence ---------------------------------------------------------------------------------


def _headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name, value in redact(tuple(tuple(p) for p in pairs)):
        shown[name] = f"{shown[name]}, {value}" if name in shown else str(value)
    return shown


def _body(body: Any, limit: int) -> str | None:
    if body is None:
        return None
    if isinstance(body, Path):
        return redact_body(body)
    data = bytes(body) if not isinstance(body, str) else body.encode("utf-8")
    if not data:
        return ""
    return redact_body(data, limit=limit)


def _response_body(response: Response, limit: int) -> str:
    if response.body_file is not None:
        # Measure, then rewind: the codec reads the spool after the observer has seen it.
        size = response.body_file.seek(0, 2)
        response.body_file.seek(0)
        return f"<{size} bytes, spooled to disk>"
    return _body(response.content, limit) or ""


class _Recorder:
    """The clients' observer: each exchange becomes evidence of the step running now."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.context: Context | None = None

    def exchange(
        self,
        request: Request,
        response: Response | None,
        error: LgspError | None,
        duration: float,
    ) -> None:
        ctx = self.context
        if ctx is None:
            return
        ctx.evidence.append(
            Evidence(
                step=ctx.step_label,
                operation=str(request.meta.get("operation") or "") or None,
                method=request.method,
                url=redact_url(request.url),
                request_headers=_headers(request.headers),
                request_body=_body(request.content, self.limit),
                status=response.status_code if response is not None else None,
                response_headers=_headers(response.headers) if response is not None else {},
                response_body=_response_body(response, self.limit)
                if response is not None
                else None,
                error=f"{type(error).__name__}: {error}" if error is not None else None,
                duration_ms=round(duration * 1000, 2),
                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=duration),
            )
        )


# --- running ----------------------------------------------------------------------------------


class Context:
    """What a case's actions share: the target, the parties' clients, saved values, results."""

    def __init__(self, runner: _Runner, case: Case) -> None:
        self.runner = runner
        self.target = runner.target
        self.options = runner.target.options
        self.case = case
        self.saved: dict[str, Any] = {}
        self.checks: list[Check] = []
        self.evidence: list[Evidence] = []
        self.findings: list[Finding] = []
        self.facts: dict[str, Any] = {}
        self.step_label = ""
        self.step: Step | None = None

    def client(self, party: str = "sender") -> Client:
        """The lgsp client of a party (made once per run, never retrying)."""
        return self.runner.client(party)

    def party(self, name: str = "sender") -> Party:
        return self.target.party(name)

    def unique(self) -> str:
        """A short token unique to this run and call, for document numbers and codes."""
        return self.runner.unique()

    def record(self, step: Step, evidence: Evidence) -> None:
        """Evidence made by an action itself (a raw HTTP call outside the clients)."""
        self.evidence.append(evidence.model_copy(update={"step": self.step_label}))

    def expect(self, passed: bool, expectation: str, detail: str = "") -> bool:
        """Record an expectation; raise :class:`ExpectationError` when it did not hold."""
        self.checks.append(
            Check(step=self.step_label, expectation=expectation, passed=bool(passed), detail=detail)
        )
        if not passed:
            raise ExpectationError(f"{expectation}: {detail}" if detail else expectation)
        return True

    def note(self, expectation: str, detail: str = "") -> None:
        """Record an expectation that held (for actions whose success is the check)."""
        self.checks.append(
            Check(step=self.step_label, expectation=expectation, passed=True, detail=detail)
        )


class _Runner:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.recorder = _Recorder(target.options.body_preview)
        self._clients: dict[str, Client] = {}
        self._run_id = uuid.uuid4().hex[:6]
        self._counter = itertools.count(1)
        self.work = Path()  # set by run_suite: a folder for downloads

    def unique(self) -> str:
        return f"{self._run_id}{next(self._counter):04d}"

    def client(self, party: str) -> Client:
        found = self._clients.get(party)
        if found is None:
            chosen = self.target.party(party)
            found = Client.from_settings(
                chosen.settings,
                retry=RetryPolicy(max_attempts=1),
                observer=self.recorder,
                outbox=None,
                inbox=None,
                download_dir=self.work / party,
            )
            self._clients[party] = found
        return found

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()


def run_case(runner: _Runner, case: Case) -> CaseResult:
    """Run one case; never raises for what the target does."""
    _load_steps()
    began = time.perf_counter()
    base = {
        "id": case.id,
        "title": case.title,
        "purpose": case.purpose,
        "rules": list(case.rules),
        "area": case.area,
    }
    if "peer" in case.needs and runner.target.receiver is None:
        return CaseResult(
            **base,
            outcome="skipped",
            message="needs a second party on the platform (the receiver's credentials)",
        )
    ctx = Context(runner, case)
    runner.recorder.context = ctx
    outcome: Outcome = "pass"
    message = ""
    try:
        for index, s in enumerate(case.steps, 1):
            ctx.step, ctx.step_label = s, f"{index} {s.do}"
            spec = STEPS.get(s.do)
            if spec is None:
                outcome, message = "error", f"step {index}: no action {s.do!r}"
                break
            before = len(ctx.checks)
            try:
                spec.run(ctx, s)
            except ExpectationError as failed:
                outcome, message = "fail", f"step {ctx.step_label}: {failed}"
                break
            except LgspError as exc:
                # The target broke the contract in a way the action did not expect.
                ctx.checks.append(
                    Check(
                        step=ctx.step_label,
                        expectation=f"{s.do} completes",
                        passed=False,
                        detail=f"{type(exc).__name__}: {exc}",
                    )
                )
                outcome = "fail"
                message = f"step {ctx.step_label}: {type(exc).__name__}: {exc}"
                break
            if len(ctx.checks) == before:
                ctx.note(f"{s.do} completes")
    except Exception as exc:  # noqa: BLE001 - a fault of the kit or its inputs, reported
        outcome = "error"
        message = f"step {ctx.step_label}: the kit failed: {type(exc).__name__}: {exc}"
    finally:
        runner.recorder.context = None
    return CaseResult(
        **base,
        outcome=outcome,
        message=message,
        checks=ctx.checks,
        findings=ctx.findings,
        evidence=ctx.evidence,
        duration=round(time.perf_counter() - began, 4),
        facts={"profile": runner.target.profile, **ctx.facts},
    )


@contextmanager
def open_runner(target: Target, *, work: str | Path | None = None) -> Iterator[_Runner]:
    """A runner for :func:`run_case`, for callers that drive the cases one by one (the pytest
    plugin); its clients are closed and its scratch folder removed on exit."""
    import tempfile

    runner = _Runner(target)
    with tempfile.TemporaryDirectory(prefix="lgsp-kit-") as tmp:
        runner.work = Path(work) if work is not None else Path(tmp)
        try:
            yield runner
        finally:
            runner.close()


def run_suite(
    target: Target,
    cases: Iterable[Case],
    *,
    work: str | Path | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Report:
    """Run ``cases`` against ``target``, in order; ``on_result`` hears of each as it ends."""
    report = Report(
        kind="endpoint",
        title=f"Endpoint conformance: {target.profile}",
        target=redact_url(target.url)
        + (" (lgsp sandbox, started by the kit)" if target.embedded else ""),
        profile=target.profile,
        lgsp_version=__version__,
        started_at=dt.datetime.now(dt.UTC),
    )
    with open_runner(target, work=work) as runner:
        for case in cases:
            result = run_case(runner, case)
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    report.finished_at = dt.datetime.now(dt.UTC)
    return report
