"""``MockTransport``: answer lgsp's requests with a function, for users' own tests.

The handler receives the :class:`~lgsp.transports.base.Request` exactly as lgsp would send it
(signed headers, bearer token, JSON or SOAP body) and returns a
:class:`~lgsp.transports.base.Response`, or raises an lgsp error (a
:class:`~lgsp.errors.TransportError` to play a dropped connection). One mock serves the sync
and the async client; an async handler is awaited.

>>> from lgsp.transports import MockTransport, Response
>>> mock = MockTransport(lambda request: Response(200, content=b'{"status":"OK"}'))
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from lgsp.errors import ProtocolError
from lgsp.transports.base import Request, Response, spool_file

__all__ = ["MockTransport"]

Handler = Callable[[Request], Response | Awaitable[Response]]


class MockTransport:
    """A transport whose answers come from ``handler``; ``requests`` records every call."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def _finish(self, request: Request, response: Response) -> Response:
        response.request = request
        if response.body_file is None and request.spool and response.status_code < 300:
            spooled = spool_file()
            spooled.write(response.content)
            spooled.seek(0)
            response.body_file, response.content = spooled, b""
        elif len(response.content) > request.max_response_bytes:
            raise ProtocolError(
                f"the response passed {request.max_response_bytes} bytes",
                operation=request.operation,
                url=request.url,
                status_code=response.status_code,
            )
        return response

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        response = self.handler(request)
        if inspect.isawaitable(response):
            raise TypeError("an async handler needs the async client (lgsp.AsyncClient)")
        return self._finish(request, response)

    async def handle_async(self, request: Request) -> Response:
        self.requests.append(request)
        response = self.handler(request)
        if inspect.isawaitable(response):
            response = await response
        return self._finish(request, response)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass
