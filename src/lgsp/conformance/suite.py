"""The endpoint suite as data: cases read from TOML files shipped with lgsp.

A case file holds ``[[case]]`` tables. Each case has an ``id`` (dotted, unique), a ``title``,
the ``purpose`` it serves, the ``rules`` it proves, the deployment ``profiles`` it applies to
(``vxp``, ``gateway``, ``soap-hub``, ``portal`` — the classic DVCQG adapter — and
``portal-token``, the token-based ministry API), optional ``tags`` and ``needs`` (``peer``:
a second party's credentials) and its ``step`` list. A step names an action (``do``), the
party that acts (``party``: ``sender`` or ``receiver``), the action's parameters, what it
remembers (``save``) and what it expects (``expect``)::

    [[case]]
    id = "documents.send.valid"
    title = "A valid document package is accepted"
    purpose = "The platform takes a strictly valid, signed package and gives it a DocId."
    rules = ["vxp.sendEdoc"]
    profiles = ["vxp", "gateway", "soap-hub"]
    tags = ["smoke"]

      [[case.step]]
      do = "send"
      package = "document"
      save = "letter"
      expect = { accepted = true }

A ``matrix`` (``{ code = ["01", "02"] }``) makes one case per value: ``{code}`` is replaced
in the id, the title, the purpose and every string of the steps.

Selectors pick cases: a comma-separated list of id patterns (``documents.*``), ``tag:NAME``
and exclusions prefixed with ``!`` or ``-``.
"""

from __future__ import annotations

import fnmatch
import itertools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lgsp.conformance._names import PROFILES, ProfileName
from lgsp.errors import ConfigurationError

__all__ = [
    "PROFILES",
    "Case",
    "ProfileName",
    "Step",
    "builtin_cases",
    "load_cases",
    "select",
]

PartyName = Literal["sender", "receiver"]


class Step(BaseModel):
    """One action of a case. Parameters other than the named fields are the action's own."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    do: str
    party: PartyName = "sender"
    save: str | None = None
    expect: dict[str, Any] = Field(default_factory=dict)
    #: A note shown in the report beside the step.
    note: str | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The action's own parameters (everything but do, party, save, expect, note)."""
        return dict(self.model_extra or {})


class Case(BaseModel):
    """One declarative test case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    purpose: str
    rules: list[str] = Field(min_length=1)
    profiles: list[ProfileName] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    #: What the run must be given for the case to apply: ``peer`` (a second party).
    needs: list[Literal["peer"]] = Field(default_factory=list)
    steps: list[Step] = Field(alias="step", min_length=1)
    #: The file it came from (set by the loader).
    source: str = ""

    @field_validator("id")
    @classmethod
    def _dotted(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) < 2 or not all(p and all(c.isalnum() or c in "-_" for c in p) for p in parts):
            raise ValueError(f"{value!r}: a case id is dotted words, e.g. documents.send.valid")
        return value

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


def _substitute(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, names) for k, v in value.items()}
    return value


def _expand(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    matrix = raw.get("matrix")
    body = {k: v for k, v in raw.items() if k != "matrix"}
    if not matrix:
        return [body]
    if not isinstance(matrix, dict) or not all(isinstance(v, list) for v in matrix.values()):
        raise ValueError("matrix must be a table of lists")
    keys = list(matrix)
    out = []
    for combo in itertools.product(*(matrix[k] for k in keys)):
        names = {k: str(v) for k, v in zip(keys, combo, strict=True)}
        out.append(_substitute(body, names))
    return out


def _parse(text: str, source: str) -> list[Case]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source}: not valid TOML ({exc})", field="cases") from exc
    raw_cases = data.get("case")
    if not isinstance(raw_cases, list):
        raise ConfigurationError(f"{source}: no [[case]] tables", field="cases")
    cases: list[Case] = []
    for index, raw in enumerate(raw_cases):
        label = raw.get("id", f"case #{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        try:
            cases.extend(
                Case.model_validate({**expanded, "source": source}) for expanded in _expand(raw)
            )
        except (ValidationError, ValueError, TypeError) as exc:
            detail = (
                exc.errors(include_input=False)[0] if isinstance(exc, ValidationError) else None
            )
            where = ".".join(str(p) for p in detail["loc"]) if detail else ""
            message = detail["msg"] if detail else str(exc)
            raise ConfigurationError(
                f"{source}: case {label}: {where + ': ' if where else ''}{message}",
                field="cases",
            ) from None
    return cases


def builtin_cases() -> list[Case]:
    """Every case shipped with lgsp (``lgsp/conformance/cases/*.toml``), in file order."""
    folder = resources.files("lgsp.conformance") / "cases"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    cases: list[Case] = []
    for file in files:
        cases += _parse(file.read_text("utf-8"), f"lgsp:cases/{file.name}")
    _unique(cases)
    return cases


def load_cases(paths: Iterable[str | Path] = ()) -> list[Case]:
    """The shipped cases, or those of the given files and folders (``*.toml`` in them)."""
    chosen = [Path(p) for p in paths]
    if not chosen:
        return builtin_cases()
    cases: list[Case] = []
    for path in chosen:
        files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text("utf-8")
            except OSError as exc:
                raise ConfigurationError(
                    f"{file}: cannot read ({exc.strerror})", field="cases"
                ) from exc
            cases += _parse(text, str(file))
    _unique(cases)
    return cases


def _unique(cases: Sequence[Case]) -> None:
    seen: dict[str, str] = {}
    for case in cases:
        if case.id in seen:
            raise ConfigurationError(
                f"case {case.id} is defined twice ({seen[case.id]} and {case.source})",
                field="cases",
            )
        seen[case.id] = case.source


def _matches(case: Case, pattern: str) -> bool:
    if pattern.startswith("tag:"):
        return pattern[4:] in case.tags
    if pattern.startswith("rule:"):
        return any(fnmatch.fnmatchcase(r, pattern[5:]) for r in case.rules)
    return fnmatch.fnmatchcase(case.id, pattern) or case.id.startswith(pattern + ".")


def select(
    cases: Iterable[Case], selector: str | None = None, profile: ProfileName | None = None
) -> list[Case]:
    """The cases of ``profile`` that ``selector`` picks (all of them when it is empty).

    ``selector`` is comma-separated: id patterns (``documents.*``, or an id prefix such as
    ``documents.status``), ``tag:NAME``, ``rule:PATTERN``; a ``!`` or ``-`` in front excludes.
    Raises ConfigurationError when an including pattern matches no case of the profile.
    """
    pool = [c for c in cases if profile is None or profile in c.profiles]
    terms = [t.strip() for t in (selector or "").split(",") if t.strip()]
    include = [t for t in terms if t[0] not in "!-"]
    exclude = [t[1:] for t in terms if t[0] in "!-"]
    for term in include:
        if not any(_matches(c, term) for c in pool):
            known = ", ".join(sorted({c.area for c in pool})) or "none"
            raise ConfigurationError(
                f"--cases {term!r} matches no case of the {profile or 'any'} profile "
                f"(areas: {known})",
                field="cases",
            )
    chosen = [c for c in pool if not include or any(_matches(c, t) for t in include)]
    return [c for c in chosen if not any(_matches(c, t) for t in exclude)]
