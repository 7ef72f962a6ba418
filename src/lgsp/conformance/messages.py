"""Message conformance: edXML document and status packages and dossier payloads, checked.

:func:`check_message` takes the bytes of one message, tells what it is (an edXML document or
status package, or a dossier JSON payload: from the first non-blank byte, then the root element
or the keys), reads it leniently, validates it under a profile, verifies its signature when it
carries one, and returns a :class:`~lgsp.conformance.results.CaseResult`. :func:`check_paths`
does so for files, folders and standard input and returns a whole report.

What the contract validators do not cover is reported under the kit's own rules,
:data:`MESSAGE_RULES`. Content that cannot be read (malformed, hostile, not a package) is a
finding, never an exception: a vendor's broken message must fail the check, not the kit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from lgsp import __version__
from lgsp import documents as _documents
from lgsp import dossiers as _dossiers
from lgsp.conformance._message_files import SUFFIXES, Source, opened, walk
from lgsp.conformance.results import CaseResult, Check, Report
from lgsp.conformance.rules import MESSAGE_RULES, apply_overrides, known_rules, parse_overrides
from lgsp.documents import StatusPackage, read_package
from lgsp.documents.validation import SeverityOverride
from lgsp.errors import ConfigurationError, HostileXMLError, LgspError, PackageError, XMLError
from lgsp.findings import Finding, Profile
from lgsp.signatures import verify_package
from lgsp.signatures.algorithms import DIGESTS, SIGNATURES

__all__ = [
    "KINDS",
    "MAX_JSON_BYTES",
    "MESSAGE_RULES",
    "apply_overrides",
    "check_message",
    "check_paths",
    "known_rules",
    "parse_overrides",
]

#: The kinds ``kind=`` (and ``--kind``) may name: an edXML family or package, or a dossier
#: payload (any, or one of :data:`lgsp.dossiers.PAYLOADS`).
KINDS: tuple[str, ...] = ("edxml", "document", "status", "dossier", *_dossiers.PAYLOADS)
#: The largest dossier payload read (JSON is parsed whole; real payloads are kilobytes).
MAX_JSON_BYTES = 64 << 20

_BOM = b"\xef\xbb\xbf"


def family_of(kind: str | None) -> str | None:
    """``xml`` or ``json`` for a kind the caller named; None to sniff."""
    if kind is None:
        return None
    return "xml" if kind in ("edxml", "document", "status") else "json"


def sniff(head: bytes, name: str) -> str:
    """``xml`` or ``json`` from the first non-blank byte (past a UTF-8 BOM); when it is neither
    ``<`` nor ``{``/``[``, from the name (``.json``), else XML (whose reader says what is wrong)."""
    first = head.removeprefix(_BOM).lstrip(b" \t\r\n")[:1]
    if first == b"<":
        return "xml"
    if first in (b"{", b"["):
        return "json"
    return "json" if name.lower().endswith(".json") else "xml"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def read_json(src: Source, size: int) -> tuple[Any, tuple[str, str] | None]:
    """The parsed payload, or (location, message) of why it is not UTF-8 JSON."""
    if size > MAX_JSON_BYTES:
        return None, ("(payload)", f"{size} bytes: larger than the {MAX_JSON_BYTES} bytes read")
    raw = src if isinstance(src, bytes) else src.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, (f"offset {exc.start}", f"not UTF-8 text (byte {raw[exc.start]:#04x})")
    try:
        return json.loads(text, parse_constant=_refuse_constant), None
    except json.JSONDecodeError as exc:
        return None, (f"line {exc.lineno}, column {exc.colno}", f"not JSON: {exc.msg}")
    except ValueError as exc:
        return None, ("(payload)", str(exc))
    except RecursionError:
        return None, ("(payload)", "JSON nested too deeply to read")


def _where(exc: XMLError) -> str:
    if exc.line is None:
        return "document"
    return f"line {exc.line}" + (f", column {exc.column}" if exc.column is not None else "")


class _Outcome:
    """What one check learns as it goes: the kind, findings, checks and facts."""

    def __init__(self, family: str, profile: Profile) -> None:
        self.kind = family
        self.profile = profile
        self.findings: list[Finding] = []
        self.checks: list[Check] = []
        self.facts: dict[str, Any] = {}

    def finding(self, rule: str, location: str, message: str) -> None:
        severity = known_rules()[rule].severity(self.profile)
        self.findings.append(
            Finding(rule=rule, severity=severity, location=location, message=message)
        )

    def check(self, step: str, expectation: str, passed: bool, detail: str = "") -> None:
        self.checks.append(Check(step=step, expectation=expectation, passed=passed, detail=detail))


_VERIFIES = "the signature verifies (interop policy, trust not checked)"


def _check_xml(src: Source, name: str, want: str | None, out: _Outcome) -> None:
    what = "read as an edXML package"
    try:
        pkg = read_package(src, name=name)
    except XMLError as exc:  # HostileXMLError is an XMLError: DTD, entities, limits
        hostile = isinstance(exc, HostileXMLError)
        out.finding("xml.hostile" if hostile else "xml.wellformed", _where(exc), exc.cause)
        out.check("read", what, False, f"{'refused' if hostile else 'not XML'}: {exc.cause}")
        return
    except LgspError as exc:  # PackageError and anything the mapping refuses
        message = str(exc)
        if isinstance(exc, PackageError) and exc.source and message.startswith(exc.source):
            message = message[len(exc.source) :].lstrip(": ")
        out.finding("package.kind", "document", message)
        out.check("read", what, False, message)
        return
    with pkg:
        out.kind = "status" if isinstance(pkg, StatusPackage) else "document"
        out.check("read", what, True, f"{out.kind} package")
        if want in ("document", "status") and want != out.kind:
            out.finding("package.kind", "edXML", f"not a {want} package: a {out.kind} package")
        out.findings += _documents.validate(pkg, profile=out.profile)
        signed = pkg.signature_xml is not None
    out.facts["signature"] = "none"
    if signed:
        _check_signature(src, name, out)
    elif out.kind == "document":
        out.finding("signature.missing", "edXMLHeader", "the package is not signed")


def _check_signature(src: Source, name: str, out: _Outcome) -> None:
    where = "edXMLHeader/Signature"
    try:
        result = verify_package(src, policy="interop", name=name)
    except LgspError as exc:
        # The lenient reader tolerated what the signature layer cannot canonicalise (an
        # undeclared prefix): the signature cannot be checked, so it does not count as valid.
        reason = exc.cause if isinstance(exc, XMLError) else str(exc)
        out.facts.update(signature="unverifiable", signature_reason=reason)
        out.finding("signature.valid", where, f"the signature cannot be checked: {reason}")
        out.check("signature", _VERIFIES, False, reason)
        return
    out.facts.update(
        signature="valid" if result.valid else "invalid",
        signature_reason=result.reason,
        signature_form=result.form,
    )
    if result.signer is not None:
        out.facts["signer"] = result.signer.subject
    out.check("signature", _VERIFIES, result.valid, result.reason)
    if not result.valid:
        out.finding("signature.valid", where, result.reason)
    sha1 = [
        uri
        for uri, table in ((result.signature_method, SIGNATURES), (result.digest_method, DIGESTS))
        if uri is not None and uri in table and table[uri].legacy
    ]
    if sha1:
        out.finding("signature.legacy", where, f"SHA-1 algorithms: {', '.join(sha1)}")


def _check_json(src: Source, size: int, want: str | None, target: str, out: _Outcome) -> None:
    what = "read as a dossier payload"
    data, problem = read_json(src, size)
    if problem is not None:
        out.finding("dossier.json", *problem)
        out.check("read", what, False, problem[1])
        return
    try:
        if want in _dossiers.PAYLOADS:
            found, many = _dossiers.payload_kind(want), isinstance(data, list)
        else:
            found, many = _dossiers.detect_kind(data, target=target)
    except LgspError as exc:
        out.finding("dossier.kind", "(payload)", str(exc))
        out.check("read", what, False, str(exc))
        return
    out.kind = "dossier"
    out.facts["payload"] = f"array of {found.name}" if many else found.name
    if many:
        out.facts["items"] = len(data)
    out.check("read", what, True, out.facts["payload"])
    try:
        out.findings += _dossiers.validate_dossier(
            data, target=target, profile=out.profile, kind=found.name
        )
    except RecursionError:
        out.finding("dossier.json", "(payload)", "nested too deeply")


_QCVN = "conforms to QCVN 102:2016 under the {profile} profile"
_PURPOSES = {
    "document": f"The document package {_QCVN}, and its signature verifies.",
    "status": f"The status package {_QCVN}, and its signature (when present) verifies.",
    "xml": f"The file is an edXML package that {_QCVN}.",
    "dossier": "The dossier payload fits the portal's {target} contract under the {profile} "
    "profile.",
    "json": "The file is a dossier payload that fits the portal's {target} contract under the "
    "{profile} profile.",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _summary(findings: Sequence[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return ""
    first = errors[0]
    where = f"{first.rule} at {first.location}"
    text = f"{_plural(len(errors), 'error finding')}: {where}: {first.message}"
    return text if len(text) <= 240 else text[:237] + "..."


def _check(
    src: Source,
    *,
    name: str,
    size: int,
    sha256: str,
    profile: Profile,
    overrides: Mapping[str, SeverityOverride] | None,
    kind: str | None,
    target: str,
) -> CaseResult:
    began = time.perf_counter()
    head = src[:4096] if isinstance(src, bytes) else _head(src)
    family = family_of(kind) or sniff(head, name)
    out = _Outcome(family, profile)
    if family == "xml":
        _check_xml(src, name, kind, out)
    else:
        _check_json(src, size, kind, target, out)
    findings = apply_overrides(out.findings, overrides)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    infos = len(findings) - errors - warnings
    counted = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}, {infos} info"
    out.check("validate", f"no error finding under the {profile} profile", not errors, counted)
    return CaseResult(
        id=name,
        title=f"{out.kind}: {name}",
        purpose=_PURPOSES[out.kind].format(profile=profile, target=target),
        rules=sorted({f.rule for f in findings}),
        area=out.kind,
        outcome="fail" if errors else "pass",
        message=_summary(findings),
        checks=out.checks,
        findings=findings,
        duration=round(time.perf_counter() - began, 4),
        facts={"kind": out.kind, "size": size, "sha256": sha256, **out.facts},
    )


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4096)


def _validate_kind(kind: str | None, target: str) -> None:
    if kind is not None and kind not in KINDS:
        raise ConfigurationError(
            f"no message kind {kind!r} (known: {', '.join(KINDS)})", field="kind"
        )
    if target not in _dossiers.TARGETS:
        raise ConfigurationError(
            f"no dossier target {target!r} (known: {', '.join(_dossiers.TARGETS)})", field="target"
        )


def check_message(
    data: bytes,
    *,
    name: str,
    profile: Profile = "strict",
    overrides: Mapping[str, SeverityOverride] | None = None,
    kind: str | None = None,
    target: str = "classic",
) -> CaseResult:
    """Check one message's bytes: kind, reading, validation under ``profile``, signature.

    ``kind`` (a name of :data:`KINDS`) skips detection; ``target`` (``classic`` or ``token``)
    is the dossier API whose wire forms apply. The result fails when any finding, after
    ``overrides``, is an error. Raises ConfigurationError only for a wrong ``kind``/``target``.
    """
    _validate_kind(kind, target)
    return _check(
        bytes(data),
        name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        profile=profile,
        overrides=overrides,
        kind=kind,
        target=target,
    )


def _unreadable(name: str, exc: OSError) -> CaseResult:
    reason = exc.strerror or str(exc)
    return CaseResult(
        id=name,
        title=f"unreadable: {name}",
        outcome="error",
        message=f"cannot read {name}: {reason}",
        checks=[
            Check(step="read", expectation="the file can be read", passed=False, detail=reason)
        ],
        facts={"kind": None},
    )


def check_paths(
    paths: Sequence[str | Path],
    *,
    profile: Profile = "strict",
    overrides: Mapping[str, SeverityOverride] | None = None,
    kind: str | None = None,
    target: str = "classic",
    stdin: IO[bytes] | None = None,
) -> Report:
    """Check files, folders (walked for ``*.xml``, ``*.edxml``, ``*.json``) and ``-`` (standard
    input, or ``stdin``); a path that cannot be read is an ``error`` result, the rest go on."""
    _validate_kind(kind, target)
    report = Report(
        kind="messages",
        title="Message conformance",
        target=_describe(paths),
        profile=profile,
        lgsp_version=__version__,
        started_at=dt.datetime.now(dt.UTC),
        settings={
            "kind": kind or "auto",
            "dossier_target": target,
            "overrides": dict(overrides or {}),
        },
    )
    options: dict[str, Any] = {
        "profile": profile,
        "overrides": overrides,
        "kind": kind,
        "target": target,
    }
    for given in paths:
        name = str(given)
        if name == "-":
            with opened(None, stdin or sys.stdin.buffer) as (src, size, sha):
                report.results.append(_check(src, name="<stdin>", size=size, sha256=sha, **options))
            continue
        path = Path(given)
        files = walk(path) if path.is_dir() else [path]
        if path.is_dir() and not files:
            report.results.append(
                CaseResult(
                    id=name,
                    title=f"empty folder: {name}",
                    outcome="error",
                    message=f"no {', '.join('*' + s for s in SUFFIXES)} files in {name}",
                    facts={"kind": None},
                )
            )
        for file in files:
            label = str(file)
            try:
                with opened(file, None) as (src, size, sha):
                    report.results.append(_check(src, name=label, size=size, sha256=sha, **options))
            except OSError as exc:
                report.results.append(_unreadable(label, exc))
    report.finished_at = dt.datetime.now(dt.UTC)
    return report


def _describe(paths: Sequence[str | Path]) -> str:
    names = ["<stdin>" if str(p) == "-" else str(p) for p in paths]
    text = ", ".join(names)
    if len(text) <= 120:
        return text
    return f"{', '.join(names[:3])}… ({len(names)} paths)"
