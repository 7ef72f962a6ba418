"""The pytest plugin of the conformance kit, run the way a test team runs it: inside pytest.

Each test writes a small team suite into a pytester folder and runs pytest on it, in process
(the plugin is loaded from its entry point, as in any project with lgsp installed) or, where
what is loaded matters, in a fresh interpreter. Sandboxes are real, on loopback ports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lgsp.conformance.steps  # noqa: F401 - loaded once here, not re-imported by each inner run
from lgsp.conformance import PROFILES
from lgsp.sandbox import Sandbox, SandboxConfig

pytest_plugins = ["pytester"]

#: Options of every inner run: no cache folder, and no hypothesis plugin (re-imported by each
#: in-process run for its summary, it would double the time of these tests).
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

#: The plugin's page, whose marked block is a team's test module, run here as one.
DOC = Path(__file__).resolve().parents[1] / "docs" / "conformance-pytest.md"
DOC_BLOCK = re.compile(r"<!-- check: pytest-plugin -->\n```python\n(.*?)```", re.DOTALL)

#: Two shipped cases that pass against the sandbox; the second needs the receiver's party.
SEND, RECEIVED = "documents.send.valid", "documents.list.received"

TEAM_TESTS = """
import httpx

from lgsp import validate
from lgsp.dossiers import DossierStatus, validate_dossier
from lgsp.signatures import KeySigner, TrustSettings, sign_package, verify_package


def test_sandbox_answers(lgsp_sandbox, lgsp_sandbox_url):
    assert lgsp_sandbox.url == lgsp_sandbox_url
    assert httpx.get(lgsp_sandbox_url + "/health").json() == {"status": "ok"}


def test_packages_are_fresh_and_strictly_valid(lgsp_package_factory):
    first, second = lgsp_package_factory(), lgsp_package_factory.document(subject="V/v họp")
    assert first.header.document_id != second.header.document_id
    follow_ups = [f(first) for f in (lgsp_package_factory.revoke, lgsp_package_factory.update,
                                     lgsp_package_factory.replace)]
    made = [first, second, lgsp_package_factory.status(first, "05"), *follow_ups]
    numbers = [p.header.code.number for p in (first, second, *follow_ups)]
    assert len(set(numbers)) == len(numbers)
    for package in made:
        assert [f for f in validate(package) if f.severity == "error"] == []


def test_dossiers_are_fresh_and_valid(lgsp_dossier_factory):
    first, second = lgsp_dossier_factory(), lgsp_dossier_factory()
    assert first.code != second.code
    step = lgsp_dossier_factory.step(first, DossierStatus.PROCESSING)
    assert step.code == first.code
    for payload in (first, step):
        assert [f for f in validate_dossier(payload) if f.severity == "error"] == []


def test_signed_with_the_test_pki(lgsp_pki, lgsp_package_factory):
    trust = TrustSettings(anchors=[lgsp_pki.root.certificate], crls=lgsp_pki.crls())
    data = lgsp_package_factory.to_bytes(lgsp_package_factory())

    def signed_by(identity):
        signer = KeySigner(identity.key, identity.certificate, identity.chain)
        return verify_package(sign_package(data, signer), trust=trust)

    assert signed_by(lgsp_pki.signer()).trust.outcome == "passed"
    assert signed_by(lgsp_pki.expired()).trust.outcome == "failed"


def test_one_system_sends_the_other_receives(
    lgsp_client, lgsp_peer_client, lgsp_package_factory, lgsp_target
):
    assert lgsp_target.embedded  # no --lgsp-target: the plugin's own sandbox
    outcome = lgsp_client.documents.send(lgsp_package_factory())
    assert outcome.accepted, outcome.message
    assert outcome.doc_id in [item.doc_id for item in lgsp_peer_client.documents.received()]
"""


@pytest.fixture
def team(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester folder holding a team's ordinary test, with no lgsp option in the air."""
    monkeypatch.delenv("LGSP_TARGET", raising=False)
    pytester.makepyfile(test_team_own="def test_own_business():\n    assert 1 + 1 == 2\n")
    return pytester


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox started by the test, standing for the team's endpoint under test."""
    with Sandbox(SandboxConfig.demo()) as running:
        yield running


def _sender_only(sandbox: Sandbox, folder: Path) -> Path:
    """A --lgsp-settings file giving the sender's party only (the demo's system A)."""
    path = folder / "lgsp-parties.toml"
    path.write_text(
        f"""
[sender]
organ = "000.00.00.G22"
organ_name = "Văn phòng Chính phủ"

[sender.documents]
kind = "vxp"
endpoint = "{sandbox.url}/vxp"
system_id = "vxp.saas.03"
secret = "sandbox-secret-a"
""",
        encoding="utf-8",
    )
    return path


def test_the_plugin_is_inert_without_its_options(team: pytest.Pytester) -> None:
    # A fresh interpreter, so that what the plugin imports shows in sys.modules.
    team.makepyfile(
        test_loaded="""
        import sys

        def test_nothing_started():
            assert "lgsp.conformance.pytest_plugin" in sys.modules  # loaded, from the entry point
            assert "lgsp.sandbox" not in sys.modules
            assert "uvicorn" not in sys.modules
        """
    )
    result = team.runpytest_subprocess(*QUIET, "-v")
    result.assert_outcomes(passed=2)
    assert "lgsp[" not in result.stdout.str()
    assert "lgsp-conformance" not in result.stdout.str()


def test_p_no_lgsp_switches_it_off(team: pytest.Pytester) -> None:
    result = team.runpytest(*QUIET, "-p", "no:lgsp", "--lgsp-suite")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # the option is unknown without the plugin
    team.makepyfile(test_uses="def test_x(lgsp_sandbox_url):\n    pass\n")
    result = team.runpytest(*QUIET, "-p", "no:lgsp")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'lgsp_sandbox_url' not found*"])


def test_a_team_suite_uses_the_fixtures(team: pytest.Pytester) -> None:
    team.makepyfile(test_with_lgsp=TEAM_TESTS)
    result = team.runpytest(*QUIET)
    result.assert_outcomes(passed=6)
    assert "lgsp[" not in result.stdout.str()  # fixtures alone add no case items


def test_the_cases_run_as_items_against_a_target(team: pytest.Pytester, sandbox: Sandbox) -> None:
    report = team.path / "out" / "lgsp-report.json"
    result = team.runpytest(
        *QUIET, "-v",
        "--lgsp-target", sandbox.url,
        "--lgsp-profile", "vxp",
        "--lgsp-cases", f"{SEND},{RECEIVED}",
        "--lgsp-report", str(report),
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            f"lgsp-conformance::lgsp[[]{SEND}[]] PASSED*",
            f"lgsp-conformance::lgsp[[]{RECEIVED}[]] PASSED*",
            f"lgsp report (2 pass): {report}",
        ]
    )
    written = json.loads(report.read_text("utf-8"))
    assert written["kind"] == "endpoint"
    assert written["target"] == sandbox.url
    assert [(r["id"], r["outcome"]) for r in written["results"]] == [
        (SEND, "pass"),
        (RECEIVED, "pass"),
    ]
    assert written["results"][0]["evidence"], "each result carries its exchanges"


def test_k_and_m_choose_among_the_cases(team: pytest.Pytester) -> None:
    both = (*QUIET, "--collect-only", "-q", "--lgsp-suite", "--lgsp-cases")
    result = team.runpytest(*both, f"{SEND},{RECEIVED}", "-k", "list.received")
    result.stdout.fnmatch_lines([f"lgsp-conformance::lgsp[[]{RECEIVED}[]]", "1/3 tests*"])
    result = team.runpytest(*both, SEND, "-m", "lgsp(area='documents')")
    result.stdout.fnmatch_lines([f"lgsp-conformance::lgsp[[]{SEND}[]]", "1/2 tests*"])
    result = team.runpytest(*both, SEND, "-m", "not lgsp")
    assert "lgsp[" not in result.stdout.str()


def test_a_failing_case_fails_with_its_checks_and_evidence(
    team: pytest.Pytester, sandbox: Sandbox
) -> None:
    sandbox.state.faults.update(error_rate=1.0)  # every call answered 503
    result = team.runpytest(
        *QUIET, "--lgsp-target", sandbox.url, "--lgsp-cases", SEND
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*lgsp[[]{SEND}[]]*",
            f"{SEND}: * [[]fail[]]",
            "  purpose: *",
            "  why: step 1 send: *",
            "checks:",
            "  FAIL [[]1 send[]] *",
            "evidence:",
            f"  [[]1 send[]] POST {sandbox.url}/vxp/sendEdoc -> 503",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_case_needing_a_peer_is_skipped_when_none_is_given(
    team: pytest.Pytester, sandbox: Sandbox
) -> None:
    settings = _sender_only(sandbox, team.path)
    result = team.runpytest(
        *QUIET, "-rs",
        "--lgsp-target", sandbox.url,
        "--lgsp-settings", str(settings),
        "--lgsp-cases", f"{SEND},{RECEIVED}",
    )  # fmt: skip
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED * {RECEIVED}: needs a second party*"])


def test_a_team_test_is_parametrised_over_the_cases(team: pytest.Pytester) -> None:
    team.makepyfile(
        test_each_case="""
        def test_case_passes(lgsp_case, lgsp_run_case):
            result = lgsp_run_case(lgsp_case)
            assert result.outcome in ("pass", "skipped"), result.message
        """
    )
    report = team.path / "report.txt"
    result = team.runpytest(
        *QUIET, "-v",
        "--lgsp-cases", f"{SEND},{RECEIVED}",
        "--lgsp-report", str(report),
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [f"*test_case_passes[[]{SEND}[]] PASSED*", f"*test_case_passes[[]{RECEIVED}[]] PASSED*"]
    )
    assert SEND in report.read_text("utf-8") and RECEIVED in report.read_text("utf-8")


def test_extra_case_files_join_the_shipped_ones(team: pytest.Pytester, sandbox: Sandbox) -> None:
    team.makefile(
        ".toml",
        team_cases="""
        [[case]]
        id = "team.send.twice"
        title = "Two fresh packages are both accepted"
        purpose = "The endpoint takes one package after another from the same system."
        rules = ["vn-contracts §2.2 sendEdoc"]
        profiles = ["vxp"]

          [[case.step]]
          do = "send"
          expect = { accepted = true }

          [[case.step]]
          do = "send"
          expect = { accepted = true }
        """,
    )
    result = team.runpytest(
        *QUIET, "-v",
        "--lgsp-target", sandbox.url,
        "--lgsp-cases-file", "team_cases.toml",
        "--lgsp-cases", f"team,{SEND}",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*lgsp[[]team.send.twice[]] PASSED*"])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--lgsp-suite", "--lgsp-cases", "nothing.here"], "*--lgsp-cases 'nothing.here' match*"),
        (["--lgsp-suite", "--lgsp-report", "out.pdf"], "*--lgsp-report out.pdf: the extension*"),
        (["--lgsp-settings", "parties.toml"], "*--lgsp-settings needs --lgsp-target*"),
        (["--lgsp-target", "http://127.0.0.1:9", "--lgsp-settings", "no.toml"], "*no.toml*"),
    ],
)  # fmt: skip
def test_wrong_options_are_usage_errors(team: pytest.Pytester, args: list[str], said: str) -> None:
    result = team.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([said])


def test_help_lists_the_options_and_the_suites_profiles(team: pytest.Pytester) -> None:
    result = team.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["lgsp conformance kit:", f"*--lgsp-profile={{{','.join(PROFILES)}}}*"]
    )
    for option in ("--lgsp-target", "--lgsp-cases", "--lgsp-cases-file", "--lgsp-settings"):
        assert option in result.stdout.str()


def test_the_documented_team_tests_run(team: pytest.Pytester) -> None:
    blocks = DOC_BLOCK.findall(DOC.read_text("utf-8"))
    assert len(blocks) == 1
    team.makepyfile(test_from_the_docs=blocks[0])
    result = team.runpytest(*QUIET, "-v", "--lgsp-cases", SEND)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines([f"*test_each_selected_case[[]{SEND}[]] PASSED*"])


def test_a_report_that_cannot_be_written_fails_the_run(team: pytest.Pytester) -> None:
    (team.path / "taken").write_text("a file, not a folder", encoding="utf-8")
    result = team.runpytest(
        *QUIET, "--lgsp-suite", "--lgsp-cases", SEND, "--lgsp-report", "taken/r.json"
    )
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["lgsp report NOT written: taken/r.json: *"])


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """Every pytest run where lgsp is installed loads the plugin: it must not import the
    clients, pydantic or httpx until a case or fixture is asked for."""
    probe = (
        "import sys, lgsp.conformance.pytest_plugin\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lgsp', 'pydantic', 'httpx', 'lxml', 'zeep'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    assert loaded <= {
        "lgsp",
        "lgsp.conformance",
        "lgsp.conformance._names",
        "lgsp.conformance._pytest_kit",
        "lgsp.conformance.pytest_plugin",
    }, sorted(loaded)
