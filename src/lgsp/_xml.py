"""The single hardened XML gate: every parse in lgsp goes through here.

What it refuses, whatever the caller asks: document type declarations (so no internal or
external entities, no billion-laughs), network access, documents past the configured size,
depth or element-count limits. What it tolerates, because real traffic needs it: an undeclared
namespace prefix on an attribute or element (the official VXP kit's own ``edoc.edxml`` carries
``xlink:href`` with no declaration; the kit's reader accepts it), reported as a note.

Two paths give the same result (an lxml tree plus notes):

* :func:`parse_bytes` parses small documents in C, for speed (a 5 KB header in ~65 µs);
* :func:`parse_chunks` streams a large document through a SAX target, handing the text of
  selected elements (edXML attachments) to sinks instead of keeping it in memory, so a package
  with a 200 MB attachment is read in bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from lgsp.errors import HostileXMLError, XMLError

__all__ = [
    "DEFAULT_LIMITS",
    "ParsedXML",
    "TextSink",
    "XMLLimits",
    "XMLNote",
    "new_parser",
    "parse_bytes",
    "parse_chunks",
    "parse_fragment",
]


@dataclass(frozen=True, slots=True)
class XMLLimits:
    """Limits the gate enforces. Defaults suit edXML packages with large attachments."""

    max_bytes: int = 1 << 30
    """Largest document accepted, in bytes (1 GiB: a ~750 MB attachment once in Base64)."""
    max_depth: int = 48
    """Deepest element nesting (edXML needs 8; the XML-DSig block about 6 more)."""
    max_elements: int = 100_000
    """Most elements in one document."""
    max_text_chars: int = 4 << 20
    """Longest text held in memory for one element; streamed elements are exempt."""
    in_memory_threshold: int = 2 << 20
    """Documents up to this size are parsed as a whole in C; larger ones are streamed."""
    spool_memory: int = 1 << 20
    """Streamed attachment bytes kept in memory before they spill to a temporary file."""


DEFAULT_LIMITS = XMLLimits()


@dataclass(frozen=True, slots=True)
class XMLNote:
    """Something the gate tolerated, for the caller to report as a finding."""

    rule: str
    message: str
    line: int | None = None


@dataclass(slots=True)
class ParsedXML:
    """A parsed document: its root element and what was tolerated on the way."""

    root: etree._Element
    notes: list[XMLNote] = field(default_factory=list)
    sinks: dict[etree._Element, TextSink] = field(default_factory=dict)
    """For streamed parses: the sink that received each selected element's text."""


class TextSink(Protocol):
    """Receives the text of an element the streaming parser does not keep in memory."""

    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


SinkFactory = Callable[[str], "TextSink | None"]
"""Called with an element's tag (``{ns}local``); returns a sink to stream its text, or None."""


def new_parser(*, target: object | None = None) -> etree.XMLParser:
    """A parser with every dangerous feature off. One per parse: lxml's error log accumulates."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=target is not None,  # streamed: our own target enforces the limits
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
        target=target,
    )


_UNDECLARED_NS = "NS_ERR_UNDEFINED_NAMESPACE"
_XML_START = re.compile(rb"\s*(?:\xef\xbb\xbf)?\s*<")


def _leading_junk_cause(head: bytes) -> str | None:
    """Explain a document that does not start with markup (e.g. ``1212<?xml``)."""
    if _XML_START.match(head) or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    shown = head[:16]
    return (
        f"content before the XML declaration or root element ({shown!r}); "
        "a package must start with '<?xml' or '<'"
    )


def _check_prolog(data: bytes, source: str | None) -> None:
    """Refuse a DOCTYPE before the parser sees it (defence in depth: the tree is checked too)."""
    pos = 0
    n = len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        pos = 3
    while pos < n:
        while pos < n and data[pos] in b" \t\r\n":
            pos += 1
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos)
            pos = n if end < 0 else end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos)
            pos = n if end < 0 else end + 3
        elif data.startswith(b"<!DOCTYPE", pos) or data.startswith(b"<!doctype", pos):
            line = data.count(b"\n", 0, pos) + 1
            raise HostileXMLError(
                "document type declarations (DOCTYPE) are refused: they can declare entities",
                source=source,
                line=line,
                column=pos - data.rfind(b"\n", 0, pos),
            )
        else:
            return


def _syntax_error(exc: etree.XMLSyntaxError, source: str | None, head: bytes) -> XMLError:
    line, column = exc.position if exc.position else (None, None)
    cause = _leading_junk_cause(head) or exc.msg or str(exc)
    if "Excessive depth" in cause or "huge input lookup" in cause.lower():
        return HostileXMLError(cause, source=source, line=line, column=column)
    return XMLError(cause, source=source, line=line, column=column)


def _first_fatal(log: Any) -> Any | None:
    for entry in log:
        if entry.level_name in ("ERROR", "FATAL") and entry.type_name != _UNDECLARED_NS:
            return entry
    return None


def _ns_notes(log: Any) -> list[XMLNote]:
    return [
        XMLNote("read.undeclared_prefix", entry.message.strip(), entry.line)
        for entry in log
        if entry.type_name == _UNDECLARED_NS
    ]


_DEPTH_CHECKS: dict[int, etree.XPath] = {}


def _check_tree(root: etree._Element, limits: XMLLimits, source: str | None) -> None:
    doc = root.getroottree()
    if doc.docinfo.internalDTD is not None or doc.docinfo.doctype:
        raise HostileXMLError("document type declarations (DOCTYPE) are refused", source=source)
    # One C-speed XPath per limit: a path of max_depth+1 wildcard steps exists only when the
    # tree is too deep; counting elements is a single pass.
    deep = _DEPTH_CHECKS.get(limits.max_depth)
    if deep is None:
        deep = etree.XPath("boolean(/" + "/".join(["*"] * (limits.max_depth + 1)) + ")")
        _DEPTH_CHECKS[limits.max_depth] = deep
    if deep(doc):
        raise HostileXMLError(f"nesting deeper than {limits.max_depth} elements", source=source)
    count = int(doc.xpath("count(//*)"))  # type: ignore[arg-type]
    if count > limits.max_elements:
        raise HostileXMLError(
            f"{count} elements, more than the limit of {limits.max_elements}", source=source
        )


def parse_bytes(
    data: bytes, *, source: str | None = None, limits: XMLLimits = DEFAULT_LIMITS
) -> ParsedXML:
    """Parse a whole document held in memory. Raises XMLError / HostileXMLError."""
    if len(data) > limits.max_bytes:
        raise HostileXMLError(
            f"document of {len(data)} bytes exceeds the limit of {limits.max_bytes}", source=source
        )
    _check_prolog(data, source)
    parser = new_parser()
    try:
        root = etree.fromstring(data, parser)
        notes: list[XMLNote] = []
    except etree.XMLSyntaxError as exc:
        # The parser's own log: the exception's log can carry entries of earlier parses.
        if _first_fatal(parser.error_log) is not None or _UNDECLARED_NS not in {
            e.type_name for e in parser.error_log
        }:
            raise _syntax_error(exc, source, data[:64]) from exc
        # An undeclared prefix is only a namespace error; re-read in recovery mode and accept
        # the result only when nothing else went wrong.
        recovering = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, recover=True
        )
        try:
            root = etree.fromstring(data, recovering)
        except etree.XMLSyntaxError:  # pragma: no cover - recovery failing outright
            raise _syntax_error(exc, source, data[:64]) from exc
        fatal = _first_fatal(recovering.error_log)
        if fatal is not None or root is None:
            raise XMLError(
                fatal.message.strip() if fatal is not None else str(exc),
                source=source,
                line=fatal.line if fatal is not None else None,
                column=fatal.column if fatal is not None else None,
            ) from exc
        notes = _ns_notes(recovering.error_log)
    _check_tree(root, limits, source)
    return ParsedXML(root=root, notes=notes)


def parse_fragment(data: bytes | str, *, source: str | None = None) -> etree._Element:
    """Parse a small trusted-size fragment (e.g. a kept Signature block) through the gate."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_bytes(raw, source=source).root


class _StreamTarget:
    """SAX target: builds the tree in C through TreeBuilder, enforcing limits as it goes,
    and diverts the text of selected elements to sinks."""

    def __init__(self, limits: XMLLimits, sink_factory: SinkFactory, source: str | None):
        self.builder = etree.TreeBuilder()
        self.limits = limits
        self.sink_factory = sink_factory
        self.source = source
        self.depth = 0
        self.elements = 0
        self.text_chars = 0
        self.sink: TextSink | None = None
        self.sink_depth = 0
        self.pending: list[TextSink] = []
        self.sinks: dict[etree._Element, TextSink] = {}

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise HostileXMLError(
            "document type declarations (DOCTYPE) are refused: they can declare entities",
            source=self.source,
        )

    def start(self, tag: str, attrib: dict[str, str], nsmap: dict[str, str] | None = None) -> None:
        self.depth += 1
        self.elements += 1
        self.text_chars = 0
        if self.depth > self.limits.max_depth:
            raise HostileXMLError(
                f"nesting deeper than {self.limits.max_depth} elements", source=self.source
            )
        if self.elements > self.limits.max_elements:
            raise HostileXMLError(
                f"more than the limit of {self.limits.max_elements} elements", source=self.source
            )
        if self.sink is not None:
            raise XMLError(f"element {tag} inside streamed text content", source=self.source)
        ns = {(k or None): v for k, v in nsmap.items()} if nsmap else None
        self.builder.start(tag, attrib, ns)  # type: ignore[arg-type]
        self.sink = self.sink_factory(tag)
        self.sink_depth = self.depth

    def end(self, tag: str) -> etree._Element:
        element = self.builder.end(tag)
        if self.sink is not None and self.depth == self.sink_depth:
            self.sink.close()
            self.sinks[element] = self.sink
            self.sink = None
        self.depth -= 1
        self.text_chars = 0
        return element

    def data(self, text: str) -> None:
        if self.sink is not None:
            self.sink.write(text)
            return
        self.text_chars += len(text)
        if self.text_chars > self.limits.max_text_chars:
            raise HostileXMLError(
                f"a text node longer than {self.limits.max_text_chars} characters",
                source=self.source,
            )
        self.builder.data(text)

    def comment(self, text: str) -> None:
        self.builder.comment(text)

    def pi(self, target: str, data: str | None = None) -> None:
        self.builder.pi(target, data)

    def close(self) -> etree._Element:
        return self.builder.close()


def parse_chunks(
    chunks: Iterable[bytes],
    *,
    source: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
    sink_factory: SinkFactory = lambda _tag: None,
) -> ParsedXML:
    """Stream a document chunk by chunk; text of elements chosen by ``sink_factory`` goes to
    their sinks instead of the tree. Raises XMLError / HostileXMLError."""
    target = _StreamTarget(limits, sink_factory, source)
    parser = new_parser(target=target)
    total = 0
    head = b""
    try:
        for chunk in chunks:
            if not head:
                head = chunk[:64]
                _check_prolog(chunk[:4096], source)
            total += len(chunk)
            if total > limits.max_bytes:
                raise HostileXMLError(
                    f"document exceeds the limit of {limits.max_bytes} bytes", source=source
                )
            parser.feed(chunk)
        root: etree._Element = parser.close()
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, source, head) from exc
    fatal = _first_fatal(parser.error_log)
    if fatal is not None:
        raise XMLError(fatal.message.strip(), source=source, line=fatal.line, column=fatal.column)
    return ParsedXML(root=root, notes=_ns_notes(parser.error_log), sinks=target.sinks)
