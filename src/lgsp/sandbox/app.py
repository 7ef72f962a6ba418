"""The sandbox as an ASGI app: :func:`create_app`.

::

    app = create_app(SandboxConfig.demo(), db="sandbox.db")   # run it with any ASGI server

Routes: ``POST /token``; the VXP operations at ``/vxp/<operation>`` and behind the gateway at
``/vdxp-product/1.0/<operation>``; the SOAP hub at ``/soap/DocumentHub`` (``?wsdl``); the
portal under ``/portal`` and ``/portal-token`` (when :mod:`lgsp.sandbox.portal` is there);
``/openapi.json``, ``/docs``, ``/health``; ``GET``/``PUT /sandbox/faults`` for the fault knobs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from lgsp.sandbox.config import SandboxConfig
from lgsp.sandbox.faults import FaultMiddleware
from lgsp.sandbox.gateway import token_route
from lgsp.sandbox.openapi import meta_routes
from lgsp.sandbox.soap_hub import soap_routes
from lgsp.sandbox.state import SandboxState
from lgsp.sandbox.vxp import vxp_routes

__all__ = ["create_app"]


def _portal(state: SandboxState) -> list[BaseRoute]:
    """The portal's routes, when that part of the sandbox is installed."""
    try:
        from lgsp.sandbox import portal
    except ModuleNotFoundError as exc:
        if exc.name not in ("lgsp.sandbox.portal", "lgsp.sandbox"):
            raise  # the portal module is there but something it imports is not
        return []
    routes: list[BaseRoute] = portal.portal_routes(state)
    return routes


def _faults_route(state: SandboxState) -> Route:
    async def faults(request: Request) -> Response:
        """The fault knobs: GET reads them, PUT (a JSON object) changes some."""
        if request.method == "PUT":
            try:
                knobs = json.loads(await request.body() or b"{}")
            except ValueError:
                knobs = None
            if not isinstance(knobs, dict):
                return JSONResponse({"error": "a JSON object of knobs is expected"}, 400)
            if isinstance(knobs.get("paths"), list):
                knobs["paths"] = tuple(knobs["paths"])
            try:
                state.faults.update(**knobs)
            except TypeError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.faults.snapshot())

    return Route("/sandbox/faults", faults, methods=["GET", "PUT"], name="faults")


def create_app(
    config: SandboxConfig | None = None,
    *,
    db: str | os.PathLike[str] = ":memory:",
    state: SandboxState | None = None,
) -> Starlette:
    """The sandbox app over ``state``, or over a new store at ``db`` provisioned with
    ``config`` (default :meth:`SandboxConfig.demo`). A store the app opened is closed when the
    app shuts down (ASGI lifespan); a given ``state`` stays the caller's to close. The app's
    state is also at ``app.state.sandbox``."""
    owned = state is None
    if state is None:
        state = SandboxState.open(config, db=db)
    elif config is not None and config is not state.config:
        raise ValueError("give either a config (and db) or a state, not both")
    sandbox = state

    routes: list[BaseRoute] = [token_route(sandbox)]
    routes += vxp_routes(sandbox)
    routes += soap_routes(sandbox)
    routes += _portal(sandbox)
    routes.append(_faults_route(sandbox))
    routes += meta_routes(lambda: routes)  # the same list, complete by the first request

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        await sandbox.readers.start()  # worker processes, if any, before the first call
        try:
            yield
        finally:
            await sandbox.readers.aclose()
            if owned:
                sandbox.close()

    app = _SandboxApp(sandbox, routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return app


class _SandboxApp(Starlette):
    """Starlette with the fault layer outside everything else, Starlette's own error
    middleware included: only there is the server's ``send`` (and its connection) at hand."""

    def __init__(self, sandbox: SandboxState, **options: Any) -> None:
        super().__init__(**options)
        self._faulty = FaultMiddleware(self._inner, lambda: sandbox.faults)

    async def _inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._faulty(scope, receive, send)
