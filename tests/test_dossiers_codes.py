"""Dossier codes: generation through lgsp.codes.DossierCodePattern, the per-unit-and-day
allocator (thread-safe), and the validation of codes in payloads."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest

from lgsp.codes import DossierCodePattern, parse_dossier_code
from lgsp.dossiers import DossierCodeAllocator, validate_dossier
from lgsp.errors import CodeError
from test_dossiers_data import creation, sync_item

DAY = dt.date(2026, 6, 9)


def test_codes_per_unit_and_day_from_one() -> None:
    codes = DossierCodeAllocator(today=lambda: DAY)
    assert codes.next("G09.20") == "G09.20-20260609-0000001"
    assert codes.next("G09.20") == "G09.20-20260609-0000002"
    assert codes.next("000.00.12.H49") == "000.00.12.H49-20260609-0000001"
    assert codes.next("G09.20", dt.date(2026, 6, 10)) == "G09.20-20260610-0000001"
    assert codes.last("G09.20") == 2
    assert codes.last("G09.21") == 0
    parsed = parse_dossier_code(codes.next("G09.20"))
    assert (parsed.unit, parsed.date, parsed.sequence) == ("G09.20", DAY, 3)


def test_the_default_day_is_today_in_vietnam() -> None:
    code = DossierCodeAllocator().next("G09.20")
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()
    assert parse_dossier_code(code).date in {today, today - dt.timedelta(days=1)}


def test_seed_and_observe_continue_a_numbering_and_never_go_back() -> None:
    codes = DossierCodeAllocator(today=lambda: DAY)
    codes.seed("G09.20", DAY, 92636)
    assert codes.next("G09.20") == "G09.20-20260609-0092637"  # the iGate example, §4.3
    codes.seed("G09.20", DAY, 5)  # lower: ignored
    assert codes.last("G09.20") == 92637
    codes.observe("G09.20-20260609-0100000")
    assert codes.next("G09.20") == "G09.20-20260609-0100001"
    with pytest.raises(CodeError, match="cannot be negative"):
        codes.seed("G09.20", DAY, -1)
    with pytest.raises(CodeError):
        codes.observe("not a code")


def test_a_custom_pattern() -> None:
    pattern = DossierCodePattern("{unit}-{date}-{seq}", date_format="%y%m%d", seq_width=4)
    codes = DossierCodeAllocator(pattern, today=lambda: dt.date(2023, 1, 1))
    assert codes.next("000.00.17.H55") == "000.00.17.H55-230101-0001"  # the §4.4 example form
    full = DossierCodeAllocator(DossierCodePattern(seq_width=1), today=lambda: DAY)
    assert [full.next("G09.20") for _ in range(9)][-1] == "G09.20-20260609-9"
    with pytest.raises(CodeError) as caught:
        full.next("G09.20")
    assert caught.value.rule == "dossier.sequence"
    assert full.last("G09.20") == 9  # a refused code uses up no number


def test_a_unit_that_is_no_organ_code_uses_up_no_number() -> None:
    codes = DossierCodeAllocator(today=lambda: DAY)
    with pytest.raises(CodeError) as caught:
        codes.next("sở xây dựng")
    assert caught.value.rule == "dossier.unit"
    assert codes.last("sở xây dựng") == 0


def test_forget_before_drops_old_counters() -> None:
    codes = DossierCodeAllocator(today=lambda: DAY)
    codes.next("G09.20", dt.date(2026, 6, 1))
    codes.next("G09.20", DAY)
    assert codes.forget_before(DAY) == 1
    assert codes.last("G09.20", dt.date(2026, 6, 1)) == 0
    assert codes.last("G09.20", DAY) == 1
    assert "1 counters" in repr(codes)


def test_threads_never_get_the_same_code() -> None:
    codes = DossierCodeAllocator(today=lambda: DAY)
    issued: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def work(unit: str) -> None:
        start.wait()
        mine = [codes.next(unit) for _ in range(500)]
        with lock:
            issued.extend(mine)

    threads = [threading.Thread(target=work, args=(f"G09.2{i % 2}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(issued) == len(set(issued)) == 4000
    per_unit = Counter(parse_dossier_code(c).unit for c in issued)
    assert per_unit == {"G09.20": 2000, "G09.21": 2000}
    for unit in per_unit:
        sequences = sorted(parse_dossier_code(c).sequence for c in issued if c.startswith(unit))
        assert sequences == list(range(1, 2001))


def test_codes_in_payloads_are_checked_against_the_pattern() -> None:
    assert validate_dossier(sync_item(code="000.00.12.H49-20260609-0000123")) == []
    (finding,) = validate_dossier(sync_item(code="000.00.17.H55-230101-0001"))
    assert (finding.rule, finding.location) == ("dossier.code", "MaHoSo")
    assert "7-digit sequence" in finding.message
    short = DossierCodePattern(date_format="%y%m%d", seq_width=4)
    assert validate_dossier(sync_item(code="000.00.17.H55-230101-0001"), pattern=short) == []
    lenient = validate_dossier(sync_item(code="HS-001"), profile="lenient")
    assert [(f.rule, f.severity) for f in lenient] == [("dossier.code", "warning")]


def test_a_token_dossier_code_names_its_receiving_unit() -> None:
    (finding,) = validate_dossier(creation(receiving_unit="G09.21"), target="token")
    assert finding.rule == "dossier.code"
    assert "G09.20 is not MaDonViTiepNhan G09.21" in finding.message
