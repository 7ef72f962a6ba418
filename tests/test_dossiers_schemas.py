"""The JSON Schemas of the dossier payloads: the committed files are what the models generate,
and what lgsp writes for a target conforms to that target's schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lgsp.dossiers import TARGETS, ApplicantKind, WireModel
from lgsp.dossiers.schemas import SCHEMA_DIR, SCHEMAS, generate, main, render
from test_dossiers_data import PAYLOAD_BUILDERS, creation

SRC = Path(__file__).resolve().parents[1] / "src"
GENERATED = generate()


def test_the_schema_folder_is_the_packaged_one() -> None:
    assert SRC / "lgsp" / "schemas" / "json" == SCHEMA_DIR


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_committed_schema_matches_the_models(name: str) -> None:
    path = SCHEMA_DIR / name
    assert path.is_file(), f"{name} is missing: run python -m lgsp.dossiers.schemas --write"
    assert path.read_text(encoding="utf-8") == render(GENERATED[name]), (
        f"{name} differs from the models: run python -m lgsp.dossiers.schemas --write"
    )


def test_no_stale_schema_files() -> None:
    on_disk = {p.name for p in SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk == set(GENERATED)
    assert (SCHEMA_DIR / "README.md").is_file()


def test_one_file_per_payload_and_target_where_they_differ() -> None:
    for spec in SCHEMAS:
        shared = f"{spec.stem}.schema.json"
        per_target = {f"{spec.stem}.{t}.schema.json" for t in TARGETS}
        assert (shared in GENERATED) != (per_target <= set(GENERATED)), spec.stem
    assert "lookup-request.schema.json" in GENERATED  # text only: the same for both targets
    assert "sync-item.classic.schema.json" in GENERATED


def test_check_and_write_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().err
    (tmp_path / "old.schema.json").write_text("{}", encoding="utf-8")
    assert main(["--write", "--dir", str(tmp_path)]) == 0
    assert not (tmp_path / "old.schema.json").exists()
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "lgsp.dossiers.schemas", "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr


# --- what lgsp writes conforms to its schema ---------------------------------------------------


def conforms(
    value: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$"
) -> list[str]:
    """The keywords the generated schemas use: $ref, type, properties, required, items, enum,
    const, pattern, additionalProperties (always true here)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return conforms(value, root["$defs"][name], root, where)
    problems: list[str] = []
    kind = schema.get("type")
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "boolean": bool,
        "number": (int, float),
    }
    if kind is not None and (
        not isinstance(value, types[kind]) or (kind == "integer" and isinstance(value, bool))
    ):
        return [f"{where}: {value!r} is not {kind}"]
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if kind == "object":
        problems += [
            f"{where}: {key} is missing" for key in schema.get("required", []) if key not in value
        ]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += conforms(value[key], sub, root, f"{where}.{key}")
    if kind == "array":
        for i, item in enumerate(value):
            problems += conforms(item, schema["items"], root, f"{where}[{i}]")
    return problems


def _schema_for(stem: str, target: str) -> dict[str, Any]:
    name = f"{stem}.{target}.schema.json"
    if name not in GENERATED:
        name = f"{stem}.schema.json"
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


_STEMS = {
    "sync-item": "sync-item",
    "sync-request": "sync-request",
    "progress-item": "progress-item",
    "progress-request": "progress-request",
    "lookup-request": "lookup-request",
    "lookup-response": "lookup-response",
    "creation": "creation",
    "progress-update": "progress-updates",
    "status-update": "status-updates",
}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize(("name", "build", "native"), PAYLOAD_BUILDERS)
def test_what_lgsp_writes_conforms_to_the_schema(
    name: str, build: Any, native: str, target: str
) -> None:
    payload: WireModel = build()
    if target == "classic" and name == "creation":
        payload = creation(applicant_kind=ApplicantKind.BUSINESS)
        assert payload.submitter is not None
        payload.submitter.applicant_kind = ApplicantKind.BUSINESS
    stem = _STEMS[name]
    wire: Any = payload.to_wire(target)
    if stem in {"progress-updates", "status-updates"}:
        wire = [wire]  # these bodies are arrays of the item
    schema = _schema_for(stem, target)
    assert conforms(wire, schema, schema) == []


def test_the_schema_refuses_the_other_targets_forms() -> None:
    schema = _schema_for("sync-item", "classic")
    token_form = PAYLOAD_BUILDERS[0][1]().to_wire("token")
    problems = conforms(token_form, schema, schema)
    assert any("NgayTiepNhan" in p and "does not match" in p for p in problems)
    assert any("TrangThaiHoSo" in p and "is not string" in p for p in problems)
    assert any("LoaiDoiTuong" in p for p in problems)
