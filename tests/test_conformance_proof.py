"""The proof that the kit can fail: the suite passes in full against a clean sandbox, and
every fault knob and deliberate defect of the sandbox fails the cases named for it.

The whole proof runs here once (and again in CI through ``make conformance``); the other
tests show that the proof itself can fail: a fault that no named case catches, a defect
missing from the table, a broken table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgsp.cli import app
from lgsp.conformance import suite
from lgsp.conformance.proof import KNOBS, Fault, load_faults, run_proof, uncovered
from lgsp.errors import ConfigurationError
from lgsp.sandbox.faults import DEFECTS

ENV = {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": "150"}


def test_the_shipped_table_plays_every_knob_and_defect_on_cases_that_exist() -> None:
    faults = load_faults()
    assert uncovered(faults) == []
    assert {f.name for f in faults if f.kind == "knob"} == set(KNOBS)
    assert {f.name for f in faults if f.kind == "defect"} == set(DEFECTS)
    cases = suite.builtin_cases()
    for fault in faults:
        for profile in fault.profiles:
            chosen = suite.select(cases, ",".join(fault.cases), profile)  # raises if none
            assert chosen, (fault.label, profile)
    ids = [f"{f.kind}.{f.name}.{p}" for f in faults for p in f.profiles]
    assert len(ids) == len(set(ids))


def test_the_whole_proof_holds() -> None:
    report = run_proof()
    failed = [f"{r.id}: {r.message}" for r in report.results if not r.passed]
    assert failed == []
    assert report.kind == "proof"
    clean = [r for r in report.results if r.area == "clean"]
    assert [r.facts["profile"] for r in clean] == list(suite.PROFILES)
    for result in clean:  # the clean runs are the whole suite of their profile
        assert result.facts["cases"] == len(
            suite.select(suite.builtin_cases(), None, result.facts["profile"])
        )
        assert all(c.passed for c in result.checks)
    played = [r for r in report.results if r.area in ("knob", "defect")]
    assert len(played) == sum(len(f.profiles) for f in load_faults())
    for result in played:  # each fault failed every case named for it
        assert result.checks
        assert all(c.passed and c.detail.startswith("fail") for c in result.checks), result.id
        assert result.facts["caught_by"] == [c.step for c in result.checks]
    defects = {r.id.split(".")[2] for r in played if r.area == "defect"}
    assert defects == set(DEFECTS)


def test_a_fault_no_named_case_guards_against_is_reported_missed() -> None:
    # losing status packages cannot be seen by the directory case: the proof must say so
    blind = Fault("lose-status", "defect", ("vxp",), ("platform.directory.agencies",))
    report = run_proof(["vxp"], faults=[blind])
    result = report.results[-1]
    assert result.id == "proof.defect.lose-status.vxp"
    assert result.outcome == "fail"
    assert "not caught by platform.directory.agencies" in result.message
    assert report.results[0].id == "proof.coverage"
    assert report.results[0].outcome == "fail"  # the one-entry table covers almost nothing
    assert "knob latency" in report.results[0].message
    assert report.exit_code == 1


def test_a_table_without_a_defect_fails_the_coverage_check() -> None:
    faults = [f for f in load_faults() if f.name != "lose-status"]
    assert uncovered(faults) == ["defect lose-status"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[[fault]]\ndefect = "eat-packages"\nprofiles = ["vxp"]\ncases = ["x"]', "no defect"),
        (
            '[[fault]]\nknob = "mood"\nset = { mood = 1 }\nprofiles = ["vxp"]\ncases = ["x"]',
            "knob 'mood'",
        ),
        ('[[fault]]\ndefect = "lose-status"\nprofiles = ["fax"]\ncases = ["x"]', "profiles"),
        ('[[fault]]\ndefect = "lose-status"\nprofiles = ["vxp"]\ncases = []', "no cases"),
        (
            (
                '[[fault]]\ndefect = "lose-status"\nknob = "latency"\nprofiles = ["vxp"]\n'
                'cases = ["x"]'
            ),
            "one knob or one defect",
        ),
        (
            '[[fault]]\ndefect = "lose-status"\nprofiles = ["vxp"]\ncases = ["x"]\nwhen = 1',
            "unknown keys",
        ),
        (
            (
                '[[fault]]\ndefect = "lose-status"\nprofiles = ["vxp"]\ncases = ["x"]\n'
                "options = { patience = 1 }"
            ),
            "unknown kit options",
        ),
        ("[[fault]\n", "proof table"),
    ],
)
def test_a_broken_table_is_a_configuration_error(text: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(said)):
        load_faults(text)


def test_a_selector_matching_no_case_is_a_configuration_error() -> None:
    stray = Fault("lose-status", "defect", ("vxp",), ("documents.nowhere",))
    with pytest.raises(ConfigurationError, match=r"documents\.nowhere"):
        run_proof(["vxp"], faults=[stray])


def test_the_command_lists_the_table_and_writes_its_report(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["conformance", "proof", "--list"], env=ENV)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert {line.split("\t")[0] for line in lines} == (
        {f"knob {k}" for k in KNOBS} | {f"defect {d}" for d in DEFECTS}
    )
    out = tmp_path / "proof.json"
    ran = runner.invoke(
        app, ["conformance", "proof", "--profile", "portal-token", "--out", str(out)], env=ENV
    )
    assert ran.exit_code == 0, ran.output
    data = json.loads(out.read_text("utf-8"))
    assert data["kind"] == "proof"
    ids = [r["id"] for r in data["results"]]
    assert ids[:2] == ["proof.coverage", "proof.clean.portal-token"]
    assert "proof.defect.allow-illegal-transition.portal-token" in ids
    assert not any(i.endswith((".vxp", ".portal")) for i in ids)
    assert "caught proof.defect.accept-any-token.portal-token" in ran.output


def test_the_docs_show_every_fault_and_the_case_counts() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "conformance.md").read_text("utf-8")
    rows = set(re.findall(r"^\| `([a-z_-]+)`", page, re.MULTILINE))
    assert rows >= set(KNOBS) | set(DEFECTS)
    cases = suite.builtin_cases()
    counts = ", ".join(f"{p} {len(suite.select(cases, None, p))}" for p in suite.PROFILES)
    assert f"Counts per profile: {counts}." in page
    assert f"({len(cases)} cases;" in page
