"""The pytest plugin's session share and items (see :mod:`lgsp.conformance.pytest_plugin`).

:class:`Kit` is what one pytest session holds — the options, the selected cases, the sandbox
it started, the target, the runner and the results heard of — and is registered as a plugin
for the session's hooks. :class:`LgspCaseItem` is one endpoint case as a pytest item.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Generator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import pytest

from lgsp.conformance._names import PROFILES, ProfileName

if TYPE_CHECKING:
    from lgsp.conformance.reports import ReportFormat
    from lgsp.conformance.results import CaseResult, Report
    from lgsp.conformance.runner import Party, Target
    from lgsp.conformance.suite import Case
    from lgsp.sandbox import Sandbox

__all__ = [
    "KIT",
    "REPORT_FORMATS",
    "RESULTS",
    "CaseFailed",
    "Kit",
    "LgspCaseItem",
    "LgspSuite",
    "Options",
    "describe",
    "kit_of",
]

#: ``--lgsp-report``'s format, by the file's extension.
REPORT_FORMATS: dict[str, ReportFormat] = {
    ".json": "json",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}


#: The name (and node id) of the virtual collector that holds the case items.
_SUITE = "lgsp-conformance"


class Options:
    """The plugin's options (command line, ini, environment), read at configure time."""

    def __init__(self, config: pytest.Config) -> None:
        self.target: str | None = (
            config.getoption("lgsp_target")
            or os.environ.get("LGSP_TARGET")
            or cast(str, config.getini("lgsp_target"))
            or None
        )
        profile = config.getoption("lgsp_profile") or config.getini("lgsp_profile") or "vxp"
        if profile not in PROFILES:
            raise pytest.UsageError(f"lgsp_profile = {profile!r}: one of {', '.join(PROFILES)}")
        self.profile = cast(ProfileName, profile)
        self.selector: str | None = config.getoption("lgsp_cases")
        self.case_files = [Path(p) for p in config.getoption("lgsp_cases_file") or ()]
        settings = config.getoption("lgsp_settings")
        self.settings = Path(settings) if settings else None
        self.suite = bool(config.getoption("lgsp_suite"))
        report = config.getoption("lgsp_report")
        self.report = Path(report) if report else None
        if self.report is not None and self.report.suffix.lower() not in REPORT_FORMATS:
            raise pytest.UsageError(
                f"--lgsp-report {report}: the extension picks the format, one of "
                + ", ".join(REPORT_FORMATS)
            )
        if self.settings is not None and self.target is None:
            raise pytest.UsageError("--lgsp-settings needs --lgsp-target (the endpoint's URL)")

    @property
    def active(self) -> bool:
        """Whether the endpoint cases run as items in this session."""
        return self.target is not None or self.suite


def _read_parties(path: Path) -> tuple[Party, Party | None]:
    """The sender and (optional) receiver of a ``--lgsp-settings`` file."""
    from lgsp.clients import Settings
    from lgsp.conformance.runner import Party
    from lgsp.errors import ConfigurationError

    class _PartySettings(Settings):
        organ: str
        organ_name: str = ""

    def party(table: str) -> Party:
        read = _PartySettings.from_toml(path, table=table)
        settings = Settings(**{name: getattr(read, name) for name in Settings.model_fields})
        return Party(settings, read.organ, read.organ_name)

    try:
        tables = tomllib.loads(path.read_text("utf-8"))
        return party("sender"), party("receiver") if "receiver" in tables else None
    except (OSError, tomllib.TOMLDecodeError, ConfigurationError) as exc:
        raise pytest.UsageError(f"--lgsp-settings {path}: {exc}") from None


def _all_cases(extra_files: list[Path]) -> list[Case]:
    """The shipped cases followed by those of ``extra_files``; an id defined twice is refused."""
    from lgsp.conformance.suite import builtin_cases, load_cases
    from lgsp.errors import ConfigurationError

    pool = builtin_cases()
    known = {c.id: c.source for c in pool}
    for extra in load_cases(extra_files) if extra_files else ():
        if extra.id in known:
            raise ConfigurationError(
                f"case {extra.id} is defined twice ({known[extra.id]} and {extra.source})",
                field="cases",
            )
        pool.append(extra)
    return pool


class Kit:
    """One session's share, registered as a plugin: the cases, the sandbox, the target, the
    runner and the results heard of (for ``--lgsp-report``)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.parties = _read_parties(options.settings) if options.settings else None
        self.results: list[CaseResult] = []
        #: When the first case ran (until then, when the session was configured).
        self.started_at = dt.datetime.now(dt.UTC)
        self._stack = ExitStack()
        self._cases: list[Case] | None = None
        self._sandbox: Sandbox | None = None
        self._target: Target | None = None
        self._runner: Any = None
        self._written: str | None = None
        if options.active:
            self.cases()  # a selector that picks nothing is a usage error, said at once

    def cases(self) -> list[Case]:
        """The selected cases of the profile: the shipped ones plus ``--lgsp-cases-file``."""
        if self._cases is None:
            from lgsp.conformance.suite import select
            from lgsp.errors import ConfigurationError

            try:
                pool = _all_cases(self.options.case_files)
                self._cases = select(pool, self.options.selector, self.options.profile)
            except ConfigurationError as exc:
                said = str(exc).removeprefix("setting cases: ").replace("--cases", "--lgsp-cases")
                raise pytest.UsageError(f"lgsp: {said}") from None
        return self._cases

    def sandbox(self) -> Sandbox:
        """The session's sandbox, started on first use, stopped when the session ends."""
        if self._sandbox is None:
            from lgsp.sandbox import Sandbox, SandboxConfig

            self._sandbox = self._stack.enter_context(Sandbox(SandboxConfig.demo()))
        return self._sandbox

    def target(self) -> Target:
        """``--lgsp-target`` (its parties from ``--lgsp-settings``, else the sandbox's demo
        credentials), or the session's own sandbox."""
        if self._target is None:
            from lgsp.conformance.runner import Target
            from lgsp.conformance.targets import sandbox_target

            url, profile = self.options.target, self.options.profile
            if url is None:
                self._target = sandbox_target(self.sandbox().url, profile, embedded=True)
            elif self.parties is None:
                self._target = sandbox_target(url, profile)
            else:
                self._target = Target(profile, url.rstrip("/"), *self.parties)
        return self._target

    def run(self, case: Case) -> CaseResult:
        """Run ``case`` on the session's runner (its clients made once, never retrying)."""
        from lgsp.conformance.runner import open_runner, run_case

        if self._runner is None:
            self._runner = self._stack.enter_context(open_runner(self.target()))
            self.started_at = dt.datetime.now(dt.UTC)
        return run_case(self._runner, case)

    def report(self) -> Report:
        """The results heard of in this session, as a report."""
        from lgsp import __version__
        from lgsp.conformance.results import Report
        from lgsp.transports.observe import redact_url

        url = self.options.target
        return Report(
            kind="endpoint",
            title=f"Endpoint conformance: {self.options.profile}",
            target=redact_url(url) if url else "lgsp sandbox (started by the pytest plugin)",
            profile=self.options.profile,
            lgsp_version=__version__,
            started_at=self.started_at,
            finished_at=dt.datetime.now(dt.UTC),
            results=list(self.results),
            settings={"cases": self.options.selector or "", "run by": "pytest"},
        )

    def close(self) -> None:
        self._stack.close()

    @classmethod
    def install(cls, config: pytest.Config, options: Options) -> Kit:
        """Make the session share of ``config`` and register its hooks."""
        kit = cls(options)
        config.stash[KIT] = kit
        config.pluginmanager.register(kit, "lgsp-kit")
        return kit

    # --- hooks of this session ------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Give the session one more child, the suite of cases, collected like any other:
        counted, shown by --collect-only, chosen among by -k, -m and --deselect."""
        report = yield
        if isinstance(collector, pytest.Session) and report.passed and self.options.active:
            # Named (and identified) like a file, so its items read
            # ``lgsp-conformance::lgsp[<case id>]``.
            suite = LgspSuite.from_parent(collector, name=_SUITE, nodeid=_SUITE)
            cast(list[Any], report.result).append(suite)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Carry the call phase's case results on its report, so they reach the process that
        writes ``--lgsp-report`` (the controller, under pytest-xdist)."""
        report = yield
        results = item.stash.get(RESULTS, [])
        if call.when == "call" and results:
            report.lgsp_results = list(results)  # type: ignore[attr-defined]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        carried = getattr(report, "lgsp_results", None)
        if not carried:  # every test of a suite that does not use the kit: nothing to import
            return
        from lgsp.conformance.results import CaseResult

        self.results.extend(CaseResult.model_validate_json(text) for text in carried)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write ``--lgsp-report`` (by the controller, under xdist) and stop what was started."""
        try:
            path = self.options.report
            if path is not None and not hasattr(session.config, "workerinput"):
                from lgsp.conformance.reports import write

                report = self.report()
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    write(report, REPORT_FORMATS[path.suffix.lower()], path)
                except OSError as exc:
                    # The run's outcome is not known to CI without its report: say so.
                    self._written = f"lgsp report NOT written: {path}: {exc.strerror or exc}"
                    session.exitstatus = pytest.ExitCode.USAGE_ERROR
                else:
                    counts = ", ".join(f"{n} {o}" for o, n in report.counts().items() if n)
                    self._written = f"lgsp report ({counts or 'no cases'}): {path}"
        finally:
            self.close()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self._written:
            terminalreporter.write_line(self._written)


KIT = pytest.StashKey[Kit]()
#: JSON of the case results an item produced (its own case, or lgsp_run_case calls).
RESULTS = pytest.StashKey[list[str]]()


def kit_of(config: pytest.Config) -> Kit:
    """The session share of ``config`` (made by the plugin at configure time)."""
    return config.stash[KIT]


# --- the cases as items -----------------------------------------------------------------------


class CaseFailed(Exception):  # noqa: N818 - pytest shows it as the case's failure
    """A case failed or could not be carried out; :func:`describe` is its text."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.message)
        self.result = result


class LgspSuite(pytest.Collector):
    """The endpoint cases selected for the session (a virtual node: no file behind it)."""

    def collect(self) -> list[LgspCaseItem]:
        kit = kit_of(self.config)
        return [LgspCaseItem.from_parent(self, name=f"lgsp[{c.id}]", case=c) for c in kit.cases()]


class LgspCaseItem(pytest.Item):
    """One endpoint case: passes, fails with its checks and evidence, or is skipped."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        profile = kit_of(self.config).options.profile
        self.add_marker(pytest.mark.lgsp(area=case.area, profile=profile))
        self.extra_keyword_matches.update(case.tags)
        self.user_properties.append(("lgsp_rules", " ".join(case.rules)))

    def runtest(self) -> None:
        result = kit_of(self.config).run(self.case)
        self.stash.setdefault(RESULTS, []).append(result.model_dump_json())
        if result.outcome == "skipped":
            pytest.skip(f"{self.case.id}: {result.message}")
        if result.outcome != "pass":
            raise CaseFailed(result)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Literal["long", "short", "line", "no", "native", "value", "auto"] | None = None,
    ) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return describe(excinfo.value.result)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.case.source or "lgsp", None, self.name


def _short(text: str | None, limit: int = 240) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(result: CaseResult) -> str:
    """A failed case for a person: what it proves, what broke, the checks, the exchanges."""
    lines = [
        f"{result.id}: {result.title} [{result.outcome}]",
        f"  purpose: {result.purpose}",
        f"  rules:   {', '.join(result.rules)}",
    ]
    if result.message:
        lines.append(f"  {'why' if result.outcome == 'fail' else 'kit error'}: {result.message}")
    if result.checks:
        lines.append("checks:")
        for check in result.checks:
            mark = "ok  " if check.passed else "FAIL"
            detail = f" — {_short(check.detail)}" if check.detail else ""
            lines.append(f"  {mark} [{check.step}] {check.expectation}{detail}")
    if result.findings:
        lines.append("findings:")
        lines.extend(f"  {_short(str(f))}" for f in result.findings)
    if result.evidence:
        lines.append("evidence:")
        for ev in result.evidence:
            answer = str(ev.status) if ev.status is not None else f"no answer ({ev.error})"
            lines.append(f"  [{ev.step}] {ev.method} {ev.url} -> {answer}")
            if ev.response_body:
                lines.append(f"      response: {_short(ev.response_body)}")
    return "\n".join(lines)
