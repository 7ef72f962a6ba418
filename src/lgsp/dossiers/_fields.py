"""The field types of the dossier models, and how each is read and written per target.

A model field is marked by what it is on the wire — a date of some :class:`DateRole`, a number
or flag, an applicant kind — and the marker says how to read it (any known form, whatever the
target) and, through :meth:`wire`, how a given target writes it. Everything here is on the hot
path of reading and writing: the readers try the targets' own forms first, and the writers are
plain functions or a dict's own ``__getitem__``, called by pydantic-core once per value.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from lgsp.dossiers.formats import (
    ApplicantKind,
    DateFormat,
    DateRole,
    Target,
    parse_civil_date,
    parse_datetime,
)

__all__ = [
    "Applicant",
    "ApplicantKindField",
    "CivilDate",
    "DateField",
    "DateValueError",
    "EventTime",
    "Flag",
    "Marker",
    "Number",
    "RecordTime",
    "Scalar",
    "marker_of",
]


class DateValueError(ValueError):
    """A date that cannot be read (tells ``dossier.date`` apart from other type errors)."""


_fromisoformat = dt.datetime.fromisoformat


def _read_datetime(value: Any) -> Any:
    if type(value) is str:
        # The targets' own forms, on the hot path: fromisoformat reads them with the offset
        # added, in C, several times faster than replace(tzinfo=...) or int() slicing. What it
        # refuses goes the long way, for the message.
        n = len(value)
        try:
            if n == 14 and value.isdigit():  # yyyyMMddHHmmss
                return _fromisoformat(f"{value[:8]}T{value[8:]}+07:00")
            if n == 19 and value[10] == " ":  # yyyy-MM-dd HH:mm:ss
                return _fromisoformat(value + "+07:00")
            if n == 25 and value[10] == "T" and value.endswith("+07:00"):  # ISO 8601
                return _fromisoformat(value)
        except ValueError:
            pass
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise DateValueError(str(exc)) from None


def _read_civil(value: Any) -> Any:
    try:
        return parse_civil_date(value)
    except ValueError as exc:
        raise DateValueError(str(exc)) from None


def _neutral_datetime(value: Any) -> str:
    return DateFormat.ISO.write(value)


def _neutral_date(value: Any) -> str:
    return str(value.isoformat())


# --- markers on the models' fields --------------------------------------------------------


class DateField:
    """Marks a date field and the role that picks its wire form."""

    __slots__ = ("date_only", "role")

    def __init__(self, role: DateRole, *, date_only: bool = False) -> None:
        self.role = role
        self.date_only = date_only

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # A plain validator: the reader returns the value, nothing is validated twice. Without a
        # target (model_dump in JSON mode) dates are written in ISO 8601.
        return core_schema.no_info_plain_validator_function(
            _read_civil if self.date_only else _read_datetime,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _neutral_date if self.date_only else _neutral_datetime, when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date" if self.date_only else "date-time"}

    def wire(self, target: Target) -> Any:
        return Annotated[Any, _WireDate(target.date_format(self.role), self.date_only)]

    def describe(self, target: Target) -> str:
        return target.date_format(self.role).describe(date_only=self.date_only)


class Scalar:
    """Marks a number or a flag: written as text (``"2"``, ``"True"``) for text-scalar targets.

    ``codes`` is an enumeration of known codes (DossierStatus): a known number is read as its
    member, an unknown one kept as a plain ``int`` for the rules to report; the JSON Schemas
    admit only the members.
    """

    __slots__ = ("codes", "json_type")

    def __init__(
        self, json_type: Literal["integer", "boolean"], codes: type[enum.IntEnum] | None = None
    ) -> None:
        self.json_type = json_type
        self.codes = codes

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if self.codes is None:
            return handler(source)
        # One plain validator, not a union: one clear error per bad value, and faster.
        return core_schema.no_info_plain_validator_function(_code_reader(self.codes))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if self.codes is None:
            return handler(schema)
        return {"type": "integer"}

    @property
    def values(self) -> tuple[int, ...] | None:
        return None if self.codes is None else tuple(int(m) for m in self.codes)

    def wire(self, target: Target) -> Any:
        return Annotated[Any, _WireScalar(self, text=target.text_scalars)]

    def describe(self, target: Target) -> str | None:
        if self.codes is None:
            return None
        return "; ".join(f"{int(m)} {getattr(m, 'label', m.name)}" for m in self.codes)


def _code_reader(codes: type[enum.IntEnum]) -> Callable[[Any], Any]:
    # A dict lookup first (2, "2" and the member itself): Enum's own lookup is slow.
    known: dict[Any, enum.IntEnum] = {}
    for member in codes:
        known[member.value] = member
        known[str(member.value)] = member

    def read(value: Any) -> Any:
        found = known.get(value)
        if found is not None and type(value) is not bool:
            return found
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)  # kept: the rules say it is unknown, a round trip keeps it
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return known.get(value.strip(), int(value))
        raise ValueError(f"{value!r} is not a {codes.__name__} code (a whole number)")

    return read


class ApplicantKindField:
    """Marks LoaiDoiTuong: read and written through the target's code table."""

    __slots__ = ()

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(_read_kind)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [
                {"type": "string", "enum": [k.value for k in ApplicantKind]},
                {"type": "integer", "description": "a code the target does not know"},
            ]
        }

    def wire(self, target: Target) -> Any:
        return Annotated[Any, _WireApplicantKind(target)]

    def describe(self, target: Target) -> str:
        return target.describe_codes()


def _read_kind(value: Any, info: core_schema.ValidationInfo) -> Any:
    context = info.context
    target = context.get("target") if isinstance(context, dict) else None
    if isinstance(target, Target):
        found = target.applicant_reader.get(value)
        if found is not None and type(value) is not bool:
            return found
    if isinstance(value, ApplicantKind):
        return value
    if isinstance(value, str) and value in ApplicantKind._value2member_map_:
        return ApplicantKind(value)  # the neutral form, model_dump(mode="json")
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # a code the target does not know, or no target: kept raw
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    known = ", ".join(k.value for k in ApplicantKind)
    raise ValueError(f"{value!r} is not an applicant kind ({known}) nor a LoaiDoiTuong code")


# --- markers on the derived wire classes -----------------------------------------------------


class _WireDate:
    __slots__ = ("date_only", "fmt")

    def __init__(self, fmt: DateFormat, date_only: bool) -> None:
        self.fmt = fmt
        self.date_only = date_only

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        write: Callable[[Any], str] = self.fmt.write_date if self.date_only else self.fmt.writer
        return core_schema.any_schema(
            serialization=core_schema.plain_serializer_function_ser_schema(write, when_used="json")
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return self.fmt.json_schema(date_only=self.date_only)


class _WireScalar:
    __slots__ = ("scalar", "text")

    def __init__(self, scalar: Scalar, *, text: bool) -> None:
        self.scalar = scalar
        self.text = text

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if not self.text:
            return core_schema.any_schema()
        # str() in pydantic-core, no Python frame: 2 -> "2", DossierStatus.RECEIVED -> "2",
        # False -> "False" (the classic clients' spelling, from C# and Java booleans).
        return core_schema.any_schema(serialization=core_schema.to_string_ser_schema())

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        scalar = self.scalar
        if scalar.json_type == "boolean":
            return (
                {"type": "string", "enum": ["True", "False"]} if self.text else {"type": "boolean"}
            )
        if scalar.values is not None:
            if self.text:
                return {"type": "string", "enum": [str(v) for v in scalar.values]}
            return {"type": "integer", "enum": list(scalar.values)}
        if self.text:
            return {"type": "string", "pattern": "^-?[0-9]+$"}
        return {"type": "integer"}


class _WireCodes(dict[Any, Any]):
    """LoaiDoiTuong as a target writes it, by kind."""

    def __init__(self, target: Target) -> None:
        text = target.text_scalars
        super().__init__({k: str(c) if text else c for k, c in target.applicant_codes.items()})
        self.target = target

    def __missing__(self, value: Any) -> Any:
        if isinstance(value, ApplicantKind):
            self.target.applicant_code(value)  # raises: the target has no code for it
        return str(value) if self.target.text_scalars else value  # a raw code, kept


class _WireApplicantKind:
    __slots__ = ("target",)

    def __init__(self, target: Target) -> None:
        self.target = target

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # A dict's own __getitem__ as the serializer: no Python frame for a known kind; the
        # class's __missing__ handles raw codes and kinds the target has no code for.
        codes = _WireCodes(self.target)
        return core_schema.any_schema(
            serialization=core_schema.plain_serializer_function_ser_schema(
                codes.__getitem__, when_used="json"
            )
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        codes = sorted(self.target.applicant_codes.values())
        if self.target.text_scalars:
            return {"type": "string", "enum": [str(c) for c in codes]}
        return {"type": "integer", "enum": codes}


# --- the field types the models use ---------------------------------------------------------

RecordTime = Annotated[dt.datetime, DateField(DateRole.RECORD)]
"""A dossier milestone (received, due, returned): a datetime in Vietnam time."""
EventTime = Annotated[dt.datetime, DateField(DateRole.EVENT)]
"""A processing step's time: a datetime in Vietnam time."""
CivilDate = Annotated[dt.date, DateField(DateRole.CIVIL, date_only=True)]
"""A date of a person's papers (birth, identity issue): a date."""
Applicant = Annotated[ApplicantKind | int, ApplicantKindField()]
"""LoaiDoiTuong: an :class:`ApplicantKind`, or the raw code when the target does not know it."""
Number = Annotated[int, Scalar("integer")]
"""An integer code or quantity."""
Flag = Annotated[bool, Scalar("boolean")]
"""A yes/no value."""


Marker = DateField | Scalar | ApplicantKindField
"""Any of the field markers."""


def marker_of(annotation: Any) -> Marker | None:
    """The marker of ``Annotated[T, marker]`` or ``Annotated[T, marker] | None``."""
    if get_origin(annotation) is Annotated:
        return next((m for m in get_args(annotation)[1:] if isinstance(m, Marker)), None)
    if get_origin(annotation) in (Union, types.UnionType):
        for member in get_args(annotation):
            found = marker_of(member)
            if found is not None:
                return found
    return None
