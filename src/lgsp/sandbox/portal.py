"""The sandbox's portal side: the classic DVCQG adapter and the token-based ministry portal.

:func:`portal_routes` gives the routes the sandbox app mounts:

=================================== ========================================================
``POST /portal/auth``               login: ``{"username", "password"}`` + ``dstcode`` header
``POST /portal/integration``        DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo
``POST /portal/share``              LayThuTuc, LayDanhSachTTHC, LayDanhMucCoQuan,
                                    LayDanhMucLinhVuc
``POST /portal-token/token``        client credentials (WSO2 form) → bearer token
``GET  /portal-token/GetNextValue`` ``?code=<organ>`` → ``<organ>-<yyyyMMdd>-<7 digits>``
``POST /portal-token/DongBoHoSo``   create a dossier
``POST /portal-token/CapNhatTienTrinh``, ``/portal-token/CapNhatTrangThai``   steps, statuses
=================================== ========================================================

The classic adapter answers HTTP 200 with ``error_code`` (:class:`ClassicCode`); the token
portal answers ``success`` true or false with a 4xx status (its module tells which). Both check
what they receive with :func:`lgsp.dossiers.validate_dossier` under the sandbox's profile and
enforce :data:`lgsp.dossiers.DEFAULT_TRANSITIONS`; dossiers, their history, sessions, tokens
and code counters live in the sandbox's SQLite store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lgsp.sandbox._portal_classic import ClassicCode, ClassicPortal
from lgsp.sandbox._portal_common import Answer, Call
from lgsp.sandbox._portal_store import SCHEMA, HistoryEntry, StoredDossier, get_dossier, history
from lgsp.sandbox._portal_token import TokenPortal

if TYPE_CHECKING:
    from lgsp.sandbox.state import SandboxState

__all__ = [
    "ClassicCode",
    "HistoryEntry",
    "StoredDossier",
    "portal_dossier",
    "portal_history",
    "portal_routes",
]


def _endpoint(handler: Callable[[Call], Answer], summary: str) -> Callable[[Request], object]:
    """An ASGI endpoint running ``handler`` (SQLite, validation) in the thread pool; its
    docstring is ``summary``, which the sandbox's OpenAPI page shows."""

    async def endpoint(request: Request) -> Response:
        call = Call(request.headers, request.query_params, await request.body())
        answer = await run_in_threadpool(handler, call)
        return JSONResponse(answer.payload, answer.status, headers=answer.headers)

    endpoint.__doc__ = summary
    return endpoint


def portal_routes(state: SandboxState) -> list[BaseRoute]:
    """The portal routes over ``state`` (their tables are created in its store if missing)."""
    state.store.add_schema(SCHEMA)
    classic = ClassicPortal(state)
    token = TokenPortal(state)
    table: list[tuple[str, str, Callable[[Call], Answer], str, str]] = [
        ("/portal/auth", "POST", classic.login, "portal_auth",
         "DVCQG adapter login: {username, password} and the dstcode header → session"),
        ("/portal/integration", "POST", classic.integration, "portal_integration",
         "DVCQG adapter: DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo (error_code 0: done)"),
        ("/portal/share", "POST", classic.share, "portal_share",
         "DVCQG catalogue: LayThuTuc, LayDanhSachTTHC, LayDanhMucCoQuan, LayDanhMucLinhVuc"),
        ("/portal-token/token", "POST", token.token, "portal_token",
         "Token portal: OAuth2 client credentials (form or Basic) → bearer token"),
        ("/portal-token/GetNextValue", "GET", token.guarded(token.next_value),
         "portal_next_value", "Token portal: next dossier code of ?code=<organ>"),
        ("/portal-token/DongBoHoSo", "POST", token.guarded(token.create), "portal_create",
         "Token portal: create a dossier (its code issued by GetNextValue)"),
        ("/portal-token/CapNhatTienTrinh", "POST", token.guarded(token.steps), "portal_steps",
         "Token portal: processing steps (array), status transitions enforced"),
        ("/portal-token/CapNhatTrangThai", "POST", token.guarded(token.statuses),
         "portal_statuses", "Token portal: status changes (array), transitions enforced"),
    ]  # fmt: skip
    return [
        Route(path, _endpoint(handler, summary), methods=[method], name=name)
        for path, method, handler, name, summary in table
    ]


def portal_dossier(state: SandboxState, code: str) -> StoredDossier | None:
    """A dossier the portal holds (either API), as stored; None when unknown."""
    state.store.add_schema(SCHEMA)
    with state.store.reading() as conn:
        return get_dossier(conn, code)


def portal_history(state: SandboxState, code: str) -> list[HistoryEntry]:
    """The statuses a dossier took, oldest first, with the call that set each."""
    state.store.add_schema(SCHEMA)
    with state.store.reading() as conn:
        return history(conn, code)
