"""The ``lgsp`` command line: validate, inspect, extract, sign, verify, dossier, registry, demo.

Run ``lgsp --help`` (or ``python -m lgsp.cli --help``) for the commands and exit codes.
"""

from lgsp.cli import dossier, registry, signing  # noqa: F401 - register their commands
from lgsp.cli.app import app, main

__all__ = ["app", "main"]
