"""SOAP over lgsp's transports, with zeep as the codec.

zeep reads the WSDL (shipped with lgsp, loaded once per process, never fetched from the
network) and builds and reads envelopes; lgsp's transports carry the bytes, so SOAP calls get
the same timeouts, limits, retries, logging and auth as REST ones, sync or async.

* :func:`load_wsdl`: the cached, hardened parse of a WSDL;
* :class:`SoapService`: ``request(operation, **params)`` → a POST
  :class:`~lgsp.transports.base.Request`; ``parse(operation, response)`` → plain values, a
  SOAP Fault raised as :class:`~lgsp.errors.RemoteServiceError`;
* :class:`DocumentHubCodec`: the provincial document hub's operations, typed.

>>> hub = DocumentHubCodec("https://hub.example.gov.vn/DocumentHub.svc")
>>> request = hub.get_pending_document_ids("000.00.00.H41")  # doctest: +SKIP
"""

from lgsp.transports._soap_hub import (
    DOCUMENT_HUB_WSDL,
    DocumentHubCodec,
    HubOrganization,
    HubResult,
    HubTrace,
    PackageKind,
    SendResult,
    TraceStatus,
)
from lgsp.transports._soap_service import SOAP_LIMITS, SoapService
from lgsp.transports._soap_wsdl import load_wsdl

__all__ = [
    "DOCUMENT_HUB_WSDL",
    "SOAP_LIMITS",
    "DocumentHubCodec",
    "HubOrganization",
    "HubResult",
    "HubTrace",
    "PackageKind",
    "SendResult",
    "SoapService",
    "TraceStatus",
    "load_wsdl",
]
