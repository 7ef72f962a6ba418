"""A conformance run of the platform's contracts, as a test team would script it.

The kit (``lgsp.conformance``) runs its endpoint suite — declarative cases shipped with lgsp —
for every deployment profile: the VXP axis reached directly, an LGSP gateway, the provincial
SOAP hub, the classic DVCQG adapter and the token-based portal. Each case sends real requests,
checks the answers against the contract and keeps the evidence (secrets masked). One HTML
report (a page to open in a browser) and one JUnit file (for CI) are written per profile;
the exit code is 1 when any case fails.

The same run from the command line: ``lgsp conformance endpoint --profile vxp --out r.html``.

Run: python examples/conformance_run.py [FOLDER]   (a temporary folder by default)
Against a sandbox already running: LGSP_SANDBOX_URL=http://127.0.0.1:8750 python examples/...
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lgsp.conformance import PROFILES, load_cases, run_suite, sandbox_target, select
from lgsp.conformance.reports import render
from lgsp.sandbox import Sandbox, SandboxConfig


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """``$LGSP_SANDBOX_URL``, or a sandbox started here on a free loopback port."""
    given = os.environ.get("LGSP_SANDBOX_URL")
    if given:
        yield given.rstrip("/")
        return
    with Sandbox(SandboxConfig.demo()) as sandbox:
        yield sandbox.url


def main(folder: Path) -> int:
    cases = load_cases()
    failed = 0
    with sandbox_url() as url:
        for profile in PROFILES:
            target = sandbox_target(url, profile)
            report = run_suite(target, select(cases, None, profile))
            counts = report.counts()
            print(
                f"{profile:<13} {counts['pass']:>3} passed  {counts['fail']:>2} failed  "
                f"{counts['error']:>2} errors  {counts['skipped']:>2} skipped  "
                f"({report.duration():.1f} s)"
            )
            for result in report.results:
                if result.outcome in ("fail", "error"):
                    print(f"    {result.outcome.upper()} {result.id}: {result.message}")
            failed += counts["fail"] + counts["error"]
            for fmt, suffix in (("html", "html"), ("junit", "xml")):
                out = folder / f"conformance-{profile}.{suffix}"
                out.write_text(render(report, fmt), encoding="utf-8")
                print(f"    wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
