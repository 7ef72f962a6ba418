"""``lgsp conformance proof``: show that the endpoint suite fails against a faulty platform.

Importing this module adds the command to ``lgsp conformance``. The work is
:func:`lgsp.conformance.proof.run_proof`; this module prints progress and writes the report.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lgsp.cli import render
from lgsp.cli._client import exit_codes
from lgsp.cli.conformance import OutsOption, ReportsOption, conformance_app, usage_exit
from lgsp.cli.conformance_endpoint import ProfileChoice, emit_reports
from lgsp.conformance.proof import load_faults, run_proof, uncovered
from lgsp.conformance.results import CaseResult
from lgsp.conformance.suite import ProfileName
from lgsp.errors import ConfigurationError

__all__ = ["proof_command"]

_MARKS = {"pass": "[green]caught[/]", "fail": "[red]MISSED[/]", "error": "[yellow]ERROR[/]"}


@conformance_app.command(
    "proof",
    epilog=exit_codes(
        "every profile's suite passed against a clean sandbox and every fault was caught",
        "a case failed against the clean sandbox, or a fault went uncaught",
        "the proof table is broken (an unknown case, knob or defect)",
        None,
    ),
)
def proof_command(
    profile: Annotated[
        list[ProfileChoice] | None,
        typer.Option(
            "--profile",
            help="The profiles to prove (repeatable; default: all five).",
            show_default=False,
        ),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Print the table of faults and cases and exit.")
    ] = False,
    report_format: ReportsOption = None,
    out: OutsOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Prove the kit can fail: the suite against a clean sandbox, then against each fault.

    Every case of each profile must pass against a clean lgsp sandbox; then each fault knob
    (latency, error_rate, drop_rate, token_lifetime) and each deliberate defect of the sandbox
    (accepting a bad signature, losing a status, answering in the wrong envelope…) is played
    on a fresh sandbox, and the cases listed for it must fail.
    """
    console = render.make_console(stderr=True)
    try:
        faults = load_faults()
    except ConfigurationError as exc:
        raise usage_exit(str(exc)) from None
    chosen: list[ProfileName] = [p.value for p in (profile or list(ProfileChoice))]
    if list_only:
        for fault in faults:
            played = ", ".join(p for p in fault.profiles if p in chosen)
            if played:
                typer.echo(f"{fault.label}\t{played}\t{', '.join(fault.cases)}")
        for gap in uncovered(faults):
            typer.echo(f"{gap}\t(no entry)\t-")
        raise typer.Exit(0)

    def progress(result: CaseResult) -> None:
        if quiet:
            return
        if result.area in ("knob", "defect"):
            mark = _MARKS.get(result.outcome, result.outcome)
            caught = ", ".join(result.facts.get("caught_by", [])[:3])
            more = len(result.facts.get("caught_by", [])) - 3
            by = f"  [dim]by {caught}{f' +{more}' if more > 0 else ''}[/]" if caught else ""
            line = f"  {mark} {result.id}{by}"
        else:
            mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
            line = f"  {mark} {result.id}"
        if not result.passed:
            line += f"  [dim]{result.message[:160]}[/]"
        console.print(line, highlight=False, soft_wrap=True)

    if not quiet:
        console.print(f"{len(faults)} faults over {', '.join(chosen)}; a fresh sandbox for each")
    try:
        report = run_proof(chosen, faults=faults, on_result=progress)
    except ConfigurationError as exc:
        raise usage_exit(str(exc)) from None
    emit_reports(report, report_format.value if report_format else None, out or [], quiet)
