"""``lgsp dossier sync`` (bulk DongBoHoSoMC from JSON or CSV) and ``lgsp registry sync``,
against the loopback portal and axis of test_cli_exchange."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _servers import refused_port
from test_cli_exchange import Platform, run, running, write_config
from test_dossiers_data import CODE, sync_item

CODES = [CODE.replace("0000123", f"{n:07d}") for n in range(1, 5)]


@pytest.fixture
def platform() -> Iterator[Platform]:
    with running(Platform()) as handler:
        yield handler


def item(n: int, **changes: Any) -> dict[str, Any]:
    """Dossier ``n`` (1–4) on the wire, strictly valid unless ``changes`` break it."""
    data: dict[str, Any] = sync_item(code=CODES[n - 1]).to_wire("classic")
    data.update(changes)
    return data


def write_inputs(folder: Path) -> None:
    """dossiers.json (three good dossiers, one with a date in the wrong form) and dossiers.csv
    (the same four as rows, list fields as JSON text) — the files docs/cli.md uses."""
    items = [item(1), item(2), item(3), item(4, NgayHenTra="2026-06-23")]
    (folder / "dossiers.json").write_text(json.dumps(items, ensure_ascii=False), "utf-8")
    (folder / "dossiers.csv").write_text(to_csv(items[:3]), "utf-8")
    (folder / "body.json").write_text(
        json.dumps({"session": "x", "madonvi": "y", "isUpdating": "True", "data": items[:1]}),
        "utf-8",
    )


def to_csv(items: list[dict[str, Any]]) -> str:
    columns = sorted({key for i in items for key in i})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for i in items:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                for k, v in i.items()
            }
        )
    return out.getvalue()


def sync(config: Path, *args: Any) -> tuple[int, dict[str, Any]]:
    result = run("dossier", "sync", *args, "--config", config, "--format", "json")
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


# dossier sync ------------------------------------------------------------------------------------
def test_json_list_accepted_and_refused_with_the_rule(platform: Platform, tmp_path: Path) -> None:
    write_inputs(tmp_path)
    config = write_config(tmp_path, platform.url)
    code, summary = sync(config, tmp_path / "dossiers.json")
    assert code == 1
    assert (summary["accepted"], summary["refused"], summary["not_sent"]) == (3, 1, 0)
    assert set(platform.portal.synced) == set(CODES[:3])
    bad = summary["items"][3]
    assert bad["source"] == f"{tmp_path / 'dossiers.json'}[3]" and bad["code"] == CODES[3]
    assert bad["accepted"] is False and bad["sent"] is False
    (finding,) = [f for f in bad["findings"] if f["severity"] == "error"]
    assert finding["rule"] == "dossier.date_format"
    assert finding["location"] == f"{tmp_path / 'dossiers.json'}[3].NgayHenTra"
    good = summary["items"][0]
    assert good["accepted"] and good["sent"] and good["batch"] == 1 and good["error"] is None
    assert platform.portal.calls[-1]["madonvi"] == "000.00.12.H49"
    assert platform.portal.calls[-1]["isUpdating"] in ("False", False)


def test_csv_rows_with_json_cells(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    rows = [item(1), item(2)]
    text = to_csv(rows)
    header, first, second = text.splitlines()
    broken = second.replace('[{""TepDinhKemId""', '[{TepDinhKemId""', 1)
    assert broken != second
    (tmp_path / "d.csv").write_text("\n".join([header, first, broken, ",,,"]) + "\n", "utf-8")
    code, summary = sync(config, tmp_path / "d.csv")
    assert code == 1
    assert [i["source"] for i in summary["items"]] == [f"{tmp_path / 'd.csv'}:{n}" for n in (2, 3)]
    assert summary["files"] == [
        {"path": str(tmp_path / "d.csv"), "format": "csv", "items": 2, "error": None}
    ]
    assert summary["items"][0]["accepted"]
    refused = summary["items"][1]
    assert refused["findings"][0]["rule"] == "dossier.input"
    assert refused["findings"][0]["location"].endswith("d.csv:3 TaiLieuNop")
    synced = platform.portal.synced[CODES[0]]
    assert synced["TaiLieuNop"][0]["TepDinhKemId"] == "f-1" and synced["TrangThaiHoSo"] == "10"


def test_portal_refusal_names_its_dossier(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    items = [item(1), item(2, MaTTHC="9.999999"), item(3)]
    (tmp_path / "d.json").write_text(json.dumps(items), "utf-8")
    code, summary = sync(config, tmp_path / "d.json", "--batch", "10")
    assert code == 1
    assert [i["accepted"] for i in summary["items"]] == [True, False, True]
    assert summary["items"][1]["error"] == {"code": "1", "message": "MaTTHC 9.999999 không tồn tại"}
    assert set(platform.portal.synced) == {CODES[0], CODES[2]}
    text = run("dossier", "sync", tmp_path / "d.json", "--config", config)
    assert text.exit_code == 1
    assert f"{CODES[1]}: REFUSED by the portal: MaTTHC 9.999999 không tồn tại (code 1)" in (
        text.stdout
    )
    assert "3 dossiers: 2 accepted, 1 refused" in text.stdout


def test_request_body_and_updating(platform: Platform, tmp_path: Path) -> None:
    write_inputs(tmp_path)
    config = write_config(tmp_path, platform.url)
    code, summary = sync(config, tmp_path / "body.json")
    assert code == 0 and summary["items"][0]["updating"] is True
    assert platform.portal.synced[CODES[0]]["isUpdating"] in ("True", True)
    (tmp_path / "one.json").write_text(json.dumps(item(2)), "utf-8")
    code, _ = sync(config, tmp_path / "one.json", "--updating")
    assert code == 0 and platform.portal.synced[CODES[1]]["isUpdating"] in ("True", True)


def test_text_output_lists_refusals_with_findings(platform: Platform, tmp_path: Path) -> None:
    write_inputs(tmp_path)
    config = write_config(tmp_path, platform.url)
    result = run("dossier", "sync", tmp_path / "dossiers.json", "--config", config)
    assert result.exit_code == 1
    assert f"dossiers.json[3] {CODES[3]}: REFUSED" in result.stdout
    assert "    error dossier.date_format NgayHenTra: NgayHenTra '2026-06-23'" in result.stdout
    assert "4 dossiers: 3 accepted, 1 refused" in result.stdout


def test_unreadable_file_and_duplicates(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    (tmp_path / "bad.json").write_text("[{", "utf-8")
    (tmp_path / "a.json").write_text(json.dumps([item(1)]), "utf-8")
    (tmp_path / "b.json").write_text(json.dumps([item(1)]), "utf-8")
    code, summary = sync(config, tmp_path / "bad.json", tmp_path / "a.json", tmp_path / "b.json")
    assert code == 2
    assert summary["files"][0]["error"].startswith("not JSON")
    first, twice = summary["items"]
    assert first["accepted"] and not twice["accepted"]
    (dup,) = [f for f in twice["findings"] if f["rule"] == "dossier.duplicate"]
    assert str(tmp_path / "a.json") + "[0]" in dup["message"]


def test_transport_failure_is_exit_3_and_one_line(tmp_path: Path) -> None:
    write_inputs(tmp_path)
    config = write_config(tmp_path, f"http://127.0.0.1:{refused_port()}")
    result = run("dossier", "sync", tmp_path / "dossiers.json", "--config", config)
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("lgsp: login (") and "safe to try again" in line
    assert "3 not sent" in result.stdout
    code, summary = sync(config, tmp_path / "dossiers.json")
    assert code == 3 and summary["not_sent"] == 3 and summary["error"] is not None


def test_dossier_sync_needs_a_dossiers_profile(tmp_path: Path) -> None:
    write_inputs(tmp_path)
    result = run("dossier", "sync", tmp_path / "dossiers.json")
    assert result.exit_code == 2 and "no dossiers profile" in result.stderr


# registry sync -----------------------------------------------------------------------------------
def test_registry_sync_fetches_and_counts(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    db = tmp_path / "registry.db"
    result = run("registry", "sync", "--cache", db, "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    counts = {k["kind"]: (k["fetched"], k["in_cache"]) for k in data["kinds"]}
    assert counts == {
        "agencies": (2, 2),
        "units": (1, 1),
        "procedures": (2, 2),
        "fields": (1, 1),
        "organs": (1, 1),
    }
    found = run("registry", "lookup", "nghe an", "--db", db, "--format", "json")
    assert found.exit_code == 0
    assert {e["code"] for e in json.loads(found.stdout)["entries"]} >= {"000.00.00.H41"}
    one = run("registry", "sync", "--what", "fields", "--db", db, "--config", config)
    assert one.exit_code == 0 and "fields: fetched 1 from portal LayDanhMucLinhVuc" in one.stdout


def test_registry_sync_failures(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    nothing = run("registry", "sync", "--cache", db)
    assert nothing.exit_code == 2 and "no profile to fetch from" in nothing.stderr
    config = write_config(tmp_path, f"http://127.0.0.1:{refused_port()}")
    down = run("registry", "sync", "--cache", db, "--config", config, "--format", "json")
    assert down.exit_code == 3
    data = json.loads(down.stdout)
    assert data["ok"] is False and "getAgenciesList" in data["kinds"][0]["error"]
    assert len(data["kinds"]) == 1  # stopped at the first transport failure
