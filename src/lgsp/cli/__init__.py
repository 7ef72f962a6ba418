"""The ``lgsp`` command line: validate, inspect, extract, sign, verify and demo.

Run ``lgsp --help`` (or ``python -m lgsp.cli --help``) for the commands and exit codes.
"""

from lgsp.cli import signing  # noqa: F401 - registers sign and verify on the app
from lgsp.cli.app import app, main

__all__ = ["app", "main"]
