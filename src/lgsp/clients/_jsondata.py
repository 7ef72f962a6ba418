"""Read a JSON object whose one big string field is Base64 without holding it in memory.

VXP ``getEdoc`` answers ``{"status", "ErrorCode", "ErrorDesc", "data": "<Base64 package>"}``
(vn-contracts §2.1a); a package of tens of megabytes must reach disk without a second copy in
memory. :func:`extract_base64_field` scans the top-level object from a file, decodes the
chosen string field to a sink as it goes, and parses the other (small) fields with ``json``.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from typing import IO, Any

__all__ = ["JsonShapeError", "extract_base64_field"]

_CHUNK = 256 * 1024
_WS = b" \t\r\n"


class JsonShapeError(ValueError):
    """The body is not a JSON object of the expected shape (message says where)."""


class _B64Sink:
    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self.write = write
        self.pending = bytearray()
        self.size = 0

    def feed(self, text: bytes) -> None:
        self.pending += text
        usable = len(self.pending) - len(self.pending) % 4
        if usable >= 65536 or (usable and len(self.pending) > 4 * _CHUNK):
            self._flush(usable)

    def _flush(self, usable: int) -> None:
        try:
            data = binascii.a2b_base64(bytes(self.pending[:usable]), strict_mode=True)
        except binascii.Error as exc:
            raise JsonShapeError(f"the Base64 text is not valid ({exc})") from exc
        del self.pending[:usable]
        self.size += len(data)
        self.write(data)

    def close(self) -> None:
        if len(self.pending) % 4:
            raise JsonShapeError("the Base64 text is truncated (length not a multiple of 4)")
        if self.pending:
            self._flush(len(self.pending))


def _read_string_raw(buf: bytes, start: int) -> int:
    """Index just past the closing quote of the string starting at ``start`` (a quote), or -1."""
    i = start + 1
    while True:
        j = buf.find(b'"', i)
        if j < 0:
            return -1
        backslashes = 0
        k = j - 1
        while k > start and buf[k] == 0x5C:
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            return j + 1
        i = j + 1


def _value_end(buf: bytes, start: int) -> int:
    """Index just past a complete JSON value starting at ``start``, or -1 if buf ends first."""
    depth = 0
    i = start
    n = len(buf)
    while i < n:
        c = buf[i]
        if c == 0x22:  # "
            end = _read_string_raw(buf, i)
            if end < 0:
                return -1
            i = end
            if depth == 0:
                return i
            continue
        if c in b"[{":
            depth += 1
        elif c in b"]}":
            if depth == 0:
                return i  # the enclosing object's end: a scalar ended just before
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == 0x2C and depth == 0:  # ,
            return i
        i += 1
    return -1


class _Reader:
    """A byte buffer over ``source`` that refills keeping everything from ``pos`` on."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.buf = b""
        self.pos = 0

    def fill(self) -> bool:
        chunk = self.source.read(_CHUNK)
        if not chunk:
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> int | None:
        while self.pos >= len(self.buf):
            if not self.fill():
                return None
        return self.buf[self.pos]

    def skip_ws(self) -> int | None:
        while True:
            byte = self.peek()
            if byte is None or byte not in _WS:
                return byte
            self.pos += 1

    def raw_string(self, what: str) -> bytes:
        while (end := _read_string_raw(self.buf, self.pos)) < 0:
            if not self.fill():
                raise JsonShapeError(f"the JSON object is truncated inside {what}")
        raw = self.buf[self.pos : end]
        self.pos = end
        return raw

    def raw_value(self, name: str) -> bytes:
        while (end := _value_end(self.buf, self.pos)) < 0:
            if not self.fill():
                raise JsonShapeError(f"the value of {name!r} is truncated")
        raw = self.buf[self.pos : end]
        self.pos = end
        return raw

    def stream_string(self, sink: _B64Sink) -> None:
        """Feed the string whose opening quote was consumed to ``sink``, up to its close."""
        while True:
            if self.pos >= len(self.buf) and not self.fill():
                raise JsonShapeError("the Base64 string is truncated")
            match = _SPECIAL.search(self.buf, self.pos)
            if match is None:
                sink.feed(self.buf[self.pos :])
                self.pos = len(self.buf)
                continue
            at = match.start()
            sink.feed(self.buf[self.pos : at])
            self.pos = at
            if self.buf[at] == 0x22:
                self.pos = at + 1
                sink.close()
                return
            if at + 1 >= len(self.buf):
                if not self.fill():
                    raise JsonShapeError("the Base64 string is truncated")
                continue
            escaped = self.buf[self.pos + 1]
            if escaped == 0x2F:  # org.json writes "/" as "\/"
                sink.feed(b"/")
            elif escaped not in b"nrt":
                raise JsonShapeError("the Base64 string holds an unexpected escape")
            self.pos += 2


_SPECIAL = re.compile(rb'["\\]')


def extract_base64_field(
    source: IO[bytes], key: str, write: Callable[[bytes], Any]
) -> tuple[dict[str, Any], int | None]:
    """Scan the JSON object in ``source``; decode the Base64 string ``key`` into ``write``.

    Returns the other fields (parsed) and the number of bytes decoded (``None`` when the field
    is absent or not a string). Raises :class:`JsonShapeError` on anything else.
    """
    reader = _Reader(source)
    fields: dict[str, Any] = {}
    decoded: int | None = None
    if reader.skip_ws() != 0x7B:
        raise JsonShapeError("the body is not a JSON object")
    reader.pos += 1
    while True:
        byte = reader.skip_ws()
        if byte is None:
            raise JsonShapeError("the JSON object is truncated")
        if byte == 0x7D:  # }
            reader.pos += 1
            break
        if byte == 0x2C:  # ,
            reader.pos += 1
            continue
        if byte != 0x22:
            raise JsonShapeError("a key was expected in the JSON object")
        try:
            name = json.loads(reader.raw_string("a key"))
        except json.JSONDecodeError as exc:
            raise JsonShapeError(f"a key is not valid JSON ({exc})") from exc
        if reader.skip_ws() != 0x3A:
            raise JsonShapeError(f"':' was expected after key {name!r}")
        reader.pos += 1
        byte = reader.skip_ws()
        if byte is None:
            raise JsonShapeError("the JSON object is truncated")
        if name == key and byte == 0x22:
            reader.pos += 1
            sink = _B64Sink(write)
            reader.stream_string(sink)
            decoded = sink.size
            continue
        raw = reader.raw_value(name)
        try:
            fields[name] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise JsonShapeError(f"the value of {name!r} is not JSON ({exc})") from exc
    if reader.skip_ws() is not None:
        raise JsonShapeError("content after the JSON object")
    return fields, decoded
