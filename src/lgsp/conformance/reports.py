"""Reports: a :class:`~lgsp.conformance.results.Report` as text, JSON, JUnit XML or HTML.

* ``text`` — plain text for a terminal or a CI log: the run's header and counts, one line per
  passing result, and the checks, findings and evidence of every other one.
* ``json`` — for programs; the shape is stable::

      {
        "format": "lgsp.conformance.report", "version": 1,
        "kind": "messages" | "endpoint" | "counterparty" | "proof",
        "title": str, "target": str, "profile": str, "lgsp_version": str,
        "started_at": ISO-8601, "finished_at": ISO-8601 | null, "settings": {...},
        "results": [  # CaseResult.model_dump(mode="json")
          {"id", "title", "purpose", "rules": [str], "area",
           "outcome": "pass" | "fail" | "error" | "skipped", "message",
           "checks": [{"step", "expectation", "passed", "detail"}],
           "findings": [{"rule", "severity", "location", "message"}],
           "evidence": [{"step", "operation", "method", "url", "request_headers",
                         "request_body", "status", "response_headers", "response_body",
                         "error", "duration_ms", "started_at"}],
           "duration": seconds, "facts": {...}}
        ],
        "counts": {"pass": int, "fail": int, "error": int, "skipped": int},
        "ok": bool, "exit_code": 0 | 1 | 2, "duration": seconds
      }

  New keys may be added; none is renamed or removed without a new ``version``.
* ``junit`` — JUnit XML for CI tools (one testsuite per area, one testcase per result).
* ``html`` — one self-contained page (no script, no external resource) to read and print.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from lgsp.conformance._report_html import render_html
from lgsp.conformance._report_junit import render_junit
from lgsp.conformance._report_text import render_text
from lgsp.conformance.results import Report

__all__ = ["FORMATS", "JSON_FORMAT_VERSION", "ReportFormat", "render", "to_json_data", "write"]

ReportFormat = Literal["text", "json", "junit", "html"]
FORMATS: tuple[ReportFormat, ...] = ("text", "json", "junit", "html")
JSON_FORMAT_VERSION = 1


def to_json_data(report: Report) -> dict[str, Any]:
    """The JSON report as plain data (the shape documented above)."""
    return {
        "format": "lgsp.conformance.report",
        "version": JSON_FORMAT_VERSION,
        **report.model_dump(mode="json"),
        "counts": report.counts(),
        "ok": report.ok,
        "exit_code": report.exit_code,
        "duration": report.duration(),
    }


def render(report: Report, fmt: ReportFormat = "text") -> str:
    """The report in ``fmt``; raises ValueError for a format that is not one of FORMATS."""
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return json.dumps(to_json_data(report), ensure_ascii=False, indent=2) + "\n"
    if fmt == "junit":
        return render_junit(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError(f"no report format {fmt!r} (known: {', '.join(FORMATS)})")


def write(report: Report, fmt: ReportFormat, out: Path | None) -> None:
    """Write the report to ``out`` (replaced whole: a reader never sees half a report), or to
    standard output when ``out`` is None. Raises OSError when the file cannot be written."""
    text = render(report, fmt)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)  # mkstemp makes it 0600; a report is meant to be shared
        Path(tmp).replace(out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
