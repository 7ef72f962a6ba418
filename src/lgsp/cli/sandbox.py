"""``lgsp sandbox``: run the local emulator of the platform in the foreground.

The server itself is :func:`lgsp.sandbox.server.serve`, imported when the command runs: the
rest of the command line works without the sandbox's dependencies (starlette, uvicorn).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import EXIT_USAGE, FormatOption, exit_codes, fail
from lgsp.cli.app import OutputFormat, app
from lgsp.errors import ConfigurationError

__all__ = ["DEFAULT_DB", "DEFAULT_PORT", "sandbox_command"]

DEFAULT_PORT = 8750
DEFAULT_DB = Path("lgsp-sandbox.db")  # the default of lgsp.sandbox.server.serve
MEMORY = ":memory:"


@app.command(
    "sandbox",
    epilog=exit_codes(
        "the sandbox was stopped (Ctrl-C)",
        None,
        "the sandbox is not installed, its config cannot be read, the port is taken, or an "
        "option is wrong",
        None,
    ),
)
def sandbox_command(
    *,
    host: Annotated[
        str, typer.Option(help="Address to listen on (keep it on loopback for a test bed).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            metavar="FILE",
            dir_okay=False,
            help=f"SQLite file that keeps the sandbox's state across runs (default: "
            f"{DEFAULT_DB} in the working directory).",
            show_default=False,
        ),
    ] = None,
    memory: Annotated[
        bool, typer.Option("--memory", help="Keep the state in memory: gone when it stops.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="The operator's provisioning (TOML: systems, applications, portal users, "
            "agencies, procedures, faults). Default: the demo provisioning that "
            "'--sandbox URL' of the other commands expects.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Start the sandbox (the local LGSP emulator) in the foreground; Ctrl-C stops it.

    It serves the VXP axis under /vxp, the SOAP document hub, the portal adapter under
    /portal and the token-based portal under /portal-token, with the systems and users of the
    provisioning. The other commands reach it with '--sandbox http://HOST:PORT'.
    """
    if memory and db is not None:
        raise typer.BadParameter("give --db FILE or --memory, not both", param_hint="--memory")
    store = MEMORY if memory else str(db or DEFAULT_DB)
    data: dict[str, Any] = {"url": f"http://{host}:{port}", "db": store}
    from lgsp.sandbox.config import SandboxConfig

    try:
        provisioning = SandboxConfig.from_toml(config) if config else SandboxConfig.demo()
    except ConfigurationError as exc:
        fail(f"cannot use the config {config}: {exc}", EXIT_USAGE, output_format, data)
    try:
        server = importlib.import_module("lgsp.sandbox.server")
    except ImportError as exc:
        missing = exc.name or "lgsp.sandbox.server"
        why = (
            f"this installation of lgsp has no sandbox ({missing} is missing)"
            if missing.startswith("lgsp")
            else f"it needs the package {missing.split('.')[0]} (pip install it)"
        )
        fail(f"the sandbox cannot start: {why}", EXIT_USAGE, output_format, data)
    data["systems"] = [s.system_id for s in provisioning.systems]
    taken = _bind_problem(host, port)
    if taken is not None:
        fail(
            f"the sandbox cannot listen on {host}:{port}: {taken} (choose another --port)",
            EXIT_USAGE,
            output_format,
            data,
        )
    if output_format is OutputFormat.JSON:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        render.make_console(stderr=True).print(
            Text(f"Other commands reach it with --sandbox {data['url']}; Ctrl-C stops it."),
            soft_wrap=True,
        )
    # With --format json, standard output carries the one JSON object: the server's own
    # banner goes to stderr.
    banner = sys.stderr if output_format is OutputFormat.JSON else sys.stdout
    try:
        with contextlib.redirect_stdout(banner):
            server.serve(host, port, store, provisioning)
    except KeyboardInterrupt:
        pass


def _bind_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (taken, not an address here), or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
