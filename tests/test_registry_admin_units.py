"""Administrative units: the 2025 list from vietnam-provinces, legacy codes, old → new links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lgsp.registry import (
    LEGACY_PROVINCES,
    PROVINCE_LINKS_2025,
    AdminScheme,
    AdminUnit,
    RegistryCache,
    RegistryKind,
    import_admin_units,
    package_admin_units,
)

UNITS = RegistryKind.ADMIN_UNITS
GSO_LEGACY = (
    "Tỉnh Thành Phố,Mã TP,Quận Huyện,Mã QH,Phường Xã,Mã PX,Cấp\n"
    "Thành phố Đà Nẵng,48,Huyện Hòa Vang,497,Xã Hòa Tiến,20335,Xã\n"
    "Thành phố Đà Nẵng,48,Huyện Hòa Vang,497,Xã Hòa Phong,20332,Xã\n"
    "Thành phố Hà Nội,01,Quận Hoàn Kiếm,002,Phường Hàng Bạc,00040,Phường\n"
)


@pytest.fixture(scope="module")
def cache() -> Iterator[RegistryCache]:
    with RegistryCache(":memory:") as c:
        import_admin_units(c)
        yield c


def test_package_ships_the_2025_list() -> None:
    units, described = package_admin_units()
    assert described.startswith("vietnam-provinces ")
    provinces = [u for u in units if u.level == "province"]
    communes = [u for u in units if u.level == "commune"]
    assert len(provinces) == 34
    assert len(communes) > 3000
    assert all(u.scheme is AdminScheme.V2025 for u in units)
    assert {u.code for u in provinces} == set(PROVINCE_LINKS_2025.values())
    tuyen_quang = next(u for u in provinces if u.code == "08")
    assert tuyen_quang.name == "Tuyên Quang"
    assert tuyen_quang.division_type == "tỉnh"


def test_builtin_legacy_provinces_and_links() -> None:
    assert len(LEGACY_PROVINCES) == 63
    assert set(PROVINCE_LINKS_2025) == set(LEGACY_PROVINCES)
    assert len(set(PROVINCE_LINKS_2025.values())) == 34
    assert PROVINCE_LINKS_2025["02"] == "08"  # Hà Giang → Tuyên Quang
    assert PROVINCE_LINKS_2025["10"] == "15"  # Lào Cai → Lào Cai, centre in Yên Bái (15)
    assert PROVINCE_LINKS_2025["77"] == "79"  # Bà Rịa - Vũng Tàu → Hồ Chí Minh


def test_import_reports(cache: RegistryCache) -> None:
    sources = {s.source: s for s in cache.sources()}
    package = next(s for name, s in sources.items() if name.startswith("vietnam-provinces"))
    assert package.count > 3300
    assert cache.count(UNITS) == package.count + 63


def test_old_and_new_side_by_side(cache: RegistryCache) -> None:
    new = cache.get(UNITS, "44")
    old = cache.get(UNITS, "44", scheme="legacy")
    assert new is not None
    assert old is not None
    assert (new.name, new.scheme) == ("Quảng Trị", AdminScheme.V2025)
    assert (old.name, old.scheme) == ("Tỉnh Quảng Bình", AdminScheme.LEGACY)
    both = cache.lookup("44", kind=UNITS)
    assert both.matched_by == "code"
    assert [(e.name, e.scheme) for e in both.entries] == [
        ("Quảng Trị", AdminScheme.V2025),
        ("Tỉnh Quảng Bình", AdminScheme.LEGACY),
    ]


def test_links_both_ways(cache: RegistryCache) -> None:
    [link] = cache.successors("45")  # Quảng Trị (old) → Quảng Trị (new, code of Quảng Bình)
    assert link.new_code == "44"
    assert link.new is not None
    assert link.new.name == "Quảng Trị"
    assert link.old is not None
    assert link.old.name == "Tỉnh Quảng Trị"
    olds = cache.predecessors("79")
    assert [(x.old_code, x.old.name if x.old else None) for x in olds] == [
        ("74", "Tỉnh Bình Dương"),
        ("77", "Tỉnh Bà Rịa - Vũng Tàu"),
        ("79", "Thành phố Hồ Chí Minh"),
    ]


def test_integer_codes_and_hierarchy(cache: RegistryCache) -> None:
    # 8 as Excel keeps it: the province 08 (both schemes) before the commune 00008
    assert [e.name for e in cache.lookup("8", kind=UNITS).entries] == [
        "Tuyên Quang",
        "Tỉnh Tuyên Quang",
        "Phường Ngọc Hà",
    ]
    path = cache.path_to_root(UNITS, "00070")
    assert [(e.code, e.name) for e in path] == [
        ("00070", "Phường Hoàn Kiếm"),
        ("01", "Thành phố Hà Nội"),
    ]
    communes = cache.children(UNITS, "01")
    assert len(communes) > 100
    assert all(e.scheme is AdminScheme.V2025 for e in communes)


def test_name_search_over_units(cache: RegistryCache) -> None:
    found = cache.search("hoan kiem", kind=UNITS)
    assert found[0].name == "Phường Hoàn Kiếm"
    legacy = cache.search("ha noi", kind=UNITS, scheme="legacy")
    assert [e.name for e in legacy] == ["Thành phố Hà Nội"]
    assert [e.scheme for e in cache.search("Thành phố Hà Nội", kind=UNITS)] == [
        AdminScheme.V2025,
        AdminScheme.LEGACY,
    ]


def test_legacy_file_and_commune_mapping(tmp_path: Path) -> None:
    gso = tmp_path / "gso-2025-01.csv"
    gso.write_bytes(GSO_LEGACY.encode("utf-8-sig"))
    mapping = tmp_path / "map.csv"
    mapping.write_text(
        "old_code,new_code,level,note\n20335,20314,commune,\n20332,20314,commune,\n",
        encoding="utf-8",
    )
    with RegistryCache(":memory:") as c:
        import_admin_units(c)
        reports = import_admin_units(c, gso, mapping=mapping)
        assert [(r.imported, r.links) for r in reports] == [(7, 0), (0, 2)]
        path = c.path_to_root(UNITS, "20335", scheme="legacy")
        assert [e.name for e in path] == ["Xã Hòa Tiến", "Huyện Hòa Vang", "Thành phố Đà Nẵng"]
        new = c.successors("20335")[0].new
        assert new is not None
        assert new.scheme is AdminScheme.V2025
        assert new.record_as(AdminUnit).province_code == "48"
        assert {x.old_code for x in c.predecessors("20314")} == {"20335", "20332"}
        # the old district has no successor of its own: districts were abolished
        assert c.successors("497") == []
        # legacy and 2025 communes of Hà Nội, side by side
        assert c.get(UNITS, "00040", scheme="legacy") is not None
