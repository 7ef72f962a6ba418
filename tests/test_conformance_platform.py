"""The platform and auth cases of the endpoint suite (cases/platform.toml, cases/auth.toml).

Every shipped case passes against the sandbox for each profile it lists, and each fault knob
or deliberate defect of the sandbox that these cases are meant to catch makes the named case
fail: the kit can fail, and says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lgsp.conformance
from lgsp.conformance import KitOptions, Report, sandbox_target, select
from lgsp.conformance.results import CaseResult
from lgsp.conformance.runner import check_case, run_suite
from lgsp.conformance.suite import PROFILES, Case, ProfileName, load_cases
from lgsp.sandbox import Sandbox, SandboxConfig

CASES_DIR = Path(lgsp.conformance.__file__).parent / "cases"
CASES = load_cases([CASES_DIR / "platform.toml", CASES_DIR / "auth.toml"])
#: Generous limits: passing must not depend on how busy the machine is.
CALM = KitOptions(latency_budget=10.0, availability_calls=10)


@pytest.fixture(scope="module")
def running() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running: Sandbox) -> Iterator[Sandbox]:
    """The module's sandbox, its faults and defects cleared after each test."""
    yield running
    running.state.faults.reset()


def run(
    sandbox: Sandbox, profile: ProfileName, selector: str | None, options: KitOptions = CALM
) -> Report:
    target = sandbox_target(sandbox.url, profile, options)
    return run_suite(target, select(CASES, selector, profile))


def only(report: Report, case_id: str) -> CaseResult:
    (result,) = [r for r in report.results if r.id == case_id]
    return result


def failures(report: Report) -> list[str]:
    return [f"{r.id}: {r.outcome}: {r.message}" for r in report.results if r.outcome != "pass"]


# --- the cases as data ----------------------------------------------------------------------


def test_every_shipped_case_names_known_actions_parameters_and_expectations() -> None:
    assert [problem for case in CASES for problem in check_case(case)] == []


def test_the_cases_cover_every_profile_and_cite_their_contract() -> None:
    covered = {profile for case in CASES for profile in case.profiles}
    assert covered == set(PROFILES)
    assert all(case.purpose and case.rules for case in CASES)
    assert {"platform", "auth"} == {case.area for case in CASES}


# --- against the sandbox ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_every_case_passes_against_the_sandbox(sandbox: Sandbox, profile: ProfileName) -> None:
    report = run(sandbox, profile, None)
    assert report.results
    assert failures(report) == []
    assert all(r.evidence for r in report.results)  # every result carries its exchanges


def test_a_token_refresh_shows_one_401_one_token_and_a_success(sandbox: Sandbox) -> None:
    result = only(run(sandbox, "gateway", "auth.token.refresh"), "auth.token.refresh")
    seen = [(e.operation, e.status) for e in result.evidence]
    # a first token and call, then the revoked token refused, a new token, the call again
    assert seen == [
        ("token", 200),
        ("countReceiveEdoc", 200),
        ("countReceiveEdoc", 401),
        ("token", 200),
        ("countReceiveEdoc", 200),
    ]
    assert result.passed


def test_evidence_masks_the_credentials_it_carries(sandbox: Sandbox) -> None:
    report = run(sandbox, "portal-token", "auth.token.issued")
    token_call = only(report, "auth.token.issued").evidence[0]
    assert token_call.request_body is not None
    assert "sandbox-dvc" not in token_call.request_body  # the client secret
    assert '"access_token":"***"' in (token_call.response_body or "")


@pytest.mark.parametrize("profile", ["vxp", "soap-hub", "portal", "portal-token"])
def test_injected_latency_fails_the_latency_case(sandbox: Sandbox, profile: ProfileName) -> None:
    sandbox.state.faults.update(latency=0.25)
    report = run(sandbox, profile, "platform.latency", KitOptions(latency_budget=0.05))
    result = only(report, "platform.latency")
    assert result.outcome == "fail"
    assert "within 50 ms" in result.message


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("knob", ["error_rate", "drop_rate"])
def test_refusals_and_dropped_connections_fail_the_availability_case(
    sandbox: Sandbox, profile: ProfileName, knob: str
) -> None:
    sandbox.state.faults.update(**{knob: 1.0})
    result = only(run(sandbox, profile, "platform.availability"), "platform.availability")
    assert result.outcome == "fail"
    assert "0 of 10 answered" in result.message
    if knob == "error_rate":
        assert any(e.status == 503 for e in result.evidence)
    else:
        assert any(e.status is None and e.error for e in result.evidence)


@pytest.mark.parametrize("profile", ["gateway", "portal-token"])
def test_short_lived_tokens_fail_the_token_case(sandbox: Sandbox, profile: ProfileName) -> None:
    sandbox.state.faults.update(token_lifetime=5)
    report = run(sandbox, profile, "auth.token.issued", KitOptions(min_token_lifetime=300))
    result = only(report, "auth.token.issued")
    assert result.outcome == "fail"
    assert "expires_in 5" in result.message
    assert result.facts["expires_in"] == 5


#: (defect, profile, the cases that must fail under it)
DEFECT_CASES: list[tuple[str, ProfileName, list[str]]] = [
    ("accept-any-token", "gateway", ["auth.gateway.unknown-token", "auth.token.refresh"]),
    ("accept-any-token", "portal-token", ["auth.portal-token.unknown-token", "auth.token.refresh"]),
    ("accept-any-token", "soap-hub", ["platform.auth.hub-token"]),
    ("wrong-envelope", "vxp", ["platform.auth.unsigned", "platform.auth.wrong-signature"]),
    ("wrong-envelope", "gateway", ["platform.auth.no-token", "auth.gateway.unknown-token"]),
    ("wrong-envelope", "soap-hub", ["platform.auth.hub-token"]),
    ("wrong-envelope", "portal", ["auth.portal.no-session", "auth.portal.lapsed-session"]),
    ("wrong-envelope", "portal-token", ["auth.portal-token.no-token"]),
]


@pytest.mark.parametrize(("defect", "profile", "case_ids"), DEFECT_CASES)
def test_each_defect_fails_the_cases_that_guard_against_it(
    sandbox: Sandbox, defect: str, profile: ProfileName, case_ids: list[str]
) -> None:
    sandbox.state.faults.update(defects=frozenset({defect}))
    report = run(sandbox, profile, ",".join(case_ids))
    assert {r.id: r.outcome for r in report.results} == dict.fromkeys(case_ids, "fail")
    for result in report.results:
        failed = [c for c in result.checks if not c.passed]
        assert len(failed) == 1, result.id  # the run stops at the broken expectation
        assert failed[0].detail  # and says what it saw


def test_the_same_cases_pass_once_the_defects_are_gone(sandbox: Sandbox) -> None:
    chosen: dict[ProfileName, set[str]] = {}
    for _, profile, case_ids in DEFECT_CASES:
        chosen.setdefault(profile, set()).update(case_ids)
    for profile, ids in chosen.items():
        assert failures(run(sandbox, profile, ",".join(sorted(ids)))) == []


def test_a_case_for_a_credential_the_profile_lacks_is_a_kit_error(sandbox: Sandbox) -> None:
    stray: dict[str, Any] = {
        "id": "platform.stray",
        "title": "A hub has no unsigned VXP call",
        "purpose": "A case author's mistake is reported as an error of the kit, not a failure.",
        "rules": ["vn-contracts §3"],
        "profiles": ["soap-hub"],
        "step": [{"do": "refused_credentials", "use": "no-credentials"}],
    }
    report = run_suite(sandbox_target(sandbox.url, "soap-hub"), [Case.model_validate(stray)])
    assert report.results[0].outcome == "error"
    assert "does not apply to the soap-hub profile" in report.results[0].message
