"""``lgsp registry import``, ``sync`` and ``lookup``: the local registry cache.

Importing this module adds the ``registry`` group to the ``lgsp`` app.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import (
    AsSystemOption,
    ConfigOption,
    SandboxOption,
    VerboseOption,
    call_failure,
    exit_codes,
    load_settings,
    need_profile,
    open_client,
    refusal_code,
)
from lgsp.cli.app import OutputFormat, _exit_codes, app
from lgsp.errors import (
    AuthError,
    ConfigurationError,
    RegistryError,
    RemoteServiceError,
    TransportError,
)
from lgsp.registry import (
    AdminScheme,
    ImportReport,
    RegistryCache,
    RegistryEntry,
    RegistryKind,
    default_registry_path,
    import_admin_units,
)

if TYPE_CHECKING:
    from lgsp.clients import Client

__all__ = ["import_command", "lookup_command", "registry_app", "sync_command"]

registry_app = typer.Typer(
    name="registry",
    help=(
        "The local registry cache: organ directory (VXP), procedures, fields of work and organs "
        "(DVCQG), administrative units.\n\n"
        "\b\n"
        "  import  load a service response (JSON) or a spreadsheet (CSV) into the cache\n"
        "  sync    fetch the directory and catalogues from the platform into the cache\n"
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


# sync --------------------------------------------------------------------------------------------
class SyncWhat(enum.StrEnum):
    """What ``lgsp registry sync`` fetches."""

    AGENCIES = "agencies"
    UNITS = "units"
    PROCEDURES = "procedures"
    FIELDS = "fields"
    ORGANS = "organs"
    ALL = "all"


# kind -> (profile section it needs, the service call, a label)
_SYNCS: dict[str, tuple[str, str]] = {
    "agencies": ("documents", "VXP getAgenciesList"),
    "units": ("documents", "VXP getSynchronizeUnit"),
    "procedures": ("dossiers", "portal LayDanhSachTTHC"),
    "fields": ("dossiers", "portal LayDanhMucLinhVuc"),
    "organs": ("dossiers", "portal LayDanhMucCoQuan"),
}


def _fetch(client: Client, kind: str, cache: RegistryCache) -> int:
    """Fetch one kind into the cache; how many records the service returned."""
    calls: dict[str, Callable[[], list[Any]]] = {
        "agencies": lambda: client.agencies.list(cache=cache),
        "units": lambda: client.agencies.sync_units(cache=cache),
        "procedures": lambda: client.catalogue.procedures(cache=cache),
        "fields": lambda: client.catalogue.fields_of_work(cache=cache),
        "organs": lambda: client.catalogue.organs(cache=cache),
    }
    return len(calls[kind]())


@registry_app.command(
    "sync",
    epilog=exit_codes(
        "every kind asked for was fetched into the cache",
        "a service refused a listing (the others were still fetched)",
        "the cache cannot be written, no profile serves what was asked, or the settings are wrong",
        "the platform could not be reached (what was fetched before is kept)",
    ),
)
def sync_command(
    *,
    what: Annotated[
        SyncWhat,
        typer.Option(
            "--what",
            help="What to fetch: the VXP directory (agencies, units, with a documents profile) "
            "or the portal's catalogues (procedures, fields, organs, with a classic portal "
            "profile); 'all' fetches what the profiles can serve.",
        ),
    ] = SyncWhat.ALL,
    db: Annotated[
        Path | None,
        typer.Option("--cache", "--db", metavar="FILE", help=_DB_HELP, show_default=False),
    ] = None,
    config: ConfigOption = None,
    sandbox: SandboxOption = None,
    as_system: AsSystemOption = None,
    verbose: VerboseOption = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help=_FORMAT_HELP)
    ] = OutputFormat.TEXT,
) -> None:
    """Fetch registries from the platform's services into the local cache, and count them.

    Entries are replaced by code and remember the service they came from; units the axis
    marks deleted leave the cache. Look them up afterwards with 'lgsp registry lookup'.
    """
    path = db or default_registry_path()
    data: dict[str, Any] = {"db": str(path), "kinds": []}
    settings = load_settings(config, sandbox, as_system, output_format)
    kinds = list(_SYNCS) if what is SyncWhat.ALL else [what.value]
    served = [k for k in kinds if getattr(settings, _SYNCS[k][0]) is not None]
    if what is not SyncWhat.ALL and not served:
        need_profile(settings, _SYNCS[what.value][0], output_format, data)
    if not served:
        _fail(
            "no profile to fetch from: give --config FILE, --sandbox URL or LGSP_* variables "
            "with a documents or dossiers profile",
            2,
            output_format,
            data,
        )
    results: list[dict[str, Any]] = []
    worst = 0
    try:
        with RegistryCache(path) as cache, open_client(settings, verbose=verbose) as client:
            for kind in served:
                result: dict[str, Any] = {"kind": kind, "source": _SYNCS[kind][1], "fetched": None}
                results.append(result)
                try:
                    result["fetched"] = _fetch(client, kind, cache)
                except RemoteServiceError as exc:
                    result["error"] = call_failure(exc)[1]
                    worst = max(worst, refusal_code(exc))
                except ConfigurationError as exc:
                    result["error"] = str(exc)
                    worst = max(worst, 2)
                except (TransportError, AuthError) as exc:
                    code, message = call_failure(exc)
                    result["error"] = message
                    worst = max(worst, code)
                    break
                result["in_cache"] = cache.count(RegistryKind(kind))
    except (RegistryError, OSError) as exc:
        message = (
            str(exc) if isinstance(exc, RegistryError) else render.describe_error(exc)["message"]
        )
        _fail(f"cannot write the cache {path}: {message}", 2, output_format, data)
    skipped = [k for k in kinds if k not in served]
    if output_format is OutputFormat.JSON:
        data.update({"kinds": results, "skipped": skipped, "ok": worst == 0})
        typer.echo(render.dump_json(data))
    else:
        _render_sync(results, skipped, path)
    raise typer.Exit(worst)


def _render_sync(results: list[dict[str, Any]], skipped: list[str], db: Path) -> None:
    console = render.make_console()
    for result in results:
        if result.get("error"):
            line = Text(f"{result['kind']}: ")
            line.append("FAILED", style="bold red")
            line.append(f" - {result['error']}")
        else:
            line = Text(
                f"{result['kind']}: fetched {result['fetched']:,} from {result['source']}; "
                f"{result['in_cache']:,} in the cache"
            )
        console.print(line, soft_wrap=True)
    for kind in skipped:
        section = _SYNCS[kind][0]
        console.print(Text(f"{kind}: skipped (no {section} profile)", style="dim"), soft_wrap=True)
    console.print(Text(f"cache: {db}", style="dim"), soft_wrap=True)
