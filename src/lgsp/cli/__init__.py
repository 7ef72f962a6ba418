"""The ``lgsp`` command line: validate, inspect, extract, sign, verify, send, receive, status,
dossier, registry, sandbox, conformance, demo.

Run ``lgsp --help`` (or ``python -m lgsp.cli --help``) for the commands and exit codes.
"""

from lgsp.cli import (  # noqa: F401 - register their commands
    conformance,
    conformance_counterparty,
    conformance_endpoint,
    conformance_proof,
    dossier,
    exchange,
    receive,
    registry,
    sandbox,
    signing,
)
from lgsp.cli.app import app, main

__all__ = ["app", "main"]
