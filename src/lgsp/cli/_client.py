"""Connection options of the commands that talk to the platform, and the Client they build.

``--config FILE`` reads a TOML deployment (``Settings.from_toml``), ``--sandbox URL`` builds the
demo deployment of a running ``lgsp sandbox``; without either the ``LGSP_*`` environment
variables describe it. Expected failures end in one line on stderr and a documented exit code.
"""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.text import Text

from lgsp.cli import render
from lgsp.cli.app import OutputFormat
from lgsp.errors import (
    AuthError,
    ConfigurationError,
    LgspError,
    RemoteServiceError,
    TransportError,
)

if TYPE_CHECKING:
    from lgsp.clients import Client, Settings
    from lgsp.transports.base import Request, Response

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEM",
    "EXIT_REMOTE",
    "EXIT_USAGE",
    "AsSystemOption",
    "ConfigOption",
    "FormatOption",
    "SandboxOption",
    "VerboseOption",
    "call_failure",
    "exit_codes",
    "fail",
    "load_settings",
    "need_profile",
    "open_client",
    "refusal_code",
    "sandbox_settings",
]

EXIT_OK = 0
EXIT_PROBLEM = 1  # findings, refusals
EXIT_USAGE = 2  # unreadable input, a wrong option, settings that cannot work
EXIT_REMOTE = 3  # the platform could not be reached, or refused the call as a whole

DEFAULT_SYSTEM = "vxp.saas.03"

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Deployment settings (TOML, as read by lgsp.clients.Settings.from_toml); LGSP_* "
        "environment variables win over the file. Without --config and --sandbox the settings "
        "come from LGSP_* variables alone.",
        show_default=False,
    ),
]
SandboxOption = Annotated[
    str | None,
    typer.Option(
        "--sandbox",
        metavar="URL",
        help="Talk to a running 'lgsp sandbox' at URL with its demo credentials (VXP at "
        "URL/vxp, the portal adapter at URL/portal).",
        show_default=False,
    ),
]
AsSystemOption = Annotated[
    str | None,
    typer.Option(
        "--as-system",
        metavar="SYSTEM",
        help=f"With --sandbox: the demo VXP system to act as ({DEFAULT_SYSTEM}, the default, "
        "or vxp.saas.07).",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Log every call (operation, endpoint, status, duration; secrets masked) on stderr.",
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="Text for people, JSON for programs.")
]


def exit_codes(ok: str, problem: str | None, usage: str, remote: str | None) -> str:
    """The epilog of a command: what each exit code means for it (wrapped by hand: the
    epilog is shown as written)."""
    lines = ["\b", "Exit codes:"]
    for code, text in ((0, ok), (1, problem), (2, usage), (3, remote)):
        if text:
            lines += textwrap.wrap(
                text, width=88, initial_indent=f"  {code}  ", subsequent_indent="     "
            )
    return "\n".join(lines)


def fail(
    message: str,
    code: int,
    output_format: OutputFormat,
    data: dict[str, Any] | None = None,
) -> NoReturn:
    """End the command: one line on stderr (text), or a JSON object with ``error`` (json)."""
    if output_format is OutputFormat.JSON:
        typer.echo(render.dump_json({**(data or {}), "ok": False, "error": message}))
    else:
        render.make_console(stderr=True).print(Text(f"lgsp: {message}"), soft_wrap=True)
    raise typer.Exit(code)


# settings ----------------------------------------------------------------------------------------
def sandbox_settings(url: str, system: str | None = None) -> Settings:
    """The demo deployment of a sandbox at ``url``: its VXP axis as ``system`` (default
    vxp.saas.03) and its classic portal adapter, with the demo credentials."""
    from lgsp.clients import Settings, VxpProfile
    from lgsp.sandbox.config import SandboxConfig

    demo = SandboxConfig.demo()
    chosen = demo.system(system or DEFAULT_SYSTEM)
    if chosen is None:
        known = ", ".join(s.system_id for s in demo.systems)
        raise typer.BadParameter(
            f"{system!r} is not a system of the demo sandbox (known: {known})",
            param_hint="--as-system",
        )
    base = url.strip().rstrip("/")
    user = demo.portal_users[0]
    try:
        return Settings(
            documents=VxpProfile(
                endpoint=f"{base}/vxp", system_id=chosen.system_id, secret=chosen.secret
            ),
            dossiers=user.client_profile(base),
        )
    except ConfigurationError as exc:
        raise typer.BadParameter(f"{url!r}: {exc}", param_hint="--sandbox") from None


def load_settings(
    config: Path | None, sandbox: str | None, as_system: str | None, output_format: OutputFormat
) -> Settings:
    """The deployment the options describe; a settings problem ends the command (exit 2)."""
    from lgsp.clients import Settings

    if config is not None and sandbox is not None:
        raise typer.BadParameter("give --config or --sandbox, not both", param_hint="--sandbox")
    if as_system is not None and sandbox is None:
        raise typer.BadParameter("--as-system picks a demo system of --sandbox URL")
    try:
        if sandbox is not None:
            return sandbox_settings(sandbox, as_system)
        if config is not None:
            return Settings.from_toml(config)
        return Settings()
    except ConfigurationError as exc:
        source = f"{config}" if config is not None else "the LGSP_* environment variables"
        fail(f"the settings from {source} cannot work: {exc}", EXIT_USAGE, output_format)


def need_profile(
    settings: Settings, section: str, output_format: OutputFormat, data: dict[str, Any]
) -> None:
    """Stop with an actionable message when the deployment lacks the ``section`` profile."""
    if getattr(settings, section) is None:
        what = "documents (VXP, gateway or SOAP hub)" if section == "documents" else "dossiers"
        fail(
            f"no {what} profile: give --config FILE, --sandbox URL, or the "
            f"LGSP_{section.upper()}__* environment variables",
            EXIT_USAGE,
            output_format,
            data,
        )


class _Quiet:
    """An observer that keeps the command's output clean (calls are logged with -v only)."""

    def exchange(
        self,
        request: Request,
        response: Response | None,
        error: LgspError | None,
        duration: float,
    ) -> None:
        return None


def open_client(settings: Settings, *, verbose: bool = False, **overrides: Any) -> Client:
    """A blocking client for ``settings``; ``overrides`` (outbox, inbox, download_dir…) win."""
    from lgsp.clients import Client

    observer: Any = _call_log(settings) if verbose else _Quiet()
    return Client.from_settings(settings, observer=observer, **overrides)


def _call_log(settings: Settings) -> Any:
    """lgsp's call log, one ``key=value`` line per call on the current stderr (redacted)."""
    import structlog

    from lgsp.transports.observe import CallLog, redact_processor

    logger = structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        processors=[
            redact_processor,
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    return CallLog(logger=logger, log_bodies=settings.log_bodies)


# failures of a call ------------------------------------------------------------------------------
def call_failure(exc: LgspError) -> tuple[int, str]:
    """The exit code and the one-line message of a failed call, saying what to do."""
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, TransportError):
        if exc.kind == "protocol":
            advice = "the remote answered something lgsp cannot read; it may have acted on it"
        elif exc.sent:
            advice = "the remote may have received the call: check before sending it again"
        else:
            advice = "nothing reached the remote: safe to try again"
        return EXIT_REMOTE, f"{exc} ({advice})"
    if isinstance(exc, AuthError):
        return EXIT_REMOTE, f"{exc} (check the credentials of the profile)"
    if isinstance(exc, RemoteServiceError):
        advice = "safe to try again" if exc.retry_safe else "the remote refused it"
        return EXIT_REMOTE, f"{exc} ({advice})"
    return EXIT_USAGE, str(exc)


def refusal_code(exc: RemoteServiceError) -> int:
    """1 when the service refused the call for what it carried (an unknown document, a bad
    item), 3 when the remote was overloaded or broken (429, 503, 5xx: try again later)."""
    status = exc.status_code
    return EXIT_REMOTE if status is None or status == 429 or status >= 500 else EXIT_PROBLEM
