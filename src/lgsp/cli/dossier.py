"""``lgsp dossier validate`` (check dossier payloads for the DVCQG adapter or the token API) and
``lgsp dossier sync`` (send dossiers to the portal in bulk, from JSON or CSV).

Importing this module adds the ``dossier`` group to the ``lgsp`` app.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from lgsp.cli import _bulk, render
from lgsp.cli._client import (
    EXIT_USAGE,
    AsSystemOption,
    ConfigOption,
    FormatOption,
    SandboxOption,
    VerboseOption,
    call_failure,
    exit_codes,
    load_settings,
    need_profile,
    open_client,
)
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

__all__ = ["dossier_app", "sync_command", "validate_command"]

dossier_app = typer.Typer(
    name="dossier",
    help=(
        "Dossier payloads synchronised with the national public-service portal (DVCQG) and "
        "the token-based ministry API.\n\n"
        "\b\n"
        "  validate  check payloads against the rules of a target and a profile\n"
        "  sync      send dossiers (DongBoHoSoMC) in bulk from JSON or CSV, with a summary"
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


# sync --------------------------------------------------------------------------------------------
@dossier_app.command(
    "sync",
    epilog=exit_codes(
        "every dossier was accepted by the portal",
        "a dossier was refused: by the rules (its findings are listed) or by the portal (its "
        "message)",
        "a file cannot be read (not UTF-8 JSON or CSV, no dossier), or the settings or options "
        "are wrong",
        "the portal could not be reached or failed; the dossiers not sent by then are listed",
    ),
)
def sync_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="JSON (a list of DongBoHoSoMC items, one item, or a whole request body) or CSV "
            "(a header of wire names, one row per dossier, list fields as JSON text); '-' reads "
            "standard input.",
            show_default=False,
        ),
    ],
    *,
    updating: Annotated[
        bool,
        typer.Option(
            "--updating",
            help="The portal has these dossiers already (isUpdating=True). A request body's "
            "own isUpdating counts too.",
        ),
    ] = False,
    batch: Annotated[
        int,
        typer.Option("--batch", metavar="N", min=1, help="Dossiers per DongBoHoSoMC call."),
    ] = 50,
    config: ConfigOption = None,
    sandbox: SandboxOption = None,
    as_system: AsSystemOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Send dossiers to the portal (DongBoHoSoMC of the classic DVCQG adapter) in bulk.

    Every dossier is first checked (classic target, strict profile); one with an error finding
    is refused and not sent, the others go in batches of N. A batch the portal refuses is sent
    again dossier by dossier, so that each refusal names its dossier. The summary lists what
    was accepted and refused, with the rule or the portal's message. The session and madonvi
    of a request body are replaced by the profile's.
    """
    settings = load_settings(config, sandbox, as_system, output_format)
    need_profile(settings, "dossiers", output_format, {"items": []})
    files = [_bulk.read_file(path) for path in paths]
    items = [item for f in files for item in f.items]
    if items:
        _bulk.check_items(items)
    for item in items:
        if item.updating or updating:
            item.updating = True
    stopped: _bulk.StoppedError | None = None
    console = render.make_console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=output_format is OutputFormat.JSON or not console.is_terminal,
    )
    with progress:
        task = progress.add_task("dossiers", total=len(items))
        progress.advance(task, sum(1 for i in items if i.model is None))
        if any(i.model is not None for i in items):
            try:
                with open_client(settings, verbose=verbose) as client:
                    _bulk.send_items(client, items, batch, lambda n: progress.advance(task, n))
            except _bulk.StoppedError as exc:
                stopped = exc
            except LgspError as exc:
                stopped = _bulk.StoppedError(*call_failure(exc))
    codes = [EXIT_USAGE for f in files if f.error is not None]
    codes += [1 for i in items if i.accepted is False or i.refused_locally or i.model is None]
    if stopped is not None:
        codes.append(stopped.code)
    worst = max(codes, default=0)
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json(_sync_summary(files, items, stopped, worst)))
    else:
        _render_sync(files, items, stopped)
    raise typer.Exit(worst)


def _sync_summary(
    files: list[_bulk.BulkFile],
    items: list[_bulk.BulkItem],
    stopped: _bulk.StoppedError | None,
    worst: int,
) -> dict[str, Any]:
    return {
        "files": [
            {"path": f.path, "format": f.format, "items": len(f.items), "error": f.error}
            for f in files
        ],
        "items": [item.to_dict() for item in items],
        "accepted": sum(1 for i in items if i.accepted),
        "refused": sum(1 for i in items if i.accepted is False or i.model is None),
        "not_sent": sum(1 for i in items if i.model is not None and i.accepted is None),
        "error": stopped.message if stopped else None,
        "ok": worst == 0,
    }


def _render_sync(
    files: list[_bulk.BulkFile], items: list[_bulk.BulkItem], stopped: _bulk.StoppedError | None
) -> None:
    console = render.make_console()
    for f in files:
        if f.error is not None:
            line = Text(f.path, style="bold")
            line.append(": ")
            line.append("UNREADABLE", style="bold red")
            line.append(f" - {f.error}")
            console.print(line, soft_wrap=True)
    for item in items:
        if item.accepted:
            continue
        line = Text(f"{item.source} {item.code or '(no MaHoSo)'}: ")
        if item.model is not None and item.accepted is None:
            line.append("not sent", style="yellow")
            console.print(line, soft_wrap=True)
            continue
        line.append("REFUSED", style="bold red")
        if item.error is not None:
            code = f" (code {item.error['code']})" if item.error.get("code") else ""
            line.append(f" by the portal: {item.error['message']}{code}")
        console.print(line, soft_wrap=True)
        for finding in item.findings:
            if finding.severity == "error":
                # the item's source is on the line above: show where inside it
                where = finding.location.removeprefix(item.source).lstrip(". ") or "(item)"
                shown = finding.model_copy(update={"location": where})
                console.print(render.finding_line(shown, indent="    "), soft_wrap=True)
    accepted = sum(1 for i in items if i.accepted)
    refused = sum(1 for i in items if i.accepted is False or i.model is None)
    not_sent = sum(1 for i in items if i.model is not None and i.accepted is None)
    summary = f"{len(items)} dossiers: {accepted} accepted, {refused} refused"
    if not_sent:
        summary += f", {not_sent} not sent"
    console.print(Text(summary), soft_wrap=True)
    if stopped is not None:
        render.make_console(stderr=True).print(Text(f"lgsp: {stopped.message}"), soft_wrap=True)
