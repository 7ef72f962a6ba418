"""The ``lgsp`` command line: ``validate``, ``inspect``, ``extract`` and ``demo``.

Run ``lgsp --help`` (or ``python -m lgsp.cli --help``) for the commands and exit codes.
"""

from lgsp.cli.app import app, main

__all__ = ["app", "main"]
