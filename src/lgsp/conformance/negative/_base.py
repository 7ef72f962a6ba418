"""What the corpus is made from: strictly valid messages on fixed dates, and byte edits.

Every negative file is a valid sample with one thing broken, so the finding it must produce is
the one that thing breaks. The dates are fixed (2 May 2024) so that remaking the corpus gives
the same bytes, signed files aside (their keys are made afresh on each run).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lgsp.documents import VIETNAM_TZ, Attachment, DocumentPackage, package_to_bytes
from lgsp.testing import samples

__all__ = [
    "DAY",
    "EDXML_NS",
    "STATUS_AT",
    "document",
    "document_bytes",
    "dump_json",
    "edit",
    "remove_block",
    "status_bytes",
    "to_cp1258",
]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DAY = dt.date(2024, 5, 2)
#: When the receiver answers: the morning after the document was sent.
STATUS_AT = dt.datetime(2024, 5, 3, 9, 0, tzinfo=VIETNAM_TZ)


def document() -> DocumentPackage:
    """The base document: the Government Office to Nghệ An, one small PDF attached."""
    pdf = samples.pdf_bytes(["Cong van so 1234/VPCP-TTDT", "Trien khai ket noi lien thong"])
    return samples.document(
        date=DAY,
        attachments=[
            Attachment.from_bytes(
                "Công văn 1234.pdf",
                pdf,
                content_id="cv-1234-pdf",
                description="Công văn số 1234/VPCP-TTĐT",
            )
        ],
    )


def document_bytes() -> bytes:
    """The base document as the writer emits it (strictly valid, unsigned)."""
    return package_to_bytes(document())


def status_bytes(code: str = "03") -> bytes:
    """A status package from Nghệ An answering the base document."""
    return package_to_bytes(samples.status(document(), code, at=STATUS_AT))


def edit(data: bytes, old: bytes | str, new: bytes | str, *, count: int = 1) -> bytes:
    """``data`` with the first ``count`` occurrences of ``old`` replaced; the text must be
    there (a sample that changed shape must stop the generator, not yield a silent no-op)."""
    before = old.encode("utf-8") if isinstance(old, str) else old
    after = new.encode("utf-8") if isinstance(new, str) else new
    if data.count(before) < count:
        raise ValueError(f"{before[:60]!r} is not in the sample {count} time(s)")
    return data.replace(before, after, count)


def remove_block(data: bytes, start: bytes | str, end: bytes | str) -> bytes:
    """``data`` without the first span from ``start`` to the end of ``end`` (and the line
    break before it)."""
    first = start.encode("utf-8") if isinstance(start, str) else start
    last = end.encode("utf-8") if isinstance(end, str) else end
    i = data.find(first)
    j = data.find(last, i)
    if i < 0 or j < 0:
        raise ValueError(f"{first!r}…{last!r} is not in the sample")
    while i > 0 and data[i - 1 : i] in (b" ", b"\n"):
        i -= 1
    return data[:i] + data[j + len(last) :]


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(data: bytes) -> bytes:
    """UTF-8 text re-encoded in Windows-1258, the Vietnamese code page of old desktop software:
    letters with a vowel mark are precomposed there, tone marks are separate combining bytes."""
    import unicodedata

    out = bytearray()
    for char in data.decode("utf-8"):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        tones = "".join(m for m in parts[1:] if m in _TONES)
        shape = parts[0] + "".join(m for m in parts[1:] if m not in _TONES)
        out += unicodedata.normalize("NFC", shape).encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def dump_json(data: Any) -> bytes:
    """JSON as a portal client writes it: UTF-8, Vietnamese unescaped, indented."""
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
