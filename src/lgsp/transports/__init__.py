"""Adapters that carry the contracts: the transport interface, REST and SOAP, auth, signing.

:class:`Request` and :class:`Response` are lgsp's own; :class:`Transport` and
:class:`AsyncTransport` are the two protocols every adapter implements (httpx, aiohttp in
:mod:`lgsp.transports.aiohttp`, the mock). Flows (:mod:`lgsp.transports.flow`) hold
multi-step logic — auth, retries — once for both; SOAP services are in
:mod:`lgsp.transports.soap`, logging and audit in :mod:`lgsp.transports.observe`.
"""

from lgsp.transports.auth import (
    Auth,
    BearerToken,
    ClientCredentials,
    HeaderToken,
    PortalSession,
    VxpSigning,
)
from lgsp.transports.base import AsyncTransport, Request, Response, Timeouts, Transport
from lgsp.transports.http import AsyncHttpxTransport, HttpTransport
from lgsp.transports.mock import MockTransport
from lgsp.transports.observe import CallLog, Exchange
from lgsp.transports.retry import RetryPolicy
from lgsp.transports.vxp_signing import (
    sdk_file_hash,
    sdk_timestamp,
    sign_request,
    verify_signed_headers,
)

__all__ = [
    "AsyncHttpxTransport",
    "AsyncTransport",
    "Auth",
    "BearerToken",
    "CallLog",
    "ClientCredentials",
    "Exchange",
    "HeaderToken",
    "HttpTransport",
    "MockTransport",
    "PortalSession",
    "Request",
    "Response",
    "RetryPolicy",
    "Timeouts",
    "Transport",
    "VxpSigning",
    "sdk_file_hash",
    "sdk_timestamp",
    "sign_request",
    "verify_signed_headers",
]
