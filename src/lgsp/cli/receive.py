"""``lgsp receive``: the receive loop from the command line — poll, download, verify, hand over
into a folder, acknowledge — with its progress shown.

Packages are downloaded into ``DIR/.lgsp-incoming`` and moved into ``DIR`` only once they are
verified and read, so a program watching ``DIR`` never sees a partial or refused package;
refused ones are kept in ``DIR/.lgsp-rejected`` for a person to look at.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import (
    EXIT_PROBLEM,
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
)
from lgsp.cli.app import OutputFormat, app
from lgsp.cli.exchange import TypeFilter
from lgsp.errors import LgspError

if TYPE_CHECKING:
    from lgsp.clients import Client, Delivery, ReceiveReport
    from lgsp.signatures.trust import TrustSettings

__all__ = ["receive_command"]

INCOMING = ".lgsp-incoming"
REJECTED = ".lgsp-rejected"
_UNVERIFIED = "the signature did not verify"  # the client's reason, made precise below


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    """What the receive loop is told of a verification: ``valid`` means valid and trusted."""

    valid: bool
    result: Any


def _safe(doc_id: str) -> str:
    # The client names a download after its doc id the same way (lgsp.clients receive loop).
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in doc_id)


class _Receiver:
    """Counts what the passes do, verifies, and hands packages over into the folder."""

    def __init__(
        self, folder: Path, *, verify: bool, trust: TrustSettings | None, progress: Progress
    ) -> None:
        self.folder = folder
        self.incoming = folder / INCOMING
        self.rejected = folder / REJECTED
        self.verify = verify
        self.trust = trust
        self.progress = progress
        self.counts = {"polled": 0, "downloaded": 0, "verified": 0, "acknowledged": 0}
        self.handed: list[dict[str, Any]] = []
        self.already: list[str] = []
        self.interrupted: list[str] = []
        self.acknowledged: list[str] = []
        self.failed: dict[str, str] = {}
        self.errors: list[str] = []
        self.passes = 0
        self._reasons: dict[str, str] = {}
        self._task = progress.add_task(self.line())

    def check(self, path: Path) -> _Checked | None:
        """The loop's ``verify``: counts the download, then verifies (unless --no-verify)."""
        self.counts["downloaded"] += 1
        self.show()
        if not self.verify:
            return None
        from lgsp.signatures import verify_package

        result = verify_package(path, trust=self.trust)
        if result.ok:
            self.counts["verified"] += 1
        elif not result.valid:
            self._reasons[path.stem] = f"signature not valid: {result.reason}"
        else:
            why = result.trust.reason if result.trust is not None else "not trusted"
            self._reasons[path.stem] = f"signer not trusted: {why}"
        self.show()
        return _Checked(result.ok, result)

    def hand_over(self, delivery: Delivery) -> None:
        """The loop's handler: the package moves from the incoming folder into ``DIR``."""
        from lgsp.cli.render import package_kind

        pkg = delivery.package
        header = pkg.header
        kind = package_kind(pkg)
        entry: dict[str, Any] = {
            "doc_id": delivery.doc_id,
            "kind": kind,
            "from": header.from_.organ_id,
            "subject": header.subject if kind == "document" else None,
            "status_code": header.code if kind == "status" else None,
            "signer": None,
        }
        result = getattr(delivery.verification, "result", None)
        if result is not None and result.signer is not None:
            entry["signer"] = result.signer.subject
        close = getattr(pkg, "close", None)
        if close is not None:
            close()
        target = self.folder / delivery.path.name
        Path(delivery.path).replace(target)
        entry["path"] = str(target)
        self.handed.append(entry)
        self.show()

    def account(self, report: ReceiveReport) -> None:
        """Add one pass's report; keep refused downloads aside with the reason."""
        self.passes += 1
        seen = {*report.handed_over, *report.already_handed, *report.interrupted}
        seen.update(report.failed)
        self.counts["polled"] += len(seen)
        self.counts["acknowledged"] += len(report.acknowledged)
        self.acknowledged += report.acknowledged
        self.already += report.already_handed
        self.interrupted += report.interrupted
        for doc_id in (*report.handed_over, *report.acknowledged):
            self.failed.pop(doc_id, None)  # (with --watch) a later pass took it after all
        for doc_id, given in report.failed.items():
            name = _safe(doc_id)
            reason = self._reasons.pop(name, given) if given == _UNVERIFIED else given
            left = self.incoming / f"{name}.edxml"
            if left.exists():
                self.rejected.mkdir(exist_ok=True)
                left.replace(self.rejected / left.name)
                reason += f" (kept in {self.rejected / left.name})"
            self.failed[doc_id] = reason
        self.show()

    def show(self, *, final: bool = False) -> None:
        """Put the counters on the progress line."""
        self.progress.update(self._task, description=self.line(final=final))

    def line(self, *, final: bool = False) -> str:
        c = self.counts
        verified = f"verified {c['verified']}" if self.verify else "not verified"
        head = f"{self.passes} pass(es)" if final else f"pass {self.passes + 1}"
        return (
            f"{head}: polled {c['polled']}, downloaded {c['downloaded']}, "
            f"{verified}, handed over {len(self.handed)}, acknowledged {c['acknowledged']}, "
            f"failed {len(self.failed)}"
        )

    def summary(self) -> dict[str, Any]:
        c = self.counts
        return {
            "folder": str(self.folder),
            "passes": self.passes,
            "polled": c["polled"],
            "downloaded": c["downloaded"],
            "verified": c["verified"] if self.verify else None,
            "handed_over": self.handed,
            "already_handed": self.already,
            "interrupted": self.interrupted,
            "acknowledged": self.acknowledged,
            "failed": [{"doc_id": d, "reason": r} for d, r in self.failed.items()],
            "errors": self.errors,
        }

    @property
    def exit_code(self) -> int:
        return EXIT_PROBLEM if self.failed or self.interrupted else 0


def _trust(paths: list[Path], output_format: OutputFormat) -> TrustSettings | None:
    if not paths:
        return None
    from lgsp.signatures.trust import TrustSettings, load_certificates

    try:
        return TrustSettings(anchors=[c for p in paths for c in load_certificates(p)])
    except (LgspError, OSError, ValueError) as exc:
        fail(f"cannot read a trust anchor: {exc}", EXIT_USAGE, output_format)


@app.command(
    "receive",
    epilog=exit_codes(
        "every package polled was handed over (or there was none)",
        "a package was refused (signature, unreadable) or could not be handed over or "
        "acknowledged; a hand-over a crash interrupted waits for a decision",
        "DIR cannot be created, a trust anchor cannot be read, or the settings or options "
        "are wrong",
        "the platform could not be reached (with --watch: in at least one pass)",
    ),
)
def receive_command(
    *,
    to_dir: Annotated[
        Path,
        typer.Option(
            "--to-dir",
            metavar="DIR",
            file_okay=False,
            help="Folder the packages are written into, as DOC_ID.edxml (created when missing).",
            show_default=False,
        ),
    ],
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (the default).")
    ] = False,
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch",
            metavar="SECONDS",
            min=0.0,
            help="Poll again every SECONDS until interrupted (Ctrl-C) or --passes.",
            show_default=False,
        ),
    ] = None,
    passes: Annotated[
        int | None,
        typer.Option(
            "--passes",
            metavar="N",
            min=1,
            help="With --watch: stop after N passes.",
            show_default=False,
        ),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Verify each package's signature (lgsp.verify_package) before handing it "
            "over; a package that fails is acknowledged 'fail' and kept aside. With --trust, "
            "the signer must also chain to an anchor.",
        ),
    ] = True,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            metavar="PEM",
            help="Trust anchors (root CA certificates) the signers must chain to. Repeatable.",
            show_default=False,
        ),
    ] = None,
    inbox: Annotated[
        Path | None,
        typer.Option(
            "--inbox",
            metavar="FILE",
            help="A durable inbox (SQLite) of doc ids: a package already handed over is only "
            "acknowledged on a later run, never written again.",
            show_default=False,
        ),
    ] = None,
    ack: Annotated[
        bool,
        typer.Option("--ack/--no-ack", help="Acknowledge ('done') each package handed over."),
    ] = True,
    message_type: Annotated[
        TypeFilter, typer.Option("--type", help="Which packages to take.")
    ] = TypeFilter.ALL,
    config: ConfigOption = None,
    sandbox: SandboxOption = None,
    as_system: AsSystemOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Receive packages: poll the list, download each, verify it, write it into DIR, and
    acknowledge it — each doc id once (with --inbox, across runs and crashes too)."""
    if once and watch is not None:
        raise typer.BadParameter("give --once or --watch SECONDS, not both", param_hint="--watch")
    if passes is not None and watch is None:
        raise typer.BadParameter("--passes goes with --watch", param_hint="--passes")
    settings = load_settings(config, sandbox, as_system, output_format)
    need_profile(settings, "documents", output_format, {"folder": str(to_dir)})
    anchors = _trust(trust or [], output_format) if verify else None
    try:
        (to_dir / INCOMING).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = render.describe_error(exc)["message"]
        fail(f"cannot create the folder {to_dir}: {reason}", EXIT_USAGE, output_format)
    overrides: dict[str, Any] = {"download_dir": to_dir / INCOMING}
    if inbox is not None:
        overrides["inbox"] = inbox
    try:
        client = open_client(settings, verbose=verbose, **overrides)
    except LgspError as exc:
        fail(f"cannot open the inbox {inbox}: {exc}", EXIT_USAGE, output_format)
    show = output_format is OutputFormat.TEXT
    console = render.make_console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=not (show and console.is_terminal),  # a live line only for a person
    )
    receiver = _Receiver(to_dir, verify=verify, trust=anchors, progress=progress)
    with client, progress:
        worst = _passes(
            client,
            receiver,
            message_type=message_type.message_type,
            ack=ack,
            watch=watch,
            passes=passes,
            show=show,
        )
    worst = max(worst, receiver.exit_code)
    summary = receiver.summary()
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json({**summary, "ok": worst == 0}))
    else:
        _render(render.make_console(), summary)
    raise typer.Exit(worst)


def _passes(
    client: Client,
    receiver: _Receiver,
    *,
    message_type: str | None,
    ack: bool,
    watch: float | None,
    passes: int | None,
    show: bool,
) -> int:
    """Run the passes (one, or every ``watch`` seconds); the worst exit code of the calls."""
    worst = 0
    while True:
        try:
            report = client.documents.receive(
                receiver.hand_over,
                message_type=message_type,
                verify=receiver.check,
                acknowledge=ack,
            )
        except KeyboardInterrupt:
            break
        except LgspError as exc:
            code, message = call_failure(exc)
            worst = max(worst, code)
            receiver.errors.append(message)
            receiver.passes += 1
            if show:
                receiver.progress.console.print(Text(f"lgsp: {message}"), soft_wrap=True)
        else:
            receiver.account(report)
        if watch is None or (passes is not None and receiver.passes >= passes):
            break
        try:
            time.sleep(watch)
        except KeyboardInterrupt:
            break
    receiver.show(final=True)
    return worst


def _render(console: Console, summary: dict[str, Any]) -> None:
    handed = summary["handed_over"]
    if handed:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("Doc ID", "Kind", "From", "Subject / status", "File"):
            table.add_column(column, overflow="fold")
        for item in handed:
            about = item["subject"] or (
                f"status {item['status_code']}" if item["status_code"] else ""
            )
            table.add_row(
                Text(item["doc_id"]),
                Text(item["kind"]),
                Text(item["from"] or "-"),
                Text(about or "-"),
                Text(item["path"]),
            )
        console.print(table)
    for doc_id in summary["already_handed"]:
        console.print(Text(f"{doc_id}: handed over before (not written again)"), soft_wrap=True)
    for doc_id in summary["interrupted"]:
        line = Text(f"{doc_id}: ")
        line.append("interrupted", style="bold yellow")
        line.append(" - a hand-over was cut short by a crash; check DIR, then decide")
        console.print(line, soft_wrap=True)
    for item in summary["failed"]:
        line = Text(f"{item['doc_id']}: ")
        line.append("FAILED", style="bold red")
        line.append(f" - {item['reason']}")
        console.print(line, soft_wrap=True)
    verified = summary["verified"]
    console.print(
        Text(
            f"polled {summary['polled']}, downloaded {summary['downloaded']}, "
            + ("not verified" if verified is None else f"verified {verified}")
            + f": {len(handed)} handed over into {summary['folder']}, "
            f"{len(summary['acknowledged'])} acknowledged, {len(summary['failed'])} failed"
        ),
        soft_wrap=True,
    )
