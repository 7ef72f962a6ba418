"""``lgsp registry import`` and ``lgsp registry lookup``: output, formats and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgsp.cli import registry  # noqa: F401 - registers the group on the app
from lgsp.cli.app import app

runner = CliRunner()

ENVELOPE = {
    "status": "OK",
    "ErrorCode": "0",
    "ErrorDesc": "",
    "data": [
        {"id": 1, "pid": 0, "code": "000.00.00.H41", "name": "Ủy ban nhân dân tỉnh Nghệ An"},
        {"id": 2, "pid": 1, "code": "000.00.12.H41", "name": "Sở Thông tin và Truyền thông"},
        {
            "id": 3,
            "pid": 1,
            "code": "001.20.00.H41",
            "name": "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
            "oldCode": "H41.20.01",
            "code102": "001.20.00.H41",
        },
    ],
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data" / "registry.sqlite3"
    monkeypatch.setenv("LGSP_REGISTRY_DB", str(path))
    return path


@pytest.fixture
def loaded(db: Path, tmp_path: Path) -> Path:
    source = tmp_path / "getAgenciesList.json"
    source.write_text(json.dumps(ENVELOPE, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["registry", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "imported 3 agencies" in result.output
    return db


def test_import_then_lookup_by_name(loaded: Path) -> None:
    result = runner.invoke(app, ["registry", "lookup", "UBND xa Hoa Tien"])
    assert result.exit_code == 0
    assert (
        "001.20.00.H41  UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng" in result.output
    )
    assert "from " in result.output
    assert "(by name)" in result.output


def test_lookup_by_code_as_json(loaded: Path) -> None:
    result = runner.invoke(app, ["registry", "lookup", "000.00.12.H41", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["matched_by"] == "code"
    [entry] = data["entries"]
    assert entry["name"] == "Sở Thông tin và Truyền thông"
    assert entry["record"]["pid"] == "1"
    assert entry["stale"] is False


def test_nothing_found_is_exit_1(loaded: Path) -> None:
    result = runner.invoke(app, ["registry", "lookup", "Bộ Quốc phòng", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["entries"] == []
    assert runner.invoke(app, ["registry", "lookup", "Bộ Quốc phòng"]).exit_code == 1


def test_max_age_marks_stale(loaded: Path) -> None:
    result = runner.invoke(app, ["registry", "lookup", "nghe an", "--max-age", "0"])
    assert result.exit_code == 0
    assert "STALE" in result.output


def test_missing_cache_is_nothing_found(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["registry", "lookup", "ha noi", "--db", str(tmp_path / "none.sqlite3")]
    )
    assert result.exit_code == 1
    assert "no registry cache" in result.output
    assert not (tmp_path / "none.sqlite3").exists()


def test_csv_with_bom_and_explicit_db(tmp_path: Path) -> None:
    source = tmp_path / "linh-vuc.csv"
    source.write_bytes(
        "MALINHVUC,TENLINHVUC,MANGANH\nG03-GD10,Giáo dục trung học,G03\n".encode("utf-8-sig")
    )
    db = tmp_path / "explicit.sqlite3"
    result = runner.invoke(app, ["registry", "import", str(source), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "imported 1 fields" in result.output
    found = runner.invoke(app, ["registry", "lookup", "g03-gd10", "--db", str(db)])
    assert found.exit_code == 0
    assert "Giáo dục trung học" in found.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"status": "FAIL", "ErrorCode": "9", "ErrorDesc": "Sai chữ ký", "data": []}', "failure"),
        ('[{"code": "000.00.00.H41", "name": "x"},\n{"code": }]', ":2:"),
        ("code,name\n000.00.00.H41,A\n,B\n", ":3:"),
    ],
)
def test_unreadable_input_is_exit_2(db: Path, tmp_path: Path, content: str, fragment: str) -> None:
    suffix = ".csv" if content.startswith("code") else ".json"
    source = tmp_path / f"input{suffix}"
    source.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["registry", "import", str(source), "--kind", "agencies"])
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output
    as_json = runner.invoke(
        app, ["registry", "import", str(source), "--kind", "agencies", "--format", "json"]
    )
    assert as_json.exit_code == 2
    assert json.loads(as_json.output)["ok"] is False


def test_missing_file_and_missing_argument(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["registry", "import", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "No such file" in result.output
    result = runner.invoke(app, ["registry", "import"])
    assert result.exit_code == 2
    assert "FILE is required" in result.output


def test_empty_list_imports_nothing(db: Path) -> None:
    result = runner.invoke(app, ["registry", "import", "-", "--kind", "organs"], input="[]")
    assert result.exit_code == 1


def test_admin_units_from_the_package(db: Path) -> None:
    result = runner.invoke(app, ["registry", "import", "--kind", "admin-units", "--format", "json"])
    assert result.exit_code == 0, result.output
    imports = json.loads(result.output)["imports"]
    assert imports[0]["source"].startswith("vietnam-provinces")
    assert imports[1]["links"] == 63
    found = runner.invoke(app, ["registry", "lookup", "02", "--kind", "admin-units"])
    assert found.exit_code == 0
    assert "Tỉnh Hà Giang" in found.output
    assert "-> 08 Tuyên Quang (2025)" in found.output
    new = runner.invoke(app, ["registry", "lookup", "08", "--kind", "admin-units"])
    assert "<- 02 Tỉnh Hà Giang (legacy)" in new.output


def test_not_a_cache_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    path.write_text("not a database at all, just text " * 20)
    result = runner.invoke(app, ["registry", "lookup", "ha noi", "--db", str(path)])
    assert result.exit_code == 2
    assert "cannot read" in result.output
