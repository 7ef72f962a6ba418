"""Appearance streams of visible PDF signatures: a PNG image fitted in a box, or stamp text.

pyHanko draws a signature widget through a "stamp style". Its stock styles add borders,
margins and a background opacity of their own; Nghị định 30/2020 Phụ lục I wants the image as
it is (blue signature, red seal, transparent background) and the attachment stamp as plain
Times text, so these two styles draw exactly that and nothing else.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import BaseStamp, BaseStampStyle

from lgsp.errors import SignatureError
from lgsp.signatures import _pdf_fonts

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ImageStampStyle", "TextStampStyle", "load_png", "text_block_size"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_PIXELS = 4096 * 4096
"""A signature or seal image needs far less (a 40 mm seal at 600 dpi is 945 × 945 pixels)."""


def load_png(data: bytes, *, what: str) -> Image.Image:
    """Decode a PNG with a transparent background, ready for :func:`pyhanko` image embedding.

    Nghị định 30/2020 Phụ lục I (items 7d, 8a): signature and seal images are PNG with a
    transparent background, so an image without transparency is refused — it would hide the
    title, the name or the signature beneath it.
    """
    if not isinstance(data, bytes | bytearray) or not bytes(data[:8]) == _PNG_MAGIC:
        raise SignatureError(f"the {what} image must be PNG bytes (Nghị định 30/2020 Phụ lục I)")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - Pillow is a dependency
        raise SignatureError("signature images need Pillow: pip install pillow") from exc
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise SignatureError(
                f"the {what} image is {image.width}×{image.height} pixels; "
                f"lgsp accepts up to {MAX_IMAGE_PIXELS} pixels"
            )
        image.load()
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise SignatureError(f"the {what} image is not a readable PNG: {exc}") from exc
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not transparent:
        raise SignatureError(
            f"the {what} image has no transparent background (no alpha channel or tRNS); "
            "Nghị định 30/2020 Phụ lục I asks for a PNG with a transparent background"
        )
    # Normalise palettes, tRNS and 16-bit images to what the embedder handles exactly.
    return image if image.mode in ("RGBA", "LA") else image.convert("RGBA")


_pdf: Any = generic  # pyHanko's object constructors are unannotated


def _num(value: float) -> bytes:
    return (b"%.3f" % value).rstrip(b"0").rstrip(b".") or b"0"


# ---------------------------------------------------------------------------- image stamp
@dataclass(frozen=True, kw_only=True)
class ImageStampStyle(BaseStampStyle):
    """Draw one image, scaled to fit the widget box with its aspect ratio kept, centred."""

    image: Image.Image
    border_width: int = 0

    def create_stamp(
        self,
        writer: BasePdfFileWriter,
        box: BoxConstraints,
        text_params: dict[str, Any],
    ) -> BaseStamp:
        return _ImageStamp(writer, self, box)


class _ImageStamp(BaseStamp):
    style: ImageStampStyle

    def render(self) -> bytes:
        from pyhanko.pdf_utils.images import pil_image

        image = self.style.image
        box_w, box_h = float(self.box.width), float(self.box.height)
        scale = min(box_w / image.width, box_h / image.height)
        width, height = image.width * scale, image.height * scale
        x, y = (box_w - width) / 2, (box_h - height) / 2
        writer = self._ensure_writer
        self.set_resource(ResourceType.XOBJECT, pdf_name("/Img0"), pil_image(image, writer))
        return b"q %s 0 0 %s %s %s cm /Img0 Do Q" % (_num(width), _num(height), _num(x), _num(y))


# ----------------------------------------------------------------------------- text stamp
_PADDING = 1.0
"""Points between the text and the edge of its widget box."""


def text_block_size(lines: Sequence[str], size: float, leading: float) -> tuple[float, float]:
    """Width and height of the widget box that holds ``lines`` right-aligned."""
    for line in lines:
        _pdf_fonts.encode(line)
    width = max(_pdf_fonts.text_width(line, size) for line in lines)
    height = (len(lines) - 1) * leading + (_pdf_fonts.ASCENT + _pdf_fonts.DESCENT) * size / 1000
    return width + 2 * _PADDING, height + 2 * _PADDING


@dataclass(frozen=True, kw_only=True)
class TextStampStyle(BaseStampStyle):
    """Lines of black Times-Roman text, right-aligned, first line at the top of the box."""

    lines: tuple[str, ...]
    size: float = 10.0
    leading: float = 12.0
    border_width: int = 0

    def create_stamp(
        self,
        writer: BasePdfFileWriter,
        box: BoxConstraints,
        text_params: dict[str, Any],
    ) -> BaseStamp:
        return _TextStamp(writer, self, box)


class _TextStamp(BaseStamp):
    style: TextStampStyle

    def render(self) -> bytes:
        style = self.style
        base_font, base_encoding, differences = _pdf_fonts.font_dictionary_entries()
        diff_array: list[Any] = []
        for code, glyph in differences:
            diff_array += [_pdf.NumberObject(code), pdf_name("/" + glyph)]
        font = _pdf.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/" + base_font),
                pdf_name("/Encoding"): _pdf.DictionaryObject(
                    {
                        pdf_name("/Type"): pdf_name("/Encoding"),
                        pdf_name("/BaseEncoding"): pdf_name("/" + base_encoding),
                        pdf_name("/Differences"): generic.ArrayObject(diff_array),
                    }
                ),
            }
        )
        self.set_resource(ResourceType.FONT, pdf_name("/F1"), self._ensure_writer.add_object(font))
        box_w, box_h = float(self.box.width), float(self.box.height)
        first_baseline = box_h - _PADDING - _pdf_fonts.ASCENT * style.size / 1000
        ops = [b"q 0 g BT"]
        for i, line in enumerate(style.lines):
            x = box_w - _PADDING - _pdf_fonts.text_width(line, style.size)
            y = first_baseline - i * style.leading
            ops.append(
                b"/F1 %s Tf 1 0 0 1 %s %s Tm <%s> Tj"
                % (_num(style.size), _num(x), _num(y), _pdf_fonts.encode(line).hex().encode())
            )
        ops.append(b"ET Q")
        return b" ".join(ops)
