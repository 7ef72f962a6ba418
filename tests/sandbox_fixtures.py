"""Helpers for tests that run against a real sandbox on a free loopback port.

::

    from sandbox_fixtures import running_sandbox, vxp_settings

    @pytest.fixture
    def sandbox() -> Iterator[Sandbox]:
        with running_sandbox() as sandbox:
            yield sandbox

    def test_x(sandbox: Sandbox) -> None:
        with Client.from_settings(vxp_settings(sandbox, SYSTEM_A)) as client: ...

:data:`CONFIG` is the demo provisioning plus a gateway application bound to system A; the
settings builders give lgsp client settings for each way in (VXP direct, gateway, SOAP hub);
:func:`sdk_headers` builds the headers the official Java SDK sends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from lgsp.clients.settings import (
    GatewayProfile,
    RetrySettings,
    Settings,
    SoapHubProfile,
    VxpProfile,
)
from lgsp.sandbox import LgspApplication, Sandbox, SandboxConfig, SandboxState
from lgsp.transports.vxp_signing import sign_request

__all__ = [
    "APP_BOUND",
    "APP_UNBOUND",
    "CONFIG",
    "ORGAN_A",
    "ORGAN_B",
    "SYSTEM_A",
    "SYSTEM_B",
    "gateway_settings",
    "hub_settings",
    "running_sandbox",
    "sandbox_fixture",
    "sdk_headers",
    "stored_count",
    "vxp_settings",
]

SYSTEM_A = ("vxp.saas.03", "sandbox-secret-a")
SYSTEM_B = ("vxp.saas.07", "sandbox-secret-b")
ORGAN_A = "000.00.00.G22"  # served by system A in the demo config
ORGAN_B = "000.00.00.H41"  # served by system B
#: The demo's application (not bound to a VXP system: gateway calls must be signed).
APP_UNBOUND = ("qlvb-app", "sandbox-app")
#: An application whose unsigned gateway calls are made as system A.
APP_BOUND = ("qlvb-a", "sandbox-app-a")

_demo = SandboxConfig.demo()
CONFIG = _demo.model_copy(
    update={
        "applications": [
            *_demo.applications,
            LgspApplication(
                client_id=APP_BOUND[0], client_secret=APP_BOUND[1], system_id=SYSTEM_A[0]
            ),
        ]
    }
)
"""The demo provisioning plus :data:`APP_BOUND`."""

#: Retries that do not make a test wait.
FAST_RETRIES = RetrySettings(max_attempts=3, base_delay=0.01, max_delay=0.02)


@contextlib.contextmanager
def running_sandbox(
    config: SandboxConfig | None = None,
    *,
    db: str | os.PathLike[str] = ":memory:",
    state: SandboxState | None = None,
    **options: Any,
) -> Iterator[Sandbox]:
    """A started :class:`Sandbox` (default: :data:`CONFIG`, in memory), stopped at the end;
    ``options`` go to :class:`Sandbox` (``workers``, ``processes``…)."""
    if state is None:
        sandbox = Sandbox(config if config is not None else CONFIG, db=db, **options)
    else:
        sandbox = Sandbox(state=state, **options)
    with sandbox:
        yield sandbox


def sandbox_fixture(config: SandboxConfig | None = None) -> Any:
    """A function-scoped pytest fixture of a running sandbox::

    sandbox = sandbox_fixture()
    """

    @pytest.fixture
    def sandbox() -> Iterator[Sandbox]:
        with running_sandbox(config) as running:
            yield running

    return sandbox


def vxp_settings(sandbox: Sandbox, system: tuple[str, str] = SYSTEM_A, **extra: Any) -> Settings:
    """Client settings for the VXP axis, signed as ``system`` (id, secret)."""
    extra.setdefault("retries", FAST_RETRIES)
    return Settings(
        documents=VxpProfile(endpoint=sandbox.url + "/vxp", system_id=system[0], secret=system[1]),
        **extra,
    )


def gateway_settings(
    sandbox: Sandbox,
    app: tuple[str, str] = APP_BOUND,
    *,
    system: tuple[str, str] | None = None,
    **extra: Any,
) -> Settings:
    """Client settings for VXP behind the gateway (token from ``/token``), signed as
    ``system`` when given."""
    extra.setdefault("retries", FAST_RETRIES)
    signing = {"system_id": system[0], "secret": system[1]} if system else {}
    return Settings(
        documents=GatewayProfile(
            base_url=sandbox.url, client_id=app[0], client_secret=app[1], **signing
        ),
        **extra,
    )


def hub_settings(
    sandbox: Sandbox, organ: str = ORGAN_B, *, token: str | None = None, **extra: Any
) -> Settings:
    """Client settings for the SOAP document hub, as ``organ``."""
    extra.setdefault("retries", FAST_RETRIES)
    return Settings(
        documents=SoapHubProfile(
            endpoint=sandbox.url + "/soap/DocumentHub", organ_id=organ, token=token
        ),
        **extra,
    )


def sdk_headers(
    params: Mapping[str, str | Sequence[str]],
    *,
    system: tuple[str, str] = SYSTEM_A,
    content_type: str = "application/json",
    moment: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """The headers the official Java SDK sends for ``params`` (vn-contracts §2.1a): every
    parameter as a signed ``XroadVnpt-*`` header, ``to`` as JSON text, the SDK's user agent."""
    return sign_request(
        params, system_id=system[0], secret=system[1], content_type=content_type, moment=moment
    )


def stored_count(sandbox: Sandbox, sha256: str | None = None) -> int:
    """How many packages the store holds (with that SHA-256, if given)."""
    with sandbox.state.store.reading() as db:
        if sha256 is None:
            row = db.execute("SELECT COUNT(*) FROM vxp_documents").fetchone()
        else:
            row = db.execute(
                "SELECT COUNT(*) FROM vxp_documents WHERE sha256 = ?", (sha256,)
            ).fetchone()
    return int(row[0])
