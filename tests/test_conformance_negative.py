"""The negative corpus shipped in lgsp.conformance.negative: complete, genuine, and caught.

Every file must produce the findings its manifest entry names when lgsp checks it; none may make
the kit raise, hang or blow memory; the manifest and the folders must agree; the signed attacks
must really fool a careless verifier (else they prove nothing); and the shipped files must be
exactly what the generator makes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgsp.cli.app import app
from lgsp.conformance import negative
from lgsp.conformance.messages import check_message, known_rules
from lgsp.conformance.negative import NegativeItem, evaluate, parse_manifest
from lgsp.conformance.negative._generate import THEMES, build
from lgsp.conformance.negative._make_signed import FOOLS_NAIVE, LEGACY
from lgsp.conformance.negative._sigtools import naive_verify
from lgsp.errors import ConfigurationError
from lgsp.findings import Finding
from lgsp.signatures import verify_package

ITEMS = negative.items()
CORPUS = Path(str(negative.folder()))


def _ids(item: NegativeItem) -> str:
    return item.file


# the manifest -------------------------------------------------------------------------------------
def test_the_manifest_and_the_folders_list_the_same_files() -> None:
    on_disk = {f"{theme}/{path.name}" for theme in THEMES for path in (CORPUS / theme).iterdir()}
    listed = {item.file for item in ITEMS}
    assert sorted(on_disk - listed) == [], "files without a manifest entry"
    assert sorted(listed - on_disk) == [], "manifest entries without a file"
    stray = {p.name for p in CORPUS.iterdir() if p.is_dir() and p.name not in THEMES}
    assert stray <= {"__pycache__"}, f"folders outside the themes: {stray}"
    assert {item.theme for item in ITEMS} == set(THEMES)


def test_the_corpus_is_large_enough_and_each_theme_has_files() -> None:
    assert len(ITEMS) >= 40
    for theme in THEMES:
        assert len(negative.items(theme)) >= 5, theme


def test_every_rule_the_manifest_names_is_a_rule_lgsp_reports() -> None:
    rules = known_rules()
    for item in ITEMS:
        for rule in (*item.must_find, *item.must_not_find):
            assert rule in rules, f"{item.file}: {rule} is no rule of lgsp"


def test_a_bad_manifest_is_refused_with_the_item_named() -> None:
    good = 'file = "a/b.xml"\nkind = "document"\ndescription = "x"\nmust_find = ["xml.hostile"]\n'
    assert parse_manifest("[[item]]\n" + good)[0].file == "a/b.xml"
    cases = {
        "[[item]]\n" + good + "colour = 'red'\n": "colour",
        "[[item]]\n" + good.replace('["xml.hostile"]', "[]"): "must_find",
        "[[item]]\n" + good.replace("a/b.xml", "../b.xml"): "file",
        "[[item]]\n" + good.replace('"document"', '"letter"'): "kind",
        "[[item]]\n" + good + "[[item]]\n" + good: "twice",
        "[[other]]\n" + good: "[[item]] tables only",
        "[[item\n": "manifest.toml",
    }
    for text, said in cases.items():
        with pytest.raises(ConfigurationError, match=said.replace("[", r"\[")):
            parse_manifest(text)


# every file, through lgsp's own check -------------------------------------------------------------
@pytest.mark.parametrize("item", ITEMS, ids=_ids)
def test_each_file_produces_its_findings(item: NegativeItem) -> None:
    result = negative.check(item)
    if item.gap:
        # lgsp misses this file today, for the reason the manifest gives. When it catches it,
        # this fails: drop the manifest's gap line.
        assert result.outcome == "fail", f"{item.file} is caught now: remove its gap"
        return
    assert result.outcome == "pass", result.message
    assert result.rules == item.must_find


@pytest.mark.parametrize("item", negative.items("hostile-xml"), ids=_ids)
def test_hostile_files_are_findings_not_exceptions(item: NegativeItem) -> None:
    data = item.data()
    for profile in ("strict", "lenient"):
        for kind in (None, item.kind):  # told from the content, and named
            result = check_message(data, name=item.file, profile=profile, kind=kind)
            assert any(f.severity in ("error", "warning") for f in result.findings)
            # Refused outright under either profile, but for the XInclude: never processed,
            # it is an unknown element, which the lenient profile lets through as a warning.
            if profile == "strict" or "xml.hostile" in item.must_find:
                assert result.outcome == "fail", (profile, kind)


def test_every_file_finishes_in_bounded_memory(tmp_path: Path) -> None:
    """In a child process under a 3 GiB address-space cap (an expanded entity, an inflated
    bomb or a runaway recursion would break it), every file is checked — kind told from the
    content and kind named — and the peak resident memory stays modest."""
    script = tmp_path / "run.py"
    script.write_text(
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from lgsp.conformance import negative\n"
        "from lgsp.conformance.messages import check_message\n"
        "done = 0\n"
        "for item in negative.items():\n"
        "    data = item.data()\n"
        "    for kind in (None, item.kind):\n"
        "        check_message(data, name=item.file, kind=kind, target=item.target)\n"
        "    done += 1\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'done': done, 'peak_kib': peak}))\n",
        encoding="utf-8",
    )
    # The timeout only stops a hang from stalling the suite; it measures nothing.
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["done"] == len(ITEMS)
    assert outcome["peak_kib"] < 512 * 1024, f"peak {outcome['peak_kib']} KiB"


# the signed files are genuine attacks -------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FOOLS_NAIVE))
def test_wrapping_attacks_fool_a_careless_verifier_but_not_lgsp(name: str) -> None:
    data = (CORPUS / "signature-wrapping" / name).read_bytes()
    assert naive_verify(data), "the attack no longer works on a careless verifier"
    assert not verify_package(data, policy="interop").valid


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_files_are_valid_signatures_marked_legacy(name: str) -> None:
    result = verify_package((CORPUS / "signature-wrapping" / name).read_bytes(), policy="interop")
    assert result.valid
    assert result.legacy
    strict = verify_package((CORPUS / "signature-wrapping" / name).read_bytes(), policy="strict")
    assert not strict.valid


def test_the_broken_signatures_fail_even_a_careless_verifier() -> None:
    """The damaged signatures (not the wrapping attacks) are broken for anyone: a file that
    a careless verifier accepted would belong with the attacks."""
    for item in negative.items("signature-wrapping"):
        if item.name in FOOLS_NAIVE | LEGACY or item.name == "hmac-with-public-certificate.xml":
            continue
        assert not naive_verify(item.data()), item.file


# the generator ------------------------------------------------------------------------------------
def test_the_shipped_files_are_what_the_generator_makes() -> None:
    made = build()
    assert set(made) == {item.file for item in ITEMS}
    for relative, data in made.items():
        if relative.startswith("signature-wrapping/"):
            continue  # signed afresh on every run: new keys, same findings
        assert (CORPUS / relative).read_bytes() == data, f"{relative}: run the generator"


def test_remade_signed_files_produce_the_same_findings() -> None:
    made = build()
    for item in negative.items("signature-wrapping"):
        fresh = check_message(made[item.file], name=item.file, profile=item.profile, kind=item.kind)
        assert evaluate(item, fresh.findings).passed, item.file


def test_the_generator_writes_the_corpus_and_drops_stale_files(tmp_path: Path) -> None:
    from lgsp.conformance.negative import _generate

    stale = tmp_path / "malformed" / "old.xml"
    stale.parent.mkdir()
    stale.write_bytes(b"<old/>")
    assert _generate.main(tmp_path) == 0
    assert not stale.exists()
    written = {f"{p.parent.name}/{p.name}" for p in tmp_path.glob("*/*")}
    assert written == {item.file for item in ITEMS}


# evaluate: the test a team applies to its own validator ------------------------------------------
def _item(**fields: object) -> NegativeItem:
    base: dict[str, object] = {
        "file": "t/x.xml",
        "kind": "document",
        "description": "x",
        "must_find": ["xml.hostile"],
    }
    return NegativeItem.model_validate({**base, **fields})


def _finding(rule: str, severity: str = "error") -> Finding:
    return Finding.model_validate(
        {"rule": rule, "severity": severity, "location": "here", "message": "m"}
    )


def test_evaluate_takes_bare_rule_ids_as_errors() -> None:
    assert evaluate(_item(), ["xml.hostile"]).passed
    assert not evaluate(_item(), ["xml.wellformed"]).passed
    assert not evaluate(_item(), []).passed


def test_evaluate_wants_the_least_severity_and_ignores_info() -> None:
    assert not evaluate(_item(), [_finding("xml.hostile", "warning")]).passed
    warning = _item(severity="warning")
    assert evaluate(warning, [_finding("xml.hostile", "warning")]).passed
    assert evaluate(warning, [_finding("xml.hostile", "error")]).passed
    assert not evaluate(warning, [_finding("xml.hostile", "info")]).passed


def test_evaluate_fails_on_a_must_not_find_and_says_what_was_missing() -> None:
    item = _item(must_find=["signature.legacy"], must_not_find=["signature.valid"])
    assert evaluate(item, ["signature.legacy"]).passed
    assert evaluate(item, ["signature.legacy", _finding("signature.valid", "info")]).passed
    refused = evaluate(item, ["signature.legacy", "signature.valid"])
    assert not refused.passed
    assert "signature.valid is not reported" in refused.message
    missing = evaluate(_item(must_find=["a.b", "c.d"]), ["a.b"])
    assert [c.passed for c in missing.checks] == [True, False]
    assert "c.d" in missing.message


def test_run_reports_every_item() -> None:
    report = negative.run(negative.items("illegal-transitions"))
    assert len(report.results) == len(negative.items("illegal-transitions"))
    assert report.counts()["pass"] == len(report.results)
    assert report.ok


# the CLI over the whole folder --------------------------------------------------------------------
def test_lgsp_conformance_messages_over_the_corpus_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "120"})
    result = runner.invoke(
        app,
        ["conformance", "messages", str(CORPUS), "--report", "json", "--out", str(out)],
        prog_name="lgsp",
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    checked = {Path(r["id"]).relative_to(CORPUS).as_posix() for r in report["results"]}
    assert checked == {item.file for item in ITEMS}
    assert all(r["outcome"] in ("pass", "fail") for r in report["results"])  # none unreadable
