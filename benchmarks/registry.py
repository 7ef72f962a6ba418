"""Registry benchmarks: name lookups in a cache of 100,000 agencies, and importing them.

* ``registry-lookup``: :meth:`RegistryCache.lookup` by name in a file cache of 100,000
  agencies, each query timed on its own; p50 and p99 per lookup over a mix of queries with and
  without diacritics, in NFD, as a prefix being typed, as words in another order, and with
  ``UBND`` written out. Target: p50 under 1 ms. Baselines in the same run: a lookup by code
  (one B-tree probe, the floor of any lookup) and a plain Python scan of the 100,000 folded
  names (what a cache without an index does).
* ``registry-import``: :meth:`RegistryCache.import_records` of the 100,000 agencies into a new
  file, against inserting the same rows with ``executemany`` into a bare table (no
  validation, folding or index).

The agencies are generated (seeded) as the VXP directory names them: for each of the 63
legacy provinces, its UBND, HĐND office and departments (Sở …), districts (UBND huyện / quận /
thị xã …) with their offices (Phòng …), and communes ("UBND xã Hòa Tiến - UBND huyện Hòa Vang -
Tỉnh Quảng Nam"), with ids and pids linking them.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks._harness import Row, Settings, micros, millis, times
from benchmarks._inputs import Inputs
from lgsp.registry import LEGACY_PROVINCES, Agency, RegistryCache, RegistryKind, fold

AGENCIES = 100_000
SEED = 20250612  # NQ 202/2025/QH15
LOOKUP_TARGET_S = 0.001
QUERIES_PER_CATEGORY = {True: 150, False: 500}  # quick run, full run

# Syllables of place names, most frequent first; drawn with Zipf-like weights (1/rank^0.8), as
# in the real lists where An, Bình, Tân, Phú recur everywhere and most syllables are rarer.
_PLACE_WORDS = (
    "An Bình Tân Phú Hòa Thạnh Long Mỹ Hưng Thành Đông Tây Nam Bắc Trung Phước Lộc Thuận Hiệp "
    "Hải Sơn Lâm Quang Minh Đức Xuân Thượng Hạ Vĩnh Đại Kim Ngọc Cẩm Hương Thanh Tiến Lợi Điền "
    "Định Khánh Yên Hồng Lạc Thái Cát Hà Tiên Vân Phong Hoa Quảng Nghĩa Châu Gia Hậu Tường Bảo "
    "Linh Sa Đồng Liên Trà Nhơn Quế Diên Ninh Hội Tịnh Phúc Thủy Mai Đạo Chánh Dương Kiến "
    "Hiếu Nhân Lễ Trí Tín Thọ Khang Ninh Vinh Hoàng Lê Nguyễn Trần Phạm Quý Hữu Tài Thắng Lợi "
    "Chiến Thắng Độc Lập Tự Do Hạnh Cường Dũng Sỹ Nghi Xá Lũng Cú Pác Nặm Mường Tà Sìn Hồ Lai "
    "Nà Bó Khe Sanh Ea Krông Buôn Đắk Kon Plông Ia Grai Chư Păh Cầu Ngang Mỏ Cày Giồng Trôm "
    "Cái Bè Cai Lậy Gò Công Vị Thủy Ngã Năm Thới Bình Năm Căn Rạch Sỏi Tri Tôn Tịnh Biên Côn "
    "Đảo Phú Quốc Hòn Đất Kiên Lương Vàm Cỏ Bến Lức Đức Hòa Củ Chi Hóc Môn Nhà Bè Cần Giờ"
)
_SYLLABLES = list(dict.fromkeys(_PLACE_WORDS.split()))
_WEIGHTS = [1 / (rank + 1) ** 0.8 for rank in range(len(_SYLLABLES))]
_DEPARTMENTS = (
    "Nội vụ",
    "Tư pháp",
    "Tài chính",
    "Kế hoạch và Đầu tư",
    "Thông tin và Truyền thông",
    "Giáo dục và Đào tạo",
    "Y tế",
    "Xây dựng",
    "Giao thông vận tải",
    "Công Thương",
    "Nông nghiệp và Phát triển nông thôn",
    "Tài nguyên và Môi trường",
    "Lao động - Thương binh và Xã hội",
    "Văn hóa, Thể thao và Du lịch",
    "Khoa học và Công nghệ",
    "Ngoại vụ",
    "Dân tộc và Tôn giáo",
    "Thanh tra tỉnh",
)
_OFFICES = (
    "Phòng Nội vụ",
    "Phòng Tư pháp",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Văn hóa và Thông tin",
    "Phòng Y tế",
    "Phòng Lao động - Thương binh và Xã hội",
    "Phòng Kinh tế và Hạ tầng",
    "Văn phòng HĐND và UBND",
)
_DISTRICT_KINDS = ("huyện", "huyện", "huyện", "quận", "thị xã", "thành phố")
_COMMUNE_KINDS = ("xã", "xã", "xã", "xã", "phường", "thị trấn")


@dataclass(slots=True)
class Generated:
    """The agencies, and the queries of each category (query, what it should find)."""

    agencies: list[Agency]
    queries: dict[str, list[str]]


def _place(rng: random.Random) -> str:
    first, second = rng.choices(_SYLLABLES, _WEIGHTS, k=2)
    return f"{first} {second}"


def _plain(text: str) -> str:
    """Text without marks, as typed on a keyboard without a Vietnamese input method."""
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=1)
def generate(count: int = AGENCIES, seed: int = SEED) -> list[Agency]:
    """``count`` agencies of the 63 legacy provinces, parents before children (made once)."""
    rng = random.Random(seed)
    agencies: list[Agency] = []
    per_province = count // len(LEGACY_PROVINCES) + 1

    def add(pid: int | None, level1: int, n: int, name: str) -> int:
        ident = len(agencies) + 1
        code = f"{n // 100:03d}.{n % 100:02d}.{rng.randrange(100):02d}.H{level1:02d}"
        agencies.append(
            Agency(
                id=str(ident),
                parent_id=None if pid is None else str(pid),
                code=code,
                name=name,
                email=f"vanthu{ident}@example.gov.vn",
            )
        )
        return ident

    for p, province in enumerate(LEGACY_PROVINCES.values(), 1):
        short = province.removeprefix("Tỉnh ").removeprefix("Thành phố ")
        where = f"tỉnh {short}" if province.startswith("Tỉnh") else f"thành phố {short}"
        n = 0
        top = add(None, p, n, f"UBND {where}")
        start = len(agencies)
        for office in ("Văn phòng UBND", "Văn phòng Đoàn ĐBQH và HĐND"):
            n += 1
            add(top, p, n, f"{office} {where}")
        for department in _DEPARTMENTS:
            n += 1
            add(top, p, n, f"Sở {department} {where}")
        n += 1
        add(top, p, n, f"Trung tâm Phục vụ hành chính công {where}")
        while len(agencies) - start < per_province - 1:
            district = _place(rng)
            kind = rng.choice(_DISTRICT_KINDS)
            n += 1
            head = add(top, p, n, f"UBND {kind} {district}")
            for office in _OFFICES:
                n += 1
                add(head, p, n, f"{office} {kind} {district}")
            for _ in range(rng.randint(90, 140)):
                n += 1
                commune_kind = rng.choice(_COMMUNE_KINDS)
                name = f"UBND {commune_kind} {_place(rng)} - UBND {kind} {district} - {province}"
                add(head, p, n, name)
                if len(agencies) - start >= per_province - 1:
                    break
    return agencies[:count]


def queries(agencies: list[Agency], per_category: int, seed: int = SEED) -> dict[str, list[str]]:
    """The query mix, ``per_category`` of each, drawn from the agencies' names."""
    rng = random.Random(seed + 1)
    names = [a.name or "" for a in agencies]
    communes = [n for n in names if n.startswith("UBND ") and n.count(" - ") >= 2]
    picks = [rng.choice(names) for _ in range(per_category)]
    cut = [n[: max(8, int(len(n) * rng.uniform(0.35, 0.7)))] for n in picks]
    reordered = []
    for name in rng.sample(communes, per_category):
        commune, district, _ = name.split(" - ", 2)
        commune_words = commune.split()[-2:]
        district_words = district.split()[-2:]
        reordered.append(_plain(" ".join(district_words + commune_words)).lower())
    return {
        "exact, with diacritics": picks,
        "exact, without diacritics": [_plain(n).lower() for n in picks],
        "exact, NFD input": [unicodedata.normalize("NFD", n) for n in picks],
        "prefix being typed": cut,
        "words in another order": reordered,
        "UBND written out": [n.replace("UBND", "Ủy ban nhân dân") for n in picks],
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _timed(op: Callable[[str], object], items: list[str], rounds: int) -> list[float]:
    """Seconds per call of ``op`` on each item, every item ``rounds`` times."""
    out: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for item in items:
            start = clock()
            op(item)
            out.append((clock() - start) / 1e9)
    return out


def _build(inputs: Inputs) -> tuple[RegistryCache, list[Agency], float]:
    agencies = generate()
    path = inputs.workdir / "registry-lookup.sqlite3"
    path.unlink(missing_ok=True)
    cache = RegistryCache(path)
    start = time.perf_counter()
    cache.import_records(RegistryKind.AGENCIES, agencies, source="benchmark")
    return cache, agencies, time.perf_counter() - start


def lookup(inputs: Inputs, settings: Settings) -> list[Row]:
    """Name lookups (p50, p99) in 100,000 agencies vs code lookups and a Python scan."""
    cache, agencies, _ = _build(inputs)
    quick = settings.repeats < 10
    mix = queries(agencies, QUERIES_PER_CATEGORY[quick])
    rounds = 1 if quick else 3
    found = 0
    try:
        for items in mix.values():  # warm up, and check that every query finds something
            for query in items:
                found += bool(cache.lookup(query, kind=RegistryKind.AGENCIES, limit=10).entries)
        per_category = {
            label: _timed(
                lambda q: cache.lookup(q, kind=RegistryKind.AGENCIES, limit=10), items, rounds
            )
            for label, items in mix.items()
        }
        codes = [a.code for a in random.Random(SEED + 2).sample(agencies, 500)]
        by_code = _timed(lambda c: cache.get(RegistryKind.AGENCIES, c), codes, rounds)
    finally:
        cache.close()
    folded_names = [set(fold(a.name or "").split()) for a in agencies]

    def scan(query: str) -> list[int]:
        words = fold(query).split()
        return [i for i, n in enumerate(folded_names) if all(w in n for w in words)][:10]

    scanned = _timed(scan, [q for items in mix.values() for q in items[:5]], 1)
    everything = [t for values in per_category.values() for t in values]
    p50, p99 = statistics.median(everything), _percentile(everything, 0.99)
    code_p50 = statistics.median(by_code)
    scan_p50 = statistics.median(scanned)
    total = sum(len(items) for items in mix.values())
    rows = [
        Row(
            case=f"registry lookup by name, {len(agencies):,} agencies (mix of {len(mix)})",
            figure=f"p50 {micros(p50)} · p99 {micros(p99)}",
            baseline=f"Python scan p50 {millis(scan_p50)}",
            ratio=f"{p50 / scan_p50:.4f}x",
            target=f"p50 < {LOOKUP_TARGET_S * 1000:.0f} ms",
            met=p50 < LOOKUP_TARGET_S,
            data={
                "agencies": len(agencies),
                "queries": total,
                "rounds": rounds,
                "queries_finding_something": found,
                "p50_us": p50 * 1e6,
                "p99_us": p99 * 1e6,
                "scan_p50_ms": scan_p50 * 1e3,
                "code_p50_us": code_p50 * 1e6,
            },
        ),
        Row(
            case="  lookup by code (get), the floor",
            figure=f"p50 {micros(code_p50)} · p99 {micros(_percentile(by_code, 0.99))}",
            baseline="(same)",
            ratio=times(p50 / code_p50) + " name/code",
            target="",
            met=None,
            data={"p50_us": code_p50 * 1e6},
        ),
    ]
    for label, values in per_category.items():
        median, high = statistics.median(values), _percentile(values, 0.99)
        rows.append(
            Row(
                case=f"  of which {label}",
                figure=f"p50 {micros(median)} · p99 {micros(high)}",
                baseline="",
                ratio="",
                target="",
                met=None,
                data={"p50_us": median * 1e6, "p99_us": high * 1e6, "example": mix[label][0]},
            )
        )
    return rows


def _bare_import(inputs: Inputs, agencies: list[Agency]) -> float:
    path = inputs.workdir / "registry-bare.sqlite3"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE agencies (id TEXT, pid TEXT, code TEXT PRIMARY KEY, name TEXT, mail TEXT)"
        )
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO agencies VALUES (?, ?, ?, ?, ?)",
            [(a.id, a.parent_id, a.code, a.name, a.email) for a in agencies],
        )
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def import_case(inputs: Inputs, settings: Settings) -> list[Row]:
    """import_records of 100,000 agencies into a new file vs a bare executemany."""
    agencies = generate()
    runs = 1 if settings.repeats < 10 else 3
    ours: list[float] = []
    bare: list[float] = []
    size = 0
    for _ in range(runs):
        path = inputs.workdir / "registry-import.sqlite3"
        for leftover in (path, path.with_name(path.name + "-wal")):
            leftover.unlink(missing_ok=True)
        with RegistryCache(path) as cache:
            start = time.perf_counter()
            cache.import_records(RegistryKind.AGENCIES, agencies, source="benchmark")
            ours.append(time.perf_counter() - start)
        size = path.stat().st_size  # closing checkpoints the WAL into the file
        bare.append(_bare_import(inputs, agencies))
    mine, base = statistics.median(ours), statistics.median(bare)
    return [
        Row(
            case=f"registry import_records, {len(agencies):,} agencies (new file)",
            figure=f"{mine:.2f} s ({len(agencies) / mine:,.0f} records/s)",
            baseline=f"{millis(base)} bare executemany",
            ratio=times(mine / base),
            target="",
            met=None,
            data={"seconds": mine, "bare_seconds": base, "file_bytes": size, "runs": runs},
        )
    ]


CASES: dict[str, Callable[[Inputs, Settings], list[Row]]] = {
    "registry-lookup": lookup,
    "registry-import": import_case,
}
