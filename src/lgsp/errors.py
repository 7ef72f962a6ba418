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
    ├── DossierError             a dossier operation the rules refuse (illegal status transition)
    ├── ConfigurationError       a deployment profile or client setting that cannot work
    ├── TransportError           the call did not complete: connect, timeout, reset (kind, sent)
    │   └── ProtocolError        the remote answered with something lgsp cannot read
    ├── AuthError                credentials refused, or the token / session endpoint failed
    ├── RemoteServiceError       the remote service answered with an error (status, code, message)
    └── OutboxError              the durable outbox or inbox file cannot be used

Messages say what was wrong, where, and what the caller can do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lgsp.findings import Finding

__all__ = [
    "AttachmentError",
    "AuthError",
    "CodeError",
    "ConfigurationError",
    "DossierError",
    "HostileXMLError",
    "LgspError",
    "OutboxError",
    "PackageError",
    "ProtocolError",
    "RegistryError",
    "RemoteServiceError",
    "SignatureError",
    "TransportError",
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


class ConfigurationError(LgspError, ValueError):
    """A deployment profile or client setting that cannot work; ``field`` names the setting."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"setting {field}: {message}" if field else message)


def _call_site(operation: str | None, url: str | None) -> str:
    if operation and url:
        return f"{operation} ({url})"
    return operation or url or "call"


class TransportError(LgspError):
    """The call did not complete: the connection failed, timed out, was reset or cut short.

    ``kind`` is one of ``connect``, ``timeout``, ``read``, ``write``, ``protocol``, ``closed``;
    ``sent`` tells whether the request may have reached the remote (``False`` only when lgsp
    knows it did not: a refused connection, a pool timeout), which decides whether resending a
    non-idempotent call is safe.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "read",
        operation: str | None = None,
        url: str | None = None,
        sent: bool = True,
    ) -> None:
        self.kind = kind
        self.operation = operation
        self.url = url
        self.sent = sent
        self.message = message
        super().__init__(f"{_call_site(operation, url)}: {message}")


class ProtocolError(TransportError):
    """The remote answered with something lgsp cannot read: truncated, not JSON or SOAP, too
    large, or missing a field the contract requires. The remote may have acted on the call."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
    ) -> None:
        self.status_code = status_code
        super().__init__(message, kind="protocol", operation=operation, url=url, sent=True)


class AuthError(LgspError):
    """Credentials were refused, or the token / session endpoint failed or answered nonsense."""

    def __init__(
        self,
        message: str,
        *,
        scheme: str | None = None,
        status_code: int | None = None,
        url: str | None = None,
    ) -> None:
        self.scheme = scheme
        self.status_code = status_code
        self.url = url
        head = f"{scheme} auth" if scheme else "auth"
        super().__init__(f"{head}: {message}")


class RemoteServiceError(LgspError):
    """The remote service answered and refused the call.

    Carries the HTTP ``status_code``, the service's own ``code`` and ``message`` (VXP
    ``ErrorCode``/``ErrorDesc``, the portal's ``error_code``, a SOAP fault), ``retry_after``
    in seconds when the remote asked to wait, and ``retry_safe``: whether sending the same call
    again cannot duplicate anything.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        retry_safe: bool = False,
    ) -> None:
        self.operation = operation
        self.url = url
        self.status_code = status_code
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.retry_safe = retry_safe
        details = []
        if status_code is not None:
            details.append(f"HTTP {status_code}")
        if code is not None:
            details.append(f"code {code}")
        suffix = f" [{', '.join(details)}]" if details else ""
        super().__init__(f"{_call_site(operation, url)}: {message}{suffix}")


class OutboxError(LgspError):
    """The durable outbox or inbox cannot be used (file, schema, or an entry in a bad state)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
