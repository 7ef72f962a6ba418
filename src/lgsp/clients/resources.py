"""``client.agencies``, ``client.dossiers`` and ``client.catalogue`` (sync and async).

Each method is one flow over a service (:mod:`lgsp.clients._core`); the sync and async
classes only drive it. Listing methods can feed a :class:`~lgsp.registry.RegistryCache`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from lgsp.clients._core import (
    PortalService,
    TokenPortalService,
    VxpService,
    execute,
    ready,
    require,
)
from lgsp.clients._runner import AsyncRunner, SyncRunner
from lgsp.dossiers import (
    DossierCreation,
    DossierLookupResponse,
    DossierProgressItem,
    DossierSyncItem,
    ProgressUpdate,
    StatusUpdate,
)
from lgsp.errors import ConfigurationError
from lgsp.registry import ImportReport, RegistryCache
from lgsp.registry.models import Agency, FieldOfWork, Organ, Procedure, RegistryKind, SyncUnit
from lgsp.transports.flow import Effect, Invoke
from lgsp.transports.retry import RetryPolicy

__all__ = [
    "Agencies",
    "AsyncAgencies",
    "AsyncCatalogue",
    "AsyncDossiers",
    "Catalogue",
    "Dossiers",
]

Flow = Generator[Effect, Any, Any]


def _feed(cache: RegistryCache | None, kind: RegistryKind, records: list[Any], source: str) -> Flow:
    if cache is not None and records:
        report: ImportReport = yield Invoke(
            lambda: cache.import_records(kind, records, source=source), blocking=True
        )
        return report
    return None


class _AgencyFlows:
    def __init__(self, service: Callable[[], VxpService | None], policy: RetryPolicy) -> None:
        self._service = service
        self.policy = policy

    def _vxp(self) -> VxpService:
        return require(self._service(), "the agency directory", "documents")

    def _ready(self) -> Flow:
        yield from ready(self._vxp())

    def list(self, cache: RegistryCache | None) -> Flow:
        yield from self._ready()
        s = self._vxp()
        items: list[Agency] = yield from execute(s.codec.agencies(), s.auth, self.policy)
        yield from _feed(cache, RegistryKind.AGENCIES, items, "vxp:getAgenciesList")
        return items

    def list_qd20(self, level: str | int, cache: RegistryCache | None) -> Flow:
        yield from self._ready()
        s = self._vxp()
        items: list[Agency] = yield from execute(s.codec.agencies_qd20(level), s.auth, self.policy)
        yield from _feed(cache, RegistryKind.AGENCIES, items, f"vxp:getAgenciesListQD20:{level}")
        return items

    def register(self, agency: Agency | Mapping[str, Any]) -> Flow:
        yield from self._ready()
        s = self._vxp()
        body = agency.dump_wire() if isinstance(agency, Agency) else dict(agency)
        return (yield from execute(s.codec.register_agency(body), s.auth, self.policy))

    def delete(self, code: str) -> Flow:
        yield from self._ready()
        s = self._vxp()
        return (yield from execute(s.codec.delete_agency(code), s.auth, self.policy))

    def sync_units(self, cache: RegistryCache | None) -> Flow:
        yield from self._ready()
        s = self._vxp()
        items: list[SyncUnit] = yield from execute(s.codec.sync_units(), s.auth, self.policy)
        yield from _feed(cache, RegistryKind.UNITS, items, "vxp:getSynchronizeUnit")
        return items


class Agencies(SyncRunner):
    """The VXP agency directory (blocking). ``cache=`` stores what a listing returns."""

    def __init__(self, flows: _AgencyFlows, owner: Any) -> None:
        super().__init__(owner)
        self._f = flows

    def list(self, *, cache: RegistryCache | None = None) -> builtins.list[Agency]:
        """``getAgenciesList``."""
        result: builtins.list[Agency] = self._run(self._f.list(cache))
        return result

    def list_qd20(
        self, level: str | int, *, cache: RegistryCache | None = None
    ) -> builtins.list[Agency]:
        """``getAgenciesListQD20``: codes per QĐ 20/2020 at ``level``."""
        result: builtins.list[Agency] = self._run(self._f.list_qd20(level, cache))
        return result

    def register(self, agency: Agency | Mapping[str, Any]) -> dict[str, Any]:
        """``registerAgency``."""
        result: dict[str, Any] = self._run(self._f.register(agency))
        return result

    def delete(self, code: str) -> dict[str, Any]:
        """``deleteAgency``."""
        result: dict[str, Any] = self._run(self._f.delete(code))
        return result

    def sync_units(self, *, cache: RegistryCache | None = None) -> builtins.list[SyncUnit]:
        """``getSynchronizeUnit``: units changed on the axis (deleted ones leave the cache)."""
        result: builtins.list[SyncUnit] = self._run(self._f.sync_units(cache))
        return result


class AsyncAgencies(AsyncRunner):
    """The VXP agency directory (async)."""

    def __init__(self, flows: _AgencyFlows, owner: Any) -> None:
        super().__init__(owner)
        self._f = flows

    async def list(self, *, cache: RegistryCache | None = None) -> builtins.list[Agency]:
        result: builtins.list[Agency] = await self._run(self._f.list(cache))
        return result

    async def list_qd20(
        self, level: str | int, *, cache: RegistryCache | None = None
    ) -> builtins.list[Agency]:
        result: builtins.list[Agency] = await self._run(self._f.list_qd20(level, cache))
        return result

    async def register(self, agency: Agency | Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self._f.register(agency))
        return result

    async def delete(self, code: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self._f.delete(code))
        return result

    async def sync_units(self, *, cache: RegistryCache | None = None) -> builtins.list[SyncUnit]:
        result: builtins.list[SyncUnit] = await self._run(self._f.sync_units(cache))
        return result


class _DossierFlows:
    def __init__(
        self, service: Callable[[], PortalService | TokenPortalService | None], policy: RetryPolicy
    ) -> None:
        self._service = service
        self.policy = policy

    def _classic(self, what: str) -> PortalService:
        s = require(self._service(), what, "dossiers")
        if not isinstance(s, PortalService):
            raise ConfigurationError(
                f"{what} is a call of the classic DVCQG adapter; this "
                "deployment uses the token-based portal",
                field="dossiers",
            )
        return s

    def _token(self, what: str) -> TokenPortalService:
        s = require(self._service(), what, "dossiers")
        if not isinstance(s, TokenPortalService):
            raise ConfigurationError(
                f"{what} is a call of the token-based portal; this "
                "deployment uses the classic adapter",
                field="dossiers",
            )
        return s

    def sync(self, items: Iterable[DossierSyncItem], updating: bool) -> Flow:
        s = self._classic("DongBoHoSoMC")
        # DongBoHoSoMC keys dossiers by MaHoSo: sending the batch again updates, never adds.
        return (yield from execute(s.codec.sync(items, updating=updating), s.auth, self.policy))

    def progress(self, items: Iterable[DossierProgressItem]) -> Flow:
        s = self._classic("CapNhatTienDoHoSoMC")
        return (yield from execute(s.codec.progress(items), s.auth, self.policy, idempotent=False))

    def lookup(self, code: str) -> Flow:
        s = self._classic("TraCuuHoSo")
        return (yield from execute(s.codec.lookup(code), s.auth, self.policy))

    def next_code(self, organ_code: str) -> Flow:
        s = self._token("GetNextValue")
        return (yield from execute(s.codec.next_code(organ_code), s.auth, self.policy))

    def create(self, dossier: DossierCreation) -> Flow:
        s = self._token("creating a dossier")
        return (yield from execute(s.codec.create(dossier), s.auth, self.policy, idempotent=False))

    def token_progress(self, updates: Iterable[ProgressUpdate]) -> Flow:
        s = self._token("CapNhatTienTrinh")
        return (
            yield from execute(s.codec.progress(updates), s.auth, self.policy, idempotent=False)
        )

    def token_status(self, updates: Iterable[StatusUpdate]) -> Flow:
        s = self._token("CapNhatTrangThai")
        return (yield from execute(s.codec.status(updates), s.auth, self.policy))


class Dossiers(SyncRunner):
    """Dossier sync with the portal (blocking): the classic adapter and the token-based API."""

    def __init__(self, flows: _DossierFlows, owner: Any) -> None:
        super().__init__(owner)
        self._f = flows

    def sync(self, items: Iterable[DossierSyncItem], *, updating: bool = False) -> dict[str, Any]:
        """``DongBoHoSoMC`` (checked strictly before sending); ``updating`` sets isUpdating."""
        result: dict[str, Any] = self._run(self._f.sync(list(items), updating))
        return result

    def update_progress(self, items: Iterable[DossierProgressItem]) -> dict[str, Any]:
        """``CapNhatTienDoHoSoMC``; the steps must follow the status table."""
        result: dict[str, Any] = self._run(self._f.progress(list(items)))
        return result

    def lookup(self, code: str) -> DossierLookupResponse:
        """``TraCuuHoSo``."""
        result: DossierLookupResponse = self._run(self._f.lookup(code))
        return result

    def next_code(self, organ_code: str) -> str:
        """Token portal: allocate the next dossier code (``GetNextValue``)."""
        result: str = self._run(self._f.next_code(organ_code))
        return result

    def create(self, dossier: DossierCreation) -> Any:
        """Token portal: create a dossier."""
        return self._run(self._f.create(dossier))

    def update_steps(self, updates: Iterable[ProgressUpdate]) -> Any:
        """Token portal: ``CapNhatTienTrinh``."""
        return self._run(self._f.token_progress(list(updates)))

    def update_status(self, updates: Iterable[StatusUpdate]) -> Any:
        """Token portal: ``CapNhatTrangThai``."""
        return self._run(self._f.token_status(list(updates)))


class AsyncDossiers(AsyncRunner):
    """Dossier sync with the portal (async)."""

    def __init__(self, flows: _DossierFlows, owner: Any) -> None:
        super().__init__(owner)
        self._f = flows

    async def sync(
        self, items: Iterable[DossierSyncItem], *, updating: bool = False
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self._f.sync(list(items), updating))
        return result

    async def update_progress(self, items: Iterable[DossierProgressItem]) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self._f.progress(list(items)))
        return result

    async def lookup(self, code: str) -> DossierLookupResponse:
        result: DossierLookupResponse = await self._run(self._f.lookup(code))
        return result

    async def next_code(self, organ_code: str) -> str:
        result: str = await self._run(self._f.next_code(organ_code))
        return result

    async def create(self, dossier: DossierCreation) -> Any:
        return await self._run(self._f.create(dossier))

    async def update_steps(self, updates: Iterable[ProgressUpdate]) -> Any:
        return await self._run(self._f.token_progress(list(updates)))

    async def update_status(self, updates: Iterable[StatusUpdate]) -> Any:
        return await self._run(self._f.token_status(list(updates)))


class _CatalogueFlows:
    def __init__(
        self, service: Callable[[], PortalService | TokenPortalService | None], policy: RetryPolicy
    ) -> None:
        self._service = service
        self.policy = policy

    def _portal(self) -> PortalService:
        s = require(self._service(), "the catalogue", "dossiers")
        if not isinstance(s, PortalService):
            raise ConfigurationError(
                "the catalogue is served by the classic DVCQG adapter's share endpoint",
                field="dossiers",
            )
        return s

    def procedure(self, code: str, cache: RegistryCache | None) -> Flow:
        s = self._portal()
        items: list[Procedure] = yield from execute(s.codec.procedure(code), s.auth, self.policy)
        for item in items:
            if item.code is None:
                item.code = code
        yield from _feed(cache, RegistryKind.PROCEDURES, items, "dvcqg:LayThuTuc")
        return items[0] if items else None

    def procedures(self, cache: RegistryCache | None) -> Flow:
        s = self._portal()
        items: list[Procedure] = yield from execute(s.codec.procedures(), s.auth, self.policy)
        yield from _feed(
            cache, RegistryKind.PROCEDURES, [i for i in items if i.code], "dvcqg:LayDanhSachTTHC"
        )
        return items

    def fields(self, cache: RegistryCache | None) -> Flow:
        s = self._portal()
        items: list[FieldOfWork] = yield from execute(s.codec.fields_of_work(), s.auth, self.policy)
        yield from _feed(cache, RegistryKind.FIELDS, items, "dvcqg:LayDanhMucLinhVuc")
        return items

    def organs(self, cache: RegistryCache | None) -> Flow:
        s = self._portal()
        items: list[Organ] = yield from execute(s.codec.organs(), s.auth, self.policy)
        yield from _feed(cache, RegistryKind.ORGANS, items, "dvcqg:LayDanhMucCoQuan")
        return items


class Catalogue(SyncRunner):
    """The portal's catalogues (blocking): procedures, fields of work, organs."""

    def __init__(self, flows: _CatalogueFlows, owner: Any) -> None:
        super().__init__(owner)
        self._f = flows

    def procedure(self, code: str, *, cache: RegistryCache | None = None) -> Procedure | None:
        """``LayThuTuc``: one procedure by its code."""
        result: Procedure | None = self._run(self._f.procedure(code, cache))
        return result

    def procedures(self, *, cache: RegistryCache | None = None) -> list[Procedure]:
        """``LayDanhSachTTHC``."""
        result: list[Procedure] = self._run(self._f.procedures(cache))
        return result

    def fields_of_work(self, *, cache: RegistryCache | None = None) -> list[FieldOfWork]:
        """``LayDanhMucLinhVuc``."""
        result: list[FieldOfWork] = self._run(self._f.fields(cache))
        return result

    def organs(self, *, cache: RegistryCache | None = None) -> list[Organ]:
        """``LayDanhMucCoQuan``."""
        result: list[Organ] = self._run(self._f.organs(cache))
        return result


class AsyncCatalogue(AsyncRunner):
    """The portal's catalogues (async)."""

    def __init__(self, flows: _CatalogueFlows, owner: Any) -> None:
        super().__init__(owner)
        self._f = flows

    async def procedure(self, code: str, *, cache: RegistryCache | None = None) -> Procedure | None:
        result: Procedure | None = await self._run(self._f.procedure(code, cache))
        return result

    async def procedures(self, *, cache: RegistryCache | None = None) -> list[Procedure]:
        result: list[Procedure] = await self._run(self._f.procedures(cache))
        return result

    async def fields_of_work(self, *, cache: RegistryCache | None = None) -> list[FieldOfWork]:
        result: list[FieldOfWork] = await self._run(self._f.fields(cache))
        return result

    async def organs(self, *, cache: RegistryCache | None = None) -> list[Organ]:
        result: list[Organ] = await self._run(self._f.organs(cache))
        return result
