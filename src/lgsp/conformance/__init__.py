"""The conformance kit: prove that a system speaks the platform's contracts.

* :mod:`lgsp.conformance.messages` — message conformance: edXML document and status packages
  and dossier payloads checked under a profile, with severity overrides.
* :mod:`lgsp.conformance.suite` and :mod:`lgsp.conformance.runner` — the endpoint suite:
  declarative cases shipped as data, run against any endpoint (or a sandbox the kit starts).
* :mod:`lgsp.conformance.counterparty` — the sandbox as a partner agency for a system under
  test, checking what it sends and sending it scripted packages and statuses.
* :mod:`lgsp.conformance.reports` — text, JSON, JUnit XML and self-contained HTML reports.
* :mod:`lgsp.conformance.pytest_plugin` — fixtures and the endpoint cases inside pytest.
"""

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
