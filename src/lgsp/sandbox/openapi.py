"""The sandbox describing itself: ``GET /openapi.json`` (OpenAPI 3.1 of the REST side),
``GET /docs`` (the same as a plain HTML page, no script, no CDN: the machine may be offline) and
``GET /health``.

The VXP operations, the token endpoint and the SOAP hub are described here by hand; any other
route of the app (the portal's) is listed from the router with its docstring.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lgsp.sandbox.vxp import GATEWAY_PREFIX, OPERATIONS, VXP_PREFIX

__all__ = ["build_openapi", "meta_routes"]

_VXP_DOCS: dict[str, tuple[str, str]] = {
    "sendEdoc": (
        "Send a package",
        (
            "Raw edXML body (application/octet-stream); headers from, to "
            "(JSON text), servicetype, messagetype, hash-file. Answers DocId."
        ),
    ),
    "getReceivedEdocList": (
        "Packages waiting for the caller's organs",
        "Filters: messagetype, fromDate, toDate. Empty body.",
    ),
    "getSentEdocList": (
        "Packages the caller sent, one item per receiver",
        "Filters: messagetype, docId.",
    ),
    "getEdoc": ("One package, Base64 in data", "Headers docId, filePath; body {}."),
    "downloadEdoc": ("One package, raw bytes", "Header docId."),
    "updateStatus": (
        "Acknowledge a received package",
        "Headers docId, status (done | fail | processing), description.",
    ),
    "countReceiveEdoc": ("How many documents wait", "Answers count."),
    "countReceiveStatus": ("How many status packages wait", "Answers count."),
    "getAgenciesList": (
        "The agency directory",
        "Items id, pid, code, name, mail, oldCode, code102.",
    ),
    "getAgenciesListQD20": ("Agencies of one level (QĐ 20)", "Header level."),
    "registerAgency": (
        "Register an agency under the caller's system",
        "JSON body {id?, pid? | pcode?, code, name, mail?, mobile?, fax?}.",
    ),
    "deleteAgency": ("Remove an agency", "Header AgencyCode."),
    "getSynchronizeUnit": (
        "The directory as a change feed",
        "Items id, pid, code, name, mail, centerCode, version, deleted, modifyDate, isAgency.",
    ),
}

_ENVELOPE = {
    "type": "object",
    "required": ["status", "ErrorCode"],
    "properties": {
        "status": {"enum": ["OK", "FAIL"]},
        "ErrorCode": {"type": "string", "description": "0 on success"},
        "ErrorDesc": {"type": "string"},
        "data": {},
        "DocId": {"type": "string"},
        "count": {"type": "integer"},
    },
}

_SIGNED = (
    "Signed the way the official VXP SDK signs: XroadVnpt-<param> headers, "
    "XroadVnpt-sign-header (JSON of the signed headers), XroadVnpt-sign-header-key, "
    "XroadVnpt-hash-header = hex HMAC-SHA256(secret, sign-header)."
)


def _vxp_operation(name: str, *, gateway: bool) -> dict[str, Any]:
    summary, description = _VXP_DOCS.get(name, (name, ""))
    op: dict[str, Any] = {
        "operationId": ("gateway_" if gateway else "vxp_") + name,
        "tags": ["VXP via the LGSP gateway" if gateway else "VXP axis"],
        "summary": summary,
        "description": description,
        "responses": {
            "200": {
                "description": "the axis's envelope",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}
                },
            },
            "4XX": {"description": "refused: status FAIL with ErrorCode and ErrorDesc"},
            "503": {"description": "fault injection; Retry-After says when to try again"},
        },
        "security": [{"bearer": []}, {"vxpSignature": []}] if gateway else [{"vxpSignature": []}],
    }
    if name in ("sendEdoc", "registerAgency"):
        media = "application/octet-stream" if name == "sendEdoc" else "application/json"
        op["requestBody"] = {"content": {media: {"schema": {}}}}
    return op


def build_openapi(routes: list[BaseRoute] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document; ``routes`` adds the app's other routes, briefly."""
    paths: dict[str, Any] = {
        "/token": {
            "post": {
                "operationId": "token",
                "tags": ["LGSP gateway"],
                "summary": "OAuth2 client credentials (WSO2 style)",
                "description": "Form grant_type=client_credentials with client_id and "
                "client_secret (or HTTP Basic). 401 invalid_client for bad credentials.",
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["grant_type"],
                                "properties": {
                                    "grant_type": {"const": "client_credentials"},
                                    "client_id": {"type": "string"},
                                    "client_secret": {"type": "string"},
                                    "scope": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": {
                        "description": "a token",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "access_token": {"type": "string"},
                                        "token_type": {"const": "Bearer"},
                                        "expires_in": {"type": "integer"},
                                        "scope": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "401": {"description": "invalid_client"},
                },
            }
        },
        "/soap/DocumentHub": {
            "post": {
                "operationId": "soapDocumentHub",
                "tags": ["SOAP document hub"],
                "summary": "SOAP 1.1 document hub (see ?wsdl)",
                "description": "SendDocument, GetPendingDocumentIds, GetDocument, UpdateTraces, "
                "GetOrganizations, GetTraces; errors are SOAP Faults.",
                "requestBody": {"content": {"text/xml": {"schema": {}}}},
                "responses": {
                    "200": {"description": "a SOAP envelope"},
                    "500": {"description": "a SOAP Fault"},
                },
            },
            "get": {
                "operationId": "soapDocumentHubWsdl",
                "tags": ["SOAP document hub"],
                "summary": "The WSDL (?wsdl) or its XSD (?xsd=document-hub.xsd)",
                "responses": {"200": {"description": "WSDL or XSD"}},
            },
        },
        "/health": {
            "get": {
                "operationId": "health",
                "tags": ["sandbox"],
                "summary": "Liveness",
                "responses": {"200": {"description": "{status: ok}"}},
            }
        },
        "/sandbox/faults": {
            "get": {
                "operationId": "getFaults",
                "tags": ["sandbox"],
                "summary": "The fault knobs and counters",
                "responses": {"200": {"description": "knobs"}},
            },
            "put": {
                "operationId": "setFaults",
                "tags": ["sandbox"],
                "summary": "Change fault knobs (latency, error_rate, drop_rate, token_lifetime, "
                "seed, retry_after, paths) and the defects played (a list of names)",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "knobs"}, "400": {"description": "bad knob"}},
            },
        },
    }
    for name in OPERATIONS:
        paths[f"{VXP_PREFIX}/{name}"] = {"post": _vxp_operation(name, gateway=False)}
        paths[f"{GATEWAY_PREFIX}/{name}"] = {"post": _vxp_operation(name, gateway=True)}
    for route in routes or ():
        if not isinstance(route, Route) or route.path in paths or "{operation}" in route.path:
            continue
        if route.path in ("/openapi.json", "/docs", "/soap/document-hub.xsd"):
            continue
        doc = (route.endpoint.__doc__ or route.name or "").strip().splitlines()
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        paths[route.path] = {
            m.lower(): {
                "operationId": f"{route.name}_{m.lower()}",
                "tags": [route.path.strip("/").split("/", 1)[0] or "other"],
                "summary": doc[0] if doc else route.path,
                "responses": {"200": {"description": "see the summary"}},
            }
            for m in methods
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lgsp sandbox",
            "version": "1",
            "description": "A local emulator of the VXP axis, the LGSP gateway, the SOAP "
            "document hub and the DVCQG portal, for tests and demos. Not the real services.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Envelope": _ENVELOPE},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "from POST /token"},
                "vxpSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "XroadVnpt-hash-header",
                    "description": _SIGNED,
                },
            },
        },
    }


def _docs_page(spec: dict[str, Any]) -> str:
    rows: list[str] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            rows.append(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>".format(
                    html.escape(method.upper()),
                    html.escape(path),
                    html.escape(op.get("summary", "")),
                    html.escape(op.get("description", "")),
                )
            )
    info = spec["info"]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(info['title'])}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .6em;"
        "vertical-align:top;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>{html.escape(info['title'])}</h1><p>{html.escape(info['description'])}</p>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>; "
        "the SOAP hub's WSDL: <a href='/soap/DocumentHub?wsdl'>/soap/DocumentHub?wsdl</a>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>details</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )


def meta_routes(get_routes: Any) -> list[Route]:
    """``/openapi.json``, ``/docs`` and ``/health``; ``get_routes()`` gives the app's routes."""
    cache: dict[str, Any] = {}

    def spec() -> dict[str, Any]:
        if "spec" not in cache:
            cache["spec"] = build_openapi(get_routes())
        return cache["spec"]  # type: ignore[no-any-return]

    async def openapi(_request: Request) -> Response:
        """The OpenAPI 3.1 description of the REST side."""
        return JSONResponse(spec())

    async def docs(_request: Request) -> Response:
        """The REST side as a readable page."""
        return HTMLResponse(_docs_page(spec()))

    async def health(_request: Request) -> Response:
        """Liveness."""
        return JSONResponse({"status": "ok"})

    return [
        Route("/openapi.json", openapi, methods=["GET"], name="openapi"),
        Route("/docs", docs, methods=["GET"], name="docs"),
        Route("/health", health, methods=["GET"], name="health"),
    ]
