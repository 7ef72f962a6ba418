"""``lgsp dossier validate``: check dossier payloads for the DVCQG adapter or the token API.

Importing this module adds the ``dossier`` group to the ``lgsp`` app.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli.app import OutputFormat, ProfileName, _exit_codes, app
from lgsp.dossiers import (
    DEFAULT_TRANSITIONS,
    PAYLOADS,
    TransitionTable,
    detect_kind,
    payload_kind,
    validate_dossier,
)
from lgsp.errors import LgspError

__all__ = ["dossier_app", "validate_command"]

dossier_app = typer.Typer(
    name="dossier",
    help=(
        "Dossier payloads synchronised with the national public-service portal (DVCQG) and "
        "the token-based ministry API.\n\n"
        "\b\n"
        "  validate  check payloads against the rules of a target and a profile"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)
app.add_typer(dossier_app, name="dossier")


class TargetName(enum.StrEnum):
    """The API a payload is written for."""

    CLASSIC = "classic"
    TOKEN = "token"  # noqa: S105 - the token API, not a secret


def _kind(value: str | None) -> str | None:
    if value is not None and value not in PAYLOADS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(PAYLOADS)}")
    return value


def _table(path: Path | None) -> TransitionTable:
    if path is None:
        return DEFAULT_TRANSITIONS
    try:
        return TransitionTable.from_json(path.read_bytes())
    except (OSError, LgspError) as exc:
        reason = render.describe_error(exc)["message"]
        raise typer.BadParameter(f"{path}: {reason}", param_hint="--transitions") from None


def _read_json(path: Path) -> Any:
    """Parsed JSON from a file, or standard input for ``-``; UTF-8, a BOM tolerated."""
    raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    return json.loads(raw.decode("utf-8-sig"))


def _unreadable(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, json.JSONDecodeError):
        line, column = exc.lineno, exc.colno
        return {"type": "JSONDecodeError", "message": exc.msg, "line": line, "column": column}
    if isinstance(exc, UnicodeDecodeError):
        message = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        return {"type": "UnicodeDecodeError", "message": message, "line": None, "column": None}
    return render.describe_error(exc)


@dossier_app.command(
    "validate",
    epilog=_exit_codes(
        "no file has an error finding (warnings and info allowed)",
        "at least one file has an error finding",
        "a file cannot be read (missing, not UTF-8 JSON, no dossier payload), or an option is "
        "wrong",
    ),
)
def validate_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="JSON files: one payload item, an array of items, or a whole request body "
            "('-' reads one from standard input).",
            show_default=False,
        ),
    ],
    *,
    target: Annotated[
        TargetName,
        typer.Option(
            help="'classic': the DVCQG adapter (DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo; "
            "yyyyMMddHHmmss, numbers as text); 'token': the token-based ministry API (ISO 8601 "
            "and yyyy-MM-dd HH:mm:ss, LoaiDoiTuong 0/1/2)."
        ),
    ] = TargetName.CLASSIC,
    profile: Annotated[
        ProfileName,
        typer.Option(
            help="Rule severities: 'strict' (the default) is what a sender must produce; "
            "'lenient' is what a receiver can accept."
        ),
    ] = ProfileName.STRICT,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Text for people, JSON for programs.")
    ] = OutputFormat.TEXT,
    kind: Annotated[
        str | None,
        typer.Option(
            metavar="KIND",
            callback=_kind,
            help=f"The payload kind, when it cannot be told from its keys: {', '.join(PAYLOADS)}.",
            show_default=False,
        ),
    ] = None,
    transitions: Annotated[
        Path | None,
        typer.Option(
            metavar="TABLE",
            help="A status transition table (JSON: initial, transitions, allow_repeat) instead "
            "of the default one.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate dossier payloads: wire forms of the target, then the rules.

    Each file holds one item (a DongBoHoSoMC dossier, a progress step, a token-API dossier…),
    a JSON array of items, or a whole request body; which one is told from its keys (or
    --kind). Every finding is listed as 'severity rule location: message'. A file that cannot
    be read is reported with the reason (line and column for malformed JSON) and the other
    files are still checked. The exit code is the worst of all files.
    """
    table = _table(transitions)
    reports: list[tuple[render.FileReport, str | None]] = []
    for path in paths:
        report = render.FileReport(path=str(path))
        described: str | None = None
        try:
            data = _read_json(path)
            found, many = (
                (payload_kind(kind), isinstance(data, list))
                if kind is not None
                else detect_kind(data, target=target.value)
            )
            described = f"array of {found.name}" if many else found.name
            report.findings = validate_dossier(
                data,
                target=target.value,
                profile=profile.value,
                kind=found.name,
                transitions=table,
            )
        except (LgspError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            report.error = _unreadable(exc)
        except RecursionError:
            message = "JSON nested too deeply to read"
            report.error = {
                "type": "RecursionError",
                "message": message,
                "line": None,
                "column": None,
            }
        reports.append((report, described))
    if output_format is OutputFormat.JSON:
        files = [{**r.to_dict(), "kind": described} for r, described in reports]
        data_out = {
            "target": target.value,
            "profile": profile.value,
            "files": files,
            "ok": all(r.exit_code == 0 for r, _ in reports),
        }
        typer.echo(render.dump_json(data_out))
    else:
        _render(reports, target.value, profile.value)
    raise typer.Exit(max(r.exit_code for r, _ in reports))


def _render(reports: list[tuple[render.FileReport, str | None]], target: str, profile: str) -> None:
    console = render.make_console()
    for report, described in reports:
        head = Text(report.path, style="bold")
        if not report.readable:
            assert report.error is not None  # noqa: S101 - readable is error is None
            head.append(": ")
            head.append("UNREADABLE", style="bold red")
            head.append(f" - {render.error_text(report.error)}")
            console.print(head, soft_wrap=True)
            continue
        head.append(f": {described}, target {target}, profile {profile}: ")
        head.append(*(("FAIL", "bold red") if report.errors else ("OK", "bold green")))
        head.append(
            f" ({render._plural(report.errors, 'error')}, "
            f"{render._plural(report.warnings, 'warning')}, {report.infos} info)"
        )
        console.print(head, soft_wrap=True)
        for finding in report.findings:
            console.print(render.finding_line(finding), soft_wrap=True)
    if len(reports) > 1:
        codes = [r.exit_code for r, _ in reports]
        console.print(
            Text(
                f"{len(reports)} files: {codes.count(0)} OK, {codes.count(1)} FAIL, "
                f"{codes.count(2)} unreadable"
            ),
            soft_wrap=True,
        )
