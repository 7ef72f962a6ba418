"""``lgsp conformance``: messages, endpoint, counterparty."""

from __future__ import annotations

import typer

from lgsp.cli.app import app

conformance_app = typer.Typer(
    help="The conformance kit: check messages, run the endpoint suite, play a counterparty.",
    no_args_is_help=True,
)
app.add_typer(conformance_app, name="conformance")
