"""``lgsp conformance counterparty``: the sandbox as a partner agency for a system under test.

Importing this module adds the command to ``lgsp conformance``. The session itself is
:class:`lgsp.conformance.counterparty.Counterparty`; this module reads the options, prints
what the vendor must configure and each event as it happens (on standard error), and writes
the report (on standard output, or ``--out``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from lgsp.cli import render
from lgsp.cli._client import exit_codes
from lgsp.cli.app import ProfileName
from lgsp.cli.conformance import (
    OutOption,
    ReportChoice,
    ReportOption,
    conformance_app,
    format_of,
    usage_exit,
)
from lgsp.errors import ConfigurationError

__all__ = ["counterparty_command"]

DEFAULT_PORT = 8750  # the port of `lgsp sandbox`: a system set up for it works unchanged
_STYLES = {"ok": "green", "problem": "bold red", "info": ""}


def _banner(console: Console, credentials: dict[str, Any], ends: str) -> None:
    url = credentials["url"]
    lines = [
        ("", f"lgsp counterparty: partner agency {credentials['partner_organ']} at {url}"),
        ("", "Configure the system under test with:"),
        ("VXP endpoint", f"{credentials['vxp_endpoint']}"),
        (
            "  or gateway",
            (
                f"{credentials['gateway']} (token {credentials['token_url']}, "
                "application qlvb-app / sandbox-app)"
            ),
        ),
        ("system id", f"{credentials['system_id']}"),
        ("secret", f"{credentials['secret']}"),
        ("its organs", ", ".join(credentials["organs"])),
        ("send to", f"{credentials['partner_organ']}"),
    ]
    if credentials.get("trust"):
        lines.append(("partner's CA", f"{credentials['trust']}"))
    lines.append(("live report", f"{credentials['report']}"))
    lines.append(("ends", ends))
    for label, value in lines:
        text = Text(f"  {label:<13} " if label else "")
        text.append(value, style="bold" if label in ("VXP endpoint", "system id") else "")
        console.print(text, soft_wrap=True)


@conformance_app.command(
    "counterparty",
    epilog=exit_codes(
        "every expectation of the vendor was met and every message it sent conforms",
        "an expectation was not met (named in the report), a message of the vendor has an "
        "error finding, or the partner could not carry out its script",
        "an option or the script is wrong, or the port is taken",
        None,
    ),
)
def counterparty_command(
    *,
    host: Annotated[
        str, typer.Option(help="Address to listen on (keep it on loopback for a test bed).")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port to listen on (0: a free one, printed)."),
    ] = DEFAULT_PORT,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            metavar="FILE",
            dir_okay=False,
            help="SQLite file for the sandbox's state (default: in memory, gone at the end).",
            show_default=False,
        ),
    ] = None,
    vendor_system_id: Annotated[
        str, typer.Option("--vendor-system-id", metavar="ID", help="The vendor's VXP system id.")
    ] = "vxp.saas.03",
    vendor_secret: Annotated[
        str | None,
        typer.Option(
            "--vendor-secret",
            metavar="SECRET",
            envvar="LGSP_COUNTERPARTY_VENDOR_SECRET",
            help="The vendor's HMAC secret (default: the demo's for a demo system id).",
            show_default=False,
        ),
    ] = None,
    vendor_organ: Annotated[
        list[str] | None,
        typer.Option(
            "--vendor-organ",
            metavar="CODE",
            help="An organ the vendor's system serves (repeatable; default 000.00.00.G22).",
            show_default=False,
        ),
    ] = None,
    partner_organ: Annotated[
        str, typer.Option("--partner-organ", metavar="CODE", help="The organ the kit plays.")
    ] = "000.00.00.H41",
    script: Annotated[
        Path | None,
        typer.Option(
            "--script",
            metavar="FILE",
            help="What the partner does (TOML); --show-script prints the built-in one.",
            show_default=False,
        ),
    ] = None,
    show_script: Annotated[
        bool, typer.Option("--show-script", help="Print the built-in script and exit.")
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option(min=0.0, metavar="SECONDS", help="End after this long.", show_default=False),
    ] = None,
    until_complete: Annotated[
        bool,
        typer.Option("--until-complete", help="End as soon as every expectation is met."),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.0, metavar="SECONDS", help="With --until-complete: end after this long."
        ),
    ] = 600.0,
    profile: Annotated[
        ProfileName, typer.Option(help="The profile the vendor's messages are checked under.")
    ] = ProfileName.STRICT,
    report_format: ReportOption = ReportChoice.TEXT,
    out: OutOption = None,
) -> None:
    """Play a partner agency for a vendor's system under test, and certify both directions.

    The sandbox serves the VXP axis with two systems: the vendor's and the partner agency the
    kit plays. Every package the vendor sends is checked (strict by default) and recorded;
    the partner acknowledges it and answers with statuses, sends the vendor signed documents,
    and later revokes one, as its script says. Each scripted item is an expectation of the
    vendor: fetch and acknowledge what the partner sends, answer its documents with statuses.
    Events are printed on standard error as they happen; the report, one result per
    expectation and per message, at the end. Without --duration or --until-complete the
    session runs until Ctrl-C.
    """
    from lgsp.conformance.counterparty import (
        DEFAULT_SCRIPT,
        Counterparty,
        PartnerAgency,
        VendorSystem,
        load_script,
    )
    from lgsp.conformance.reports import write

    if show_script:
        typer.echo(DEFAULT_SCRIPT, nl=False)
        raise typer.Exit(0)
    if duration is not None and until_complete:
        raise typer.BadParameter("give --duration or --until-complete, not both")
    from lgsp.sandbox import SandboxConfig

    demo_systems = {s.system_id: s.secret for s in SandboxConfig.demo().systems}
    secret = vendor_secret or demo_systems.get(vendor_system_id)
    if secret is None:
        raise typer.BadParameter(
            f"{vendor_system_id} is not a demo system: give its --vendor-secret",
            param_hint="--vendor-secret",
        )
    organs = tuple(vendor_organ or ["000.00.00.G22"])
    partner_system = next(s for s in demo_systems if s != vendor_system_id)
    err = render.make_console(stderr=True)

    def show(event: object) -> None:
        level = getattr(event, "level", "info")
        err.print(Text(str(event), style=_STYLES.get(level, "")), soft_wrap=True)

    try:
        session = Counterparty(
            VendorSystem(vendor_system_id, secret, organs),
            PartnerAgency(partner_organ, partner_system, demo_systems[partner_system]),
            load_script(script),
            host=host,
            port=port,
            db=db or ":memory:",
            profile=profile.value,
            on_event=show,
        )
    except ConfigurationError as exc:
        raise usage_exit(f"the session cannot be set up: {exc}") from None
    try:
        session.start()
    except OSError as exc:
        raise usage_exit(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port)"
        ) from None
    try:
        ends = (
            f"when every expectation is met (at most {timeout:g} s), or Ctrl-C"
            if until_complete
            else f"after {duration:g} s, or Ctrl-C"
            if duration is not None
            else "on Ctrl-C"
        )
        _banner(err, session.credentials(), ends)
        report = session.run(duration=duration, until_complete=until_complete, timeout=timeout)
    finally:
        session.stop()
    chosen = format_of(report_format)
    try:
        write(report, chosen, out)
    except OSError as exc:
        raise usage_exit(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    if out is not None:
        counts = report.counts()
        shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        verdict = "passed" if report.ok else "FAILED"
        typer.echo(f"{report.title}: {shown}: {verdict}; report written to {out}")
    raise typer.Exit(0 if report.ok else 1)
