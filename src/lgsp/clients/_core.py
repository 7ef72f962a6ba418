"""What the resources share: services (codec + auth), and the flow that runs one operation.

A *service* pairs a codec (which builds requests and reads answers) with the auth schemes its
deployment needs. Resources turn each public method into a flow over services, and the sync or
async client drives it — the logic exists once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from lgsp.clients._portal import PortalCodec, TokenPortalCodec
from lgsp.clients._vxp import Operation, VxpCodec
from lgsp.errors import ConfigurationError
from lgsp.transports.auth import Auth
from lgsp.transports.flow import Effect, Invoke
from lgsp.transports.retry import RetryPolicy, call

__all__ = [
    "PortalService",
    "TokenPortalService",
    "VxpService",
    "execute",
    "ready",
    "require",
]

T = TypeVar("T")
S = TypeVar("S")


@dataclasses.dataclass(frozen=True, slots=True)
class VxpService:
    """The VXP operations, straight to the axis (signed) or through an LGSP gateway."""

    codec: VxpCodec
    auth: Sequence[Auth] = ()
    #: The receiver recognises a package it already has by its hash (a resent ``sendEdoc``
    #: returns the first DocId): then resending after a lost answer is harmless.
    dedupes_by_hash: bool = False
    name: str = "vxp"


@dataclasses.dataclass(frozen=True, slots=True)
class PortalService:
    """The classic DVCQG adapter (session login, ``dstcode``)."""

    codec: PortalCodec
    auth: Sequence[Auth] = ()
    name: str = "portal"


@dataclasses.dataclass(frozen=True, slots=True)
class TokenPortalService:
    """The token-based ministry portal."""

    codec: TokenPortalCodec
    auth: Sequence[Auth] = ()
    name: str = "portal-token"


def execute(
    operation: Operation[T],
    auth: Sequence[Auth],
    policy: RetryPolicy,
    *,
    idempotent: bool | None = None,
) -> Generator[Effect, Any, T]:
    """Run one operation with auth and retries; read its answer (closing any spool)."""
    response = yield from call(
        operation.request,
        auth=auth,
        policy=policy,
        idempotent=operation.idempotent if idempotent is None else idempotent,
    )
    try:
        return operation.parse(response)
    finally:
        response.close()


def ready(service: Any) -> Generator[Effect, Any, None]:
    """Read what a codec needs before its first request (a SOAP hub's WSDL) as blocking work,
    which the async driver runs in a thread."""
    codec = service.codec
    if getattr(codec, "loaded", True) is False:
        yield Invoke(codec.load, blocking=True)


def require(service: S | None, what: str, setting: str) -> S:
    """``service`` or a ConfigurationError saying which profile the call needs."""
    if service is None:
        raise ConfigurationError(f"{what} needs a deployment profile for it", field=setting)
    return service


Parse = Callable[..., Any]
