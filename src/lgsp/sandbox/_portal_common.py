"""What both portal emulations share: requests and answers as handlers see them, refusals,
the day of a dossier code, how findings are told."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lgsp.dossiers import VIETNAM_TZ, check_transition
from lgsp.findings import Finding
from lgsp.sandbox.faults import Defect

if TYPE_CHECKING:
    from lgsp.sandbox.state import SandboxState

__all__ = [
    "Answer",
    "Call",
    "Refusal",
    "check_move",
    "errors_of",
    "findings_text",
    "read_json",
    "vietnam_day",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """What a handler sees of a request: headers (case-insensitive), query, body."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """What a handler answers: HTTP status, JSON payload, extra headers."""

    payload: Any
    status: int = 200
    headers: Mapping[str, str] | None = None


class Refusal(Exception):  # noqa: N818 - a refusal is an answer, not a failure of the sandbox
    """A call or an item the portal refuses: its error code, rule (if any) and message."""

    def __init__(
        self, code: int | str, message: str, *, rule: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        self.status = status


def vietnam_day(now: float) -> dt.date:
    """The calendar day in Vietnam at ``now`` (seconds since the epoch)."""
    return dt.datetime.fromtimestamp(now, VIETNAM_TZ).date()


def check_move(state: SandboxState, current: int, new: int, code: str) -> None:
    """:func:`lgsp.dossiers.check_transition` (raises DossierError), unless the sandbox plays
    the ``allow-illegal-transition`` defect."""
    if state.faults.plays(Defect.ALLOW_ILLEGAL_TRANSITION):
        return
    check_transition(current, new, dossier_code=code)


def errors_of(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def findings_text(errors: list[Finding], limit: int = 3) -> str:
    """``rule at place: message; …`` for the first ``limit`` errors."""
    text = "; ".join(f"{f.rule} at {f.location or '(item)'}: {f.message}" for f in errors[:limit])
    if len(errors) > limit:
        text += f"; and {len(errors) - limit} more"
    return text


def read_json(body: bytes) -> Any:
    """The request body as JSON, or a Refusal saying it is not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refusal("invalid_request", f"the body is not JSON ({exc})") from None
