"""The dossier cases of the endpoint suite (cases/dossiers.toml): sync, progress, lookup, the
catalogue and the token portal's steps pass against the sandbox; the list of illegal moves is
exactly the status table's; the sandbox's defects make the named cases fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import lgsp.conformance
from lgsp.conformance import KitOptions, Report, sandbox_target, select
from lgsp.conformance.results import CaseResult
from lgsp.conformance.runner import check_case, run_suite
from lgsp.conformance.steps.dossiers import legal_path
from lgsp.conformance.suite import Case, ProfileName, load_cases
from lgsp.dossiers import DEFAULT_TRANSITIONS, DossierStatus, TransitionTable
from lgsp.sandbox import Sandbox, SandboxConfig

CASES_DIR = Path(lgsp.conformance.__file__).parent / "cases"
CASES = load_cases([CASES_DIR / "dossiers.toml"])
PORTALS: list[ProfileName] = ["portal", "portal-token"]


@pytest.fixture(scope="module")
def running() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running: Sandbox) -> Iterator[Sandbox]:
    """The module's sandbox, its faults and defects cleared after each test."""
    yield running
    running.state.faults.reset()


def run(sandbox: Sandbox, profile: ProfileName, selector: str | None) -> Report:
    target = sandbox_target(sandbox.url, profile, KitOptions(latency_budget=10.0))
    return run_suite(target, select(CASES, selector, profile))


def failures(report: Report) -> list[str]:
    return [f"{r.id}: {r.outcome}: {r.message}" for r in report.results if r.outcome != "pass"]


def only(report: Report, case_id: str) -> CaseResult:
    (result,) = [r for r in report.results if r.id == case_id]
    return result


# --- the cases as data ----------------------------------------------------------------------


def test_every_shipped_case_names_known_actions_parameters_and_expectations() -> None:
    assert [problem for case in CASES for problem in check_case(case)] == []
    assert {p for case in CASES for p in case.profiles} == set(PORTALS)


def illegal_moves(table: TransitionTable) -> list[tuple[int, int]]:
    """Every (from, to) the table forbids, from each status a dossier can reach."""
    return [
        (int(current), int(wanted))
        for current in sorted(table.reachable())
        for wanted in DossierStatus
        if not table.allows(current, wanted)
    ]


def move_of(case: Case) -> tuple[int, int]:
    opened, moved = case.steps
    assert (opened.do, moved.do) == ("open_dossier", "move_dossier")
    return int(opened.params["status"]), int(moved.params["to"])


def test_the_illegal_cases_are_exactly_the_tables_forbidden_moves() -> None:
    illegal = [c for c in CASES if c.id.startswith("dossiers.illegal.")]
    listed = [move_of(c) for c in illegal]
    assert sorted(listed) == illegal_moves(DEFAULT_TRANSITIONS)
    assert len(listed) == len(set(listed)) == 59
    for case, (current, wanted) in zip(illegal, listed, strict=True):
        assert case.id == f"dossiers.illegal.{current}-{wanted}"
        assert case.profiles == PORTALS
        assert case.steps[1].expect["accepted"] is False


def test_a_changed_table_would_not_match_the_shipped_list() -> None:
    # The comparison above is not vacuous: letting 10 be followed by 4 changes the list.
    loose = TransitionTable(
        {**{int(s): sorted(DEFAULT_TRANSITIONS.successors(s)) for s in DossierStatus}, 10: [4]},
        initial=[1, 2, 3],
    )
    listed = sorted(move_of(c) for c in CASES if c.id.startswith("dossiers.illegal."))
    assert listed != illegal_moves(loose)
    assert (10, 4) in listed


@pytest.mark.parametrize("status", [int(s) for s in DossierStatus])
def test_legal_paths_start_where_a_dossier_can_and_follow_the_table(status: int) -> None:
    path = legal_path(status)
    assert path[0] in (1, 2) and path[-1] == status
    DEFAULT_TRANSITIONS.check_path(path, from_start=True)
    assert len(path) <= 3


# --- against the sandbox ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", PORTALS)
def test_every_case_passes_against_the_sandbox(sandbox: Sandbox, profile: ProfileName) -> None:
    report = run(sandbox, profile, None)
    assert len(report.results) > 59
    assert failures(report) == []


def test_a_refused_move_is_checked_against_the_portals_own_record(sandbox: Sandbox) -> None:
    result = only(run(sandbox, "portal", "dossiers.illegal.10-4"), "dossiers.illegal.10-4")
    assert [c.expectation for c in result.checks][-3:] == [
        "the platform refuses the move 10 → 4",
        "the refusal is in the portal envelope",
        "the dossier keeps its status 10",
    ]
    assert [e.operation for e in result.evidence][-2:] == ["CapNhatTienDoHoSoMC", "TraCuuHoSo"]


def test_illegal_cases_share_one_dossier_per_status_within_a_run(sandbox: Sandbox) -> None:
    report = run(sandbox, "portal-token", "dossiers.illegal.8-*")
    assert failures(report) == []
    codes = {code for r in report.results for code in r.facts["dossiers"]}
    assert len(report.results) == 9
    assert len(codes) == 1  # made by the first case, reused by the other eight


ILLEGAL_SAMPLE = "dossiers.illegal.3-2,dossiers.illegal.7-9,dossiers.illegal.10-4"


@pytest.mark.parametrize("profile", PORTALS)
def test_a_portal_that_allows_illegal_moves_fails_the_illegal_cases(
    sandbox: Sandbox, profile: ProfileName
) -> None:
    sandbox.state.faults.update(defects=frozenset({"allow-illegal-transition"}))
    report = run(sandbox, profile, ILLEGAL_SAMPLE)
    assert [r.outcome for r in report.results] == ["fail", "fail", "fail"]
    for result in report.results:
        assert "it was taken" in result.message


@pytest.mark.parametrize(
    ("profile", "case_ids"),
    [
        ("portal", ["dossiers.sync.missing-code", "dossiers.illegal.2-1"]),
        ("portal-token", ["dossiers.token.missing-field", "dossiers.illegal.2-1"]),
        ("portal-token", ["dossiers.token.next-code-bad-organ"]),
    ],
)
def test_refusals_in_the_wrong_envelope_fail(
    sandbox: Sandbox, profile: ProfileName, case_ids: list[str]
) -> None:
    sandbox.state.faults.update(defects=frozenset({"wrong-envelope"}))
    report = run(sandbox, profile, ",".join(case_ids))
    assert {r.id: r.outcome for r in report.results} == dict.fromkeys(case_ids, "fail")


def test_an_unavailable_portal_fails_the_sync_case(sandbox: Sandbox) -> None:
    sandbox.state.faults.update(error_rate=1.0)
    result = only(run(sandbox, "portal", "dossiers.sync.accepted"), "dossiers.sync.accepted")
    assert result.outcome == "fail"
    assert "503" in result.message
