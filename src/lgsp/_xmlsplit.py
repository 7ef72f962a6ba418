"""The byte-level splitter in front of lxml's streaming tree builder.

It follows the markup of an XML byte stream just enough to know where text is — tags (with
quoted attribute values), comments, CDATA, processing instructions — so that the Base64 text
of edXML attachments can go to decoders instead of the tree, while lxml's own C parser builds
everything else, faithfully (prefixes included) and with its own error reporting. On the way it
enforces the gate's limits and repairs undeclared namespace prefixes.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from lgsp.errors import HostileXMLError, XMLError

if TYPE_CHECKING:
    from lgsp._xml import TextSink, XMLLimits

__all__ = ["INSIDE_CTE", "WIDE_ENCODINGS", "Splitter", "as_utf8", "repair_prefixes"]

WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


_TAG_REST = re.compile(rb"""(?:[^"'>]|"[^"]*"|'[^']*')*>""")
_TAG_NAME = re.compile(rb"<([^\s/>]+)")
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
_CHAR_REF = re.compile(rb"&#(?:x([0-9a-fA-F]+)|([0-9]+));")
_WELL_KNOWN = {b"xlink": b"http://www.w3.org/1999/xlink", b"xml": b""}
_CONTINUATION = bytes(range(0x80, 0xC0))
INSIDE_CTE = "an element inside the attachment content (ContentTransferEncoded)"


class Splitter:
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
        self.notes: list[tuple[str, str, int]] = []  # (rule, message, line)
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
            message = (
                f"namespace prefix {prefix.decode('latin-1')!r} used without a declaration; "
                f"read as {uri.decode('latin-1')}"
            )
            self.notes.append(("read.undeclared_prefix", message, self.line))
        cut = len(tag) - (2 if closed else 1)
        return tag[:cut].rstrip() + decls + tag[cut:]


_DECL_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def as_utf8(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """UTF-16 and UTF-32 documents, transcoded to UTF-8 as they stream, their declaration
    amended to say so; every other encoding passes unchanged (markup is ASCII in all the
    8-bit ones, which is all the splitter relies on)."""
    it = iter(chunks)
    first = next(it, b"")
    codec = next((name for magic, name in WIDE_ENCODINGS if first.startswith(magic)), None)
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


def repair_prefixes(
    data: bytes, limits: XMLLimits, source: str | None
) -> tuple[bytes, list[tuple[str, str, int]]]:
    """The document with undeclared prefixes declared (see :class:`_Splitter`)."""
    splitter = Splitter(limits, source, divert=None)
    repaired = b"".join(splitter.feed(chunk) for chunk in as_utf8([data])) + splitter.close()
    return repaired, splitter.notes
