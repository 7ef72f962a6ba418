"""Actions of the document-exchange cases: send, list, get, ack, sent, receive-status.

Each action acts as one party (``sender`` or ``receiver``) through its lgsp client, so the
same case runs over VXP, the LGSP gateway and the SOAP hub. ``send`` remembers what it sent
under the step's ``save`` name (:class:`Sent`); later steps name it (``of``, ``contains``…).
A document goes to the other party's organ, or to the sender's own when the run has one
party. Lists are polled until what is expected shows (``options.delivery_timeout``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lgsp._xml import parse_whole
from lgsp.clients import SendOutcome, SoapHubProfile
from lgsp.clients.models import ReceivedItem
from lgsp.conformance.runner import Context, step
from lgsp.conformance.steps._packages import (
    REFUSED,
    Built,
    build,
    organization,
    references,
    validity,
)
from lgsp.conformance.steps._raw import (
    ENVELOPES,
    Seen,
    envelope_kind,
    envelope_problem,
    expected_statuses,
)
from lgsp.conformance.suite import Step
from lgsp.documents import DocumentPackage, Organization, StatusPackage, read_package
from lgsp.errors import LgspError, RemoteServiceError
from lgsp.transports.auth import Auth, HeaderToken
from lgsp.transports.base import Response
from lgsp.transports.flow import run
from lgsp.transports.retry import RetryPolicy, call
from lgsp.transports.soap import DocumentHubCodec, HubTrace

__all__ = ["Sent"]

T = TypeVar("T")
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_BUSINESS = {"new": 0, "revoke": 1, "update": 2, "replace": 3}


@dataclasses.dataclass(slots=True)
class Sent:
    """A package a step sent, what the platform answered, and what later steps learnt."""

    built: Built
    party: str
    outcome: SendOutcome
    #: The id each party's list showed it under (the DocId, unless the platform renames).
    listed_as: dict[str, str] = dataclasses.field(default_factory=dict)
    #: The updateStatus value a receiver acknowledged it with.
    ack: str | None = None

    @property
    def doc_id(self) -> str | None:
        return self.outcome.doc_id

    def id_for(self, party: str) -> str:
        found = self.listed_as.get(party) or self.doc_id
        if not found:
            raise ValueError("the package has no DocId: it was not accepted")
        return found


def _sent(ctx: Context, name: Any) -> Sent:
    value = ctx.saved.get(str(name))
    if isinstance(value, Sent):
        return value
    raise KeyError(f"no earlier step saved a package as {name!r}")


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _org(ctx: Context, party: str) -> Organization:
    chosen = ctx.party(party)
    return organization(chosen.organ, chosen.organ_name)


def _poll(ctx: Context, probe: Callable[[], T], done: Callable[[T], bool]) -> tuple[T, float]:
    """Call ``probe`` until ``done`` holds or the delivery timeout passes; the last value."""
    began = time.monotonic()
    while True:
        value = probe()
        waited = time.monotonic() - began
        if done(value) or waited >= ctx.options.delivery_timeout:
            return value, waited
        time.sleep(ctx.options.poll_interval)


# --- send -------------------------------------------------------------------------------


def _refusal_status(response: Response | None) -> int | None:
    """The status a refusal says: HTTP, or in a SOAP Fault (whose HTTP status is 500 by SOAP
    1.1) the code in its detail, else 400 for a Client fault and 500 for a Server one."""
    if response is None:
        return None
    if b"Fault" not in response.read()[:4096]:
        return response.status_code
    try:
        fault = parse_whole(response.read()).find(f"{{{_SOAP}}}Body/{{{_SOAP}}}Fault")
    except LgspError:
        return response.status_code
    if fault is None:
        return response.status_code
    for element in fault.iter():
        text = (element.text or "").strip()
        if isinstance(element.tag, str) and element.tag.endswith("code") and text.isdigit():
            return int(text)
    side = (fault.findtext("faultcode") or "").rsplit(":", 1)[-1]
    return 400 if side == "Client" else 500


def _said(outcome: SendOutcome) -> str:
    if outcome.accepted:
        return f"accepted with DocId {outcome.doc_id!r}" + (
            f" ({outcome.message})" if outcome.message else ""
        )
    status = outcome.response.status_code if outcome.response is not None else None
    said = _refusal_status(outcome.response)
    shown = f"HTTP {status}" + (f" (Fault detail code {said})" if said != status else "")
    return f"refused: {shown}, code {outcome.code!r}: {outcome.message or ''}"[:400]


def _build(ctx: Context, s: Step) -> Built:
    p = s.params
    if p.get("resend_of"):
        return _sent(ctx, p["resend_of"]).built
    original = None
    if p.get("of"):
        model = _sent(ctx, p["of"]).built.model
        if not isinstance(model, DocumentPackage):
            raise ValueError(f"'of' must name a document package, not a status ({p['of']})")
        original = model
    other = "receiver" if s.party == "sender" else "sender"
    counterpart = s.party if other == "receiver" and ctx.target.receiver is None else other
    return build(
        str(p.get("package", "document")),
        number=ctx.unique(),
        sender=_org(ctx, s.party),
        receiver=_org(ctx, counterpart),
        original=original,
        code=None if p.get("code") is None else str(p["code"]),
        mutate=str(p.get("mutate", "none")),
        sign=bool(p.get("sign", True)),
        max_bytes=ctx.options.max_package_bytes,
    )


@step(
    "send",
    params=("package", "of", "code", "mutate", "sign", "resend_of"),
    expects=("accepted", "same_doc_id_as", "refused_status", "envelope", "error_code_in"),
)
def send(ctx: Context, s: Step) -> None:
    """Send a package (``package``: document | status | revoke | update | replace, of a saved
    ``of``; ``mutate``: a defect; ``resend_of``: the same bytes again) as ``party``."""
    built = _build(ctx, s)
    outcome = ctx.client(s.party).documents.send(
        built.content,
        sender=built.sender,
        receivers=list(built.receivers),
        message_type=built.message_type,
    )
    sent = Sent(built, s.party, outcome)
    if s.save:
        ctx.saved[s.save] = sent
        ctx.facts.setdefault("sent", {})[s.save] = {
            "doc_id": outcome.doc_id,
            "sha256": built.sha256,
            "bytes": len(built.content),
            "mutation": built.mutation,
        }
    e, said = s.expect, _said(outcome)
    what = REFUSED.get(built.mutation, f"a package ({built.mutation})")
    if e.get("accepted") is True:
        ctx.expect(outcome.accepted and bool(outcome.doc_id), "the package is accepted", said)
    elif e.get("accepted") is False:
        ctx.expect(not outcome.accepted, f"{what} is refused", said)
    if "envelope" in e:
        kind = envelope_kind(ctx, e["envelope"])
        seen = Seen.of(outcome.response)
        problem = "it was accepted" if outcome.accepted else envelope_problem(kind, seen)
        ctx.expect(problem is None, f"the refusal is a {ENVELOPES[kind]}", problem or said)
    if "refused_status" in e:
        allowed = list(expected_statuses(e["refused_status"]))
        status = _refusal_status(outcome.response) if not outcome.accepted else None
        ctx.expect(status in allowed, f"the refusal's status is one of {allowed}", said)
    if "error_code_in" in e:
        codes = [str(v) for v in e["error_code_in"]]
        ctx.expect(outcome.code in codes, f"the refusal's code is one of {codes}", said)
    if "same_doc_id_as" in e:
        first = _sent(ctx, e["same_doc_id_as"])
        ctx.expect(
            outcome.accepted and outcome.doc_id == first.doc_id,
            f"the resend gets the DocId of {e['same_doc_id_as']} ({first.doc_id})",
            said,
        )
    if not set(e) & {"accepted", "refused_status", "envelope", "same_doc_id_as"}:
        ctx.note("the platform answered the send", said)


# --- list, get ----------------------------------------------------------------------------


def _matches(item: ReceivedItem, sent: Sent) -> bool:
    if sent.doc_id is not None and item.doc_id == sent.doc_id:
        return True
    sha = (item.content_sha256 or "").strip().lower()
    return bool(sha) and sha == sent.built.sha256


@step("list", params=("kind",), expects=("contains", "lacks", "once"))
def list_received(ctx: Context, s: Step) -> None:
    """The party's received list (``kind``: edoc | status), polled until it ``contains`` and
    ``lacks`` the saved packages named; ``once``: each named shows exactly once."""
    kind = str(s.params.get("kind", "edoc"))
    contains = {n: _sent(ctx, n) for n in _names(s.expect.get("contains"))}
    lacks = {n: _sent(ctx, n) for n in _names(s.expect.get("lacks"))}
    once = {n: _sent(ctx, n) for n in _names(s.expect.get("once"))}
    documents = ctx.client(s.party).documents

    def settled(items: list[ReceivedItem]) -> bool:
        def shows(sent: Sent) -> bool:
            return any(_matches(i, sent) for i in items)

        return all(shows(v) for v in (*contains.values(), *once.values())) and not any(
            shows(v) for v in lacks.values()
        )

    items, waited = _poll(ctx, lambda: documents.received(kind), settled)
    seen = f"after {waited:.1f}s the list held {len(items)} item(s)"
    for name, sent in contains.items():
        hits = [i for i in items if _matches(i, sent)]
        if hits:
            sent.listed_as[s.party] = hits[0].doc_id
        ctx.expect(bool(hits), f"{s.party}'s list shows {name} (DocId {sent.doc_id})", seen)
    for name, sent in lacks.items():
        still = [f"{i.doc_id} (status {i.status!r})" for i in items if _matches(i, sent)]
        detail = f"still listed after {waited:.1f}s: {', '.join(still)}" if still else seen
        ctx.expect(not still, f"{s.party}'s list no longer shows {name}", detail)
    for name, sent in once.items():
        count = sum(_matches(i, sent) for i in items)
        ctx.expect(count == 1, f"{s.party}'s list shows {name} once", f"{count} cop(ies); {seen}")
    if not (contains or lacks or once):
        ctx.note(f"{s.party}'s list answers", seen)


@step("get", params=("of",), expects=("same_bytes_as", "valid", "refers_to", "business_type"))
def get(ctx: Context, s: Step) -> None:
    """Download the saved package ``of`` as ``party`` and check what came."""
    sent = _sent(ctx, s.params.get("of"))
    data = ctx.client(s.party).documents.get(sent.id_for(s.party))
    sha = hashlib.sha256(data).hexdigest()
    e = s.expect
    if "same_bytes_as" in e:
        first = _sent(ctx, e["same_bytes_as"])
        ctx.expect(
            sha == first.built.sha256,
            f"the package downloaded is byte for byte {e['same_bytes_as']}",
            f"got {len(data)} bytes, sha256 {sha[:16]}…; sent {len(first.built.content)} bytes, "
            f"sha256 {first.built.sha256[:16]}…",
        )
    if e.get("valid") is True:
        problem = validity(data)
        ctx.expect(
            problem is None, "the package is valid and its signature verifies", problem or ""
        )
    if "refers_to" in e or "business_type" in e:
        pkg = read_package(data)
        if not isinstance(pkg, DocumentPackage):
            ctx.expect(False, "the package is a document package", "got a status package")
            return
        if "refers_to" in e:
            wanted = _sent(ctx, e["refers_to"]).built.document_id
            refs = references(pkg)
            ctx.expect(
                wanted in refs, f"the package names {e['refers_to']} ({wanted})", f"names {refs}"
            )
        if "business_type" in e:
            want = _BUSINESS[str(e["business_type"])]
            got = pkg.business.doc_type if pkg.business is not None else None
            ctx.expect(got == want, f"BussinessDocType is {want}", f"got {got}")
    if not e:
        ctx.note("the package downloads", f"{len(data)} bytes")


# --- ack, sent, receive-status --------------------------------------------------------------


@step("ack", params=("of", "status"), expects=("ok",))
def ack(ctx: Context, s: Step) -> None:
    """``updateStatus`` (the hub: UpdateTraces) of the saved package ``of`` as ``party``."""
    sent = _sent(ctx, s.params.get("of"))
    status = str(s.params.get("status", "done"))
    try:
        answer = ctx.client(s.party).documents.update_status(sent.id_for(s.party), status)
        ok, detail = True, str(answer)[:200]
    except RemoteServiceError as exc:
        ok, detail = False, str(exc)[:400]
    if ok:
        sent.ack = status
    wanted = bool(s.expect.get("ok", True))
    verb = "is taken" if wanted else "is refused"
    ctx.expect(ok == wanted, f"updateStatus {status} of {s.params.get('of')} {verb}", detail)


def _hub_traces(ctx: Context, party: str, doc_id: str) -> list[HubTrace]:
    """GetTraces over the hub (the client offers no sent list there), as ``party``."""
    profile = ctx.party(party).settings.documents
    if not isinstance(profile, SoapHubProfile):
        raise TypeError("GetTraces needs a soap-hub profile")
    codec = DocumentHubCodec(str(profile.endpoint), wsdl=profile.wsdl)
    codec.load()
    auth: list[Auth] = []
    if profile.token is not None:
        auth.append(HeaderToken(profile.token.get_secret_value()))
    client = ctx.client(party)
    flow = call(
        codec.get_traces(doc_id), auth=auth, policy=RetryPolicy(max_attempts=1), idempotent=True
    )
    response = run(flow, client.transport, client.observer)
    try:
        return codec.parse_traces(response)
    finally:
        response.close()


def _delivery_states(ctx: Context, party: str, sent: Sent) -> dict[str, str]:
    """Each receiving organ of ``sent`` and the status the platform shows its sender."""
    doc_id = sent.id_for(party)
    if ctx.target.profile == "soap-hub":
        return {t["organ_id"]: t["status"].lower() for t in _hub_traces(ctx, party, doc_id)}
    items = ctx.client(party).documents.sent(doc_id=doc_id)
    return {
        str(i.to_code or ""): str(i.receive_status or "").lower()
        for i in items
        if doc_id in (i.sender_doc_id, i.receiver_doc_id)
    }


@step("sent", params=(), expects=("acknowledged",))
def sent_list(ctx: Context, s: Step) -> None:
    """What ``party`` sees of its sent packages (getSentEdocList; the hub: GetTraces), polled
    until each saved package named in ``acknowledged`` shows the receiver's acknowledgement."""
    for name in _names(s.expect.get("acknowledged")):
        sent = _sent(ctx, name)
        wanted = sent.ack or "done"
        receivers = set(sent.built.receivers)

        def acknowledged(states: dict[str, str], rs: set[str] = receivers, w: str = wanted) -> bool:
            return bool(rs) and all(states.get(r) == w for r in rs)

        def states_now(x: Sent = sent) -> dict[str, str]:
            return _delivery_states(ctx, s.party, x)

        states, waited = _poll(ctx, states_now, acknowledged)
        ctx.expect(
            acknowledged(states),
            f"{s.party} sees {name} acknowledged '{wanted}' by {', '.join(sorted(receivers))}",
            f"after {waited:.1f}s: {states or 'no delivery listed'}",
        )
    if not s.expect:
        ctx.note("the sent list answers")


def _find_status(
    ctx: Context, party: str, document_id: str | None, code: str
) -> tuple[tuple[str, StatusPackage] | None, list[str]]:
    """One poll: the status answering ``document_id`` with ``code`` in ``party``'s list."""
    documents = ctx.client(party).documents
    ours = {v.doc_id for v in ctx.saved.values() if isinstance(v, Sent) and v.doc_id}
    items = sorted(documents.received("status"), key=lambda i: i.doc_id not in ours)
    others: list[str] = []
    for item in items:
        try:
            pkg = read_package(documents.get(item.doc_id))
        except LgspError as exc:  # not ours to judge here: noted, passed over
            others.append(f"{item.doc_id}: unreadable ({exc})"[:200])
            continue
        if not isinstance(pkg, StatusPackage):
            others.append(f"{item.doc_id}: not a status package")
            continue
        rf = pkg.header.response_for
        if rf.document_id == document_id and pkg.header.code == code:
            return (item.doc_id, pkg), others
        if rf.document_id == document_id:
            others.append(f"{item.doc_id}: status {pkg.header.code}")
    return None, others


@step("receive-status", params=("of", "code", "ack"), expects=("delivered",))
def receive_status(ctx: Context, s: Step) -> None:
    """Poll ``party``'s status list until the status ``code`` answering the saved document
    ``of`` arrives; check its ResponseFor names that document; acknowledge it (``ack``)."""
    original = _sent(ctx, s.params.get("of"))
    code = str(s.params.get("code", ""))
    document_id = original.built.document_id
    last: list[list[str]] = [[]]

    def probe() -> tuple[str, StatusPackage] | None:
        found, last[0] = _find_status(ctx, s.party, document_id, code)
        return found

    found, waited = _poll(ctx, probe, lambda f: f is not None)
    wanted = bool(s.expect.get("delivered", True))
    seen = f"after {waited:.1f}s: " + (
        f"DocId {found[0]}" if found else "; ".join(last[0]) or "no status answering it"
    )
    ctx.expect(
        (found is not None) == wanted,
        f"a status {code} answering {s.params.get('of')} "
        + ("reaches" if wanted else "does not reach")
        + f" {s.party}",
        seen,
    )
    if found is None:
        return
    doc_id, pkg = found
    rf = pkg.header.response_for
    ctx.note(f"its ResponseFor/DocumentId names {s.params.get('of')}", str(rf.document_id))
    ctx.expect(
        rf.organ_id == original.built.sender,
        f"its ResponseFor names the original's organ {original.built.sender}",
        f"ResponseFor/OrganId {rf.organ_id!r}",
    )
    if s.params.get("ack", True):
        ctx.client(s.party).documents.update_status(doc_id, "done")
