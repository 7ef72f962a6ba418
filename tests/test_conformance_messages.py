"""Message conformance (``lgsp.conformance.messages``) and ``lgsp conformance messages``.

Real inputs only: the official VXP sample kit, packages and dossiers from
``lgsp.testing.samples``, packages signed with the test PKI (and tampered with), hostile and
malformed XML, malformed JSON. The CLI runs in-process through typer's CliRunner.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tracemalloc
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner, Result

from lgsp.cli import app
from lgsp.conformance.messages import (
    MESSAGE_RULES,
    apply_overrides,
    check_message,
    check_paths,
    known_rules,
    parse_overrides,
)
from lgsp.conformance.results import CaseResult
from lgsp.documents import RULES as DOCUMENT_RULES
from lgsp.documents import Attachment, package_to_bytes
from lgsp.dossiers import RULES as DOSSIER_RULES
from lgsp.dossiers import DossierStatus
from lgsp.errors import ConfigurationError
from lgsp.findings import Finding
from lgsp.signatures import KeySigner, sign_package
from lgsp.testing import samples
from lgsp.testing.pki import make_pki

KIT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "edxml" / "vxp-sample-kit"


@pytest.fixture(scope="module")
def kit() -> Path:
    """The official VXP sample kit; its absence is a failure, never a skip."""
    if not KIT.is_dir() or not (KIT / "edoc_update.edxml").is_file():
        pytest.fail(f"the VXP sample kit is missing: expected it at {KIT}", pytrace=False)
    return KIT


@pytest.fixture(scope="module")
def signer() -> KeySigner:
    identity = make_pki().signer()
    return KeySigner(identity.key, identity.certificate, identity.chain)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def signed(signer: KeySigner) -> bytes:
    """A strictly valid document package, signed (RSA-SHA256)."""
    return sign_package(package_to_bytes(samples.document()), signer)


def rules_of(result: CaseResult, severity: str | None = None) -> set[str]:
    return {f.rule for f in result.findings if severity is None or f.severity == severity}


# the kit's rules -------------------------------------------------------------------------------
def test_the_kits_rules_do_not_duplicate_the_validators_rules() -> None:
    assert not set(MESSAGE_RULES) & set(DOCUMENT_RULES)
    assert not set(MESSAGE_RULES) & set(DOSSIER_RULES)
    # The legacy Signature form is the reader's read.signature; malformed JSON dossier.json.
    assert "read.signature" in DOCUMENT_RULES
    assert "dossier.json" in DOSSIER_RULES
    assert {"xml.wellformed", "xml.hostile", "package.kind", "signature.valid"} <= set(
        MESSAGE_RULES
    )
    assert MESSAGE_RULES["signature.missing"].severity("strict") == "warning"
    assert MESSAGE_RULES["signature.missing"].severity("lenient") == "info"
    assert MESSAGE_RULES["signature.legacy"].severity("lenient") == "info"
    assert set(known_rules()) == set(DOCUMENT_RULES) | set(DOSSIER_RULES) | set(MESSAGE_RULES)


# documents and statuses --------------------------------------------------------------------------
def test_a_signed_valid_document_passes_strict(signed: bytes) -> None:
    result = check_message(signed, name="signed.edxml")
    assert result.outcome == "pass", result.findings
    assert result.id == "signed.edxml"
    assert result.title == "document: signed.edxml"
    assert result.facts["kind"] == "document"
    assert result.facts["signature"] == "valid"
    assert result.facts["size"] == len(signed)
    assert result.facts["sha256"] == hashlib.sha256(signed).hexdigest()
    assert "Nguyễn Văn An" in result.facts["signer"]
    assert not rules_of(result, "error")
    assert not {r for r in rules_of(result) if r.startswith("signature.")}
    assert [c.step for c in result.checks] == ["read", "signature", "validate"]
    assert all(c.passed for c in result.checks)


def test_a_tampered_signature_fails(signed: bytes) -> None:
    subject = "liên thông".encode()
    assert subject in signed
    tampered = signed.replace(subject, "liên thôNg".encode(), 1)  # one byte of content
    result = check_message(tampered, name="tampered.edxml")
    assert result.outcome == "fail"
    assert "signature.valid" in rules_of(result, "error")
    assert result.facts["signature"] == "invalid"
    assert "changed after it was signed" in result.facts["signature_reason"]
    assert result.message.startswith("1 error finding: signature.valid")
    assert not next(c for c in result.checks if c.step == "signature").passed


def test_an_unsigned_document_is_a_warning_strict_and_info_lenient() -> None:
    data = package_to_bytes(samples.document())
    strict = check_message(data, name="unsigned.edxml")
    lenient = check_message(data, name="unsigned.edxml", profile="lenient")
    assert strict.outcome == lenient.outcome == "pass"
    assert [f.severity for f in strict.findings if f.rule == "signature.missing"] == ["warning"]
    assert [f.severity for f in lenient.findings if f.rule == "signature.missing"] == ["info"]
    assert strict.facts["signature"] == "none"


def test_an_unsigned_status_passes_without_signature_findings() -> None:
    data = package_to_bytes(samples.status(samples.document(), "03"))
    result = check_message(data, name="status.edxml")
    assert result.outcome == "pass", result.findings
    assert result.facts["kind"] == "status"
    assert not {r for r in rules_of(result) if r.startswith("signature.")}


def test_the_vxp_sample_kit_has_a_decided_outcome_for_every_file(kit: Path) -> None:
    report = check_paths([kit], profile="lenient")
    by_name = {Path(r.id).name: r for r in report.results}
    assert set(by_name) == {p.name for p in kit.glob("*.edxml")}
    assert report.kind == "messages"
    assert report.profile == "lenient"
    # Four bytes before the XML declaration: not XML at all.
    assert by_name["edoc_new.edxml"].outcome == "fail"
    assert rules_of(by_name["edoc_new.edxml"]) == {"xml.wellformed"}
    # Legacy un-namespaced RSA-SHA1 signatures over content changed after signing.
    update = by_name["edoc_update.edxml"]
    assert {"signature.valid", "signature.legacy", "read.signature"} <= rules_of(update)
    assert update.facts["signature"] == "invalid"
    assert update.facts["signature_form"] == "legacy-qcvn"
    # An undeclared xlink prefix: readable leniently, but the signature cannot be checked.
    assert by_name["edoc.edxml"].facts["signature"] == "unverifiable"
    # The status packages are unsigned and pass leniently.
    statuses = [r for n, r in by_name.items() if n.startswith("status")]
    assert len(statuses) == 10
    assert all(r.outcome == "pass" and r.facts["kind"] == "status" for r in statuses)
    for result in report.results:
        path = kit / Path(result.id).name
        assert result.facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.exit_code == 1


def test_the_kit_under_strict_fails_statuses_on_their_schema(kit: Path) -> None:
    result = check_paths([kit / "status_inbox_01.edxml"]).results[0]
    assert result.outcome == "fail"
    assert rules_of(result, "error") == {"xml.schema"}


# hostile and malformed XML -----------------------------------------------------------------------
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<lolz>&lol3;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&xxe;</edXML>'
)
DEEP = b"<a>" * 10_000 + b"</a>" * 10_000


@pytest.mark.parametrize(
    "data", [BILLION_LAUGHS, EXTERNAL_ENTITY, DEEP], ids=["billion-laughs", "xxe", "deep"]
)
def test_hostile_xml_is_a_finding_not_an_exception(data: bytes) -> None:
    result = check_message(data, name="attack.xml")
    assert result.outcome == "fail"
    assert rules_of(result) == {"xml.hostile"}
    assert result.facts["kind"] == "xml"
    assert "root:" not in result.model_dump_json()  # no file was read into the result


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"<edXML><MessageHeader></edXML>", "xml.wellformed"),
        (b"  \r\n<root>not edXML</root>", "package.kind"),
        (b"\xef\xbb\xbf<a/>", "package.kind"),
        (b"garbage", "xml.wellformed"),
        (b"", "xml.wellformed"),
    ],
    ids=["mismatched-tags", "other-xml", "bom", "garbage", "empty"],
)
def test_unreadable_xml_content_fails_with_its_rule(data: bytes, rule: str) -> None:
    result = check_message(data, name="bad.xml")
    assert result.outcome == "fail"
    assert rules_of(result) == {rule}
    assert result.checks[0].step == "read"
    assert not result.checks[0].passed


def test_malformed_xml_says_where() -> None:
    result = check_message(b"<edXML>\n<a>\n</b></edXML>", name="bad.xml")
    (finding,) = result.findings
    assert finding.location.startswith("line 3")


def test_a_named_kind_that_does_not_match_is_package_kind() -> None:
    data = package_to_bytes(samples.document())
    result = check_message(data, name="doc.edxml", kind="status")
    assert result.outcome == "fail"
    assert "package.kind" in rules_of(result, "error")
    # Named as JSON, an XML file is not JSON.
    as_dossier = check_message(data, name="doc.edxml", kind="dossier")
    assert rules_of(as_dossier) == {"dossier.json"}


def test_an_unknown_kind_or_target_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no message kind"):
        check_message(b"<a/>", name="x", kind="letter")
    with pytest.raises(ConfigurationError, match="no dossier target"):
        check_message(b"<a/>", name="x", target="soap")


# dossiers ----------------------------------------------------------------------------------------
def test_a_valid_dossier_passes() -> None:
    data = samples.dossier().to_wire_json("classic")
    result = check_message(data, name="dossier.json")
    assert result.outcome == "pass", result.findings
    assert result.facts["kind"] == "dossier"
    assert result.facts["payload"] == "sync-item"
    assert result.title == "dossier: dossier.json"


def test_an_invalid_dossier_fails_with_the_dossier_rules() -> None:
    raw = json.loads(samples.dossier().to_wire_json("classic"))
    del raw["MaTTHC"]
    raw["NgayTiepNhan"] = "not a date"
    result = check_message(json.dumps(raw).encode(), name="broken.json")
    assert result.outcome == "fail"
    assert {"dossier.required", "dossier.date"} <= rules_of(result, "error")


def test_an_illegal_transition_in_a_series_of_steps_fails() -> None:
    dossier = samples.dossier()
    at = dossier.received_at
    assert at is not None
    steps = [
        samples.dossier_step(dossier.code, DossierStatus(s), at=at) for s in (2, 10, 4)
    ]  # returned (10) is final: processing again is not a move the table allows
    body = b"[" + b",".join(s.to_wire_json("classic") for s in steps) + b"]"
    result = check_message(body, name="steps.json")
    assert result.facts["payload"] == "array of progress-item"
    assert result.facts["items"] == 3
    assert "dossier.transition" in rules_of(result)


@pytest.mark.parametrize(
    ("data", "rule", "where"),
    [
        (b'{"MaHoSo": ', "dossier.json", "line 1, column 12"),
        (b'{"MaHoSo": "\xff\xfe"}', "dossier.json", "offset 12"),
        (b'{"TrangThaiHoSo": NaN}', "dossier.json", "(payload)"),
        (b'{"foo": 1}', "dossier.kind", "(payload)"),
        (b"[1, 2]", "dossier.kind", "(payload)"),
        (b"[" * 100_000 + b"]" * 100_000, "dossier.json", "(payload)"),
    ],
    ids=["truncated", "not-utf8", "nan", "unknown-keys", "no-objects", "deep"],
)
def test_unreadable_json_fails_with_its_rule(data: bytes, rule: str, where: str) -> None:
    result = check_message(data, name="payload.json")
    assert result.outcome == "fail"
    assert [(f.rule, f.location) for f in result.findings] == [(rule, where)]
    assert result.facts["kind"] == "json"


# overrides ---------------------------------------------------------------------------------------
def test_overrides_apply_to_the_kits_own_rules(kit: Path) -> None:
    data = (kit / "edoc_new.edxml").read_bytes()
    assert check_message(data, name="a").outcome == "fail"
    relaxed = check_message(data, name="a", overrides={"xml.wellformed": "warning"})
    assert relaxed.outcome == "pass"
    assert [f.severity for f in relaxed.findings] == ["warning"]
    dropped = check_message(data, name="a", overrides={"xml": "off"})
    assert dropped.findings == []
    assert dropped.rules == []


def test_overrides_exact_rule_wins_over_prefix_and_longest_prefix_wins() -> None:
    findings = [
        Finding(rule="signature.valid", severity="error", location="x", message="m"),
        Finding(rule="signature.legacy", severity="warning", location="x", message="m"),
        Finding(rule="business.revoke.target", severity="error", location="x", message="m"),
    ]
    out = apply_overrides(
        findings,
        {
            "signature": "info",
            "signature.valid": "error",
            "business": "off",
            "business.revoke": "warning",
        },
    )
    assert [(f.rule, f.severity) for f in out] == [
        ("signature.valid", "error"),
        ("signature.legacy", "info"),
        ("business.revoke.target", "warning"),
    ]


def test_parse_overrides_names_the_known_rules_on_a_bad_rule() -> None:
    assert parse_overrides(["signature=off", "xml.schema = WARNING"]) == {
        "signature": "off",
        "xml.schema": "warning",
    }
    with pytest.raises(ConfigurationError, match=r"known rules: .*xml\.wellformed"):
        parse_overrides(["signatures=off"])
    with pytest.raises(ConfigurationError, match="level must be one of"):
        parse_overrides(["xml.schema=fatal"])
    with pytest.raises(ConfigurationError, match="RULE=LEVEL"):
        parse_overrides(["xml.schema"])


# paths, folders, stdin ---------------------------------------------------------------------------
def test_folders_are_walked_for_messages_only(tmp_path: Path) -> None:
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "doc.EDXML").write_bytes(package_to_bytes(samples.document()))
    (tmp_path / "d.json").write_bytes(samples.dossier().to_wire_json("classic"))
    (tmp_path / "notes.txt").write_text("not a message")
    (tmp_path / "x.xml").write_bytes(b"<oops")
    report = check_paths([tmp_path])
    names = sorted(Path(r.id).name for r in report.results)
    assert names == ["d.json", "doc.EDXML", "x.xml"]
    assert report.counts() == {"pass": 2, "fail": 1, "error": 0, "skipped": 0}


def test_a_missing_path_is_an_error_and_the_rest_go_on(tmp_path: Path) -> None:
    good = tmp_path / "d.json"
    good.write_bytes(samples.dossier().to_wire_json("classic"))
    empty = tmp_path / "empty"
    empty.mkdir()
    report = check_paths([tmp_path / "missing.xml", good, empty])
    outcomes = [r.outcome for r in report.results]
    assert outcomes == ["error", "pass", "error"]
    assert "No such file" in report.results[0].message
    assert "no *.xml" in report.results[2].message
    assert report.exit_code == 2


def test_stdin_is_read_once(signed: bytes) -> None:
    report = check_paths(["-"], stdin=io.BytesIO(signed))
    (result,) = report.results
    assert result.id == "<stdin>"
    assert result.outcome == "pass"
    assert result.facts["sha256"] == hashlib.sha256(signed).hexdigest()


def _large_document() -> bytes:
    """A strictly valid package of about 16 MiB: past the in-memory parse, so streamed."""
    pdf = samples.pdf_bytes()
    filler = os.urandom(12 << 20)  # 12 MiB that no ZIP can shrink
    attachment = Attachment.from_bytes("Phụ lục lớn.pdf", pdf + filler, content_id="big")
    return package_to_bytes(samples.document(attachments=[attachment]))


def test_a_large_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    data = _large_document()
    path = tmp_path / "large.edxml"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    size = len(data)
    del data
    tracemalloc.start()
    try:
        report = check_paths([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (result,) = report.results
    assert result.outcome == "pass", result.findings
    assert result.facts["size"] == size
    assert result.facts["sha256"] == digest
    # Python-side memory stays well under the file's size (attachments go to spools).
    assert peak < size // 2, (peak, size)


def test_large_stdin_is_spooled_and_checked(tmp_path: Path) -> None:
    data = _large_document()
    report = check_paths(["-"], stdin=io.BytesIO(data))
    (result,) = report.results
    assert result.outcome == "pass", result.findings
    assert result.facts["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_oversized_json_payload_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:  # sparse: no disk, no memory
        fh.truncate((64 << 20) + 1)
    result = check_paths([path]).results[0]
    assert result.outcome == "fail"
    assert rules_of(result) == {"dossier.json"}
    assert "larger than" in result.findings[0].message


# the CLI -----------------------------------------------------------------------------------------
def run(*args: str | Path, stdin: bytes | None = None) -> Result:
    runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "120"})
    result = runner.invoke(app, [str(a) for a in args], input=stdin, prog_name="lgsp")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_text_report_and_exit_codes(kit: Path, tmp_path: Path) -> None:
    failing = run("conformance", "messages", kit / "edoc_new.edxml")
    assert failing.exit_code == 1
    assert "FAIL  xml:" in failing.stdout
    assert "error xml.wellformed line 1, column 1:" in failing.stdout
    good = tmp_path / "d.json"
    good.write_bytes(samples.dossier().to_wire_json("classic"))
    passing = run("conformance", "messages", good)
    assert passing.exit_code == 0, passing.stdout
    assert "1 result: 1 pass, 0 fail, 0 error, 0 skipped: PASSED" in passing.stdout
    unreadable = run("conformance", "messages", good, tmp_path / "nope.edxml")
    assert unreadable.exit_code == 2
    assert "ERROR unreadable:" in unreadable.stdout


def test_cli_severity_and_profile(kit: Path) -> None:
    path = kit / "status_inbox_01.edxml"
    assert run("conformance", "messages", path).exit_code == 1
    assert run("conformance", "messages", path, "--profile", "lenient").exit_code == 0
    relaxed = run("conformance", "messages", path, "--severity", "xml.schema=warning")
    assert relaxed.exit_code == 0
    assert "xml.schema=warning" in relaxed.stdout


def test_cli_bad_options_are_usage_errors(tmp_path: Path) -> None:
    bad = run("conformance", "messages", tmp_path, "--severity", "nosuch=off")
    assert bad.exit_code == 2
    assert "known rules:" in bad.output
    assert "xml.wellformed" in bad.output
    assert "signature.missing" in bad.output
    assert run("conformance", "messages", tmp_path, "--severity", "xml.schema").exit_code == 2
    kind = run("conformance", "messages", tmp_path, "--kind", "letter")
    assert kind.exit_code == 2
    assert "sync-item" in kind.output
    assert run("conformance", "messages", tmp_path, "--report", "pdf").exit_code == 2


def test_cli_kind_and_target(tmp_path: Path) -> None:
    item = samples.dossier_step("000.00.01.H41-20240502-0000001", DossierStatus(4), at=_at())
    path = tmp_path / "step.json"
    path.write_bytes(item.to_wire_json("token"))
    done = run(
        "conformance", "messages", path, "--kind", "progress-item", "--target", "token",
        "--report", "json",
    )  # fmt: skip
    data = json.loads(done.stdout)
    assert data["settings"] == {"kind": "progress-item", "dossier_target": "token", "overrides": {}}
    assert data["results"][0]["facts"]["payload"] == "progress-item"


def _at():  # type: ignore[no-untyped-def]
    import datetime as dt

    from lgsp.documents import VIETNAM_TZ

    return dt.datetime(2024, 5, 2, 9, 0, tzinfo=VIETNAM_TZ)


def test_cli_stdin(signed: bytes) -> None:
    done = run("conformance", "messages", "-", "--report", "json", stdin=signed)
    assert done.exit_code == 0, done.stdout
    data = json.loads(done.stdout)
    assert data["results"][0]["id"] == "<stdin>"
    assert data["results"][0]["facts"]["signature"] == "valid"


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "html"])
def test_cli_every_format_to_a_file(kit: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    done = run("conformance", "messages", kit, "--report", fmt, "--out", out)
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Message conformance: 15 results (")
    assert lines[0].endswith(f"FAILED; report written to {out}")
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        assert json.loads(text)["counts"]["fail"] >= 2
    elif fmt == "junit":
        root = etree.fromstring(text.encode())
        assert root.tag == "testsuites"
        assert root.get("tests") == "15"
    elif fmt == "html":
        assert "edoc_update.edxml" in text
        assert "<script" not in text.lower()
    else:
        assert "edoc_new.edxml" in text


def test_cli_report_that_cannot_be_written_is_a_usage_error(kit: Path, tmp_path: Path) -> None:
    done = run("conformance", "messages", kit / "status.edxml", "--out", tmp_path / "no" / "r.txt")
    assert done.exit_code == 2
    assert "cannot write the report" in done.output
