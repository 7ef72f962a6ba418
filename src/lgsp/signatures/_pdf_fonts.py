"""Times-Roman, one of the PDF base-14 fonts, with the Vietnamese letters it can draw.

Nghị định 30/2020 Phụ lục I asks for Times New Roman in the attachment stamp. lgsp does not
ship that font, so the stamp names the base-14 ``Times-Roman`` (every PDF viewer has it or a
metric twin, nothing is embedded). Its glyph set is Adobe Standard Latin: ASCII, the Latin-1
accented letters, and — through a ``/Differences`` entry — ``Ă ă Đ đ``. Letters with a horn or
a dot below (``Ơ Ư Ạ Ậ …``) are not in it; :func:`encode` refuses them with a clear message
rather than drawing a wrong glyph.

Widths are the Times-Roman advance widths (1/1000 em), needed to right-align the text.
"""

from __future__ import annotations

from lgsp.errors import SignatureError

__all__ = ["ASCENT", "DESCENT", "FONT_NAME", "encode", "font_dictionary_entries", "text_width"]

FONT_NAME = "Times-Roman"
ASCENT = 683
"""Height of the tallest ASCII letter above the baseline, 1/1000 em."""
DESCENT = 217
"""Depth below the baseline, 1/1000 em."""

_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
_ASCII_WIDTHS = (
    # space ! " # $ % & ' ( ) * + , - . /
    250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278,
    # 0-9
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500,
    # : ; < = > ? @
    278, 278, 564, 564, 564, 444, 921,
    # A-Z
    722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889,
    722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611,
    # [ \ ] ^ _ `
    333, 278, 333, 469, 500, 333,
    # a-z
    444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778,
    500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444,
    # { | } ~
    480, 200, 480, 541,
)  # fmt: skip

# Latin-1 letters used in Vietnamese (and their neighbours): WinAnsi code = code point.
_LATIN1_WIDTHS = {
    **dict.fromkeys("ÀÁÂÃ", 722), **dict.fromkeys("ÈÉÊ", 611), **dict.fromkeys("ÌÍÎ", 333),
    **dict.fromkeys("ÒÓÔÕ", 722), **dict.fromkeys("ÙÚÛÝ", 722),
    **dict.fromkeys("àáâãèéê", 444), **dict.fromkeys("ìíî", 278),
    **dict.fromkeys("òóôõùúûý", 500),
}  # fmt: skip

# Glyphs outside WinAnsi, placed on codes WinAnsi leaves undefined (0x81, 0x8D, 0x8F, 0x90).
_EXTRA = {"Ă": (0x81, "Abreve", 722), "ă": (0x8D, "abreve", 444),
          "Đ": (0x8F, "Dcroat", 722), "đ": (0x90, "dcroat", 500)}  # fmt: skip

_WIDTHS: dict[str, int] = {
    **dict(zip(_ASCII, _ASCII_WIDTHS, strict=True)),
    **_LATIN1_WIDTHS,
    **{ch: width for ch, (_code, _name, width) in _EXTRA.items()},
}
_CODES: dict[str, int] = {
    **{ch: ord(ch) for ch in _ASCII},
    **{ch: ord(ch) for ch in _LATIN1_WIDTHS},
    **{ch: code for ch, (code, _name, _width) in _EXTRA.items()},
}


def encode(text: str) -> bytes:
    """The font's byte codes for ``text``; refuses characters the font cannot draw."""
    missing = sorted({ch for ch in text if ch not in _CODES})
    if missing:
        shown = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing)
        raise SignatureError(
            f"the stamp text {text!r} has characters the base-14 Times-Roman font cannot draw: "
            f"{shown}; use ASCII, Latin-1 accented letters or Ă ă Đ đ"
        )
    return bytes(_CODES[ch] for ch in text)


def text_width(text: str, size: float) -> float:
    """Advance width of ``text`` at ``size`` points (text already checked by :func:`encode`)."""
    return sum(_WIDTHS[ch] for ch in text) * size / 1000


def font_dictionary_entries() -> tuple[str, str, list[tuple[int, str]]]:
    """Base font, base encoding and the ``/Differences`` (code, glyph name) pairs."""
    differences = sorted((code, name) for code, name, _width in _EXTRA.values())
    return FONT_NAME, "WinAnsiEncoding", differences
