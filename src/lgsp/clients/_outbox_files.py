"""Payload files of the outbox: written whole and fsync'd before any row points at them.

A payload is written to a temporary file in the payload folder, fsync'd, renamed to
``<sha256>.edxml`` and the folder fsync'd; only then does the outbox commit the row. A crash
in between leaves an orphan file, never a row without its file; :meth:`PayloadFiles.sweep`
removes orphans once they are old enough not to belong to a put still in progress.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Collection
from pathlib import Path

from lgsp.clients._outbox_store import fsync_dir

__all__ = ["SHA256_RE", "PayloadFiles"]

SHA256_RE = re.compile(r"[0-9a-f]{64}")
_SUFFIX = ".edxml"
_TMP_PREFIX = ".tmp-"
_CHUNK = 1 << 20
# Payloads are official documents: readable by the owner only (the umask may narrow further).
_FILE_MODE = 0o600
_DIR_MODE = 0o700


class PayloadFiles:
    """The payload folder: one ``<sha256>.edxml`` per entry, plus temporaries while writing."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._ready = False

    def path(self, sha: str) -> Path:
        return self.folder / f"{sha}{_SUFFIX}"

    def _prepare(self) -> None:
        if not self._ready:
            if not self.folder.is_dir():
                self.folder.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
                fsync_dir(self.folder.parent)
            self._ready = True

    def _temp(self) -> tuple[Path, int]:
        self._prepare()
        tmp = self.folder / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        return tmp, os.open(tmp, flags, _FILE_MODE)

    def store_bytes(self, sha: str, data: bytes) -> Path:
        """Write ``data`` durably as the payload of ``sha`` (replacing an orphan, same bytes)."""
        tmp, fd = self._temp()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self.publish(tmp, sha)

    def spool(self, source: Path) -> tuple[str, int, Path]:
        """Copy ``source`` to a fsync'd temporary, hashing what is written: (sha, size, temp).

        The hash is taken over the bytes copied, so a file changing while it is read cannot
        leave a payload that does not match its name.
        """
        digest = hashlib.sha256()
        size = 0
        tmp, fd = self._temp()
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digest.hexdigest(), size, tmp

    def publish(self, tmp: Path, sha: str) -> Path:
        """Rename a fsync'd temporary to its final name and make the rename durable."""
        final = self.path(sha)
        try:
            tmp.replace(final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.folder)
        return final

    def discard(self, tmp: Path) -> None:
        tmp.unlink(missing_ok=True)

    def remove(self, shas: Collection[str]) -> int:
        """Delete the payload files of ``shas``; the bytes freed."""
        freed = 0
        for sha in shas:
            freed += max(0, _unlink(self.path(sha)))
        if shas:
            fsync_dir(self.folder)
        return freed

    def sweep(self, keep: Callable[[str], bool], *, older_than: float) -> tuple[int, int]:
        """Delete temporaries and payloads no row keeps, last written before ``older_than``.

        Returns (files removed, bytes freed). The age limit protects a put in progress, whose
        file exists a moment before its row.
        """
        if not self.folder.is_dir():
            return 0, 0
        removed = freed = 0
        for item in os.scandir(self.folder):
            name = item.name
            if name.startswith(_TMP_PREFIX):
                orphan = True
            elif name.endswith(_SUFFIX) and SHA256_RE.fullmatch(name[: -len(_SUFFIX)]):
                orphan = not keep(name[: -len(_SUFFIX)])
            else:
                continue  # not ours: leave it alone
            if orphan and item.stat(follow_symlinks=False).st_mtime < older_than:
                size = _unlink(Path(item.path))
                if size >= 0:
                    removed += 1
                    freed += size
        if removed:
            fsync_dir(self.folder)
        return removed, freed


def _unlink(path: Path) -> int:
    """Delete a file; its size, or -1 when it was already gone."""
    size = -1
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        path.unlink()
    return size
