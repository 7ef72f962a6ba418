"""Per-target wire codecs: how a dossier model becomes the JSON a given API expects.

Models are written once, with typed values (``datetime``, :class:`ApplicantKind`, ``int``)
marked by what they are on the wire (:mod:`lgsp.dossiers._fields`). For each (model, target)
pair a *wire class* is derived once, with the same fields, whose serialisers write the target's
forms (``yyyyMMddHHmmss``, ``"2"``, ``"True"``…), and cached. Serialising runs that class's
pydantic-core serializer over the model instance: everything but the dates and the applicant
kind is written natively, so writing a payload costs about what plain pydantic costs. The wire
classes also give the per-target JSON Schemas.

Reading needs no wire class: dates are read in any known form, and the one target-dependent
value, LoaiDoiTuong, is mapped through the target passed in the validation context.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin

import pydantic
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticSerializationError, SchemaSerializer

from lgsp.dossiers._fields import DateValueError, Marker, marker_of
from lgsp.dossiers.formats import Target, resolve_target
from lgsp.errors import DossierError, ValidationError
from lgsp.findings import Finding

__all__ = [
    "FieldSpec",
    "WireModel",
    "context_for",
    "field_specs",
    "findings_from_pydantic",
    "join_path",
    "wire_model",
]


# --- the base model -------------------------------------------------------------------------


_CONTEXTS: dict[Target | str, dict[str, Any]] = {}


def context_for(target: Target | str) -> dict[str, Any]:
    """The validation context that reads a payload as ``target`` writes it."""
    context = _CONTEXTS.get(target)
    if context is None:
        context = _CONTEXTS[target] = {"target": resolve_target(target)}
    return context


class WireModel(BaseModel):
    """A dossier payload model: English names, wire names as aliases, unknown fields kept.

    ``REQUIRED`` lists the fields no receiver can do without (rule ``dossier.required``),
    ``RECOMMENDED`` those the contract asks for (rule ``dossier.recommended``); both are also
    the ``required`` list of the generated JSON Schemas.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        extra="allow",  # what the portal adds is kept and written back
        coerce_numbers_to_str=True,  # ids and names sent as numbers are read as text
    )

    REQUIRED: ClassVar[tuple[str, ...]] = ()
    RECOMMENDED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_wire(
        cls, data: bytes | str | Mapping[str, Any], *, target: Target | str = "classic"
    ) -> Self:
        """Read a payload as ``target`` writes it (JSON text or parsed JSON).

        Raises :class:`~lgsp.errors.ValidationError` (rules ``dossier.type``, ``dossier.date``,
        ``dossier.json``) when a value cannot be read at all.
        """
        context = context_for(target)
        validator = cls.__pydantic_validator__  # the model_validate* wrappers cost ~0.5 µs
        try:
            if isinstance(data, str | bytes | bytearray):
                return validator.validate_json(data, context=context)  # type: ignore[no-any-return]
            return validator.validate_python(data, context=context)  # type: ignore[no-any-return]
        except pydantic.ValidationError as exc:
            raise ValidationError(findings_from_pydantic(exc), source=cls.__name__) from exc

    def to_wire(self, target: Target | str = "classic") -> dict[str, Any]:
        """The payload as ``target`` writes it, as JSON-ready Python data (absent fields left
        out, unknown fields kept)."""
        serializer = _serializer(type(self), target)
        try:
            data: dict[str, Any] = serializer.to_python(
                self, mode="json", by_alias=True, exclude_none=True
            )
        except PydanticSerializationError as exc:
            raise _write_error(exc, target) from exc
        return data

    def to_wire_json(self, target: Target | str = "classic") -> bytes:
        """The payload as ``target`` writes it, as UTF-8 JSON."""
        serializer = _serializer(type(self), target)
        try:
            return serializer.to_json(self, by_alias=True, exclude_none=True)
        except PydanticSerializationError as exc:
            raise _write_error(exc, target) from exc


def _write_error(exc: PydanticSerializationError, target: Target | str) -> DossierError:
    # pydantic-core wraps what a serializer function raised; keep its message, not the wrapper.
    message = str(exc)
    marker = "DossierError: "
    if marker in message:
        message = message.split(marker, 1)[1]
    name = target if isinstance(target, str) else target.name
    return DossierError(f"cannot write for the {name} target: {message}", rule="dossier.write")


# --- deriving the wire classes --------------------------------------------------------------

_LOCK = threading.RLock()  # re-entered: deriving a class derives its nested ones
_WIRE: dict[tuple[type[WireModel], Target], type[BaseModel]] = {}


def wire_model(model: type[WireModel], target: Target) -> type[BaseModel]:
    """The wire class of ``model`` for ``target`` (derived once, then cached)."""
    key = (model, target)
    found = _WIRE.get(key)
    if found is None:
        with _LOCK:
            found = _WIRE.get(key)
            if found is None:
                found = _derive(model, target)
                _WIRE[key] = found
    return found


_SERIALIZERS: dict[tuple[type[WireModel], Target | str], SchemaSerializer] = {}


def _serializer(model: type[WireModel], target: Target | str) -> SchemaSerializer:
    # Keyed by what the caller passed ("classic" or a Target): one dict lookup per call.
    key = (model, target)
    found = _SERIALIZERS.get(key)
    if found is None:
        found = _SERIALIZERS[key] = wire_model(
            model, resolve_target(target)
        ).__pydantic_serializer__
    return found


def _wire_type(annotation: Any, target: Target) -> Any:  # noqa: PLR0911 - one per type form
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        for item in metadata:
            if isinstance(item, Marker):
                return item.wire(target)
        return _wire_type(base, target)
    if origin is Union or origin is types.UnionType:
        # Absent values are left out of the wire, never written as null: drop None.
        members = [_wire_type(a, target) for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
        return Union[tuple(members)]  # noqa: UP007 - built at run time
    if origin is list:
        (item,) = get_args(annotation)
        return list[_wire_type(item, target)]  # type: ignore[misc]
    if isinstance(annotation, type) and issubclass(annotation, WireModel):
        return wire_model(annotation, target)
    return annotation


def _field_marker(info: FieldInfo) -> Marker | None:
    # pydantic moves the metadata of a bare Annotated[T, marker] to the field; in an
    # Optional it stays in the annotation.
    found = next((m for m in info.metadata if isinstance(m, Marker)), None)
    return found or marker_of(info.annotation)


def _derive(model: type[WireModel], target: Target) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        marker = _field_marker(info)
        wire_type = marker.wire(target) if marker else _wire_type(info.annotation, target)
        note = marker.describe(target) if marker else None
        description = (
            f"{info.description}. {note}" if info.description and note else info.description
        )
        alias = info.serialization_alias or info.alias or name
        fields[name] = (wire_type, Field(alias=alias, description=description or note))
    required = [
        model.model_fields[n].serialization_alias or model.model_fields[n].alias or n
        for n in (*model.REQUIRED, *model.RECOMMENDED)
    ]

    def schema_extra(schema: dict[str, Any]) -> None:
        schema["required"] = required  # the strict profile's, not pydantic's idea of it
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)  # "Mahoso": pydantic's title-cased alias says nothing

    return pydantic.create_model(
        model.__name__,
        __config__=ConfigDict(
            extra="allow",
            title=model.__name__,
            json_schema_extra=schema_extra,
        ),
        __doc__=model.__doc__,
        __module__=f"lgsp.dossiers.wire.{target.name}",
        **fields,
    )


# --- what each field is, for the rules over raw JSON -----------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field as the rules see it: Python name, wire name, marker, nested model."""

    name: str
    alias: str
    marker: Marker | None
    nested: type[WireModel] | None
    many: bool


def _nested(annotation: Any) -> tuple[type[WireModel] | None, bool]:
    origin = get_origin(annotation)
    if origin is list:
        inner, _ = _nested(get_args(annotation)[0])
        return inner, True
    if origin is Union or origin is types.UnionType:
        for member in get_args(annotation):
            found, many = _nested(member)
            if found is not None:
                return found, many
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, WireModel):
        return annotation, False
    return None, False


_SPECS: dict[type[WireModel], dict[str, FieldSpec]] = {}


def field_specs(model: type[WireModel]) -> dict[str, FieldSpec]:
    """The fields of ``model`` by wire name (the names it reads included, e.g. ``IdHoSo``)."""
    found = _SPECS.get(model)
    if found is None:
        found = {}
        for name, info in model.model_fields.items():
            nested, many = _nested(info.annotation)
            alias = info.serialization_alias or info.alias or name
            spec = FieldSpec(name, alias, _field_marker(info), nested, many)
            found[alias] = spec
            choices = info.validation_alias
            if isinstance(choices, AliasChoices):
                for choice in choices.choices:
                    if isinstance(choice, str) and choice != name:
                        found.setdefault(choice, spec)
        _SPECS[model] = found
    return found


# --- errors ---------------------------------------------------------------------------------


def join_path(path: str, name: str) -> str:
    """``data[0]`` + ``MaHoSo`` -> ``data[0].MaHoSo``: the locations of findings."""
    return f"{path}.{name}" if path else name


def _path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else join_path(out, part)
    return out or "(payload)"


def findings_from_pydantic(exc: pydantic.ValidationError, *, prefix: str = "") -> list[Finding]:
    """One finding per value pydantic could not read; ``prefix`` is the payload's path."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(
            p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")
        )
        context = err.get("ctx") or {}
        if err["type"] == "json_invalid":
            rule = "dossier.json"
        elif isinstance(context.get("error"), DateValueError):
            rule = "dossier.date"
        else:
            rule = "dossier.type"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] not in {"json_invalid", "value_error"} and "input" in err:
            shown = repr(err["input"])
            message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        out.append(
            Finding(rule=rule, severity="error", location=_path(loc, prefix), message=message)
        )
    return out
