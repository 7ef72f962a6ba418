"""The VXP axis (vn-contracts §2.1, §2.1a, §2.2): direct at ``/vxp/<operation>`` and behind
the LGSP gateway at ``/vdxp-product/1.0/<operation>`` (§2.3).

What the official Java SDK sends works unchanged: every parameter as a signed
``XroadVnpt-*`` header (checked with :func:`~lgsp.transports.vxp_signing.verify_signed_headers`
against the configured systems), the raw package as the body of ``sendEdoc`` with ``hash-file``
in the SDK's unpadded hex (the padded form too), ``to`` as JSON text with its quotes (a code or
an array), ``{}`` or empty bodies, and signed headers left over from an earlier call (ignored).
Values that arrive as JSON string literals (``"…"``) are unquoted. Parameters may also come as
the fields of a JSON object body (headers win).

Behind the gateway a bearer token is required (see :mod:`lgsp.sandbox.gateway`); the VXP
signature is checked when present, and when absent the calling application's ``system_id``
is the caller.

Answers are the axis's envelope ``{status, ErrorCode, ErrorDesc, …}``; the codes are lgsp's
choice (the real axis's are not published) and mirror the HTTP status:

====  =========  ===============================================================
HTTP  ErrorCode  when
====  =========  ===============================================================
200   ``0``      success (``status`` ``OK``)
400   ``400``    a parameter is missing or malformed; ``hash-file`` does not match the body
401   ``401``    the signature is missing or wrong, or names an unknown system (direct calls;
                 behind the gateway the same refusal is 403: 401 there means the token)
403   ``403``    the caller does not serve that organ, or the document is not addressed to it
404   ``404``    no such operation, document, or agency (also: a receiver not in the directory)
409   ``409``    the agency is already registered; the document is already ``done``
413   ``413``    the body is larger than ``max_package_bytes`` (refused while it is read)
422   ``422``    the package cannot be read, is invalid (the rule ids are listed), or its
                 signature does not verify
500   ``500``    a fault of the sandbox itself
503   ``503``    fault injection (``Retry-After`` given)
====  =========  ===============================================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lgsp.errors import AuthError
from lgsp.sandbox._accept import Pending, package_limit, read_body
from lgsp.sandbox._common import Refusal, raw_headers
from lgsp.sandbox._vxp_ops import BODY_OPERATIONS, OPERATIONS, Caller, fail
from lgsp.sandbox.config import LgspApplication
from lgsp.sandbox.gateway import GatewayRefusal, check_token
from lgsp.sandbox.state import SandboxState
from lgsp.transports.vxp_signing import HEADER_PREFIX, verify_signed_headers

__all__ = ["GATEWAY_PREFIX", "OPERATIONS", "VXP_PREFIX", "vxp_routes"]

VXP_PREFIX = "/vxp"
GATEWAY_PREFIX = "/vdxp-product/1.0"
_log = logging.getLogger("lgsp.sandbox")
_PREFIX = HEADER_PREFIX.lower()
_NOT_PARAMS = frozenset({"sign-header", "sign-header-key", "hash-header", "version"})

_BY_LOWER = {name.lower(): name for name in OPERATIONS}


# -- who calls ----------------------------------------------------------------------------


def _signed(state: SandboxState, headers: list[tuple[str, str]], status: int) -> dict[str, str]:
    def secret_for(system_id: str) -> str | None:
        system = state.config.system(system_id)
        return system.secret if system is not None else None

    try:
        params = verify_signed_headers(headers, secret_for)
    except AuthError as exc:
        raise Refusal(status, "401", str(exc)) from None
    return {name.lower(): value for name, value in params.items()}


def _unsigned(headers: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered.startswith(_PREFIX):
            key = lowered[len(_PREFIX) :]
            if key not in _NOT_PARAMS:
                params.setdefault(key, value)
    return params


def _is_signed(headers: list[tuple[str, str]]) -> bool:
    wanted = _PREFIX + "hash-header"
    return any(name.lower() == wanted for name, _ in headers)


def _with_body_params(params: dict[str, str], body: bytes) -> None:
    """Fields of a JSON object body as parameters, where no header gave them."""
    if not body or body[:1] not in (b"{", b" ", b"\n", b"\r", b"\t"):
        return
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                params.setdefault(str(key).lower(), str(value))


def _version(headers: list[tuple[str, str]]) -> str | None:
    wanted = _PREFIX + "version"
    return next((value for name, value in headers if name.lower() == wanted), None)


def _caller(
    state: SandboxState, headers: list[tuple[str, str]], app: LgspApplication | None
) -> Caller:
    if app is None:  # direct: the signature is the credential
        params = _signed(state, headers, 401)
        return Caller(params["systemid"], params, _version(headers))
    if _is_signed(headers):
        params = _signed(state, headers, 403)
        system_id = params["systemid"]
        if app.system_id is not None and app.system_id != system_id:
            raise Refusal(
                403,
                "403",
                f"the application {app.client_id} calls as {app.system_id}, not as {system_id}",
            )
        return Caller(system_id, params, _version(headers))
    if app.system_id is None:
        raise Refusal(
            403,
            "403",
            f"the application {app.client_id} is not bound to a VXP system: sign the call "
            "(XroadVnpt-* headers) or provision the application's system_id",
        )
    return Caller(app.system_id, _unsigned(headers), _version(headers))


def handle(
    state: SandboxState,
    operation: str,
    *,
    headers: list[tuple[str, str]],
    body: bytes,
    authorization: str | None,
    gateway: bool,
) -> Response | Pending:
    """One VXP call, blocking (run by the state's workers): auth, then the operation; a send
    whose package is read in a worker process comes back :class:`Pending`."""
    name = _BY_LOWER.get(operation.lower())
    try:
        if name is None:
            if gateway:
                return _no_resource(operation)
            return fail(Refusal(404, "404", f"no VXP operation {operation!r}"))
        app = check_token(state, authorization) if gateway else None
        caller = _caller(state, headers, app)
        if name not in BODY_OPERATIONS:
            _with_body_params(caller.params, body)
        return OPERATIONS[name](state, caller, body)
    except Refusal as refusal:
        return fail(refusal)
    except GatewayRefusal as refusal:
        return refusal.response()
    except Exception as exc:  # noqa: BLE001 - logged; the caller still gets an envelope
        _log.exception("VXP %s failed", operation)
        return fail(Refusal(500, "500", f"the sandbox failed: {type(exc).__name__}: {exc}"))


def _no_resource(operation: str) -> JSONResponse:
    return JSONResponse(
        {
            "fault": {
                "code": 404,
                "type": "Status report",
                "message": "Runtime Error",
                "description": f"no resource {operation!r} in the API {GATEWAY_PREFIX}",
            }
        },
        status_code=404,
    )


def vxp_routes(state: SandboxState) -> list[Route]:
    """The routes of the axis (direct) and of the gateway in front of it."""

    def endpoint(gateway: bool) -> Callable[[Request], Any]:
        async def call(request: Request) -> Response:
            try:
                body = await read_body(request, package_limit(state))
            except Refusal as refusal:
                return fail(refusal)
            answer = await state.workers.run(
                handle,
                state,
                request.path_params["operation"],
                headers=raw_headers(request.scope),
                body=body,
                authorization=request.headers.get("authorization"),
                gateway=gateway,
            )
            return await answer.resolve(state) if isinstance(answer, Pending) else answer

        call.__doc__ = (
            "A VXP operation behind the LGSP gateway (bearer token)."
            if gateway
            else "A VXP operation, signed with the XroadVnpt-* headers."
        )
        return call

    methods = ["GET", "POST"]
    return [
        Route(VXP_PREFIX + "/{operation}", endpoint(False), methods=methods, name="vxp"),
        Route(GATEWAY_PREFIX + "/{operation}", endpoint(True), methods=methods, name="gateway"),
    ]
