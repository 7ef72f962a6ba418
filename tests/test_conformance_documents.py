"""The document-exchange cases of the endpoint suite: sound as data, passing against the
sandbox over VXP, the gateway and the SOAP hub, failing against a sandbox that plays a defect
or a server that is gone, and leaving evidence with no secret in it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json

import pytest

from lgsp import package_to_bytes, read_package, validate
from lgsp.conformance import runner, suite, targets
from lgsp.conformance.results import Report
from lgsp.conformance.steps import _packages
from lgsp.documents import BusinessDocType, DocumentPackage
from lgsp.errors import HostileXMLError
from lgsp.sandbox import Sandbox, SandboxConfig
from lgsp.signatures import verify_package
from lgsp.testing import samples

PROFILES: tuple[suite.ProfileName, ...] = ("vxp", "gateway", "soap-hub")
SECRETS = ("sandbox-secret-a", "sandbox-secret-b", "sandbox-app")
#: Short patience (the defect runs wait for what never comes) and a 1 MiB size limit, which
#: the sandboxes of those runs are given too.
QUICK = runner.KitOptions(delivery_timeout=0.5, poll_interval=0.05, max_package_bytes=1 << 20)
SMALL = SandboxConfig.demo().model_copy(update={"max_package_bytes": 1 << 20})
G22 = _packages.organization("000.00.00.G22")
H41 = _packages.organization("000.00.00.H41")


def _cases() -> list[suite.Case]:
    return [c for c in suite.builtin_cases() if c.area == "documents"]


def _case(case_id: str) -> suite.Case:
    return next(c for c in _cases() if c.id == case_id)


def _failures(report: Report) -> list[str]:
    return [f"{r.id}: {r.outcome}: {r.message}" for r in report.results if not r.passed]


# --- the cases as data -------------------------------------------------------------------------


def test_every_document_case_names_known_actions_parameters_and_expectations() -> None:
    cases = _cases()
    assert [p for c in cases for p in runner.check_case(c)] == []
    assert all(set(c.profiles) <= set(PROFILES) for c in cases)
    assert all(any(r.startswith("vn-contracts §") for r in c.rules) for c in cases)
    statuses = sorted(c.id.rsplit(".", 1)[1] for c in cases if c.id.startswith("documents.status"))
    assert statuses == ["01", "02", "03", "04", "05", "06", "13", "15", "16"]
    hostile = {c.id.rsplit(".", 1)[1] for c in cases if ".hostile-xml." in c.id}
    assert hostile == set(_packages.HOSTILE_KINDS)
    ids = {c.id for c in cases}
    for wanted in ("revoke", "update", "replace"):
        assert f"documents.business.{wanted}" in ids


# --- the packages the cases send ---------------------------------------------------------------


def test_packages_are_reproducible_from_their_number_and_valid_and_signed() -> None:
    first = _packages.build("document", number="t0001", sender=G22, receiver=H41)
    again = _packages.build("document", number="t0001", sender=G22, receiver=H41)
    other = _packages.build("document", number="t0002", sender=G22, receiver=H41)
    assert first.content == again.content != other.content
    assert _packages.validity(first.content) is None
    assert verify_package(first.content).valid
    assert (first.sender, first.receivers, first.message_type) == (
        G22.organ_id,
        ("000.00.00.H41",),
        "edoc",
    )
    assert isinstance(first.model, DocumentPackage)
    answer = _packages.build(
        "status", number="t0003", sender=H41, receiver=G22, original=first.model, code="13"
    )
    assert (answer.message_type, answer.receivers) == ("status", ("000.00.00.G22",))
    assert _packages.validity(answer.content) is None


def test_each_mutation_carries_the_defect_it_names() -> None:
    def made(mutate: str) -> bytes:
        return _packages.build(
            "document", number="m0001", sender=G22, receiver=H41, mutate=mutate, max_bytes=200_000
        ).content

    assert not verify_package(made("bad-signature")).valid
    expired = verify_package(made("expired-certificate"))
    assert expired.certificate is not None
    assert expired.certificate.not_valid_after_utc < dt.datetime.now(dt.UTC)
    for mutate, organ in (
        ("unknown-organ", _packages.UNKNOWN_ORGAN),
        ("malformed-organ", "G22-KHONG-HOP-LE"),
    ):
        pkg = read_package(made(mutate))
        assert isinstance(pkg, DocumentPackage)
        assert [o.organ_id for o in pkg.header.to] == [organ]
    big = made("oversized")
    assert 200_000 < len(big) < 200_000 + 64 * 1024
    assert _packages.validity(big) is None
    problem = _packages.validity(made("invalid"))
    assert problem is not None
    assert "header.required" in problem
    for kind in _packages.HOSTILE_KINDS:
        with pytest.raises(HostileXMLError):
            read_package(made(f"hostile-xml:{kind}"))


def test_update_and_replace_samples_are_strictly_valid_and_name_the_original() -> None:
    original = samples.document(number="88")
    wanted = samples.document_id(original)
    for make, kind in (
        (samples.update, BusinessDocType.UPDATE),
        (samples.replace, BusinessDocType.REPLACE),
    ):
        pkg = make(original)
        assert [f.rule for f in validate(pkg, profile="strict") if f.severity == "error"] == []
        again = read_package(package_to_bytes(pkg))
        assert isinstance(again, DocumentPackage)
        assert again.business is not None
        assert again.business.doc_type == kind
        assert wanted in _packages.references(again)
        assert again.header.document_id != wanted


# --- against the sandbox -----------------------------------------------------------------------


def _issued_tokens(sandbox: Sandbox) -> list[str]:
    with sandbox.state.store.reading() as db:
        return [str(row[0]) for row in db.execute("SELECT token FROM gateway_tokens")]


def _hmacs(report: Report) -> list[str]:
    """The HMAC-SHA256 of every signed VXP request of the report (what the hash header held)."""
    keys = [s.encode() for s in SECRETS[:2]]
    found = []
    for result in report.results:
        for evidence in result.evidence:
            signed = evidence.request_headers.get("XroadVnpt-sign-header")
            if signed:
                found += [hmac.new(k, signed.encode(), hashlib.sha256).hexdigest() for k in keys]
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_document_cases_pass_against_the_sandbox_with_evidence_and_no_secret(
    profile: suite.ProfileName,
) -> None:
    cases = suite.select(_cases(), None, profile)
    with Sandbox(SandboxConfig.demo()) as sandbox:
        report = runner.run_suite(targets.sandbox_target(sandbox.url, profile), cases)
        tokens = _issued_tokens(sandbox)
    assert _failures(report) == []
    assert len(report.results) == len(cases) >= 30
    for result in report.results:
        assert result.evidence, result.id
        assert all(e.status is not None and e.error is None for e in result.evidence), result.id
        assert all(c.passed for c in result.checks), result.id
    text = report.model_dump_json()
    assert not [s for s in (*SECRETS, *tokens) if s in text]
    if profile != "soap-hub":
        hashes = _hmacs(report)
        assert hashes
        assert not [h for h in hashes if h in text]
        shown = {
            e.request_headers.get("XroadVnpt-hash-header")
            for r in report.results
            for e in r.evidence
            if e.operation != "token"
        }
        assert shown == {"***"}
    if profile == "gateway":
        assert tokens
        bearer = [
            e.request_headers.get("Authorization")
            for r in report.results
            for e in r.evidence
            if e.operation != "token"
        ]
        assert set(bearer) == {"Bearer ***"}


def test_one_party_runs_the_refusals_against_its_own_organ_and_skips_the_rest() -> None:
    with Sandbox(SandboxConfig.demo()) as sandbox:
        target = dataclasses.replace(targets.sandbox_target(sandbox.url, "vxp"), receiver=None)
        report = runner.run_suite(target, suite.select(_cases(), None, "vxp"))
    outcomes = {r.id: r.outcome for r in report.results}
    assert outcomes["documents.send.valid"] == "pass"
    assert outcomes["documents.refuse.bad-signature"] == "pass"
    assert outcomes["documents.status.03"] == "skipped"
    assert set(outcomes.values()) == {"pass", "skipped"}
    sent = next(r for r in report.results if r.id == "documents.send.valid")
    assert '"000.00.00.G22"' in json.dumps(sent.evidence[0].request_headers)


# --- a broken target fails the cases -----------------------------------------------------------

DEFECT_CASES = [
    ("accept-bad-signature", "soap-hub", "documents.refuse.bad-signature", "is refused"),
    ("accept-expired-certificate", "gateway", "documents.refuse.expired-certificate", "is refused"),
    ("ignore-size-limit", "vxp", "documents.refuse.oversized", "is refused"),
    ("accept-unknown-organ", "vxp", "documents.refuse.unknown-organ", "is refused"),
    ("accept-invalid-package", "gateway", "documents.refuse.invalid", "is refused"),
    ("duplicate-send", "soap-hub", "documents.send.duplicate", "the DocId of letter"),
    ("lose-status", "vxp", "documents.status.03", "a status 03 answering letter reaches"),
    ("lose-document", "gateway", "documents.list.received", "list shows letter"),
    ("wrong-envelope", "vxp", "documents.refuse.invalid", "VXP JSON"),
    ("wrong-envelope", "soap-hub", "documents.refuse.hostile-xml.dtd", "SOAP 1.1 Fault"),
    ("ack-without-effect", "soap-hub", "documents.ack.done", "no longer shows letter"),
]


@pytest.mark.parametrize(
    ("defect", "profile", "case_id", "said"),
    DEFECT_CASES,
    ids=[f"{d}-{p}" for d, p, _, _ in DEFECT_CASES],
)
def test_a_sandbox_defect_fails_the_case_that_names_it(
    defect: str, profile: suite.ProfileName, case_id: str, said: str
) -> None:
    case = _case(case_id)
    with Sandbox(SMALL) as sandbox:
        target = targets.sandbox_target(sandbox.url, profile, QUICK)
        clean = runner.run_suite(target, [case])
        sandbox.state.faults.update(defects=frozenset({defect}))
        broken = runner.run_suite(target, [case])
    assert _failures(clean) == []
    result = broken.results[0]
    assert result.outcome == "fail", result.message
    assert said in result.message
    assert [c for c in result.checks if not c.passed]


def test_a_stopped_server_fails_the_cases_and_says_why() -> None:
    with Sandbox(SandboxConfig.demo()) as sandbox:
        url = sandbox.url
    cases = [_case("documents.send.valid"), _case("documents.refuse.bad-signature")]
    report = runner.run_suite(targets.sandbox_target(url, "vxp", QUICK), cases)
    assert [r.outcome for r in report.results] == ["fail", "fail"]
    for result in report.results:
        assert "TransportError" in result.message
        assert result.evidence
        assert result.evidence[-1].error is not None
