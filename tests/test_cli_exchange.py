"""``lgsp send``, ``receive``, ``status`` and ``sandbox`` against a loopback platform.

The platform is tests/_fake_vxp.py (a toy VXP that checks the SDK signature of every call)
behind tests/_servers.py, plus a small classic portal adapter; the CLI reaches it with a TOML
profile (``--config``) or the ``--sandbox URL`` shortcut. docs/cli.md's ``check: cli`` blocks
run here too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from _fake_vxp import FakeVxp
from _servers import Reply, refused_port, serve
from conftest import build_package, build_status
from lgsp.cli import app
from lgsp.documents import VIETNAM_TZ, TraceHeader, package_to_bytes
from lgsp.sandbox.config import SandboxConfig
from lgsp.signatures import KeySigner, sign_package
from lgsp.testing.pki import Identity, make_pki

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "cli.md"
UNIT = "000.00.12.H49"
ENV = {
    "NO_COLOR": "1",
    "FORCE_COLOR": None,
    "COLUMNS": "120",
    # no waiting between retries: the tests stay quick and never time anything
    "LGSP_RETRIES__BASE_DELAY": "0",
    "LGSP_RETRIES__MAX_DELAY": "0",
}


# the platform ------------------------------------------------------------------------------------
class Axis(FakeVxp):
    """The toy VXP, refusing packages sent to the organ code 000.00.00.X99."""

    def op_sendEdoc(self, params: dict[str, str], body: bytes) -> dict[str, Any]:  # noqa: N802
        if "X99" in params.get("to", ""):
            return {"status": "FAIL", "ErrorCode": "-3", "ErrorDesc": "unknown receiver X99"}
        return super().op_sendEdoc(params, body)


class Portal:
    """A classic DVCQG adapter: login with dstcode, DongBoHoSoMC, the catalogues.

    A batch holding a procedure code it does not know is refused as a whole, like the
    portal does (one error_code for the call)."""

    KNOWN = frozenset({"1.005129", "1.001193"})

    def __init__(self) -> None:
        self.synced: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []

    def __call__(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        data = json.loads(body or b"{}")
        if path.endswith("/auth"):
            if headers.get("dstcode") != "DST-H41" or data.get("password") != "sandbox-portal":
                return Reply.json({"error_code": 401, "message": "sai thông tin đăng nhập"})
            return Reply.json({"error_code": 0, "session": "phien-1"})
        if data.get("session") != "phien-1":
            return Reply.json({"error_code": "-1", "message": "phiên hết hạn"})
        self.calls.append(data)
        if data.get("service") == "DongBoHoSoMC":
            return self.sync(data)
        return self.catalogue(str(data.get("service")))

    def sync(self, data: dict[str, Any]) -> Reply:
        unknown = [i["MaTTHC"] for i in data["data"] if i.get("MaTTHC") not in self.KNOWN]
        if unknown:
            return Reply.json({"error_code": 1, "message": f"MaTTHC {unknown[0]} không tồn tại"})
        for item in data["data"]:
            self.synced[item["MaHoSo"]] = {**item, "isUpdating": data.get("isUpdating")}
        return Reply.json({"error_code": 0, "message": "thành công"})

    @staticmethod
    def catalogue(service: str) -> Reply:
        catalogues: dict[str, list[dict[str, Any]]] = {
            "LayDanhSachTTHC": [
                {"MATTHC": "1.005129", "TENTTHC": "Cấp giấy phép xây dựng"},
                {"MATTHC": "1.001193", "TENTTHC": "Đăng ký khai sinh"},
            ],
            "LayDanhMucLinhVuc": [{"MALINHVUC": "G09-HT", "TENLINHVUC": "Hộ tịch"}],
            "LayDanhMucCoQuan": [
                {"MADONVI": UNIT, "TENDONVI": "Sở Xây dựng tỉnh Thừa Thiên Huế", "CAPDONVI": "2"}
            ],
        }
        if service in catalogues:
            return Reply.json({"error_code": 0, "result": catalogues[service]})
        return Reply.json({"error_code": 1, "message": f"không có dịch vụ {service}"})


class Platform:
    """The VXP axis under /vxp and the portal under /portal, on one loopback server."""

    def __init__(self, *, secrets: dict[str, str] | None = None) -> None:
        self.axis = Axis(secrets=secrets) if secrets else Axis()
        self.portal = Portal()
        self.url = ""

    def __call__(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        if path.startswith("/portal/"):
            return self.portal(path.split("?", 1)[0], headers, body)
        status, reply_headers, data = self.axis.handle(method, path, list(headers.items()), body)
        return Reply(status, tuple(reply_headers), data)


@contextlib.contextmanager
def running(handler: Platform) -> Iterator[Platform]:
    """``handler`` served on a loopback port for the ``with`` block (its ``url`` set)."""
    with serve(handler) as server:
        handler.url = server.url("")
        yield handler


@pytest.fixture
def platform() -> Iterator[Platform]:
    with running(Platform()) as handler:
        yield handler


@pytest.fixture
def demo_platform() -> Iterator[Platform]:
    """The same platform provisioned with the demo credentials that --sandbox uses."""
    demo = SandboxConfig.demo()
    with running(Platform(secrets={s.system_id: s.secret for s in demo.systems})) as handler:
        yield handler


def write_config(
    folder: Path,
    url: str,
    *,
    system: str = "vxp.saas.03",
    secret: str = "sender-secret",
    name: str = "lgsp.toml",
) -> Path:
    """A TOML deployment: the axis as ``system`` and the portal, at ``url``."""
    path = folder / name
    path.write_text(
        f"""
[documents]
kind = "vxp"
endpoint = "{url}/vxp"
system_id = "{system}"
secret = "{secret}"

[dossiers]
kind = "portal"
adapter_url = "{url}/portal"
auth_endpoint = "/auth"
integration_endpoint = "/integration"
share_endpoint = "/share"
username = "tich-hop"
password = "sandbox-portal"
dstcode = "DST-H41"
madonvi = "{UNIT}"

[timeouts]
connect = 5
read = 10
""",
        encoding="utf-8",
    )
    return path


def run(*args: str | Path, stdin: bytes | None = None, env: dict[str, Any] | None = None) -> Result:
    """The app in-process; anything but a clean exit is a test failure."""
    runner = CliRunner(env={**ENV, **(env or {})})
    result = runner.invoke(app, [str(a) for a in args], input=stdin, prog_name="lgsp")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def package_file(folder: Path, name: str, **overrides: Any) -> Path:
    path = folder / name
    path.write_bytes(package_to_bytes(build_package(**overrides)))
    return path


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output


# send --------------------------------------------------------------------------------------------
def test_send_prints_one_json_object_per_package(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    a = package_file(tmp_path, "a.edxml", subject="Công văn số một")
    b = package_file(tmp_path, "b.edxml", subject="Công văn số hai")
    result = run("send", a, b, "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json_lines(result.stdout)
    assert [r["path"] for r in rows] == [str(a), str(b)]
    assert all(r["accepted"] and r["error"] is None for r in rows)
    assert {r["doc_id"] for r in rows} == set(platform.axis.docs)
    assert set(rows[0]) >= {"doc_id", "accepted", "code", "message", "payload_sha256", "retry_safe"}
    stored = platform.axis.docs[rows[0]["doc_id"]]
    assert stored.content == a.read_bytes() and stored.receivers == ["000.00.00.H41"]


def test_verbose_logs_each_call_without_secrets(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    package = package_file(tmp_path, "a.edxml", subject="Có nhật ký")
    result = run("send", package, "--config", config, "-v", "--format", "json")
    assert result.exit_code == 0
    (line,) = result.stderr.splitlines()
    assert line.startswith("event='lgsp.call'") and "operation='sendEdoc'" in line
    assert "sender-secret" not in result.stderr
    quiet = run("send", package, "--config", config)
    assert quiet.stderr == ""


def test_send_lists_a_refusal_with_its_code_and_exits_1(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    good = package_file(tmp_path, "good.edxml", subject="Gửi đúng nơi")
    result = run("send", good, "--to", "000.00.00.X99", "--config", config)
    assert result.exit_code == 1
    assert "unknown receiver X99" in result.stdout and "-3" in result.stdout
    assert "0 of 1 accepted" in result.stdout
    assert platform.axis.docs == {}


def test_send_stdin_and_unreadable_file(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    junk = tmp_path / "junk.edxml"
    junk.write_text("không phải XML", encoding="utf-8")
    data = package_to_bytes(build_package(subject="Từ đầu vào chuẩn"))
    result = run("send", "-", junk, "--config", config, "--format", "json", stdin=data)
    assert result.exit_code == 2
    piped, broken = json_lines(result.stdout)
    assert piped["accepted"] and piped["path"] == "-"
    assert broken["accepted"] is None and broken["error"].startswith(
        f"cannot read {junk}: XMLError"
    )
    missing = run("send", tmp_path / "none.edxml", "--config", config)
    assert missing.exit_code == 2 and "no such file" in missing.stdout


def test_send_transport_failure_is_exit_3_and_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{refused_port()}")
    a = package_file(tmp_path, "a.edxml", subject="Một")
    b = package_file(tmp_path, "b.edxml", subject="Hai")
    result = run("send", a, b, "--config", config)
    assert result.exit_code == 3
    no_traceback(result)
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith(f"lgsp: {a}: sendEdoc") and "safe to try again" in errors[0]
    assert "0 of 2 accepted" in result.stdout
    as_json = run("send", a, b, "--config", config, "--format", "json")
    assert as_json.exit_code == 3 and as_json.stderr == ""
    first, second = json_lines(as_json.stdout)
    assert first["accepted"] is None and "connect" in first["error"].lower()
    assert second["error"] == "not sent: an earlier package met a transport failure"


def test_send_with_an_outbox_never_sends_twice(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    package = package_file(tmp_path, "a.edxml", subject="Một lần thôi")
    outbox = tmp_path / "outbox.db"
    first = run("send", package, "--outbox", outbox, "--config", config, "--format", "json")
    second = run("send", package, "--outbox", outbox, "--config", config)
    assert first.exit_code == 0 and second.exit_code == 0
    assert json_lines(first.stdout)[0]["duplicate"] is False
    assert "yes (before)" in second.stdout
    assert [op for op, _ in platform.axis.calls].count("sendEdoc") == 1


def test_send_held_in_the_outbox_is_exit_3(platform: Platform, tmp_path: Path) -> None:
    package = package_file(tmp_path, "a.edxml", subject="Chờ gửi lại")
    outbox = tmp_path / "outbox.db"
    down = write_config(tmp_path, f"http://127.0.0.1:{refused_port()}", name="down.toml")
    later = {  # one attempt, then the next one due in a minute (no jitter)
        "LGSP_RETRIES__MAX_ATTEMPTS": "1",
        "LGSP_RETRIES__BASE_DELAY": "60",
        "LGSP_RETRIES__MAX_DELAY": "60",
        "LGSP_RETRIES__JITTER": "none",
    }
    first = run("send", package, "--outbox", outbox, "--config", down, env=later)
    assert first.exit_code == 3
    up = write_config(tmp_path, platform.url)
    held = run("send", package, "--outbox", outbox, "--config", up, "--format", "json")
    assert held.exit_code == 3
    (row,) = json_lines(held.stdout)
    assert row["status"] == "QUEUED" and row["accepted"] is False
    assert row["message"] == "queued in the outbox"
    assert platform.axis.docs == {}


def test_missing_profile_and_bad_options_are_exit_2(tmp_path: Path) -> None:
    package = package_file(tmp_path, "a.edxml")
    result = run("send", package)
    assert result.exit_code == 2
    assert "no documents (VXP, gateway or SOAP hub) profile" in result.stderr
    assert "--sandbox URL" in result.stderr
    both = run("send", package, "--sandbox", "http://127.0.0.1:1", "--config", tmp_path / "x")
    assert both.exit_code == 2 and "not both" in both.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[documents]\nkind = "vxp"\nendpoint = "ftp://x"\n', encoding="utf-8")
    wrong = run("send", package, "--config", bad)
    assert wrong.exit_code == 2 and "documents.endpoint" in wrong.stderr
    assert "Traceback" not in wrong.output


# status ------------------------------------------------------------------------------------------
def test_status_lists_and_acknowledges(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    receiver = write_config(
        tmp_path, platform.url, system="vxp.saas.07", secret="receiver-secret", name="b.toml"
    )
    package = package_file(tmp_path, "a.edxml", subject="Chờ xác nhận")
    assert run("send", package, "--config", config).exit_code == 0
    (doc_id,) = platform.axis.docs

    listed = run("status", "--list", "--config", receiver, "--format", "json")
    assert listed.exit_code == 0
    data = json.loads(listed.stdout)
    assert data["list"] == "received" and [i["doc_id"] for i in data["items"]] == [doc_id]
    assert data["items"][0]["from_code"] == "000.00.00.G22"
    table = run("status", "--list", "received", "--config", receiver)
    assert doc_id in table.stdout and "1 received package" in table.stdout
    sent = run("status", "--list", "sent", "--config", config, "--format", "json")
    assert [i["sender_doc_id"] for i in json.loads(sent.stdout)["items"]] == [doc_id]

    accented = run(
        "status", doc_id, "--set", "done", "--description", "đã nhận", "--config", receiver
    )
    assert accented.exit_code == 2 and "ASCII only" in accented.output
    done = run("status", doc_id, "--set", "done", "--description", "da nhan", "--config", receiver)
    assert done.exit_code == 0 and f"{doc_id}: acknowledged done" in done.stdout
    assert platform.axis.docs[doc_id].status == "done"
    unknown = run("status", "999", "--set", "fail", "--config", receiver, "--format", "json")
    assert unknown.exit_code == 1
    refused = json.loads(unknown.stdout)
    assert refused["ok"] is False and "no such document" in refused["error"]


def test_status_needs_doc_id_and_set_or_list() -> None:
    assert run("status").exit_code == 2
    assert run("status", "1000").exit_code == 2
    assert run("status", "--list", "--set", "done").exit_code == 2
    assert run("status", "--list", "lost").exit_code == 2


# receive -----------------------------------------------------------------------------------------
def signed_package(identity: Identity, subject: str) -> bytes:
    """A package signed by ``identity``, traced now (the time its certificate is checked at)."""
    now = dt.datetime.now(VIETNAM_TZ).replace(microsecond=0)
    package = build_package(
        subject=subject, traces=[TraceHeader(organ_id="000.00.00.G22", timestamp=now)]
    )
    signer = KeySigner(identity.key, identity.certificate, identity.chain)  # type: ignore[arg-type]
    return sign_package(package_to_bytes(package), signer)


def test_receive_verifies_writes_and_keeps_refused_ones_aside(
    platform: Platform, tmp_path: Path
) -> None:
    pki = make_pki()
    who = pki.signer()
    signed = tmp_path / "signed.edxml"
    signed.write_bytes(signed_package(who, "Có chữ ký"))
    stranger = tmp_path / "stranger.edxml"
    stranger.write_bytes(signed_package(pki.untrusted(), "Chữ ký lạ"))
    unsigned = package_file(tmp_path, "unsigned.edxml", subject="Không chữ ký")
    config = write_config(tmp_path, platform.url)
    sent = run("send", signed, stranger, unsigned, "--config", config, "--format", "json")
    signed_id, stranger_id, unsigned_id = (r["doc_id"] for r in json_lines(sent.stdout))
    root = tmp_path / "root.pem"
    root.write_bytes(pki.root_pem())

    receiver = write_config(
        tmp_path, platform.url, system="vxp.saas.07", secret="receiver-secret", name="b.toml"
    )
    out = tmp_path / "in"
    args = ("receive", "--to-dir", out, "--trust", root, "--config", receiver)
    result = run(*args, "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["passes"] == 1
    assert summary["polled"] == 3 and summary["downloaded"] == 3 and summary["verified"] == 1
    (handed,) = summary["handed_over"]
    assert handed["doc_id"] == signed_id and handed["kind"] == "document"
    assert handed["subject"] == "Có chữ ký" and who.common_name in handed["signer"]
    assert Path(handed["path"]).read_bytes() == signed.read_bytes()
    assert summary["acknowledged"] == [signed_id]
    reasons = {f["doc_id"]: f["reason"] for f in summary["failed"]}
    assert reasons[unsigned_id].startswith("signature not valid")
    assert reasons[stranger_id].startswith("signer not trusted")
    assert sorted(p.name for p in out.glob("*.edxml")) == [f"{signed_id}.edxml"]
    rejected = out / ".lgsp-rejected"
    assert (rejected / f"{unsigned_id}.edxml").read_bytes() == unsigned.read_bytes()
    assert (rejected / f"{stranger_id}.edxml").read_bytes() == stranger.read_bytes()
    assert platform.axis.docs[signed_id].status == "done"
    assert platform.axis.docs[unsigned_id].status == "fail"
    text = run(*args)  # nothing left to take: the refused ones were acknowledged 'fail'
    assert text.exit_code == 0 and "0 handed over" in text.stdout


def test_receive_once_twice_hands_each_package_over_once(
    platform: Platform, tmp_path: Path
) -> None:
    config = write_config(tmp_path, platform.url)
    for n in range(3):
        package = package_file(tmp_path, f"p{n}.edxml", subject=f"Văn bản {n}")
        assert run("send", package, "--config", config).exit_code == 0
    docs = sorted(platform.axis.docs)
    receiver = write_config(
        tmp_path, platform.url, system="vxp.saas.07", secret="receiver-secret", name="b.toml"
    )
    out, inbox = tmp_path / "in", tmp_path / "inbox.db"
    base = ("receive", "--to-dir", out, "--inbox", inbox, "--no-verify", "--config", receiver)

    # first run: handed over but not acknowledged, so the axis still lists them
    first = json.loads(run(*base, "--once", "--no-ack", "--format", "json").stdout)
    assert sorted(h["doc_id"] for h in first["handed_over"]) == docs
    assert first["acknowledged"] == [] and first["verified"] is None
    written = {p.name: p.stat().st_mtime_ns for p in out.glob("*.edxml")}
    assert len(written) == 3

    second = run(*base, "--once", "--format", "json")
    assert second.exit_code == 0
    again = json.loads(second.stdout)
    assert again["handed_over"] == [] and sorted(again["already_handed"]) == docs
    assert sorted(again["acknowledged"]) == docs
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.edxml")} == written
    assert all(platform.axis.docs[d].status == "done" for d in docs)

    third = run(*base, "--once")
    assert third.exit_code == 0
    assert "polled 0, downloaded 0, not verified: 0 handed over" in third.stdout


def test_receive_watch_runs_the_passes_asked_for(platform: Platform, tmp_path: Path) -> None:
    config = write_config(tmp_path, platform.url)
    args = ("receive", "--to-dir", tmp_path / "in", "--no-verify", "--config", config)
    result = run(*args, "--watch", "0", "--passes", "2", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["passes"] == 2
    polls = [op for op, _ in platform.axis.calls].count("getReceivedEdocList")
    assert polls == 2
    assert run(*args, "--once", "--watch", "1").exit_code == 2
    assert run(*args, "--passes", "2").exit_code == 2


def test_receive_transport_failure_is_exit_3(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{refused_port()}")
    result = run("receive", "--to-dir", tmp_path / "in", "--config", config)
    assert result.exit_code == 3
    no_traceback(result)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("lgsp: getReceivedEdocList") and "safe to try again" in line
    as_json = json.loads(
        run("receive", "--to-dir", tmp_path / "in", "--config", config, "--format", "json").stdout
    )
    assert as_json["ok"] is False and "getReceivedEdocList" in as_json["errors"][0]


# the --sandbox shortcut --------------------------------------------------------------------------
def test_sandbox_shortcut_uses_the_demo_credentials(
    demo_platform: Platform, tmp_path: Path
) -> None:
    url = demo_platform.url
    package = package_file(tmp_path, "a.edxml", subject="Qua hộp cát")
    sent = run("send", package, "--sandbox", url, "--format", "json")
    assert sent.exit_code == 0, sent.output
    (doc_id,) = demo_platform.axis.docs
    assert demo_platform.axis.calls[0][1]["systemid"] == "vxp.saas.03"
    out = tmp_path / "in"
    got = run(
        "receive", "--to-dir", out, "--no-verify", "--sandbox", url, "--as-system", "vxp.saas.07"
    )
    assert got.exit_code == 0, got.output
    assert (out / f"{doc_id}.edxml").read_bytes() == package.read_bytes()
    assert demo_platform.axis.calls[-1][1]["systemid"] == "vxp.saas.07"
    unknown = run("status", "--list", "--sandbox", url, "--as-system", "vxp.saas.99")
    assert unknown.exit_code == 2 and "vxp.saas.03, vxp.saas.07" in unknown.output
    assert run("status", "--list", "--as-system", "vxp.saas.07").exit_code == 2


# lgsp sandbox ------------------------------------------------------------------------------------
def test_sandbox_command_without_the_server_module_is_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "lgsp.sandbox.server", None)  # import fails
    result = run("sandbox", "--memory")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "lgsp: the sandbox cannot start: this installation of lgsp has no sandbox "
        "(lgsp.sandbox.server is missing)"
    )
    as_json = json.loads(run("sandbox", "--format", "json").stdout)
    assert as_json["ok"] is False and as_json["db"] == "lgsp-sandbox.db"
    assert run("sandbox", "--memory", "--db", "x.db").exit_code == 2


def test_sandbox_command_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "sandbox.toml"
    bad.write_text("[[systems]]\nsystem_id = 1\n", encoding="utf-8")
    result = run("sandbox", "--memory", "--config", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"lgsp: cannot use the config {bad}: setting systems.0")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_sandbox_command_serves_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "lgsp.cli", "sandbox", "--port", str(port), "--memory"]
    process = subprocess.Popen(
        [*command, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        assert started == {
            "url": f"http://127.0.0.1:{port}",
            "db": ":memory:",
            "systems": ["vxp.saas.03", "vxp.saas.07"],
        }
        for _ in range(600):  # until it accepts connections (or the process ended)
            if process.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        listed = run("status", "--list", "--sandbox", started["url"], "--format", "json")
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.stdout)["items"] == []
        taken = run("sandbox", "--port", str(port), "--memory")
        assert taken.exit_code == 2 and "choose another --port" in taken.stderr
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"listening on" in err


def test_every_command_against_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The --sandbox shortcut against the real sandbox (not the toy axis): the paths and
    credentials it builds are the ones lgsp.sandbox serves."""
    from lgsp.sandbox.server import Sandbox
    from test_cli_dossier_sync import write_inputs

    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    package_file(tmp_path, "letter.edxml", subject="Qua hộp cát thật")
    with Sandbox() as sandbox:
        url = sandbox.url
        sent = json_lines(run("send", "letter.edxml", "--sandbox", url, "--format", "json").stdout)
        assert sent[0]["accepted"], sent
        as_b = ("--sandbox", url, "--as-system", "vxp.saas.07")
        listed = json.loads(run("status", "--list", *as_b, "--format", "json").stdout)
        assert [i["doc_id"] for i in listed["items"]] == [sent[0]["doc_id"]]
        got = run("receive", "--to-dir", "in", "--no-verify", *as_b, "--format", "json")
        assert got.exit_code == 0, got.output
        summary = json.loads(got.stdout)
        assert [h["doc_id"] for h in summary["handed_over"]] == [sent[0]["doc_id"]]
        assert summary["acknowledged"] == [sent[0]["doc_id"]]
        synced = run("dossier", "sync", "dossiers.json", "--sandbox", url, "--format", "json")
        assert synced.exit_code == 1
        assert json.loads(synced.stdout)["accepted"] == 3
        fetched = run("registry", "sync", "--cache", "r.db", "--sandbox", url, "--format", "json")
        assert fetched.exit_code == 0, fetched.output
        kinds = {k["kind"]: k["fetched"] for k in json.loads(fetched.stdout)["kinds"]}
        assert set(kinds) == {"agencies", "units", "procedures", "fields", "organs"}
        assert all(kinds.values())


# docs/cli.md -------------------------------------------------------------------------------------
def _doc_commands() -> list[tuple[str, int]]:
    """Each ``$ lgsp …`` line of the ``check: cli`` blocks, with its expected exit code
    (``# exit N`` on the line after it; 0 otherwise)."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- check: cli -->\n```console\n(.*?)```", text, flags=re.DOTALL)
    commands: list[tuple[str, int]] = []
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], 0))
            elif (found := re.match(r"# exit (\d+)", line)) and commands:
                commands[-1] = (commands[-1][0], int(found.group(1)))
    return commands


def test_docs_cli_examples_run(
    demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = _doc_commands()
    assert len(commands) >= 8, "docs/cli.md has too few checked commands"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "letter.edxml").write_bytes(package_to_bytes(build_package(subject="Thư mẫu")))
    (tmp_path / "status.edxml").write_bytes(package_to_bytes(build_status()))
    _dossier_inputs(tmp_path)
    refused = f"http://127.0.0.1:{refused_port()}"
    for command, expected in commands:
        # the sandbox's default address is the loopback platform; port 9 one that refuses
        line = re.sub(r"http://127\.0\.0\.1:9(?!\d)", refused, command)
        line = line.replace("http://127.0.0.1:8750", demo_platform.url)
        argv = shlex.split(line)
        assert argv[0] == "lgsp", line
        stdin = None
        if "<" in argv:
            at = argv.index("<")
            stdin = (tmp_path / argv[at + 1]).read_bytes()
            argv = argv[:at]
        result = run(*argv[1:], stdin=stdin)
        assert result.exit_code == expected, f"{command}\n{result.output}"
        no_traceback(result)


def _dossier_inputs(folder: Path) -> None:
    """dossiers.json and dossiers.csv as docs/cli.md describes them."""
    from test_cli_dossier_sync import write_inputs

    write_inputs(folder)
