"""What the platform and dossier actions need beside the run's clients: calls outside them,
one-off clients, credentials fetched by hand, and the judges of the contracts' error envelopes.

A conformance suite must see what a client would hide: a refusal's exact status and body, a
call without credentials, a client built from changed settings (a wrong secret), a payload the
client's own checks would stop. Raw calls go through the party's own transport (httpx, its TLS
options) with no auth, no codec and no retry; one-off clients are lgsp clients made from a copy
of the settings. Every exchange is recorded by the run's recorder, so it is evidence of the
step like any other (secrets masked), and :func:`check_answer` judges what the report shows.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from lgsp.clients import Client
from lgsp.clients._profiles import client_arguments
from lgsp.conformance.results import Evidence
from lgsp.errors import LgspError
from lgsp.transports.auth import Auth, ClientCredentials, PortalSession
from lgsp.transports.base import Request, Response, encode_json
from lgsp.transports.flow import Effect
from lgsp.transports.retry import RetryPolicy

if TYPE_CHECKING:
    from lgsp.clients import Settings
    from lgsp.conformance.runner import Context
    from lgsp.conformance.suite import Step

__all__ = [
    "DOCUMENT_PROFILES",
    "ENVELOPES",
    "Lapse",
    "Probe",
    "Seen",
    "check_answer",
    "envelope_kind",
    "envelope_problem",
    "exchanges",
    "expected_statuses",
    "fresh_credential",
    "looks_accepted",
    "probe",
    "profile_of",
    "send",
    "send_request",
    "shown",
    "token_request",
]

DOCUMENT_PROFILES = ("vxp", "gateway", "soap-hub")
#: The error envelopes the actions can judge, and what each one is.
ENVELOPES: dict[str, str] = {
    "vxp": 'VXP JSON {"status": "FAIL", "ErrorCode", "ErrorDesc"} (vn-contracts §2.1)',
    "wso2": 'WSO2 gateway fault JSON {"fault": {"code", "message", "description"}} (§3)',
    "oauth": 'OAuth2 token error JSON {"error", "error_description"} (§3, RFC 6749 §5.2)',
    "soap-fault": "SOAP 1.1 Fault with faultcode and faultstring (§3, the document hub)",
    "portal": 'DVCQG adapter JSON with a non-zero "error_code" (§4.1)',
    "token-portal": 'ministry portal JSON {"success": false, "error_code"/"message"} (§4.3)',
}
_SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def profile_of(ctx: Context, party: str = "sender") -> Any:
    """The party's profile for the target's contract (documents or dossiers)."""
    settings = ctx.party(party).settings
    if ctx.target.profile in DOCUMENT_PROFILES:
        return settings.documents
    return settings.dossiers


# --- raw calls ----------------------------------------------------------------------------


def send(
    ctx: Context,
    method: str,
    url: str,
    *,
    operation: str,
    headers: Sequence[tuple[str, str]] = (),
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    party: str = "sender",
) -> Response | None:
    """One call outside the clients (no auth, no codec, no retry) through the party's own
    transport; recorded as evidence. None when no answer came (the evidence says why)."""
    content = b""
    sent = list(headers)
    if json_body is not None:
        content = encode_json(json_body)
        sent.append(("Content-Type", "application/json"))
    elif form is not None:
        content = urlencode(dict(form)).encode()
        sent.append(("Content-Type", "application/x-www-form-urlencoded"))
    timeouts = ctx.party(party).settings.timeouts.to_timeouts()
    request = Request(
        method, url, tuple(sent), content, meta={"operation": operation}, timeouts=timeouts
    )
    return send_request(ctx, request, party=party)


def send_request(ctx: Context, request: Request, *, party: str = "sender") -> Response | None:
    """``request`` as it is, through the party's transport; recorded as evidence."""
    transport = ctx.client(party).transport
    started = time.perf_counter()
    try:
        response = transport.handle(request)
    except LgspError as exc:
        ctx.runner.recorder.exchange(request, None, exc, time.perf_counter() - started)
        return None
    response.elapsed = time.perf_counter() - started
    response.request = request
    ctx.runner.recorder.exchange(request, response, None, response.elapsed)
    return response


# --- one-off clients ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Probe:
    """A one-off client and the auth schemes its services hold (to find or poison them)."""

    client: Client
    schemes: tuple[Auth, ...]


@contextmanager
def probe(ctx: Context, settings: Settings, *, extra_auth: Sequence[Auth] = ()) -> Iterator[Probe]:
    """An lgsp client for ``settings`` (never retrying, evidence recorded for the step);
    ``extra_auth`` runs after the services' own schemes. Closed on exit."""
    args = client_arguments(settings)
    schemes: list[Auth] = []
    for kind in ("documents", "dossiers"):
        service = args.get(kind)
        if service is not None:
            if extra_auth:
                service = dataclasses.replace(service, auth=[*service.auth, *extra_auth])
                args[kind] = service
            schemes.extend(service.auth)
    args.update(
        retry=RetryPolicy(max_attempts=1),
        observer=ctx.runner.recorder,
        outbox=None,
        inbox=None,
        download_dir=ctx.runner.work / "probe",
    )
    client = Client(**args)
    try:
        yield Probe(client, tuple(schemes))
    finally:
        client.close()


# --- what came back ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Seen:
    """One answer as judged: status (None: no answer), headers by lowercase name, body."""

    status: int | None
    headers: Mapping[str, str]
    body: str
    error: str | None = None

    @classmethod
    def of(cls, answer: Response | Evidence | None) -> Seen:
        if answer is None:
            return cls(None, {}, "", "no answer")
        if isinstance(answer, Evidence):
            return cls(
                answer.status,
                {k.lower(): v for k, v in answer.response_headers.items()},
                answer.response_body or "",
                answer.error,
            )
        headers = {k.lower(): v for k, v in answer.headers}
        return cls(answer.status_code, headers, answer.read().decode("utf-8", "replace"))

    def json(self) -> Any:
        """The body as JSON, or None when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self, limit: int = 160) -> str:
        """``HTTP 401 {"fault": …}`` (cut), or why no answer came."""
        if self.status is None:
            return f"no answer ({self.error or 'connection failed'})"
        body = " ".join(self.body.split())
        body = body if len(body) <= limit else body[:limit] + "…"
        return f"HTTP {self.status} {body}".rstrip()


def exchanges(ctx: Context, mark: int, operation: str | None = None) -> list[Evidence]:
    """The evidence recorded since ``len(ctx.evidence)`` was ``mark`` (of one operation)."""
    found = ctx.evidence[mark:]
    if operation is not None:
        found = [e for e in found if e.operation == operation]
    return found


def shown(evidence: Sequence[Evidence]) -> str:
    """``token 200, getAgenciesList 401, …``: the exchanges of a step in one line."""
    return ", ".join(f"{e.operation or e.method} {e.status or e.error or '?'}" for e in evidence)


def expected_statuses(value: Any) -> tuple[int, ...]:
    """An ``expect.status`` value (one code or a list) as a tuple of ints."""
    values = value if isinstance(value, list | tuple) else [value]
    return tuple(int(v) for v in values)


# --- envelope judges ----------------------------------------------------------------------


def _nonzero(code: Any) -> bool:
    return code is not None and str(code).strip() not in ("", "0", "00")


_CONTRACT = {
    "vxp": "vxp",
    "gateway": "vxp",
    "soap-hub": "soap-fault",
    "portal": "portal",
    "portal-token": "token-portal",
}


def envelope_kind(ctx: Context, value: Any) -> str:
    """An ``expect.envelope`` value; ``contract`` is the envelope of the target's profile (the
    gateway passes the axis's refusals through in the VXP envelope)."""
    kind = str(value)
    return _CONTRACT[ctx.target.profile] if kind == "contract" else kind


def envelope_problem(kind: str, seen: Seen) -> str | None:
    """What is wrong with a refusal's envelope for the contract ``kind`` (None: it is right)."""
    if kind not in ENVELOPES:
        raise ValueError(f"no envelope {kind!r} (known: {', '.join(ENVELOPES)})")
    if seen.status is None:
        return f"no answer came ({seen.error or 'connection failed'})"
    if kind == "soap-fault":
        return _soap_fault_problem(seen)
    data = seen.json()
    if not isinstance(data, dict):
        return f"the body is not a JSON object: {seen.describe()}"
    problem: str | None = None
    if kind == "vxp":
        if str(data.get("status", "")).upper() != "FAIL" or not _nonzero(data.get("ErrorCode")):
            problem = 'status must be "FAIL" with a non-zero ErrorCode'
        elif not isinstance(data.get("ErrorDesc"), str):
            problem = "ErrorDesc (the reason) is missing"
    elif kind == "wso2":
        fault = data.get("fault")
        if not isinstance(fault, dict) or fault.get("code") is None or not fault.get("message"):
            problem = 'no "fault" object with a code and a message'
    elif kind == "oauth":
        if not isinstance(data.get("error"), str) or not data["error"]:
            problem = 'no "error" code'
    elif kind == "portal":
        if not _nonzero(data.get("error_code")):
            problem = "no non-zero error_code"
    elif data.get("success") is not False or not (data.get("error_code") or data.get("message")):
        problem = '"success" must be false, with an error_code or a message'
    return None if problem is None else f"{problem}: {seen.describe()}"


def _soap_fault_problem(seen: Seen) -> str | None:
    from lgsp._xml import parse_whole

    try:
        root = parse_whole(seen.body.encode("utf-8"), source="the answer")
    except LgspError:
        return f"the body is not XML: {seen.describe()}"
    fault = root.find(f"{{{_SOAP_NS}}}Body/{{{_SOAP_NS}}}Fault")
    if root.tag != f"{{{_SOAP_NS}}}Envelope" or fault is None:
        return f"no SOAP 1.1 Envelope/Body/Fault: {seen.describe()}"
    if not (fault.findtext("faultcode") or "").strip() or fault.find("faultstring") is None:
        return f"the Fault has no faultcode or faultstring: {seen.describe()}"
    return None


def check_answer(
    ctx: Context, s: Step, seen: Seen, keys: Sequence[str] = ("accepted", "status", "envelope")
) -> None:
    """The step's expectations among ``keys`` checked against one answer: ``accepted`` (the
    call taken or refused), ``status`` (one HTTP code or a list), ``envelope`` (a refusal's
    form, :data:`ENVELOPES`, or ``contract``: the profile's own)."""
    if "accepted" in keys and "accepted" in s.expect:
        wanted = bool(s.expect["accepted"])
        verb = "takes" if wanted else "refuses"
        ctx.expect(looks_accepted(seen) == wanted, f"the platform {verb} it", seen.describe())
    if "status" in keys and "status" in s.expect:
        codes = expected_statuses(s.expect["status"])
        shown_codes = " or ".join(map(str, codes))
        ctx.expect(seen.status in codes, f"the answer is HTTP {shown_codes}", seen.describe())
    if "envelope" in keys and "envelope" in s.expect:
        kind = envelope_kind(ctx, s.expect["envelope"])
        problem = envelope_problem(kind, seen)
        ctx.expect(problem is None, f"the refusal is in the {kind} envelope", problem or "")


def looks_accepted(seen: Seen) -> bool:
    """Whether an answer says the call was taken: a 2xx whose body says no failure in any of
    the contracts' envelopes."""
    if seen.status is None or not 200 <= seen.status < 300:
        return False
    data = seen.json()
    if isinstance(data, dict):
        if str(data.get("status", "")).upper() == "FAIL" or data.get("success") is False:
            return False
        if _nonzero(data.get("error_code")) or _nonzero(data.get("ErrorCode")):
            return False
        if "error" in data or "fault" in data:
            return False
    return "Fault>" not in seen.body


# --- credentials fetched outside the clients -------------------------------------------------


def token_request(ctx: Context, party: str) -> Request:
    """The party's client-credentials call, as lgsp's ClientCredentials makes it."""
    profile = profile_of(ctx, party)
    if ctx.target.profile not in ("gateway", "portal-token"):
        raise ValueError(f"the {ctx.target.profile} profile has no token endpoint")
    secret = profile.client_secret.get_secret_value()
    scope = getattr(profile, "scope", None)
    return ClientCredentials(
        profile.token_url, profile.client_id, secret, scope=scope
    ).token_request()


def fresh_credential(ctx: Context, party: str) -> str | None:
    """A fresh session (classic) or bearer token (token portal), fetched raw; None if refused."""
    profile = profile_of(ctx, party)
    scheme: PortalSession | ClientCredentials
    if ctx.target.profile == "portal":
        password = profile.password.get_secret_value()
        scheme = PortalSession(profile.auth_url, profile.username, password, profile.dstcode)
        request = scheme.login_request()
    else:
        secret = profile.client_secret.get_secret_value()
        scheme = ClientCredentials(profile.token_url, profile.client_id, secret)
        request = scheme.token_request()
    response = send_request(ctx, request, party=party)
    if response is None:
        return None
    try:
        return scheme.accept(response).value
    except LgspError:
        return None


class Lapse:
    """An auth scheme placed after the portal session: once armed, the next call carries a
    session the portal never issued, as when the one a client holds has lapsed."""

    def __init__(self) -> None:
        self.armed: str | None = None

    def prepare(self, request: Request) -> Generator[Effect, Any, Request]:
        value, self.armed = self.armed, None
        if value is not None and request.meta.get("json") is not None:
            request = request.with_json(session=value)
        return request
        yield  # pragma: no cover - makes this a generator

    def should_retry(self, request: Request, response: Response) -> Generator[Effect, Any, bool]:
        return False
        yield  # pragma: no cover
