"""``lgsp.Client`` and ``lgsp.AsyncClient``: the platform's services, organised by resource.

::

    with lgsp.Client.from_settings(Settings.from_toml("lgsp.toml")) as client:
        outcome = client.documents.send(package)
        client.documents.receive(handle, verify=lgsp.verify_package)

Both clients share one configuration core (no I/O in constructors: transports, WSDLs and
tokens come on first use); each resource method builds a flow and the client drives it,
blocking or on the event loop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from lgsp.clients._core import PortalService, TokenPortalService, VxpService, require
from lgsp.clients._documents_flows import DocumentFlows
from lgsp.clients.documents import AsyncDocuments, Documents
from lgsp.clients.resources import (
    Agencies,
    AsyncAgencies,
    AsyncCatalogue,
    AsyncDossiers,
    Catalogue,
    Dossiers,
    _AgencyFlows,
    _CatalogueFlows,
    _DossierFlows,
)
from lgsp.transports.base import AsyncTransport, Transport
from lgsp.transports.flow import Observer
from lgsp.transports.retry import RetryPolicy

__all__ = ["AsyncClient", "Client"]

DocumentService = VxpService
DossierService = PortalService | TokenPortalService


class _Core:
    """Configuration shared by both clients: services, retries, observer, outbox, inbox."""

    def __init__(
        self,
        *,
        documents: DocumentService | None = None,
        dossiers: DossierService | None = None,
        retry: RetryPolicy | None = None,
        observer: Observer | None = None,
        outbox: Any = None,
        inbox: Any = None,
        download_dir: str | os.PathLike[str] | None = None,
        verify: Any = True,
        cert: Any = None,
        outbox_lease: float = 300.0,
    ) -> None:
        self.outbox_lease = outbox_lease
        self.documents_service = documents
        self.dossiers_service = dossiers
        self.retry = retry or RetryPolicy()
        if observer is None:
            from lgsp.transports.observe import CallLog

            observer = CallLog()
        self.observer: Observer | None = observer
        self.outbox = _open_outbox(outbox)
        self.inbox = _open_inbox(inbox)
        # Stores opened here from a path are closed with the client; given ones are not.
        self._own_stores = [
            store
            for store, given in ((self.outbox, outbox), (self.inbox, inbox))
            if store is not None and store is not given
        ]
        self.download_dir = Path(download_dir) if download_dir is not None else None
        self.verify = verify
        self.cert = cert
        self._document_flows: DocumentFlows | None = None
        # The flows of each resource, shared by the sync and async facades.
        self.agency_flows = _AgencyFlows(lambda: self.documents_service, self.retry)
        self.dossier_flows = _DossierFlows(lambda: self.dossiers_service, self.retry)
        self.catalogue_flows = _CatalogueFlows(lambda: self.dossiers_service, self.retry)

    def document_flows(self) -> DocumentFlows:
        """The document flows (made on first use: no documents profile is an error only then)."""
        if self._document_flows is None:
            service = require(self.documents_service, "document exchange", "documents")
            self._document_flows = DocumentFlows(
                service,
                self.retry,
                outbox=self.outbox,
                inbox=self.inbox,
                download_dir=self.download_dir,
                lease_seconds=self.outbox_lease,
            )
        return self._document_flows

    def close_stores(self) -> None:
        for store in self._own_stores:
            store.close()


def _open_outbox(value: Any) -> Any:
    if value is None or not isinstance(value, str | os.PathLike):
        return value
    from lgsp.clients.outbox import Outbox

    return Outbox(value)


def _open_inbox(value: Any) -> Any:
    if value is None or not isinstance(value, str | os.PathLike):
        return value
    from lgsp.clients.outbox import Inbox

    return Inbox(value)


class _ClientBase:
    """What both clients share: the configuration core and access to its parts."""

    _core: _Core

    @classmethod
    def from_settings(cls, settings: Any = None, **overrides: Any) -> Self:
        """A client for the deployment ``settings`` describe (default: from the environment)."""
        from lgsp.clients._profiles import client_arguments

        return cls(**{**client_arguments(settings), **overrides})

    @property
    def observer(self) -> Observer | None:
        return self._core.observer

    @property
    def outbox(self) -> Any:
        return self._core.outbox

    @property
    def inbox(self) -> Any:
        return self._core.inbox


class Client(_ClientBase):
    """The blocking client. Resources: ``documents``, ``agencies``, ``dossiers``,
    ``catalogue``. Give services explicitly, or build from settings with
    :meth:`from_settings`; ``transport`` defaults to :class:`~lgsp.transports.HttpTransport`
    (TLS verified) made on first use."""

    def __init__(
        self,
        *,
        documents: DocumentService | None = None,
        dossiers: DossierService | None = None,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        observer: Observer | None = None,
        outbox: Any = None,
        inbox: Any = None,
        download_dir: str | os.PathLike[str] | None = None,
        verify: Any = True,
        cert: Any = None,
        outbox_lease: float = 300.0,
    ) -> None:
        self._core = _Core(
            documents=documents,
            dossiers=dossiers,
            retry=retry,
            observer=observer,
            outbox=outbox,
            inbox=inbox,
            download_dir=download_dir,
            verify=verify,
            cert=cert,
            outbox_lease=outbox_lease,
        )
        self._transport = transport
        self._own_transport = transport is None
        core = self._core
        self.documents = Documents(core.document_flows, self)
        self.agencies = Agencies(core.agency_flows, self)
        self.dossiers = Dossiers(core.dossier_flows, self)
        self.catalogue = Catalogue(core.catalogue_flows, self)

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            from lgsp.transports.http import HttpTransport

            self._transport = HttpTransport(verify=self._core.verify, cert=self._core.cert)
        return self._transport

    def close(self) -> None:
        if self._own_transport and self._transport is not None:
            self._transport.close()
        self._core.close_stores()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """The async client; the same resources as :class:`Client`, with coroutine methods.

    ``transport`` defaults to lgsp's aiohttp-backed transport (httpx's own async pool does
    not hold 100 concurrent calls); pass :class:`~lgsp.transports.AsyncHttpxTransport` to use
    an ``httpx.AsyncClient`` of your own."""

    def __init__(
        self,
        *,
        documents: DocumentService | None = None,
        dossiers: DossierService | None = None,
        transport: AsyncTransport | None = None,
        retry: RetryPolicy | None = None,
        observer: Observer | None = None,
        outbox: Any = None,
        inbox: Any = None,
        download_dir: str | os.PathLike[str] | None = None,
        verify: Any = True,
        cert: Any = None,
        outbox_lease: float = 300.0,
    ) -> None:
        self._core = _Core(
            documents=documents,
            dossiers=dossiers,
            retry=retry,
            observer=observer,
            outbox=outbox,
            inbox=inbox,
            download_dir=download_dir,
            verify=verify,
            cert=cert,
            outbox_lease=outbox_lease,
        )
        self._transport = transport
        self._own_transport = transport is None
        core = self._core
        self.documents = AsyncDocuments(core.document_flows, self)
        self.agencies = AsyncAgencies(core.agency_flows, self)
        self.dossiers = AsyncDossiers(core.dossier_flows, self)
        self.catalogue = AsyncCatalogue(core.catalogue_flows, self)

    @property
    def async_transport(self) -> AsyncTransport:
        if self._transport is None:
            self._transport = _default_async_transport(self._core.verify, self._core.cert)
        return self._transport

    async def aclose(self) -> None:
        if self._own_transport and self._transport is not None:
            await self._transport.aclose()
        self._core.close_stores()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _default_async_transport(verify: Any, cert: Any) -> AsyncTransport:
    try:
        from lgsp.transports.aiohttp import AiohttpTransport
    except ImportError:  # pragma: no cover - aiohttp is a dependency
        from lgsp.transports.http import AsyncHttpxTransport

        return AsyncHttpxTransport(verify=verify, cert=cert)
    return AiohttpTransport(verify=verify, cert=cert)
