"""Counterparty mode against simulated vendors: lgsp clients acting as the system under test.

A well-behaved vendor passes every expectation; a vendor whose packages break strict rules or
carry a tampered signature is recorded with its findings (the tampered one from its refused
``sendEdoc``); a vendor that never acknowledges or never answers fails those expectations by
name. The command is run end to end with ``--until-complete`` against a vendor in a thread.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import lgsp.cli.conformance_counterparty  # noqa: F401 - registers the command
from lgsp import Client
from lgsp.cli.app import app
from lgsp.clients import Settings, VxpProfile
from lgsp.clients.models import SendOutcome
from lgsp.conformance.counterparty import (
    DEFAULT_SCRIPT,
    Counterparty,
    Event,
    PartnerAgency,
    Script,
    ScriptedStatus,
    VendorSystem,
    load_script,
)
from lgsp.conformance.messages import check_message
from lgsp.conformance.reports import render
from lgsp.conformance.results import CaseResult, Report
from lgsp.documents import (
    BusinessDocType,
    DocumentPackage,
    SignerInfo,
    StatusPackage,
    package_to_bytes,
    read_package,
)
from lgsp.errors import ConfigurationError, RemoteServiceError, TransportError
from lgsp.signatures import KeySigner, sign_package, verify_package
from lgsp.testing import samples
from lgsp.testing.pki import make_pki

VENDOR = ("vxp.saas.03", "sandbox-secret-a")
PARTNER_SECRET = "sandbox-secret-b"
QUICK = {"poll_interval": 0.05, "revoke_after": 0.0, "recall_after": 0.0}
REPLIES = (ScriptedStatus(code="01"), ScriptedStatus(code="03"), ScriptedStatus(code="06"))
BOUND = 60.0  # the longest a session may take before the test gives up (not a speed claim)


def quick_script(**changes: Any) -> Script:
    return Script(**{**QUICK, "replies": REPLIES, **changes})


class Vendor:
    """A simulated system under test: what it fetches, acknowledges and answers is up to it."""

    def __init__(
        self,
        url: str,
        *,
        ack: bool = True,
        reply: bool = True,
        system: tuple[str, str] = VENDOR,
        organ: Any = samples.GOVERNMENT_OFFICE,
    ) -> None:
        settings = Settings(
            documents=VxpProfile(endpoint=f"{url}/vxp", system_id=system[0], secret=system[1])
        )
        self.client = Client.from_settings(settings, outbox=None, inbox=None)
        self.ack, self.reply, self.organ = ack, reply, organ
        self.seen: dict[str, DocumentPackage | StatusPackage] = {}
        self.raw: dict[str, bytes] = {}
        self.signatures: list[bool] = []

    def close(self) -> None:
        self.client.close()

    def send(self, package: DocumentPackage | bytes) -> SendOutcome:
        return self.client.documents.send(package)

    def step(self) -> None:
        """One pass over the inbox: fetch what is new, acknowledge it, answer it."""
        for item in self.client.documents.received():
            if item.doc_id in self.seen:
                continue
            data = self.client.documents.get(item.doc_id)
            pkg = read_package(data)
            pkg.close()
            self.seen[item.doc_id] = pkg
            self.raw[item.doc_id] = data
            if pkg.signature_xml is not None:
                self.signatures.append(verify_package(data).valid)
            if self.ack:
                self.client.documents.update_status(item.doc_id, "done")
            if self.reply:
                self._answer(pkg)

    def _answer(self, pkg: DocumentPackage | StatusPackage) -> None:
        if isinstance(pkg, DocumentPackage):
            if pkg.business is None or pkg.business.kind == BusinessDocType.NEW:
                for code in ("01", "03"):
                    self.send_status(pkg, code)
        elif pkg.header.code == "13":
            wanted = pkg.header.response_for.document_id
            original = next(
                p
                for p in self.seen.values()
                if isinstance(p, DocumentPackage) and p.header.document_id == wanted
            )
            self.send_status(original, "15")

    def send_status(self, original: DocumentPackage, code: str) -> None:
        status = samples.status(original, code, sender=self.organ)
        assert self.client.documents.send(status).accepted

    def statuses_about(self, document_id: str | None) -> set[str]:
        return {
            p.header.code or ""
            for p in self.seen.values()
            if isinstance(p, StatusPackage) and p.header.response_for.document_id == document_id
        }

    def documents(self) -> list[DocumentPackage]:
        return [p for p in self.seen.values() if isinstance(p, DocumentPackage)]

    def all_taken(self) -> bool:
        """Everything this vendor sent was acknowledged done by its receiver."""
        sent = self.client.documents.sent()
        return bool(sent) and all(item.receive_status == "done" for item in sent)

    def until(self, condition: Callable[[], bool]) -> None:
        began = time.monotonic()
        while not condition():
            assert time.monotonic() - began < BOUND, "the session never got there"
            self.step()
            time.sleep(0.02)


@contextlib.contextmanager
def running(session: Counterparty, **options: Any) -> Iterator[dict[str, Report]]:
    """``session.run`` in a thread; stopped on the way out, its report in the dict."""
    box: dict[str, Report] = {}
    thread = threading.Thread(target=lambda: box.setdefault("report", session.run(**options)))
    thread.start()
    try:
        yield box
    finally:
        session.request_stop()
        thread.join(BOUND)
    assert "report" in box


def results(report: Report) -> dict[str, CaseResult]:
    return {r.id: r for r in report.results}


def messages(report: Report) -> list[CaseResult]:
    return [r for r in report.results if r.id.startswith("counterparty.message.")]


def unique_number() -> str:
    return f"{time.time_ns() % 10_000_000:07d}"


# -- the script ----------------------------------------------------------------------------------


def test_the_built_in_script_is_the_default_one() -> None:
    assert load_script() == Script()
    assert "vendor_replies" in DEFAULT_SCRIPT
    assert [r.code for r in Script().replies] == ["01", "03", "06"]


def test_a_script_file_with_a_wrong_key_names_it(tmp_path: Path) -> None:
    wrong = tmp_path / "script.toml"
    wrong.write_text('documents = 1\n[[replies]]\ncode = "42"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"replies\.0\.code"):
        load_script(wrong)
    wrong.write_text("documnets = 1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="documnets"):
        load_script(wrong)
    right = tmp_path / "ok.toml"
    right.write_text('documents = 3\nvendor_replies = ["1"]\n', encoding="utf-8")
    assert (load_script(right).documents, load_script(right).vendor_replies) == (3, ("01",))


def test_the_parties_must_be_distinct() -> None:
    with pytest.raises(ConfigurationError, match="both"):
        Counterparty(VendorSystem(system_id="vxp.saas.07"))
    with pytest.raises(ConfigurationError, match="both"):
        Counterparty(partner=PartnerAgency(organ="000.00.00.G22"))


# -- a well-behaved vendor -----------------------------------------------------------------------


def test_a_well_behaved_vendor_meets_every_expectation() -> None:
    script = quick_script(documents=2, recall=True)
    with Counterparty(script=script) as session:
        vendor = Vendor(session.url)
        stop = threading.Event()

        def play() -> None:
            vendor.send(samples.document(number=unique_number()))
            while not stop.is_set():
                vendor.step()
                stop.wait(0.02)

        worker = threading.Thread(target=play)
        worker.start()
        try:
            report = session.run(until_complete=True, timeout=BOUND)
        finally:
            stop.set()
            worker.join(BOUND)
        live = httpx.get(f"{session.url}/sandbox/counterparty").json()
        pem = httpx.get(f"{session.url}/sandbox/counterparty/trust.pem")
        vendor.close()

    assert report.settings["ended"] == "complete", render(report)
    assert report.ok, render(report)
    found = results(report)
    for name in (
        "sent-document",
        "sent-valid-messages",
        "fetched-document",
        "acknowledged-document",
        "replied-status-01",
        "replied-status-03",
        "answered-recall",
        "fetched-status",
        "acknowledged-status",
    ):
        assert found[f"counterparty.vendor.{name}"].outcome == "pass", name
    # Two documents, their revoke and recall; 01, 03, 06 for the vendor's document.
    fetched = found["counterparty.vendor.fetched-document"].checks
    assert len(fetched) == 3
    assert any("revoke of" in c.expectation for c in fetched)
    assert len(found["counterparty.vendor.fetched-status"].checks) == 4  # 01, 03, 06 and 13
    # One document, 01 and 03 for each of the partner's two, 15 for the recall.
    sent = messages(report)
    assert len(sent) == 6
    assert all(m.outcome == "pass" for m in sent)
    document = next(m for m in sent if m.facts["kind"] == "document")
    assert document.facts["delivered_to_partner"]
    assert document.facts["axis"].startswith("accepted as doc")
    assert document.evidence and document.evidence[0].operation == "sendEdoc"
    # The partner signs: the vendor could verify every package it got, and the CA is served.
    assert vendor.signatures and all(vendor.signatures)
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN CERTIFICATE-----")
    assert live["kind"] == "counterparty"
    assert {r["id"] for r in live["results"]} == set(found)


def test_the_partners_packages_pass_the_strict_checks_for_any_organs() -> None:
    vendor_system = VendorSystem("vxp.benthu.01", "benthu-secret", ("000.00.00.A01",))
    script = quick_script(documents=1)
    with Counterparty(vendor_system, PartnerAgency(organ="000.00.00.H40"), script) as session:
        lost = Vendor(session.url, system=("vxp.benthu.01", "not-the-secret"))
        with pytest.raises(RemoteServiceError):
            lost.client.documents.received()
        lost.close()
        report = session.run(duration=0)
        vendor = Vendor(
            session.url, system=("vxp.benthu.01", "benthu-secret"), ack=False, reply=False
        )
        vendor.step()
        vendor.close()
    [document] = vendor.documents()
    assert document.header.from_.organ_id == "000.00.00.H40"
    assert [o.organ_id for o in document.header.to] == ["000.00.00.A01"]
    [data] = vendor.raw.values()
    assert check_message(data, name="partner document", profile="strict").outcome == "pass"
    assert vendor.signatures == [True]
    assert any("401" in e.text and e.level == "problem" for e in session.events)
    found = results(report)
    assert report.settings["ended"] == "duration"
    missed = found["counterparty.vendor.fetched-document"]
    assert missed.outcome == "fail" and "never fetched" in missed.checks[0].detail
    assert found["counterparty.vendor.sent-document"].outcome == "fail"


def test_ctrl_c_ends_the_session_with_a_report() -> None:
    def interrupt(event: Event) -> None:
        if event.text.startswith("sent document"):
            raise KeyboardInterrupt  # what Ctrl-C raises in the thread that runs the session

    with Counterparty(script=quick_script(documents=2), on_event=interrupt) as session:
        report = session.run()
    assert report.settings["ended"] == "interrupted"
    assert report.settings["partner_sent"] == 1
    assert results(report)["counterparty.vendor.fetched-document"].outcome == "fail"
    assert session.events[-1].text.startswith("ended (interrupted)")


# -- what the vendor sends -----------------------------------------------------------------------


def test_a_vendors_bad_packages_are_recorded_with_their_findings() -> None:
    with Counterparty(script=quick_script(documents=1)) as session:
        vendor = Vendor(session.url)
        sloppy = samples.document(number=unique_number(), signer=SignerInfo())
        identity = make_pki(organisation="vendor under test").signer()
        signer = KeySigner(identity.key, identity.certificate, identity.chain)
        number = unique_number()
        signed = sign_package(package_to_bytes(samples.document(number=number)), signer)
        tampered = signed.replace(number.encode(), b"9999999", 1)
        with running(session) as box:
            assert vendor.send(package_to_bytes(sloppy, options=_unchecked())).accepted
            refused = vendor.send(tampered)
            assert (refused.accepted, refused.code) == (False, "422")
            vendor.until(lambda: "01" in vendor.statuses_about(sloppy.header.document_id))
        vendor.close()
    report = box["report"]
    assert not report.ok
    sent = {m.facts["sha256"]: m for m in messages(report) if m.facts["kind"] == "document"}
    assert len(sent) == 2  # besides the statuses 01 and 03 answering the partner's document
    accepted = next(m for m in sent.values() if m.facts["delivered_to_partner"])
    assert accepted.outcome == "fail"
    assert any(f.rule == "header.recommended" and f.severity == "error" for f in accepted.findings)
    bounced = next(m for m in sent.values() if not m.facts["delivered_to_partner"])
    assert bounced.outcome == "fail"
    assert bounced.facts["axis"].startswith("refused: 422")
    assert any(f.rule.startswith("signature") and f.severity == "error" for f in bounced.findings)
    evidence = bounced.evidence[0]
    assert evidence.status == 422 and evidence.request_body
    assert any(name.lower() == "xroadvnpt-systemid" for name in evidence.request_headers)
    verdict = results(report)["counterparty.vendor.sent-valid-messages"]
    assert verdict.outcome == "fail"
    assert sorted(c.passed for c in verdict.checks) == [False, False, True, True]  # + 01, 03
    text = render(report, "json")
    assert VENDOR[1] not in text and PARTNER_SECRET not in text


def _unchecked() -> Any:
    from lgsp.documents import WriteOptions

    return WriteOptions(validate_first=False)


@pytest.mark.parametrize(
    ("ack", "reply", "failing"),
    [
        (False, True, {"acknowledged-document", "acknowledged-status"}),
        (True, False, {"replied-status-01", "replied-status-03"}),
    ],
    ids=["never-acknowledges", "never-replies"],
)
def test_a_vendor_that_skips_a_duty_fails_it_by_name(
    ack: bool, reply: bool, failing: set[str]
) -> None:
    with Counterparty(script=quick_script(documents=2)) as session:
        vendor = Vendor(session.url, ack=ack, reply=reply)
        with running(session) as box:
            mine = samples.document(number=unique_number())
            assert vendor.send(mine).accepted
            vendor.until(
                lambda: (
                    len(vendor.documents()) == 2
                    and vendor.statuses_about(mine.header.document_id) == {"01", "03", "06"}
                    and vendor.all_taken()
                )
            )
        vendor.close()
    report = box["report"]
    assert not report.ok
    found = results(report)
    expectations = {
        key.removeprefix("counterparty.vendor."): r
        for key, r in found.items()
        if key.startswith("counterparty.vendor.")
    }
    assert {k for k, r in expectations.items() if r.outcome == "fail"} == failing
    for name in failing:
        result = expectations[name]
        assert result.message.startswith("missing:"), result.message
        assert all(not c.passed for c in result.checks)
    assert expectations["fetched-document"].outcome == "pass"
    assert expectations["fetched-status"].outcome == "pass"
    # The revoke waits for the vendor to handle the document: it never came.
    script = found["counterparty.partner.script"]
    assert "revoke" in script.message and "never handled" in script.message


# -- the command ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_command_runs_until_complete_against_a_vendor(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    script = tmp_path / "script.toml"
    script.write_text(
        "documents = 1\nrevoke = false\npoll_interval = 0.05\n"
        '[[replies]]\ncode = "01"\n[[replies]]\ncode = "03"\n',
        encoding="utf-8",
    )
    out = tmp_path / "report.json"
    stop = threading.Event()

    def play() -> None:
        began = time.monotonic()
        while time.monotonic() - began < BOUND and not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            time.sleep(0.02)
        vendor = Vendor(url)
        try:
            vendor.send(samples.document(number=unique_number()))
            while not stop.is_set():
                vendor.step()
                stop.wait(0.02)
        except TransportError:
            pass  # the command ended and took its server with it: the report says the rest
        finally:
            vendor.close()

    worker = threading.Thread(target=play)
    worker.start()
    try:
        result = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "120"}).invoke(
            app,
            [
                "conformance",
                "counterparty",
                "--port",
                str(port),
                "--script",
                str(script),
                "--until-complete",
                "--timeout",
                str(BOUND),
                "--report",
                "json",
                "--out",
                str(out),
            ],
        )
    finally:
        stop.set()
        worker.join(BOUND)
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(out.read_text("utf-8"))
    assert (data["kind"], data["ok"], data["settings"]["ended"]) == (
        "counterparty",
        True,
        "complete",
    )
    assert url in result.stderr and "vxp.saas.03" in result.stderr
    assert "sent document" in result.stderr  # the live view
    assert PARTNER_SECRET not in result.stderr + result.output
    assert "report written to" in result.output


def test_the_command_refuses_what_cannot_work(tmp_path: Path) -> None:
    runner = CliRunner(env={"NO_COLOR": "1"})
    base = ["conformance", "counterparty", "--port", "0"]
    both = runner.invoke(app, [*base, "--duration", "1", "--until-complete"])
    assert both.exit_code == 2
    stranger = runner.invoke(app, [*base, "--vendor-system-id", "vxp.other.01", "--duration", "0"])
    assert stranger.exit_code == 2 and "--vendor-secret" in stranger.output + stranger.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("documents = -1\n", encoding="utf-8")
    wrong = runner.invoke(app, [*base, "--script", str(bad), "--duration", "0"])
    assert wrong.exit_code == 2 and "documents" in wrong.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        busy = runner.invoke(
            app, ["conformance", "counterparty", "--port", port, "--duration", "0"]
        )
    assert busy.exit_code == 2 and "--port" in busy.stderr
    shown = runner.invoke(app, ["conformance", "counterparty", "--show-script"])
    assert shown.exit_code == 0 and shown.output == DEFAULT_SCRIPT
