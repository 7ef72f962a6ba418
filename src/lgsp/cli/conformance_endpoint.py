"""``lgsp conformance endpoint``: the endpoint suite against a URL, or a sandbox it starts.

Importing this module adds the command to ``lgsp conformance``.
"""

from __future__ import annotations

import contextlib
import enum
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import EXIT_REMOTE, exit_codes
from lgsp.cli.conformance import OutsOption, ReportsOption, conformance_app, usage_exit
from lgsp.conformance.reports import ReportFormat, write
from lgsp.conformance.reports import render as render_report
from lgsp.conformance.results import CaseResult, Report
from lgsp.conformance.runner import KitOptions, Target, run_suite
from lgsp.conformance.suite import ProfileName, load_cases, select
from lgsp.conformance.targets import (
    PartyValues,
    embedded_target,
    load_target,
    target_from_values,
)
from lgsp.errors import ConfigurationError

__all__ = ["emit_reports", "endpoint_command"]


class ProfileChoice(enum.StrEnum):
    VXP = "vxp"
    GATEWAY = "gateway"
    SOAP_HUB = "soap-hub"
    PORTAL = "portal"
    PORTAL_TOKEN = "portal-token"  # noqa: S105 - a profile name


_DEFAULTS = KitOptions()
_MARKS = {
    "pass": "[green]pass[/]",
    "fail": "[red]FAIL[/]",
    "error": "[yellow]ERROR[/]",
    "skipped": "[dim]skip[/]",
}


def _reachable(url: str, verify: bool) -> str | None:
    """None when something answers HTTP at ``url``; else why not."""
    import httpx

    try:
        httpx.get(url, timeout=10.0, verify=verify)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def _target(
    profile: ProfileName,
    url: str | None,
    settings: Path | None,
    values: dict[str, object],
    options: KitOptions,
) -> Iterator[Target]:
    if settings is not None:
        yield load_target(settings, profile=profile, url=url, options=options)
    elif url is None:
        with embedded_target(profile, options) as target:
            yield target
    else:
        yield target_from_values(profile, url, options=options, **values)  # type: ignore[arg-type]


@conformance_app.command(
    "endpoint",
    epilog=exit_codes(
        "every selected case passed (or was skipped: the report counts skips)",
        "a case failed: the endpoint broke a contract",
        "a bad option or settings file, or a case the kit could not carry out",
        "the target could not be reached at all",
    ),
)
def endpoint_command(  # noqa: PLR0917 - typer passes one argument per option
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="URL",
            envvar="LGSP_TARGET",
            help="The endpoint under test. Without it (and without --settings) the kit starts "
            "an lgsp sandbox on a free loopback port and runs against that.",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        ProfileChoice,
        typer.Option(
            help="What the endpoint is: the VXP axis, an LGSP gateway, a SOAP "
            "document hub, the classic DVCQG adapter or the token-based portal."
        ),
    ] = ProfileChoice.VXP,
    cases: Annotated[
        str | None,
        typer.Option(
            "--cases",
            metavar="SELECTOR",
            help="Which cases: id patterns (documents.*), tag:NAME, rule:PATTERN, comma-"
            "separated; !PATTERN excludes.",
            show_default=False,
        ),
    ] = None,
    cases_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases-file",
            metavar="PATH",
            help="Case files (TOML) or folders to run instead of the shipped suite.",
            show_default=False,
        ),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the selected cases and exit.")
    ] = False,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="A kit file (TOML): profile, url, [kit] limits, [sender] and "
            "[receiver] parties; ${NAME} reads the environment.",
            show_default=False,
        ),
    ] = None,
    organ: Annotated[
        str | None, typer.Option(help="The sender's organ code.", show_default=False)
    ] = None,
    system_id: Annotated[
        str | None, typer.Option(help="The sender's VXP system id.", show_default=False)
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(envvar="LGSP_KIT_SECRET", help="The sender's VXP secret.", show_default=False),
    ] = None,
    peer_organ: Annotated[
        str | None,
        typer.Option(
            help="The receiver's organ code: the exchange cases need a second party.",
            show_default=False,
        ),
    ] = None,
    peer_system_id: Annotated[
        str | None, typer.Option(show_default=False, help="The receiver's system id.")
    ] = None,
    peer_secret: Annotated[
        str | None,
        typer.Option(
            envvar="LGSP_KIT_PEER_SECRET", help="The receiver's VXP secret.", show_default=False
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="OAuth2 client id (gateway, token portal).", show_default=False),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="LGSP_KIT_CLIENT_SECRET", help="OAuth2 client secret.", show_default=False
        ),
    ] = None,
    token_url: Annotated[
        str | None, typer.Option(help="The token endpoint, when not URL/token.", show_default=False)
    ] = None,
    username: Annotated[str | None, typer.Option(help="Portal user.", show_default=False)] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="LGSP_KIT_PASSWORD", help="Portal password.", show_default=False),
    ] = None,
    dstcode: Annotated[
        str | None, typer.Option(help="Portal dstcode header.", show_default=False)
    ] = None,
    madonvi: Annotated[
        str | None, typer.Option(help="Portal unit code.", show_default=False)
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            help="Do not verify TLS certificates (test axes with self-signed certificates only)."
        ),
    ] = False,
    max_package_size: Annotated[
        int, typer.Option(metavar="BYTES", help="The size above which packages must be refused.")
    ] = _DEFAULTS.max_package_bytes,
    latency_budget: Annotated[
        float, typer.Option(metavar="SECONDS", help="The longest a light call may take.")
    ] = _DEFAULTS.latency_budget,
    delivery_timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="How long a package may take to reach its receiver."),
    ] = _DEFAULTS.delivery_timeout,
    min_token_lifetime: Annotated[
        int,
        typer.Option(metavar="SECONDS", help="The shortest token lifetime a gateway may announce."),
    ] = _DEFAULTS.min_token_lifetime,
    report_format: ReportsOption = None,
    out: OutsOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Run the endpoint suite: declarative cases (shipped with lgsp) against an endpoint.

    Each case sends real requests, checks what comes back against the contract and keeps the
    evidence (every request and response, secrets masked). Progress goes to stderr, the
    report to stdout or --out.
    """
    chosen: ProfileName = profile.value
    try:
        pool = load_cases(cases_file or ())
        selected = select(pool, cases, chosen)
    except ConfigurationError as exc:
        raise usage_exit(str(exc)) from None
    if list_only:
        for case in selected:
            typer.echo(f"{case.id}\t{case.title}")
        raise typer.Exit(0)
    options = KitOptions(
        max_package_bytes=max_package_size,
        latency_budget=latency_budget,
        delivery_timeout=delivery_timeout,
        min_token_lifetime=min_token_lifetime,
    )
    values: dict[str, object] = {
        "sender": PartyValues(organ=organ, system_id=system_id, secret=secret),
        "receiver": PartyValues(organ=peer_organ, system_id=peer_system_id, secret=peer_secret)
        if peer_organ
        else None,
        "client_id": client_id,
        "client_secret": client_secret,
        "token_url": token_url,
        "username": username,
        "password": password,
        "dstcode": dstcode,
        "madonvi": madonvi,
        "verify": not insecure,
    }
    console = render.make_console(stderr=True)
    try:
        with _target(chosen, target, settings, values, options) as found:
            if not found.embedded:
                why = _reachable(found.url, not insecure)
                if why is not None:
                    console.print(Text(f"lgsp: cannot reach {found.url}: {why}"), soft_wrap=True)
                    raise typer.Exit(EXIT_REMOTE)
            if not quiet:
                where = "a sandbox started for this run" if found.embedded else found.url
                console.print(f"{len(selected)} cases, profile {chosen}, against {where}")

            def progress(result: CaseResult) -> None:
                if not quiet:
                    line = f"  {_MARKS[result.outcome]} {result.id}"
                    if result.outcome != "pass":
                        line += f"  [dim]{result.message[:160]}[/]"
                    console.print(line, highlight=False, soft_wrap=True)

            report = run_suite(found, selected, on_result=progress)
    except ConfigurationError as exc:
        raise usage_exit(str(exc)) from None
    report.settings.update({"cases": cases or "all", "selected": len(selected)})
    hint = _wrong_url_hint(report, chosen)
    if hint:
        console.print(Text(f"lgsp: {hint}"), soft_wrap=True)
    emit_reports(report, report_format.value if report_format else None, out or [], quiet)


_WHERE = {
    "vxp": "the VXP endpoint itself (an lgsp sandbox's is URL/vxp)",
    "gateway": "the gateway's base URL, under which /token and the API context live",
    "soap-hub": "the hub's SOAP endpoint (an lgsp sandbox's is URL/soap/DocumentHub)",
    "portal": "the adapter's base URL (an lgsp sandbox's is URL/portal)",
    "portal-token": "the API's base URL (an lgsp sandbox's is URL/portal-token)",
}


def _wrong_url_hint(report: Report, profile: ProfileName) -> str | None:
    """A sentence when most cases failed on HTTP 404: the URL is likely one level off."""
    failed = [r for r in report.results if r.outcome == "fail"]
    not_found = [r for r in failed if "404" in r.message]
    if len(failed) < 3 or len(not_found) * 2 < len(failed):
        return None
    return (
        f"{len(not_found)} of {len(failed)} failed cases got HTTP 404: check that --target is "
        f"{_WHERE[profile]}"
    )


_BY_SUFFIX: dict[str, ReportFormat] = {
    ".json": "json",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
}


def emit_reports(report: Report, fmt: ReportFormat | None, outs: list[Path], quiet: bool) -> None:
    """The report to stdout (``fmt``, text by default) or to each file of ``outs`` (``fmt``
    for a single file when given, else by extension); then exit with the report's code."""
    counts = report.counts()
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no cases"
    if not outs:
        text = render_report(report, fmt or "text")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for file in outs:
        chosen = (
            fmt
            if fmt is not None and len(outs) == 1
            else _BY_SUFFIX.get(file.suffix.lower(), "text")
        )
        try:
            write(report, chosen, file)
        except OSError as exc:
            raise usage_exit(f"cannot write {file}: {exc.strerror}") from None
    if not quiet or outs:
        written = f"; report written to {', '.join(map(str, outs))}" if outs else ""
        render.make_console(stderr=True).print(f"{summary}{written}", soft_wrap=True)
    raise typer.Exit(report.exit_code)
