"""One log event per call, with secrets and personal data masked; the raw exchange for audit.

:class:`CallLog` is the :class:`~lgsp.transports.flow.Observer` the clients use: every exchange
becomes one structlog event ``lgsp.call`` (operation, endpoint, status, outcome, duration,
correlation id, attempt, sizes), at ``info`` when the remote answered below 400 and at
``warning`` otherwise. With ``log_bodies=True`` a second event, ``lgsp.call.detail`` at
``debug``, carries the headers and bodies — always through :func:`redact`. The unredacted
:class:`Exchange` goes to ``on_exchange`` (an audit trail) and to ``history``.

Redaction masks, whatever the case or ``-``/``_`` spelling, credentials (``Authorization``,
cookies, passwords, secrets, tokens, sessions, the VXP ``XroadVnpt-hash-header`` and
``XroadVnpt-sign-header``) and the personal data of dossiers (``ChuHoSo``, ``SoDinhDanh``,
``SoDienThoai``…, vn-contracts §4.1, §4.3) with ``***``. Personal data is masked, not hashed:
an identity-card or phone number has so few possible values that a short hash of it can be
reversed by trying them all; calls are correlated by ``correlation_id`` and the dossier code.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import structlog

from lgsp.errors import LgspError, ProtocolError, RemoteServiceError
from lgsp.transports.base import Request, Response

__all__ = [
    "MASK",
    "CallLog",
    "EventLogger",
    "Exchange",
    "configure_logging",
    "is_sensitive",
    "redact",
    "redact_body",
    "redact_processor",
    "redact_url",
]

MASK = "***"
#: Bodies that are not JSON are logged as their first bytes only.
PREVIEW_BYTES = 200
#: JSON bodies larger than this are not parsed for the log; their preview is logged instead.
_MAX_JSON_BYTES = 1024 * 1024
#: Longer strings inside a logged JSON body (Base64 packages) are cut to this many characters.
_MAX_JSON_STRING = 200

# Names compared lowercase with '-' and '_' removed, so Client-Secret, client_secret and
# clientSecret are one name.
# fmt: off
# ``XroadVnpt-sign-header`` carries the JSON of every signed header, verbatim (§2.1a).
_SECRET_NAMES = frozenset({
    "authorization", "proxyauthorization", "cookie", "setcookie", "session",
    "xroadvnpthashheader", "xroadvnptsignheader",
})
_SECRET_PARTS = ("password", "passwd", "secret", "token", "apikey", "privatekey", "matkhau")
# Personal data in dossier payloads (DVCQG §4.1, ministry portal §4.3, OpenCPS, population
# checks §3). Codes of organs and units (dstcode, madonvi, MaTinh) are not personal: kept.
_PERSONAL_NAMES = frozenset({
    "chuhoso", "sodinhdanh", "socmnd", "hovaten", "hoten", "tennguoinop", "sodienthoai",
    "email", "fax", "mobile", "diachichitiet", "ngaysinh", "ngaythangnamsinh",
    "ngaycapdinhdanh", "thongtinnguoinop", "sodinhdanhchuhs", "tenchuhs",
    "diachichitietchuhs", "madoituong", "citizenname", "citizeninfo", "applicantsid",
    "address", "phone",
})
# fmt: on


def _folded(name: str) -> str:
    return name.strip().lower().replace("-", "").replace("_", "")


@functools.lru_cache(maxsize=4096)
def is_sensitive(name: str) -> bool:
    """True when a header, field or parameter of this name is masked in logs."""
    folded = _folded(name)
    if folded in _SECRET_NAMES or folded in _PERSONAL_NAMES:
        return True
    return folded != "tokentype" and any(part in folded for part in _SECRET_PARTS)


def _mask(name: str, value: Any) -> Any:
    if value is None or value == "":
        return value  # absence is not a secret, and tells what was (not) sent
    if _folded(name) in ("authorization", "proxyauthorization") and isinstance(value, str):
        scheme, _, credentials = value.strip().partition(" ")
        return f"{scheme} {MASK}" if credentials else MASK
    return MASK


# --- Text -------------------------------------------------------------------------------------

_URL_RE = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
_JSON_PAIR_RE = re.compile(r'"([^"\\]{1,64})"\s*:\s*("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)')
_XML_ELEMENT_RE = re.compile(r"<((?:[\w.-]{1,64}:)?([\w.-]{1,64}))(\s[^<>]*)?>([^<]*)")
_PARAM_RE = re.compile(r"(?<![\w.-])([\w.-]{1,64})=([^&\s;,\"'<>]*)")
_HEADER_RE = re.compile(r"(?<![\w-])([\w-]{1,64}):[ \t]*([^\r\n]+)")
_BEARER_RE = re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with its user info and secret-looking query parameters masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(
        f"{key}={MASK}" if sep and is_sensitive(unquote(key)) else f"{key}{sep}{value}"
        for key, sep, value in (item.partition("=") for item in parts.query.split("&"))
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", ""))


def _endpoint(url: str) -> str:
    """Where a call went: the URL without user info, query string or fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _scrub(text: str) -> str:
    """Mask what looks like a secret in free text: URLs, JSON pairs, XML elements,
    ``key=value`` pairs, ``Name: value`` header lines, bearer credentials."""

    def json_pair(m: re.Match[str]) -> str:
        return f'"{m[1]}":"{MASK}"' if is_sensitive(m[1]) else m[0]

    def xml_element(m: re.Match[str]) -> str:
        return f"<{m[1]}{m[3] or ''}>{MASK}" if is_sensitive(m[2]) and m[4] else m[0]

    def param(m: re.Match[str]) -> str:
        return f"{m[1]}={MASK}" if is_sensitive(m[1]) and m[2] else m[0]

    def header(m: re.Match[str]) -> str:
        return f"{m[1]}: {_mask(m[1], m[2])}" if is_sensitive(m[1]) else m[0]

    text = _URL_RE.sub(lambda m: redact_url(m[0]), text)
    text = _JSON_PAIR_RE.sub(json_pair, text)
    text = _XML_ELEMENT_RE.sub(xml_element, text)
    text = _PARAM_RE.sub(param, text)
    text = _HEADER_RE.sub(header, text)
    return _BEARER_RE.sub(lambda m: f"{m[1]} {MASK}", text)


def _redact_text(text: str, *, shorten: bool = False) -> str:
    if text[:1] in ("{", "[") or text.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            pass
        else:
            if isinstance(parsed, dict | list):
                body = _redact(parsed, shorten=shorten)
                return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if shorten and len(text) > _MAX_JSON_STRING:
        text = f"{text[:_MAX_JSON_STRING]}…({len(text)} chars)"
    return _scrub(text)


# --- Structures -------------------------------------------------------------------------------


def _redact(value: Any, *, shorten: bool = False) -> Any:
    if isinstance(value, Mapping):
        return {
            key: _mask(key, item)
            if isinstance(key, str) and is_sensitive(key)
            else _redact(item, shorten=shorten)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) == 2 and isinstance(value[0], str) and is_sensitive(value[0]):
            pair = [value[0], _mask(value[0], value[1])]  # a header as a (name, value) pair
        else:
            pair = [_redact(item, shorten=shorten) for item in value]
        return tuple(pair) if isinstance(value, tuple) else pair
    if isinstance(value, bytes | bytearray | memoryview):
        return redact_body(bytes(value))
    if isinstance(value, str):
        return _redact_text(value, shorten=shorten)
    return value


def redact(value: Any) -> Any:
    """A copy of ``value`` safe to log: dicts, lists, header pairs and JSON text are walked
    and their secret or personal fields masked; other text is scrubbed by pattern; bytes are
    treated as a body (:func:`redact_body`). Other objects are returned as they are."""
    return _redact(value)


def redact_body(body: bytes | str | Path, *, limit: int = PREVIEW_BYTES) -> str:
    """A body fit for a log: JSON redacted field by field (long strings cut), anything else
    cut to its first ``limit`` bytes and scrubbed by pattern; a file body by its size."""
    if isinstance(body, Path):
        try:
            return f"<file {body.name}, {body.stat().st_size} bytes>"
        except OSError:
            return f"<file {body.name}>"
    data = body.encode("utf-8") if isinstance(body, str) else body
    if not data:
        return ""
    if len(data) <= _MAX_JSON_BYTES and data.lstrip()[:1] in (b"{", b"["):
        try:
            parsed = json.loads(data)
        except ValueError:
            pass
        else:
            if isinstance(parsed, dict | list):
                redacted = _redact(parsed, shorten=True)
                return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
    preview = data[:limit].decode("utf-8", errors="replace")
    if len(data) > limit:
        preview += f"…(+{len(data) - limit} bytes)"
    return _scrub(preview)


def redact_processor(
    _logger: Any, _method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor applying :func:`redact` to every field of every event; put it
    after ``format_exc_info`` so that exception text is scrubbed too."""
    own = event_dict.get("event") == "lgsp.call"
    for key, value in list(event_dict.items()):
        if own and key in _CALL_OWN:
            continue  # built by CallLog from scrubbed parts (the error text is scrubbed too)
        if key in _CALL_FIELDS and (value is None or isinstance(value, int | float)):
            continue  # the call log's own numbers: nothing to scrub
        if key in _CALL_TEXT and isinstance(value, str) and _PLAIN.fullmatch(value):
            continue  # a name, method, id or endpoint of plain characters: nothing to scrub
        event_dict[key] = _mask(key, value) if is_sensitive(key) else _redact(value)
    return event_dict


# What CallLog puts in its events. Numbers pass as they are; text passes when it is made only of
# characters no secret pattern needs (endpoints have no query string or user info by then).
_CALL_FIELDS = frozenset(
    {
        "status",
        "duration_ms",
        "attempt",
        "bytes_sent",
        "bytes_received",
        "remote_code",
    }
)
_CALL_TEXT = frozenset(
    {
        "event",
        "operation",
        "method",
        "endpoint",
        "outcome",
        "correlation_id",
        "level",
        "timestamp",
        "logger",
        "remote_code",
    }
)
_CALL_OWN = _CALL_FIELDS | _CALL_TEXT | {"error"}
_PLAIN = re.compile(r"[\w.:/+-]{0,512}")


# --- Call log ---------------------------------------------------------------------------------


class EventLogger(Protocol):
    """What :class:`CallLog` needs of a logger: structlog's bound loggers have it."""

    def debug(self, event: str, **fields: Any) -> Any: ...

    def info(self, event: str, **fields: Any) -> Any: ...

    def warning(self, event: str, **fields: Any) -> Any: ...

    def error(self, event: str, **fields: Any) -> Any: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came of it, unredacted: the raw material of an audit trail."""

    request: Request
    response: Response | None
    error: LgspError | None
    duration: float
    started_at: dt.datetime

    @property
    def status(self) -> int | None:
        if self.response is not None:
            return self.response.status_code
        return self.error.status_code if isinstance(self.error, ProtocolError) else None

    @property
    def outcome(self) -> str:
        """``ok``, ``http_error`` (the remote answered 400 or more) or the error's class."""
        if self.error is not None:
            return type(self.error).__name__
        status = self.status
        return "http_error" if status is not None and status >= 400 else "ok"


def _received(response: Response | None) -> int | None:
    if response is None:
        return None
    if response.body_file is None:
        return len(response.content)
    handle = response.body_file
    here = handle.tell()
    size = handle.seek(0, 2)
    handle.seek(here)
    return size


def _sent(request: Request) -> int | None:
    try:
        return request.body_size()
    except OSError:
        return None


# VXP, the DVCQG adapter, the token portal: the service's own code, read without parsing the
# whole answer (this runs on every call; the codec parses the answer once, after the log).
_CODE_RE = re.compile(rb'"(?:ErrorCode|error_code|errorCode)"\s*:\s*"?(-?[\w.]{1,32})')


def _json_code(response: Response | None) -> str | None:
    if response is None or response.body_file is not None:
        return None
    match = _CODE_RE.search(response.content, 0, 4096)
    return match[1].decode("ascii", "replace") if match else None


def _remote_code(exchange: Exchange) -> str | None:
    """The service's own code: from the error, the request's meta, or a small JSON answer."""
    if isinstance(exchange.error, RemoteServiceError):
        return exchange.error.code
    code = exchange.request.meta.get("remote_code")
    return str(code) if code is not None else _json_code(exchange.response)


def _headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name, value in _redact(headers):
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


def _enabled(logger: Any, level: int) -> bool:
    """Whether ``logger`` would emit at ``level`` (structlog's filtering loggers and stdlib
    loggers tell; anything else is assumed to listen)."""
    check = getattr(logger, "is_enabled_for", None) or getattr(logger, "isEnabledFor", None)
    return bool(check(level)) if callable(check) else True


@functools.cache
def _stdlib_logger() -> EventLogger:
    """Events rendered as ``key=value`` text into the standard ``logging`` logger ``lgsp``.

    The logger gets a NullHandler, as a library's should: nothing is printed unless the
    application configures logging (Python's last-resort handler would print warnings)."""
    base = logging.getLogger("lgsp")
    if not base.handlers:
        base.addHandler(logging.NullHandler())
    proxy = structlog.wrap_logger(
        base,
        processors=[
            redact_processor,
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return proxy.bind()  # type: ignore[no-any-return]  # bound once, not on every call


class CallLog:
    """The default observer: one ``lgsp.call`` event per exchange, redacted.

    ``logger`` defaults to ``structlog.get_logger("lgsp")`` once the application has
    configured structlog, and until then to the standard ``logging`` logger ``lgsp``: a library
    must not print on its own (with no logging set up, Python shows warnings only, on stderr).
    ``log_bodies`` adds a debug
    event ``lgsp.call.detail`` with the redacted headers and bodies. ``history`` keeps the last
    that many :class:`Exchange` in :attr:`history`; ``on_exchange`` receives each one,
    unredacted (for an audit trail) — an exception it raises is logged, never passed on.
    """

    def __init__(
        self,
        logger: EventLogger | None = None,
        *,
        log_bodies: bool = False,
        history: int = 0,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self._logger = logger
        self.log_bodies = log_bodies
        self.history: collections.deque[Exchange] = collections.deque(maxlen=max(0, history))
        self.on_exchange = on_exchange

    @property
    def logger(self) -> EventLogger:
        """The logger given, else structlog's when configured, else stdlib ``logging``."""
        if self._logger is not None:
            return self._logger
        if structlog.is_configured():
            return structlog.get_logger("lgsp")  # type: ignore[no-any-return]
        return _stdlib_logger()

    def exchange(
        self,
        request: Request,
        response: Response | None,
        error: LgspError | None,
        duration: float,
    ) -> None:
        if (
            self.on_exchange is None
            and self.history.maxlen == 0
            and error is None
            and (response is None or response.status_code < 400)
            and not _enabled(self.logger, logging.INFO)
        ):
            return  # a quiet success nobody keeps or listens for: nothing to build
        started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=duration)
        record = Exchange(request, response, error, duration, started)
        self.history.append(record)
        self.log(record)
        if self.on_exchange is not None:
            try:
                self.on_exchange(record)
            except Exception as exc:  # noqa: BLE001 - an audit hook must never break a call
                # No traceback: its text and locals could hold what redaction keeps out.
                self.logger.error(  # noqa: TRY400
                    "lgsp.call.hook_failed",
                    operation=request.operation,
                    correlation_id=request.correlation_id,
                    error_type=type(exc).__name__,
                    error=_scrub(str(exc)),
                )

    def log(self, record: Exchange) -> None:
        """Emit the events of one exchange."""
        request, error = record.request, record.error
        ok = record.outcome == "ok"
        logger = self.logger
        if ok and not _enabled(logger, logging.INFO):
            return  # nobody listens at info: build nothing (the default for a library)
        fields: dict[str, Any] = {
            "operation": request.operation,
            "method": request.method,
            "endpoint": _endpoint(request.url),
            "status": record.status,
            "outcome": record.outcome,
            "duration_ms": round(record.duration * 1000, 1),
            "correlation_id": request.correlation_id,
            "attempt": request.meta.get("attempt"),
            "bytes_sent": _sent(request),
            "bytes_received": _received(record.response),
            "remote_code": _remote_code(record),
        }
        if error is not None:
            fields["error"] = _scrub(str(error))
        if ok:
            logger.info("lgsp.call", **fields)
        else:
            logger.warning("lgsp.call", **fields)
        if self.log_bodies and _enabled(logger, logging.DEBUG):
            logger.debug("lgsp.call.detail", **self._detail(record))

    def _detail(self, record: Exchange) -> dict[str, Any]:
        request, response = record.request, record.response
        detail: dict[str, Any] = {
            "operation": request.operation,
            "correlation_id": request.correlation_id,
            "attempt": request.meta.get("attempt"),
            "url": redact_url(request.url),
            "request_headers": _headers(request.headers),
            "request_body": redact_body(request.content),
        }
        if response is not None:
            detail["response_headers"] = _headers(response.headers)
            if response.body_file is not None:
                detail["response_body"] = f"<spooled, {_received(response)} bytes>"
            else:
                detail["response_body"] = redact_body(response.content)
        return detail


def configure_logging(json: bool = False, level: str | int = "INFO") -> None:
    """Set structlog up for an application: ISO timestamps, levels, redaction of every event,
    then JSON lines (``json=True``) or the console renderer, on stderr."""
    number = logging.getLevelNamesMapping().get(level.upper()) if isinstance(level, str) else level
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
