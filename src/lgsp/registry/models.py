"""Registry records as the services return them: English names, the wire names as aliases.

Models are tolerant, as for everything lgsp receives: unknown fields are kept (and written back
by ``model_dump(by_alias=True)``), numbers arrive where strings are expected (VXP ids), a list
of one may arrive as a bare object, and an empty string means "absent". Sources:

* :class:`Agency` — VXP ``getAgenciesList`` / ``getAgenciesListQD20`` items (SDKVXP 2.0.1).
* :class:`SyncUnit` — VXP ``getSynchronizeUnit`` items.
* :class:`Procedure` — the DVCQG adapter's ``LayThuTuc`` result (and ``LayDanhSachTTHC``
  items); the nesting of its lists is read from OpenCPS's client and is inferred, not
  specified.
* :class:`FieldOfWork` — ``LayDanhMucLinhVuc``; :class:`Organ` — ``LayDanhMucCoQuan``.
* :class:`AdminUnit` and :class:`AdminUnitMapping` — administrative units under the 2025
  two-tier scheme (NQ 202/2025/QH15) and the legacy three-tier codes, and old → new links.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lgsp.codes import AdminUnitLevel, normalize_admin_unit_code, parse_admin_unit_code
from lgsp.registry.folding import fold

__all__ = [
    "AdminScheme",
    "AdminUnit",
    "AdminUnitMapping",
    "Agency",
    "Authority",
    "DossierComponent",
    "DossierPaper",
    "Fee",
    "FieldOfWork",
    "LegalBasis",
    "Organ",
    "Procedure",
    "ProcedureChannel",
    "ProcedureField",
    "ProcedureResult",
    "ProcedureSteps",
    "ProcessingTime",
    "RegistryKind",
    "RegistryRecord",
    "Step",
    "SyncUnit",
    "model_for",
]

T = TypeVar("T")


class RegistryKind(enum.StrEnum):
    """What a registry entry is; the values are the CLI's ``--kind`` names."""

    AGENCIES = "agencies"  # VXP organ directory (getAgenciesList, getAgenciesListQD20)
    UNITS = "units"  # VXP synchronised units (getSynchronizeUnit)
    PROCEDURES = "procedures"  # DVCQG administrative procedures (LayThuTuc, LayDanhSachTTHC)
    FIELDS = "fields"  # DVCQG fields of work, lĩnh vực (LayDanhMucLinhVuc)
    ORGANS = "organs"  # DVCQG organ catalogue (LayDanhMucCoQuan)
    ADMIN_UNITS = "admin-units"  # provinces, districts (legacy), communes


class AdminScheme(enum.StrEnum):
    """Which code list an administrative unit belongs to; the same code can mean two units."""

    V2025 = "2025"  # NQ 202/2025/QH15, from 01/07/2025: 34 provinces, communes, no districts
    LEGACY = "legacy"  # before 01/07/2025 (QĐ 124/2004/QĐ-TTg and amendments): three tiers


def _as_list(value: Any) -> Any:
    """A list, from a list, a single object, None, or a JSON array held in a string (CSV)."""
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            value = json.loads(value)
        except ValueError:
            return value  # let pydantic say what is wrong
    if isinstance(value, dict):
        return [value]
    return value


ListOf = Annotated[list[T], BeforeValidator(_as_list)]
"""A list that also accepts one bare object (services drop the array for a single item)."""


@dataclass(frozen=True, slots=True)
class IndexFields:
    """What the cache indexes of a record: its key, its name and its place in a hierarchy."""

    code: str
    name: str
    ident: str
    parent: str | None
    scheme: str = ""


class _Tolerant(BaseModel):
    """Received data: unknown fields kept, numbers read as strings, blank strings as absent."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="allow",
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()
            }
        return data

    def dump_wire(self) -> dict[str, Any]:
        """The record under its wire names, unknown fields included, absent fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RegistryRecord(_Tolerant):
    """Base of the records a cache stores; ``KIND`` says which kind a class holds."""

    KIND: ClassVar[RegistryKind]
    HEADER_ALIASES: ClassVar[dict[str, str]] = {}
    """Extra CSV header spellings (folded) -> field name, beside the field and wire names."""

    def index_fields(self) -> IndexFields:
        raise NotImplementedError


def _text(value: str | None) -> str:
    return value or ""


# --- VXP ------------------------------------------------------------------------------------


class _DirectoryEntry(RegistryRecord):
    """What the VXP directory's two lists share: id, parent id, code, name, mail."""

    id: str | None = Field(None, alias="id")
    parent_id: str | None = Field(None, alias="pid")
    code: str = Field(alias="code", min_length=1)
    name: str | None = Field(None, alias="name")
    email: str | None = Field(None, alias="mail")

    def index_fields(self) -> IndexFields:
        return IndexFields(self.code, _text(self.name), self.id or self.code, self.parent_id)


class Agency(_DirectoryEntry):
    """An organ of the VXP directory; ``pid`` is the ``id`` of its parent organ."""

    KIND: ClassVar[RegistryKind] = RegistryKind.AGENCIES

    old_code: str | None = Field(None, alias="oldCode")
    qcvn102_code: str | None = Field(None, alias="code102")
    level: str | None = Field(None, alias="level")
    """Level of the organ in ``getAgenciesListQD20`` lists."""


class SyncUnit(_DirectoryEntry):
    """A unit of ``getSynchronizeUnit``: the directory as a change feed (version, deleted)."""

    KIND: ClassVar[RegistryKind] = RegistryKind.UNITS

    center_code: str | None = Field(None, alias="centerCode")
    version: str | None = Field(None, alias="version")
    deleted: bool | None = Field(None, alias="deleted")
    modified: str | None = Field(None, alias="modifyDate")
    """As sent; the format of ``modifyDate`` is not documented."""
    is_agency: bool | None = Field(None, alias="isAgency")


# --- DVCQG: LayThuTuc -------------------------------------------------------------------------


class ProcedureField(_Tolerant):
    """``LINHVUCTHUCHIEN`` item: a field of work the procedure belongs to."""

    code: str | None = Field(None, alias="MALINHVUC")
    name: str | None = Field(None, alias="TENLINHVUC")


class Step(_Tolerant):
    """``TRINHTU`` item."""

    name: str | None = Field(None, alias="TENTRINHTU")


class ProcedureSteps(_Tolerant):
    """``TRINHTUTHUCHIEN`` item: the steps of one case (``TRUONGHOP``)."""

    case: str | None = Field(None, alias="TRUONGHOP")
    steps: ListOf[Step] = Field(default_factory=list, alias="TRINHTU")


class Fee(_Tolerant):
    """``PHILEPHI`` item: an amount and its unit."""

    amount: str | None = Field(None, alias="SOTIEN")
    unit: str | None = Field(None, alias="DONVI")
    description: str | None = Field(None, alias="MOTA")


class ProcessingTime(_Tolerant):
    """``THOIGIAN`` item: how long one channel takes, and its fees."""

    duration: str | None = Field(None, alias="THOIGIANGIAIQUYET")
    unit: str | None = Field(None, alias="DONVITINH")
    description: str | None = Field(None, alias="MOTA")
    fees: ListOf[Fee] = Field(default_factory=list, alias="PHILEPHI")


class ProcedureChannel(_Tolerant):
    """``CACHTHUCTHUCHIEN`` item: a channel ("Trực tiếp", "Trực tuyến", "Nộp qua bưu chính
    công ích") and its times."""

    channel: str | None = Field(None, alias="KENH")
    times: ListOf[ProcessingTime] = Field(default_factory=list, alias="THOIGIAN")


class ProcedureResult(_Tolerant):
    """``KETQUATHUCHIEN`` item: a paper the procedure produces."""

    code: str | None = Field(None, alias="MAKETQUA")
    name: str | None = Field(None, alias="TENKETQUA")


class LegalBasis(_Tolerant):
    """``CANCUPHAPLY`` item: a legal text the procedure rests on."""

    number: str | None = Field(None, alias="SOVANBAN")
    title: str | None = Field(None, alias="TENVANBAN")


class Authority(_Tolerant):
    """``COQUANTHUCHIEN`` item: an authority that carries the procedure out."""

    name: str | None = Field(None, alias="TENDONVI")


class DossierPaper(_Tolerant):
    """``GIAYTO`` item: a paper of the dossier, with its form (``TENMAUDON``, ``URL``)."""

    code: str | None = Field(None, alias="MAGIAYTO")
    name: str | None = Field(None, alias="TENGIAYTO")
    form_name: str | None = Field(None, alias="TENMAUDON")
    url: str | None = Field(None, alias="URL")


class DossierComponent(_Tolerant):
    """``THANHPHANHOSO`` item: the papers of one case."""

    case: str | None = Field(None, alias="TRUONGHOP")
    papers: ListOf[DossierPaper] = Field(default_factory=list, alias="GIAYTO")


class Procedure(RegistryRecord):
    """An administrative procedure (thủ tục hành chính) as ``LayThuTuc`` returns it.

    ``code`` may be absent from a ``LayThuTuc`` answer (the caller asked by ``maTTHC``):
    :meth:`RegistryCache.get_or_fetch` fills it in from the code it asked for.
    """

    KIND: ClassVar[RegistryKind] = RegistryKind.PROCEDURES

    code: str | None = Field(
        None,
        validation_alias=AliasChoices("MATTHC", "maTTHC", "MaTTHC", "code"),
        serialization_alias="MATTHC",
    )
    name: str | None = Field(None, alias="TENTTHC")
    fields_of_work: ListOf[ProcedureField] = Field(default_factory=list, alias="LINHVUCTHUCHIEN")
    steps: ListOf[ProcedureSteps] = Field(default_factory=list, alias="TRINHTUTHUCHIEN")
    channels: ListOf[ProcedureChannel] = Field(default_factory=list, alias="CACHTHUCTHUCHIEN")
    requirements: str | None = Field(None, alias="YEUCAU")
    applicants: str | None = Field(None, alias="MOTADOITUONGTHUCHIEN")
    results: ListOf[ProcedureResult] = Field(default_factory=list, alias="KETQUATHUCHIEN")
    legal_bases: ListOf[LegalBasis] = Field(default_factory=list, alias="CANCUPHAPLY")
    authorities: ListOf[Authority] = Field(default_factory=list, alias="COQUANTHUCHIEN")
    dossier: ListOf[DossierComponent] = Field(default_factory=list, alias="THANHPHANHOSO")

    def index_fields(self) -> IndexFields:
        code = self.code or ""
        return IndexFields(code, _text(self.name), code, None)


class FieldOfWork(RegistryRecord):
    """A field of work (lĩnh vực) of ``LayDanhMucLinhVuc``; codes carry the ministry prefix
    (``G03-GD10``)."""

    KIND: ClassVar[RegistryKind] = RegistryKind.FIELDS

    code: str = Field(alias="MALINHVUC", min_length=1)
    name: str | None = Field(None, alias="TENLINHVUC")
    sector_code: str | None = Field(None, alias="MANGANH")

    def index_fields(self) -> IndexFields:
        return IndexFields(self.code, _text(self.name), self.code, None)


class Organ(RegistryRecord):
    """An organ of the DVCQG catalogue (``LayDanhMucCoQuan``); ``level`` is ``CAPDONVI``."""

    KIND: ClassVar[RegistryKind] = RegistryKind.ORGANS

    code: str = Field(alias="MADONVI", min_length=1)
    name: str | None = Field(None, alias="TENDONVI")
    level: str | None = Field(None, alias="CAPDONVI")

    def index_fields(self) -> IndexFields:
        return IndexFields(self.code, _text(self.name), self.code, None)


# --- administrative units -------------------------------------------------------------------

_LEVEL_WORDS = {
    "province": AdminUnitLevel.PROVINCE,
    "tinh": AdminUnitLevel.PROVINCE,
    "cap tinh": AdminUnitLevel.PROVINCE,
    "district": AdminUnitLevel.DISTRICT,
    "huyen": AdminUnitLevel.DISTRICT,
    "cap huyen": AdminUnitLevel.DISTRICT,
    "commune": AdminUnitLevel.COMMUNE,
    "xa": AdminUnitLevel.COMMUNE,
    "cap xa": AdminUnitLevel.COMMUNE,
}


def _level(value: Any) -> AdminUnitLevel | None:
    if value is None or isinstance(value, AdminUnitLevel):
        return value
    level = _LEVEL_WORDS.get(fold(str(value)))
    if level is None:
        raise ValueError(
            f"unknown level {value!r}: use province, district or commune (tỉnh, huyện, xã)"
        )
    return level


def _code(value: Any, level: AdminUnitLevel | None) -> str | None:
    """A unit code zero-padded to its level's width (Excel and JSON drop the zeros)."""
    if value is None or value == "":
        return None
    if level is None:
        return parse_admin_unit_code(str(value).strip()).value
    return normalize_admin_unit_code(value, level)


_PARENT_LEVEL = {
    (AdminScheme.V2025, AdminUnitLevel.COMMUNE): AdminUnitLevel.PROVINCE,
    (AdminScheme.LEGACY, AdminUnitLevel.COMMUNE): AdminUnitLevel.DISTRICT,
    (AdminScheme.LEGACY, AdminUnitLevel.DISTRICT): AdminUnitLevel.PROVINCE,
}


class AdminUnit(RegistryRecord):
    """A province, a district (legacy scheme only) or a commune (xã, phường, đặc khu…).

    Codes are zero-padded to their level's width (province 2, district 3, commune 5 digits)
    whatever the input gave (``8`` → ``08``); the level is read from the width when not given.
    ``parent_code`` is the province of a 2025 commune, the district of a legacy commune.
    """

    KIND: ClassVar[RegistryKind] = RegistryKind.ADMIN_UNITS
    HEADER_ALIASES: ClassVar[dict[str, str]] = {
        "ma": "code",
        "ma dvhc": "code",
        "ten": "name",
        "cap": "level",
        "ma cha": "parent_code",
        "loai": "division_type",
    }

    code: str
    name: str = Field(min_length=1)
    level: AdminUnitLevel
    scheme: AdminScheme = AdminScheme.V2025
    parent_code: str | None = None
    province_code: str | None = None
    division_type: str | None = None
    """As the source writes it: tỉnh, thành phố trung ương, quận, huyện, thị xã, xã, phường,
    thị trấn, đặc khu…"""

    @model_validator(mode="before")
    @classmethod
    def _normalise_codes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        level = _level(data.get("level"))
        code = data.get("code")
        if level is None and code is not None and not isinstance(code, str):
            raise ValueError(f"code {code!r} is a number: give the level to know its width")
        code = _code(code, level)
        if code is None:
            raise ValueError("code is required")
        if level is None:
            level = parse_admin_unit_code(code).level
        scheme = AdminScheme(data.get("scheme") or AdminScheme.V2025)
        parent_level = _PARENT_LEVEL.get((scheme, level))
        if level is AdminUnitLevel.DISTRICT and scheme is AdminScheme.V2025:
            raise ValueError("districts were abolished on 01/07/2025: use scheme 'legacy'")
        data["code"], data["level"], data["scheme"] = code, level, scheme
        if parent_level is not None:
            data["parent_code"] = _code(data.get("parent_code"), parent_level)
        else:
            data["parent_code"] = None
        if level is AdminUnitLevel.PROVINCE:
            data["province_code"] = code
        else:
            data["province_code"] = _code(data.get("province_code"), AdminUnitLevel.PROVINCE)
        if parent_level is AdminUnitLevel.PROVINCE:
            data["parent_code"] = data["parent_code"] or data["province_code"]
            data["province_code"] = data["province_code"] or data["parent_code"]
        return data

    def index_fields(self) -> IndexFields:
        return IndexFields(self.code, self.name, self.code, self.parent_code, self.scheme.value)


class AdminUnitMapping(_Tolerant):
    """One link from a legacy unit to a 2025 unit: a merged commune has several old codes, a
    split one several new codes, so a code may appear on many links."""

    HEADER_ALIASES: ClassVar[dict[str, str]] = {
        "ma cu": "old_code",
        "ma moi": "new_code",
        "ten cu": "old_name",
        "ten moi": "new_name",
        "cap": "level",
        "ghi chu": "note",
    }

    old_code: str
    new_code: str
    level: AdminUnitLevel | None = None
    """The level of both codes, when the file gives one column for both."""
    old_level: AdminUnitLevel | None = None
    new_level: AdminUnitLevel | None = None
    old_name: str | None = None
    new_name: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise_codes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        both = _level(data.get("level") or None)
        old_level = _level(data.get("old_level") or None) or both
        new_level = _level(data.get("new_level") or None) or both
        for key, level in (("old_code", old_level), ("new_code", new_level)):
            value = data.get(key)
            if value is None or value == "":
                raise ValueError(f"{key} is required")
            if level is None and not isinstance(value, str):
                raise ValueError(f"{key} {value!r} is a number: give the level to know its width")
            data[key] = _code(value, level)
        data["level"] = both
        data["old_level"] = old_level or parse_admin_unit_code(data["old_code"]).level
        data["new_level"] = new_level or parse_admin_unit_code(data["new_code"]).level
        if data["new_level"] is AdminUnitLevel.DISTRICT:
            raise ValueError("a 2025 unit cannot be a district: districts were abolished")
        return data


_MODELS: dict[RegistryKind, type[RegistryRecord]] = {
    RegistryKind.AGENCIES: Agency,
    RegistryKind.UNITS: SyncUnit,
    RegistryKind.PROCEDURES: Procedure,
    RegistryKind.FIELDS: FieldOfWork,
    RegistryKind.ORGANS: Organ,
    RegistryKind.ADMIN_UNITS: AdminUnit,
}


def model_for(kind: RegistryKind | str) -> type[RegistryRecord]:
    """The model class of a kind."""
    return _MODELS[RegistryKind(kind)]
