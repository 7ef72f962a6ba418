"""Reports: a :class:`~lgsp.conformance.results.Report` as text, JSON, JUnit XML or HTML.

(Placeholder until the renderers land: text and JSON only.)
"""

from __future__ import annotations

from typing import Literal

from lgsp.conformance.results import Report

__all__ = ["ReportFormat", "render"]

ReportFormat = Literal["text", "json", "junit", "html"]


def render(report: Report, fmt: ReportFormat = "text") -> str:
    """The report in ``fmt``."""
    if fmt == "json":
        return report.model_dump_json(indent=2)
    lines = [f"{r.outcome:<7} {r.id}  {r.message}" for r in report.results]
    return "\n".join(lines) + "\n"
