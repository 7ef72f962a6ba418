"""The kit's own message rules, and severity overrides over every rule a message check reports.

The contract validators (:mod:`lgsp.documents`, :mod:`lgsp.dossiers`) have their rule
catalogues; :data:`MESSAGE_RULES` adds what only the kit checks (well-formedness, hostile XML,
the package kind, signatures). ``--severity RULE=LEVEL`` changes any of them
(:func:`parse_overrides`, :func:`apply_overrides`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lgsp import documents as _documents
from lgsp import dossiers as _dossiers
from lgsp.documents.validation import SeverityOverride
from lgsp.errors import ConfigurationError
from lgsp.findings import Finding, Rule

__all__ = ["MESSAGE_RULES", "apply_overrides", "known_rules", "parse_overrides"]

_LEVELS: tuple[SeverityOverride, ...] = ("error", "warning", "info", "off")

_CATALOGUE = [
    Rule("xml.wellformed", "error", "error", "input that is not well-formed XML"),
    Rule(
        "xml.hostile",
        "error",
        "error",
        "a DTD or entity, or XML past the reader's size, depth or element-count limits",
    ),
    Rule("package.kind", "error", "error", "XML that is not an edXML package (of the kind asked)"),
    Rule("signature.valid", "error", "error", "a Signature that does not verify (interop policy)"),
    # The legacy *form* (un-namespaced Signature) is the reader's rule read.signature; this one
    # is the legacy *algorithms* that real VXP traffic still signs with.
    Rule("signature.legacy", "warning", "info", "a signature made with SHA-1 (RSA-SHA1, digest)"),
    Rule(
        "signature.missing",
        "warning",
        "info",
        "an unsigned document package (NĐ 30/2020 wants documents digitally signed)",
    ),
    # Raised by lgsp.dossiers (DossierError.rule) but not in its catalogue: listed here so that
    # it has a severity and can be overridden. Malformed JSON is the catalogue's dossier.json.
    Rule("dossier.kind", "error", "error", "JSON that is no dossier payload lgsp knows"),
]
#: The kit's own rules, for what the documents and dossiers validators do not check.
MESSAGE_RULES: dict[str, Rule] = {r.id: r for r in _CATALOGUE}


def known_rules() -> dict[str, Rule]:
    """Every rule a message check can report: documents, dossiers and the kit's own."""
    return {**_documents.RULES, **_dossiers.RULES, **MESSAGE_RULES}


def parse_overrides(values: Iterable[str]) -> dict[str, SeverityOverride]:
    """``RULE=LEVEL`` strings as overrides; raises ConfigurationError naming the known rules."""
    rules = known_rules()
    overrides: dict[str, SeverityOverride] = {}
    for value in values:
        rule, sep, level = value.partition("=")
        rule, level = rule.strip(), level.strip().lower()
        if not sep or not rule:
            raise ConfigurationError(f"{value!r} is not RULE=LEVEL", field="severity")
        if level not in _LEVELS:
            raise ConfigurationError(
                f"{value!r}: the level must be one of {', '.join(_LEVELS)}", field="severity"
            )
        if rule not in rules and not any(r.startswith(rule + ".") for r in rules):
            raise ConfigurationError(
                f"{rule!r} is neither a rule nor a rule prefix (known rules: "
                f"{', '.join(sorted(rules))})",
                field="severity",
            )
        overrides[rule] = next(lv for lv in _LEVELS if lv == level)
    return overrides


def apply_overrides(
    findings: Iterable[Finding], overrides: Mapping[str, SeverityOverride] | None
) -> list[Finding]:
    """Findings with ``overrides`` applied, as ``lgsp validate --severity`` does: an exact rule
    id wins over a prefix (``business`` covers ``business.missing``); ``off`` drops it."""
    found = list(findings)
    if not overrides:
        return found
    out = []
    for f in found:
        wanted = overrides.get(f.rule)
        if wanted is None:
            prefixes = [k for k in overrides if f.rule.startswith(k + ".")]
            wanted = overrides[max(prefixes, key=len)] if prefixes else None
        if wanted == "off":
            continue
        out.append(
            f
            if wanted is None or wanted == f.severity
            else f.model_copy(update={"severity": wanted})
        )
    return out
