"""Administrative units: the 2025 two-tier list, the legacy three-tier codes, old → new links.

Where the data comes from:

* **2025 units** (34 provinces and their 3,321 communes, NQ 202/2025/QH15, from 01/07/2025):
  the ``vietnam-provinces`` package (a dependency), which ships the Cục Thống kê list. Its
  JSON is read from the installed files; the package is never imported (its code enums cost
  time at import and we need none of them).
* **Legacy provinces** (the 63 codes of QĐ 124/2004/QĐ-TTg as in force until 30/06/2025) and
  the **province links old → new** (NQ 202/2025/QH15 Điều 1: which provinces merged into
  which): built in below. They are few and fixed by law.
* **Legacy districts and communes**, and the **commune links old → new**: not shipped by any
  maintained package (``vietnam-provinces`` 2025.x carries the new list only, no mapping), so
  they are imported from a file: a GSO export (Cục Thống kê's "Xuất Excel" saved as CSV), a
  JSON list, or a mapping CSV with ``old_code,new_code`` columns.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lgsp.codes import AdminUnitLevel
from lgsp.errors import RegistryError
from lgsp.registry.folding import fold
from lgsp.registry.models import AdminScheme, AdminUnit, AdminUnitMapping, RegistryKind

if TYPE_CHECKING:
    from lgsp.registry.cache import RegistryCache
    from lgsp.registry.entries import ImportReport

__all__ = [
    "LEGACY_PROVINCES",
    "PACKAGE",
    "PROVINCE_LINKS_2025",
    "import_admin_units",
    "package_admin_units",
]

PACKAGE = "vietnam-provinces"
"""The PyPI distribution the 2025 units are read from."""

LEGACY_PROVINCES: Mapping[str, str] = {
    "01": "Thành phố Hà Nội", "02": "Tỉnh Hà Giang", "04": "Tỉnh Cao Bằng",
    "06": "Tỉnh Bắc Kạn", "08": "Tỉnh Tuyên Quang", "10": "Tỉnh Lào Cai",
    "11": "Tỉnh Điện Biên", "12": "Tỉnh Lai Châu", "14": "Tỉnh Sơn La",
    "15": "Tỉnh Yên Bái", "17": "Tỉnh Hòa Bình", "19": "Tỉnh Thái Nguyên",
    "20": "Tỉnh Lạng Sơn", "22": "Tỉnh Quảng Ninh", "24": "Tỉnh Bắc Giang",
    "25": "Tỉnh Phú Thọ", "26": "Tỉnh Vĩnh Phúc", "27": "Tỉnh Bắc Ninh",
    "30": "Tỉnh Hải Dương", "31": "Thành phố Hải Phòng", "33": "Tỉnh Hưng Yên",
    "34": "Tỉnh Thái Bình", "35": "Tỉnh Hà Nam", "36": "Tỉnh Nam Định",
    "37": "Tỉnh Ninh Bình", "38": "Tỉnh Thanh Hóa", "40": "Tỉnh Nghệ An",
    "42": "Tỉnh Hà Tĩnh", "44": "Tỉnh Quảng Bình", "45": "Tỉnh Quảng Trị",
    "46": "Thành phố Huế", "48": "Thành phố Đà Nẵng", "49": "Tỉnh Quảng Nam",
    "51": "Tỉnh Quảng Ngãi", "52": "Tỉnh Bình Định", "54": "Tỉnh Phú Yên",
    "56": "Tỉnh Khánh Hòa", "58": "Tỉnh Ninh Thuận", "60": "Tỉnh Bình Thuận",
    "62": "Tỉnh Kon Tum", "64": "Tỉnh Gia Lai", "66": "Tỉnh Đắk Lắk",
    "67": "Tỉnh Đắk Nông", "68": "Tỉnh Lâm Đồng", "70": "Tỉnh Bình Phước",
    "72": "Tỉnh Tây Ninh", "74": "Tỉnh Bình Dương", "75": "Tỉnh Đồng Nai",
    "77": "Tỉnh Bà Rịa - Vũng Tàu", "79": "Thành phố Hồ Chí Minh", "80": "Tỉnh Long An",
    "82": "Tỉnh Tiền Giang", "83": "Tỉnh Bến Tre", "84": "Tỉnh Trà Vinh",
    "86": "Tỉnh Vĩnh Long", "87": "Tỉnh Đồng Tháp", "89": "Tỉnh An Giang",
    "91": "Tỉnh Kiên Giang", "92": "Thành phố Cần Thơ", "93": "Tỉnh Hậu Giang",
    "94": "Tỉnh Sóc Trăng", "95": "Tỉnh Bạc Liêu", "96": "Tỉnh Cà Mau",
}  # fmt: skip
"""The 63 provinces before 01/07/2025 (QĐ 124/2004/QĐ-TTg codes), by code."""

# NQ 202/2025/QH15: 11 provinces unchanged, 52 merged into 23. A merged province takes the code
# of the one its administrative centre is in (Lào Cai sits in Yên Bái: 15; Gia Lai in Bình
# Định: 52), which is why some new codes were an absorbed province's old code.
_MERGED_INTO: Mapping[str, tuple[str, ...]] = {
    "01": ("01",), "04": ("04",), "11": ("11",), "12": ("12",), "14": ("14",),
    "20": ("20",), "22": ("22",), "38": ("38",), "40": ("40",), "42": ("42",), "46": ("46",),
    "08": ("08", "02"), "15": ("10", "15"), "19": ("19", "06"), "24": ("24", "27"),
    "25": ("25", "26", "17"), "31": ("31", "30"), "33": ("33", "34"),
    "37": ("37", "35", "36"), "44": ("44", "45"), "48": ("48", "49"), "51": ("51", "62"),
    "52": ("52", "64"), "56": ("56", "58"), "66": ("66", "54"), "68": ("68", "67", "60"),
    "75": ("75", "70"), "79": ("79", "74", "77"), "80": ("80", "72"), "82": ("82", "87"),
    "86": ("86", "83", "84"), "91": ("91", "89"), "92": ("92", "93", "94"), "96": ("96", "95"),
}  # fmt: skip
PROVINCE_LINKS_2025: Mapping[str, str] = {
    old: new for new, olds in _MERGED_INTO.items() for old in olds
}
"""Legacy province code -> 2025 province code (NQ 202/2025/QH15), for all 63."""

# Column names of a GSO (Cục Thống kê) export, folded: "Mã TP", "Tỉnh / Thành Phố", "Mã QH",
# "Quận Huyện", "Mã PX", "Phường Xã", "Cấp", "Tên Tiếng Anh".
_GSO_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "province_code": ("ma tp", "ma tinh", "ma tinh tp"),
    "province_name": ("tinh thanh pho", "tinh tp", "ten tinh", "tinh", "ten tinh thanh pho"),
    "district_code": ("ma qh", "ma huyen", "ma quan huyen"),
    "district_name": ("quan huyen", "ten huyen", "huyen", "ten quan huyen"),
    "commune_code": ("ma px", "ma xa", "ma phuong xa"),
    "commune_name": ("phuong xa", "ten xa", "xa", "ten phuong xa"),
    "commune_type": ("cap", "loai"),
    "english_name": ("ten tieng anh",),
}
GSO_MARKERS = frozenset(
    _GSO_COLUMNS["province_code"] + _GSO_COLUMNS["district_code"] + _GSO_COLUMNS["commune_code"]
)
"""Folded column names that mark a GSO export."""

_DIVISION_PREFIXES: Mapping[AdminUnitLevel, tuple[tuple[str, str], ...]] = {
    AdminUnitLevel.PROVINCE: (("tinh", "tỉnh"), ("thanh pho", "thành phố trung ương")),
    AdminUnitLevel.DISTRICT: (
        ("quan", "quận"),
        ("huyen", "huyện"),
        ("thi xa", "thị xã"),
        ("thanh pho", "thành phố"),
    ),
    AdminUnitLevel.COMMUNE: (
        ("phuong", "phường"),
        ("xa", "xã"),
        ("thi tran", "thị trấn"),
        ("dac khu", "đặc khu"),
    ),
}
_DATA_VERSION_RE = re.compile(r"""__data_version__\s*=\s*['"]([^'"]+)['"]""")


def _division(name: str | None, level: AdminUnitLevel) -> str | None:
    """The division type a name starts with (``Phường Hoàn Kiếm`` → ``phường``)."""
    folded = fold(name or "")
    for prefix, division in _DIVISION_PREFIXES[level]:
        if folded == prefix or folded.startswith(prefix + " "):
            return division
    return None


def _column(data: Mapping[str, Any], role: str) -> Any:
    names = _GSO_COLUMNS[role]
    for key, value in data.items():
        if fold(key) in names and value not in (None, ""):
            return value
    return None


def gso_row_units(data: Mapping[str, Any], scheme: AdminScheme | None) -> Iterator[dict[str, Any]]:
    """The units one row of a GSO export names: its province, district (legacy) and commune.

    A row with a district code belongs to the legacy scheme; otherwise to ``scheme`` (2025 when
    not given).
    """
    province = _column(data, "province_code")
    district = _column(data, "district_code")
    commune = _column(data, "commune_code")
    scheme = AdminScheme.LEGACY if district is not None else scheme or AdminScheme.V2025
    if province is not None:
        name = _column(data, "province_name")
        yield {
            "code": province,
            "name": name,
            "level": AdminUnitLevel.PROVINCE,
            "scheme": scheme,
            "division_type": _division(name, AdminUnitLevel.PROVINCE),
        }
    if district is not None:
        name = _column(data, "district_name")
        yield {
            "code": district,
            "name": name,
            "level": AdminUnitLevel.DISTRICT,
            "scheme": scheme,
            "parent_code": province,
            "province_code": province,
            "division_type": _division(name, AdminUnitLevel.DISTRICT),
        }
    if commune is not None:
        name = _column(data, "commune_name")
        unit = {
            "code": commune,
            "name": name,
            "level": AdminUnitLevel.COMMUNE,
            "scheme": scheme,
            "parent_code": district if district is not None else province,
            "province_code": province,
            "division_type": (
                str(_column(data, "commune_type") or "").strip().lower()
                or _division(name, AdminUnitLevel.COMMUNE)
            ),
        }
        english = _column(data, "english_name")
        if english:
            unit["english_name"] = english
        yield unit


def _unit(data: Mapping[str, Any], level: AdminUnitLevel, scheme: AdminScheme) -> dict[str, Any]:
    unit = {k: v for k, v in data.items() if k not in ("wards", "districts")}
    unit["level"], unit["scheme"] = level, scheme
    if not unit.get("division_type"):
        unit["division_type"] = _division(unit.get("name"), level)
    return unit


def nested_units(data: Mapping[str, Any], scheme: AdminScheme | None) -> Iterator[dict[str, Any]]:
    """Flatten a province with ``wards`` (2025) or ``districts`` → ``wards`` (legacy), the shape
    of ``vietnam-provinces``' nested JSON (2025.x and the 0.6 series alike)."""
    districts = data.get("districts")
    scheme = AdminScheme.LEGACY if districts else scheme or AdminScheme.V2025
    province = data.get("code")
    yield _unit(data, AdminUnitLevel.PROVINCE, scheme)
    for district in districts or ():
        yield {
            **_unit(district, AdminUnitLevel.DISTRICT, scheme),
            "parent_code": province,
            "province_code": province,
        }
        for ward in district.get("wards") or ():
            yield {
                **_unit(ward, AdminUnitLevel.COMMUNE, scheme),
                "parent_code": district.get("code"),
                "province_code": province,
            }
    for ward in data.get("wards") or ():
        yield {
            **_unit(ward, AdminUnitLevel.COMMUNE, scheme),
            "parent_code": province,
            "province_code": province,
        }


def _package_files() -> tuple[Path, str]:
    """The package's nested JSON and a description of the data (package and data versions)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise RegistryError(
            f"the {PACKAGE} package is not installed (pip install {PACKAGE}); or import the "
            "units from a file"
        ) from exc
    data = Path(str(dist.locate_file("vietnam_provinces/data/nested-divisions.json")))
    init = Path(str(dist.locate_file("vietnam_provinces/__init__.py")))
    described = f"{PACKAGE} {dist.version}"
    try:
        found = _DATA_VERSION_RE.search(init.read_text(encoding="utf-8"))
    except OSError:
        found = None
    if found:
        described += f" (data {found.group(1)})"
    return data, described


def package_admin_units() -> tuple[list[AdminUnit], str]:
    """The 2025 provinces and communes shipped by ``vietnam-provinces``, and its description."""
    path, described = _package_files()
    try:
        provinces = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read the {PACKAGE} data: {exc}", source=str(path)) from exc
    units = [
        AdminUnit.model_validate(unit)
        for province in provinces
        for unit in nested_units(province, AdminScheme.V2025)
    ]
    return units, described


def legacy_provinces() -> list[AdminUnit]:
    """The 63 provinces before 01/07/2025."""
    return [
        AdminUnit(
            code=code,
            name=name,
            level=AdminUnitLevel.PROVINCE,
            scheme=AdminScheme.LEGACY,
            division_type=_division(name, AdminUnitLevel.PROVINCE),
        )
        for code, name in LEGACY_PROVINCES.items()
    ]


def province_links() -> list[AdminUnitMapping]:
    """Every legacy province's link to the 2025 province it became part of."""
    return [
        AdminUnitMapping(
            old_code=old,
            new_code=new,
            level=AdminUnitLevel.PROVINCE,
            old_name=LEGACY_PROVINCES[old],
            note="NQ 202/2025/QH15" + (" (unchanged)" if _MERGED_INTO[new] == (old,) else ""),
        )
        for old, new in PROVINCE_LINKS_2025.items()
    ]


BUILTIN_SOURCE = "lgsp: legacy provinces and NQ 202/2025/QH15 province links"


def import_admin_units(
    cache: RegistryCache,
    path: str | Path | None = None,
    *,
    mapping: str | Path | None = None,
    scheme: AdminScheme | str | None = None,
    replace: bool = False,
) -> list[ImportReport]:
    """Load administrative units into ``cache``; one report per source imported.

    Without ``path``: the 2025 units from ``vietnam-provinces``, plus the built-in legacy
    provinces and province links. With ``path``: the units of that file (a GSO export, a JSON
    list, or the package's nested JSON; legacy when it has districts, else ``scheme``, 2025 by
    default). ``mapping``: a CSV or JSON of ``old_code,new_code`` links (commune level, say).
    """
    reports: list[ImportReport] = []
    if path is None:
        units, described = package_admin_units()
        reports.append(
            cache.import_records(
                RegistryKind.ADMIN_UNITS,
                units,
                source=described,
                replace=replace,
                scheme=AdminScheme.V2025,
            )
        )
        reports.append(
            cache.import_records(
                RegistryKind.ADMIN_UNITS,
                legacy_provinces(),
                source=BUILTIN_SOURCE,
                links=province_links(),
            )
        )
    else:
        reports.append(
            cache.import_file(path, kind=RegistryKind.ADMIN_UNITS, scheme=scheme, replace=replace)
        )
    if mapping is not None:
        reports.append(cache.import_file(mapping, kind=RegistryKind.ADMIN_UNITS))
    return reports
