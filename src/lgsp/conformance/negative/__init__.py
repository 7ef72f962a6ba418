"""The negative corpus: messages every validator must refuse, and the findings each must produce.

Shipped with lgsp as package data, in folders by theme — ``hostile-xml``, ``signature-wrapping``,
``broken-codes``, ``illegal-transitions``, ``malformed`` — and described by ``manifest.toml``:
for every file its kind, the profile and dossier target it is checked under, what is wrong with
it, the rule ids it must produce (``must_find``) and those it must not (``must_not_find``).

:func:`items` lists the files, :func:`check` runs lgsp's own message check on one and says
whether it produced what the manifest demands, :func:`run` does so for all of them.

**Proving your own validator.** The files are plain bytes: feed each one (``item.data()``, or
the file itself under :func:`folder`) to your system as ``item.kind``, under ``item.profile``
(and ``item.target`` for dossier payloads), collect what it reports as lgsp rule ids — map your
own codes onto them once — and pass them to :func:`evaluate`, which applies the same test as
:func:`check`: every ``must_find`` reported (at least at ``item.severity``), no
``must_not_find`` reported as an error or a warning. A system that lets one file through, hangs
on it or crashes on it has a defect the file names. ``lgsp conformance messages`` over
:func:`folder` checks every file too and exits 1, but under one profile and telling each
file's kind from its content, so its per-file outcomes are not the manifest's verdicts (a
warning-only file passes there): judge with :func:`check` or :func:`evaluate`.

An item whose ``gap`` is set is one lgsp itself does not catch yet; the gap says why, and
:func:`check` reports it failed until lgsp does.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lgsp.conformance.results import CaseResult, Check, Report
from lgsp.errors import ConfigurationError
from lgsp.findings import Finding, Severity

__all__ = [
    "MANIFEST",
    "NegativeItem",
    "check",
    "evaluate",
    "folder",
    "items",
    "parse_manifest",
    "run",
]

MANIFEST = "manifest.toml"
_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "error": 2}


class NegativeItem(BaseModel):
    """One file of the corpus and what it must produce (an ``[[item]]`` of the manifest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The path under the corpus folder, ``theme/name``.
    file: str
    kind: Literal["document", "status", "dossier"]
    profile: Literal["strict", "lenient"] = "strict"
    #: The dossier API whose wire forms apply (``classic`` or ``token``).
    target: Literal["classic", "token"] = "classic"
    description: str
    must_find: list[str] = Field(min_length=1)
    must_not_find: list[str] = Field(default_factory=list)
    #: The least severity a ``must_find`` finding may have.
    severity: Literal["error", "warning"] = "error"
    #: Why lgsp itself does not produce the finding yet; empty when it does.
    gap: str = ""

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = value.split("/")
        if len(parts) != 2 or not all(parts) or ".." in parts or "\\" in value:
            raise ValueError(f"{value!r} is not theme/name")
        return value

    @property
    def theme(self) -> str:
        """The folder the file is in (``hostile-xml``…)."""
        return self.file.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.file.split("/", 1)[1]

    def resource(self) -> Traversable:
        """The file in the installed package."""
        return folder().joinpath(*self.file.split("/"))

    def data(self) -> bytes:
        """The file's bytes, exactly as shipped."""
        return self.resource().read_bytes()


def folder() -> Traversable:
    """The corpus folder in the installed package (a real directory in a normal install)."""
    return resources.files(__name__)


def parse_manifest(text: str, *, source: str = MANIFEST) -> list[NegativeItem]:
    """The items of a manifest's TOML text (this corpus's, or a team's own of the same
    form); ConfigurationError names the first bad item and field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source}: {exc}", field="manifest") from exc
    entries = raw.get("item")
    if not isinstance(entries, list) or set(raw) != {"item"}:
        raise ConfigurationError(f"{source} holds [[item]] tables only", field="manifest")
    out: list[NegativeItem] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        try:
            item = NegativeItem.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigurationError(
                f"{source} item {i} ({entry.get('file', '?')}): {where}: {first['msg']}",
                field="manifest",
            ) from exc
        if item.file in seen:
            raise ConfigurationError(f"{source} lists {item.file} twice", field="manifest")
        seen.add(item.file)
        out.append(item)
    return out


@functools.cache
def _load() -> tuple[NegativeItem, ...]:
    return tuple(parse_manifest(folder().joinpath(MANIFEST).read_text(encoding="utf-8")))


def items(theme: str | None = None) -> list[NegativeItem]:
    """Every item of the manifest, in its order; only those of ``theme`` when given."""
    return [item for item in _load() if theme is None or item.theme == theme]


def _as_findings(found: Iterable[Finding | str]) -> list[Finding]:
    return [
        f
        if isinstance(f, Finding)
        else Finding(rule=f, severity="error", location="(reported)", message="reported")
        for f in found
    ]


def _shown(findings: Sequence[Finding]) -> str:
    return ", ".join(f"{f.rule} ({f.severity})" for f in findings) or "nothing"


def evaluate(item: NegativeItem, found: Iterable[Finding | str]) -> CaseResult:
    """Whether ``found`` — findings, or bare rule ids counted as errors — is what ``item``
    demands: every ``must_find`` at least at ``item.severity`` and no ``must_not_find`` as an
    error or a warning. Works on any system's output once mapped to lgsp rule ids."""
    findings = _as_findings(found)
    least = _RANK[item.severity]
    wanted = "error" if item.severity == "error" else "a warning or an error"
    checks: list[Check] = []
    for rule in item.must_find:
        hits = [f for f in findings if f.rule == rule]
        checks.append(
            Check(
                step="must_find",
                expectation=f"{rule} is reported as {wanted}",
                passed=any(_RANK[f.severity] >= least for f in hits),
                detail=f"got {_shown(hits)}" if hits else f"not reported; got {_shown(findings)}",
            )
        )
    for rule in item.must_not_find:
        hits = [f for f in findings if f.rule == rule and f.severity != "info"]
        checks.append(
            Check(
                step="must_not_find",
                expectation=f"{rule} is not reported",
                passed=not hits,
                detail=f"got {_shown(hits)}" if hits else "",
            )
        )
    failed = [c for c in checks if not c.passed]
    return CaseResult(
        id=f"negative/{item.file}",
        title=item.description,
        purpose=f"A validator refuses {item.file} with the findings the corpus names.",
        rules=list(item.must_find),
        area=item.theme,
        outcome="fail" if failed else "pass",
        message="; ".join(f"{c.expectation}: {c.detail}" for c in failed)[:240],
        checks=checks,
        findings=findings,
        facts={
            "file": item.file,
            "kind": item.kind,
            "profile": item.profile,
            "target": item.target,
            **({"gap": item.gap} if item.gap else {}),
        },
    )


def check(item: NegativeItem) -> CaseResult:
    """lgsp's own message check on ``item``'s file, judged by :func:`evaluate`."""
    from lgsp.conformance.messages import check_message

    checked = check_message(
        item.data(), name=item.file, profile=item.profile, kind=item.kind, target=item.target
    )
    result = evaluate(item, checked.findings)
    result.duration = checked.duration
    result.facts.update({k: v for k, v in checked.facts.items() if k not in result.facts})
    return result


def run(selected: Iterable[NegativeItem] | None = None) -> Report:
    """:func:`check` on every item (or ``selected``), as one report of the ``messages`` kind."""
    from lgsp import __version__

    chosen = list(items() if selected is None else selected)
    report = Report(
        kind="messages",
        title="Negative corpus",
        target=f"{len(chosen)} files of the negative corpus",
        lgsp_version=__version__,
        started_at=dt.datetime.now(dt.UTC),
        settings={"corpus": "lgsp.conformance.negative"},
    )
    report.results = [check(item) for item in chosen]
    report.finished_at = dt.datetime.now(dt.UTC)
    return report
