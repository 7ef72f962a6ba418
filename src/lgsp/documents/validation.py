"""Validation of edXML packages: the XSD for structure, the rules for everything else.

:func:`validate` returns findings and never raises on a finding; :func:`check` raises
:class:`~lgsp.errors.ValidationError` when any finding is an error. A read package is checked
as it was received (its own tree against the XSD: order, unknown elements); a package built in
code is checked as the writer would emit it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Literal, cast

from lxml import etree

from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.documents.rules import RULES, check_document, check_status
from lgsp.errors import ValidationError
from lgsp.findings import Finding, Profile, Severity, raise_for_findings

__all__ = ["SeverityOverride", "check", "load_schema", "validate", "validate_model"]

SeverityOverride = Severity | Literal["off"]

_SCHEMAS: dict[str, etree.XMLSchema] = {}
_LOCK = threading.Lock()
_NS_BRACES = re.compile(r"\{http://www\.mic\.gov\.vn/TBT/QCVN_102_2016\}")


def load_schema(kind: Literal["document", "status"]) -> etree.XMLSchema:
    """The XSD of a package kind, parsed once from package data and cached."""
    schema = _SCHEMAS.get(kind)
    if schema is None:
        with _LOCK:
            schema = _SCHEMAS.get(kind)
            if schema is None:
                ref = resources.files("lgsp") / "schemas" / f"edxml-{kind}.xsd"
                with resources.as_file(ref) as path:
                    # Our own shipped file: parsed from its path so that xs:include resolves.
                    schema = etree.XMLSchema(etree.parse(str(path)))
                _SCHEMAS[kind] = schema
    return schema


def _schema_findings(pkg: DocumentPackage | StatusPackage, profile: Profile) -> list[Finding]:
    from lgsp.documents.writer import build_tree

    if pkg._tree is not None:
        tree = pkg._tree
    else:
        try:
            tree = build_tree(pkg)
        except ValidationError as exc:  # text the XML cannot carry: nothing to check further
            return [
                f.model_copy(update={"severity": RULES[f.rule].severity(profile)})
                for f in exc.findings
            ]
    schema = load_schema("status" if isinstance(pkg, StatusPackage) else "document")
    if schema.validate(tree):
        return []
    severity = RULES["xml.schema"].severity(profile)
    return [
        Finding(
            rule="xml.schema",
            severity=severity,
            location=f"line {e.line}" if pkg._tree is not None else _short_path(e.path),
            message=_NS_BRACES.sub("", e.message),
        )
        for e in cast(Iterable[Any], schema.error_log)  # stubs: the log is iterable
    ]


def _short_path(path: str | None) -> str:
    if not path:
        return "document"
    return re.sub(r"\w+:", "", path).lstrip("/")


def _apply(
    findings: list[Finding], overrides: Mapping[str, SeverityOverride] | None
) -> list[Finding]:
    if not overrides:
        return findings
    out = []
    for f in findings:
        wanted = overrides.get(f.rule)
        if wanted is None:
            # A prefix override ("business") applies to every rule under it.
            wanted = next((v for k, v in overrides.items() if f.rule.startswith(k + ".")), None)
        if wanted == "off":
            continue
        out.append(
            f
            if wanted is None or wanted == f.severity
            else f.model_copy(update={"severity": wanted})
        )
    return out


def validate_model(
    pkg: DocumentPackage | StatusPackage,
    *,
    profile: Profile = "strict",
    overrides: Mapping[str, SeverityOverride] | None = None,
    deep: bool = False,
) -> list[Finding]:
    """The business rules only (no XSD), e.g. before writing."""
    if isinstance(pkg, StatusPackage):
        found = list(check_status(pkg, profile))
    else:
        found = list(check_document(pkg, profile, deep=deep))
    return _apply(found, overrides)


def validate(
    pkg: DocumentPackage | StatusPackage,
    *,
    profile: Profile = "strict",
    overrides: Mapping[str, SeverityOverride] | None = None,
    deep: bool = True,
) -> list[Finding]:
    """Every finding of a package: XSD structure, then rules.

    ``profile`` sets each rule's severity (``strict`` for what you send, ``lenient`` for what
    you accept); ``overrides`` maps a rule id (or a prefix such as ``business``) to another
    severity or ``off``; ``deep`` reads every attachment through (ZIP CRC, size limits).
    """
    found = _schema_findings(pkg, profile)
    found += validate_model(pkg, profile=profile, deep=deep)
    return _apply(found, overrides)


def check(
    pkg: DocumentPackage | StatusPackage,
    *,
    profile: Profile = "strict",
    overrides: Mapping[str, SeverityOverride] | None = None,
) -> list[Finding]:
    """Validate and raise ValidationError when any finding is an error; else the findings."""
    found = validate(pkg, profile=profile, overrides=overrides)
    raise_for_findings(found)
    return found
