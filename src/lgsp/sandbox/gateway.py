"""The LGSP gateway's side of auth (WSO2 API Manager, vn-contracts §3): ``POST /token`` and
the bearer check of the APIs behind it.

``POST /token`` takes ``grant_type=client_credentials`` with ``client_id``/``client_secret``
as form fields or as HTTP Basic, for the configured applications, and answers
``{access_token, token_type: "Bearer", expires_in, scope}``; bad credentials are ``401
{"error": "invalid_client"}``. Tokens are kept in the store with their expiry (the
``token_lifetime`` fault knob overrides the application's). A call behind the gateway without
a valid token gets ``401`` with a WSO2-style fault body — ``900902`` when no credentials came,
``900901`` when the token is unknown or expired — and a ``WWW-Authenticate`` header. With the
``accept-any-token`` defect, an unknown or expired token is taken all the same.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lgsp.sandbox.config import LgspApplication
from lgsp.sandbox.faults import Defect
from lgsp.sandbox.state import SandboxState

__all__ = ["GatewayRefusal", "check_token", "issue_token", "token_route"]

MISSING_CREDENTIALS = 900902
INVALID_CREDENTIALS = 900901


class GatewayRefusal(Exception):  # noqa: N818 - the gateway's answer, not a bug
    """A call the gateway refuses before the API sees it (401, WSO2 fault body)."""

    def __init__(self, code: int, message: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.message = message
        self.description = description

    def response(self) -> JSONResponse:
        error = "invalid_request" if self.code == MISSING_CREDENTIALS else "invalid_token"
        return JSONResponse(
            {
                "fault": {
                    "code": self.code,
                    "message": self.message,
                    "description": self.description,
                }
            },
            status_code=401,
            headers={
                "WWW-Authenticate": (
                    f'OAuth2 realm="lgsp-sandbox", error="{error}", '
                    f'error_description="{self.message}"'
                )
            },
        )


def _application(state: SandboxState, client_id: str, secret: str) -> LgspApplication | None:
    for app in state.config.applications:
        if app.client_id == client_id and hmac.compare_digest(
            app.client_secret.encode(), secret.encode()
        ):
            return app
    return None


def issue_token(
    state: SandboxState, app: LgspApplication, scope: str | None = None
) -> dict[str, Any]:
    """A new access token for ``app``, stored with its expiry; the token endpoint's answer."""
    lifetime = state.token_lifetime(app.token_lifetime)
    token = str(uuid.uuid4())
    now = state.clock()
    with state.store.transaction() as db:
        db.execute(
            "INSERT INTO gateway_tokens (token, client_id, scope, issued, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token, app.client_id, scope, now, now + lifetime),
        )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope or "default",
    }


def check_token(state: SandboxState, authorization: str | None) -> LgspApplication:
    """The application whose bearer token ``authorization`` carries (``Bearer <token>``, or a
    bare token as the SOAP hub's header has it). Raises :class:`GatewayRefusal`."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else value
    if not token:
        raise GatewayRefusal(
            MISSING_CREDENTIALS,
            "Missing Credentials",
            "no access token: send 'Authorization: Bearer <token>' (POST /token gives one)",
        )
    with state.store.reading() as db:
        row = db.execute(
            "SELECT client_id, expires_at FROM gateway_tokens WHERE token = ?", (token,)
        ).fetchone()
    if row is None:
        return _refused(
            state,
            GatewayRefusal(
                INVALID_CREDENTIALS, "Invalid Credentials", "the access token is not known"
            ),
        )
    app = next((a for a in state.config.applications if a.client_id == row[0]), None)
    if state.clock() >= row[1]:
        return _refused(
            state,
            GatewayRefusal(
                INVALID_CREDENTIALS,
                "Invalid Credentials",
                "the access token expired: get a new one from POST /token",
            ),
            app,
        )
    if app is None:  # the application was removed from the config since
        raise GatewayRefusal(
            INVALID_CREDENTIALS, "Invalid Credentials", "the application is no longer subscribed"
        )
    return app


#: Who an unknown token is taken for under the ``accept-any-token`` defect: no system.
ANY_TOKEN = LgspApplication(client_id="(any token)", client_secret="")


def _refused(
    state: SandboxState, refusal: GatewayRefusal, app: LgspApplication | None = None
) -> LgspApplication:
    """Raise ``refusal`` for a bad token, unless the sandbox plays ``accept-any-token``."""
    if state.faults.plays(Defect.ACCEPT_ANY_TOKEN):
        return app or ANY_TOKEN
    raise refusal


def _invalid_client(description: str, status: int = 401) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_client", "error_description": description},
        status_code=status,
        headers={"WWW-Authenticate": 'Basic realm="lgsp-sandbox"'} if status == 401 else None,
    )


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        pair = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = pair.partition(":")
    return (client_id, secret) if sep else None


def token_route(state: SandboxState, path: str = "/token") -> Route:
    """``POST /token``: OAuth2 client credentials for the configured applications."""

    async def token(request: Request) -> JSONResponse:
        """OAuth2 client credentials (WSO2 style): form fields or HTTP Basic."""
        body = await request.body()
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        except UnicodeDecodeError:
            form = {}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "only grant_type=client_credentials is supported",
                },
                status_code=400,
            )
        pair = _basic(request.headers.get("authorization"))
        if pair is None:
            if "client_id" not in form or "client_secret" not in form:
                return _invalid_client("client_id and client_secret are required")
            pair = form["client_id"], form["client_secret"]
        app = _application(state, *pair)
        if app is None:
            return _invalid_client("client authentication failed: unknown client or secret")
        answer = await state.workers.run(issue_token, state, app, form.get("scope"))
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return Route(path, token, methods=["POST"], name="token")
