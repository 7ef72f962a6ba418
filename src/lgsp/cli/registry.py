"""``lgsp registry import`` and ``lgsp registry lookup``: the local registry cache.

Importing this module adds the ``registry`` group to the ``lgsp`` app.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli.app import OutputFormat, _exit_codes, app
from lgsp.errors import RegistryError
from lgsp.registry import (
    AdminScheme,
    ImportReport,
    RegistryCache,
    RegistryEntry,
    RegistryKind,
    default_registry_path,
    import_admin_units,
)

__all__ = ["import_command", "lookup_command", "registry_app"]

registry_app = typer.Typer(
    name="registry",
    help=(
        "The local registry cache: organ directory (VXP), procedures, fields of work and organs "
        "(DVCQG), administrative units.\n\n"
        "\b\n"
        "  import  load a service response (JSON) or a spreadsheet (CSV) into the cache\n"
        "  lookup  find entries by code or by name (accents, case and word order ignored)\n\n"
        "The cache is $LGSP_REGISTRY_DB, else lgsp/registry.sqlite3 under $XDG_DATA_HOME "
        "(~/.local/share); --db overrides both."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)
app.add_typer(registry_app, name="registry")

_DB_HELP = (
    "The cache file (default: $LGSP_REGISTRY_DB, else lgsp/registry.sqlite3 in the data dir)."
)
_FORMAT_HELP = "Text for people, JSON for programs."


def _fail(message: str, code: int, output_format: OutputFormat, data: dict[str, Any]) -> NoReturn:
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json({**data, "ok": False, "error": message}))
    else:
        render.make_console(stderr=True).print(Text(f"lgsp: {message}"), soft_wrap=True)
    raise typer.Exit(code)


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# import ------------------------------------------------------------------------------------------
@registry_app.command(
    "import",
    epilog=_exit_codes(
        "records were imported",
        "the file holds no record",
        "the file cannot be read (not JSON or CSV, a malformed line, a service response that "
        "reports a failure), or the cache cannot be written",
    ),
)
def import_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="JSON (a service response {status, ErrorCode, data}, or a list) or CSV with a "
            "header row; '-' reads standard input. Omit it with --kind admin-units to load the "
            "2025 units of the vietnam-provinces package and the built-in legacy provinces.",
            show_default=False,
        ),
    ] = None,
    *,
    kind: Annotated[
        RegistryKind | None,
        typer.Option(
            help="What the file holds (default: told from its fields).", show_default=False
        ),
    ] = None,
    scheme: Annotated[
        AdminScheme | None,
        typer.Option(
            help="For admin units: the code list of the file (default: legacy when it has "
            "districts, else 2025).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop the kind's entries before importing.")
    ] = False,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP, show_default=False)] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help=_FORMAT_HELP)
    ] = OutputFormat.TEXT,
) -> None:
    """Import records into the cache: all of a file or none of it.

    An entry with the same kind and code is replaced, and remembers when and from which file
    it came. A getSynchronizeUnit item marked deleted removes its entry. For admin units, a CSV
    with old_code and new_code columns is a list of old -> new links.
    """
    path = db or default_registry_path()
    shown = str(file) if file is not None else "vietnam-provinces"
    data: dict[str, Any] = {"path": shown, "db": str(path)}
    if file is None and kind is not RegistryKind.ADMIN_UNITS:
        _fail("FILE is required (except with --kind admin-units)", 2, output_format, data)
    try:
        with RegistryCache(path) as cache:
            if file is None:
                reports = import_admin_units(cache, replace=replace)
            elif str(file) == "-":
                reports = [
                    cache.import_data(
                        sys.stdin.buffer.read(),
                        kind=kind,
                        scheme=scheme,
                        source="<stdin>",
                        replace=replace,
                    )
                ]
            else:
                reports = [cache.import_file(file, kind=kind, scheme=scheme, replace=replace)]
    except (RegistryError, OSError) as exc:
        message = (
            str(exc) if isinstance(exc, RegistryError) else render.describe_error(exc)["message"]
        )
        _fail(f"cannot import {shown}: {message}", 2, output_format, data)
    total = sum(r.imported + r.removed + r.links for r in reports)
    if output_format is OutputFormat.JSON:
        data["ok"] = total > 0
        data["imports"] = [_report(r) for r in reports]
        typer.echo(render.dump_json(data))
    else:
        console = render.make_console()
        for report in reports:
            console.print(Text(_report_line(report, path)), soft_wrap=True)
    raise typer.Exit(0 if total else 1)


def _report(report: ImportReport) -> dict[str, Any]:
    return {
        "kind": report.kind.value,
        "source": report.source,
        "imported": report.imported,
        "removed": report.removed,
        "links": report.links,
        "imported_at": report.imported_at.isoformat(),
    }


def _report_line(report: ImportReport, db: Path) -> str:
    parts = [f"imported {report.imported:,} {report.kind.value}"]
    if report.removed:
        parts.append(f"removed {report.removed:,}")
    if report.links:
        parts.append(f"{report.links:,} old -> new links")
    return f"{', '.join(parts)} from {report.source} into {db}"


# lookup ------------------------------------------------------------------------------------------
@registry_app.command(
    "lookup",
    epilog=_exit_codes(
        "entries were found", "nothing was found", "the cache cannot be read, or an option is wrong"
    ),
)
def lookup_command(
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help="A code (000.00.00.H41, 1.005129, G03-GD10, 08) or a name, with or without "
            "accents ('ubnd xa hoa tien').",
            show_default=False,
        ),
    ],
    *,
    kind: Annotated[
        RegistryKind | None,
        typer.Option(help="Look only at this kind (default: every kind).", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 10,
    max_age: Annotated[
        float | None,
        typer.Option(
            "--max-age",
            metavar="DAYS",
            min=0,
            help="Mark entries imported longer ago than this as stale.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP, show_default=False)] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help=_FORMAT_HELP)
    ] = OutputFormat.TEXT,
) -> None:
    """Find entries by code (when QUERY reads as one and an entry has it) or by name.

    Names match without regard to accents, case, đ/d, punctuation or word order, and UBND,
    HĐND, TP, TX match their words in full. Exact names come first, then names starting with
    QUERY, then names holding all its words (shortest first). Each entry shows where it came
    from and when; with --max-age, older entries are marked stale.
    """
    path = db or default_registry_path()
    data: dict[str, Any] = {"query": query, "db": str(path)}
    if not path.exists():
        _fail(
            f"no registry cache at {path}: import one with 'lgsp registry import'",
            1,
            output_format,
            {**data, "matched_by": None, "entries": []},
        )
    age = dt.timedelta(days=max_age) if max_age is not None else None
    try:
        with RegistryCache(path, max_age=age) as cache:
            result = cache.lookup(query, kind=kind, limit=limit)
            entries = [_entry(cache, e) for e in result.entries]
    except RegistryError as exc:
        _fail(f"cannot read {path}: {exc.message}", 2, output_format, data)
    if output_format is OutputFormat.JSON:
        data.update({"ok": bool(entries), "matched_by": result.matched_by, "entries": entries})
        typer.echo(render.dump_json(data))
    else:
        _render_lookup(query, result.matched_by, entries)
    raise typer.Exit(0 if entries else 1)


def _entry(cache: RegistryCache, entry: RegistryEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": entry.kind.value,
        "code": entry.code,
        "name": entry.name,
        "scheme": entry.scheme.value if entry.scheme else None,
        "match": entry.match,
        "source": entry.source,
        "fetched_at": entry.fetched_at.isoformat(),
        "stale": entry.stale,
        "record": json.loads(entry.raw),
    }
    if entry.kind is RegistryKind.ADMIN_UNITS:
        links = (
            cache.successors(entry.code)
            if entry.scheme is AdminScheme.LEGACY
            else cache.predecessors(entry.code)
        )
        item["links"] = [
            {
                "old_code": link.old_code,
                "old_name": link.old.name if link.old else link.mapping.old_name,
                "new_code": link.new_code,
                "new_name": link.new.name if link.new else link.mapping.new_name,
                "source": link.source,
            }
            for link in links
        ]
    return item


_MATCHES = {
    "code": "by code",
    "exact": "exact name",
    "prefix": "start of the name",
    "tokens": "all words of the name",
}


def _render_lookup(query: str, matched_by: str, entries: list[dict[str, Any]]) -> None:
    console = render.make_console()
    if not entries:
        console.print(Text(f"nothing found for {query!r}"), soft_wrap=True)
        return
    noun = "entry" if len(entries) == 1 else "entries"
    console.print(Text(f"{len(entries)} {noun} for {query!r} (by {matched_by})"), soft_wrap=True)
    for item in entries:
        line = Text(item["code"], style="bold")
        line.append(f"  {item['name'] or '(no name)'}")
        console.print(line, soft_wrap=True)
        where = item["kind"] + (f", {item['scheme']} scheme" if item["scheme"] else "")
        how = _MATCHES.get(item["match"], item["match"])
        when = _when(dt.datetime.fromisoformat(item["fetched_at"]))
        detail = Text(f"    {where}; {how}; from {item['source']}, {when}", style="dim")
        if item["stale"]:
            detail.append(" STALE", style="bold yellow")
        console.print(detail, soft_wrap=True)
        for link in item.get("links", ()):
            if item["scheme"] == AdminScheme.LEGACY.value:
                text = f"    -> {link['new_code']} {link['new_name'] or ''} (2025)"
            else:
                text = f"    <- {link['old_code']} {link['old_name'] or ''} (legacy)"
            console.print(Text(text.rstrip()), soft_wrap=True)
