"""Reading PDF input for signing and verifying: bytes, a path or a stream, checked at the door."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from lgsp.errors import SignatureError

__all__ = ["MALFORMED", "PdfInput", "open_reader", "read_pdf"]

PdfInput = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO
"""PDF bytes, the path of a PDF file, or a binary stream positioned at its start."""

MALFORMED = (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError)
"""What pyHanko's parser raises on malformed input: its own PdfError, and plain Python errors
from the places where it trusts the file's structure (an xref line too short, a missing key)."""

_HEADER_WINDOW = 1024
"""ISO 32000-1 §7.5.2 tolerance as readers apply it: ``%PDF-`` within the first 1 KiB."""


def read_pdf(data: PdfInput) -> tuple[bytes, str]:
    """The whole input as bytes and a label for messages; refuses what is not a PDF."""
    label = "<pdf>"
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    elif isinstance(data, str | os.PathLike):
        label = os.fspath(data)
        try:
            raw = Path(data).read_bytes()
        except OSError as exc:
            raise SignatureError(f"{label}: cannot read the file: {exc.strerror or exc}") from exc
    elif hasattr(data, "read"):
        label = str(getattr(data, "name", label))
        raw = data.read()
        if not isinstance(raw, bytes):
            raise SignatureError(f"{label}: the stream must be opened in binary mode")
    else:
        raise SignatureError(f"expected PDF bytes, a path or a binary stream, not {type(data)}")
    if b"%PDF-" not in raw[:_HEADER_WINDOW]:
        start = raw[:16]
        raise SignatureError(
            f"{label}: not a PDF file (no %PDF- header in the first {_HEADER_WINDOW} bytes; "
            f"it starts with {start!r})"
        )
    return raw, label


def open_reader(raw: bytes, label: str) -> PdfFileReader:
    """A strict pyHanko reader over ``raw`` with its default limits for untrusted input."""
    try:
        reader = PdfFileReader(io.BytesIO(raw), strict=True)
        if reader.encrypted:
            raise SignatureError(
                f"{label}: the PDF is encrypted; lgsp signs and verifies unencrypted PDFs only"
            )
        reader.root  # noqa: B018 - resolve the catalogue now, so a broken file fails here
    except MALFORMED as exc:
        raise SignatureError(f"{label}: not a readable PDF: {exc or type(exc).__name__}") from exc
    return reader
