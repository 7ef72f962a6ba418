"""``lgsp conformance``: messages, endpoint, counterparty, proof.

This module holds the sub-app, the ``messages`` command and what the kit's commands share:
the ``--report`` and ``--out`` options (:data:`ReportOption`, :data:`OutOption`) and
:func:`emit_report`, which prints or writes a report and exits with its code.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import EXIT_USAGE, exit_codes
from lgsp.cli.app import ProfileName, app
from lgsp.conformance.reports import ReportFormat, write
from lgsp.conformance.results import Report
from lgsp.errors import ConfigurationError

__all__ = [
    "OutOption",
    "OutsOption",
    "ReportChoice",
    "ReportOption",
    "ReportsOption",
    "conformance_app",
    "emit_report",
    "format_of",
    "messages_command",
    "usage_exit",
]

conformance_app = typer.Typer(
    help="The conformance kit: check messages, run the endpoint suite, play a counterparty.",
    no_args_is_help=True,
)
app.add_typer(conformance_app, name="conformance")


class ReportChoice(enum.StrEnum):
    """The report formats of the kit's commands."""

    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    HTML = "html"


class DossierTarget(enum.StrEnum):
    """The portal API whose wire forms a dossier payload is checked against."""

    CLASSIC = "classic"
    TOKEN = "token"  # noqa: S105 - the token API, not a secret


#: ``--report``: the report's format (text on a terminal by default).
ReportOption = Annotated[
    ReportChoice,
    typer.Option(
        "--report",
        help="The report's format: text (people, CI logs), json (programs), junit (CI test "
        "views) or html (one self-contained page).",
    ),
]
#: ``--out``: where the report goes (standard output when absent).
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="FILE",
        dir_okay=False,
        help="Write the report to FILE (replaced whole) and print one summary line; without "
        "it the report goes to standard output.",
        show_default=False,
    ),
]
#: ``--report`` of the commands that may write several reports: optional, the default
#: following ``--out``'s extension.
ReportsOption = Annotated[
    ReportChoice | None,
    typer.Option(
        "--report",
        help="The report's format (default: text, or by --out's extension).",
        show_default=False,
    ),
]
#: ``--out``, repeatable: each file's format follows its extension when several are given.
OutsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--out",
        metavar="FILE",
        help="Write the report to FILE instead of stdout; repeatable. With several files "
        "(or no --report) each file's format follows its extension: .json, .xml (JUnit), "
        ".html, anything else text.",
        show_default=False,
    ),
]


def format_of(choice: ReportChoice | ReportFormat) -> ReportFormat:
    """The renderer's name for a ``--report`` choice (the choices are spelled the same)."""
    return ReportChoice(choice).value


def usage_exit(message: str) -> typer.Exit:
    """Print ``lgsp: message`` on standard error; the exit (code 2) for the caller to raise."""
    render.make_console(stderr=True).print(Text(f"lgsp: {message}"), soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def _summary(report: Report) -> str:
    counts = report.counts()
    shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    n = len(report.results)
    return f"{report.title}: {n} result{'' if n == 1 else 's'} ({shown}): " + (
        "passed" if report.ok else "FAILED"
    )


def emit_report(report: Report, fmt: ReportChoice | ReportFormat, out: Path | None) -> NoReturn:
    """Print the report (or write it to ``out`` and print one summary line), then exit with the
    report's code: 0 passed, 1 a failure, 2 a case or file the kit could not carry out."""
    chosen = format_of(fmt)
    if out is None:
        write(report, chosen, None)
    else:
        try:
            write(report, chosen, out)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise usage_exit(f"cannot write the report to {out}: {reason}") from None
        typer.echo(f"{_summary(report)}; report written to {out}")
    raise typer.Exit(report.exit_code)


def _kind(value: str | None) -> str | None:
    from lgsp.conformance.messages import KINDS

    if value is not None and value not in KINDS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(KINDS)}")
    return value


@conformance_app.command(
    "messages",
    epilog=exit_codes(
        "every message conforms (warnings and info allowed)",
        "a message has an error finding: malformed or hostile XML, not a package, a rule "
        "broken, a signature that does not verify",
        "a path cannot be read, or an option is wrong",
        None,
    ),
)
def messages_command(  # noqa: PLR0917 - typer passes one argument per option
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Files or folders (walked for *.xml, *.edxml, *.json); '-' reads standard input.",
            show_default=False,
        ),
    ],
    profile: Annotated[
        ProfileName,
        typer.Option(
            help="Rule severities: 'strict' (what a conformant sender produces) or 'lenient' "
            "(what a receiver accepts)."
        ),
    ] = ProfileName.STRICT,
    severity: Annotated[
        list[str] | None,
        typer.Option(
            "--severity",
            metavar="RULE=LEVEL",
            help="Change a rule's severity (error, warning, info) or turn it off; RULE may be "
            "a prefix such as 'signature'. Applies to the kit's own rules too. Repeatable.",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            metavar="KIND",
            callback=_kind,
            help="What every message is, instead of telling it from its content: edxml, "
            "document, status, dossier, or a dossier payload name (sync-item, "
            "progress-request…).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        DossierTarget,
        typer.Option(help="The portal API dossier payloads are written for."),
    ] = DossierTarget.CLASSIC,
    report_format: ReportOption = ReportChoice.TEXT,
    out: OutOption = None,
) -> None:
    """Check messages: edXML document and status packages and dossier payloads.

    Each message's kind is told from its content (or --kind); it is read leniently, validated
    under the profile, and its signature verified when it carries one (interop policy: legacy
    SHA-1 signatures are read, and reported). Malformed or hostile input is a finding, never a
    crash. The report lists every message with its findings.
    """
    from lgsp.conformance.messages import check_paths, parse_overrides

    try:
        overrides = parse_overrides(severity or [])
    except ConfigurationError as exc:
        message = str(exc).removeprefix(f"setting {exc.field}: ")
        raise typer.BadParameter(message, param_hint="--severity") from None
    report = check_paths(
        paths,
        profile=profile.value,
        overrides=overrides,
        kind=kind,
        target=target.value,
    )
    emit_report(report, report_format, out)
