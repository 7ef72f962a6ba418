"""The JUnit XML report, for CI tools (GitLab, Jenkins, GitHub actions that read JUnit).

One ``testsuite`` per area (for messages: per kind), one ``testcase`` per result; a failed
result carries a ``failure``, one the kit could not carry out an ``error``, a skipped one
``skipped``; ``system-out`` holds the checks, findings and evidence. Built with lxml, every
text cleaned of what XML cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from lxml import etree

from lgsp.conformance._report_text import clean, evidence_line, finding_line
from lgsp.conformance.results import CaseResult, Evidence, Report

__all__ = ["render_junit"]

_CLASS_PART = re.compile(r"[^A-Za-z0-9_-]+")


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _counts(results: Sequence[CaseResult]) -> dict[str, str]:
    outcomes = [r.outcome for r in results]
    return {
        "tests": str(len(results)),
        "failures": str(outcomes.count("fail")),
        "errors": str(outcomes.count("error")),
        "skipped": str(outcomes.count("skipped")),
        "time": _seconds(sum(r.duration for r in results)),
    }


def _exchange(ev: Evidence) -> Iterable[str]:
    yield f"evidence {evidence_line(ev)}"
    for name, value in ev.request_headers.items():
        yield f"  > {name}: {value}"
    if ev.request_body:
        yield f"  > {ev.request_body}"
    for name, value in ev.response_headers.items():
        yield f"  < {name}: {value}"
    if ev.response_body:
        yield f"  < {ev.response_body}"


def _system_out(result: CaseResult) -> str:
    lines: list[str] = []
    if result.purpose:
        lines.append(f"purpose: {result.purpose}")
    if result.rules:
        lines.append(f"rules: {', '.join(result.rules)}")
    lines += [f"fact {key}: {value}" for key, value in result.facts.items()]
    for check in result.checks:
        mark = "ok" if check.passed else "FAILED"
        detail = f": {check.detail}" if check.detail else ""
        lines.append(f"check [{mark}] {check.step}: {check.expectation}{detail}")
    lines += [f"finding {finding_line(f)}" for f in result.findings]
    for ev in result.evidence:
        lines += _exchange(ev)
    return clean("\n".join(lines))


def _problem_text(result: CaseResult) -> str:
    lines = [
        f"[FAILED] {c.step}: {c.expectation}" + (f": {c.detail}" if c.detail else "")
        for c in result.checks
        if not c.passed
    ]
    lines += [finding_line(f) for f in result.findings if f.severity == "error"]
    return clean("\n".join(lines) or result.message)


def _testcase(parent: etree._Element, result: CaseResult, classname: str) -> None:
    case = etree.SubElement(
        parent,
        "testcase",
        name=clean(result.id),
        classname=classname,
        time=_seconds(result.duration),
    )
    message = clean(result.message)
    if result.outcome == "fail":
        kind = result.rules[0] if result.rules else "fail"
        node = etree.SubElement(case, "failure", message=message, type=clean(kind))
        node.text = _problem_text(result)
    elif result.outcome == "error":
        node = etree.SubElement(case, "error", message=message, type="error")
        node.text = _problem_text(result)
    elif result.outcome == "skipped":
        etree.SubElement(case, "skipped", message=message)
    out = _system_out(result)
    if out:
        etree.SubElement(case, "system-out").text = out


def render_junit(report: Report) -> str:
    """The report as JUnit XML (UTF-8, with its declaration)."""
    started = report.started_at.strftime("%Y-%m-%dT%H:%M:%S")
    root = etree.Element("testsuites", name=clean(report.title), timestamp=started)
    for key, value in _counts(report.results).items():
        root.set(key, value)
    root.set("time", _seconds(report.duration() or sum(r.duration for r in report.results)))
    areas: dict[str, list[CaseResult]] = {}
    for result in report.results:
        areas.setdefault(result.area or report.kind, []).append(result)
    for area, results in areas.items():
        suite = etree.SubElement(
            root,
            "testsuite",
            name=clean(f"{report.title}: {area}"),
            timestamp=started,
        )
        for key, value in _counts(results).items():
            suite.set(key, value)
        props = etree.SubElement(suite, "properties")
        for key, value in (
            ("target", report.target),
            ("profile", report.profile),
            ("lgsp_version", report.lgsp_version),
            ("kind", report.kind),
        ):
            etree.SubElement(props, "property", name=key, value=clean(value))
        classname = ".".join(
            _CLASS_PART.sub("_", part) for part in ("lgsp", "conformance", report.kind, area)
        )
        for result in results:
            _testcase(suite, result, classname)
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return body.decode("utf-8")
