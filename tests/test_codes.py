"""Tests of lgsp.codes: organ, procedure, dossier and administrative-unit codes."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgsp import codes
from lgsp.codes import (
    DEFAULT_DOSSIER_PATTERN,
    AdminUnitLevel,
    DossierCodePattern,
    OrganCodeForm,
    is_admin_unit_code,
    is_dossier_code,
    is_organ_code,
    is_procedure_code,
    normalize_admin_unit_code,
    parse_admin_unit_code,
    parse_dossier_code,
    parse_organ_code,
    parse_procedure_code,
)
from lgsp.errors import CodeError

# --- strategies ------------------------------------------------------------------------------

QCVN102 = st.from_regex(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}", fullmatch=True)
QD20 = st.from_regex(r"[0-9A-Z]{1,6}(\.[0-9A-Z]{1,6}){0,4}", fullmatch=True)
SYSTEM = st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z0-9]{1,5}){1,4}", fullmatch=True)
UNITS = st.one_of(QCVN102, QD20, SYSTEM)

ALL_RULES = {
    "organ.empty",
    "organ.whitespace",
    "organ.length",
    "organ.charset",
    "organ.qcvn102.format",
    "organ.qd20.format",
    "organ.system.format",
    "organ.strict",
}


def rule_of(call: Callable[[], object]) -> str:
    with pytest.raises(CodeError) as info:
        call()
    assert isinstance(info.value, ValueError)
    return info.value.rule


# --- organ codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["000.00.00.G22", "000.00.00.H41", "000.00.00.H49", "000.00.17.H55"]
)
def test_qcvn102_codes_parse_in_both_modes(value: str) -> None:
    for strict in (False, True):
        code = parse_organ_code(value, strict=strict)
        assert code.form is OrganCodeForm.QCVN102
        assert str(code) == value
        assert is_organ_code(value, strict=strict)


def test_qcvn102_levels_read_right_to_left() -> None:
    code = parse_organ_code("000.00.17.H55")
    assert (code.level1, code.level2, code.level3, code.level4) == ("H55", "17", "00", "000")


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("28.22.H17", OrganCodeForm.QD20),
        ("01.02.G22", OrganCodeForm.QD20),
        ("001.00.20.TT2", OrganCodeForm.QD20),
        ("H37.DN.001", OrganCodeForm.QD20),
        ("G09.20", OrganCodeForm.QD20),
        ("vxp.saas.03", OrganCodeForm.SYSTEM),
    ],
)
def test_real_traffic_forms_are_lenient_only(value: str, form: OrganCodeForm) -> None:
    code = parse_organ_code(value)
    assert code.form is form
    assert code.value == value
    assert (code.level1, code.level2, code.level3, code.level4) == (None, None, None, None)
    assert rule_of(lambda: parse_organ_code(value, strict=True)) == "organ.strict"
    assert not is_organ_code(value, strict=True)


def test_strict_message_names_the_form_and_the_wanted_shape() -> None:
    with pytest.raises(CodeError) as info:
        parse_organ_code("001.00.20.TT2", strict=True)
    message = str(info.value)
    assert "QĐ 20/2020" in message
    assert "TT2" in message
    assert "13-character QCVN 102" in message


def test_lenient_strips_whitespace_strict_refuses_it() -> None:
    assert parse_organ_code(" 000.00.00.H41\n").value == "000.00.00.H41"
    assert rule_of(lambda: parse_organ_code(" 000.00.00.H41", strict=True)) == "organ.whitespace"


@pytest.mark.parametrize(
    ("value", "strict", "rule"),
    [
        ("", False, "organ.empty"),
        ("   ", True, "organ.empty"),
        ("000.00.00.G22 ", True, "organ.whitespace"),
        ("000.00.00.G2", True, "organ.strict"),  # a valid QĐ 20 code, 12 characters
        ("000.00.00.G2!", True, "organ.charset"),
        ("000.00.00.g22", True, "organ.charset"),
        ("000.00.00.g22", False, "organ.charset"),
        ("vxp.saas-03", False, "organ.charset"),
        ("Đ.01", False, "organ.charset"),
        ("000..00.00.G22", True, "organ.length"),
        ("A" * 36, False, "organ.length"),
        ("a." + "b" * 34, False, "organ.length"),
        ("000..0.00.G22", True, "organ.qcvn102.format"),  # 13 characters, 5 segments
        ("000.00..00G22", True, "organ.qcvn102.format"),  # empty level-2 segment
        ("0000.0.00.G22", True, "organ.strict"),  # a QĐ 20 code with a 4-character level 4
        ("000.00.00.022", True, "organ.strict"),  # a QĐ 20 code; level 1 starts with a digit
        (".000.00.H22", False, "organ.qd20.format"),
        ("000.00.H22.", False, "organ.qd20.format"),
        ("000..H22", False, "organ.qd20.format"),
        ("vxp", False, "organ.system.format"),
        ("vxp..03", False, "organ.system.format"),
    ],
)
def test_organ_rules(value: str, strict: bool, rule: str) -> None:
    assert rule_of(lambda: parse_organ_code(value, strict=strict)) == rule
    assert not is_organ_code(value, strict=strict)


def test_charset_message_names_character_and_position() -> None:
    with pytest.raises(CodeError) as info:
        parse_organ_code("000.00.00.g22", strict=True)
    assert "'g' at position 11" in str(info.value)
    assert "000.00.00.G22" in str(info.value)  # the valid shape is shown


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0000.0.00.G22", "level-4 segment '0000' has 4 characters"),
        ("000.00.00.022", "level-1 segment '022'"),
        ("000.00..00G22", "level-2 segment '' has 0 characters"),
        ("000..0.00.G22", "5 dot-separated segments"),
        ("000.00.00.G2", "12 characters"),
    ],
)
def test_strict_messages_say_why_it_is_not_qcvn102(value: str, fragment: str) -> None:
    with pytest.raises(CodeError) as info:
        parse_organ_code(value, strict=True)
    assert fragment in str(info.value)


@given(QCVN102)
def test_qcvn102_round_trip(value: str) -> None:
    code = parse_organ_code(value, strict=True)
    assert str(code) == value
    assert code.level4 is not None
    assert code.level1 is not None
    assert ".".join((code.level4, code.level3 or "", code.level2 or "", code.level1)) == value


@given(st.one_of(QD20, SYSTEM))
def test_lenient_forms_round_trip(value: str) -> None:
    code = parse_organ_code(value)
    assert code.value == value
    assert code.form in {OrganCodeForm.QCVN102, OrganCodeForm.QD20, OrganCodeForm.SYSTEM}


@given(st.text(max_size=40), st.booleans())
def test_any_text_parses_or_raises_a_known_rule(value: str, strict: bool) -> None:
    if not is_organ_code(value, strict=strict):
        assert rule_of(lambda: parse_organ_code(value, strict=strict)) in ALL_RULES
        return
    code = parse_organ_code(value, strict=strict)
    assert code.value == (value if strict else value.strip())
    if strict:
        assert code.form is OrganCodeForm.QCVN102


# --- procedure codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "base", "suffix"),
    [
        ("1.005129", "1.005129", None),
        ("2.002492", "2.002492", None),
        ("2.002493", "2.002493", None),
        ("3.000181.000.00.00.H22", "3.000181", "000.00.00.H22"),
    ],
)
def test_procedure_codes(value: str, base: str, suffix: str | None) -> None:
    code = parse_procedure_code(value)
    assert (code.value, code.base, code.organ_suffix) == (value, base, suffix)
    assert str(code) == value
    assert is_procedure_code(value)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "procedure.empty"),
        ("1.00512", "procedure.format"),
        ("1005129", "procedure.format"),
        ("12.005129", "procedure.format"),
        ("1.0051290", "procedure.format"),
        (" 1.005129", "procedure.format"),
        ("1.005129.", "procedure.format"),
        ("3.000181.000.00.00.h22", "procedure.organ_suffix"),
        ("3.000181. 000.00.00.H22", "procedure.organ_suffix"),
        ("3.000181..H22", "procedure.organ_suffix"),
    ],
)
def test_procedure_rules(value: str, rule: str) -> None:
    assert rule_of(lambda: parse_procedure_code(value)) == rule
    assert not is_procedure_code(value)


@given(st.from_regex(r"[0-9]\.[0-9]{6}", fullmatch=True), st.none() | UNITS)
def test_procedure_round_trip(base: str, suffix: str | None) -> None:
    value = base if suffix is None else f"{base}.{suffix}"
    code = parse_procedure_code(value)
    assert (code.value, code.base, code.organ_suffix) == (value, base, suffix)


# --- dossier codes ---------------------------------------------------------------------------


def test_dossier_codes_seen_in_traffic() -> None:
    code = parse_dossier_code("G09.20-20260609-0092637")
    assert (code.unit, code.date, code.sequence) == ("G09.20", datetime.date(2026, 6, 9), 92637)
    assert str(code) == "G09.20-20260609-0092637"
    code = parse_dossier_code("000.00.17.H55-20230101-0000001")
    assert (code.unit, code.date, code.sequence) == ("000.00.17.H55", datetime.date(2023, 1, 1), 1)
    assert is_dossier_code("G09.20-20260609-0092637")


def test_dossier_format() -> None:
    day = datetime.date(2026, 6, 9)
    assert DEFAULT_DOSSIER_PATTERN.format("G09.20", day, 92637) == "G09.20-20260609-0092637"
    custom = DossierCodePattern("{seq}/{date}/{unit}", date_format="%d%m%Y", seq_width=4)
    assert custom.format("000.00.00.H49", day, 12) == "0012/09062026/000.00.00.H49"
    short = DossierCodePattern(date_format="%y%m%d", seq_width=4)
    assert short.parse("000.00.17.H55-230101-0001").date == datetime.date(2023, 1, 1)


def test_dossier_unit_may_hold_the_separator() -> None:
    dotted = DossierCodePattern("{unit}.{date}.{seq}")
    code = dotted.parse("000.00.00.H49.20260609.0000001")
    assert (code.unit, code.sequence) == ("000.00.00.H49", 1)
    glued = DossierCodePattern("{unit}{date}{seq}", seq_width=3)
    assert glued.parse("H37.DN.00120260609005").unit == "H37.DN.001"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "dossier.empty"),
        ("G09.20-2026069-0092637", "dossier.format"),  # seven-digit date
        ("G09.20-20260609-092637", "dossier.format"),  # six-digit sequence
        ("G09.20_20260609_0092637", "dossier.format"),
        ("-20260609-0092637", "dossier.format"),
        ("G09 20-20260609-0092637", "dossier.format"),
        ("G09.20-20260231-0092637", "dossier.date"),  # 31 February
        ("G09.20-20261301-0092637", "dossier.date"),
        ("G09.20-00000101-0092637", "dossier.date"),  # year 0
        ("G09.20-20260609-0000000", "dossier.sequence"),
        ("G09..20-20260609-0092637", "dossier.unit"),
        ("g09.20X-20260609-0092637", "dossier.unit"),
    ],
)
def test_dossier_parse_rules(value: str, rule: str) -> None:
    assert rule_of(lambda: parse_dossier_code(value)) == rule
    assert not DEFAULT_DOSSIER_PATTERN.is_valid(value)


@pytest.mark.parametrize(
    ("unit", "day", "sequence", "rule"),
    [
        ("G09..20", datetime.date(2026, 6, 9), 1, "dossier.unit"),
        (" G09.20", datetime.date(2026, 6, 9), 1, "dossier.unit"),
        ("", datetime.date(2026, 6, 9), 1, "dossier.unit"),
        ("G09.20", datetime.date(2026, 6, 9), 0, "dossier.sequence"),
        ("G09.20", datetime.date(2026, 6, 9), -5, "dossier.sequence"),
        ("G09.20", datetime.date(2026, 6, 9), 10_000_000, "dossier.sequence"),
    ],
)
def test_dossier_format_rules(unit: str, day: datetime.date, sequence: int, rule: str) -> None:
    assert rule_of(lambda: DEFAULT_DOSSIER_PATTERN.format(unit, day, sequence)) == rule


def test_two_digit_year_outside_its_century_is_refused() -> None:
    short = DossierCodePattern(date_format="%y%m%d")
    call = lambda: short.format("G09.20", datetime.date(1999, 12, 31), 1)  # noqa: E731
    assert rule_of(call) == "dossier.date"


@pytest.mark.parametrize(
    ("template", "kwargs"),
    [
        ("{unit}-{date}", {}),
        ("{unit}-{unit}-{date}-{seq}", {}),
        ("{unit}-{date}-{seq}-{extra}", {}),
        ("{{unit}}-{date}-{seq}", {}),
        ("{unit}-{date}-{seq}}", {}),
        ("{unit}-{date!r}-{seq}", {}),
        ("{unit}-{date}-{seq}", {"seq_width": 0}),
        ("{unit}-{date}-{seq}", {"date_format": "%Y%m"}),
        ("{unit}-{date}-{seq}", {"date_format": "%Y%m%d%d"}),
        ("{unit}-{date}-{seq}", {"date_format": "%Y%y%m%d"}),
        ("{unit}-{date}-{seq}", {"date_format": "%Y%m%d%H"}),
        ("{unit}-{date}-{seq}", {"date_format": "%Y%m%d%"}),
    ],
)
def test_dossier_pattern_rules(template: str, kwargs: dict[str, Any]) -> None:
    assert rule_of(lambda: DossierCodePattern(template, **kwargs)) == "dossier.pattern"


PATTERNS = [
    DEFAULT_DOSSIER_PATTERN,
    DossierCodePattern("{seq}/{date}/{unit}", date_format="%d%m%Y"),
    DossierCodePattern("{unit}.{date}.{seq}", date_format="%Y.%m.%d", seq_width=4),
    DossierCodePattern("HS{date}{unit}{seq}", date_format="%Y%%%m%d", seq_width=1),
]


@given(st.sampled_from(PATTERNS), UNITS, st.dates(), st.data())
def test_dossier_round_trip(
    pattern: DossierCodePattern, unit: str, day: datetime.date, data: st.DataObject
) -> None:
    sequence = data.draw(st.integers(min_value=1, max_value=10**pattern.seq_width - 1))
    value = pattern.format(unit, day, sequence)
    code = pattern.parse(value)
    assert (code.value, code.unit, code.date, code.sequence) == (value, unit, day, sequence)
    assert is_dossier_code(value, pattern)


@given(UNITS, st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)))
def test_dossier_round_trip_two_digit_year(unit: str, day: datetime.date) -> None:
    pattern = DossierCodePattern("{unit}-{date}-{seq}", date_format="%y%m%d", seq_width=4)
    code = pattern.parse(pattern.format(unit, day, 1))
    assert (code.unit, code.date, code.sequence) == (unit, day, 1)


# --- administrative units --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("01", AdminUnitLevel.PROVINCE),
        ("08", AdminUnitLevel.PROVINCE),
        ("001", AdminUnitLevel.DISTRICT),
        ("00001", AdminUnitLevel.COMMUNE),
    ],
)
def test_admin_unit_level_is_inferred_or_checked(value: str, level: AdminUnitLevel) -> None:
    assert parse_admin_unit_code(value).level is level
    code = parse_admin_unit_code(value, level)
    assert (code.value, code.level, str(code)) == (value, level, value)
    assert is_admin_unit_code(value, level)


@pytest.mark.parametrize(
    ("value", "level", "rule"),
    [
        ("", None, "admin_unit.empty"),
        ("0a", None, "admin_unit.charset"),
        (" 01", None, "admin_unit.charset"),
        ("\u0660\u0661", None, "admin_unit.charset"),  # Arabic-Indic digits are not code digits
        ("8", None, "admin_unit.length"),
        ("0001", None, "admin_unit.length"),
        ("8", AdminUnitLevel.PROVINCE, "admin_unit.length"),
        ("001", AdminUnitLevel.PROVINCE, "admin_unit.level"),
        ("01", AdminUnitLevel.COMMUNE, "admin_unit.level"),
    ],
)
def test_admin_unit_rules(value: str, level: AdminUnitLevel | None, rule: str) -> None:
    assert rule_of(lambda: parse_admin_unit_code(value, level)) == rule
    assert not is_admin_unit_code(value, level)


def test_normalize_pads_integer_codes() -> None:
    assert normalize_admin_unit_code(8, AdminUnitLevel.PROVINCE) == "08"
    assert normalize_admin_unit_code("1", AdminUnitLevel.COMMUNE) == "00001"
    assert normalize_admin_unit_code(" 25 ", AdminUnitLevel.DISTRICT) == "025"
    assert normalize_admin_unit_code("00001", AdminUnitLevel.COMMUNE) == "00001"


@pytest.mark.parametrize(
    ("value", "level", "rule"),
    [
        (-1, AdminUnitLevel.PROVINCE, "admin_unit.charset"),
        (True, AdminUnitLevel.PROVINCE, "admin_unit.charset"),
        ("1a", AdminUnitLevel.PROVINCE, "admin_unit.charset"),
        ("", AdminUnitLevel.PROVINCE, "admin_unit.empty"),
        (123, AdminUnitLevel.PROVINCE, "admin_unit.length"),
        ("000001", AdminUnitLevel.COMMUNE, "admin_unit.length"),
    ],
)
def test_normalize_rules(value: str | int, level: AdminUnitLevel, rule: str) -> None:
    assert rule_of(lambda: normalize_admin_unit_code(value, level)) == rule


@given(st.sampled_from(list(AdminUnitLevel)), st.integers(min_value=0, max_value=99))
def test_normalized_codes_parse_at_their_level(level: AdminUnitLevel, number: int) -> None:
    text = normalize_admin_unit_code(number, level)
    assert int(text) == number
    assert parse_admin_unit_code(text).level is level


def test_public_names_are_exported_sorted() -> None:
    assert sorted(codes.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)) == list(
        codes.__all__
    )
    for name in codes.__all__:
        assert hasattr(codes, name)
