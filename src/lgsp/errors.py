"""The one exception tree of lgsp.

Every error the package raises on purpose is an :class:`LgspError`; backend exceptions (lxml,
zipfile, binascii, later httpx and zeep) are translated at the edge and chained with ``from``.

::

    LgspError
    ├── XMLError                 input that is not well-formed XML (line, column, cause)
    │   └── HostileXMLError      DTDs, entities, or a document past a size / depth limit
    ├── PackageError             well-formed XML that is not an edXML package we can read
    ├── AttachmentError          an attachment that cannot be decoded, unzipped or streamed
    ├── CodeError                an identifier (organ, procedure, dossier, unit code) broke a rule
    ├── ValidationError          a model or package has error findings (carries all of them)
    ├── SignatureError           a signature cannot be made, or is not valid (carries the result)
    ├── RegistryError            a registry file or cache that cannot be read (source, line, column)
    └── DossierError             a dossier operation the rules refuse (illegal status transition)

Messages say what was wrong, where, and what the caller can do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lgsp.findings import Finding

__all__ = [
    "AttachmentError",
    "CodeError",
    "DossierError",
    "HostileXMLError",
    "LgspError",
    "PackageError",
    "RegistryError",
    "SignatureError",
    "ValidationError",
    "XMLError",
]


class LgspError(Exception):
    """Root of every error lgsp raises on purpose."""


class XMLError(LgspError):
    """Input is not well-formed XML; carries where the parser stopped and why."""

    def __init__(
        self,
        cause: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.cause = cause
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.source or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.cause}"


class HostileXMLError(XMLError):
    """Input uses a construct lgsp refuses (DTD, entity) or passes a configured limit."""


class PackageError(LgspError):
    """Well-formed XML that is not a readable edXML document or status package."""

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None):
        self.source = source
        self.path = path
        prefix = source or "<input>"
        if path:
            prefix += f" at {path}"
        super().__init__(f"{prefix}: {message}")


class AttachmentError(LgspError):
    """An attachment cannot be decoded, unzipped or read."""

    def __init__(self, message: str, *, content_id: str | None = None) -> None:
        self.content_id = content_id
        where = f"attachment {content_id}: " if content_id else ""
        super().__init__(where + message)


class CodeError(LgspError, ValueError):
    """An identifier broke a rule; ``rule`` names it (e.g. ``organ.qcvn102.format``)."""

    def __init__(self, rule: str, value: str, message: str) -> None:
        self.rule = rule
        self.value = value
        super().__init__(f"{value!r} breaks rule {rule}: {message}")


class ValidationError(LgspError):
    """A package or payload has findings of severity error; all findings are kept."""

    def __init__(self, findings: Sequence[Finding], *, source: str | None = None) -> None:
        self.findings = list(findings)
        self.source = source
        errors = [f for f in self.findings if f.severity == "error"]
        head = f"{source}: " if source else ""
        lines = [f"{head}{len(errors)} error finding(s)"]
        lines += [f"  {f.rule} at {f.location}: {f.message}" for f in errors[:20]]
        if len(errors) > 20:
            lines.append(f"  … and {len(errors) - 20} more")
        super().__init__("\n".join(lines))


class SignatureError(LgspError):
    """A signature cannot be made (wrong key, refused algorithm) or did not verify.

    ``result`` holds the verification result when there is one: what was checked and why it
    failed.
    """

    def __init__(self, message: str, *, result: object | None = None) -> None:
        self.result = result
        super().__init__(message)


class RegistryError(LgspError):
    """A registry input (JSON, CSV, a service response) or the local cache cannot be used.

    ``source`` names the file or cache, ``line`` and ``column`` (1-based) where the problem is
    when known, e.g. ``agencies.csv:7: field 'code': is empty``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        where = source or ""
        if line is not None:
            where = f"{where or '<input>'}:{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}" if where else message)


class DossierError(LgspError):
    """A dossier operation the rules refuse: an illegal status transition, a status table that
    does not hold together, a target that cannot express a value.

    ``rule`` names what broke (e.g. ``dossier.transition``); ``dossier_code`` is the dossier
    concerned when known; for a transition, ``current`` and ``requested`` are the two status
    codes (``lgsp.dossiers.DossierStatus`` members when known).
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str = "dossier",
        dossier_code: str | None = None,
        current: int | None = None,
        requested: int | None = None,
    ) -> None:
        self.rule = rule
        self.dossier_code = dossier_code
        self.current = current
        self.requested = requested
        super().__init__(f"dossier {dossier_code}: {message}" if dossier_code else message)
