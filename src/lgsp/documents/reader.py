"""Reading edXML packages leniently: whatever real traffic sends, as long as it is XML.

Tolerated, each reported as a note (a :class:`~lgsp.findings.Finding`) on the package:
prefixed or default-namespace elements, un-namespaced elements, any child order, ``cid:``
present or not, attachments as Base64 of a ZIP or of the raw file whatever their label, the
legacy un-namespaced ``Signature``, CRLF, an undeclared ``xlink:`` prefix. Refused with a
typed error: anything that is not well-formed XML (line, column, cause), DTDs and entities,
documents past the limits of :class:`lgsp._xml.XMLLimits`, and XML that is not an edXML
package. Attachments are streamed into spools, never held whole in memory.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from lxml import etree

from lgsp._xml import (
    DEFAULT_LIMITS,
    ParsedXML,
    TextSink,
    XMLLimits,
    parse_bytes,
    parse_chunks,
)
from lgsp.documents._mapping import PackageMapper
from lgsp.documents._specs import CTE, EDXML_NS
from lgsp.documents._spool import CHUNK, Base64Spool
from lgsp.documents.attachments import DEFAULT_MAX_ATTACHMENT_BYTES
from lgsp.documents.models import DocumentPackage, StatusPackage
from lgsp.errors import PackageError

__all__ = [
    "EDXML_NS",
    "Source",
    "package_from_tree",
    "read_document",
    "read_package",
    "read_status",
]


Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
"""Bytes, a path (or XML text starting with '<'), or a binary file object."""


def _chunks_of(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])


MAX_IN_MEMORY = 8 << 20


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes: a file object may return fewer per read (pipes, sockets)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _file_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _parse(source: Source, name: str | None, limits: XMLLimits) -> tuple[ParsedXML, str | None]:
    def sinks(tag: str) -> TextSink | None:
        return Base64Spool(limits.spool_memory) if tag.endswith(CTE) else None

    def stream(chunks: Iterable[bytes], label: str | None) -> ParsedXML:
        return parse_chunks(chunks, source=label, limits=limits, sink_factory=sinks)

    # Whole-document parsing stops at 8 MiB whatever the setting: libxml2 refuses a text node
    # over 10 MB (an attachment of ~7.5 MB) unless its own limits are lifted.
    threshold = min(limits.in_memory_threshold, MAX_IN_MEMORY)
    if isinstance(source, str) and source.lstrip()[:1] == "<":
        source = source.encode("utf-8")
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) <= threshold:
            return parse_bytes(data, source=name, limits=limits), name
        return stream(_chunks_of(data), name), name
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or str(path)
        try:
            size = path.stat().st_size
            if size <= threshold:
                return parse_bytes(path.read_bytes(), source=label, limits=limits), label
            with path.open("rb") as fh:
                return stream(_file_chunks(fh), label), label
        except OSError as exc:
            raise PackageError(
                f"cannot read the file: {exc.strerror or exc}", source=label
            ) from exc
    head = _read_up_to(source, threshold + 1)
    stream_label: str | None = name or cast(str | None, getattr(source, "name", None))
    if len(head) <= threshold:
        return parse_bytes(head, source=stream_label, limits=limits), stream_label
    return stream(itertools.chain([head], _file_chunks(source)), stream_label), stream_label


def read_package(
    source: Source,
    *,
    name: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> DocumentPackage | StatusPackage:
    """Read a document or status package from bytes, a path or a binary file object.

    ``name`` labels errors and notes (defaults to the path). Raises
    :class:`~lgsp.errors.XMLError` (not XML; with line and column),
    :class:`~lgsp.errors.HostileXMLError` (DTD, entities, limits) or
    :class:`~lgsp.errors.PackageError` (XML, but not an edXML package we can read).
    """
    parsed, label = _parse(source, name, limits)
    reader = PackageMapper(parsed, label, limits.spool_memory, max_attachment_bytes)
    pkg = reader.package()
    # Set without re-validation: the reader built both.
    pkg.__dict__["notes"] = reader.notes
    pkg._tree = parsed.root
    return pkg


def package_from_tree(
    root: etree._Element,
    *,
    name: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> DocumentPackage | StatusPackage:
    """The package of a tree already parsed through the gate (e.g. the very tree a signature
    was verified on). Attachment text is moved out of the tree into spools."""
    mapper = PackageMapper(ParsedXML(root=root), name, limits.spool_memory, max_attachment_bytes)
    pkg = mapper.package()
    pkg.__dict__["notes"] = mapper.notes
    pkg._tree = root
    return pkg


def read_document(source: Source, **options: Any) -> DocumentPackage:
    """Read a document package; a status package raises PackageError."""
    pkg = read_package(source, **options)
    if not isinstance(pkg, DocumentPackage):
        raise PackageError(
            "this is a status package, not a document package", source=options.get("name")
        )
    return pkg


def read_status(source: Source, **options: Any) -> StatusPackage:
    """Read a status package; a document package raises PackageError."""
    pkg = read_package(source, **options)
    if not isinstance(pkg, StatusPackage):
        pkg.close()
        raise PackageError(
            "this is a document package, not a status package", source=options.get("name")
        )
    return pkg
