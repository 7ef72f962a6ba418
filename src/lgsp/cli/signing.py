"""``lgsp sign`` and ``lgsp verify``: XML-DSig on edXML packages, PAdES in their PDFs."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lgsp.cli import render
from lgsp.cli.app import OutputFormat, _exit_codes, app
from lgsp.errors import LgspError, SignatureError

if TYPE_CHECKING:
    from lgsp.signatures.trust import TrustSettings
    from lgsp.signatures.verification import VerificationResult

__all__ = ["sign_command", "verify_command"]


class AlgorithmName(enum.StrEnum):
    """Signing algorithms (never SHA-1)."""

    RSA_SHA256 = "rsa-sha256"
    RSA_SHA384 = "rsa-sha384"
    RSA_SHA512 = "rsa-sha512"
    ECDSA_SHA256 = "ecdsa-sha256"
    RSA_PSS_SHA256 = "rsa-pss-sha256"


class PolicyName(enum.StrEnum):
    """Verification policies."""

    STRICT = "strict"
    INTEROP = "interop"


class RevocationMode(enum.StrEnum):
    """What to do without revocation information."""

    OFF = "off"
    SOFT = "soft"
    HARD = "hard"


def _password(env: str | None) -> bytes | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if value is None:
        raise typer.BadParameter(
            f"the environment variable {env} is not set", param_hint="--password-env"
        )
    return value.encode("utf-8")


def _fail(message: str, code: int) -> None:
    render.make_console(stderr=True).print(f"lgsp: {message}", soft_wrap=True, markup=False)
    raise typer.Exit(code)


@app.command(
    "sign",
    epilog=_exit_codes(
        "the package was signed and written to OUT",
        "signing was refused (already signed, key and certificate disagree, algorithm)",
        "IN, the key or a certificate cannot be read",
    ),
)
def sign_command(
    source: Annotated[Path, typer.Argument(metavar="IN", help="The edXML package to sign.")],
    target: Annotated[
        Path, typer.Argument(metavar="OUT", help="Where to write the signed package.")
    ],
    *,
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            metavar="KEY",
            help="Private key: PEM, or a PKCS#12 file (.p12/.pfx) that also holds the certificate.",
            show_default=False,
        ),
    ],
    cert: Annotated[
        Path | None,
        typer.Option(
            "--cert",
            metavar="CERT",
            help="The signer's certificate (PEM or DER).",
            show_default=False,
        ),
    ] = None,
    chain: Annotated[
        list[Path] | None,
        typer.Option(
            "--chain",
            metavar="PEM",
            help="Issuing CA certificates to carry in KeyInfo. Repeatable.",
            show_default=False,
        ),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            metavar="VAR",
            help="Name of an environment variable holding the key's "
            "password (never pass a password on the command line).",
            show_default=False,
        ),
    ] = None,
    algorithm: Annotated[
        AlgorithmName | None,
        typer.Option(
            help="Signature algorithm; default rsa-sha256 for RSA keys, ecdsa-sha256 for EC keys."
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Re-sign a package that is already signed.")
    ] = False,
) -> None:
    """Sign an edXML package: an enveloped XML-DSig signature in edXMLHeader (after
    TraceHeaderList), exclusive C14N, the certificate and chain in KeyInfo. Never SHA-1."""
    from lgsp.signatures import KeySigner, sign_package

    password = _password(password_env)
    try:
        if key.suffix.lower() in (".p12", ".pfx"):
            signer = KeySigner.from_pkcs12(key, password)
        else:
            if cert is None:
                raise typer.BadParameter("a PEM key needs its certificate", param_hint="--cert")
            signer = KeySigner.from_pem(key, cert, chain=chain or [], password=password)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the key or certificate: {exc}", 2)
    except LgspError as exc:  # SignatureError (key and certificate disagree) included
        _fail(str(exc), 2)
    try:
        signed = sign_package(
            source, signer, algorithm=algorithm.value if algorithm else None, replace=replace
        )
    except SignatureError as exc:
        _fail(f"cannot sign {source}: {exc}", 1)
    except (LgspError, OSError) as exc:
        _fail(f"cannot read {source}: {render.error_text(render.describe_error(exc))}", 2)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(signed)
    tmp.replace(target)
    subject = signer.certificate.subject.rfc4514_string()
    typer.echo(f"signed {source} -> {target} ({len(signed)} bytes, {subject})")


def _trust(
    anchors: list[Path], intermediates: list[Path], crls: list[Path], revocation: RevocationMode
) -> TrustSettings:
    from lgsp.signatures.trust import TrustSettings, load_certificates, load_crl

    try:
        return TrustSettings(
            anchors=[c for p in anchors for c in load_certificates(p)],
            intermediates=[c for p in intermediates for c in load_certificates(p)],
            crls=[load_crl(p) for p in crls],
            revocation=revocation.value,
        )
    except (LgspError, OSError, ValueError) as exc:
        _fail(f"cannot read a trust anchor, certificate or CRL: {exc}", 2)
    raise AssertionError  # pragma: no cover - _fail exits


def _pdf_reports(result: VerificationResult, trust: TrustSettings | None) -> list[dict[str, Any]]:
    from lgsp.documents import DocumentPackage
    from lgsp.signatures.pdf import verify_pdf

    out: list[dict[str, Any]] = []
    pkg = result.package
    if not isinstance(pkg, DocumentPackage):
        return out
    for att in pkg.attachments:
        if att.problem is not None or not att.name.lower().endswith(".pdf"):
            continue
        with att.open() as stream:
            signatures = verify_pdf(stream.read(), trust=trust)
        out.append(
            {
                "attachment": att.name,
                "signatures": [s.model_dump(mode="json") for s in signatures],
                "ok": all(s.valid for s in signatures),
            }
        )
    return out


@app.command(
    "verify",
    epilog=_exit_codes(
        "every signature is valid and trusted",
        "a signature is missing, invalid or not trusted (the reason is printed)",
        "a file, anchor or CRL cannot be read",
    ),
)
def verify_command(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH", help="Signed edXML packages.", show_default=False),
    ],
    *,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            metavar="PEM",
            help="Trust anchors (root CA certificates). Repeatable. "
            "Nothing is trusted by default: no operating-system store.",
            show_default=False,
        ),
    ] = None,
    intermediate: Annotated[
        list[Path] | None,
        typer.Option(
            "--intermediate",
            metavar="PEM",
            help="Extra CA certificates to build paths with.",
            show_default=False,
        ),
    ] = None,
    crl: Annotated[
        list[Path] | None,
        typer.Option(
            "--crl",
            metavar="FILE",
            help="Certificate revocation lists (PEM or DER). Repeatable.",
            show_default=False,
        ),
    ] = None,
    revocation: Annotated[
        RevocationMode,
        typer.Option(
            help="Without revocation information: off (don't check), soft (note it), hard "
            "(indeterminate)."
        ),
    ] = RevocationMode.SOFT,
    policy: Annotated[
        PolicyName,
        typer.Option(
            help="interop accepts the legacy form real traffic carries (SHA-1, un-namespaced "
            "Signature) and marks it; strict refuses it."
        ),
    ] = PolicyName.INTEROP,
    no_trust: Annotated[
        bool, typer.Option("--no-trust", help="Check integrity only, without trust anchors.")
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also verify the PAdES signatures of PDF attachments.")
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Text for people, JSON for programs.")
    ] = OutputFormat.TEXT,
) -> None:
    """Verify the XML-DSig signature of edXML packages: integrity, algorithms (per policy),
    the signer's certificate, and its trust against the anchors given with --trust."""
    from lgsp.signatures import verify_package

    if not trust and not no_trust:
        raise typer.BadParameter(
            "give the trust anchors (--trust ROOT.pem) or say --no-trust to check integrity only",
            param_hint="--trust",
        )
    settings = None if no_trust else _trust(trust or [], intermediate or [], crl or [], revocation)
    reports: list[dict[str, Any]] = []
    worst = 0
    for path in paths:
        report: dict[str, Any] = {"path": str(path), "readable": True, "error": None}
        try:
            result = verify_package(path, policy=policy.value, trust=settings)
        except (LgspError, OSError) as exc:
            report.update(readable=False, error=render.describe_error(exc), ok=False)
            reports.append(report)
            worst = 2
            continue
        report["signature"] = result.model_dump(mode="json")
        ok = result.ok
        if pdf and result.valid:
            try:
                report["pdf"] = _pdf_reports(result, settings)
            except LgspError as exc:
                report["pdf_error"] = str(exc)
                ok = False
            ok = ok and all(p["ok"] for p in report.get("pdf", []))
        report["ok"] = ok
        worst = max(worst, 0 if ok else 1)
        reports.append(report)
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json({"files": reports, "ok": worst == 0}))
    else:
        _print_reports(reports)
    raise typer.Exit(worst)


def _print_reports(reports: list[dict[str, Any]]) -> None:
    console = render.make_console()
    for report in reports:
        path = report["path"]
        if not report["readable"]:
            console.print(
                f"{path}: UNREADABLE - {render.error_text(report['error'])}",
                markup=False,
                soft_wrap=True,
            )
            continue
        sig = report["signature"]
        state = "OK" if report["ok"] else "FAIL"
        legacy = " (legacy)" if sig["legacy"] else ""
        console.print(f"{path}: {state}{legacy} - {sig['reason']}", markup=False, soft_wrap=True)
        if sig.get("signer"):
            console.print(
                f"  signer: {sig['signer']['subject']} (serial {sig['signer']['serial']})",
                markup=False,
            )
        if sig.get("signature_method"):
            algorithms = (
                f"{sig['signature_method']}, digest {sig['digest_method']}, "
                f"c14n {sig['canonicalization']}"
            )
            console.print(f"  algorithms: {algorithms}", markup=False, soft_wrap=True)
        if sig.get("trust"):
            console.print(
                f"  trust: {sig['trust']['outcome']} - {sig['trust']['reason']}",
                markup=False,
                soft_wrap=True,
            )
        for note in sig.get("notes", []):
            console.print(f"  note: {note}", markup=False, soft_wrap=True)
        for item in report.get("pdf", []):
            if not item["signatures"]:
                console.print(f"  pdf {item['attachment']}: not signed", markup=False)
            for s in item["signatures"]:
                state = "OK" if s["valid"] else "FAIL"
                why = s.get("reason") or s.get("coverage")
                line = f"  pdf {item['attachment']}: {state} - {why}"
                console.print(line, markup=False, soft_wrap=True)
