"""JSON Schemas of the dossier payloads, generated from the models, one per payload and target.

``python -m lgsp.dossiers.schemas --write`` writes them into ``src/lgsp/schemas/json/`` (files
``<payload>.<target>.schema.json``, or ``<payload>.schema.json`` when both targets write the
payload alike); ``--check`` exits 1 when the files there differ from what the models give (the
tests run the same comparison). The schemas describe what lgsp *writes* for a target, which is
what the strict profile accepts: the fields of ``REQUIRED`` and ``RECOMMENDED`` are required,
dates have the target's form, numbers and flags are text for the classic target; fields the
contracts do not define are allowed (lgsp keeps them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from lgsp.dossiers._wire import WireModel, wire_model
from lgsp.dossiers.formats import TARGETS, Target
from lgsp.dossiers.models import (
    DossierLookupRequest,
    DossierLookupResponse,
    DossierProgressItem,
    DossierSyncItem,
    DossierSyncRequest,
    ProgressUpdateRequest,
)
from lgsp.dossiers.token_models import DossierCreation, ProgressUpdate, StatusUpdate

__all__ = ["SCHEMAS", "SCHEMA_DIR", "SchemaSpec", "generate", "main", "render", "stale_files"]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "json"
"""Where the schemas live in the source tree (and in the installed package)."""
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True, slots=True)
class SchemaSpec:
    """A payload with a schema: file stem, model, whether the payload is an array of it."""

    stem: str
    model: type[WireModel]
    title: str
    many: bool = False


SCHEMAS: tuple[SchemaSpec, ...] = (
    SchemaSpec("sync-item", DossierSyncItem, "DongBoHoSoMC data item"),
    SchemaSpec("sync-request", DossierSyncRequest, "DongBoHoSoMC request body"),
    SchemaSpec("progress-item", DossierProgressItem, "CapNhatTienDoHoSoMC data item"),
    SchemaSpec("progress-request", ProgressUpdateRequest, "CapNhatTienDoHoSoMC request body"),
    SchemaSpec("lookup-request", DossierLookupRequest, "TraCuuHoSo request body"),
    SchemaSpec("lookup-response", DossierLookupResponse, "TraCuuHoSo response"),
    SchemaSpec("creation", DossierCreation, "Dossier creation body (token API)"),
    SchemaSpec("progress-updates", ProgressUpdate, "CapNhatTienTrinh body (token API)", True),
    SchemaSpec("status-updates", StatusUpdate, "CapNhatTrangThai body (token API)", True),
)
"""Every payload that gets a schema file."""


def _schema(spec: SchemaSpec, target: Target) -> dict[str, Any]:
    wire = wire_model(spec.model, target)
    if spec.many:
        body = TypeAdapter(list[wire]).json_schema(  # type: ignore[valid-type]
            by_alias=True, mode="serialization"
        )
    else:
        body = wire.model_json_schema(by_alias=True, mode="serialization")
    return body


def generate() -> dict[str, dict[str, Any]]:
    """Every schema file, by file name."""
    files: dict[str, dict[str, Any]] = {}
    for spec in SCHEMAS:
        per_target = {name: _schema(spec, target) for name, target in TARGETS.items()}
        bodies = list(per_target.values())
        if all(body == bodies[0] for body in bodies):
            files[f"{spec.stem}.schema.json"] = _document(spec, None, bodies[0])
        else:
            for name, body in per_target.items():
                files[f"{spec.stem}.{name}.schema.json"] = _document(spec, TARGETS[name], body)
    return files


def _document(spec: SchemaSpec, target: Target | None, body: dict[str, Any]) -> dict[str, Any]:
    where = f"the {target.name} target ({target.description})" if target else "every target"
    head: dict[str, Any] = {
        "$schema": _DIALECT,
        "title": f"{spec.title} ({target.name + ' target' if target else 'every target'})",
        "description": (
            f"{spec.title}: {'an array of ' if spec.many else ''}{spec.model.__name__} as written "
            f"for {where}. Generated from lgsp.dossiers by `python -m lgsp.dossiers.schemas "
            "--write`; do not edit."
        ),
    }
    body = dict(body)
    body.pop("title", None)
    body.pop("description", None)
    return head | body


def render(schema: dict[str, Any]) -> str:
    """A schema as written to its file: two-space indent, UTF-8 characters kept, final newline."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def stale_files(folder: Path, names: Sequence[str]) -> list[Path]:
    """Schema files in ``folder`` that no payload generates any more."""
    return sorted(p for p in folder.glob("*.schema.json") if p.name not in set(names))


def main(argv: list[str] | None = None) -> int:
    """``python -m lgsp.dossiers.schemas --write | --check [--dir DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m lgsp.dossiers.schemas",
        description="Generate the JSON Schemas of the dossier payloads from the models.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write the schema files")
    action.add_argument(
        "--check", action="store_true", help="exit 1 when the files differ from the models"
    )
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="the schema folder")
    args = parser.parse_args(argv)
    folder: Path = args.dir
    files = {name: render(schema) for name, schema in generate().items()}
    stale = stale_files(folder, list(files))
    if args.write:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = folder / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path}")  # noqa: T201 - a command-line tool
        for path in stale:
            path.unlink()
            print(f"removed {path}")  # noqa: T201
        return 0
    differ = [
        name
        for name, text in files.items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]
    for name in differ:
        print(f"out of date: {folder / name}", file=sys.stderr)  # noqa: T201
    for path in stale:
        print(f"not generated by any payload: {path}", file=sys.stderr)  # noqa: T201
    if differ or stale:
        print("run: python -m lgsp.dossiers.schemas --write", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
