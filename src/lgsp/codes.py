"""Identifier codes: organ (mã định danh), procedure (mã TTHC), dossier and admin-unit codes.

Every exchange names its parties and subjects by code, and a wrong code is only noticed far
downstream (a document routed nowhere, a dossier the national portal refuses). Real traffic mixes
the standard QCVN 102:2016 organ form with QĐ 20/2020 and ad-hoc forms, so organ codes parse
leniently by default and strictly on request. Every failure is a :class:`~lgsp.errors.CodeError`
whose ``rule`` names what broke and whose message says what a valid code looks like.
"""

from __future__ import annotations

import datetime
import enum
import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from lgsp.errors import CodeError

__all__ = [
    "DEFAULT_DOSSIER_PATTERN",
    "AdminUnitCode",
    "AdminUnitLevel",
    "DossierCode",
    "DossierCodePattern",
    "OrganCode",
    "OrganCodeForm",
    "ProcedureCode",
    "is_admin_unit_code",
    "is_dossier_code",
    "is_organ_code",
    "is_procedure_code",
    "normalize_admin_unit_code",
    "parse_admin_unit_code",
    "parse_dossier_code",
    "parse_organ_code",
    "parse_procedure_code",
]


def _accepts(parse: Callable[[], object]) -> bool:
    try:
        parse()
    except CodeError:
        return False
    return True


# --- Organ codes (mã định danh) ---------------------------------------------------------------


class OrganCodeForm(enum.StrEnum):
    """The scheme an organ code was recognised under."""

    QCVN102 = "qcvn102"  # QCVN 102:2016/BTTTT: four levels, 13 characters
    QD20 = "qd20"  # QĐ 20/2020/QĐ-TTg: at most 35 characters of '.', 0-9, A-Z
    SYSTEM = "system"  # lowercase system ids of the VXP axis, e.g. vxp.saas.03


# QCVN 102:2016 as applied by the provinces (QĐ 3739/QĐ-UBND Quảng Ninh, QĐ 3982/QĐ-UBND Thái
# Bình, 2016): [level 4: 3].[level 3: 2].[level 2: 2].[level 1: 3], 13 characters. Level-1 codes
# are a group letter and two digits (G22 VPCP, H49 UBND Quảng Ninh, K54 HĐND Thái Bình; the
# ministry list of QĐ 09/2025/QĐ-TTg), which is why 001.00.20.TT2 is only a QĐ 20 code.
_QCVN102_LENGTH = 13
_QCVN102_SEGMENTS = ((4, 3), (3, 2), (2, 2), (1, 3))  # (level, width), left to right
_QCVN102_SHAPE = (
    "the QCVN 102 form is LLL.KK.JJ.XNN, 13 characters: level 4 (3 of 0-9/A-Z), level 3 (2), "
    "level 2 (2), level 1 (an uppercase letter and two digits), e.g. 000.00.00.G22"
)
_UPPER_CHARS = frozenset(string.digits + string.ascii_uppercase + ".")
# QĐ 20/2020/QĐ-TTg Điều 4: at most 35 characters from '.', 0-9, A-Z; groups split by '.'.
_QD20_RE = re.compile(r"[0-9A-Z]+(?:\.[0-9A-Z]+)*")
# System ids seen on the VXP axis (systemid "vxp.saas.NN"): lowercase dotted, two or more groups.
_SYSTEM_RE = re.compile(r"[a-z][a-z0-9]*(?:\.[a-z0-9]+)+")
_LOWER_CHARS = frozenset(string.digits + string.ascii_lowercase + ".")
_MAX_LENIENT_LENGTH = 35
_LENIENT_SHAPE = (
    "accepted forms are QCVN 102 (13 characters, e.g. 000.00.00.G22), QĐ 20/2020 (at most 35 "
    "characters of 0-9, A-Z and '.', e.g. 28.22.H17) and system ids (lowercase, e.g. vxp.saas.03)"
)
_FORM_NAMES = {OrganCodeForm.QD20: "QĐ 20/2020 identifier", OrganCodeForm.SYSTEM: "system id"}


@dataclass(frozen=True, slots=True)
class OrganCode:
    """An organ identifier and the form it was recognised as (build it with parse_organ_code)."""

    value: str
    form: OrganCodeForm

    def __str__(self) -> str:
        return self.value

    def _segment(self, index: int) -> str | None:
        if self.form is not OrganCodeForm.QCVN102:
            return None
        return self.value.split(".")[index]

    @property
    def level1(self) -> str | None:
        """Level-1 unit, the last segment (ministry or province: G22, H49); QCVN 102 only."""
        return self._segment(3)

    @property
    def level2(self) -> str | None:
        """Level-2 unit, the third segment (2 characters); QCVN 102 only."""
        return self._segment(2)

    @property
    def level3(self) -> str | None:
        """Level-3 unit, the second segment (2 characters); QCVN 102 only."""
        return self._segment(1)

    @property
    def level4(self) -> str | None:
        """Level-4 unit, the first segment (3 characters); QCVN 102 only."""
        return self._segment(0)


def _first_outside(value: str, allowed: frozenset[str]) -> tuple[int, str] | None:
    return next(((i, c) for i, c in enumerate(value) if c not in allowed), None)


def _empty_segment(value: str) -> str:
    if value.startswith("."):
        return "it starts with '.'"
    if value.endswith("."):
        return "it ends with '.'"
    return f"it has an empty segment ('..' at position {value.index('..') + 1})"


def _qcvn102_problem(value: str) -> tuple[str, str] | None:
    """Why ``value`` is not a QCVN 102 code, as (rule, reason); None when it is one."""
    bad = _first_outside(value, _UPPER_CHARS)
    if bad is not None:
        return "organ.charset", f"character {bad[1]!r} at position {bad[0] + 1} is not allowed"
    if len(value) != _QCVN102_LENGTH:
        return "organ.length", f"it has {len(value)} characters, not 13"
    segments = value.split(".")
    if len(segments) != len(_QCVN102_SEGMENTS):
        return "organ.qcvn102.format", f"it has {len(segments)} dot-separated segments, not 4"
    for segment, (level, width) in zip(segments, _QCVN102_SEGMENTS, strict=True):
        if len(segment) != width:
            reason = f"level-{level} segment {segment!r} has {len(segment)} characters, not {width}"
            return "organ.qcvn102.format", reason
    level1 = segments[3]
    if not (level1[0].isalpha() and level1[1:].isdigit()):
        reason = f"level-1 segment {level1!r} is not an uppercase letter and two digits"
        return "organ.qcvn102.format", reason
    return None


def _lenient_form(value: str) -> OrganCodeForm | None:
    if len(value) > _MAX_LENIENT_LENGTH:
        return None
    if _QD20_RE.fullmatch(value):
        return OrganCodeForm.QD20
    if _SYSTEM_RE.fullmatch(value):
        return OrganCodeForm.SYSTEM
    return None


def _lenient_problem(value: str) -> tuple[str, str]:
    """Why ``value`` fits no lenient form, as (rule, reason); ``value`` is known to fit none."""
    system = value[0] in string.ascii_lowercase and not any(c.isupper() for c in value)
    bad = _first_outside(value, _LOWER_CHARS if system else _UPPER_CHARS)
    if bad is not None:
        hint = " (letters must be uppercase)" if bad[1].islower() else ""
        return (
            "organ.charset",
            f"character {bad[1]!r} at position {bad[0] + 1} is not allowed{hint}",
        )
    if len(value) > _MAX_LENIENT_LENGTH:
        return "organ.length", f"it has {len(value)} characters, more than 35"
    if system and "." not in value:
        return "organ.system.format", "a system id needs at least two dot-separated segments"
    return ("organ.system.format" if system else "organ.qd20.format"), _empty_segment(value)


def parse_organ_code(value: str, *, strict: bool = False) -> OrganCode:
    """Parse an organ identifier; ``strict`` accepts only the 13-character QCVN 102 form.

    Lenient mode strips surrounding whitespace and tries QCVN 102, then QĐ 20/2020, then the
    lowercase system-id form.
    """
    text = value if strict else value.strip()
    if not text.strip():
        shape = _QCVN102_SHAPE if strict else _LENIENT_SHAPE
        raise CodeError("organ.empty", value, f"an organ code is required; {shape}")
    if text != text.strip():
        message = "leading or trailing whitespace is not allowed in strict mode (lenient strips it)"
        raise CodeError("organ.whitespace", value, message)
    problem = _qcvn102_problem(text)
    if problem is None:
        return OrganCode(text, OrganCodeForm.QCVN102)
    rule, reason = problem
    form = _lenient_form(text)
    if strict:
        if form is OrganCodeForm.SYSTEM:
            reason = "QCVN 102 codes are uppercase"
        if form is not None:
            message = (
                f"it is a valid {_FORM_NAMES[form]} but not a QCVN 102 code ({reason}); strict "
                "mode accepts only the 13-character QCVN 102 form LLL.KK.JJ.XNN (000.00.00.G22)"
            )
            raise CodeError("organ.strict", value, message)
        raise CodeError(rule, value, f"{reason}; {_QCVN102_SHAPE}")
    if form is not None:
        return OrganCode(text, form)
    rule, reason = _lenient_problem(text)
    raise CodeError(rule, value, f"{reason}; {_LENIENT_SHAPE}")


def is_organ_code(value: str, *, strict: bool = False) -> bool:
    """True when :func:`parse_organ_code` accepts ``value``."""
    return _accepts(lambda: parse_organ_code(value, strict=strict))


# --- Procedure codes (mã thủ tục hành chính) -------------------------------------------------

# CSDL quốc gia về TTHC: a digit, a dot and six digits (1.005129, 2.002492); a local derivative
# appends '.' and the organ code of the adopting authority (3.000181.000.00.00.H22).
_PROCEDURE_RE = re.compile(r"([0-9]\.[0-9]{6})(?:\.(.+))?", re.DOTALL)
_PROCEDURE_SHAPE = (
    "a procedure code is a digit, a dot and six digits (e.g. 1.005129), optionally followed by "
    "'.' and an organ code for a local derivative (e.g. 3.000181.000.00.00.H22)"
)


@dataclass(frozen=True, slots=True)
class ProcedureCode:
    """A TTHC code: its national base and, for a local derivative, the organ suffix."""

    value: str
    base: str
    organ_suffix: str | None

    def __str__(self) -> str:
        return self.value


def parse_procedure_code(value: str) -> ProcedureCode:
    """Parse a TTHC code such as ``1.005129`` or ``3.000181.000.00.00.H22``."""
    if not value:
        raise CodeError("procedure.empty", value, f"a code is required; {_PROCEDURE_SHAPE}")
    match = _PROCEDURE_RE.fullmatch(value)
    if match is None:
        raise CodeError("procedure.format", value, f"it is malformed; {_PROCEDURE_SHAPE}")
    base, suffix = match.group(1), match.group(2)
    if suffix is not None:
        if suffix != suffix.strip():
            message = f"organ suffix {suffix!r} has surrounding whitespace; {_PROCEDURE_SHAPE}"
            raise CodeError("procedure.organ_suffix", value, message)
        try:
            parse_organ_code(suffix)
        except CodeError as exc:
            message = f"organ suffix is not an organ code: {exc}"
            raise CodeError("procedure.organ_suffix", value, message) from exc
    return ProcedureCode(value, base, suffix)


def is_procedure_code(value: str) -> bool:
    """True when :func:`parse_procedure_code` accepts ``value``."""
    return _accepts(lambda: parse_procedure_code(value))


# --- Dossier codes (mã hồ sơ) -----------------------------------------------------------------

# No authoritative text fixes the dossier code; iGate (MOHA) issues G09.20-20260609-0092637 and
# OpenCPS keeps the pattern configurable (dossierNoPattern), so the pattern is configurable here.
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDERS = ("unit", "date", "seq")
_DATE_FIELDS = {"Y": 4, "y": 2, "m": 2, "d": 2}  # strftime directive -> digit count
_DATE_TOKEN_RE = re.compile(r"%(.?)|([^%]+)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DossierCode:
    """A dossier code split into the issuing unit, the date and the sequence number."""

    value: str
    unit: str
    date: datetime.date
    sequence: int

    def __str__(self) -> str:
        return self.value


def _date_tokens(date_format: str) -> tuple[tuple[str, str], ...]:
    """Split a date format into (directive, "") fields and ("", text) literals."""
    tokens: list[tuple[str, str]] = []
    for directive, literal in _DATE_TOKEN_RE.findall(date_format):
        if literal or directive == "%":
            tokens.append(("", literal or "%"))
        elif directive in _DATE_FIELDS:
            tokens.append((directive, ""))
        else:
            message = f"unsupported directive '%{directive}'; use %Y or %y, %m, %d and literals"
            raise CodeError("dossier.pattern", date_format, message)
    if sorted(field.lower() for field, _ in tokens if field) != ["d", "m", "y"]:
        message = "the date format needs exactly one year (%Y or %y), one %m and one %d"
        raise CodeError("dossier.pattern", date_format, message)
    return tuple(tokens)


class DossierCodePattern:
    """A dossier-code layout: a template of ``{unit}``, ``{date}`` and ``{seq}`` with literals.

    ``%y`` years are read as 2000-2099. The unit is the only part of variable width, so a
    code splits in exactly one way whatever the separators.
    """

    __slots__ = ("_date", "_regex", "date_format", "example", "seq_width", "template")

    def __init__(
        self,
        template: str = "{unit}-{date}-{seq}",
        *,
        date_format: str = "%Y%m%d",
        seq_width: int = 7,
    ) -> None:
        if seq_width < 1:
            raise CodeError("dossier.pattern", str(seq_width), "seq_width must be at least 1")
        self.template = template
        self.date_format = date_format
        self.seq_width = seq_width
        self._date = _date_tokens(date_format)
        date_re = "".join(
            f"(?P<{f}>[0-9]{{{_DATE_FIELDS[f]}}})" if f else re.escape(text)
            for f, text in self._date
        )
        groups = {
            "unit": r"(?P<unit>[0-9A-Za-z.]+?)",
            "date": f"(?P<date>{date_re})",
            "seq": f"(?P<seq>[0-9]{{{seq_width}}})",
        }
        parts = _PLACEHOLDER_RE.split(template)  # literal, name, literal, ..., literal
        if sorted(parts[1::2]) != sorted(_PLACEHOLDERS) or any(
            c in "{}" for literal in parts[::2] for c in literal
        ):
            message = "it needs {unit}, {date} and {seq} exactly once each and no other braces"
            raise CodeError("dossier.pattern", template, message)
        self._regex = re.compile(
            "".join(groups[p] if i % 2 else re.escape(p) for i, p in enumerate(parts))
        )
        self.example = self.format("000.00.00.H49", datetime.date(2026, 6, 9), 1)

    def __repr__(self) -> str:
        return (
            f"DossierCodePattern({self.template!r}, date_format={self.date_format!r}, "
            f"seq_width={self.seq_width})"
        )

    def _shape(self) -> str:
        return (
            f"expected {self.template} with the date as {self.date_format} and a "
            f"{self.seq_width}-digit sequence, e.g. {self.example}"
        )

    def _render_date(self, value: datetime.date) -> str:
        if any(f == "y" for f, _ in self._date) and not 2000 <= value.year <= 2099:
            message = f"a two-digit year (%y) covers 2000-2099 only; {self.date_format!r}"
            raise CodeError("dossier.date", value.isoformat(), message)
        numbers = {"Y": value.year, "y": value.year % 100, "m": value.month, "d": value.day}
        return "".join(f"{numbers[f]:0{_DATE_FIELDS[f]}d}" if f else text for f, text in self._date)

    def format(self, unit: str, date: datetime.date, sequence: int) -> str:
        """Build the code for ``unit`` (an organ code), ``date`` and ``sequence`` (from 1)."""
        if unit != unit.strip() or not is_organ_code(unit):
            message = f"the unit must be an organ code, no surrounding spaces; {_LENIENT_SHAPE}"
            raise CodeError("dossier.unit", unit, message)
        if not 1 <= sequence < 10**self.seq_width:
            message = f"the sequence runs from 1 to {10**self.seq_width - 1}"
            raise CodeError("dossier.sequence", str(sequence), message)
        seq = f"{sequence:0{self.seq_width}d}"
        return self.template.format(unit=unit, date=self._render_date(date), seq=seq)

    def parse(self, value: str) -> DossierCode:
        """Split a dossier code; the date must be a real day and the unit an organ code."""
        if not value:
            raise CodeError("dossier.empty", value, f"a dossier code is required; {self._shape()}")
        match = self._regex.fullmatch(value)
        if match is None:
            raise CodeError("dossier.format", value, f"it does not fit; {self._shape()}")
        parts = match.groupdict()
        year = int(parts["Y"]) if "Y" in parts else 2000 + int(parts["y"])
        try:
            day = datetime.date(year, int(parts["m"]), int(parts["d"]))
        except ValueError as exc:
            message = f"{parts['date']!r} is not a calendar date in format {self.date_format!r}"
            raise CodeError("dossier.date", value, message) from exc
        sequence = int(parts["seq"])
        if sequence < 1:
            raise CodeError("dossier.sequence", value, "the sequence starts at 1; it is all zeros")
        try:
            parse_organ_code(parts["unit"])
        except CodeError as exc:
            raise CodeError("dossier.unit", value, f"the unit is not an organ code: {exc}") from exc
        return DossierCode(value, parts["unit"], day, sequence)

    def is_valid(self, value: str) -> bool:
        """True when :meth:`parse` accepts ``value``."""
        return _accepts(lambda: self.parse(value))


DEFAULT_DOSSIER_PATTERN = DossierCodePattern()


def parse_dossier_code(
    value: str, pattern: DossierCodePattern = DEFAULT_DOSSIER_PATTERN
) -> DossierCode:
    """Parse a dossier code with ``pattern`` (default ``{unit}-{date}-{seq}``, %Y%m%d, 7 digits)."""
    return pattern.parse(value)


def is_dossier_code(value: str, pattern: DossierCodePattern = DEFAULT_DOSSIER_PATTERN) -> bool:
    """True when ``pattern`` parses ``value``."""
    return pattern.is_valid(value)


# --- Administrative-unit codes (mã đơn vị hành chính) ----------------------------------------


class AdminUnitLevel(enum.StrEnum):
    """Tier of an administrative unit."""

    PROVINCE = "province"
    DISTRICT = "district"  # abolished by NQ 202/2025/QH15 (01/07/2025); older data carries it
    COMMUNE = "commune"


# QĐ 124/2004/QĐ-TTg widths: province 2 digits (01 Hà Nội), district 3 (001 Ba Đình), commune 5
# (00001 Phúc Xá). After NQ 202/2025/QH15 the 34 provinces still carry 2-digit codes.
_ADMIN_WIDTHS = {AdminUnitLevel.PROVINCE: 2, AdminUnitLevel.DISTRICT: 3, AdminUnitLevel.COMMUNE: 5}
_LEVEL_BY_WIDTH = {width: level for level, width in _ADMIN_WIDTHS.items()}
_ADMIN_SHAPE = "province codes have 2 digits (01), district codes 3 (001), commune codes 5 (00001)"


@dataclass(frozen=True, slots=True)
class AdminUnitCode:
    """An administrative-unit code and its tier."""

    value: str
    level: AdminUnitLevel

    def __str__(self) -> str:
        return self.value


def _admin_digits(value: str, original: str) -> None:
    if not value:
        raise CodeError("admin_unit.empty", original, f"a unit code is required; {_ADMIN_SHAPE}")
    bad = _first_outside(value, frozenset(string.digits))
    if bad is not None:
        message = f"character {bad[1]!r} at position {bad[0] + 1} is not a digit; {_ADMIN_SHAPE}"
        raise CodeError("admin_unit.charset", original, message)


def parse_admin_unit_code(value: str, level: AdminUnitLevel | None = None) -> AdminUnitCode:
    """Parse a zero-padded unit code; the level is inferred from the width when not given."""
    _admin_digits(value, value)
    inferred = _LEVEL_BY_WIDTH.get(len(value))
    if level is None or len(value) != _ADMIN_WIDTHS[level]:
        if inferred is None:
            message = (
                f"it is {len(value)} digits long; {_ADMIN_SHAPE} (for codes stored as integers, "
                f"such as 8, use normalize_admin_unit_code)"
            )
            raise CodeError("admin_unit.length", value, message)
        if level is not None:
            message = (
                f"it is {len(value)} digits long, the width of a {inferred} code; a {level} "
                f"code has {_ADMIN_WIDTHS[level]}"
            )
            raise CodeError("admin_unit.level", value, message)
        level = inferred
    return AdminUnitCode(value, level)


def is_admin_unit_code(value: str, level: AdminUnitLevel | None = None) -> bool:
    """True when :func:`parse_admin_unit_code` accepts ``value``."""
    return _accepts(lambda: parse_admin_unit_code(value, level))


def normalize_admin_unit_code(value: str | int, level: AdminUnitLevel) -> str:
    """Zero-pad a code stored as an integer (``8`` -> ``08``) to the width of ``level``."""
    if isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise CodeError("admin_unit.charset", str(value), "a unit code is a non-negative number")
    text = str(value).strip()
    _admin_digits(text, str(value))
    width = _ADMIN_WIDTHS[level]
    if len(text) > width:
        message = f"it is {len(text)} digits long, more than the {width} of a {level} code"
        raise CodeError("admin_unit.length", str(value), message)
    return text.zfill(width)
