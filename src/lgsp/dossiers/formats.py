"""Targets: how dates, applicant kinds and scalars are written for each dossier API.

Models hold ``datetime`` values, an :class:`ApplicantKind` and plain numbers; the *target*
decides their wire form, never the caller (vn-contracts §4.1, §4.3):

=================  ===========================  =========================================
what               ``classic`` (DVCQG adapter)  ``token`` (token-based ministry API)
=================  ===========================  =========================================
processing events  ``yyyyMMddHHmmss``           ISO 8601, ``2026-06-09T08:30:15+07:00``
dossier dates      ``yyyyMMddHHmmss``           ``yyyy-MM-dd HH:mm:ss``
civil dates        ``yyyyMMddHHmmss``           ``yyyyMMddHHmmss``
LoaiDoiTuong       1 công dân, 2 doanh nghiệp   0 công dân, 1 doanh nghiệp, 2 hộ kinh doanh
numbers and flags  text (``"2"``, ``"False"``)  JSON numbers and booleans
=================  ===========================  =========================================

Every time is Vietnam time (Asia/Ho_Chi_Minh, UTC+7, no daylight saving). Reading is tolerant:
any of the three date forms is accepted whatever the target, and validation says when a form is
not the target's (rule ``dossier.date_format``).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lgsp.documents.models import VIETNAM_TZ
from lgsp.errors import DossierError

__all__ = [
    "CLASSIC",
    "TARGETS",
    "TOKEN",
    "VIETNAM_TZ",
    "ApplicantKind",
    "DateFormat",
    "DateRole",
    "Target",
    "parse_civil_date",
    "parse_datetime",
    "resolve_target",
]


class DateRole(enum.StrEnum):
    """What a date field records; a target picks a format per role."""

    EVENT = "event"  # a processing step: ThoiDiemXuLy, NgayBatDau, NgayKetThucTheoQuyDinh
    RECORD = "record"  # a dossier milestone: NgayNop, NgayTiepNhan, NgayHenTra, NgayTra
    CIVIL = "civil"  # a date of a person's papers, no time of day: NgaySinh, NgayCapDinhDanh


class ApplicantKind(enum.StrEnum):
    """Who the dossier is for (LoaiDoiTuong); its number depends on the target."""

    CITIZEN = "citizen"  # công dân
    BUSINESS = "business"  # doanh nghiệp
    HOUSEHOLD_BUSINESS = "household_business"  # hộ kinh doanh (token API only)

    @property
    def label(self) -> str:
        """The Vietnamese name."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ApplicantKind.CITIZEN: "công dân",
    ApplicantKind.BUSINESS: "doanh nghiệp",
    ApplicantKind.HOUSEHOLD_BUSINESS: "hộ kinh doanh",
}


def _vietnam(value: dt.datetime) -> dt.datetime:
    """``value`` in Vietnam time; a naive value is taken to be Vietnam time already."""
    tz = value.tzinfo
    # Values read from the wire carry a fixed +07:00 zone: equal to VIETNAM_TZ, not it.
    if tz is VIETNAM_TZ or tz is None or tz == VIETNAM_TZ:
        return value
    return value.astimezone(VIETNAM_TZ)


# The writers are on the hot path of every serialisation, called once per date by
# pydantic-core: the zone test is inlined, and integer arithmetic and %-formatting measure
# several times faster than strftime, isoformat or f-strings with format specs.
def _compact(v: dt.datetime) -> str:
    tz = v.tzinfo
    if tz is not VIETNAM_TZ and tz is not None and tz != VIETNAM_TZ:
        v = v.astimezone(VIETNAM_TZ)
    year = v.year
    if year >= 1000:  # small products first: multi-digit integers are slower
        day = year * 10_000 + v.month * 100 + v.day
        return str(day * 1_000_000 + v.hour * 10_000 + v.minute * 100 + v.second)
    return "%04d%02d%02d%02d%02d%02d" % (year, v.month, v.day, v.hour, v.minute, v.second)  # noqa: UP031


def _spaced(v: dt.datetime) -> str:
    tz = v.tzinfo
    if tz is not VIETNAM_TZ and tz is not None and tz != VIETNAM_TZ:
        v = v.astimezone(VIETNAM_TZ)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (v.year, v.month, v.day, v.hour, v.minute, v.second)  # noqa: UP031


def _iso(v: dt.datetime) -> str:
    tz = v.tzinfo
    if tz is not VIETNAM_TZ and tz is not None and tz != VIETNAM_TZ:
        v = v.astimezone(VIETNAM_TZ)
    return "%04d-%02d-%02dT%02d:%02d:%02d+07:00" % (  # noqa: UP031
        v.year,
        v.month,
        v.day,
        v.hour,
        v.minute,
        v.second,
    )


class DateFormat(enum.StrEnum):
    """A wire form of a date and time; the value is the pattern as the sources write it."""

    COMPACT = "yyyyMMddHHmmss"
    SPACED = "yyyy-MM-dd HH:mm:ss"
    ISO = "yyyy-MM-ddTHH:mm:ss+07:00"

    def write(self, value: dt.datetime) -> str:
        """``value`` (Vietnam time; a naive value is taken as such) in this form."""
        return _FORMATTERS[self](value)

    @property
    def writer(self) -> Callable[[dt.datetime], str]:
        """The function behind :meth:`write` (one call less, for serialisers)."""
        return _FORMATTERS[self]

    def write_date(self, value: dt.date) -> str:
        """A calendar date in this form: midnight, or the date alone for ISO 8601."""
        if self is DateFormat.ISO:
            return value.isoformat()
        return self.write(dt.datetime(value.year, value.month, value.day, tzinfo=VIETNAM_TZ))

    def matches(self, text: str, *, date_only: bool = False) -> bool:
        """True when ``text`` is written in this form (``date_only``: a civil date)."""
        regex = _DATE_ONLY_PATTERNS[self] if date_only else _PATTERNS[self]
        return regex.fullmatch(text) is not None

    def json_schema(self, *, date_only: bool = False) -> dict[str, Any]:
        """The JSON Schema of a string in this form."""
        regex = _DATE_ONLY_PATTERNS[self] if date_only else _PATTERNS[self]
        return {"type": "string", "pattern": f"^{regex.pattern}$"}

    def describe(self, *, date_only: bool = False) -> str:
        """``yyyyMMddHHmmss, Vietnam time, e.g. 20260609083015``."""
        example = (
            self.write_date(dt.date(2026, 6, 9))
            if date_only
            else self.write(dt.datetime(2026, 6, 9, 8, 30, 15, tzinfo=VIETNAM_TZ))
        )
        return f"{self.value}, Vietnam time, e.g. {example}"


_FORMATTERS = {DateFormat.COMPACT: _compact, DateFormat.SPACED: _spaced, DateFormat.ISO: _iso}
_DAY = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_COMPACT_DAY = r"[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
_PATTERNS = {
    DateFormat.COMPACT: re.compile(_COMPACT_DAY + r"([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"),
    DateFormat.SPACED: re.compile(f"{_DAY} {_TIME}"),
    DateFormat.ISO: re.compile(f"{_DAY}T{_TIME}" + r"(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"),
}
_DATE_ONLY_PATTERNS = {
    DateFormat.COMPACT: re.compile(_COMPACT_DAY + "000000"),
    DateFormat.SPACED: re.compile(f"{_DAY} 00:00:00"),
    DateFormat.ISO: re.compile(_DAY),
}


# --- reading (tolerant, the same for every target) -----------------------------------------


def _read_text(text: str) -> dt.datetime:
    n = len(text)
    if n == 14 and text.isdigit():  # yyyyMMddHHmmss, the classic form: the hot path
        value = dt.datetime.fromisoformat(text[:8] + "T" + text[8:])
    elif n == 8 and text.isdigit():  # yyyyMMdd, a date alone
        value = dt.datetime.fromisoformat(text)
    else:
        # yyyy-MM-dd HH:mm:ss, ISO 8601 with or without an offset or fractions; Python 3.11
        # reads them all. A trailing Z is UTC.
        value = dt.datetime.fromisoformat(text.strip())
    return value


def parse_datetime(value: Any) -> dt.datetime | None:
    """A wire date in any known form as an aware datetime in Vietnam time, to the second.

    ``None`` and ``""`` (the classic adapter's "no date") give ``None``; a naive value is taken
    to be Vietnam time; ValueError for anything else.
    """
    if type(value) is str:
        if not value:
            return None
        try:
            result = _read_text(value)
        except ValueError as exc:
            reason = str(exc)
            raise ValueError(
                f"{value!r} is not a date in a known form (yyyyMMddHHmmss, "
                f"yyyy-MM-dd HH:mm:ss or ISO 8601): {reason}"
            ) from None
    elif isinstance(value, dt.datetime):
        result = value
    elif value is None:
        return None
    elif isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 14:
        return parse_datetime(str(value))  # the compact form sent as a JSON number
    else:
        raise ValueError(f"{value!r} is not a date (expected text such as 20260609083015)")
    if result.tzinfo is None:
        result = result.replace(tzinfo=VIETNAM_TZ)
    elif result.tzinfo is not VIETNAM_TZ and result.tzinfo != VIETNAM_TZ:
        result = result.astimezone(VIETNAM_TZ)
    if result.microsecond:
        # Every target writes whole seconds: keeping fractions would break round trips.
        result = result.replace(microsecond=0)
    return result


def parse_civil_date(value: Any) -> dt.date | None:
    """A date of a person's papers (birth, issue of an identity number); the time is dropped."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if type(value) is str and len(value) == 10 and value[4] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass  # reported below with the common message
    moment = parse_datetime(value)
    return None if moment is None else moment.date()


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Target:
    """How one API writes dossier payloads. Build your own for another portal's conventions.

    ``dates`` maps each :class:`DateRole` to a :class:`DateFormat`; ``applicant_codes`` maps
    each applicant kind the API knows to its LoaiDoiTuong number; ``text_scalars`` writes
    numbers and flags as JSON strings (``"2"``, ``"True"``), as the classic adapter's clients do.
    """

    name: str
    dates: Mapping[DateRole, DateFormat]
    applicant_codes: Mapping[ApplicantKind, int]
    text_scalars: bool
    description: str = ""
    applicant_kinds: Mapping[int, ApplicantKind] = field(init=False, repr=False)
    applicant_reader: Mapping[Any, ApplicantKind] = field(init=False, repr=False)
    """LoaiDoiTuong as read: the code as a number or text, or the kind itself."""

    def __post_init__(self) -> None:
        missing = [role.value for role in DateRole if role not in self.dates]
        if missing:
            message = f"target {self.name!r} has no date format for {', '.join(missing)}"
            raise DossierError(message, rule="dossier.target")
        by_code = {code: kind for kind, code in self.applicant_codes.items()}
        if len(by_code) != len(self.applicant_codes):
            message = f"target {self.name!r} gives two applicant kinds one code"
            raise DossierError(message, rule="dossier.target")
        object.__setattr__(self, "dates", MappingProxyType(dict(self.dates)))
        object.__setattr__(self, "applicant_codes", MappingProxyType(dict(self.applicant_codes)))
        object.__setattr__(self, "applicant_kinds", MappingProxyType(by_code))
        reader: dict[Any, ApplicantKind] = {kind: kind for kind in ApplicantKind}
        reader.update({kind.value: kind for kind in ApplicantKind})
        reader.update(by_code)
        reader.update({str(code): kind for code, kind in by_code.items()})
        object.__setattr__(self, "applicant_reader", reader)

    def __repr__(self) -> str:
        return f"Target({self.name!r})"

    def date_format(self, role: DateRole) -> DateFormat:
        """The form this target writes dates of ``role`` in."""
        return self.dates[role]

    def applicant_code(self, kind: ApplicantKind) -> int:
        """LoaiDoiTuong for ``kind``; DossierError when this target has no code for it."""
        try:
            return self.applicant_codes[kind]
        except KeyError:
            raise DossierError(
                f"the {self.name} target has no LoaiDoiTuong for {kind.label} ({kind.value}); "
                f"it knows {self.describe_codes()}",
                rule="dossier.applicant_kind",
            ) from None

    def describe_codes(self) -> str:
        """``1 công dân, 2 doanh nghiệp``: this target's LoaiDoiTuong codes."""
        pairs = sorted(self.applicant_codes.items(), key=lambda pair: pair[1])
        return ", ".join(f"{code} {kind.label}" for kind, code in pairs)

    def applicant_kind(self, code: int) -> ApplicantKind | None:
        """The applicant kind of LoaiDoiTuong ``code`` under this target (None when unknown)."""
        return self.applicant_kinds.get(code)


CLASSIC = Target(
    "classic",
    dates=dict.fromkeys(DateRole, DateFormat.COMPACT),
    # OpenCPS DVCQGIntegrationActionImpl: 1 unless the applicant is a business, then 2.
    applicant_codes={ApplicantKind.CITIZEN: 1, ApplicantKind.BUSINESS: 2},
    # OpenCPS and the Hà Giang client send every value as a string ("LoaiDoiTuong": "1").
    text_scalars=True,
    description="DVCQG adapter (DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo), vn-contracts §4.1",
)
TOKEN = Target(
    "token",
    dates={
        DateRole.EVENT: DateFormat.ISO,  # ThoiDiemXuLy (ISO-8601)
        DateRole.RECORD: DateFormat.SPACED,  # NgayNop/NgayTiepNhan ("yyyy-MM-dd HH:mm:ss")
        DateRole.CIVIL: DateFormat.COMPACT,  # NgayCapDinhDanh/NgaySinh (yyyyMMddHHmmss)
    },
    applicant_codes={
        ApplicantKind.CITIZEN: 0,
        ApplicantKind.BUSINESS: 1,
        ApplicantKind.HOUSEHOLD_BUSINESS: 2,
    },
    text_scalars=False,  # TrangThai (int)
    description="token-based ministry DVC API (iGate), vn-contracts §4.3",
)
TARGETS: Mapping[str, Target] = MappingProxyType({"classic": CLASSIC, "token": TOKEN})
"""The built-in targets by name."""


def resolve_target(target: Target | str) -> Target:
    """The :class:`Target` named ``target`` (a Target is returned as it is)."""
    if isinstance(target, Target):
        return target
    try:
        return TARGETS[target]
    except KeyError:
        message = f"unknown target {target!r}; the targets are {', '.join(TARGETS)}"
        raise DossierError(message, rule="dossier.target") from None
