"""The conformance kit: prove that a system speaks the platform's contracts.

* :mod:`lgsp.conformance.messages` — message conformance: edXML document and status packages
  and dossier payloads checked under a profile, with severity overrides.
* :mod:`lgsp.conformance.suite` and :mod:`lgsp.conformance.runner` — the endpoint suite:
  declarative cases shipped as data, run against any endpoint (or a sandbox the kit starts).
* :mod:`lgsp.conformance.counterparty` — the sandbox as a partner agency for a system under
  test, checking what it sends and sending it scripted packages and statuses.
* :mod:`lgsp.conformance.reports` — text, JSON, JUnit XML and self-contained HTML reports.
* :mod:`lgsp.conformance.pytest_plugin` — fixtures and the endpoint cases inside pytest.
* :mod:`lgsp.conformance.proof` — the proof that the suite fails against a faulty platform.

The names below are imported on first use (PEP 562), so the pytest plugin loads cheaply.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lgsp.conformance.results import CaseResult, Check, Evidence, Outcome, Report
    from lgsp.conformance.runner import (
        KitOptions,
        Party,
        Target,
        run_suite,
    )
    from lgsp.conformance.suite import PROFILES, Case, ProfileName, Step, load_cases, select
    from lgsp.conformance.targets import embedded_target, sandbox_target

__all__ = [
    "PROFILES",
    "Case",
    "CaseResult",
    "Check",
    "Evidence",
    "KitOptions",
    "Outcome",
    "Party",
    "ProfileName",
    "Report",
    "Step",
    "Target",
    "embedded_target",
    "load_cases",
    "run_suite",
    "sandbox_target",
    "select",
]

_LAZY: dict[str, str] = {
    "CaseResult": "lgsp.conformance.results",
    "Check": "lgsp.conformance.results",
    "Evidence": "lgsp.conformance.results",
    "Outcome": "lgsp.conformance.results",
    "Report": "lgsp.conformance.results",
    "KitOptions": "lgsp.conformance.runner",
    "Party": "lgsp.conformance.runner",
    "Target": "lgsp.conformance.runner",
    "run_suite": "lgsp.conformance.runner",
    "Case": "lgsp.conformance.suite",
    "PROFILES": "lgsp.conformance.suite",
    "ProfileName": "lgsp.conformance.suite",
    "Step": "lgsp.conformance.suite",
    "load_cases": "lgsp.conformance.suite",
    "select": "lgsp.conformance.suite",
    "embedded_target": "lgsp.conformance.targets",
    "sandbox_target": "lgsp.conformance.targets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
