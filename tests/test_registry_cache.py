"""The registry cache: name search, hierarchy, freshness, fetch on a miss, concurrency."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from lgsp.errors import RegistryError
from lgsp.registry import (
    Agency,
    Procedure,
    RegistryCache,
    RegistryKind,
    SyncUnit,
    code_candidates,
    default_registry_path,
)

AGENCIES = RegistryKind.AGENCIES
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)

DIRECTORY = [
    ("1", None, "000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An"),
    ("2", "1", "000.00.12.H41", "Sở Thông tin và Truyền thông tỉnh Nghệ An"),
    ("3", "1", "000.00.05.H41", "Sở Tư pháp tỉnh Nghệ An"),
    ("4", None, "000.00.00.H17", "UBND thành phố Đà Nẵng"),
    ("5", "4", "000.00.12.H17", "Sở Thông tin và Truyền thông"),
    ("6", "4", "000.20.00.H17", "UBND huyện Hòa Vang - Thành phố Đà Nẵng"),
    ("7", "6", "001.20.00.H17", "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"),
    ("8", "6", "002.20.00.H17", "UBND xã Hòa Phong - UBND huyện Hòa Vang - Thành phố Đà Nẵng"),
    ("9", "4", "000.30.00.H17", "UBND quận Hải Châu - Thành phố Đà Nẵng"),
    ("10", "9", "001.30.00.H17", "UBND phường Hòa Cường Bắc - UBND quận Hải Châu"),
    ("11", None, "000.00.00.H01", "Ủy ban nhân dân Thành phố Hà Nội"),
    ("12", "11", "000.10.00.H01", "UBND phường Đống Đa - Thành phố Hà Nội"),
    ("13", "11", "000.00.08.H01", "Sở Tài nguyên và Môi trường Thành phố Hà Nội"),
    ("14", "11", "000.00.09.H01", "Đài Phát thanh và Truyền hình Hà Nội"),
]


class Clock:
    """A pinned clock the tests move by hand."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _records() -> list[dict[str, str | None]]:
    return [{"id": i, "pid": p, "code": c, "name": n} for i, p, c, n in DIRECTORY]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> Iterator[RegistryCache]:
    with RegistryCache(":memory:", clock=clock) as c:
        c.import_records(AGENCIES, _records(), source="getAgenciesList")
        yield c


def _names(entries: object) -> list[str]:
    return [e.name for e in entries]  # type: ignore[attr-defined]


# --- name search ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Ủy ban nhân dân tỉnh Nghệ An", "Ủy ban nhân dân tỉnh Nghệ An"),
        ("uy ban nhan dan tinh nghe an", "Ủy ban nhân dân tỉnh Nghệ An"),
        ("UBND tinh Nghe An", "Ủy ban nhân dân tỉnh Nghệ An"),
        ("UBND xa Hoa Tien", "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"),
        (
            "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
            "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
        ),
        ("Sở Thông tin và Truyền thông", "Sở Thông tin và Truyền thông"),
        ("so thong tin va truyen thong", "Sở Thông tin và Truyền thông"),
        ("dong da", "UBND phường Đống Đa - Thành phố Hà Nội"),
        ("ĐỐNG ĐA", "UBND phường Đống Đa - Thành phố Hà Nội"),
        ("dai phat thanh", "Đài Phát thanh và Truyền hình Hà Nội"),
        ("tai nguyen moi truong ha noi", "Sở Tài nguyên và Môi trường Thành phố Hà Nội"),
    ],
)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_name_search_folds_accents_and_forms(
    cache: RegistryCache, query: str, expected: str, form: str
) -> None:
    found = cache.search(unicodedata.normalize(form, query), kind=AGENCIES)  # type: ignore[arg-type]
    assert found, query
    assert found[0].name == expected


def test_ha_noi_finds_ha_noi(cache: RegistryCache) -> None:
    found = _names(cache.search("ha noi"))
    assert "Ủy ban nhân dân Thành phố Hà Nội" in found
    assert "Đài Phát thanh và Truyền hình Hà Nội" in found


def test_exact_before_prefix_before_words(cache: RegistryCache) -> None:
    found = cache.search("Sở Thông tin và Truyền thông", kind=AGENCIES)
    assert [(e.name, e.match) for e in found] == [
        ("Sở Thông tin và Truyền thông", "exact"),
        ("Sở Thông tin và Truyền thông tỉnh Nghệ An", "prefix"),
    ]
    words = cache.search("truyen thong nghe an", kind=AGENCIES)
    assert [(e.name, e.match) for e in words] == [
        ("Sở Thông tin và Truyền thông tỉnh Nghệ An", "tokens")
    ]


def test_words_in_any_order_shortest_first(cache: RegistryCache) -> None:
    found = cache.search("hoa vang hoa tien", kind=AGENCIES)
    assert _names(found) == ["UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"]
    found = cache.search("da nang hoa vang", kind=AGENCIES)
    assert _names(found) == [
        "UBND huyện Hòa Vang - Thành phố Đà Nẵng",
        "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
        "UBND xã Hòa Phong - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
    ]


def test_prefix_being_typed(cache: RegistryCache) -> None:
    assert _names(cache.search("UBND xã Hòa Ti")) == [
        "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"
    ]
    assert _names(cache.search("UBND thành p", limit=1)) == ["UBND thành phố Đà Nẵng"]
    # the last word as the start of a word, the others whole, any order
    assert _names(cache.search("hai chau cuo")) == [
        "UBND phường Hòa Cường Bắc - UBND quận Hải Châu"
    ]


def test_nothing_and_limits(cache: RegistryCache) -> None:
    assert cache.search("Bộ Quốc phòng") == []
    assert cache.search("   ") == []
    assert cache.search("ubnd", limit=0) == []
    assert len(cache.search("ubnd", limit=3)) == 3


def test_lookup_by_code_or_name(cache: RegistryCache) -> None:
    by_code = cache.lookup("000.00.12.H41")
    assert by_code.matched_by == "code"
    assert _names(by_code.entries) == ["Sở Thông tin và Truyền thông tỉnh Nghệ An"]
    assert by_code.entries[0].match == "code"
    # parses as a QĐ 20 code but no entry has it: read as a name
    by_name = cache.lookup("UBND")
    assert by_name.matched_by == "name"
    assert by_name.entries
    assert cache.lookup("000.00.99.H99").entries == []


def test_code_candidates() -> None:
    assert code_candidates("000.00.00.H41") == ["000.00.00.H41"]
    assert code_candidates("g03-gd10") == ["g03-gd10", "G03-GD10"]
    assert code_candidates("8") == ["8", "08", "008", "00008"]
    assert code_candidates("70") == ["70"]
    assert code_candidates("1.005129") == ["1.005129"]
    assert code_candidates("Hà Nội") == []
    assert code_candidates("hanoi") == []


def test_entry_record_is_typed(cache: RegistryCache) -> None:
    entry = cache.get(AGENCIES, "000.00.12.H41")
    assert entry is not None
    agency = entry.record_as(Agency)
    assert agency.parent_id == "1"
    with pytest.raises(RegistryError, match="not SyncUnit"):
        entry.record_as(SyncUnit)


def test_reimport_replaces_the_name_in_the_index(cache: RegistryCache) -> None:
    renamed = {"id": "3", "pid": "1", "code": "000.00.05.H41", "name": "Sở Nội vụ tỉnh Nghệ An"}
    report = cache.import_records(AGENCIES, [renamed], source="fix")
    assert report.imported == 1
    assert cache.search("tu phap", kind=AGENCIES) == []
    assert _names(cache.search("so noi vu")) == ["Sở Nội vụ tỉnh Nghệ An"]
    assert cache.count(AGENCIES) == len(DIRECTORY)


def test_replace_drops_the_kind(cache: RegistryCache) -> None:
    report = cache.import_records(AGENCIES, _records()[:2], source="again", replace=True)
    assert report.removed == len(DIRECTORY)
    assert cache.count() == 2
    assert cache.search("hoa tien") == []


# --- hierarchy ------------------------------------------------------------------------------


def test_parent_children_and_path(cache: RegistryCache) -> None:
    parent = cache.parent(AGENCIES, "001.20.00.H17")
    assert parent is not None
    assert parent.name == "UBND huyện Hòa Vang - Thành phố Đà Nẵng"
    path = cache.path_to_root(AGENCIES, "001.20.00.H17")
    assert [e.code for e in path] == ["001.20.00.H17", "000.20.00.H17", "000.00.00.H17"]
    assert cache.parent(AGENCIES, "000.00.00.H17") is None
    children = cache.children(AGENCIES, "000.00.00.H17")
    assert [e.code for e in children] == ["000.00.12.H17", "000.20.00.H17", "000.30.00.H17"]
    assert cache.children(AGENCIES, "001.20.00.H17") == []
    assert cache.path_to_root(AGENCIES, "nothing") == []


def test_parent_by_code_when_no_ids(clock: Clock) -> None:
    with RegistryCache(":memory:", clock=clock) as c:
        c.import_records(
            AGENCIES,
            [
                {"code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An"},
                {"code": "000.00.05.H41", "name": "Sở Tư pháp", "pid": "000.00.00.H41"},
            ],
            source="file",
        )
        parent = c.parent(AGENCIES, "000.00.05.H41")
        assert parent is not None
        assert parent.code == "000.00.00.H41"


def test_a_loop_in_the_directory_is_reported(clock: Clock) -> None:
    with RegistryCache(":memory:", clock=clock) as c:
        c.import_records(
            AGENCIES,
            [
                {"id": "1", "pid": "2", "code": "000.00.01.H41", "name": "A"},
                {"id": "2", "pid": "1", "code": "000.00.02.H41", "name": "B"},
            ],
            source="broken",
        )
        with pytest.raises(RegistryError, match="loop back"):
            c.path_to_root(AGENCIES, "000.00.01.H41")


# --- freshness ------------------------------------------------------------------------------


def test_freshness_per_entry_and_source(clock: Clock) -> None:
    with RegistryCache(":memory:", clock=clock, max_age=dt.timedelta(days=30)) as c:
        c.import_records(AGENCIES, _records()[:3], source="getAgenciesList")
        clock.now = T0 + dt.timedelta(days=20)
        c.import_records(AGENCIES, _records()[3:5], source="agencies.csv")
        clock.now = T0 + dt.timedelta(days=40)
        old = c.get(AGENCIES, "000.00.00.H41")
        new = c.get(AGENCIES, "000.00.00.H17")
        assert old is not None
        assert new is not None
        assert (old.stale, old.fetched_at, old.source) == (True, T0, "getAgenciesList")
        assert new.stale is False
        assert old.age(clock.now) == dt.timedelta(days=40)
        assert c.get(AGENCIES, "000.00.00.H41", max_age=None).stale is False  # type: ignore[union-attr]
        assert [e.code for e in c.stale_entries()] == [r[2] for r in DIRECTORY[:3]]
        sources = {s.source: s for s in c.sources()}
        assert sources["getAgenciesList"].count == 3
        assert sources["agencies.csv"].imported_at == T0 + dt.timedelta(days=20)
        assert all(e.stale for e in c.search("nghe an"))
        assert c.remove_stale() == 3
        assert c.count() == 2
        assert c.search("tu phap") == []


def test_no_max_age_means_never_stale(cache: RegistryCache, clock: Clock) -> None:
    clock.now = T0 + dt.timedelta(days=3650)
    entry = cache.get(AGENCIES, "000.00.00.H41")
    assert entry is not None
    assert not entry.stale
    assert cache.stale_entries() == []
    assert cache.remove_stale() == 0


# --- fetch on a miss: failures are never cached ---------------------------------------------


class Fetcher:
    """A fetch function that counts its calls and answers what it is told to."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def __call__(self, code: str) -> object:
        self.calls.append(code)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_fetch_on_a_miss_stores_the_answer(cache: RegistryCache) -> None:
    fetch = Fetcher({"id": "99", "code": "000.00.00.G22", "name": "Văn phòng Chính phủ"})
    entry = cache.get_or_fetch(AGENCIES, "000.00.00.G22", fetch, source="getAgenciesList")  # type: ignore[arg-type]
    assert entry is not None
    assert (entry.name, entry.source) == ("Văn phòng Chính phủ", "getAgenciesList")
    again = cache.get_or_fetch(AGENCIES, "000.00.00.G22", fetch)  # type: ignore[arg-type]
    assert again is not None
    assert fetch.calls == ["000.00.00.G22"]  # the second call was a hit
    assert _names(cache.search("van phong chinh phu")) == ["Văn phòng Chính phủ"]


@pytest.mark.parametrize(
    "answer",
    [
        ConnectionError("LGSP gateway timeout"),
        None,
        [],
        {},
        [{"id": "98", "code": "000.00.00.G09", "name": "Bộ Nội vụ"}],  # not what was asked for
    ],
    ids=["raises", "none", "empty-list", "empty-dict", "other-code"],
)
def test_failed_lookups_are_never_cached(cache: RegistryCache, answer: object) -> None:
    before = cache.count()
    fetch = Fetcher(answer)
    for _ in range(2):
        if isinstance(answer, Exception):
            with pytest.raises(ConnectionError):
                cache.get_or_fetch(AGENCIES, "000.00.00.G22", fetch)  # type: ignore[arg-type]
        else:
            assert cache.get_or_fetch(AGENCIES, "000.00.00.G22", fetch) is None  # type: ignore[arg-type]
    assert fetch.calls == ["000.00.00.G22", "000.00.00.G22"]  # asked again: nothing was kept
    assert cache.count() == before
    assert cache.get(AGENCIES, "000.00.00.G22") is None


def test_invalid_fetch_answer_stores_nothing(cache: RegistryCache) -> None:
    fetch = Fetcher({"id": "1", "name": "no code"})
    with pytest.raises(RegistryError, match="not valid"):
        cache.get_or_fetch(AGENCIES, "000.00.00.G22", fetch)  # type: ignore[arg-type]
    assert cache.get(AGENCIES, "000.00.00.G22") is None


def test_stale_entry_is_fetched_again(clock: Clock) -> None:
    with RegistryCache(":memory:", clock=clock, max_age=dt.timedelta(days=7)) as c:
        c.import_records(AGENCIES, _records()[:1], source="getAgenciesList")
        clock.now = T0 + dt.timedelta(days=8)
        failing = Fetcher(TimeoutError("VXP did not answer"))
        with pytest.raises(TimeoutError):
            c.get_or_fetch(AGENCIES, "000.00.00.H41", failing)  # type: ignore[arg-type]
        kept = c.get_or_fetch(AGENCIES, "000.00.00.H41", failing, stale_if_error=True)  # type: ignore[arg-type]
        assert kept is not None
        assert kept.stale
        assert kept.fetched_at == T0  # the failure changed nothing
        fresh = Fetcher({"id": "1", "code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An"})
        entry = c.get_or_fetch(AGENCIES, "000.00.00.H41", fresh)  # type: ignore[arg-type]
        assert entry is not None
        assert (entry.stale, entry.fetched_at, entry.name) == (
            False,
            clock.now,
            "UBND tỉnh Nghệ An",
        )


def test_lay_thu_tuc_answer_gets_the_code_asked_for(clock: Clock) -> None:
    answer = {"TENTTHC": "Đăng ký khai sinh", "LINHVUCTHUCHIEN": {"MALINHVUC": "G15-HT01"}}
    with RegistryCache(":memory:", clock=clock) as c:
        entry = c.get_or_fetch(RegistryKind.PROCEDURES, "1.001193", Fetcher(answer))  # type: ignore[arg-type]
        assert entry is not None
        procedure = entry.record_as(Procedure)
        assert procedure.code == "1.001193"
        assert procedure.fields_of_work[0].code == "G15-HT01"


# --- imports into the cache -----------------------------------------------------------------


def test_import_is_all_or_nothing(cache: RegistryCache, tmp_path: Path) -> None:
    path = tmp_path / "agencies.csv"
    path.write_text("code,name\n000.00.00.G22,Văn phòng Chính phủ\n,Bộ Nội vụ\n", encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        cache.import_file(path, kind=AGENCIES)
    assert info.value.line == 3
    assert cache.get(AGENCIES, "000.00.00.G22") is None


def test_sync_unit_feed_deletes(clock: Clock) -> None:
    units = [
        {"id": "1", "pid": "0", "code": "000.00.00.H41", "name": "UBND tỉnh Nghệ An"},
        {"id": "2", "pid": "1", "code": "000.00.05.H41", "name": "Sở Tư pháp"},
    ]
    with RegistryCache(":memory:", clock=clock) as c:
        c.import_data(json.dumps({"status": "OK", "ErrorCode": "0", "data": units}), kind="units")
        assert c.count(RegistryKind.UNITS) == 2
        change = [{**units[1], "deleted": True, "version": "8"}]
        report = c.import_records(RegistryKind.UNITS, change, source="getSynchronizeUnit")
        assert (report.imported, report.removed) == (0, 1)
        assert c.get(RegistryKind.UNITS, "000.00.05.H41") is None
        assert c.search("tu phap") == []


def test_remove(cache: RegistryCache) -> None:
    assert cache.remove(AGENCIES, "000.00.05.H41")
    assert not cache.remove(AGENCIES, "000.00.05.H41")
    assert cache.search("tu phap") == []


# --- files, threads and processes -----------------------------------------------------------


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LGSP_REGISTRY_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_registry_path() == tmp_path / "data" / "lgsp" / "registry.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_registry_path() == tmp_path / ".local" / "share" / "lgsp" / "registry.sqlite3"
    monkeypatch.setenv("LGSP_REGISTRY_DB", str(tmp_path / "x.db"))
    assert default_registry_path() == tmp_path / "x.db"


def test_no_io_until_first_use(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "registry.sqlite3"
    cache = RegistryCache(path)
    assert not path.exists()
    assert cache.count() == 0
    assert path.exists()
    cache.close()
    with pytest.raises(RegistryError, match="closed"):
        cache.count()


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with RegistryCache(path) as c, pytest.raises(RegistryError, match="not an lgsp registry"):
        c.count()
    text = tmp_path / "not-a-db.sqlite3"
    text.write_text("hello, this is not SQLite at all" * 10)
    with RegistryCache(text) as c, pytest.raises(RegistryError, match="cannot be used"):
        c.count()


def test_threads_share_a_file(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    errors: list[BaseException] = []
    with RegistryCache(path) as c:
        c.import_records(AGENCIES, _records(), source="seed")

        def work(n: int) -> None:
            try:
                for i in range(20):
                    code = f"{n:03d}.{i:02d}.00.H99"
                    c.import_records(
                        AGENCIES, [{"code": code, "name": f"UBND xã Thử {n} {i}"}], source=f"t{n}"
                    )
                    assert c.get(AGENCIES, code) is not None
                    assert c.search("hoa tien")
            except BaseException as exc:  # noqa: BLE001 - collected for the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert c.count() == len(DIRECTORY) + 80


def test_memory_cache_is_shared_by_threads() -> None:
    with RegistryCache(":memory:") as c:
        c.import_records(AGENCIES, _records(), source="seed")
        found: list[int] = []
        threads = [
            threading.Thread(target=lambda: found.append(len(c.search("ubnd")))) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert found == [9, 9, 9, 9]


_WRITER = """
import sys
from lgsp.registry import RegistryCache
n = int(sys.argv[2])
with RegistryCache(sys.argv[1]) as cache:
    for i in range(25):
        record = {"code": f"{n:03d}.{i:02d}.00.H98", "name": f"Phòng {n} {i}"}
        cache.import_records("agencies", [record], source=f"p{n}")
"""


def test_processes_share_a_file_through_wal(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    with RegistryCache(path) as c:
        c.import_records(AGENCIES, _records(), source="seed")
    src = Path(__file__).resolve().parents[1] / "src"
    env = {"PYTHONPATH": str(src), "PATH": ""}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(n)], env=env)
        for n in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with RegistryCache(path) as c:
        assert c.count() == len(DIRECTORY) + 50
        assert len(c.search("phong", limit=100)) == 50
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_uncreatable_folder_is_a_registry_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with (
        RegistryCache(blocker / "registry.sqlite3") as c,
        pytest.raises(RegistryError, match="cannot be created"),
    ):
        c.count()
