"""Page geometry: the visible area of a page, the page tree's order, where a widget sits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from lgsp.errors import SignatureError
from lgsp.signatures._pdf_models import Box

__all__ = ["page_refs", "visible_page_box", "widget_place"]


def visible_page_box(
    writer: IncrementalPdfFileWriter, page_ix: int, *, for_stamp: bool = False
) -> Box:
    """The page's visible area (``/CropBox``, else ``/MediaBox``, inherited through
    ``/Parent``), normalised to x1 < x2, y1 < y2."""
    pages: Any = writer  # pyHanko leaves the page-tree helpers unannotated
    page_ref, _resources = pages.find_page_for_modification(page_ix)
    node = page_ref.get_object()
    found: dict[str, Any] = {}
    while node is not None:
        for key in ("/CropBox", "/MediaBox", "/Rotate"):
            if key not in found and key in node:
                found[key] = node[key]
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    if for_stamp and int(found.get("/Rotate", 0)) % 360 != 0:
        raise SignatureError(
            "the first page is rotated (/Rotate); lgsp places the attachment stamp on "
            "unrotated pages only"
        )
    if "/MediaBox" not in found:
        raise SignatureError(f"page {page_ix} has no /MediaBox; cannot place the stamp")
    box = _normalised(found["/MediaBox"])
    if "/CropBox" in found:  # the crop box, clipped to the media box (ISO 32000-1 §14.11.2)
        crop = _normalised(found["/CropBox"])
        box = (max(box[0], crop[0]), max(box[1], crop[1]), min(box[2], crop[2]),
               min(box[3], crop[3]))  # fmt: skip
    return box


def _normalised(raw: Any) -> Box:
    xa, ya, xb, yb = (float(v) for v in raw)
    return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)


def page_refs(reader: PdfFileReader) -> dict[tuple[int, int], int]:
    """Object id → page index, walking the page tree once (loops and depth guarded)."""
    result: dict[tuple[int, int], int] = {}
    seen: set[tuple[int, int]] = set()

    def walk(node_ref: Any, depth: int) -> Iterator[generic.IndirectObject]:
        if not isinstance(node_ref, generic.IndirectObject) or depth > 64:
            return
        key = (node_ref.idnum, node_ref.generation)
        if key in seen:
            return
        seen.add(key)
        node = cast(Any, node_ref).get_object()
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node.get("/Kids", ()):
                yield from walk(kid, depth + 1)
        else:
            yield node_ref

    for index, ref in enumerate(walk(reader.root.raw_get("/Pages"), 0)):
        result[(ref.idnum, ref.generation)] = index
    return result


def widget_place(field: Any, pages: dict[tuple[int, int], int]) -> tuple[int | None, Box | None]:
    widget = field
    if "/Rect" not in field and field.get("/Kids"):
        widget = field["/Kids"][0].get_object()
    try:
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    except (KeyError, ValueError, TypeError):
        return None, None
    page_ref = widget.raw_get("/P") if "/P" in widget else None
    page = (
        pages.get((page_ref.idnum, page_ref.generation))
        if isinstance(page_ref, generic.IndirectObject)
        else None
    )
    box: Box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    if box[2] - box[0] == 0 or box[3] - box[1] == 0:
        return page, None
    return page, box
