"""The ``lgsp`` command: validate, inspect and extract edXML packages; run the demo (the other
commands live in the modules next to this one)."""

from __future__ import annotations

import enum
import hashlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from lgsp import __version__
from lgsp.cli import render
from lgsp.cli.demo import run_demo
from lgsp.documents import RULES, Attachment, DocumentPackage, StatusPackage, read_package, validate
from lgsp.documents.attachments import safe_file_name
from lgsp.documents.validation import SeverityOverride
from lgsp.errors import AttachmentError, LgspError

__all__ = ["app", "main"]

_EXIT_CODES = (
    "\b\nExit codes:\n"
    "  0  success\n"
    "  1  the package has a problem: error findings, an attachment that cannot be decoded,\n"
    "     a failed demo step\n"
    "  2  a file cannot be read as an edXML package (missing, not XML, DOCTYPE or entities,\n"
    "     not edXML), settings that cannot work, or the command line is wrong\n"
    "  3  the platform could not be reached, or failed as a whole (timeouts, 429, 5xx)"
)

app = typer.Typer(
    name="lgsp",
    help=(
        "Tools for edXML packages (QCVN 102:2016), the documents and statuses exchanged over "
        "VXP and the provincial LGSPs.\n\n"
        "\b\n"
        "  validate  check packages against the rules of a profile (strict by default)\n"
        "  inspect   show what a package says, without writing anything\n"
        "  extract   save a package's attachments into a folder\n"
        "  sign      sign a package (XML-DSig, RSA-SHA256 by default, never SHA-1)\n"
        "  verify    verify a package's signature and its trust (and its PDFs' with --pdf)\n"
        "  send      send packages (VXP, an LGSP gateway or a SOAP hub), through an outbox\n"
        "  receive   poll, download, verify, hand over and acknowledge received packages\n"
        "  status    acknowledge a package, or list what was received or sent\n"
        "  dossier   validate dossier payloads; sync them to the portal in bulk\n"
        "  registry  import, sync and look up agencies, procedures and administrative units\n"
        "  sandbox   run the local emulator of the platform\n"
        "  demo      play the platform end to end against a sandbox on this machine"
    ),
    epilog=_EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)


def _exit_codes(ok: str, problem: str | None, unreadable: str | None) -> str:
    lines = ["\b", "Exit codes:", f"  0  {ok}"]
    if problem:
        lines.append(f"  1  {problem}")
    if unreadable:
        lines.append(f"  2  {unreadable}")
    return "\n".join(lines)


class ProfileName(enum.StrEnum):
    """Validation profiles."""

    STRICT = "strict"
    LENIENT = "lenient"


class OutputFormat(enum.StrEnum):
    """How results are printed."""

    TEXT = "text"
    JSON = "json"


_LEVELS: dict[str, SeverityOverride] = {
    "error": "error",
    "warning": "warning",
    "info": "info",
    "off": "off",
}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"lgsp {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version of lgsp and exit.",
        ),
    ] = False,
) -> None:
    """Tools for edXML packages (QCVN 102:2016)."""


# shared helpers ----------------------------------------------------------------------------------
def _read(path: Path) -> DocumentPackage | StatusPackage:
    """Read a package from a path, or from standard input for ``-``."""
    if str(path) == "-":
        return read_package(sys.stdin.buffer.read(), name="<stdin>")
    return read_package(path, name=str(path))


def _parse_overrides(values: list[str] | None) -> dict[str, SeverityOverride]:
    overrides: dict[str, SeverityOverride] = {}
    for value in values or []:
        rule, sep, level = value.partition("=")
        rule, level = rule.strip(), level.strip().lower()
        if not sep or not rule:
            raise typer.BadParameter(f"{value!r} is not RULE=LEVEL", param_hint="--severity")
        if level not in _LEVELS:
            raise typer.BadParameter(
                f"{value!r}: level must be one of {', '.join(_LEVELS)}", param_hint="--severity"
            )
        if rule not in RULES and not any(r.startswith(rule + ".") for r in RULES):
            raise typer.BadParameter(
                f"{rule!r} is neither a rule nor a rule prefix (known rules: "
                f"{', '.join(sorted(RULES))})",
                param_hint="--severity",
            )
        overrides[rule] = _LEVELS[level]
    return overrides


def _unreadable(path: str, exc: BaseException, output_format: OutputFormat) -> None:
    error = render.describe_error(exc)
    if output_format is OutputFormat.JSON:
        data = {"path": path, "kind": None, "readable": False, "error": error}
        typer.echo(render.dump_json(data))
    else:
        message = Text(f"lgsp: cannot read {path}: {render.error_text(error)}")
        render.make_console(stderr=True).print(message, soft_wrap=True)
    raise typer.Exit(2)


# validate ----------------------------------------------------------------------------------------
@app.command(
    "validate",
    epilog=_exit_codes(
        "no file has an error finding (warnings and info allowed)",
        "at least one file has an error finding",
        "a file cannot be read as an edXML package, or an option is wrong",
    ),
)
def validate_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="edXML files to check ('-' reads one from standard input).",
            show_default=False,
        ),
    ],
    profile: Annotated[
        ProfileName,
        typer.Option(
            help="Rule severities: 'strict' (the default) is what a conformant sender must "
            "produce; 'lenient' is what a receiver can accept."
        ),
    ] = ProfileName.STRICT,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Text for people, JSON for programs.")
    ] = OutputFormat.TEXT,
    severity: Annotated[
        list[str] | None,
        typer.Option(
            "--severity",
            metavar="RULE=LEVEL",
            help="Change a rule's severity (error, warning, info) or turn it off; RULE may "
            "be a prefix such as 'business'. Repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate edXML packages: XSD structure and business rules.

    Each file is read (leniently) and checked under the profile; every finding is listed as
    'severity rule location: message'. A file that cannot be read is reported with the
    reason (line and column when known) and the other files are still checked. The exit code
    is the worst of all files.
    """
    overrides = _parse_overrides(severity)
    reports: list[render.FileReport] = []
    for path in paths:
        report = render.FileReport(path=str(path))
        try:
            with _read(path) as pkg:
                report.kind = render.package_kind(pkg)
                report.findings = validate(pkg, profile=profile.value, overrides=overrides)
        except (LgspError, OSError) as exc:
            report.error = render.describe_error(exc)
        reports.append(report)
    if output_format is OutputFormat.JSON:
        data = {
            "files": [r.to_dict() for r in reports],
            "ok": all(r.exit_code == 0 for r in reports),
        }
        typer.echo(render.dump_json(data))
    else:
        render.render_validation(render.make_console(), reports, profile.value)
    raise typer.Exit(max(r.exit_code for r in reports))


# inspect -----------------------------------------------------------------------------------------
@app.command(
    "inspect",
    epilog=_exit_codes("the package was read", None, "the file cannot be read as a package"),
)
def inspect_command(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="The edXML file ('-' for standard input).", show_default=False
        ),
    ],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Text for people, JSON for programs.")
    ] = OutputFormat.TEXT,
) -> None:
    """Show what a package says: header, business block, traces and attachments.

    For a document package: sender, receivers, document id, code (number and notation),
    subject, promulgation, type, signer; the business block (new, revoke, update, replace);
    the trace list; each attachment's name, content type, wire label, encoding, size, SHA-256
    and any problem decoding it. For a status package: sender, status code and its meaning,
    description, timestamp and the document it answers. Nothing is written to disk. Exits 0
    when the package was read, 2 when it cannot be.
    """
    try:
        pkg = _read(path)
    except (LgspError, OSError) as exc:
        _unreadable(str(path), exc, output_format)
        return
    with pkg:
        summary = render.package_summary(pkg)
    if output_format is OutputFormat.JSON:
        data: dict[str, Any] = {"path": str(path), "readable": True, "error": None, **summary}
        typer.echo(render.dump_json(data))
        return
    console = render.make_console()
    if summary["kind"] == "status":
        render.render_status(console, str(path), summary)
    else:
        render.render_document(console, str(path), summary)


# extract -----------------------------------------------------------------------------------------
def _free_name(folder: Path, name: str, taken: set[str]) -> str:
    """``name``, or ``stem (2).ext``… when the folder or this run already has it."""
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    candidate, n = name, 1
    while candidate.casefold() in taken or os.path.lexists(folder / candidate):
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.casefold())
    return candidate


def _file_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@app.command(
    "extract",
    epilog=_exit_codes(
        "every attachment was written",
        "an attachment could not be decoded or written (the others were)",
        "the file cannot be read as a package, or the folder cannot be created",
    ),
)
def extract_command(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="The edXML file ('-' for standard input).", show_default=False
        ),
    ],
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            metavar="DIR",
            help="Folder to write the attachments into (created when missing).",
            file_okay=False,
            show_default=False,
        ),
    ],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Text for people, JSON for programs.")
    ] = OutputFormat.TEXT,
) -> None:
    """Save a package's attachments into a folder, unzipped, under safe file names.

    File names are reduced to their last component (no folders, no '..'), so nothing is ever
    written outside the folder; an existing file is never overwritten (the new one gets a
    ' (2)' suffix). Each file written is listed with its size and SHA-256. An attachment that
    cannot be decoded is reported and skipped: the exit code is then 1.
    """
    try:
        pkg = _read(path)
    except (LgspError, OSError) as exc:
        _unreadable(str(path), exc, output_format)
        return
    with pkg:
        attachments = pkg.attachments if isinstance(pkg, DocumentPackage) else []
        if attachments:
            _make_folder(to)
        written, skipped = _save_all(attachments, to)
    if output_format is OutputFormat.JSON:
        data = {
            "path": str(path),
            "kind": render.package_kind(pkg),
            "folder": str(to),
            "written": written,
            "skipped": skipped,
            "ok": not skipped,
        }
        typer.echo(render.dump_json(data))
    else:
        console = render.make_console()
        if isinstance(pkg, StatusPackage):
            console.print(Text(f"{path}: status package, no attachments"), soft_wrap=True)
        elif not attachments:
            console.print(Text(f"{path}: no attachments"), soft_wrap=True)
        for item in written:
            console.print(
                Text(f"wrote {item['path']}  {item['size']} bytes  sha256 {item['sha256']}"),
                soft_wrap=True,
            )
        for item in skipped:
            line = Text("skipped ", style="bold red")
            line.append(f"{item['name']}: {item['problem']}", style="")
            console.print(line, soft_wrap=True)
    raise typer.Exit(1 if skipped else 0)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = render.describe_error(exc)["message"]
        render.make_console(stderr=True).print(
            Text(f"lgsp: cannot create the folder {folder}: {reason}"), soft_wrap=True
        )
        raise typer.Exit(2) from None


def _save_all(
    attachments: list[Attachment], folder: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Save each attachment under a fresh safe name; what was written, what was skipped."""
    written: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    taken: set[str] = set()
    for i, att in enumerate(attachments, 1):
        if att.problem is not None:
            skipped.append({"name": att.name, "problem": att.problem})
            continue
        # The fallback (for a name like '..') is sanitised too: a ContentId is wire data.
        fallback = safe_file_name(att.content_id or "", f"attachment-{i}")
        file_name = _free_name(folder, safe_file_name(att.name, fallback), taken)
        target = folder / file_name
        if target.resolve().parent != folder.resolve():  # defence in depth: never leave it
            skipped.append({"name": att.name, "problem": "unsafe file name"})
            continue
        try:
            saved = att.save(folder, file_name=file_name)
            size, sha256 = _file_sha256(saved)
        except (AttachmentError, OSError) as exc:
            target.unlink(missing_ok=True)
            skipped.append({"name": att.name, "problem": str(exc)})
            continue
        written.append({"name": att.name, "path": str(saved), "size": size, "sha256": sha256})
    return written, skipped


# demo --------------------------------------------------------------------------------------------
@app.command(
    "demo", epilog=_exit_codes("every step passed", "a step failed (the reason is printed)", None)
)
def demo_command(
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep",
            metavar="DIR",
            file_okay=False,
            help="Keep the files (sandbox database, packages, inboxes; with --package the "
            "attachments and extracted copies) in DIR instead of a temporary folder.",
            show_default=False,
        ),
    ] = None,
    package_only: Annotated[
        bool,
        typer.Option(
            "--package",
            help="Only the offline part: build, write, read back, validate and extract one "
            "package, no sandbox.",
        ),
    ] = False,
) -> None:
    """Play the platform end to end against a sandbox started on this machine.

    Two agencies register; the Government Office (000.00.00.G22) signs a PDF and a package
    and sends it over REST (VXP, HMAC-signed headers); the People's Committee of Nghệ An
    (000.00.00.H41) receives it over the provincial SOAP hub, verifies both signatures and
    answers with status packages 01, 03 and 06; the Office sees them, then revokes the
    document; a dossier is synced to the portal and walked to status 10 (an illegal step is
    refused); the directory is searched by name. Exits 0 when every step passes, 1 otherwise.
    With --package: the offline round trip of one package instead.
    """
    console = render.make_console()
    if package_only:
        raise typer.Exit(run_demo(console, keep=keep))
    from lgsp.cli.platform_demo import run_platform_demo

    raise typer.Exit(run_platform_demo(console, keep=keep))


def main() -> None:
    """Entry point of the ``lgsp`` console script."""
    app(prog_name="lgsp")
