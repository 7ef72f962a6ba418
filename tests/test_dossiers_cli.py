"""``lgsp dossier validate``, in-process through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from lgsp.cli import dossier  # noqa: F401 - registers the dossier group
from lgsp.cli.app import app
from lgsp.dossiers import DEFAULT_TRANSITIONS, DossierStatus
from test_dossiers_data import (
    creation,
    progress_item,
    progress_request,
    progress_update,
    sync_item,
    sync_request,
)

FILE_KEYS = {"path", "kind", "readable", "error", "findings", "errors", "warnings"}


def run(*args: str | Path, stdin: bytes | None = None) -> Result:
    runner = CliRunner(env={"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": "100"})
    result = runner.invoke(app, [str(a) for a in args], input=stdin, prog_name="lgsp")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def run_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = run(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def test_an_item_an_array_and_a_body_are_told_apart(tmp_path: Path) -> None:
    item = write(tmp_path, "item.json", sync_item().to_wire("classic"))
    array = write(tmp_path, "array.json", [sync_item().to_wire("classic")])
    body = write(tmp_path, "body.json", sync_request().to_wire("classic"))
    result = run("dossier", "validate", item, array, body)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == f"{item}: sync-item, target classic, profile strict: OK (0 errors, 0 warnings, 0 info)"
    )
    assert lines[1].startswith(f"{array}: array of sync-item, target classic")
    assert lines[2].startswith(f"{body}: sync-request, target classic")
    assert lines[3] == "3 files: 3 OK, 0 FAIL, 0 unreadable"


def test_error_findings_exit_1_and_are_listed(tmp_path: Path) -> None:
    wire = sync_item().to_wire("classic") | {"MaHoSo": "HS-1", "NgayHenTra": "2026-06-23 17:00:00"}
    path = write(tmp_path, "bad.json", wire)
    result = run("dossier", "validate", path)
    assert result.exit_code == 1
    assert "FAIL (2 errors, 0 warnings, 0 info)" in result.stdout
    assert "error dossier.code MaHoSo: 'HS-1' breaks rule dossier.format" in result.stdout
    assert "error dossier.date_format NgayHenTra: NgayHenTra '2026-06-23 17:00:00'" in result.stdout
    # Lenient: warnings only, exit 0.
    lenient = run("dossier", "validate", path, "--profile", "lenient")
    assert lenient.exit_code == 0
    assert "OK (0 errors, 2 warnings, 0 info)" in lenient.stdout


def test_the_target_decides_the_forms(tmp_path: Path) -> None:
    token = write(tmp_path, "token.json", creation().to_wire("token"))
    assert run("dossier", "validate", token, "--target", "token").exit_code == 0
    code, data = run_json("dossier", "validate", token, "--target", "classic")
    assert code == 1
    rules = {f["rule"] for f in data["files"][0]["findings"]}
    assert {
        "dossier.date_format",
        "dossier.wire_type",
    } <= rules  # LoaiDoiTuong 2 reads as a business
    steps = write(tmp_path, "steps.json", [progress_update().to_wire("token")])
    code, data = run_json("dossier", "validate", steps, "--target", "token")
    assert (code, data["files"][0]["kind"]) == (0, "array of progress-update")


def test_json_output(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", sync_item().to_wire("classic"))
    bad = write(tmp_path, "bad.json", sync_item().to_wire("classic") | {"Email": "x@"})
    code, data = run_json("dossier", "validate", good, bad)
    assert code == 0  # dossier.contact is a warning under strict
    assert data["target"] == "classic"
    assert data["profile"] == "strict"
    assert data["ok"] is True
    assert set(data["files"][0]) == FILE_KEYS
    assert data["files"][1]["findings"] == [
        {
            "rule": "dossier.contact",
            "severity": "warning",
            "location": "Email",
            "message": "'x@' is no e-mail address",
        }
    ]


@pytest.mark.parametrize(
    ("content", "line", "column", "kind"),
    [
        (b'{\n  "MaHoSo": "x",\n}\n', 3, 1, "JSONDecodeError"),
        (b'[{"MaHoSo": "x"}', 1, 17, "JSONDecodeError"),
        (b"", 1, 1, "JSONDecodeError"),
        (b'{"MaHoSo": "\xff"}', None, None, "UnicodeDecodeError"),
    ],
)
def test_malformed_json_is_unreadable_with_line_and_column(
    tmp_path: Path, content: bytes, line: int | None, column: int | None, kind: str
) -> None:
    path = write(tmp_path, "broken.json", content)
    good = write(tmp_path, "good.json", sync_item().to_wire("classic"))
    code, data = run_json("dossier", "validate", path, good)
    assert code == 2
    error = data["files"][0]["error"]
    assert (error["type"], error["line"], error["column"]) == (kind, line, column)
    assert data["files"][1]["readable"] is True  # the other file is still checked
    text = run("dossier", "validate", path)
    assert text.exit_code == 2
    assert f"{path}: UNREADABLE - {kind}" in text.stdout
    if line is not None:
        assert f"at line {line}, column {column}" in text.stdout
    assert "Traceback" not in text.output


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    text = json.dumps(sync_item().to_wire("classic"), ensure_ascii=False)
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert run("dossier", "validate", path).exit_code == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hello": "world"}, "DossierError: no dossier payload has these keys (hello)"),
        ([1, 2, 3], "an array of no objects is not a dossier payload"),
        ("MaHoSo", "a JSON string is not a dossier payload"),
    ],
)
def test_json_that_is_no_payload_is_unreadable(tmp_path: Path, data: Any, message: str) -> None:
    path = write(tmp_path, "other.json", data)
    result = run("dossier", "validate", path)
    assert result.exit_code == 2
    assert message in result.stdout


def test_missing_file_and_standard_input(tmp_path: Path) -> None:
    result = run("dossier", "validate", tmp_path / "nowhere.json")
    assert result.exit_code == 2
    assert "UNREADABLE - FileNotFoundError" in result.stdout
    stdin = json.dumps(sync_item().to_wire("classic")).encode()
    piped = run("dossier", "validate", "-", stdin=stdin)
    assert piped.exit_code == 0
    assert piped.stdout.startswith("-: sync-item")


def test_kind_names_what_cannot_be_told(tmp_path: Path) -> None:
    path = write(tmp_path, "status.json", {"MaHoSo": "G09.20-20260609-0092637", "IdHoSo": "1"})
    assert run("dossier", "validate", path, "--target", "token").exit_code == 2
    result = run("dossier", "validate", path, "--target", "token", "--kind", "status-update")
    assert result.exit_code == 1
    assert "error dossier.required TrangThai: TrangThai is missing" in result.stdout
    wrong = run("dossier", "validate", path, "--kind", "dossier")
    assert wrong.exit_code == 2
    assert "'dossier' is not one of sync-item" in wrong.output


def test_a_transition_table_from_a_file(tmp_path: Path) -> None:
    steps = [
        progress_item(status=DossierStatus.RECEIVED),
        progress_item(status=DossierStatus.PROCESSED, handled_at=progress_item().handled_at),
    ]
    body = write(tmp_path, "progress.json", progress_request(data=steps).to_wire("classic"))
    assert run("dossier", "validate", body).exit_code == 0
    table = DEFAULT_TRANSITIONS.to_dict()
    table["transitions"]["2"] = [4]
    path = write(tmp_path, "table.json", table)
    result = run("dossier", "validate", body, "--transitions", path)
    assert result.exit_code == 1
    assert "dossier.transition data[1]" in result.stdout
    assert "2 (Được tiếp nhận) cannot be followed by 9 (Đã xử lý xong)" in result.stdout
    broken = write(tmp_path, "broken.json", {"initial": []})
    refused = run("dossier", "validate", body, "--transitions", broken)
    assert refused.exit_code == 2
    assert "--transitions" in refused.output
    assert "needs 'transitions'" in refused.output


def test_help_names_the_exit_codes() -> None:
    result = run("dossier", "validate", "--help")
    assert result.exit_code == 0
    assert "--target" in result.stdout
    assert "Exit codes:" in result.stdout
    group = run("dossier", "--help")
    assert "validate" in group.stdout
    assert run("dossier").exit_code in {0, 2}  # no_args_is_help
