"""Rendering helpers of the command line: plain data for JSON, rich renderables for text.

Every value that comes from a package is put on screen as a :class:`rich.text.Text`, never as
markup, so that a subject or a file name containing ``[...]`` is shown as it is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lgsp.documents.attachments import Attachment
from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.errors import AttachmentError, PackageError, XMLError
from lgsp.findings import Finding

__all__ = [
    "SEVERITY_STYLES",
    "FileReport",
    "PackageKind",
    "attachment_info",
    "describe_error",
    "dump_json",
    "error_text",
    "finding_line",
    "finding_to_dict",
    "make_console",
    "package_kind",
    "package_summary",
    "render_document",
    "render_status",
    "render_validation",
]

PackageKind = Literal["document", "status"]

SEVERITY_STYLES: dict[str, str] = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def make_console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr), looked up at call time.

    Looking the stream up when a command runs (not at import) is what lets test runners and
    redirections capture the output.
    """
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, emoji=False)


def dump_json(data: Any) -> str:
    """JSON text as the commands print it: UTF-8 characters kept, two-space indent."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def package_kind(pkg: DocumentPackage | StatusPackage) -> PackageKind:
    """``document`` or ``status``."""
    return "status" if isinstance(pkg, StatusPackage) else "document"


# errors and findings ---------------------------------------------------------------------------
def describe_error(exc: BaseException) -> dict[str, Any]:
    """Why a file could not be read: ``type``, ``message``, ``line``, ``column``.

    The message leaves out the file name (the caller shows it once) and, for XML errors, the
    position (it has its own fields).
    """
    line: int | None = None
    column: int | None = None
    if isinstance(exc, XMLError):
        message = exc.cause
        line, column = exc.line, exc.column
    elif isinstance(exc, PackageError):
        message = str(exc)
        if exc.source and message.startswith(exc.source):
            message = message[len(exc.source) :].lstrip(": ")
    elif isinstance(exc, OSError):
        message = exc.strerror or str(exc)
        if exc.filename is not None and exc.strerror:
            message = f"{exc.strerror}: {exc.filename}"
    else:
        message = str(exc)
    return {"type": type(exc).__name__, "message": message, "line": line, "column": column}


def error_text(error: Mapping[str, Any]) -> str:
    """``XMLError at line 1, column 1: cause`` from :func:`describe_error`'s dict."""
    where = ""
    if error.get("line") is not None:
        where = f" at line {error['line']}"
        if error.get("column") is not None:
            where += f", column {error['column']}"
    return f"{error['type']}{where}: {error['message']}"


def finding_to_dict(finding: Finding) -> dict[str, str]:
    """A finding as JSON: rule, severity, location, message."""
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "location": finding.location,
        "message": finding.message,
    }


def finding_line(finding: Finding, *, indent: str = "  ") -> Text:
    """``severity rule location: message`` with the severity coloured."""
    line = Text(indent)
    line.append(finding.severity, style=SEVERITY_STYLES.get(finding.severity, ""))
    line.append(f" {finding.rule} {finding.location}: {finding.message}")
    return line


@dataclass
class FileReport:
    """The outcome of validating one file."""

    path: str
    kind: PackageKind | None = None
    error: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.error is None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def infos(self) -> int:
        return sum(1 for f in self.findings if f.severity == "info")

    @property
    def exit_code(self) -> int:
        """0 no error finding, 1 error findings, 2 unreadable."""
        if not self.readable:
            return 2
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "readable": self.readable,
            "error": self.error,
            "findings": [finding_to_dict(f) for f in self.findings],
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def render_validation(console: Console, reports: Sequence[FileReport], profile: str) -> None:
    """The text report of ``lgsp validate``: a header line per file, a line per finding."""
    for report in reports:
        head = Text(report.path, style="bold")
        if not report.readable:
            assert report.error is not None  # noqa: S101 - readable is error is None
            head.append(": ")
            head.append("UNREADABLE", style="bold red")
            head.append(f" - {error_text(report.error)}")
            console.print(head, soft_wrap=True)
            continue
        head.append(f": {report.kind} package, profile {profile}: ")
        if report.errors:
            head.append("FAIL", style="bold red")
        else:
            head.append("OK", style="bold green")
        head.append(
            f" ({_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')}, "
            f"{report.infos} info)"
        )
        console.print(head, soft_wrap=True)
        for finding in report.findings:
            console.print(finding_line(finding), soft_wrap=True)
    if len(reports) > 1:
        ok = sum(1 for r in reports if r.exit_code == 0)
        failed = sum(1 for r in reports if r.exit_code == 1)
        unreadable = sum(1 for r in reports if r.exit_code == 2)
        console.print(
            Text(f"{len(reports)} files: {ok} OK, {failed} FAIL, {unreadable} unreadable"),
            soft_wrap=True,
        )


# package summaries -----------------------------------------------------------------------------
def _rename_from(data: dict[str, Any]) -> dict[str, Any]:
    # ``from_`` is a Python-side name; JSON readers get ``from``.
    return {("from" if key == "from_" else key): value for key, value in data.items()}


def attachment_info(att: Attachment) -> dict[str, Any]:
    """What ``inspect`` says of an attachment, without writing it anywhere.

    Size and SHA-256 are measured by streaming the file; an attachment whose payload cannot be
    decoded has ``null`` for both and says why in ``problem``.
    """
    problem = att.problem
    size: int | None = None
    sha256: str | None = None
    if problem is None:
        try:
            size, sha256 = att.size, att.sha256
        except AttachmentError as exc:
            problem = str(exc)
    return {
        "name": att.name,
        "content_id": att.content_id,
        "description": att.description,
        "content_type": att.content_type,
        "wire_content_type": att.wire_content_type,
        "encoding": att.encoding,
        "zip_member": att.zip_member,
        "size": size,
        "wire_size": att.wire_size,
        "sha256": sha256,
        "problem": problem,
    }


def package_summary(pkg: DocumentPackage | StatusPackage) -> dict[str, Any]:
    """A JSON-able summary of a package, from the models' own dumps (English names)."""
    notes = [finding_to_dict(n) for n in pkg.notes]
    if isinstance(pkg, StatusPackage):
        status = pkg.header.status
        return {
            "kind": "status",
            "header": _rename_from(pkg.header.model_dump(mode="json")),
            "status": {
                "code": pkg.header.code,
                "label": status.label if status is not None else None,
                "known": status is not None,
            },
            "notes": notes,
        }
    business: dict[str, Any] | None = None
    if pkg.business is not None:
        kind = pkg.business.kind
        business = pkg.business.model_dump(mode="json")
        business["kind"] = kind.name.lower() if kind is not None else None
    return {
        "kind": "document",
        "header": _rename_from(pkg.header.model_dump(mode="json")),
        "business": business,
        "traces": [t.model_dump(mode="json") for t in pkg.traces],
        "attachments": [attachment_info(a) for a in pkg.attachments],
        "signed": pkg.signature_xml is not None,
        "notes": notes,
    }


def _fields_table(title: str, rows: Iterable[tuple[str, Text | str | None]]) -> Table:
    """A titled two-column grid, no borders: keeps a SHA-256 on one line at 80 columns."""
    table = Table.grid(padding=(0, 2))
    table.title = Text(title, style="bold")
    table.title_justify = "left"
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in rows:
        if value is None or value == "":
            continue
        table.add_row(Text(key), value if isinstance(value, Text) else Text(str(value)))
    return table


def _join(*parts: Any, sep: str = " ") -> str | None:
    text = sep.join(str(p) for p in parts if p not in (None, ""))
    return text or None


def _document_type(doc_type: Mapping[str, Any]) -> str | None:
    codes = _join(
        f"type {doc_type['type']}" if doc_type["type"] is not None else None,
        f"detail {doc_type['type_detail']}" if doc_type["type_detail"] is not None else None,
        sep=", ",
    )
    return _join(doc_type["type_name"], f"({codes})" if codes else None)


def _organization(org: Mapping[str, Any]) -> str | None:
    return _join(org.get("organ_id"), org.get("organ_name"), sep="  ")


def _render_notes(console: Console, notes: Sequence[Mapping[str, Any]]) -> None:
    if not notes:
        return
    console.print()
    console.print(Text(f"Reader notes ({len(notes)})", style="bold"))
    for note in notes:
        console.print(finding_line(Finding.model_validate(note)), soft_wrap=True)
    console.print(Text("Run `lgsp validate` for the findings of a profile.", style="dim"))


def _business_rows(business: Mapping[str, Any]) -> list[tuple[str, Text | str | None]]:
    staff = business.get("staff") or {}
    rows: list[tuple[str, Text | str | None]] = [
        ("Kind", f"{business['kind'] or 'unknown'} ({business['doc_type']})"),
        ("Reason", business["reason"]),
        ("Document ID", business["document_id"]),
        ("Paper", business["paper"]),
    ]
    info = business.get("document_info")
    if info is not None:
        receivers = ", ".join(
            f"{r['organ_id']} (type {r['receiver_type']})" for r in info["receivers"]
        )
        rows.append(
            (
                "Update",
                _join(
                    f"document info {info['document_info']}",
                    f"receiver {info['document_receiver']}",
                    f"receivers {receivers}" if receivers else None,
                    sep=", ",
                ),
            )
        )
    for i, rep in enumerate(business.get("replacements") or []):
        organs = ", ".join(rep["organ_ids"])
        rows.append(
            (
                "Replaces" if i == 0 else "",
                _join(rep["document_id"], f"(at {organs})" if organs else None),
            )
        )
    rows.append(
        ("Staff", _join(staff.get("staff"), staff.get("department"), staff.get("email"), sep=", "))
    )
    return rows


def render_document(console: Console, path: str, summary: Mapping[str, Any]) -> None:
    """The text form of ``lgsp inspect`` for a document package."""
    header = summary["header"]
    business = summary["business"]
    title = Text(path, style="bold")
    title.append(": document package")
    if business is not None:
        title.append(f" ({business['kind'] or 'unknown business type'})")
    console.print(title, soft_wrap=True)

    code = header["code"]
    promulgation = header["promulgation"]
    doc_type = header["document_type"]
    signer = header["signer"]
    other = header.get("other_info") or {}
    rows: list[tuple[str, Text | str | None]] = [("From", _organization(header["from"]))]
    for i, org in enumerate(header["to"]):
        rows.append(("To" if i == 0 else "", _organization(org)))
    rows += [
        ("Document ID", header["document_id"]),
        ("Code", _join(code["number"], code["notation"], sep=" / ")),
        ("Subject", header["subject"]),
        ("Content", header["content"]),
        ("Promulgated", _join(promulgation["place"], promulgation["date"], sep=", ")),
        ("Type", _document_type(doc_type)),
        ("Signer", _join(signer["competence"], signer["position"], signer["full_name"], sep=", ")),
        ("Due date", header["due_date"]),
        ("Priority", other.get("priority")),
        ("Places", "; ".join(header["to_places"])),
    ]
    for i, rf in enumerate(header["response_for"]):
        rows.append(("Response for" if i == 0 else "", _join(rf["document_id"], rf["code"])))
    console.print()
    console.print(_fields_table("Header", rows))
    console.print()

    if business is None:
        console.print(Text("Business: none (a new document is assumed)", style="yellow"))
    else:
        console.print(_fields_table("Business", _business_rows(business)))
    traces = summary["traces"]
    console.print()
    if traces:
        table = Table(
            title=Text("Traces", style="bold"),
            title_justify="left",
            box=None,
            pad_edge=False,
            header_style="bold",
        )
        table.add_column("#", justify="right")
        table.add_column("Organ")
        table.add_column("Timestamp (Vietnam time)")
        for i, trace in enumerate(traces, 1):
            table.add_row(
                Text(str(i)), Text(trace["organ_id"] or "-"), Text(trace["timestamp"] or "-")
            )
        console.print(table)
    else:
        console.print(Text("Traces: none", style="yellow"))

    attachments = summary["attachments"]
    console.print()
    console.print(Text(f"Attachments ({len(attachments)})", style="bold"))
    for i, att in enumerate(attachments, 1):
        problem = Text(att["problem"], style="bold red") if att["problem"] else None
        console.print(
            _fields_table(
                f"#{i} {att['name']}",
                [
                    ("Content ID", att["content_id"]),
                    ("Content type", att["content_type"]),
                    ("Wire label", att["wire_content_type"]),
                    ("Encoding", att["encoding"]),
                    ("Size", f"{att['size']} bytes" if att["size"] is not None else None),
                    ("SHA-256", att["sha256"]),
                    ("Problem", problem),
                ],
            )
        )
    if summary.get("signed"):
        console.print()
        console.print(Text("Signature: present (not verified)"))
    _render_notes(console, summary["notes"])


def render_status(console: Console, path: str, summary: Mapping[str, Any]) -> None:
    """The text form of ``lgsp inspect`` for a status package."""
    header = summary["header"]
    status = summary["status"]
    rf = header["response_for"]
    staff = header.get("staff") or {}
    console.print(Text(path, style="bold").append(": status package", style=""), soft_wrap=True)
    code = Text(status["code"] or "-")
    if status["label"]:
        code.append(f"  {status['label']}")
    elif status["code"] is not None:
        code.append("  (unknown code)", style="yellow")
    console.print()
    console.print(
        _fields_table(
            "Status",
            [
                ("From", _organization(header["from"])),
                ("Status", code),
                ("Description", header["description"]),
                ("Timestamp", header["timestamp"]),
                ("Response for", rf["document_id"]),
                ("Code", rf["code"]),
                ("Organ", rf["organ_id"]),
                ("Promulgated", rf["promulgation_date"]),
                ("Staff", _join(staff.get("staff"), staff.get("department"), sep=", ")),
            ],
        )
    )
    _render_notes(console, summary["notes"])
