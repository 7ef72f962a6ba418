"""VXP request signing: the ``XroadVnpt-*`` headers, exactly as the official Java SDK sends them.

What the SDK 2.0.1 does on the wire (vn-contracts §2.1, §2.1a), reproduced so that the real axis
cannot tell lgsp from it:

* every parameter travels as a signed header ``XroadVnpt-<name>``, with ``systemid``,
  ``timestamp`` and ``Content-Type``;
* ``XroadVnpt-sign-header-key`` lists the names joined by ``;`` and ``XroadVnpt-sign-header`` is
  the JSON object of the signed headers, both in the iteration order of the SDK's
  ``java.util.HashMap`` (filled with ``timestamp``, ``systemid``, ``Content-Type``, then the
  call's parameters) — reproduced by :func:`java_hashmap_order`;
* ``XroadVnpt-hash-header`` is the lowercase hex HMAC-SHA256 of that JSON text, keyed with the
  system's secret;
* the timestamp is ``ddMMyyyy'T'HHmmss+SSSS`` — the ``+SSSS`` is milliseconds, not a zone;
* ``hash-file`` (sendEdoc) is the SHA-256 of the package written byte by byte in *unpadded*
  hex (``0x08`` → ``8``), usually shorter than 64 characters;
* a ``to`` value travels as JSON text, quotes included (``"000.00.00.G22"``, or an array).

No I/O here: these functions turn parameters into headers; transports send them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "HEADER_PREFIX",
    "SDK_USER_AGENT",
    "SDK_VERSION",
    "java_hashmap_order",
    "java_string_hash",
    "param_value",
    "sdk_file_hash",
    "sdk_hex",
    "sdk_timestamp",
    "sign_request",
    "verify_signed_headers",
]

HEADER_PREFIX = "XroadVnpt-"
SDK_USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
SDK_VERSION = "3.0.201608"
_VIETNAM = dt.timezone(dt.timedelta(hours=7))


def java_string_hash(text: str) -> int:
    """``java.lang.String.hashCode()`` as an unsigned 32-bit integer (UTF-16 code units)."""
    h = 0
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + ((units[i] << 8) | units[i + 1])) & 0xFFFFFFFF
    return h


def java_hashmap_order(keys: Sequence[str]) -> list[str]:
    """See :func:`_hashmap_order` (cached: calls reuse the same few key sets)."""
    return list(_hashmap_order(tuple(keys)))


@functools.lru_cache(maxsize=1024)
def _hashmap_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The iteration order of a ``java.util.HashMap`` filled with ``keys`` in this order.

    Default capacity 16, load factor 0.75, doubling; a key's bucket is
    ``(h ^ (h >>> 16)) & (capacity - 1)``; buckets are visited in index order and keys within
    a bucket in insertion order (resizing keeps their relative order)."""
    unique = list(dict.fromkeys(keys))  # a map holds each key once, at its first insertion
    capacity = 16
    while len(unique) > capacity * 3 // 4:
        capacity *= 2
    buckets: dict[int, list[str]] = {}
    for key in unique:
        h = java_string_hash(key)
        buckets.setdefault((h ^ (h >> 16)) & (capacity - 1), []).append(key)
    return tuple(key for index in sorted(buckets) for key in buckets[index])


def sdk_timestamp(moment: dt.datetime | None = None) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time: e.g. ``23112026T140028+0754`` (754 ms)."""
    if moment is None:  # the common case, without datetime objects (it runs on every call)
        now = time.time()
        millis = int(now * 1000) % 1000
        return time.strftime("%d%m%YT%H%M%S", time.gmtime(now + 7 * 3600)) + f"+{millis:04d}"
    when = moment.astimezone(_VIETNAM)
    return when.strftime("%d%m%YT%H%M%S") + f"+{when.microsecond // 1000:04d}"


def sdk_file_hash(data: bytes | Iterable[bytes]) -> str:
    """SHA-256 of a package in the SDK's form: each byte in hex without leading zeros."""
    digest = hashlib.sha256()
    if isinstance(data, bytes | bytearray | memoryview):
        digest.update(data)
    else:
        for chunk in data:
            digest.update(chunk)
    return sdk_hex(digest.digest())


def sdk_hex(digest: bytes) -> str:
    """A digest written as the SDK writes ``hash-file``: each byte in hex, no leading zero."""
    return "".join(format(b, "x") for b in digest)


def param_value(name: str, value: str | Sequence[str]) -> str:
    """A parameter as the SDK writes it in its header (``to`` as JSON text)."""
    # The SDK forwards `to` as JSON text: a code arrives with its quotes, a list as an array.
    if name == "to":
        return json.dumps(value if isinstance(value, str) else list(value), ensure_ascii=False)
    if not isinstance(value, str):
        raise TypeError(f"the VXP parameter {name!r} takes a string")
    return value


_json_string = json.encoder.encode_basestring  # JSON string literal, non-ASCII kept as text


@functools.lru_cache(maxsize=1024)
def _orders(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The header order of ``keys`` and the order org.json writes their prefixed names."""
    names = _hashmap_order(keys)
    by_prefixed = {HEADER_PREFIX + n: n for n in names}
    return names, tuple(by_prefixed[p] for p in _hashmap_order(tuple(by_prefixed)))


def sign_request(
    params: Mapping[str, str | Sequence[str]],
    *,
    system_id: str,
    secret: str | bytes,
    content_type: str,
    moment: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """The headers of one VXP call, signed as the Java SDK signs them.

    ``params`` are the call's parameters in the caller's order (``docId``, ``status``,
    ``from``, ``to``, ``servicetype``, ``messagetype``, ``hash-file``…); ``secret`` is the
    system's shared secret. Returns (name, value) pairs in the SDK's order.
    """
    values: dict[str, str] = {
        "timestamp": sdk_timestamp(moment),
        "systemid": system_id,
        "Content-Type": content_type,
    }
    for name, value in params.items():
        if name in values:
            raise ValueError(f"{name!r} is set by the signer, not by the call")
        values[name] = param_value(name, value)
    names, json_order = _orders(tuple(values))
    # org.json writes the object in its own HashMap's order over the prefixed names.
    sign_header = (
        "{"
        + ",".join(
            f"{_json_string(HEADER_PREFIX + n)}:{_json_string(values[n])}" for n in json_order
        )
        + "}"
    )
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
    headers = [(HEADER_PREFIX + n, values[n]) for n in names]
    headers += [
        ("Content-Type", content_type),
        (HEADER_PREFIX + "sign-header-key", ";".join(names)),
        (HEADER_PREFIX + "sign-header", sign_header),
        (HEADER_PREFIX + "hash-header", digest),
        ("User-Agent", SDK_USER_AGENT),
        (HEADER_PREFIX + "version", SDK_VERSION),
    ]
    return headers


def _utf8(value: str) -> str:
    """A header value as text: servers decode header bytes as Latin-1 (RFC 9110), while the
    SDK and lgsp send non-ASCII values as UTF-8 — undo the mis-decoding when there is one."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def verify_signed_headers(
    headers: Iterable[tuple[str, str]],
    secret_for: Callable[[str], str | bytes | None],
) -> dict[str, str]:
    """Check a request signed the SDK's way; return its parameters (``systemid`` included).

    The receiving side of :func:`sign_request`, for servers and tests: the signed JSON is
    taken as sent (its key order is the client's), its HMAC recomputed with the secret of the
    ``systemid`` it names, and every signed value compared with its header. Raises
    :class:`~lgsp.errors.AuthError` saying what does not hold.
    """
    from lgsp.errors import AuthError

    found: dict[str, str] = {}
    for name, value in headers:
        found.setdefault(name.lower(), _utf8(value))
    sign_header = found.get((HEADER_PREFIX + "sign-header").lower())
    digest = found.get((HEADER_PREFIX + "hash-header").lower())
    if sign_header is None or digest is None:
        raise AuthError(
            "the request is not signed (no XroadVnpt-sign-header / hash-header)", scheme="vxp"
        )
    try:
        signed = json.loads(sign_header)
    except json.JSONDecodeError as exc:
        raise AuthError("XroadVnpt-sign-header is not JSON", scheme="vxp") from exc
    if not isinstance(signed, dict) or not all(isinstance(v, str) for v in signed.values()):
        raise AuthError("XroadVnpt-sign-header is not an object of strings", scheme="vxp")
    system_id = signed.get(HEADER_PREFIX + "systemid")
    secret = secret_for(system_id) if system_id else None
    if secret is None:
        raise AuthError(f"unknown systemid {system_id!r}", scheme="vxp")
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    expected = hmac.new(key, sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.strip().lower()):
        raise AuthError("XroadVnpt-hash-header does not match the signed headers", scheme="vxp")
    params: dict[str, str] = {}
    for name, value in signed.items():
        if found.get(name.lower()) != value:
            raise AuthError(f"header {name} differs from its signed value", scheme="vxp")
        params[name[len(HEADER_PREFIX) :]] = value
    return params
