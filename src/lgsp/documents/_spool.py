"""Byte plumbing behind attachments: spools, independent views, size-limited streams, and
the streaming Base64 decoder the reader feeds."""

from __future__ import annotations

import binascii
import io
import re
import tempfile
import threading
import zipfile
from typing import IO, Any

from lgsp.errors import AttachmentError

__all__ = ["CHUNK", "Base64Spool", "LimitedReader", "Payload"]

CHUNK = 1 << 16
"""Chunk size for every streamed copy (64 KiB)."""


class _View(io.RawIOBase):
    """An independent read position over a shared file (each open() gets its own)."""

    def __init__(self, fileobj: IO[bytes], lock: threading.Lock, size: int) -> None:
        self._f = fileobj
        self._lock = lock
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        with self._lock:
            self._f.seek(self._pos)
            data = self._f.read(want)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


class LimitedReader(io.RawIOBase):
    """Stops a stream past a byte limit (inflating ZIP members)."""

    def __init__(self, inner: IO[bytes], limit: int, content_id: str) -> None:
        self._inner = inner
        self._left = limit
        self._limit = limit
        self._cid = content_id

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise AttachmentError(f"corrupt ZIP payload: {exc}", content_id=self._cid) from exc
        n = len(data)
        self._left -= n
        if self._left < 0:
            raise AttachmentError(
                f"unzips to more than the limit of {self._limit} bytes", content_id=self._cid
            )
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


class Payload:
    """Bytes of one attachment kept in a spool (memory, then a temporary file)."""

    def __init__(self, spool_memory: int) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=spool_memory)  # noqa: SIM115
        self.lock = threading.Lock()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    def view(self) -> io.BufferedReader:
        return io.BufferedReader(_View(self.file, self.lock, self.size), CHUNK)

    def close(self) -> None:
        self.file.close()


_WS = b" \t\r\n"


_B64_CHAR = re.compile(rb"[^A-Za-z0-9+/=]")


class Base64Spool:
    """Decodes Base64 text as it arrives into a spool; a text sink for the streaming parser.

    A fault is reported with its offset in the Base64 text (whitespace not counted), the same
    whatever the chunking of the input.
    """

    def __init__(self, spool_memory: int = 1 << 20) -> None:
        self.payload = Payload(spool_memory)
        self.error: str | None = None
        self._carry = b""
        self._padded = False
        self._offset = 0  # Base64 characters decoded before the carry

    def write(self, text: str | bytes) -> None:
        if self.error is not None:
            return
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        raw = raw.translate(None, _WS)
        if not raw:
            return
        data = self._carry + raw
        if self._padded:
            self._fail(f"Base64 text continues after its '=' padding at offset {self._offset}")
            return
        cut = len(data) - len(data) % 4
        if cut:
            block = data[:cut]
            try:
                self.payload.write(binascii.a2b_base64(block, strict_mode=True))
            except binascii.Error:
                self._fail(self._locate(block))
                return
            self._padded = block[-1:] == b"="
            self._offset += cut
        self._carry = data[cut:]
        if self._carry and _B64_CHAR.search(self._carry):
            self._fail(self._locate(self._carry))

    def _locate(self, block: bytes) -> str:
        bad = _B64_CHAR.search(block)
        if bad is not None:
            char = block[bad.start() :].decode("utf-8", "replace")[:1]
            return f"not valid Base64: {char!r} at offset {self._offset + bad.start()}"
        pad = block.find(b"=")
        return f"not valid Base64: misplaced '=' padding at offset {self._offset + max(pad, 0)}"

    def _fail(self, reason: str) -> None:
        self.error = reason
        self._carry = b""

    def fail(self, reason: str) -> None:
        """Mark the payload undecodable (e.g. markup inside it); later text is ignored."""
        if self.error is None:
            self._fail(reason)

    def close(self) -> None:
        if self.error is None and self._carry:
            self._fail(
                f"Base64 text is truncated ({len(self._carry)} characters left over at offset "
                f"{self._offset})"
            )
