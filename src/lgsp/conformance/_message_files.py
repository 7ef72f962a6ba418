"""Where the messages of ``lgsp conformance messages`` come from: files, folders, stdin.

Small inputs are read once into memory; large files are streamed by path (the readers take a
path and never hold the whole file); standard input past the in-memory size is spooled to a
temporary file once. Each input comes with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["SUFFIXES", "Source", "opened", "walk"]

#: A message as bytes, or the path of a large file.
Source = bytes | Path
_IN_MEMORY = 8 << 20  # files up to this size are read once into memory; larger ones stream
_CHUNK = 1 << 16

SUFFIXES = (".xml", ".edxml", ".json")


def walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [Path(root, f) for f in sorted(files) if f.lower().endswith(SUFFIXES)]
    return found


@contextmanager
def opened(path: Path | None, stdin: IO[bytes] | None) -> Iterator[tuple[Source, int, str]]:
    """The input as bytes (small) or a file path (large, streamed), its size and SHA-256;
    standard input past the in-memory size is spooled to a temporary file once."""
    digest = hashlib.sha256()
    if path is not None and path.stat().st_size <= _IN_MEMORY:
        data = path.read_bytes()
        digest.update(data)
        yield data, len(data), digest.hexdigest()
        return
    if path is not None:
        size = 0
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        yield path, size, digest.hexdigest()
        return
    assert stdin is not None  # noqa: S101 - no path: standard input
    head = stdin.read(_IN_MEMORY + 1)
    digest.update(head)
    if len(head) <= _IN_MEMORY:
        yield head, len(head), digest.hexdigest()
        return
    with tempfile.TemporaryDirectory(prefix="lgsp-stdin-") as tmp:
        spooled = Path(tmp, "stdin")
        size = len(head)
        with spooled.open("wb") as fh:
            fh.write(head)
            while chunk := stdin.read(_CHUNK):
                digest.update(chunk)
                fh.write(chunk)
                size += len(chunk)
        yield spooled, size, digest.hexdigest()
