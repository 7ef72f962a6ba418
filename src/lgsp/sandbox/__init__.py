"""The local LGSP emulator: the VXP axis, the LGSP gateway, the SOAP document hub and the
portal on one machine, with SQLite persistence and fault knobs.

* :class:`Sandbox`: run it in a background thread on a free loopback port (tests, demo);
* :func:`serve`: run it in the foreground (``lgsp sandbox``);
* :func:`create_app`: the ASGI app, for any ASGI server or test client;
* :class:`SandboxConfig` and friends: what the operator provisions;
* :class:`SandboxState`, :class:`SandboxStore`, :class:`Faults`: the running parts.

The sandbox is a user of lgsp's public API like any vendor; nothing in lgsp imports it.
"""

from lgsp.sandbox.app import create_app
from lgsp.sandbox.config import (
    AgencySeed,
    FaultSettings,
    LgspApplication,
    PortalUser,
    ProcedureSeed,
    SandboxConfig,
    VxpSystem,
)
from lgsp.sandbox.faults import Faults
from lgsp.sandbox.server import Sandbox, serve
from lgsp.sandbox.state import SandboxState
from lgsp.sandbox.store import SandboxStore

__all__ = [
    "AgencySeed",
    "FaultSettings",
    "Faults",
    "LgspApplication",
    "PortalUser",
    "ProcedureSeed",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "SandboxStore",
    "VxpSystem",
    "create_app",
    "serve",
]
