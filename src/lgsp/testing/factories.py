"""Factories of fresh, strictly valid packages and dossiers, each with its own number.

Thin callable objects over :mod:`lgsp.testing.samples` for suites that send many payloads to
one platform: every document gets a new number (so a new DocumentId, never a duplicate send)
and every dossier a new code. The pytest plugin hands them out as ``lgsp_package_factory`` and
``lgsp_dossier_factory``; they work as well outside pytest.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Sequence
from typing import Any

from lgsp.documents import VIETNAM_TZ, DocumentPackage, Organization, StatusPackage
from lgsp.documents import package_to_bytes as _package_to_bytes
from lgsp.dossiers import DossierProgressItem, DossierStatus, DossierSyncItem
from lgsp.testing import samples

__all__ = ["DossierFactory", "PackageFactory"]


def _today() -> dt.date:
    return dt.datetime.now(VIETNAM_TZ).date()


class PackageFactory:
    """Document, status, revoke, update and replace packages from ``sender`` to ``receivers``.

    ``factory()`` (or ``factory.document()``) is a new document; keyword arguments are those of
    :func:`lgsp.testing.samples.document`. Numbers are a random run prefix plus a counter
    (ten digits: the standard allows eleven), dated today in Vietnam.
    """

    def __init__(
        self,
        sender: Organization = samples.GOVERNMENT_OFFICE,
        receivers: Sequence[Organization] = (samples.NGHE_AN,),
    ) -> None:
        self.sender = sender
        self.receivers = tuple(receivers)
        self._prefix = f"{secrets.randbelow(10**6):06d}"
        self._counter = itertools.count(1)

    def number(self) -> str:
        """A document number not handed out before by this factory."""
        return f"{self._prefix}{next(self._counter):04d}"

    def __call__(self, **overrides: Any) -> DocumentPackage:
        return self.document(**overrides)

    def document(self, **overrides: Any) -> DocumentPackage:
        """A new document package (BussinessDocType 0) with a fresh number."""
        overrides.setdefault("number", self.number())
        overrides.setdefault("date", _today())
        overrides.setdefault("sender", self.sender)
        overrides.setdefault("receivers", self.receivers)
        return samples.document(**overrides)

    def status(self, original: DocumentPackage, code: str = "03", **kwargs: Any) -> StatusPackage:
        """The status ``code`` a receiver of ``original`` sends back (01 … 06)."""
        return samples.status(original, code, **kwargs)

    def revoke(self, original: DocumentPackage, **kwargs: Any) -> DocumentPackage:
        """The package that revokes ``original`` (BussinessDocType 1), freshly numbered."""
        kwargs.setdefault("number", self.number())
        return samples.revoke(original, **kwargs)

    def update(self, original: DocumentPackage, **kwargs: Any) -> DocumentPackage:
        """The package that updates ``original`` (BussinessDocType 2), freshly numbered."""
        kwargs.setdefault("number", self.number())
        return samples.update(original, **kwargs)

    def replace(self, original: DocumentPackage, **kwargs: Any) -> DocumentPackage:
        """The package that replaces ``original`` (BussinessDocType 3), freshly numbered."""
        kwargs.setdefault("number", self.number())
        return samples.replace(original, **kwargs)

    @staticmethod
    def to_bytes(package: DocumentPackage | StatusPackage) -> bytes:
        """The package as edXML bytes, as they go on the wire."""
        return _package_to_bytes(package)


class DossierFactory:
    """DongBoHoSoMC dossiers received at ``unit`` and their CapNhatTienDoHoSoMC steps.

    ``factory()`` (or ``factory.dossier()``) is a new dossier; keyword arguments are fields of
    :class:`lgsp.dossiers.DossierSyncItem`. Codes follow ``<unit>-<yyyyMMdd>-<7 digits>``.
    """

    def __init__(self, unit: str = "000.00.01.H41") -> None:
        self.unit = unit
        self._prefix = f"{secrets.randbelow(1000):03d}"
        self._counter = itertools.count(1)

    def code(self, day: dt.date | None = None) -> str:
        """A dossier code not handed out before by this factory."""
        return f"{self.unit}-{day or _today():%Y%m%d}-{self._prefix}{next(self._counter):04d}"

    def __call__(self, **fields: Any) -> DossierSyncItem:
        return self.dossier(**fields)

    def dossier(self, **fields: Any) -> DossierSyncItem:
        """A new dossier (status 2, received now unless told) with a fresh code."""
        fields.setdefault("unit", self.unit)
        received = fields.get("received_at")
        fields.setdefault("code", self.code(received.date() if received else None))
        return samples.dossier(**fields)

    def step(
        self,
        dossier: DossierSyncItem | str,
        status: DossierStatus | int,
        *,
        at: dt.datetime | None = None,
        **kwargs: Any,
    ) -> DossierProgressItem:
        """A processing step moving ``dossier`` (an item or its code) to ``status``."""
        code = dossier if isinstance(dossier, str) else dossier.code
        if not code:
            raise ValueError("the dossier has no code (MaHoSo) to move")
        moment = at or dt.datetime.now(VIETNAM_TZ).replace(microsecond=0)
        return samples.dossier_step(code, DossierStatus(status), at=moment, **kwargs)
