"""``lgsp sign`` and ``lgsp verify`` end to end, with a test PKI made by code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lgsp
from lgsp.cli import app
from lgsp.documents import TraceHeader
from lgsp.signatures import verify_package
from lgsp.testing.pki import Identity, TestPKI, make_pki

runner = CliRunner()


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki()


@pytest.fixture
def package_file(tmp_path: Path, make_package) -> Path:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    pkg = make_package(traces=[TraceHeader(organ_id="000.00.00.H41", timestamp=now)])
    path = tmp_path / "goi.edxml"
    lgsp.write_package(pkg, path)
    return path


def _files(pki: TestPKI, who: Identity, folder: Path) -> dict[str, Path]:
    written = who.write(folder)
    (folder / "root.pem").write_bytes(pki.root_pem())
    (folder / "crl.der").write_bytes(pki.crl_der())
    return {**written, "root": folder / "root.pem", "crl": folder / "crl.der"}


def _sign(package: Path, files: dict[str, Path], out: Path, *extra: str) -> int:
    args = [
        "sign",
        str(package),
        str(out),
        "--key",
        str(files["key"]),
        "--cert",
        str(files["certificate"]),
        "--chain",
        str(files["chain"]),
        *extra,
    ]
    return runner.invoke(app, args).exit_code


def test_sign_then_verify_trusted(pki: TestPKI, package_file: Path, tmp_path: Path) -> None:
    files = _files(pki, pki.signer(), tmp_path / "id")
    out = tmp_path / "signed.edxml"
    assert _sign(package_file, files, out) == 0
    done = runner.invoke(
        app,
        [
            "verify",
            str(out),
            "--trust",
            str(files["root"]),
            "--crl",
            str(files["crl"]),
            "--format",
            "json",
        ],
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["ok"] is True
    (item,) = report["files"]
    assert item["signature"]["valid"] is True
    assert item["signature"]["trust"]["outcome"] == "passed"
    assert pki.signer().common_name in item["signature"]["signer"]["subject"]


def test_pkcs12_with_password_from_the_environment(
    pki: TestPKI, package_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = pki.ec_signer().write(tmp_path / "ec", password=b"mat-khau-thu")
    monkeypatch.setenv("LGSP_KEY_PASSWORD", "mat-khau-thu")
    out = tmp_path / "signed.edxml"
    done = runner.invoke(
        app,
        [
            "sign",
            str(package_file),
            str(out),
            "--key",
            str(files["pkcs12"]),
            "--password-env",
            "LGSP_KEY_PASSWORD",
        ],
    )
    assert done.exit_code == 0, done.output
    result = verify_package(out, policy="strict")
    assert result.valid
    assert result.signature_method is not None
    assert result.signature_method.endswith("ecdsa-sha256")


def test_revoked_signer_is_not_trusted(pki: TestPKI, package_file: Path, tmp_path: Path) -> None:
    files = _files(pki, pki.revoked(), tmp_path / "rv")
    out = tmp_path / "signed.edxml"
    assert _sign(package_file, files, out) == 0
    done = runner.invoke(
        app, ["verify", str(out), "--trust", str(files["root"]), "--crl", str(files["crl"])]
    )
    assert done.exit_code == 1
    assert "revoked" in done.output


def test_untrusted_root_fails_and_says_which_anchor_is_missing(
    pki: TestPKI, package_file: Path, tmp_path: Path
) -> None:
    files = _files(pki, pki.untrusted(), tmp_path / "ut")
    out = tmp_path / "signed.edxml"
    assert _sign(package_file, files, out) == 0
    done = runner.invoke(app, ["verify", str(out), "--trust", str(files["root"])])
    assert done.exit_code == 1
    assert "trust" in done.output


def test_tampered_package_fails(pki: TestPKI, package_file: Path, tmp_path: Path) -> None:
    files = _files(pki, pki.signer(), tmp_path / "id")
    out = tmp_path / "signed.edxml"
    assert _sign(package_file, files, out) == 0
    out.write_bytes(out.read_bytes().replace(b"000.00.00.G22", b"000.00.00.G23", 1))
    done = runner.invoke(app, ["verify", str(out), "--no-trust"])
    assert done.exit_code == 1
    assert "changed after it was signed" in done.output


def test_sign_refuses_an_already_signed_package(
    pki: TestPKI, package_file: Path, tmp_path: Path
) -> None:
    files = _files(pki, pki.signer(), tmp_path / "id")
    out = tmp_path / "signed.edxml"
    assert _sign(package_file, files, out) == 0
    assert _sign(out, files, tmp_path / "twice.edxml") == 1
    assert _sign(out, files, tmp_path / "twice.edxml", "--replace") == 0


def test_verify_needs_anchors_or_an_explicit_no_trust(package_file: Path) -> None:
    done = runner.invoke(app, ["verify", str(package_file)])
    assert done.exit_code == 2
    assert "--no-trust" in done.output


def test_verify_unreadable_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edxml"
    bad.write_bytes(b"1212<?xml version='1.0'?><edXML/>")
    done = runner.invoke(app, ["verify", str(bad), "--no-trust"])
    assert done.exit_code == 2
    assert "line 1" in done.output


def test_sign_with_a_key_that_is_not_the_certificates(
    pki: TestPKI, package_file: Path, tmp_path: Path
) -> None:
    mine = pki.signer().write(tmp_path / "a")
    other = pki.ec_signer().write(tmp_path / "b")
    done = runner.invoke(
        app,
        [
            "sign",
            str(package_file),
            str(tmp_path / "x.edxml"),
            "--key",
            str(mine["key"]),
            "--cert",
            str(other["certificate"]),
        ],
    )
    assert done.exit_code == 2
    assert "does not match" in done.output
    assert not (tmp_path / "x.edxml").exists()


def test_unreadable_trust_anchor_exits_2_without_a_traceback(
    package_file: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "root.pem"
    junk.write_bytes(b"not a certificate")
    done = runner.invoke(app, ["verify", str(package_file), "--trust", str(junk)])
    assert done.exit_code == 2
    assert "cannot read a trust anchor" in done.output
    assert "Traceback" not in done.output


def test_verify_pdf_checks_signed_pdf_attachments(
    pki: TestPKI,
    tmp_path: Path,
    make_package,  # type: ignore[no-untyped-def]
) -> None:
    """--pdf also verifies the PAdES signature of each PDF attachment: a stamped attachment
    signed by the organisation passes; the same PDF changed after signing fails."""
    from lgsp.signatures import KeySigner
    from lgsp.signatures.pdf import AttachmentStamp, sign_pdf
    from test_pdf import _pdf

    org = pki.signer()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    signed_pdf = sign_pdf(
        _pdf(),
        signer=KeySigner(org.key, org.certificate, org.chain),  # type: ignore[arg-type]
        appearance=AttachmentStamp(document_number="1234/UBND-VX", signing_time=now),
    )
    files = _files(pki, org, tmp_path / "id")
    results = {}
    for label, pdf_bytes in (("intact", signed_pdf), ("tampered", _tamper(signed_pdf))):
        pkg = make_package(
            attachments=[lgsp.Attachment.from_bytes("phu-luc.pdf", pdf_bytes)],
            traces=[TraceHeader(organ_id="000.00.00.H41", timestamp=dt.datetime.now(dt.UTC))],
        )
        package = tmp_path / f"{label}.edxml"
        lgsp.write_package(pkg, package)
        out = tmp_path / f"{label}-signed.edxml"
        assert _sign(package, files, out) == 0
        results[label] = runner.invoke(
            app,
            [
                "verify",
                str(out),
                "--trust",
                str(files["root"]),
                "--crl",
                str(files["crl"]),
                "--pdf",
                "--format",
                "json",
            ],
        )
    intact = json.loads(results["intact"].output)
    assert results["intact"].exit_code == 0, results["intact"].output
    (pdf_report,) = intact["files"][0]["pdf"]
    assert pdf_report["attachment"] == "phu-luc.pdf"
    assert pdf_report["ok"] is True
    assert len(pdf_report["signatures"]) == 1
    assert results["tampered"].exit_code == 1
    tampered = json.loads(results["tampered"].output)
    assert tampered["files"][0]["signature"]["valid"] is True  # the package itself is fine
    assert tampered["files"][0]["pdf"][0]["ok"] is False


def _tamper(pdf: bytes) -> bytes:
    """Change one byte inside the signed range (the page's content stream)."""
    at = pdf.index(b"stream", pdf.index(b"/Contents")) + 10
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
