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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from lxml import etree

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


_WIDE = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


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
    codec = next((name for magic, name in _WIDE if data.startswith(magic)), None)
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
    if nbytes > limits.max_text_chars and doc.xpath(
        f"boolean(//text()[string-length(.) > {int(limits.max_text_chars)}])"
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
        repaired, notes = _repair_prefixes(data, limits, source)
        try:
            root = etree.fromstring(repaired, new_parser())
        except etree.XMLSyntaxError as again:
            raise _syntax_error(again, source, data[:64]) from again
    _check_tree(root, limits, source, len(data))
    return ParsedXML(root=root, notes=notes)


def parse_fragment(data: bytes | str, *, source: str | None = None) -> etree._Element:
    """Parse a small trusted-size fragment (e.g. a kept Signature block) through the gate."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_bytes(raw, source=source).root


_TAG_REST = re.compile(rb"""(?:[^"'>]|"[^"]*"|'[^']*')*>""")
_TAG_NAME = re.compile(rb"<([^\s/>]+)")
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
_CHAR_REF = re.compile(rb"&#(?:x([0-9a-fA-F]+)|([0-9]+));")
_WELL_KNOWN = {b"xlink": b"http://www.w3.org/1999/xlink", b"xml": b""}
_CONTINUATION = bytes(range(0x80, 0xC0))
INSIDE_CTE = "an element inside the attachment content (ContentTransferEncoded)"


class _Splitter:
    """Splits an XML byte stream into what the tree parser sees and the text of diverted
    elements (edXML attachments), tracking markup just enough to know where text is.

    It also enforces the limits as bytes go by (depth, elements, text length, DOCTYPE) and
    repairs undeclared prefixes by declaring them: with the URI the document itself gave
    that prefix elsewhere (the kit's ``edXML:AttachmentEncoded`` outside the envelope that
    declares ``edXML``), the well-known one (``xlink``), or a placeholder URN.
    """

    def __init__(
        self,
        limits: XMLLimits,
        source: str | None,
        divert: Callable[[str], TextSink | None] | None,
    ) -> None:
        self.limits = limits
        self.source = source
        self.divert = divert
        self.buf = b""
        self.line = 1
        self.depth = 0
        self.elements = 0
        self.text_run = 0
        self.scopes: list[set[bytes]] = [{b"xml"}]
        self.seen: dict[bytes, bytes] = {}
        self.sink: TextSink | None = None
        self.sink_depth = 0
        self.sinks: list[TextSink | None] = []
        self.notes: list[XMLNote] = []
        self.head = b""

    def fail(self, cause: str, *, hostile: bool = True, column: int | None = None) -> XMLError:
        cls = HostileXMLError if hostile else XMLError
        return cls(cause, source=self.source, line=self.line, column=column)

    def feed(self, chunk: bytes) -> bytes:
        """Bytes in, bytes for the parser out; incomplete constructs wait for the next chunk."""
        if not self.head:
            self.head = chunk[:64]
        data = self.buf + chunk if self.buf else chunk
        out: list[bytes] = []
        pos = self._run(data, out, final=False)
        self.buf = data[pos:]
        if len(self.buf) > self.limits.max_text_chars + 65536:
            raise self.fail("a comment, tag or text run longer than the limits allow")
        return b"".join(out)

    def close(self) -> bytes:
        out: list[bytes] = []
        pos = self._run(self.buf, out, final=True)
        out.append(self.buf[pos:])  # an unfinished construct: the parser reports it
        self.buf = b""
        if self.sink is not None:
            self.sink.close()
            self.sink = None
        return b"".join(out)

    def _pass(self, out: list[bytes], piece: bytes) -> None:
        self.line += piece.count(b"\n")
        out.append(piece)

    def _run(self, data: bytes, out: list[bytes], *, final: bool) -> int:
        pos = 0
        n = len(data)
        while pos < n:
            lt = data.find(b"<", pos)
            if lt != pos:
                end = n if lt < 0 else lt
                if self.sink is not None:
                    if lt < 0 and not final:
                        amp = data.rfind(b"&", pos, end)
                        if amp >= 0 and data.find(b";", amp, end) < 0:
                            end = amp  # a character reference cut by the chunk boundary
                    text = data[pos:end]
                    self._divert(text)
                    newlines = text.count(b"\n")
                    self.line += newlines
                    out.append(b"\n" * newlines)  # keeps the parser's line numbers right
                else:
                    # Characters, not bytes: UTF-8 continuation bytes do not start one.
                    self.text_run += len(data[pos:end].translate(None, _CONTINUATION))
                    if self.text_run > self.limits.max_text_chars:
                        raise self.fail(
                            f"a text node longer than {self.limits.max_text_chars} characters"
                        )
                    self._pass(out, data[pos:end])
                pos = end
                if lt < 0:
                    return pos
                continue
            stop = self._markup(data, pos, out, final=final)
            if stop is None:
                return pos
            pos = stop
        return pos

    def _markup(  # noqa: PLR0911 - one exit per kind of XML construct
        self, data: bytes, pos: int, out: list[bytes], *, final: bool
    ) -> int | None:
        """One construct starting with '<'; returns where it ends, or None if incomplete."""
        n = len(data)
        if data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                return None
            self._pass(out, data[pos : end + 3])
            return end + 3
        if data.startswith(b"<![CDATA[", pos):
            end = data.find(b"]]>", pos + 9)
            if end < 0:
                return None
            if self.sink is not None:
                text = data[pos + 9 : end]
                self.sink.write(text)
                self.line += text.count(b"\n")
                out.append(b"\n" * text.count(b"\n"))
            else:
                self._pass(out, data[pos : end + 3])
            return end + 3
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                return None
            self._pass(out, data[pos : end + 2])
            return end + 2
        if data.startswith(b"<!", pos):
            if n - pos < 9 and not final:
                return None
            if data[pos : pos + 9].upper() == b"<!DOCTYPE":
                raise self.fail(
                    "document type declarations (DOCTYPE) are refused: they can declare entities",
                    column=pos - data.rfind(b"\n", 0, pos),
                )
            self._pass(out, data[pos : pos + 2])  # not XML: the parser says why
            return pos + 2
        if data.startswith(b"</", pos):
            end = data.find(b">", pos + 2)
            if end < 0:
                return None
            self._end_tag()
            self._pass(out, data[pos : end + 1])
            return end + 1
        m = _TAG_REST.match(data, pos + 1)
        if m is None:
            if not final:
                return None
            self._pass(out, data[pos:])
            return n
        end = m.end()
        self._pass(out, self._start_tag(data[pos:end]))
        return end

    def _divert(self, text: bytes) -> None:
        assert self.sink is not None  # noqa: S101 - only called in diverted text
        if b"&" in text:
            text = _CHAR_REF.sub(
                lambda m: chr(int(m[1], 16) if m[1] else int(m[2])).encode("utf-8"), text
            )
        self.sink.write(text)

    def _end_tag(self) -> None:
        self.text_run = 0
        if self.sink is not None and self.depth == self.sink_depth:
            self.sink.close()
            self.sink = None
        self.depth -= 1
        if len(self.scopes) > 1:
            self.scopes.pop()

    def _start_tag(self, tag: bytes) -> bytes:
        self.text_run = 0
        if self.sink is not None:
            # Decided alike on both paths: the attachment cannot be decoded; the rest of the
            # package is read (the element goes to the tree, where the XSD reports it too).
            self.sink.fail(INSIDE_CTE)
            self.sink.close()
            self.sink = None
        name_match = _TAG_NAME.match(tag)
        name = name_match[1] if name_match else b""
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise self.fail(f"more than the limit of {self.limits.max_elements} elements")
        closed = tag.endswith(b"/>")
        declared = set(self.scopes[-1])
        attrs = [m[1] for m in _ATTR.finditer(tag, len(name) + 1)]
        for attr in attrs:
            if attr.startswith(b"xmlns:"):
                prefix = attr[6:]
                declared.add(prefix)
                if prefix not in self.seen:
                    value = re.search(
                        rb"xmlns:" + re.escape(prefix) + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag
                    )
                    if value is not None:
                        self.seen[prefix] = value[1] if value[1] is not None else value[2]
        missing = [
            p
            for p in {name.partition(b":")[0] if b":" in name else b""}
            | {a.partition(b":")[0] for a in attrs if b":" in a and not a.startswith(b"xmlns:")}
            if p and p not in declared
        ]
        if missing:
            tag = self._declare(tag, missing, closed)
            declared.update(missing)
        if not closed:
            self.depth += 1
            if self.depth > self.limits.max_depth:
                raise self.fail(f"nesting deeper than {self.limits.max_depth} elements")
            self.scopes.append(declared)
        local = name.rpartition(b":")[2].decode("latin-1")
        if self.divert is not None and local == "ContentTransferEncoded":
            sink = self.divert(local)
            self.sinks.append(sink)
            if closed:
                if sink is not None:
                    sink.close()
            else:
                self.sink = sink
                self.sink_depth = self.depth
        return tag

    def _declare(self, tag: bytes, prefixes: list[bytes], closed: bool) -> bytes:
        decls = b""
        for prefix in sorted(prefixes):
            uri = (
                self.seen.get(prefix)
                or _WELL_KNOWN.get(prefix)
                or (b"urn:lgsp:undeclared:" + prefix)
            )
            decls += b" xmlns:" + prefix + b'="' + uri + b'"'
            self.notes.append(
                XMLNote(
                    "read.undeclared_prefix",
                    f"namespace prefix {prefix.decode('latin-1')!r} used without a declaration; "
                    f"read as {uri.decode('latin-1')}",
                    self.line,
                )
            )
        cut = len(tag) - (2 if closed else 1)
        return tag[:cut].rstrip() + decls + tag[cut:]


_DECL_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def _as_utf8(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """UTF-16 and UTF-32 documents, transcoded to UTF-8 as they stream, their declaration
    amended to say so; every other encoding passes unchanged (markup is ASCII in all the
    8-bit ones, which is all the splitter relies on)."""
    it = iter(chunks)
    first = next(it, b"")
    codec = next((name for magic, name in _WIDE if first.startswith(magic)), None)
    if codec is None:
        yield first
        yield from it
        return
    decoder = codecs.getincrementaldecoder(codec)()
    head = decoder.decode(first).encode("utf-8")
    yield _DECL_ENCODING.sub(rb"\g<1>\g<2>UTF-8\g<2>", head, count=1)
    for chunk in it:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _repair_prefixes(
    data: bytes, limits: XMLLimits, source: str | None
) -> tuple[bytes, list[XMLNote]]:
    """The document with undeclared prefixes declared (see :class:`_Splitter`)."""
    splitter = _Splitter(limits, source, divert=None)
    repaired = b"".join(splitter.feed(chunk) for chunk in _as_utf8([data])) + splitter.close()
    return repaired, splitter.notes


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
    splitter = _Splitter(limits, source, divert=sink_factory)
    parser = new_parser()
    total = 0
    try:
        for chunk in _as_utf8(chunks):
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
    return ParsedXML(root=root, notes=splitter.notes, sinks=sinks)
