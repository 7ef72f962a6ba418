"""Vietnamese accent-insensitive folding of names, for matching and indexing.

A name and a query meet in one folded form: Unicode marks stripped (NFC and NFD input fold
alike, and so do the old and new tone placements ``Hoà``/``Hòa``), ``đ``/``Đ`` read as ``d``
(it is a letter of its own, not a ``d`` with a mark, so NFD leaves it whole), case folded,
punctuation dropped. The common administrative abbreviations are one word whichever way they
are written: ``Ủy ban nhân dân`` and ``UBND`` both fold to ``ubnd``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FoldedName", "fold", "fold_name"]

# Combining marks (U+0300-U+036F: the five Vietnamese tones, the circumflex, breve and horn)
# go; đ/Đ (and the look-alike ð/Ð that OCR and some fonts produce) become d.
_STRIP = dict.fromkeys(range(0x300, 0x370)) | {
    ord("đ"): "d",
    ord("Đ"): "d",
    ord("ð"): "d",
    ord("Ð"): "d",
}
_WORD = re.compile(r"[^\W_]+")

# Phrase -> abbreviation. Only abbreviations that mean one thing in agency and unit names:
# "TT" (thị trấn, trung tâm, thông tư) is left alone.
_ABBREVIATIONS = {
    ("uy", "ban", "nhan", "dan"): "ubnd",
    ("hoi", "dong", "nhan", "dan"): "hdnd",
    ("thanh", "pho"): "tp",
    ("thi", "xa"): "tx",
}
_PHRASES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _phrase, _short in _ABBREVIATIONS.items():
    _PHRASES_BY_FIRST.setdefault(_phrase[0], []).append((_phrase, _short))

# Names repeat the same few thousand words: each distinct spelling is folded once.
_CACHE: dict[str, tuple[str, ...]] = {}
_CACHE_LIMIT = 200_000


def _fold_chunk(chunk: str) -> tuple[str, ...]:
    words = _CACHE.get(chunk)
    if words is None:
        stripped = unicodedata.normalize("NFD", chunk).translate(_STRIP).casefold()
        words = tuple(_WORD.findall(stripped))
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[chunk] = words
    return words


def _words(text: str) -> list[str]:
    return [word for chunk in text.split() for word in _fold_chunk(chunk)]


def fold(text: str) -> str:
    """``text`` without marks, ``đ`` as ``d``, case folded, words joined by single spaces."""
    return " ".join(_words(text))


def _abbreviate(words: list[str]) -> list[str]:
    if _PHRASES_BY_FIRST.keys().isdisjoint(words):
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, short in _PHRASES_BY_FIRST.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.append(short)
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _partial_phrase(words: list[str]) -> str | None:
    """The key with a trailing unfinished phrase abbreviated (``... thanh p`` → ``... tp``),
    for a query being typed; None when it does not end in one."""
    for phrase, short in _ABBREVIATIONS.items():
        for n in range(1, len(phrase) + 1):
            head, tail = words[:-n], words[-n:]
            if len(tail) < n or tail[:-1] != list(phrase[: n - 1]):
                continue
            if phrase[n - 1].startswith(tail[-1]) and (n < len(phrase) or tail[-1] != phrase[-1]):
                return " ".join([*head, short])
    return None


class FoldedName:
    """A name's folded form: ``key`` for exact and prefix matching, ``tokens`` for the index.

    ``key`` writes the known phrases abbreviated (``ubnd tinh nghe an``); ``tokens`` are its
    distinct words; ``typed`` is the key with an unfinished phrase at its end abbreviated
    (``ubnd thanh p`` → ``ubnd tp``), for prefix matching of a query being typed.
    """

    __slots__ = ("key", "tokens", "typed")

    def __init__(self, text: str) -> None:
        words = _abbreviate(_words(text))
        self.key = " ".join(words)
        self.tokens: tuple[str, ...] = tuple(dict.fromkeys(words))
        self.typed = _partial_phrase(words) if words else None


def fold_name(text: str) -> str:
    """The key a name is matched by: folded, known phrases abbreviated (``ubnd tinh nghe an``)."""
    return FoldedName(text).key
