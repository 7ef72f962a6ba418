"""The conformance kit inside pytest: fixtures, and the endpoint cases as test items.

Loaded through the ``pytest11`` entry point by every pytest run where lgsp is installed, so it
stays inert until asked: nothing starts and no case is loaded unless an ``--lgsp-*`` option is
given or a test asks for one of its fixtures. ``pytest --lgsp-target URL`` (or
``--lgsp-suite``, against a sandbox the plugin starts) adds one item per selected endpoint case,
named ``lgsp[<case id>]``; ``-p no:lgsp`` switches the plugin off. See docs/conformance-pytest.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lgsp.conformance._names import PROFILES
from lgsp.conformance._pytest_kit import (
    RESULTS,
    CaseFailed,
    Kit,
    LgspCaseItem,
    LgspSuite,
    Options,
    describe,
    kit_of,
)

if TYPE_CHECKING:
    from lgsp.clients import Client
    from lgsp.conformance.results import CaseResult
    from lgsp.conformance.runner import Target
    from lgsp.conformance.suite import Case
    from lgsp.sandbox import Sandbox
    from lgsp.testing.factories import DossierFactory, PackageFactory
    from lgsp.testing.pki import TestPKI

__all__ = ["CaseFailed", "LgspCaseItem", "LgspSuite", "describe"]

# --- options and hooks ------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lgsp", "lgsp conformance kit")
    add = group.addoption
    add("--lgsp-target", metavar="URL", help="run the endpoint cases against URL")
    add(
        "--lgsp-profile",
        choices=PROFILES,
        help="the target's deployment profile (default vxp)",
    )
    add(
        "--lgsp-cases",
        metavar="SELECTOR",
        help="cases to run: id patterns, tag:NAME, rule:PATTERN, !excluded (comma-separated)",
    )
    add(
        "--lgsp-cases-file",
        metavar="PATH",
        action="append",
        default=[],
        help="a TOML file or folder of extra cases, beside the shipped ones (repeatable)",
    )
    add(
        "--lgsp-settings",
        metavar="FILE",
        help="TOML: [sender] and optional [receiver], lgsp settings plus organ, organ_name",
    )
    add(
        "--lgsp-suite",
        action="store_true",
        help="run the endpoint cases (against a sandbox the plugin starts if no target)",
    )
    add(
        "--lgsp-report",
        metavar="FILE",
        help="also write the cases' report: .json, .xml (JUnit), .html or .txt",
    )
    parser.addini("lgsp_target", "the endpoint the lgsp cases run against (env LGSP_TARGET)")
    parser.addini("lgsp_profile", "the deployment profile of lgsp_target (default vxp)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lgsp(area, profile): an lgsp endpoint conformance case")
    Kit.install(config, Options(config))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise a test that takes ``lgsp_case`` over the selected cases."""
    if "lgsp_case" in metafunc.fixturenames:
        cases = kit_of(metafunc.config).cases()
        metafunc.parametrize("lgsp_case", cases, ids=[c.id for c in cases])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lgsp_sandbox(pytestconfig: pytest.Config) -> Sandbox:
    """A sandbox (demo provisioning, in memory) on a free loopback port, for the session."""
    return kit_of(pytestconfig).sandbox()


@pytest.fixture(scope="session")
def lgsp_sandbox_url(lgsp_sandbox: Sandbox) -> str:
    """The base URL of :func:`lgsp_sandbox` (no trailing slash)."""
    return lgsp_sandbox.url


@pytest.fixture(scope="session")
def lgsp_pki() -> TestPKI:
    """A throw-away test PKI (root and issuing CA; good, expired, revoked… signers)."""
    from lgsp.testing.pki import make_pki

    return make_pki()


@pytest.fixture(scope="session")
def lgsp_target(pytestconfig: pytest.Config) -> Target:
    """The endpoint under test: ``--lgsp-target`` or, without one, the session's sandbox."""
    return kit_of(pytestconfig).target()


@pytest.fixture
def lgsp_package_factory(pytestconfig: pytest.Config) -> PackageFactory:
    """Fresh strictly valid document, status and revoke packages, each with its own number
    (between the ``--lgsp-settings`` parties when given, else the sandbox's demo agencies)."""
    from lgsp.testing.factories import PackageFactory
    from lgsp.testing.samples import organization

    parties = kit_of(pytestconfig).parties
    if parties is None or kit_of(pytestconfig).options.profile.startswith("portal"):
        return PackageFactory()
    sender, receiver = parties
    to = [organization(receiver.organ, receiver.organ_name)] if receiver else []
    return PackageFactory(organization(sender.organ, sender.organ_name), to)


@pytest.fixture
def lgsp_dossier_factory(pytestconfig: pytest.Config) -> DossierFactory:
    """Fresh dossiers (each with its own code) and their processing steps, at the sender's
    unit when ``--lgsp-settings`` gives one, else the sandbox's demo unit."""
    from lgsp.testing.factories import DossierFactory

    parties = kit_of(pytestconfig).parties
    return DossierFactory(parties[0].organ) if parties else DossierFactory()


@pytest.fixture
def lgsp_client(lgsp_target: Target, tmp_path: Path) -> Iterator[Client]:
    """An lgsp client of the sender party (its own retries and timeouts), closed afterwards."""
    from lgsp.clients import Client

    with Client.from_settings(
        lgsp_target.sender.settings, download_dir=tmp_path / "sender"
    ) as client:
        yield client


@pytest.fixture
def lgsp_peer_client(lgsp_target: Target, tmp_path: Path) -> Iterator[Client]:
    """An lgsp client of the receiver party; the test is skipped when the run has none."""
    from lgsp.clients import Client

    if lgsp_target.receiver is None:
        pytest.skip("no receiver party: give [receiver] in --lgsp-settings")
    peer = Client.from_settings(lgsp_target.receiver.settings, download_dir=tmp_path / "peer")
    with peer:
        yield peer


@pytest.fixture
def lgsp_run_case(request: pytest.FixtureRequest) -> Callable[[Case], CaseResult]:
    """``lgsp_run_case(case)`` runs an endpoint case against :func:`lgsp_target` on the
    session's runner and returns its result (which goes into ``--lgsp-report`` too)."""
    kit = kit_of(request.config)
    node = request.node

    def run(case: Case) -> CaseResult:
        result = kit.run(case)
        node.stash.setdefault(RESULTS, []).append(result.model_dump_json())
        return result

    return run
