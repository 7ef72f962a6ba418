"""``lgsp send`` and ``lgsp status``: documents and acknowledgements over VXP (or a gateway, a
SOAP hub). ``lgsp receive`` lives in :mod:`lgsp.cli.receive`.

Importing this module adds the commands to the ``lgsp`` app.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import (
    EXIT_PROBLEM,
    EXIT_REMOTE,
    EXIT_USAGE,
    AsSystemOption,
    ConfigOption,
    FormatOption,
    SandboxOption,
    VerboseOption,
    call_failure,
    exit_codes,
    fail,
    load_settings,
    need_profile,
    open_client,
    refusal_code,
)
from lgsp.cli.app import OutputFormat, app
from lgsp.errors import (
    AuthError,
    ConfigurationError,
    LgspError,
    RemoteServiceError,
    TransportError,
)

if TYPE_CHECKING:
    from lgsp.clients import Client, SendOutcome

__all__ = ["send_command", "status_command"]


class TypeFilter(enum.StrEnum):
    """Which packages a listing or the receive loop takes."""

    ALL = "all"
    EDOC = "edoc"
    STATUS = "status"

    @property
    def message_type(self) -> str | None:
        return None if self is TypeFilter.ALL else self.value


class AckChoice(enum.StrEnum):
    """VXP ``updateStatus`` values."""

    DONE = "done"
    FAIL = "fail"
    PROCESSING = "processing"


# send --------------------------------------------------------------------------------------------
@app.command(
    "send",
    epilog=exit_codes(
        "every package was accepted (or had been delivered before, with --outbox)",
        "a package was refused by the remote (its code and message are shown)",
        "a package cannot be read, names no receiver, or the settings or options are wrong",
        "the platform could not be reached or did not answer (the rest are not sent), or a "
        "package is held in the outbox for a later retry",
    ),
)
def send_command(
    packages: Annotated[
        list[str],
        typer.Argument(
            metavar="PACKAGE",
            help="edXML packages (document or status) to send; '-' reads one from standard input.",
            show_default=False,
        ),
    ],
    *,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="CODE",
            help="Send to this organ instead of the package's own receivers. Repeatable.",
            show_default=False,
        ),
    ] = None,
    outbox: Annotated[
        Path | None,
        typer.Option(
            "--outbox",
            metavar="FILE",
            help="A durable outbox (SQLite): each payload is stored before it is sent and "
            "sent once; running the command again never sends a delivered package twice.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    sandbox: SandboxOption = None,
    as_system: AsSystemOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Send edXML packages: sender, receivers and message type are read from each package.

    Each package gets a row: file, the remote's doc id, whether it was accepted, the remote's
    code and message. With --format json, one JSON object per package is printed, one per
    line, as each is done. A transport failure stops the run: the packages after it are
    listed as not sent.
    """
    settings = load_settings(config, sandbox, as_system, output_format)
    need_profile(settings, "documents", output_format, {"packages": []})
    overrides: dict[str, Any] = {"outbox": outbox} if outbox is not None else {}
    try:
        client = open_client(settings, verbose=verbose, **overrides)
    except LgspError as exc:
        fail(f"cannot open the outbox {outbox}: {exc}", EXIT_USAGE, output_format)
    rows: list[dict[str, Any]] = []
    stop: str | None = None
    with client:
        for name in packages:
            if stop is not None:
                row = _row(name, error=f"not sent: {stop}", exit_code=EXIT_REMOTE)
            else:
                row = _send_one(client, name, to or None)
                if row["exit_code"] == EXIT_REMOTE and row["accepted"] is None:
                    stop = "an earlier package met a transport failure"
                    if output_format is OutputFormat.TEXT:
                        render.make_console(stderr=True).print(
                            Text(f"lgsp: {name}: {row['error']}"), soft_wrap=True
                        )
            rows.append(row)
            if output_format is OutputFormat.JSON:
                typer.echo(json.dumps(_public(row), ensure_ascii=False))
    if output_format is OutputFormat.TEXT:
        _render_sent(rows)
    raise typer.Exit(max(r["exit_code"] for r in rows))


def _row(path: str, *, error: str | None = None, exit_code: int = 0) -> dict[str, Any]:
    return {
        "path": path,
        "accepted": None,
        "doc_id": None,
        "status": None,
        "code": None,
        "message": None,
        "retry_safe": None,
        "duplicate": False,
        "attempts": 0,
        "message_id": None,
        "payload_sha256": None,
        "error": error,
        "exit_code": exit_code,
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "exit_code"}


def _send_one(client: Client, name: str, to: list[str] | None) -> dict[str, Any]:
    """Send one package; its row (``exit_code`` says how it went)."""
    source: bytes | Path = sys.stdin.buffer.read() if name == "-" else Path(name)
    if isinstance(source, Path) and not source.is_file():
        why = "no such file" if not source.exists() else "not a file"
        return _row(name, error=f"cannot read {name}: {why}", exit_code=EXIT_USAGE)
    try:
        outcome = client.documents.send(source, receivers=to)
    except (TransportError, AuthError, RemoteServiceError) as exc:
        code, message = call_failure(exc)
        return _row(name, error=message, exit_code=code)
    except ConfigurationError as exc:
        return _row(name, error=f"{exc} (give --to CODE)", exit_code=EXIT_USAGE)
    except (LgspError, OSError) as exc:
        error = render.error_text(render.describe_error(exc))
        return _row(name, error=f"cannot read {name}: {error}", exit_code=EXIT_USAGE)
    return _outcome_row(name, outcome)


def _outcome_row(name: str, outcome: SendOutcome) -> dict[str, Any]:
    row = _row(name)
    row.update(
        accepted=outcome.accepted,
        doc_id=outcome.doc_id,
        status=outcome.status,
        code=outcome.code,
        message=outcome.message,
        retry_safe=outcome.retry_safe,
        duplicate=outcome.duplicate,
        attempts=outcome.attempts,
        message_id=outcome.message_id,
        payload_sha256=outcome.payload_sha256,
    )
    if not outcome.accepted:
        row["exit_code"] = EXIT_REMOTE if outcome.status == "QUEUED" else EXIT_PROBLEM
    return row


def _render_sent(rows: list[dict[str, Any]]) -> None:
    console = render.make_console()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("File", "Doc ID", "Accepted", "Code", "Message"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row["accepted"] is None:
            accepted = Text("error", style="bold red")
            message = row["error"] or ""
        elif row["accepted"]:
            accepted = Text("yes" + (" (before)" if row["duplicate"] else ""), style="green")
            message = row["message"] or ""
        else:
            queued = row["status"] == "QUEUED"
            accepted = Text("queued" if queued else "no", style="yellow" if queued else "bold red")
            message = row["message"] or ""
        table.add_row(
            Text(row["path"]),
            Text(row["doc_id"] or "-"),
            accepted,
            Text(row["code"] or "-"),
            Text(message),
        )
    console.print(table)
    sent = sum(1 for r in rows if r["accepted"])
    console.print(Text(f"{sent} of {len(rows)} accepted"), soft_wrap=True)


# status ------------------------------------------------------------------------------------------
@app.command(
    "status",
    epilog=exit_codes(
        "the acknowledgement was recorded, or the list was read",
        "the remote refused the acknowledgement (no such document, a status it does not allow)",
        "the options or the settings are wrong",
        "the platform could not be reached, or refused the listing",
    ),
)
def status_command(
    doc_id: Annotated[
        str | None,
        typer.Argument(
            metavar="DOC_ID",
            help="The remote's id of a received package (as 'lgsp status --list' shows it); "
            "with --list, which list: received (the default) or sent.",
            show_default=False,
        ),
    ] = None,
    *,
    set_status: Annotated[
        AckChoice | None,
        typer.Option(
            "--set",
            help="Acknowledge DOC_ID: done (taken in), fail (refused), processing.",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "--description", metavar="TEXT", help="A note sent with --set.", show_default=False
        ),
    ] = None,
    list_: Annotated[
        bool,
        typer.Option(
            "--list",
            help="List the packages waiting for this system ('--list' or '--list received') "
            "or those it sent and where they stand ('--list sent').",
        ),
    ] = False,
    message_type: Annotated[
        TypeFilter, typer.Option("--type", help="With --list: which packages.")
    ] = TypeFilter.ALL,
    config: ConfigOption = None,
    sandbox: SandboxOption = None,
    as_system: AsSystemOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Acknowledge a received package (updateStatus), or list the received or sent packages."""
    list_which = (doc_id or "received") if list_ else None
    if list_which is not None:
        if set_status is not None:
            raise typer.BadParameter("--list and --set do not go together", param_hint="--list")
        if list_which not in ("received", "sent"):
            raise typer.BadParameter(
                f"{list_which!r}: give 'received' or 'sent'", param_hint="--list"
            )
    elif doc_id is None or set_status is None:
        raise typer.BadParameter("give DOC_ID --set STATUS, or --list [received|sent]")
    settings = load_settings(config, sandbox, as_system, output_format)
    need_profile(settings, "documents", output_format, {})
    kind = getattr(settings.documents, "kind", None)
    if description is not None and not description.isascii() and kind in ("vxp", "gateway"):
        # VXP carries every parameter in a signed HTTP header (vn-contracts §2.1a), and
        # header values are ASCII.
        raise typer.BadParameter(
            "VXP carries the description in an HTTP header, which takes ASCII only: write it "
            "without diacritics",
            param_hint="--description",
        )
    with open_client(settings, verbose=verbose) as client:
        if list_which is not None:
            _list(client, list_which, message_type, output_format)
        else:
            assert doc_id is not None  # noqa: S101 - checked above
            assert set_status is not None  # noqa: S101 - checked above
            _acknowledge(client, doc_id, set_status, description, output_format)


def _acknowledge(
    client: Client,
    doc_id: str,
    status: AckChoice,
    description: str | None,
    output_format: OutputFormat,
) -> None:
    data: dict[str, Any] = {"doc_id": doc_id, "status": status.value}
    try:
        answer = client.documents.update_status(doc_id, status.value, description)
    except RemoteServiceError as exc:
        code = refusal_code(exc)
        message = f"{doc_id} not acknowledged: {exc.message}" + (
            f" (code {exc.code})" if exc.code else ""
        )
        fail(message, code, output_format, {**data, "code": exc.code})
    except LgspError as exc:
        code, message = call_failure(exc)
        fail(message, code, output_format, data)
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json({**data, "ok": True, "answer": answer}))
    else:
        render.make_console().print(Text(f"{doc_id}: acknowledged {status.value}"), soft_wrap=True)


_RECEIVED_COLUMNS = (
    ("Doc ID", "doc_id"),
    ("From", "from_code"),
    ("Type", "message_type"),
    ("Status", "status"),
    ("Created", "created_time"),
    ("Size", "content_length"),
)
_SENT_COLUMNS = (
    ("Doc ID", "sender_doc_id"),
    ("To", "to_code"),
    ("Type", "message_type"),
    ("Sent", "send_status"),
    ("Received", "receive_status"),
    ("Notation", "notation"),
)


def _list(
    client: Client, which: str, message_type: TypeFilter, output_format: OutputFormat
) -> None:
    try:
        items: list[Any] = (
            client.documents.received(message_type.message_type)
            if which == "received"
            else client.documents.sent(message_type.message_type)
        )
    except LgspError as exc:
        code, message = call_failure(exc)
        fail(message, code, output_format, {"list": which, "items": []})
    dumped = [item.model_dump(mode="json") for item in items]
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json({"list": which, "ok": True, "items": dumped}))
        return
    console = render.make_console()
    if not dumped:
        console.print(Text(f"no {which} packages"), soft_wrap=True)
        return
    columns = _RECEIVED_COLUMNS if which == "received" else _SENT_COLUMNS
    table = Table(box=None, pad_edge=False, header_style="bold")
    for title, _ in columns:
        table.add_column(title, overflow="fold")
    for item in dumped:
        table.add_row(*(Text(_cell(item.get(key))) for _, key in columns))
    console.print(table)
    noun = "package" if len(dumped) == 1 else "packages"
    console.print(Text(f"{len(dumped)} {which} {noun}"), soft_wrap=True)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
