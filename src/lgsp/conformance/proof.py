"""The proof that the endpoint suite can fail.

A suite that passes against everything proves nothing. :func:`run_proof` runs the whole suite
of each profile against a clean lgsp sandbox (every case must pass), then plays each fault knob
and each deliberate defect of the sandbox (:data:`lgsp.sandbox.faults.DEFECTS`) and runs the
cases that guard against it: the fault is *caught* when every one of them fails. The table of
faults and cases is data shipped beside this module (``proof.toml``); a knob or defect missing
from it fails the proof, so a new defect cannot be added without a case that catches it.

The result is an ordinary :class:`~lgsp.conformance.results.Report` (``kind="proof"``): one
result for each profile's clean run and one for each fault and profile, with the outcome of
every case run in its checks; ``lgsp conformance proof`` renders it like any other report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from lgsp import __version__
from lgsp.conformance.results import CaseResult, Check, Report
from lgsp.conformance.runner import KitOptions, run_suite
from lgsp.conformance.suite import PROFILES, Case, ProfileName, builtin_cases, select
from lgsp.conformance.targets import sandbox_target
from lgsp.errors import ConfigurationError

__all__ = ["KNOBS", "PROOF_OPTIONS", "Fault", "load_faults", "run_proof", "uncovered"]

#: The fault knobs of the sandbox (:class:`lgsp.sandbox.faults.Faults`) the proof must cover.
KNOBS = ("latency", "error_rate", "drop_rate", "token_lifetime")

#: The sandboxes of a proof refuse packages above 1 MiB (the kit's oversized package is then
#: small) and the kit waits half a second for what a defect keeps from coming.
PROOF_LIMIT = 1 << 20
PROOF_OPTIONS = KitOptions(max_package_bytes=PROOF_LIMIT, delivery_timeout=0.5, poll_interval=0.05)


@dataclasses.dataclass(frozen=True, slots=True)
class Fault:
    """One entry of the proof table: what the sandbox is made to do and what must catch it."""

    #: The knob (``latency``) or defect (``lose-status``) played.
    name: str
    kind: str  # "knob" or "defect"
    profiles: tuple[ProfileName, ...]
    #: Case selector terms (ids, id prefixes, patterns); every case they pick must fail.
    cases: tuple[str, ...]
    #: Knob values set on the sandbox (empty for a defect).
    knobs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Kit limits changed from :data:`PROOF_OPTIONS` for the run (a tighter latency budget).
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def _fault(raw: Mapping[str, Any], where: str) -> Fault:
    known = {"knob", "defect", "set", "options", "profiles", "cases"}
    extra = sorted(set(raw) - known)
    if extra:
        raise ConfigurationError(f"{where}: unknown keys {extra}", field="proof")
    if ("knob" in raw) == ("defect" in raw):
        raise ConfigurationError(f"{where}: name one knob or one defect", field="proof")
    profiles = tuple(raw.get("profiles", ()))
    wrong = [p for p in profiles if p not in PROFILES]
    if not profiles or wrong:
        raise ConfigurationError(f"{where}: profiles {wrong or '[]'} unknown", field="proof")
    cases = tuple(raw.get("cases", ()))
    if not cases:
        raise ConfigurationError(f"{where}: no cases", field="proof")
    options = dict(raw.get("options", {}))
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(KitOptions)})
    if unknown:
        raise ConfigurationError(f"{where}: unknown kit options {unknown}", field="proof")
    if "knob" in raw:
        knobs = dict(raw.get("set", {}))
        if raw["knob"] not in KNOBS or raw["knob"] not in knobs:
            raise ConfigurationError(
                f"{where}: knob {raw['knob']!r} must be one of {KNOBS} and be set", field="proof"
            )
        return Fault(raw["knob"], "knob", profiles, cases, knobs, options)
    from lgsp.sandbox.faults import DEFECTS

    if raw["defect"] not in DEFECTS:
        raise ConfigurationError(f"{where}: no defect {raw['defect']!r}", field="proof")
    if "set" in raw:
        raise ConfigurationError(f"{where}: a defect sets no knobs", field="proof")
    return Fault(raw["defect"], "defect", profiles, cases, {}, options)


def load_faults(text: str | None = None) -> list[Fault]:
    """The proof table: ``text`` (TOML) or the one shipped with lgsp."""
    if text is None:
        text = resources.files("lgsp.conformance").joinpath("proof.toml").read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"proof table: {exc}", field="proof") from None
    return [
        _fault(raw, f"proof table, fault {n}") for n, raw in enumerate(data.get("fault", []), 1)
    ]


def uncovered(faults: Iterable[Fault]) -> list[str]:
    """The knobs and defects of the sandbox no entry of ``faults`` plays."""
    from lgsp.sandbox.faults import DEFECTS

    played = {(f.kind, f.name) for f in faults}
    missing = [f"knob {k}" for k in KNOBS if ("knob", k) not in played]
    missing += [f"defect {d}" for d in sorted(DEFECTS) if ("defect", d) not in played]
    return missing


def _outcomes(report: Report) -> list[Check]:
    return [
        Check(
            step=r.id,
            expectation=f"{r.id}: {r.title}",
            passed=r.outcome == "fail",
            detail=f"{r.outcome}: {r.message}" if r.message else r.outcome,
        )
        for r in report.results
    ]


def _run_on_sandbox(
    profile: ProfileName,
    cases: Sequence[Case],
    options: KitOptions = PROOF_OPTIONS,
    fault: Fault | None = None,
) -> Report:
    """``cases`` against a fresh sandbox (packages above :data:`PROOF_LIMIT` refused) playing
    ``fault``, or none."""
    from lgsp.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig.demo().model_copy(update={"max_package_bytes": PROOF_LIMIT})
    with Sandbox(config) as sandbox:
        if fault is not None and fault.kind == "defect":
            sandbox.state.faults.update(defects=frozenset({fault.name}))
        elif fault is not None:
            sandbox.state.faults.update(**fault.knobs)
        return run_suite(sandbox_target(sandbox.url, profile, options), cases)


def _clean_run(profile: ProfileName, cases: Sequence[Case]) -> CaseResult:
    report = _run_on_sandbox(profile, cases)
    broken = [r for r in report.results if r.outcome != "pass"]
    return CaseResult(
        id=f"proof.clean.{profile}",
        title=f"The whole {profile} suite passes against a clean sandbox",
        purpose="A case that fails against a correct platform would prove nothing when it "
        "fails against a faulty one.",
        area="clean",
        outcome="pass" if not broken else "fail",
        message="; ".join(f"{r.id} {r.outcome}: {r.message}" for r in broken[:3]),
        checks=[
            Check(
                step=r.id,
                expectation=f"{r.id}: {r.title}",
                passed=r.outcome == "pass",
                detail="" if r.outcome == "pass" else f"{r.outcome}: {r.message}",
            )
            for r in report.results
        ],
        duration=report.duration(),
        facts={"profile": profile, "cases": len(report.results)},
    )


def _faulty_run(fault: Fault, profile: ProfileName, cases: Sequence[Case]) -> CaseResult:
    chosen = select(cases, ",".join(fault.cases), profile)
    options = dataclasses.replace(PROOF_OPTIONS, **fault.options)
    report = _run_on_sandbox(profile, chosen, options, fault)
    checks = _outcomes(report)
    missed = [c for c in checks if not c.passed]
    played = ", ".join(f"{k}={v}" for k, v in fault.knobs.items())
    return CaseResult(
        id=f"proof.{fault.kind}.{fault.name}.{profile}",
        title=f"{fault.label}{f' ({played})' if played else ''} is caught on {profile}",
        rules=sorted({rule for case in chosen for rule in case.rules}),
        purpose=f"With the sandbox playing {fault.label}, every case that guards against it fails.",
        area=fault.kind,
        outcome="pass" if not missed else "fail",
        message=""
        if not missed
        else f"not caught by {', '.join(c.step for c in missed)}: "
        + "; ".join(c.detail for c in missed[:2]),
        checks=checks,
        duration=report.duration(),
        facts={"profile": profile, "caught_by": [c.step for c in checks if c.passed]},
    )


def run_proof(
    profiles: Sequence[ProfileName] = PROFILES,
    *,
    faults: Sequence[Fault] | None = None,
    cases: Sequence[Case] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Report:
    """Clean runs of ``profiles``, then each fault of the table played on each of them."""
    faults = load_faults() if faults is None else list(faults)
    cases = builtin_cases() if cases is None else list(cases)
    report = Report(
        kind="proof",
        title="The endpoint suite can fail",
        target="lgsp sandboxes started by the kit, one per run",
        profile=", ".join(profiles),
        lgsp_version=__version__,
        started_at=dt.datetime.now(dt.UTC),
        settings={"faults": len(faults), "package limit": PROOF_LIMIT},
    )

    def add(result: CaseResult) -> None:
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    missing = uncovered(faults)
    add(
        CaseResult(
            id="proof.coverage",
            title="Every fault knob and defect of the sandbox has cases that must catch it",
            purpose="A behaviour the sandbox can get wrong with no case guarding against it is "
            "a gap in the suite.",
            area="coverage",
            outcome="pass" if not missing else "fail",
            message=f"nothing plays {', '.join(missing)}" if missing else "",
        )
    )
    for profile in profiles:
        add(_clean_run(profile, select(cases, None, profile)))
    for fault in faults:
        for profile in fault.profiles:
            if profile in profiles:
                add(_faulty_run(fault, profile, cases))
    report.finished_at = dt.datetime.now(dt.UTC)
    return report
