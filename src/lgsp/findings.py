"""Findings: what validation reports, one per broken rule and place.

Validation never stops at the first problem: it returns every finding, each with the id of the
rule, a severity, where it was found and a message a person can act on. Profiles decide the
severity of a rule: ``strict`` is what lgsp sends, ``lenient`` what it accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Finding", "Profile", "Rule", "Severity", "has_errors", "raise_for_findings"]

Severity = Literal["error", "warning", "info"]
Profile = Literal["strict", "lenient"]


class Finding(BaseModel):
    """One broken rule at one place."""

    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.rule} at {self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's id, its severity under each profile, and what it checks; every contract's
    catalogue (documents, dossiers) is a list of these."""

    id: str
    strict: Severity
    lenient: Severity
    description: str

    def severity(self, profile: Profile) -> Severity:
        return self.strict if profile == "strict" else self.lenient


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == "error" for f in findings)


def raise_for_findings(findings: Iterable[Finding], *, source: str | None = None) -> None:
    """Raise :class:`lgsp.errors.ValidationError` when any finding is an error."""
    from lgsp.errors import ValidationError

    found = list(findings)
    if has_errors(found):
        raise ValidationError(found, source=source)
