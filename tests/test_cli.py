"""Tests of the ``lgsp`` command line: validate, inspect, extract, demo, help and version.

Commands run in-process through typer's CliRunner over the official VXP sample kit and over
packages crafted here; one test runs ``python -m lgsp.cli`` in a real subprocess.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner, Result

import lgsp
from lgsp import DocumentPackage, read_package
from lgsp.cli import app
from lgsp.cli import demo as demo_module
from lgsp.documents import validate
from lgsp.findings import Finding

KIT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "edxml" / "vxp-sample-kit"
SRC = Path(__file__).resolve().parents[1] / "src"
KIT_SHA256 = "8385739ec4a4ed36d71eabcaead629641ffc5ffff3d487ff5c34d2f821c9f36e"

FILE_KEYS = {"path", "kind", "readable", "error", "findings", "errors", "warnings"}
ERROR_KEYS = {"type", "message", "line", "column"}
FINDING_KEYS = {"rule", "severity", "location", "message"}


@pytest.fixture(scope="module")
def kit() -> Path:
    """The official VXP sample kit; its absence is a failure, never a skip."""
    if not KIT.is_dir() or not (KIT / "edoc_update.edxml").is_file():
        pytest.fail(
            f"the VXP sample kit is missing: expected the edXML corpus at {KIT} "
            "(shared/corpus/edxml/vxp-sample-kit beside the repository)",
            pytrace=False,
        )
    return KIT


def run(*args: str | Path, stdin: bytes | None = None) -> Result:
    """Invoke the app in-process; an exception other than an exit is a test failure."""
    runner = CliRunner(env={"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": "100"})
    result = runner.invoke(app, [str(a) for a in args], input=stdin, prog_name="lgsp")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def run_json(*args: str | Path) -> tuple[int, Any]:
    result = run(*args)
    return result.exit_code, json.loads(result.stdout)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# crafted packages --------------------------------------------------------------------------------
EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def crafted_package(
    attachments: list[tuple[str, bytes]], content_ids: list[str] | None = None
) -> bytes:
    """A minimal edXML document package with raw (not zipped) Base64 attachments."""
    cids = content_ids or [f"att-{i}" for i in range(1, len(attachments) + 1)]
    items = "".join(
        f"<Attachment><ContentId>cid:{cids[i - 1]}</ContentId>"
        f"<AttachmentName>{name}</AttachmentName><ContentType>text/plain</ContentType>"
        f"<ContentTransferEncoded>{base64.b64encode(data).decode()}</ContentTransferEncoded>"
        "</Attachment>"
        for i, (name, data) in enumerate(attachments, 1)
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="{EDXML_NS}">'
        "<edXMLEnvelope><edXMLHeader><MessageHeader>"
        "<From><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></From>"
        "<To><OrganId>000.00.00.H41</OrganId><OrganName>UBND tỉnh Nghệ An</OrganName></To>"
        "<Subject>Gói thử tên tệp nguy hiểm</Subject>"
        "</MessageHeader></edXMLHeader></edXMLEnvelope>"
        f"<AttachmentEncoded>{items}</AttachmentEncoded></edXML>"
    )
    return xml.encode("utf-8")


# help and version --------------------------------------------------------------------------------
def test_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lgsp {lgsp.__version__}"


def test_help_names_every_command_and_the_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("validate", "inspect", "extract", "demo"):
        assert re.search(rf"^\s+{command}\s+\S", result.stdout, re.MULTILINE), command
    assert "Exit codes" in result.stdout
    assert re.search(r"^\s+2\s+a file cannot be read", result.stdout, re.MULTILINE)


@pytest.mark.parametrize("command", ["validate", "inspect", "extract", "demo"])
def test_each_command_help_gives_its_exit_codes(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Exit codes" in result.stdout
    assert re.search(r"^\s+0\s+\w", result.stdout, re.MULTILINE)
    assert re.search(r"^\s+1\s+\w", result.stdout, re.MULTILINE) or command == "inspect"


def test_validate_help_says_strict_is_the_default() -> None:
    result = run("validate", "--help")
    assert "'strict' (the default)" in " ".join(result.stdout.split())


# validate ----------------------------------------------------------------------------------------
def test_validate_lenient_update_exits_0(kit: Path) -> None:
    result = run("validate", "--profile", "lenient", kit / "edoc_update.edxml")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert "edoc_update.edxml" in first
    assert "document package" in first
    assert "OK" in first


def test_validate_text_has_one_line_per_finding(kit: Path) -> None:
    path = kit / "edoc.edxml"
    with read_package(path) as pkg:
        expected = validate(pkg, profile="strict")
    result = run("validate", path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "FAIL" in lines[0]
    assert len(lines) == 1 + len(expected)
    for line, finding in zip(lines[1:], expected, strict=True):
        assert line.strip() == (
            f"{finding.severity} {finding.rule} {finding.location}: {finding.message}"
        )


def test_validate_default_profile_is_strict(kit: Path) -> None:
    path = kit / "status_finish_06.edxml"
    strict = run("validate", path)
    lenient = run("validate", "--profile", "lenient", path)
    assert strict.exit_code == 1
    assert "error xml.schema" in strict.stdout
    assert lenient.exit_code == 0
    assert "warning xml.schema" in lenient.stdout


def test_validate_unreadable_file_exits_2_with_line_column_and_bytes(kit: Path) -> None:
    result = run("validate", kit / "edoc_new.edxml")
    assert result.exit_code == 2
    assert "line 1, column 1" in result.output
    assert "b'1212<?xml" in result.output
    assert "before the XML declaration" in result.output
    assert "Traceback" not in result.output


def test_validate_keeps_going_after_an_unreadable_file(kit: Path) -> None:
    result = run(
        "validate", "--profile", "lenient", kit / "edoc_new.edxml", kit / "edoc_update.edxml"
    )
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert "edoc_new.edxml" in lines[0]
    assert "UNREADABLE" in lines[0]
    update = next(line for line in lines if "edoc_update.edxml" in line)
    assert "OK" in update
    assert "2 files: 1 OK, 0 FAIL, 1 unreadable" in result.stdout


def test_validate_exit_code_is_the_worst_of_the_files(kit: Path) -> None:
    ok = kit / "edoc_replacement.edxml"
    failing = kit / "status_finish_06.edxml"
    assert run("validate", ok).exit_code == 0
    assert run("validate", ok, failing).exit_code == 1
    assert run("validate", failing, kit / "edoc_new.edxml", ok).exit_code == 2


def test_validate_json_has_the_documented_schema(kit: Path) -> None:
    names = ["edoc_update.edxml", "edoc_new.edxml", "edoc.edxml", "status_finish_06.edxml"]
    code, data = run_json("validate", "--format", "json", *(kit / n for n in names))
    assert code == 2
    assert set(data) == {"files", "ok"}
    assert data["ok"] is False
    assert [Path(f["path"]).name for f in data["files"]] == names
    for entry in data["files"]:
        assert set(entry) == FILE_KEYS
        for finding in entry["findings"]:
            assert set(finding) == FINDING_KEYS
            assert finding["severity"] in ("error", "warning", "info")
        severities = [f["severity"] for f in entry["findings"]]
        assert entry["errors"] == severities.count("error")
        assert entry["warnings"] == severities.count("warning")
    update, new, edoc, status = data["files"]
    assert (update["kind"], update["readable"], update["error"], update["errors"]) == (
        "document",
        True,
        None,
        0,
    )
    assert new["kind"] is None
    assert new["readable"] is False
    assert new["findings"] == []
    assert set(new["error"]) == ERROR_KEYS
    assert new["error"]["type"] == "XMLError"
    assert (new["error"]["line"], new["error"]["column"]) == (1, 1)
    assert "1212" in new["error"]["message"]
    assert edoc["kind"] == "document"
    assert edoc["errors"] > 0
    assert "business.missing" in {f["rule"] for f in edoc["findings"]}
    assert status["kind"] == "status"


def test_validate_json_ok_when_every_file_passes(kit: Path) -> None:
    code, data = run_json(
        "validate", "--profile", "lenient", "--format", "json", kit / "status_finish_06.edxml"
    )
    assert code == 0
    assert data["ok"] is True
    assert data["files"][0]["errors"] == 0


def test_severity_override_changes_or_drops_findings(kit: Path) -> None:
    path = kit / "status_finish_06.edxml"
    code, data = run_json("validate", "--format", "json", "--severity", "xml.schema=warning", path)
    assert code == 0
    schema = [f for f in data["files"][0]["findings"] if f["rule"] == "xml.schema"]
    assert schema
    assert {f["severity"] for f in schema} == {"warning"}
    code, data = run_json("validate", "--format", "json", "--severity", "xml=off", path)
    assert code == 0
    assert all(f["rule"] != "xml.schema" for f in data["files"][0]["findings"])


def test_severity_override_can_make_a_rule_an_error(kit: Path) -> None:
    path = kit / "edoc_update.edxml"
    assert run("validate", path).exit_code == 0
    result = run("validate", "--severity", "read.signature=error", path)
    assert result.exit_code == 1
    assert "error read.signature" in result.stdout


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-equals-sign", "RULE=LEVEL"),
        ("xml.schema=fatal", "level must be one of"),
        ("no.such.rule=off", "neither a rule nor a rule prefix"),
    ],
)
def test_bad_severity_is_a_usage_error(kit: Path, spec: str, message: str) -> None:
    result = run("validate", "--severity", spec, kit / "edoc_update.edxml")
    assert result.exit_code == 2
    assert message in result.output


def test_doctype_is_refused_with_exit_2(tmp_path: Path) -> None:
    hostile = tmp_path / "entities.edxml"
    hostile.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE edXML [<!ENTITY lol "lol">]>\n'
        f'<edXML xmlns="{EDXML_NS}">&lol;</edXML>\n'
    )
    result = run("validate", hostile)
    assert result.exit_code == 2
    assert "DOCTYPE" in result.stdout
    assert "HostileXMLError" in result.stdout
    code, data = run_json("validate", "--format", "json", hostile)
    assert code == 2
    assert data["files"][0]["error"]["type"] == "HostileXMLError"
    assert "DOCTYPE" in data["files"][0]["error"]["message"]
    assert data["files"][0]["error"]["line"] == 2


def test_missing_file_and_non_edxml_exit_2(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><root xmlns="urn:x"/>')
    code, data = run_json("validate", "--format", "json", tmp_path / "missing.edxml", other)
    assert code == 2
    missing, not_edxml = data["files"]
    assert missing["readable"] is False
    assert "No such file" in missing["error"]["message"]
    assert not_edxml["error"]["type"] == "PackageError"
    assert "root element" in not_edxml["error"]["message"]


def test_validate_reads_standard_input(kit: Path) -> None:
    data = (kit / "edoc_update.edxml").read_bytes()
    result = run("validate", "--profile", "lenient", "-", stdin=data)
    assert result.exit_code == 0
    assert "document package" in result.stdout


# inspect -----------------------------------------------------------------------------------------
def test_inspect_status_json_gives_code_06(kit: Path) -> None:
    code, data = run_json("inspect", "--format", "json", kit / "status_finish_06.edxml")
    assert code == 0
    assert data["kind"] == "status"
    assert data["readable"] is True
    assert data["header"]["code"] == "06"
    assert data["status"] == {"code": "06", "label": "Hoàn thành xử lý", "known": True}
    assert data["header"]["from"]["organ_id"] == "000.00.00.H41"
    assert data["header"]["response_for"]["document_id"] == (
        "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    )
    assert data["header"]["timestamp"] == "2015/09/20 11:08:36"


def test_inspect_document_json(kit: Path) -> None:
    code, data = run_json("inspect", "--format", "json", kit / "edoc_update.edxml")
    assert code == 0
    assert data["kind"] == "document"
    header = data["header"]
    assert header["from"]["organ_id"] == "000.00.00.G22"
    assert [t["organ_id"] for t in header["to"]] == [
        "000.00.00.H41",
        "000.00.00.H14",
        "000.00.00.G17",
    ]
    assert header["code"] == {"number": "7816", "notation": "VPCP-TTĐT"}
    assert header["subject"] == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert header["promulgation"] == {"place": "Hà Nội", "date": "2018/09/28"}
    assert header["document_type"]["type_name"] == "Công văn"
    assert data["business"]["kind"] == "update"
    assert data["business"]["reason"] == "Cập nhật văn bản điện tử"
    assert [t["organ_id"] for t in data["traces"]] == ["000.00.00.G22"]
    (att,) = data["attachments"]
    assert att["name"] == "1896_QD-TTg_m_294779.doc"
    assert att["content_type"] == "application/msword"
    assert att["wire_content_type"] == "application/zip"
    assert att["encoding"] == "zip"
    assert att["size"] == 388_347
    assert att["sha256"] == KIT_SHA256
    assert att["problem"] is None


def test_inspect_reports_an_undecodable_attachment(kit: Path) -> None:
    code, data = run_json("inspect", "--format", "json", kit / "edoc.edxml")
    assert code == 0
    (att,) = data["attachments"]
    assert att["problem"] is not None
    assert "Base64" in att["problem"]
    assert att["size"] is None
    assert att["sha256"] is None
    assert data["business"] is None


def test_inspect_text_shows_header_business_traces_attachments(kit: Path) -> None:
    result = run("inspect", kit / "edoc_update.edxml")
    assert result.exit_code == 0
    out = result.stdout
    for expected in (
        "document package (update)",
        "000.00.00.G22  Văn phòng Chính phủ",
        "7816 / VPCP-TTĐT",
        "V/v kết nối, liên thông phần mềm quản lý văn bản",
        "Hà Nội, 2018/09/28",
        "Cập nhật văn bản điện tử",
        "2018/09/28 00:00:00",
        "1896_QD-TTg_m_294779.doc",
        "application/zip",
        KIT_SHA256,
    ):
        assert expected in out, expected


def test_inspect_text_of_a_status(kit: Path) -> None:
    result = run("inspect", kit / "status_finish_06.edxml")
    assert result.exit_code == 0
    assert "status package" in result.stdout
    assert "06  Hoàn thành xử lý" in result.stdout


def test_inspect_writes_nothing(kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("inspect", kit / "edoc_replacement.edxml").exit_code == 0
    assert run("inspect", "--format", "json", kit / "edoc_replacement.edxml").exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_inspect_unreadable_exits_2(kit: Path) -> None:
    result = run("inspect", kit / "edoc_new.edxml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "line 1, column 1" in result.stderr
    assert "Traceback" not in result.output
    code, data = run_json("inspect", "--format", "json", kit / "edoc_new.edxml")
    assert code == 2
    assert data["readable"] is False
    assert data["error"]["type"] == "XMLError"


# extract -----------------------------------------------------------------------------------------
def test_extract_replacement_writes_one_file_matching_inspect(kit: Path, tmp_path: Path) -> None:
    path = kit / "edoc_replacement.edxml"
    _, inspected = run_json("inspect", "--format", "json", path)
    out = tmp_path / "out"
    result = run("extract", path, "--to", out)
    assert result.exit_code == 0, result.output
    files = list(out.iterdir())
    assert [f.name for f in files] == ["1896_QD-TTg_m_294779.doc"]
    digest = sha256_file(files[0])
    assert digest == inspected["attachments"][0]["sha256"]
    assert files[0].stat().st_size == inspected["attachments"][0]["size"]
    assert digest in result.stdout
    assert "388347 bytes" in result.stdout


def test_extract_json_lists_what_was_written(kit: Path, tmp_path: Path) -> None:
    code, data = run_json(
        "extract", kit / "edoc_update.edxml", "--to", tmp_path, "--format", "json"
    )
    assert code == 0
    assert data["ok"] is True
    (item,) = data["written"]
    assert item["sha256"] == KIT_SHA256 == sha256_file(Path(item["path"]))
    assert data["skipped"] == []


def test_extract_never_overwrites(kit: Path, tmp_path: Path) -> None:
    existing = tmp_path / "1896_QD-TTg_m_294779.doc"
    existing.write_bytes(b"keep me")
    result = run("extract", kit / "edoc_update.edxml", "--to", tmp_path)
    assert result.exit_code == 0
    assert existing.read_bytes() == b"keep me"
    assert sha256_file(tmp_path / "1896_QD-TTg_m_294779 (2).doc") == KIT_SHA256


def test_extract_hostile_names_stay_inside_the_folder(tmp_path: Path) -> None:
    package = tmp_path / "evil.edxml"
    package.write_bytes(
        crafted_package(
            [
                ("../../evil.txt", b"first"),
                ("..\\..\\evil.txt", b"second"),
                ("/tmp/absolute.txt", b"third"),
                ("..", b"fourth"),
            ]
        )
    )
    out = tmp_path / "a" / "b" / "out"
    result = run("extract", package, "--to", out)
    assert result.exit_code == 0, result.output
    written = {
        p.relative_to(tmp_path).as_posix(): p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file()
    }
    assert written == {
        "evil.edxml": package.read_bytes(),
        "a/b/out/evil.txt": b"first",
        "a/b/out/evil (2).txt": b"second",
        "a/b/out/absolute.txt": b"third",
        "a/b/out/att-4": b"fourth",
    }
    assert not Path("/tmp/absolute.txt").exists() or (
        Path("/tmp/absolute.txt").read_bytes() != b"third"
    )


def test_extract_hostile_content_id_of_a_nameless_attachment(tmp_path: Path) -> None:
    # An unusable AttachmentName falls back on the ContentId, which is hostile too.
    package = tmp_path / "evil.edxml"
    package.write_bytes(crafted_package([("..", b"payload")], content_ids=["../../pwn.txt"]))
    out = tmp_path / "a" / "b" / "out"
    result = run("extract", package, "--to", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["pwn.txt"]
    assert (out / "pwn.txt").read_bytes() == b"payload"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.txt")) == [
        "a/b/out/pwn.txt"
    ]


def test_extract_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    package = tmp_path / "evil.edxml"
    package.write_bytes(crafted_package([("evil.txt", b"payload")]))
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"original")
    out = tmp_path / "out"
    out.mkdir()
    (out / "evil.txt").symlink_to(outside)
    result = run("extract", package, "--to", out)
    assert result.exit_code == 0
    assert outside.read_bytes() == b"original"
    assert (out / "evil (2).txt").read_bytes() == b"payload"


def test_extract_skips_an_undecodable_attachment_with_exit_1(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("extract", kit / "edoc.edxml", "--to", out)
    assert result.exit_code == 1
    assert "skipped GUIDE_INSTALL OPENVPN.SIGNED.PDF" in result.stdout
    assert "Base64" in result.stdout
    assert not out.exists() or list(out.iterdir()) == []


def test_extract_unreadable_and_status(kit: Path, tmp_path: Path) -> None:
    result = run("extract", kit / "edoc_new.edxml", "--to", tmp_path / "out")
    assert result.exit_code == 2
    assert "line 1, column 1" in result.stderr
    assert not (tmp_path / "out").exists()
    result = run("extract", kit / "status_inbox_01.edxml", "--to", tmp_path / "out")
    assert result.exit_code == 0
    assert "no attachments" in result.stdout


def test_extract_into_an_impossible_folder_exits_2(kit: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a folder")
    result = run("extract", kit / "edoc_update.edxml", "--to", blocker / "sub")
    assert result.exit_code == 2
    assert "cannot create the folder" in result.stderr
    assert "Traceback" not in result.output
    assert blocker.read_bytes() == b"not a folder"


# demo --------------------------------------------------------------------------------------------
def test_demo_plays_the_platform_against_a_sandbox() -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output
    assert "Result: OK" in result.stdout
    assert "FAIL" not in result.stdout
    steps = re.findall(r"^\s*\d+\. .*\bok\b", result.stdout, re.MULTILINE)
    assert len(steps) == 14
    for expected in ("01 Đã đến → 03", "revokes 000.00.00.G22", "2 → 4 → 9 → 10", "10 → 4 refused"):
        assert expected in result.stdout


def test_demo_package_exits_0() -> None:
    result = run("demo", "--package")
    assert result.exit_code == 0, result.output
    assert "Result: OK" in result.stdout
    assert "FAIL" not in result.stdout
    assert len(re.findall(r"^\s*\d\. .*PASS", result.stdout, re.MULTILINE)) == 7


def test_demo_keep_leaves_a_valid_package(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    result = run("demo", "--package", "--keep", keep)
    assert result.exit_code == 0, result.output
    package = keep / demo_module.PACKAGE_NAME
    with read_package(package) as pkg:
        assert isinstance(pkg, DocumentPackage)
        assert validate(pkg, profile="strict") == []
        assert pkg.header.from_.organ_id == "000.00.00.H41"
        assert [o.organ_id for o in pkg.header.to] == ["000.00.00.G22"]
        by_name = {a.name: a.sha256 for a in pkg.attachments}
    assert by_name == {
        name: sha256_file(keep / "source" / name)
        for name in (demo_module.PDF_NAME, demo_module.DOCX_NAME)
    }
    for name, digest in by_name.items():
        assert sha256_file(keep / "extracted" / name) == digest


def test_demo_reports_a_failing_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_validate(pkg: object, **_: object) -> list[Finding]:
        return [Finding(rule="xml.schema", severity="error", location="line 1", message="boom")]

    monkeypatch.setattr(demo_module, "validate", failing_validate)
    result = run("demo", "--package")
    assert result.exit_code == 1
    assert re.search(r"Validate\s+FAIL.*boom", result.stdout)
    assert "Result: FAILED" in result.stdout
    assert "Traceback" not in result.output


def test_demo_pdf_is_a_valid_one_page_pdf() -> None:
    pdf = demo_module.make_pdf(["Công văn số 1234/UBND-KGVX", "(a) back\\slash"])
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf)[1])  # type: ignore[index]
    assert pdf[startxref:].startswith(b"xref\n0 6\n")
    entries = pdf[startxref:].split(b"\n")[2:8]
    assert entries[0] == b"0000000000 65535 f "
    for number, entry in enumerate(entries[1:], 1):
        assert len(entry) + 1 == 20  # each xref entry is exactly 20 bytes with its EOL
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)
    assert b"/Count 1" in pdf
    length = int(re.search(rb"/Length (\d+) >>\nstream\n", pdf)[1])  # type: ignore[index]
    start = pdf.index(b"stream\n") + len(b"stream\n")
    assert pdf[start + length : start + length + len(b"\nendstream")] == b"\nendstream"
    assert b"(Cong van so 1234/UBND-KGVX) Tj" in pdf
    assert b"(\\(a\\) back\\\\slash) Tj" in pdf


def test_demo_docx_is_a_word_package() -> None:
    data = demo_module.make_docx(["Phụ lục <1> & kế hoạch"])
    assert data == demo_module.make_docx(["Phụ lục <1> & kế hoạch"])
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["[Content_Types].xml", "_rels/.rels", "word/document.xml"]
        types = etree.fromstring(archive.read("[Content_Types].xml"))
        rels = etree.fromstring(archive.read("_rels/.rels"))
        document = etree.fromstring(archive.read("word/document.xml"))
    assert any(o.get("PartName") == "/word/document.xml" for o in types)
    assert rels[0].get("Target") == "word/document.xml"
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    assert [t.text for t in document.iter(f"{w}t")] == ["Phụ lục <1> & kế hoạch"]


# a real process ----------------------------------------------------------------------------------
def test_python_m_lgsp_cli_in_a_subprocess(kit: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "lgsp.cli",
            "validate",
            "--profile",
            "lenient",
            str(kit / "edoc_update.edxml"),
        ],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"OK" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "lgsp.cli", "inspect", str(kit / "edoc_new.edxml")],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert b"Traceback" not in bad.stderr
    assert b"line 1, column 1" in bad.stderr
    version = subprocess.run(
        [sys.executable, "-m", "lgsp.cli", "--version"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert version.returncode == 0
    assert version.stdout.decode().strip() == f"lgsp {lgsp.__version__}"
