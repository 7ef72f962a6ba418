"""The conformance reports: text, JSON, JUnit XML and self-contained HTML.

Each format renders a report with every outcome, evidence, Vietnamese text and hostile strings
(markup, ``&``, NUL and terminal escapes from a target's answers) and is read back: JSON and
JUnit parsed, HTML parsed by lxml and, in a real browser, by Chromium.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from lgsp.conformance.reports import FORMATS, render, to_json_data, write
from lgsp.conformance.results import CaseResult, Check, Evidence, Report
from lgsp.findings import Finding

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = '</pre><script>alert("x")</script> & <b>bold</b>\x00\x1b[31m'
VIETNAMESE = "Ủy ban nhân dân tỉnh Nghệ An: văn bản đã tồn tại"
STARTED = dt.datetime(2024, 5, 2, 1, 30, tzinfo=dt.UTC)


def make_report() -> Report:
    """An endpoint-like report: one result of each outcome, evidence with hostile bodies."""
    evidence = Evidence(
        step="1 send",
        operation="SendEdoc",
        method="POST",
        url="http://127.0.0.1:9/vxp/send",
        request_headers={"content-type": "application/xml", "secret": "***"},
        request_body=f"<Subject>{HOSTILE}</Subject>",
        status=409,
        response_headers={"content-type": "application/json"},
        response_body=json.dumps({"ErrorDesc": VIETNAMESE}, ensure_ascii=False),
        duration_ms=12.5,
        started_at=STARTED,
    )
    results = [
        CaseResult(
            id="vxp.send.basic",
            title="Gửi văn bản mới",
            purpose="A new document is accepted.",
            rules=["vxp.send"],
            area="documents",
            outcome="pass",
            checks=[Check(step="1 send", expectation="status 200", passed=True)],
            duration=0.05,
        ),
        CaseResult(
            id="vxp.send.duplicate",
            title=f"Duplicate send {HOSTILE}",
            purpose=VIETNAMESE,
            rules=["vxp.duplicate", "xml.schema"],
            area="documents",
            outcome="fail",
            message=f"step 1 send: expected 200, got 409 {HOSTILE}",
            checks=[Check(step="1 send", expectation="status 200", passed=False, detail=HOSTILE)],
            findings=[
                Finding(rule="xml.schema", severity="error", location="line 3", message=HOSTILE)
            ],
            evidence=[
                evidence,
                evidence.model_copy(
                    update={"step": "2 get", "status": None, "error": "TransportError: reset"}
                ),
            ],
            duration=0.25,
            facts={"doc_id": VIETNAMESE},
        ),
        CaseResult(
            id="platform.token.refresh",
            title="Token refresh",
            area="platform",
            outcome="skipped",
            message="needs a second party",
        ),
        CaseResult(
            id="dossiers.sync.transition",
            title="Illegal transition",
            area="dossiers",
            outcome="error",
            message="the kit failed: KeyError",
            duration=1.5,
        ),
    ]
    return Report(
        kind="endpoint",
        title="Endpoint conformance: vxp",
        target="http://127.0.0.1:9 (lgsp sandbox, started by the kit)",
        profile="vxp",
        lgsp_version="0.1.0",
        started_at=STARTED,
        finished_at=STARTED + dt.timedelta(seconds=2),
        results=results,
        settings={"cases": "all"},
    )


# text --------------------------------------------------------------------------------------------
def test_text_summarises_and_details_what_did_not_pass() -> None:
    text = render(make_report(), "text")
    lines = text.splitlines()
    assert lines[0] == "Endpoint conformance: vxp"
    assert "4 results: 1 pass, 1 fail, 1 error, 1 skipped: FAILED (2 of 4 did not pass)" in lines
    passing = [i for i, line in enumerate(lines) if line.startswith("PASS  vxp.send.basic")]
    assert len(passing) == 1
    assert lines[passing[0] + 1].startswith("FAIL  ")  # a passing result takes one line
    assert any("check [FAILED] 1 send: status 200" in line for line in lines)
    assert any(line.strip().startswith("error xml.schema line 3: ") for line in lines)
    assert any(
        "evidence 1 send: POST http://127.0.0.1:9/vxp/send -> 409 (12 ms)" in line for line in lines
    )
    assert any("-> no answer" in line and "TransportError: reset" in line for line in lines)
    assert "SKIP  platform.token.refresh" in text
    assert "ERROR dossiers.sync.transition" in text


def test_text_never_passes_control_characters_through() -> None:
    text = render(make_report(), "text")
    assert "\x00" not in text
    assert "\x1b" not in text
    assert "\\x00\\x1b[31m" in text
    assert all(ch == "\n" or ch >= " " for ch in text)


# json --------------------------------------------------------------------------------------------
def test_json_has_the_documented_shape() -> None:
    report = make_report()
    data = json.loads(render(report, "json"))
    assert data["format"] == "lgsp.conformance.report"
    assert data["version"] == 1
    assert data["counts"] == {"pass": 1, "fail": 1, "error": 1, "skipped": 1}
    assert data["ok"] is False
    assert data["exit_code"] == 2
    assert data["duration"] == 2.0
    assert set(data["results"][1]) == set(CaseResult.model_fields)
    assert data["results"][1]["evidence"][0]["response_body"] == json.dumps(
        {"ErrorDesc": VIETNAMESE}, ensure_ascii=False
    )
    # The report's own fields read back into the model.
    own = {k: v for k, v in data.items() if k in Report.model_fields}
    assert Report.model_validate(own) == report
    assert to_json_data(report)["counts"] == data["counts"]


# junit -------------------------------------------------------------------------------------------
def test_junit_parses_back_with_the_fields_ci_tools_read() -> None:
    xml = render(make_report(), "junit")
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    assert root.get("time") == "2.000"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {
        "Endpoint conformance: vxp: documents",
        "Endpoint conformance: vxp: platform",
        "Endpoint conformance: vxp: dossiers",
    }
    documents = suites["Endpoint conformance: vxp: documents"]
    assert (documents.get("tests"), documents.get("failures"), documents.get("time")) == (
        "2",
        "1",
        "0.300",
    )
    props = {p.get("name"): p.get("value") for p in documents.iter("property")}
    assert props["profile"] == "vxp"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {
        "vxp.send.basic",
        "vxp.send.duplicate",
        "platform.token.refresh",
        "dossiers.sync.transition",
    }
    assert cases["vxp.send.basic"].get("classname") == "lgsp.conformance.endpoint.documents"
    assert cases["vxp.send.basic"].get("time") == "0.050"
    assert cases["vxp.send.basic"].find("failure") is None
    failure = cases["vxp.send.duplicate"].find("failure")
    assert failure is not None
    assert failure.get("type") == "vxp.duplicate"
    assert "<script>" in (failure.get("message") or "")  # text, escaped by the serialiser
    assert "\\x00" in (failure.get("message") or "")
    error = cases["dossiers.sync.transition"].find("error")
    assert error is not None
    assert error.get("message") == "the kit failed: KeyError"
    skipped = cases["platform.token.refresh"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "needs a second party"
    out = cases["vxp.send.duplicate"].findtext("system-out") or ""
    assert "evidence 1 send: POST http://127.0.0.1:9/vxp/send -> 409" in out
    assert VIETNAMESE in out
    assert "> secret: ***" in out


# html --------------------------------------------------------------------------------------------
def test_html_is_self_contained_and_escapes_everything() -> None:
    page = render(make_report(), "html")
    doc = lxml.html.document_fromstring(page)
    assert doc.xpath("//script") == []
    assert "<script" not in page.lower()
    assert "\x00" not in page
    assert "\x1b" not in page
    # Nothing is fetched: no external stylesheet, image, frame or font.
    assert doc.xpath("//link | //img | //iframe | //object | //embed") == []
    assert not [v for v in doc.xpath("//@src | //@href") if not str(v).startswith("#")]
    assert "url(" not in page
    assert doc.xpath("//meta/@charset") == ["utf-8"]
    # The hostile text is shown as text, where it was put.
    text = doc.text_content()
    assert '</pre><script>alert("x")</script> & <b>bold</b>\\x00\\x1b[31m' in text
    assert doc.xpath("//b") == []
    assert VIETNAMESE in text
    # A semantic results table and one expandable section per case.
    table = doc.xpath("//table[contains(@class, 'summary')]")[0]
    assert [th.text_content() for th in table.xpath(".//thead//th")] == [
        "#",
        "Case",
        "Title",
        "Rules",
        "Outcome",
        "Duration",
    ]
    assert len(table.xpath("./tbody/tr")) == 4
    details = doc.xpath("//details[contains(@class, 'case')]")
    assert [d.get("id") for d in details] == ["case-1", "case-2", "case-3", "case-4"]
    # What did not pass is open; its exchanges show the request and response.
    assert details[0].get("open") is None
    assert details[1].get("open") is not None
    pres = [p.text_content() for p in details[1].xpath(".//pre")]
    assert any(p.startswith("POST http://127.0.0.1:9/vxp/send\ncontent-type:") for p in pres)
    assert any(p.startswith("HTTP 409") and VIETNAMESE in p for p in pres)
    header = doc.xpath("//header")[0].text_content()
    for expected in ("Endpoint conformance: vxp", "127.0.0.1:9", "vxp", "0.1.0", "2024-05-02"):
        assert expected in header


def test_html_filters_by_outcome_without_script() -> None:
    doc = lxml.html.document_fromstring(render(make_report(), "html"))
    radios = doc.xpath("//fieldset//input[@type='radio']")
    assert [r.get("value") for r in radios] == ["all", "problems", "pass", "skipped"]
    style = doc.xpath("//style")[0].text_content()
    assert "main:has(#show-problems:checked)" in style
    rows = doc.xpath("//table[contains(@class, 'summary')]/tbody/tr")
    assert [r.get("class") for r in rows] == ["o-pass", "o-fail", "o-skipped", "o-error"]


def test_html_in_a_real_browser(tmp_path: Path) -> None:
    """Chromium reads the page and builds the DOM with every case (CI installs it with
    ``apt-get install -y chromium``)."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Chromium is missing: install Debian's package with `apt-get install -y chromium` "
            f"(expected {CHROMIUM})",
            pytrace=False,
        )
    page = tmp_path / "report.html"
    write(make_report(), "html", page)
    with tempfile.TemporaryDirectory(prefix="lgsp-chromium-") as profile:
        done = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    dom = lxml.html.document_fromstring(done.stdout)
    assert dom.xpath("//script") == []
    ids = [c.text_content() for c in dom.xpath("//table[contains(@class, 'summary')]//code")]
    assert ids == [
        "vxp.send.basic",
        "vxp.send.duplicate",
        "platform.token.refresh",
        "dossiers.sync.transition",
    ]
    assert VIETNAMESE in dom.text_content()


# writing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_write_to_a_file_and_to_stdout(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = make_report()
    out = tmp_path / f"r.{fmt}"
    write(report, fmt, out)  # type: ignore[arg-type]
    assert out.read_text(encoding="utf-8") == render(report, fmt)  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left
    write(report, fmt, None)  # type: ignore[arg-type]
    assert capsys.readouterr().out == render(report, fmt)  # type: ignore[arg-type]


def test_write_into_a_missing_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write(make_report(), "text", tmp_path / "missing" / "r.txt")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="no report format 'pdf'"):
        render(make_report(), "pdf")  # type: ignore[arg-type]


def test_an_empty_report_renders_in_every_format() -> None:
    report = Report(kind="messages", title="Message conformance", started_at=STARTED)
    for fmt in FORMATS:
        assert render(report, fmt)
    assert "0 results" in render(report, "text")
    assert etree.fromstring(render(report, "junit").encode()).get("tests") == "0"
