"""The endpoint command and the ways to describe a target: kit files, options, a sandbox."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from lgsp.cli import app
from lgsp.conformance import KitOptions, load_cases, select
from lgsp.conformance.targets import PartyValues, load_target, target_from_values
from lgsp.errors import ConfigurationError
from lgsp.sandbox import Sandbox, SandboxConfig

ENV = {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": "150"}

KIT_FILE = """
profile = "vxp"
url = "{url}"

[kit]
delivery_timeout = 3.5

[sender]
organ = "000.00.00.G22"
organ_name = "Văn phòng Chính phủ"

[sender.documents]
kind = "vxp"
endpoint = "{url}/vxp"
system_id = "vxp.saas.03"
secret = "${{KIT_SECRET_A}}"

[receiver]
organ = "000.00.00.H41"

[receiver.documents]
kind = "vxp"
endpoint = "{url}/vxp"
system_id = "vxp.saas.07"
secret = "${{KIT_SECRET_B}}"
"""


def run(*args: str | Path, env: dict[str, Any] | None = None) -> Result:
    runner = CliRunner(env={**ENV, **(env or {})})
    result = runner.invoke(app, [str(a) for a in args], prog_name="lgsp")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig.demo()) as running:
        yield running


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- kit files ------------------------------------------------------------------------------


def test_a_kit_file_reads_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIT_SECRET_A", "from-env-a")
    monkeypatch.setenv("KIT_SECRET_B", "from-env-b")
    file = tmp_path / "kit.toml"
    file.write_text(KIT_FILE.format(url="http://127.0.0.1:9"), encoding="utf-8")
    target = load_target(file)
    assert target.profile == "vxp"
    assert target.options.delivery_timeout == 3.5
    assert target.sender.organ == "000.00.00.G22"
    assert target.sender.organ_name == "Văn phòng Chính phủ"
    docs = target.sender.settings.documents
    assert docs is not None and docs.secret.get_secret_value() == "from-env-a"  # type: ignore[union-attr]
    assert target.receiver is not None and target.receiver.organ == "000.00.00.H41"


def test_a_kit_file_names_the_missing_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KIT_SECRET_A", raising=False)
    monkeypatch.setenv("KIT_SECRET_B", "b")
    file = tmp_path / "kit.toml"
    file.write_text(KIT_FILE.format(url="http://127.0.0.1:9"), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="KIT_SECRET_A is not set"):
        load_target(file)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('url = "http://x"\n[kit]\nspeed = 1\n[sender]\norgan = "A"', "unknown speed"),
        ('url = "http://x"\n', "no \\[sender\\] table"),
        ('[sender]\norgan = "A"', "no url"),
        ('profile = "ftp"\nurl = "http://x"\n[sender]\norgan = "A"', "profile must be one of"),
        ("url = ", "not valid TOML"),
        ('url = "http://x"\n[sender]\ndocuments = { kind = "vxp" }', "sender.organ"),
    ],
)
def test_a_bad_kit_file_is_a_configuration_error(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "kit.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        load_target(file)


def test_values_build_each_profile_and_name_what_is_missing() -> None:
    vxp = target_from_values(
        "vxp",
        "http://127.0.0.1:9/vxp",
        sender=PartyValues(organ="000.00.00.G22", system_id="vxp.saas.03", secret="x"),
    )
    assert vxp.receiver is None and vxp.sender.organ == "000.00.00.G22"
    with pytest.raises(ConfigurationError, match="--client-id"):
        target_from_values("gateway", "http://127.0.0.1:9", sender=PartyValues(organ="A"))
    with pytest.raises(ConfigurationError, match="--password"):
        target_from_values(
            "portal",
            "http://127.0.0.1:9",
            sender=PartyValues(),
            username="u",
            dstcode="d",
            madonvi="000.00.01.H41",
        )
    hub = target_from_values(
        "soap-hub",
        "http://127.0.0.1:9/soap/DocumentHub",
        sender=PartyValues(organ="000.00.00.G22"),
        receiver=PartyValues(organ="000.00.00.H41"),
        options=KitOptions(latency_budget=9.0),
    )
    assert hub.receiver is not None and hub.options.latency_budget == 9.0


# --- the command ----------------------------------------------------------------------------


def test_list_shows_the_selected_cases() -> None:
    result = run("conformance", "endpoint", "--profile", "vxp", "--list")
    assert result.exit_code == 0, result.output
    expected = [c.id for c in select(load_cases(), None, "vxp")]
    assert expected, "the shipped suite has cases for vxp"
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == expected


def test_a_selector_matching_nothing_is_a_usage_error() -> None:
    result = run("conformance", "endpoint", "--cases", "no-such-area.*", "--list")
    assert result.exit_code == 2
    assert "matches no case" in result.output


def test_an_unreachable_target_exits_3() -> None:
    url = f"http://127.0.0.1:{closed_port()}/vxp"
    result = run(
        "conformance",
        "endpoint",
        "--target",
        url,
        "--organ",
        "000.00.00.G22",
        "--system-id",
        "vxp.saas.03",
        "--secret",
        "x",
    )
    assert result.exit_code == 3, result.output
    assert "cannot reach" in result.output


def test_missing_credentials_are_a_usage_error() -> None:
    result = run("conformance", "endpoint", "--target", "http://127.0.0.1:9", "--organ", "A")
    assert result.exit_code == 2
    assert "needs --system-id" in result.output


def test_a_run_against_a_sandbox_by_url_writes_every_report(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cases = ",".join(c.id for c in select(load_cases(), "tag:smoke", "vxp")) or "documents"
    outs = [tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"]
    result = run(
        "conformance",
        "endpoint",
        "--target",
        f"{sandbox.url}/vxp",
        "--profile",
        "vxp",
        "--organ",
        "000.00.00.G22",
        "--system-id",
        "vxp.saas.03",
        "--peer-organ",
        "000.00.00.H41",
        "--peer-system-id",
        "vxp.saas.07",
        "--cases",
        cases,
        *[a for o in outs for a in ("--out", str(o))],
        env={"LGSP_KIT_SECRET": "sandbox-secret-a", "LGSP_KIT_PEER_SECRET": "sandbox-secret-b"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(outs[0].read_text("utf-8"))
    outcomes = {r["outcome"] for r in data["results"]}
    assert outcomes == {"pass"}, data["results"]
    assert outs[1].read_text("utf-8").lstrip().startswith("<?xml")
    assert "<html" in outs[2].read_text("utf-8").lower()
    # the secrets given through the environment appear in no report
    for out in outs:
        text = out.read_text("utf-8")
        assert "sandbox-secret-a" not in text and "sandbox-secret-b" not in text


def test_a_target_one_level_off_fails_with_a_hint_at_the_url(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    result = run(
        "conformance",
        "endpoint",
        "--target",
        sandbox.url,  # the sandbox's root, not its VXP endpoint URL/vxp
        "--profile",
        "vxp",
        "--organ",
        "000.00.00.G22",
        "--system-id",
        "vxp.saas.03",
        "--cases",
        "platform",
        "--out",
        str(tmp_path / "r.json"),
        env={"LGSP_KIT_SECRET": "sandbox-secret-a"},
    )
    assert result.exit_code == 1, result.output
    assert "got HTTP 404: check that --target is the VXP endpoint itself" in result.output
