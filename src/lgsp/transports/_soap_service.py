"""SOAP as a codec over lgsp's transports: zeep builds and reads envelopes, lgsp carries bytes.

:class:`SoapService` turns an operation and its parameters into a
:class:`~lgsp.transports.base.Request` (a POST of the serialised envelope) and a
:class:`~lgsp.transports.base.Response` into plain Python values. It does no I/O itself, so
the same service works with :func:`~lgsp.transports.flow.run` and
:func:`~lgsp.transports.flow.run_async`, over httpx, aiohttp or the mock. zeep's own transport
and its ``Client`` are never used: per operation, the binding's message objects are looked up
once and reused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import zeep.exceptions
from lxml import etree
from zeep.helpers import serialize_object
from zeep.wsdl import Document
from zeep.wsdl.bindings.soap import Soap12Binding, SoapBinding, SoapOperation
from zeep.wsdl.messages.soap import DocumentMessage
from zeep.xsd.context import XmlParserContext

from lgsp._xml import XMLLimits, parse_whole
from lgsp.errors import (
    ConfigurationError,
    HostileXMLError,
    ProtocolError,
    RemoteServiceError,
    ValidationError,
    XMLError,
)
from lgsp.findings import Finding
from lgsp.transports._soap_wsdl import load_wsdl
from lgsp.transports.base import Request, Response, Timeouts

__all__ = ["SOAP_LIMITS", "SoapService"]

SOAP_LIMITS = XMLLimits(
    max_text_chars=1 << 30,  # a GetDocument reply is one Base64 text node: the package
    max_elements=1_000_000,  # a directory of 100,000 organisations, a few fields each
)
"""What the XML gate accepts in a SOAP reply; the transport's size cap still applies."""

# zeep is typed only in part: its untyped helpers are called through these names.
_serialize_object: Callable[..., Any] = serialize_object
_parser_context: Callable[..., Any] = XmlParserContext

_REQUEST_ERRORS = (zeep.exceptions.Error, TypeError, ValueError, etree.LxmlError)
_REPLY_ERRORS = (
    zeep.exceptions.Error,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    etree.LxmlError,
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Operation:
    """What one operation needs per call, looked up once."""

    name: str
    operation: Any  # zeep's SoapOperation
    envelope_ns: str
    headers: tuple[tuple[str, str], ...]
    direct: bool
    """Document style with one part: the reply's Body child is parsed as that element."""
    direct_input: bool
    """The same for the request: lgsp renders the element into a Body it makes itself."""
    nsmap: dict[str, str]
    """Prefixes of the request envelope (``soap-env`` and the WSDL's own, as zeep has them)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Bound:
    document: Document
    binding: Any  # zeep's SoapBinding
    port: str


class SoapService:
    """One SOAP service of a WSDL, as a sans-I/O codec: :meth:`request` and :meth:`parse`.

    ``wsdl`` is the name of a WSDL shipped with lgsp or a :class:`~pathlib.Path`; ``service``
    and ``port`` pick one when the WSDL has several. ``endpoint`` is where requests go (the
    WSDL's own address is never used). Nothing is read until the first call, or
    :meth:`aload` in async code.
    """

    def __init__(
        self,
        wsdl: str | os.PathLike[str] = "document-hub.wsdl",
        *,
        endpoint: str,
        service: str | None = None,
        port: str | None = None,
        limits: XMLLimits = SOAP_LIMITS,
    ) -> None:
        if not endpoint:
            raise ConfigurationError("a SOAP service needs an endpoint URL", field="endpoint")
        self.wsdl = wsdl
        self.endpoint = endpoint
        self.service = service
        self.port = port
        self.limits = limits
        self._bound: _Bound | None = None
        self._lock = threading.Lock()
        self._operations: dict[str, _Operation] = {}

    # loading ------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the WSDL is read (building a request will not touch the disk)."""
        return self._bound is not None

    def load(self) -> None:
        """Read the WSDL now (from the process-wide cache when already read)."""
        self._binding()

    async def aload(self) -> None:
        """Read the WSDL in a worker thread, so that the event loop never waits on it."""
        if self._bound is None:
            await asyncio.to_thread(self._binding)

    def _binding(self) -> _Bound:
        bound = self._bound
        if bound is not None:
            return bound
        with self._lock:
            if self._bound is None:
                self._bound = self._pick(load_wsdl(self.wsdl))
            return self._bound

    def _pick(self, document: Document) -> _Bound:
        services = document.services
        if self.service is not None:
            if self.service not in services:
                raise ConfigurationError(
                    f"the WSDL has no service {self.service!r} (it has {sorted(services)})",
                    field="service",
                )
            chosen = [services[self.service]]
        else:
            chosen = list(services.values())
        for svc in chosen:
            for name, port in svc.ports.items():
                if self.port is not None and name != self.port:
                    continue
                if isinstance(port.binding, SoapBinding):
                    return _Bound(document, port.binding, name)
        wanted = f"port {self.port!r}" if self.port else "a SOAP port"
        raise ConfigurationError(f"the WSDL {self.wsdl} has no {wanted}", field="port")

    def operations(self) -> list[str]:
        """The operation names of the chosen binding."""
        return sorted(self._binding().binding._operations)

    def _operation(self, name: str) -> _Operation:
        found = self._operations.get(name)
        if found is not None:
            return found
        bound = self._binding()
        try:
            operation = bound.binding.get(name)
        except ValueError:
            operation = None
        if not isinstance(operation, SoapOperation):
            raise ConfigurationError(
                f"{name!r} is not an operation of {bound.port} "
                f"(known: {', '.join(sorted(bound.binding._operations))})",
                field="operation",
            )
        action = operation.soapaction or ""
        headers: tuple[tuple[str, str], ...]
        if isinstance(bound.binding, Soap12Binding):
            headers = (("Content-Type", f'application/soap+xml; charset=utf-8; action="{action}"'),)
        else:
            headers = (("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", f'"{action}"'))
        output = operation.output
        direct = isinstance(output, DocumentMessage) and _one_body_element(output)
        message = operation.input
        direct_input = isinstance(message, DocumentMessage) and _one_body_element(message)
        envelope_ns = operation.nsmap["soap-env"]
        nsmap = {"soap-env": envelope_ns, **bound.document.types._prefix_map_custom}
        found = _Operation(
            name=name,
            operation=operation,
            envelope_ns=envelope_ns,
            headers=headers,
            direct=direct,
            direct_input=direct_input,
            nsmap=nsmap,
        )
        self._operations[name] = found
        return found

    # requests -----------------------------------------------------------------------------

    def request(
        self,
        operation: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen, shared safely
        **params: Any,
    ) -> Request:
        """The POST that calls ``operation`` with ``params`` (the input element's children)."""
        op = self._operation(operation)
        if op.operation.input is None:
            raise ConfigurationError(f"{operation} has no input message", field="operation")
        try:
            envelope = self._envelope(op, params)
            body = etree.tostring(envelope, encoding="utf-8", xml_declaration=True)
        except _REQUEST_ERRORS as exc:
            raise ValidationError(
                [
                    Finding(
                        rule="soap.request",
                        severity="error",
                        location=operation,
                        message=f"cannot build the request: {exc}",
                    )
                ],
                source=f"SOAP {operation}",
            ) from exc
        return Request(
            method="POST",
            url=self.endpoint,
            headers=op.headers + tuple(headers),
            content=body,
            meta={"operation": operation, "soap": True},
            timeouts=timeouts,
        )

    @staticmethod
    def _envelope(op: _Operation, params: dict[str, Any]) -> etree._Element:
        message = op.operation.input
        if not op.direct_input or "_soapheaders" in params:
            return message.serialize(**params).content  # type: ignore[no-any-return]
        # zeep's own serialize, less the per-call ElementMaker and header work it does not
        # need here: about half the cost of building a small request.
        value = message.body(**params)
        envelope = etree.Element(f"{{{op.envelope_ns}}}Envelope", nsmap=op.nsmap)
        body = etree.SubElement(envelope, f"{{{op.envelope_ns}}}Body")
        message.body.render(body, value)
        return envelope

    # replies ------------------------------------------------------------------------------

    def parse(self, operation: str, response: Response) -> Any:
        """The reply's content as plain Python values (dicts, lists, str, bytes, datetime…).

        A SOAP Fault raises :class:`~lgsp.errors.RemoteServiceError` with the fault's code
        and string; an HTTP error without one too, with its status; a reply that is not a
        SOAP envelope raises :class:`~lgsp.errors.ProtocolError` (or
        :class:`~lgsp.errors.HostileXMLError` for a DTD, entities or a past-limit document).
        """
        op = self._operation(operation)
        status = response.status_code
        url = response.request.url if response.request is not None else self.endpoint
        data = response.read()
        if not data.strip():
            if not response.is_success:
                raise _http_error(operation, url, response, "no SOAP body")
            if op.operation.output is None or status in (202, 204):
                return None
            raise ProtocolError(
                "empty reply, a SOAP envelope was expected",
                operation=operation,
                url=url,
                status_code=status,
            )
        try:
            root = parse_whole(data, source=f"{operation} reply", limits=self.limits)
        except HostileXMLError:
            raise
        except XMLError as exc:
            if not response.is_success:
                raise _http_error(operation, url, response, "the body is not XML") from exc
            raise ProtocolError(
                f"the reply is not well-formed XML: {exc.cause}",
                operation=operation,
                url=url,
                status_code=status,
            ) from exc
        body = _envelope_body(root, op.envelope_ns)
        if body is None:
            if not response.is_success:
                raise _http_error(operation, url, response, "the body is not a SOAP envelope")
            raise ProtocolError(
                f"the reply is not a SOAP envelope (root {root.tag!r}, expected "
                f"{{{op.envelope_ns}}}Envelope with a Body)",
                operation=operation,
                url=url,
                status_code=status,
            )
        child = next((el for el in body if isinstance(el.tag, str)), None)
        if child is not None and child.tag == f"{{{op.envelope_ns}}}Fault":
            raise _fault(child, op, url, response)
        if not response.is_success:
            raise _http_error(operation, url, response, "a SOAP reply that is not a Fault")
        return self._deserialize(op, root, child, url, status)

    def _deserialize(
        self,
        op: _Operation,
        root: etree._Element,
        child: etree._Element | None,
        url: str,
        status: int,
    ) -> Any:
        output = op.operation.output
        if output is None:
            return None
        try:
            if op.direct:
                if child is None:
                    raise ProtocolError(
                        "the reply's SOAP Body is empty",
                        operation=op.name,
                        url=url,
                        status_code=status,
                    )
                expected = output.body.qname
                if child.tag != expected.text:
                    raise ProtocolError(
                        f"the reply holds {child.tag!r}, expected {expected.text!r}",
                        operation=op.name,
                        url=url,
                        status_code=status,
                    )
                context = _parser_context(settings=output.wsdl.settings)
                value = output.body.parse(child, output.wsdl.types, context=context)
            else:
                value = op.operation.process_reply(root)
        except _REPLY_ERRORS as exc:
            raise ProtocolError(
                f"the reply does not match the WSDL: {exc}",
                operation=op.name,
                url=url,
                status_code=status,
            ) from exc
        return _serialize_object(value, dict)


def _one_body_element(message: Any) -> bool:
    """A document-style message whose Body holds one element and no SOAP header is read."""
    header = message.header
    return (
        message.body is not None
        and not message._is_body_wrapped
        and (header is None or not header.type.elements)
    )


def _envelope_body(root: etree._Element, envelope_ns: str) -> etree._Element | None:
    if root.tag != f"{{{envelope_ns}}}Envelope":
        return None
    return root.find(f"{{{envelope_ns}}}Body")


def _text(parent: etree._Element, *paths: str, namespaces: Mapping[str, str]) -> str | None:
    for path in paths:
        found = parent.find(path, namespaces=dict(namespaces))
        if found is not None:
            return "".join(str(text) for text in found.itertext()).strip()
    return None


def _fault(
    fault: etree._Element, op: _Operation, url: str, response: Response
) -> RemoteServiceError:
    # SOAP 1.1 puts faultcode / faultstring unqualified; SOAP 1.2 Code/Value, Reason/Text
    # in the envelope's namespace. Servers mix them up: read both.
    ns = {"e": op.envelope_ns}
    code = _text(fault, "faultcode", "e:faultcode", "e:Code/e:Value", namespaces=ns)
    message = _text(fault, "faultstring", "e:faultstring", "e:Reason/e:Text", namespaces=ns)
    return RemoteServiceError(
        message or "SOAP Fault without a faultstring",
        operation=op.name,
        url=url,
        status_code=response.status_code,
        code=code or None,
        retry_after=_retry_after(response),
    )


def _http_error(operation: str, url: str, response: Response, what: str) -> RemoteServiceError:
    return RemoteServiceError(
        f"HTTP {response.status_code} with {what}",
        operation=operation,
        url=url,
        status_code=response.status_code,
        retry_after=_retry_after(response),
    )


def _retry_after(response: Response) -> float | None:
    value = response.header("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from SOAP servers, left to the caller's policy
    return seconds if seconds >= 0 else None
