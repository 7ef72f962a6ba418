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

import codecs
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from lxml import etree

from lgsp._xmlsplit import INSIDE_CTE, WIDE_ENCODINGS, Splitter, as_utf8, repair_prefixes
from lgsp.errors import HostileXMLError, XMLError

__all__ = [
    "DEFAULT_LIMITS",
    "INSIDE_CTE",
    "ParsedXML",
    "TextSink",
    "XMLLimits",
    "XMLNote",
    "new_parser",
    "parse_bytes",
    "parse_chunks",
    "parse_fragment",
    "parse_whole",
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
    """Documents up to this size (at most 8 MiB) are parsed as a whole in C; larger ones are
    streamed."""
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
    """Receives the text of an element the streaming parser does not keep in memory: raw
    bytes of the document (character references already resolved)."""

    def write(self, text: bytes) -> None: ...

    def fail(self, reason: str) -> None: ...

    def close(self) -> None: ...


SinkFactory = Callable[[str], "TextSink | None"]
"""Called with an element's tag (``{ns}local``); returns a sink to stream its text, or None."""


def new_parser(*, target: Any = None) -> etree.XMLParser:
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


_ENCODING = re.compile(rb"""^<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: Encodings in which markup can be written without a literal '<' (UTF-7: ``+ADw-!DOCTYPE``):
#: a byte-level prolog check cannot see a DOCTYPE in them, so they are refused outright.
_MASKING_ENCODINGS = frozenset({"utf7", "unicode11utf7", "csunicode11utf7"})


def _check_declared_encoding(declaration: bytes, source: str | None) -> None:
    found = _ENCODING.match(declaration)
    if found is None:
        return
    name = found.group(1).decode("ascii").lower().replace("-", "").replace("_", "")
    if name in _MASKING_ENCODINGS:
        raise HostileXMLError(
            f"the {found.group(1).decode('ascii')} encoding is refused: it can hide markup "
            "(a DOCTYPE and its entities) from the parser's checks",
            source=source,
            line=1,
        )


def check_prolog(data: bytes, source: str | None) -> None:
    """Refuse a DOCTYPE before the parser sees it (defence in depth: the tree is checked too)."""
    codec = next((name for magic, name in WIDE_ENCODINGS if data.startswith(magic)), None)
    if codec is not None:  # UTF-16/32: look at the prolog in UTF-8
        head = data[:16384]
        data = codecs.getincrementaldecoder(codec)(errors="replace").decode(head).encode("utf-8")
    pos = 0
    n = len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        pos = 3
    while pos < n:
        while pos < n and data[pos] in b" \t\r\n":
            pos += 1
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos)
            _check_declared_encoding(data[pos : n if end < 0 else end], source)
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
    line, column = exc.position or (None, None)
    cause = _leading_junk_cause(head) or exc.msg or str(exc)
    if "Excessive depth" in cause or "huge input lookup" in cause.lower():
        return HostileXMLError(cause, source=source, line=line, column=column)
    return XMLError(cause, source=source, line=line, column=column)


def _first_fatal(log: Any) -> Any | None:
    for entry in log:
        if entry.level_name in ("ERROR", "FATAL") and entry.type_name != _UNDECLARED_NS:
            return entry
    return None


_DEPTH_CHECKS: dict[int, etree.XPath] = {}


def _check_tree(root: etree._Element, limits: XMLLimits, source: str | None, nbytes: int) -> None:
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
    # Attachment text (ContentTransferEncoded) is exempt, as on the streaming path: it is the
    # one text meant to be large.
    # (The parent test comes first: counting the characters of a large attachment is slow.)
    if nbytes > limits.max_text_chars and doc.xpath(
        "boolean(//text()[not(parent::*[local-name()='ContentTransferEncoded'])]"
        f"[string-length(.) > {int(limits.max_text_chars)}])"
    ):
        raise HostileXMLError(
            f"a text node longer than {limits.max_text_chars} characters", source=source
        )
    if nbytes < 4 * limits.max_elements:
        return  # every element takes at least four bytes ("<a/>"): the limit cannot be reached
    count = int(cast(float, doc.xpath("count(//*)")))
    if count > limits.max_elements:
        raise HostileXMLError(
            f"{count} elements, more than the limit of {limits.max_elements}", source=source
        )


def _split_notes(result: tuple[bytes, list[tuple[str, str, int]]]) -> tuple[bytes, list[XMLNote]]:
    data, notes = result
    return data, [XMLNote(*n) for n in notes]


def parse_bytes(
    data: bytes, *, source: str | None = None, limits: XMLLimits = DEFAULT_LIMITS
) -> ParsedXML:
    """Parse a whole document held in memory. Raises XMLError / HostileXMLError."""
    if len(data) > limits.max_bytes:
        raise HostileXMLError(
            f"document of {len(data)} bytes exceeds the limit of {limits.max_bytes}", source=source
        )
    check_prolog(data, source)
    parser = new_parser()
    notes: list[XMLNote] = []
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # The parser's own log: the exception's log can carry entries of earlier parses.
        if _first_fatal(parser.error_log) is not None or _UNDECLARED_NS not in {
            e.type_name for e in parser.error_log
        }:
            raise _syntax_error(exc, source, data[:64]) from exc
        # Only undeclared prefixes: declare them the way the streaming path does, read again.
        repaired, notes = _split_notes(repair_prefixes(data, limits, source))
        try:
            root = etree.fromstring(repaired, new_parser())
        except etree.XMLSyntaxError as again:
            raise _syntax_error(again, source, data[:64]) from again
    _check_tree(root, limits, source, len(data))
    return ParsedXML(root=root, notes=notes)


_LOCAL = threading.local()


def _whole_parser() -> etree.XMLParser:
    """One parser per thread for whole-document parses (its error log is reset per run)."""
    parser: etree.XMLParser | None = getattr(_LOCAL, "whole", None)
    if parser is None:
        parser = _LOCAL.whole = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=True,  # attachments are large text nodes; our own limits are checked
            remove_comments=False,
            remove_pis=False,
            collect_ids=False,
        )
    return parser


def parse_whole(
    data: bytes, *, source: str | None = None, limits: XMLLimits = DEFAULT_LIMITS
) -> etree._Element:
    """Parse a whole document in memory, large text nodes included (for signatures, which
    cover every byte). The same refusals as :func:`parse_bytes`; no prefix repair: a digest
    is over what was sent, so a document that is not namespace-well-formed is refused."""
    if len(data) > limits.max_bytes:
        raise HostileXMLError(
            f"document of {len(data)} bytes exceeds the limit of {limits.max_bytes}", source=source
        )
    check_prolog(data, source)
    parser = _whole_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, source, data[:64]) from exc
    _check_tree(root, limits, source, len(data))
    return root


def parse_fragment(data: bytes | str, *, source: str | None = None) -> etree._Element:
    """Parse a small trusted-size fragment (e.g. a kept Signature block) through the gate."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_bytes(raw, source=source).root


def parse_chunks(
    chunks: Iterable[bytes],
    *,
    source: str | None = None,
    limits: XMLLimits = DEFAULT_LIMITS,
    sink_factory: SinkFactory = lambda _tag: None,
) -> ParsedXML:
    """Stream a document chunk by chunk through the C tree builder; the text of attachment
    elements (``ContentTransferEncoded``) goes to sinks made by ``sink_factory`` instead of
    the tree. Raises XMLError / HostileXMLError."""
    splitter = Splitter(limits, source, divert=sink_factory)
    parser = new_parser()
    total = 0
    try:
        for chunk in as_utf8(chunks):
            total += len(chunk)
            if total > limits.max_bytes:
                raise HostileXMLError(
                    f"document exceeds the limit of {limits.max_bytes} bytes", source=source
                )
            parser.feed(splitter.feed(chunk))
        tail = splitter.close()
        if tail:
            parser.feed(tail)
        root: etree._Element = parser.close()
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, source, splitter.head) from exc
    _check_tree(root, limits, source, total)
    # The parser saw exactly the elements the splitter saw: pair them in document order.
    elements = [
        el
        for el in root.iter()
        if isinstance(el.tag, str) and el.tag.rpartition("}")[2] == "ContentTransferEncoded"
    ]
    sinks: dict[etree._Element, TextSink] = {
        element: sink
        for element, sink in zip(elements, splitter.sinks, strict=False)
        if sink is not None
    }
    return ParsedXML(root=root, notes=[XMLNote(*n) for n in splitter.notes], sinks=sinks)
