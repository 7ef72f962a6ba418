"""What a conformance run leaves: one result per case (or per message), with its evidence.

Every run of the kit — messages, an endpoint suite, a counterparty session — ends in a
:class:`Report`. Its results are :class:`CaseResult` objects: the case's id, purpose and the
rule it proves, an outcome, the expectations checked (:class:`Check`), the validation
findings met on the way and the evidence (:class:`Evidence`: each request and response,
secrets and personal data masked). The renderers of :mod:`lgsp.conformance.reports` turn a
report into text, JSON, JUnit XML or one self-contained HTML page.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lgsp.findings import Finding

__all__ = ["CaseResult", "Check", "Evidence", "Outcome", "Report", "ReportKind"]

#: ``pass``: every expectation held. ``fail``: the target broke one (or a message has an error
#: finding). ``error``: the case could not be carried out (the kit's own inputs, an unreadable
#: file). ``skipped``: the case does not apply, or needs what the run was not given (a peer's
#: credentials); a skipped case is never counted as passed.
Outcome = Literal["pass", "fail", "error", "skipped"]
ReportKind = Literal["messages", "endpoint", "counterparty", "proof"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=False, extra="forbid")


class Evidence(_Model):
    """One exchange with the target, as sent and as answered, secrets masked."""

    #: The step of the case it belongs to (``1 send``) or what it was in counterparty mode.
    step: str
    operation: str | None = None
    method: str
    url: str
    request_headers: dict[str, str] = Field(default_factory=dict)
    #: The body, redacted and shortened; a binary body is described, not shown.
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = Field(default_factory=dict)
    response_body: str | None = None
    #: Why no answer came (a refused connection, a reset, a timeout), when none did.
    error: str | None = None
    duration_ms: float = 0.0
    started_at: dt.datetime | None = None


class Check(_Model):
    """One expectation of a case and whether the target met it."""

    step: str
    expectation: str
    passed: bool
    #: What was seen (``got 409 {"ErrorCode": "409"}``), said so a person can act on it.
    detail: str = ""


class CaseResult(_Model):
    """One case (or one message) and what became of it."""

    id: str
    title: str
    purpose: str = ""
    #: The rules the case proves (ids of lgsp's rule catalogues, or contract references).
    rules: list[str] = Field(default_factory=list)
    area: str = ""
    outcome: Outcome
    #: One line: why it failed, errored or was skipped (empty when it passed).
    message: str = ""
    checks: list[Check] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    duration: float = 0.0
    #: Free facts worth keeping (a file's kind, a DocId, the profile a case ran under).
    facts: dict[str, Any] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"


class Report(_Model):
    """A whole run: what was tested, under which profile, and every result."""

    kind: ReportKind
    title: str
    #: The endpoint (its URL) or what was checked (``3 files``); never a credential.
    target: str = ""
    profile: str = ""
    lgsp_version: str = ""
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    results: list[CaseResult] = Field(default_factory=list)
    #: The run's settings worth showing (selected cases, severity overrides…), no secrets.
    settings: dict[str, Any] = Field(default_factory=dict)

    def counts(self) -> dict[Outcome, int]:
        """How many results of each outcome (every outcome present, zero or not)."""
        seen = Counter(r.outcome for r in self.results)
        return {o: seen.get(o, 0) for o in ("pass", "fail", "error", "skipped")}

    @property
    def ok(self) -> bool:
        """True when nothing failed or errored (skipped cases do not make a run fail, nor pass:
        the counts say how many were skipped)."""
        return all(r.outcome in ("pass", "skipped") for r in self.results)

    @property
    def exit_code(self) -> int:
        """The worst result, as the CLI's exit codes: 0 passed (or skipped), 1 a failure,
        2 a case or file the kit could not carry out or read."""
        worst = {"pass": 0, "skipped": 0, "fail": 1, "error": 2}
        return max((worst[r.outcome] for r in self.results), default=0)

    def duration(self) -> float:
        if self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()
