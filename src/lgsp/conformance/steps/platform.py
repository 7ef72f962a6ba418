"""Actions: the platform itself — its directory and the portal's catalogue, its availability
and speed, and how it treats credentials (tokens, signatures, portal sessions).

Cases: ``cases/platform.toml``, ``cases/auth.toml`` (the catalogue's: ``cases/dossiers.toml``).
Each action reads the keys its ``@step`` names; an expectation set in a case is checked and
recorded with what was seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from lgsp.clients import Client, Settings
from lgsp.codes import is_procedure_code, parse_organ_code
from lgsp.conformance.runner import Context, step
from lgsp.conformance.steps._raw import (
    DOCUMENT_PROFILES,
    Lapse,
    Seen,
    check_answer,
    exchanges,
    looks_accepted,
    probe,
    profile_of,
    send,
    send_request,
    shown,
    token_request,
)
from lgsp.conformance.suite import Step
from lgsp.errors import CodeError, LgspError
from lgsp.transports.auth import ClientCredentials
from lgsp.transports.base import Response

__all__: list[str] = []


def _wanted(s: Step, key: str) -> bool | None:
    """The expectation ``key`` of a step as a bool (None when the case does not set it)."""
    return None if key not in s.expect else bool(s.expect[key])


def _failure(fn: Callable[[], object]) -> str | None:
    """Run a call; what went wrong (``RemoteServiceError: …``), or None when it succeeded."""
    try:
        fn()
    except LgspError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _light(ctx: Context, client: Client, party: str = "sender") -> str | None:
    """One light call of the profile (a count, a catalogue, a token); what failed, or None."""
    profile = ctx.target.profile
    if profile in DOCUMENT_PROFILES:
        return _failure(client.documents.count)
    if profile == "portal":
        return _failure(client.catalogue.fields_of_work)
    answer = send_request(ctx, token_request(ctx, party), party=party)
    seen = Seen.of(answer)
    return None if seen.status == 200 else seen.describe()


def _guarded_call(ctx: Context, client: Client, party: str) -> None:
    """A call behind the profile's credentials (a token portal's is GetNextValue)."""
    profile = ctx.target.profile
    if profile in DOCUMENT_PROFILES:
        client.documents.count()
    elif profile == "portal":
        client.catalogue.fields_of_work()
    else:
        client.dossiers.next_code(ctx.party(party).organ)


# --- the directory ------------------------------------------------------------------------------


@step("list_agencies", params=("strict",), expects=("non_empty", "well_formed", "own_listed"))
def list_agencies(ctx: Context, s: Step) -> None:
    """The agency directory (getAgenciesList, the hub's GetOrganizations, the portal's
    LayDanhMucCoQuan): entries with a name and a valid organ code, the party's organ among
    them. ``strict`` checks codes in the QCVN 102 form only (default: every form seen in use)."""
    client = ctx.client(s.party)
    if ctx.target.profile in DOCUMENT_PROFILES:
        entries = [(a.code, a.name) for a in client.agencies.list()]
    elif ctx.target.profile == "portal":
        entries = [(o.code, o.name) for o in client.catalogue.organs()]
    else:
        raise ValueError(f"the {ctx.target.profile} profile has no agency directory")
    ctx.facts["agencies"] = len(entries)
    if _wanted(s, "non_empty") is not None:
        ctx.expect(
            bool(entries) == _wanted(s, "non_empty"),
            "the directory lists agencies",
            f"{len(entries)} entries",
        )
    if _wanted(s, "well_formed"):
        problems = []
        for code, name in entries:
            try:
                parse_organ_code(code, strict=bool(s.params.get("strict", False)))
            except CodeError as exc:
                problems.append(f"{code!r}: {exc}")
            if not (name or "").strip():
                problems.append(f"{code!r} has no name")
        codes = [code for code, _ in entries]
        if len(set(codes)) != len(codes):
            problems.append("some codes are listed twice")
        ctx.expect(
            not problems,
            "every entry has a name and a valid, unique organ code",
            "; ".join(problems[:5]) or f"{len(entries)} entries checked",
        )
    if _wanted(s, "own_listed"):
        organ = ctx.party(s.party).organ
        ctx.expect(
            organ in {code for code, _ in entries},
            f"the party's own organ {organ} is listed",
        )


# --- availability and latency -----------------------------------------------------------------


@step("light_calls", params=("calls", "warm_up"), expects=("answered", "within_budget"))
def light_calls(ctx: Context, s: Step) -> None:
    """Light calls in a row (a count, a catalogue, a token): ``calls`` of them (default: the
    run's ``availability_calls``), every one answered without a refusal (503) or a dropped
    connection; ``within_budget``: the last one answered within the run's ``latency_budget``.
    ``warm_up`` makes one untimed call first (connections, tokens, sessions)."""
    client = ctx.client(s.party)
    if s.params.get("warm_up"):
        failed = _light(ctx, client, s.party)
        ctx.expect(failed is None, "the warm-up call is answered", failed or "")
    calls = int(s.params.get("calls", ctx.options.availability_calls))
    failures: list[str] = []
    elapsed = 0.0
    for _ in range(calls):
        began = time.perf_counter()
        failed = _light(ctx, client, s.party)
        elapsed = time.perf_counter() - began
        if failed is not None:
            failures.append(failed)
    ctx.facts["last_call_ms"] = round(elapsed * 1000, 2)
    if _wanted(s, "answered") is not None or _wanted(s, "within_budget"):
        detail = f"{calls - len(failures)} of {calls} answered"
        if failures:
            detail += f"; first failure: {failures[0]}"
        ctx.expect(not failures, f"{calls} light call(s) in a row are all answered", detail)
    if _wanted(s, "within_budget"):
        budget = ctx.options.latency_budget
        ctx.expect(
            elapsed <= budget,
            f"a light call is answered within {budget * 1000:.0f} ms",
            f"answered in {elapsed * 1000:.1f} ms",
        )


# --- refusals of bad credentials -------------------------------------------------------------


def _settings_with(ctx: Context, party: str, **changes: Any) -> Settings:
    """A copy of the party's settings with fields of its profile changed."""
    settings = ctx.party(party).settings
    profile = profile_of(ctx, party).model_copy(update=changes)
    kind = "documents" if ctx.target.profile in DOCUMENT_PROFILES else "dossiers"
    return settings.model_copy(update={kind: profile})


def _guarded_raw(ctx: Context, party: str, credential: str | None) -> Response | None:
    """A light call sent raw with ``credential`` (a bearer token or a portal session) or none."""
    profile = ctx.target.profile
    settings = profile_of(ctx, party)
    headers: list[tuple[str, str]] = []
    if profile == "portal":
        body: dict[str, Any] = {"madonvi": settings.madonvi, "service": "LayDanhMucLinhVuc"}
        if credential is not None:
            body["session"] = credential
        headers.append(("dstcode", settings.dstcode))
        return send(
            ctx, "POST", settings.share_url, operation="LayDanhMucLinhVuc",
            headers=headers, json_body=body, party=party,
        )  # fmt: skip
    if credential is not None:
        headers.append(("Authorization", f"Bearer {credential}"))
    if profile == "portal-token":
        url = f"{settings.base_url.rstrip('/')}/GetNextValue?code={quote(ctx.party(party).organ)}"
        return send(ctx, "GET", url, operation="GetNextValue", headers=headers, party=party)
    if profile == "vxp":
        url = settings.endpoint.rstrip("/") + "/getAgenciesList"
    elif profile == "gateway":
        url = settings.service_url.rstrip("/") + "/getAgenciesList"
    else:
        raise ValueError(f"the {profile} profile has no raw light call")
    return send(ctx, "POST", url, operation="getAgenciesList", headers=headers, party=party)


def _probe_refusal(ctx: Context, party: str, use: str) -> tuple[Seen, str | None]:
    """A one-off client whose settings carry the wrong credential: the answer to judge and
    what the client raised."""
    wrong = SecretStr(f"lgsp-kit-wrong-{ctx.unique()}")
    changes: dict[str, Any] = {
        "wrong-signature": {"secret": wrong},
        "wrong-client-secret": {"client_secret": wrong},
        "wrong-password": {"password": wrong},
        "unknown-token": {"token": wrong},  # the SOAP hub's token header
    }[use]
    judged = {"wrong-client-secret": "token", "wrong-password": "login"}.get(use)
    with probe(ctx, _settings_with(ctx, party, **changes)) as p:
        mark = len(ctx.evidence)
        raised = _failure(lambda: _guarded_call(ctx, p.client, party))
    seen = [e for e in exchanges(ctx, mark) if judged is None or e.operation == judged]
    if judged is None:
        seen = [e for e in seen if e.operation not in ("token", "login")]
    return Seen.of(seen[-1] if seen else None), raised


_USES = {
    "no-credentials": ("vxp", "gateway", "portal", "portal-token"),
    "unknown-token": ("gateway", "portal-token", "soap-hub"),
    "unknown-session": ("portal",),
    "wrong-signature": ("vxp", "gateway"),
    "wrong-client-secret": ("gateway", "portal-token"),
    "wrong-password": ("portal",),
}


@step(
    "refused_credentials",
    params=("use",),
    expects=("status", "envelope", "fault_code", "www_authenticate"),
)
def refused_credentials(ctx: Context, s: Step) -> None:
    """A call with bad credentials is refused. ``use``: ``no-credentials`` (unsigned, no token,
    no session), ``unknown-token`` / ``unknown-session`` (one the platform never issued),
    ``wrong-signature`` (the VXP HMAC with a wrong secret), ``wrong-client-secret`` (at the
    token endpoint), ``wrong-password`` (the portal login). Expect the HTTP ``status`` (one or
    a list), the contract's ``envelope``, the WSO2 ``fault_code``, a ``www_authenticate``
    header."""
    use = str(s.params.get("use", "no-credentials"))
    profile = ctx.target.profile
    if profile not in _USES.get(use, ()):
        raise ValueError(f"use {use!r} does not apply to the {profile} profile")
    if use in ("no-credentials", "unknown-token", "unknown-session") and profile != "soap-hub":
        credential = None if use == "no-credentials" else f"lgsp-kit-unknown-{ctx.unique()}"
        seen = Seen.of(_guarded_raw(ctx, s.party, credential))
        refused = seen.status is not None and not looks_accepted(seen)
    else:
        seen, raised = _probe_refusal(ctx, s.party, use)
        # the client's own reading counts too: a call it completed was not refused
        refused = raised is not None and seen.status is not None and not looks_accepted(seen)
    ctx.expect(refused, f"the platform refuses the call ({use})", seen.describe())
    check_answer(ctx, s, seen, keys=("status", "envelope"))
    if "fault_code" in s.expect:
        data = seen.json()
        fault = data.get("fault") if isinstance(data, dict) else None
        code = fault.get("code") if isinstance(fault, dict) else None
        ctx.expect(
            str(code) == str(s.expect["fault_code"]),
            f"the WSO2 fault code is {s.expect['fault_code']}",
            f"got {code!r}",
        )
    if _wanted(s, "www_authenticate"):
        header = seen.headers.get("www-authenticate")
        ctx.expect(bool(header), "a WWW-Authenticate header says how to authenticate", header or "")


# --- tokens ----------------------------------------------------------------------------------


@step("fetch_token", expects=("issued", "bearer", "min_lifetime"))
def fetch_token(ctx: Context, s: Step) -> None:
    """The token endpoint issues a token for the party's client credentials: ``issued`` (200
    with an access_token), ``bearer`` (token_type Bearer), ``min_lifetime`` (``expires_in`` at
    least the run's ``min_token_lifetime``, or the number given)."""
    seen = Seen.of(send_request(ctx, token_request(ctx, s.party), party=s.party))
    data = seen.json()
    data = data if isinstance(data, dict) else {}
    if _wanted(s, "issued") is not None:
        issued = seen.status == 200 and bool(data.get("access_token"))
        ctx.expect(issued == _wanted(s, "issued"), "a token is issued", seen.describe())
    if _wanted(s, "bearer"):
        kind = str(data.get("token_type", ""))
        ctx.expect(kind.lower() == "bearer", "the token is a Bearer token", f"token_type {kind!r}")
    if "min_lifetime" in s.expect:
        wanted = s.expect["min_lifetime"]
        least = ctx.options.min_token_lifetime if wanted is True else int(wanted)
        lifetime = data.get("expires_in")
        try:
            ok = float(lifetime) >= least  # type: ignore[arg-type]
        except (TypeError, ValueError):
            ok = False
        ctx.facts["expires_in"] = lifetime
        ctx.expect(ok, f"the token lives at least {least} s", f"expires_in {lifetime!r}")


@step("renew_credentials", expects=("renewed",))
def renew_credentials(ctx: Context, s: Step) -> None:
    """A client holding a credential the platform no longer accepts (a token, a portal
    session) is refused in a way it recognises (401; the adapter's session error), fetches one
    new credential and its call then succeeds — all three visible in the evidence."""
    profile = ctx.target.profile
    settings = ctx.party(s.party).settings
    lapse = Lapse()
    renewal = "login" if profile == "portal" else "token"
    if profile not in ("portal", "gateway", "portal-token"):
        raise ValueError(f"the {profile} profile holds no renewable credential")
    with probe(ctx, settings, extra_auth=[lapse] if profile == "portal" else ()) as p:
        _guarded_call(ctx, p.client, s.party)  # first credential, first call
        if profile == "portal":
            lapse.armed = f"lgsp-kit-lapsed-{ctx.unique()}"
        else:
            scheme = next(a for a in p.schemes if isinstance(a, ClientCredentials))
            if scheme.token is None:
                raise ValueError("the client fetched no token")
            scheme.token.value = f"lgsp-kit-revoked-{ctx.unique()}"
        mark = len(ctx.evidence)
        raised = _failure(lambda: _guarded_call(ctx, p.client, s.party))
    seen = exchanges(ctx, mark)
    calls = [e for e in seen if e.operation != renewal]
    renewals = [e for e in seen if e.operation == renewal]
    first = Seen.of(calls[0] if calls else None)
    refused = first.status == 401 if renewal == "token" else not looks_accepted(first)
    what = "401" if renewal == "token" else "a session error"
    ctx.expect(refused, f"the stale credential is refused with {what}", shown(seen))
    ctx.expect(
        len(renewals) == 1 and renewals[0].status == 200,
        f"the client makes one {renewal} call for a new credential",
        shown(seen),
    )
    last = Seen.of(calls[-1] if calls else None)
    ctx.expect(
        raised is None and len(calls) == 2 and looks_accepted(last),
        "the call succeeds with the new credential",
        raised or shown(seen),
    )


# --- the portal's catalogue ------------------------------------------------------------------


@step("catalogue", params=("service", "code", "procedure"), expects=("non_empty", "found",
      "well_formed"))  # fmt: skip
def catalogue(ctx: Context, s: Step) -> None:
    """The portal's catalogue (the adapter's share endpoint): ``LayDanhSachTTHC`` and
    ``LayDanhMucLinhVuc`` list entries with a code and a name (procedure codes ``d.dddddd``);
    ``LayThuTuc`` finds the procedure ``code`` (or the one an earlier step saved as
    ``procedure``). ``save`` keeps the first code listed."""
    if ctx.target.profile != "portal":
        raise ValueError("the catalogue is served by the classic adapter")
    client = ctx.client(s.party).catalogue
    service = str(s.params.get("service", "LayDanhSachTTHC"))
    entries: list[tuple[str | None, str | None]]
    if service == "LayDanhSachTTHC":
        entries = [(p.code, p.name) for p in client.procedures()]
    elif service == "LayDanhMucLinhVuc":
        entries = [(f.code, f.name) for f in client.fields_of_work()]
    elif service == "LayThuTuc":
        code = str(s.params.get("code") or ctx.saved.get(str(s.params.get("procedure")), ""))
        found = client.procedure(code)
        entries = [(found.code, found.name)] if found is not None else []
        if s.expect.get("found") is not None:
            hit = found is not None and found.code == code
            what = f"{found.code} {found.name}" if found is not None else "nothing"
            ctx.expect(hit == bool(s.expect["found"]), f"LayThuTuc finds {code}", what)
    else:
        raise ValueError(f"no catalogue service {service!r}")
    if s.save and entries:
        ctx.saved[s.save] = entries[0][0]
    if s.expect.get("non_empty") is not None:
        ctx.expect(bool(entries) == bool(s.expect["non_empty"]), f"{service} lists entries",
                   f"{len(entries)} entries")  # fmt: skip
    if s.expect.get("well_formed"):
        bad = [
            f"{code!r}"
            for code, name in entries
            if not code
            or not (name or "").strip()
            or (service != "LayDanhMucLinhVuc" and not is_procedure_code(code))
        ]
        ctx.expect(not bad, "every entry has a valid code and a name", ", ".join(bad[:5]))
