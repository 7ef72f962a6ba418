"""Counterparty mode: the sandbox as a partner agency for a vendor's system under test.

A :class:`Counterparty` serves an lgsp sandbox provisioned with two systems: the vendor's
(:class:`VendorSystem`, by default the demo's ``vxp.saas.03`` serving ``000.00.00.G22``) and
the partner agency the kit plays (:class:`PartnerAgency`, by default ``vxp.saas.07`` serving
``000.00.00.H41``). The vendor points its system at :attr:`Counterparty.url` and exchanges
documents with the partner as it would with any agency. Both directions are certified:

* everything the vendor sends is checked with the message-conformance checks (strict by
  default), seen on the wire, so that a package the axis refuses is checked too;
* the partner's agent, an :class:`lgsp.Client` acting as the partner against the sandbox,
  polls its inbox, acknowledges what came and answers by its :class:`Script`: it sends the
  vendor signed documents at the start, answers each of the vendor's documents with statuses,
  later revokes one of its documents and, if asked, requests one back (status 13);
* each scripted item is an expectation of the vendor (fetched, acknowledged, answered), and
  the session's :class:`~lgsp.conformance.results.Report` has one result per expectation and
  one per message the vendor sent.

::

    with Counterparty(on_event=print) as session:
        print("point your system at", session.url)
        report = session.run(until_complete=True, timeout=600)

The sandbox accepts leniently, so that a package with strict-profile errors gets through and
is recorded; a package whose signature does not verify is refused by the axis (as the real
one would) and is still checked and recorded from its ``sendEdoc``.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import queue
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lgsp.clients import Client, Settings, VxpProfile
from lgsp.codes import is_organ_code
from lgsp.conformance._counterparty_agent import PartnerAgent
from lgsp.conformance._counterparty_expectations import VERDICTS, Session, expectation_results
from lgsp.conformance._counterparty_ledger import Ledger
from lgsp.conformance._counterparty_packages import Action, provisioning
from lgsp.conformance._counterparty_report import build_report
from lgsp.conformance._counterparty_script import (
    DEFAULT_SCRIPT,
    Script,
    ScriptedStatus,
    load_script,
)
from lgsp.conformance._counterparty_watch import Call, Watch
from lgsp.conformance.reports import render
from lgsp.conformance.results import Report
from lgsp.errors import ConfigurationError
from lgsp.findings import Profile

if TYPE_CHECKING:
    from lgsp.sandbox import SandboxState
    from lgsp.sandbox.server import AppServer

__all__ = [
    "DEFAULT_SCRIPT",
    "Counterparty",
    "Event",
    "PartnerAgency",
    "Script",
    "ScriptedStatus",
    "VendorSystem",
    "load_script",
]

Ended = Literal["complete", "duration", "timeout", "interrupted", "stopped"]
#: The vendor's calls that can move the session on (a poll of its list cannot).
_WAKING = frozenset({"sendedoc", "getedoc", "downloadedoc", "updatestatus"})


@dataclasses.dataclass(frozen=True, slots=True)
class VendorSystem:
    """The system under test: its VXP system id, HMAC secret and the organs it serves."""

    system_id: str = "vxp.saas.03"
    secret: str = "sandbox-secret-a"  # noqa: S105 - the demo sandbox's test credential
    organs: tuple[str, ...] = ("000.00.00.G22",)


@dataclasses.dataclass(frozen=True, slots=True)
class PartnerAgency:
    """The agency the kit plays. Its secret stays inside the session (never shown)."""

    organ: str = "000.00.00.H41"
    system_id: str = "vxp.saas.07"
    secret: str = "sandbox-secret-b"  # noqa: S105 - the demo sandbox's test credential


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, for the live view."""

    #: Seconds since the session began.
    at: float
    actor: Literal["vendor", "partner", "session"]
    text: str
    level: Literal["info", "ok", "problem"] = "info"

    def __str__(self) -> str:
        return f"{self.at:7.1f}s  {self.actor:<7}  {self.text}"


class Counterparty:
    """A counterparty session: the sandbox, the partner's agent, the ledger of what happened.

    ``db`` is ``":memory:"`` or a SQLite file (a restarted session on the same file ignores
    what an earlier one left in the partner's inbox); ``profile`` is the message checks'
    profile; ``on_event`` hears of each :class:`Event` (from the thread that calls
    :meth:`run`)."""

    def __init__(
        self,
        vendor: VendorSystem | None = None,
        partner: PartnerAgency | None = None,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path = ":memory:",
        profile: Profile = "strict",
        on_event: Callable[[Event], None] | None = None,
        preview: int = 2048,
    ) -> None:
        self.vendor = vendor or VendorSystem()
        self.partner = partner or PartnerAgency()
        self.script = script or load_script()
        self.host, self.port, self.db = host, port, str(db)
        self.profile: Profile = profile
        self.on_event = on_event
        self.preview = preview
        _check_parties(self.vendor, self.partner)
        self.events: deque[Event] = deque(maxlen=1000)
        self.ledger = Ledger()
        self._calls: queue.SimpleQueue[Call] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._actions: list[Action] = []
        self._seq = itertools.count()
        self._server: AppServer | None = None
        self._state: SandboxState | None = None
        self._client: Client | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._began_script = False
        self.run_no = f"{uuid.uuid4().int % 900_000 + 100_000}"
        self.partner_agent = PartnerAgent(self)

    # -- life ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL the vendor's system is pointed at (VXP under ``/vxp``)."""
        if self._server is None:
            raise RuntimeError("the counterparty is not started")
        return self._server.url

    @property
    def session(self) -> Session:
        return Session(
            url=self.url if self._server is not None else "",
            vendor_system=self.vendor.system_id,
            vendor_organs=self.vendor.organs,
            partner_organ=self.partner.organ,
            partner_system=self.partner.system_id,
            profile=self.profile,
            script=self.script,
            preview=self.preview,
        )

    def credentials(self) -> dict[str, Any]:
        """What the vendor configures: endpoints and its own credentials (not the partner's)."""
        base = self.url
        return {
            "url": base,
            "vxp_endpoint": f"{base}/vxp",
            "gateway": f"{base}/vdxp-product/1.0",
            "token_url": f"{base}/token",
            "system_id": self.vendor.system_id,
            "secret": self.vendor.secret,
            "organs": list(self.vendor.organs),
            "partner_organ": self.partner.organ,
            "report": f"{base}/sandbox/counterparty",
            "trust": f"{base}/sandbox/counterparty/trust.pem" if self.script.sign else None,
        }

    def start(self) -> Counterparty:
        """Serve the sandbox and ready the partner's agent (OSError when the port is taken)."""
        from lgsp.sandbox import SandboxState, create_app
        from lgsp.sandbox.server import AppServer

        if self._server is not None:
            raise RuntimeError("the counterparty is already started")
        state = SandboxState.open(provisioning(self.vendor, self.partner), db=self.db)
        self._state = state
        try:
            if self.script.sign:
                self.partner_agent.packages.signer()  # the test CA, served from the start
            watch = Watch(
                create_app(state=state),
                partner_system=self.partner.system_id,
                on_call=self._heard,
                report=lambda: render(self.report(), "json"),
                trust_pem=self.partner_agent.packages.trust_pem,
            )
            self._server = AppServer(watch, self.host, self.port, name="lgsp-counterparty").start()
            self.port = self._server.port
            self._tmp = tempfile.TemporaryDirectory(prefix="lgsp-counterparty-")
            local = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104
            shown = f"[{local}]" if ":" in local else local
            settings = Settings(
                documents=VxpProfile(
                    endpoint=f"http://{shown}:{self.port}/vxp",
                    system_id=self.partner.system_id,
                    secret=self.partner.secret,
                )
            )
            self._client = Client.from_settings(
                settings, outbox=None, inbox=None, download_dir=self._tmp.name
            )
            ignored = {item.doc_id for item in self._client.documents.received()}
            self.partner_agent.ignored = ignored
            self.ledger.restart()
            watch.ready.set()
        except BaseException:
            self.stop()
            raise
        if ignored:
            self.event(
                "session",
                f"{len(ignored)} package(s) an earlier session left in the partner's "
                "inbox are ignored",
            )
        return self

    def stop(self) -> None:
        """Stop serving and release everything (safe to call twice)."""
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            self._server.stop()
        if self._state is not None:
            self._state.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        self._client, self._server, self._state, self._tmp = None, None, None, None

    def __enter__(self) -> Counterparty:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the counterparty is not started")
        return self._client

    # -- running -------------------------------------------------------------------------

    def run(
        self,
        *,
        duration: float | None = None,
        until_complete: bool = False,
        timeout: float | None = None,
    ) -> Report:
        """Play the partner until ``duration`` seconds have passed, or — ``until_complete`` —
        until every expectation is met (at most ``timeout`` seconds), or Ctrl-C, or
        :meth:`request_stop`; then return the report. Without a limit it runs until stopped."""
        limit = timeout if until_complete else duration
        deadline = None if limit is None else time.monotonic() + limit
        ended: Ended = "stopped"
        try:
            if not self._began_script:
                self._began_script = True
                self.partner_agent.begin()
            while True:
                self._tick()
                if until_complete and self.complete():
                    ended = "complete"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    ended = "timeout" if until_complete else "duration"
                    break
                if self._stop.is_set():
                    break
                self._sleep(deadline)
        except KeyboardInterrupt:
            ended = "interrupted"
        self._drain()
        self.partner_agent.finish()
        with self.ledger.lock:
            self.ledger.ended, self.ledger.ended_at = ended, self.ledger.now()
        report = self.report()
        counts = report.counts()
        self.event(
            "session",
            f"ended ({ended}): {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['error']} errors, {counts['skipped']} skipped",
            "ok" if report.ok else "problem",
        )
        return report

    def request_stop(self) -> None:
        """Ask :meth:`run` to end at its next turn (from any thread)."""
        self._stop.set()
        self._wake.set()

    def report(self) -> Report:
        """The report as it stands."""
        return build_report(self.ledger, self.session)

    def complete(self) -> bool:
        """True when the partner has done all it had to and every expectation is met."""
        if self._actions or not self.partner_agent.script_done():
            return False
        with self.ledger.lock:
            results = expectation_results(self.ledger, self.session)
        return all(r.outcome in ("pass", "skipped") for r in results if r.id not in VERDICTS)

    def event(
        self,
        actor: Literal["vendor", "partner", "session"],
        text: str,
        level: Literal["info", "ok", "problem"] = "info",
    ) -> None:
        happened = Event(self.ledger.now(), actor, text, level)
        self.events.append(happened)
        if self.on_event is not None:
            self.on_event(happened)

    def schedule(self, after: float, action: Action) -> None:
        action.due = time.monotonic() + after
        action.seq = next(self._seq)
        heapq.heappush(self._actions, action)

    # -- one turn ------------------------------------------------------------------------

    def _heard(self, call: Call) -> None:
        """From the server's thread: queue the vendor's call, wake the agent if it matters."""
        self._calls.put(call)
        if call.operation.lower() in _WAKING:
            self._wake.set()

    def _drain(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                return
            self.partner_agent.on_call(call)

    def _tick(self) -> None:
        self._drain()
        now = time.monotonic()
        while self._actions and self._actions[0].due <= now:
            action = heapq.heappop(self._actions)
            retry = self.partner_agent.carry_out(action)
            if retry:
                self.schedule(max(self.script.poll_interval, 0.2), action)
        self.partner_agent.poll_inbox()
        self._drain()
        self.partner_agent.follow_ups()

    def _sleep(self, deadline: float | None) -> None:
        now = time.monotonic()
        wait = self.script.poll_interval
        if self._actions:
            wait = min(wait, self._actions[0].due - now)
        if deadline is not None:
            wait = min(wait, deadline - now)
        if wait > 0:
            self._wake.wait(wait)
        self._wake.clear()


def _check_parties(vendor: VendorSystem, partner: PartnerAgency) -> None:
    if not vendor.organs:
        raise ConfigurationError("the vendor's system must serve at least one organ", field="organ")
    for organ in (*vendor.organs, partner.organ):
        if not is_organ_code(organ):
            raise ConfigurationError(f"{organ!r} is not an organ code", field="organ")
    if vendor.system_id == partner.system_id:
        raise ConfigurationError(
            f"the vendor and the partner cannot both be {vendor.system_id}", field="system_id"
        )
    if partner.organ in vendor.organs:
        raise ConfigurationError(
            f"{partner.organ} cannot be both the vendor's organ and the partner's",
            field="partner_organ",
        )
