"""The plain-text report (a terminal, a CI log) and the helpers every renderer shares.

Everything shown comes from a target or a file the kit was given: control characters are
written as visible escapes, so that a body cannot move a terminal's cursor or break an XML
report, and one-line fields stay on one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lgsp.conformance.results import CaseResult, Evidence, Report
from lgsp.findings import Finding

__all__ = [
    "OUTCOME_LABELS",
    "clean",
    "duration_text",
    "evidence_line",
    "finding_line",
    "label",
    "one_line",
    "render_text",
    "verdict",
]

# What XML 1.0 cannot carry (C0 but tab, LF, CR; surrogates; U+FFFE/U+FFFF) and what a
# terminal would obey (DEL, the C1 controls such as CSI U+009B).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

OUTCOME_LABELS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """``text`` as a string with unsafe characters written as ``\\xNN`` escapes."""
    return _UNSAFE.sub(_escape, str(text))


def one_line(text: object) -> str:
    """:func:`clean`, with line breaks folded into `` / ``."""
    return " / ".join(part for part in clean(text).splitlines() if part.strip())


def duration_text(seconds: float) -> str:
    """``12 ms`` under a second, ``1.23 s`` above."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def label(result: CaseResult) -> str:
    """The id and title, once each (a message's title already names its file)."""
    if not result.title or result.title == result.id:
        return one_line(result.id)
    if result.id in result.title:
        return one_line(result.title)
    return f"{one_line(result.id)}  {one_line(result.title)}"


def finding_line(finding: Finding) -> str:
    """``severity rule location: message``, as ``lgsp validate`` prints it."""
    return one_line(f"{finding.severity} {finding.rule} {finding.location}: {finding.message}")


def evidence_line(ev: Evidence) -> str:
    """``step: METHOD url -> status (ms)`` or the error that stood for the answer."""
    answer = str(ev.status) if ev.status is not None else "no answer"
    line = f"{ev.step}: {ev.method} {ev.url} -> {answer} ({ev.duration_ms:.0f} ms)"
    if ev.error:
        line += f" {ev.error}"
    return one_line(line)


def verdict(report: Report) -> str:
    """``PASSED`` or ``FAILED``, with what failed."""
    counts = report.counts()
    if report.ok:
        return "PASSED" if counts["pass"] else "NOTHING PASSED"
    bad = counts["fail"] + counts["error"]
    return f"FAILED ({bad} of {len(report.results)} did not pass)"


def _settings(report: Report) -> Iterable[str]:
    for key, value in report.settings.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
        else:
            shown = str(value)
        yield f"{key}={shown}"


def render_text(report: Report) -> str:
    """The report as plain text: header, counts, then one line per passing result and the
    checks, findings and evidence of every other one."""
    counts = report.counts()
    started = report.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    lines = [one_line(report.title), ""]
    rows = [
        ("target", report.target),
        ("profile", report.profile),
        ("lgsp", report.lgsp_version),
        ("started", f"{started}, took {duration_text(report.duration())}"),
        ("settings", "; ".join(_settings(report))),
    ]
    lines += [f"  {key:<9}{one_line(value)}" for key, value in rows if value]
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    n = len(report.results)
    lines += ["", f"{n} result{'' if n == 1 else 's'}: {summary}: {verdict(report)}", ""]
    for result in report.results:
        head = f"{OUTCOME_LABELS[result.outcome]:<6}{label(result)}"
        lines.append(f"{head}  ({duration_text(result.duration)})")
        if result.outcome == "pass":
            continue
        pad = " " * 6
        if result.message:
            lines.append(f"{pad}{one_line(result.message)}")
        if result.rules:
            lines.append(f"{pad}rules: {one_line(', '.join(result.rules))}")
        for check in result.checks:
            mark = "ok" if check.passed else "FAILED"
            detail = f": {check.detail}" if check.detail else ""
            lines.append(
                f"{pad}check [{mark}] {one_line(check.step)}: {one_line(check.expectation)}"
                f"{one_line(detail)}"
            )
        lines += [f"{pad}{finding_line(f)}" for f in result.findings]
        lines += [f"{pad}evidence {evidence_line(ev)}" for ev in result.evidence]
    return "\n".join(lines) + "\n"
