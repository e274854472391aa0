"""Appended PDF documents: read once, checked page by page, stripped of anything active, stamped onto the pack."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from evidencepack.inputs import safeio
from evidencepack.errors import InputError
from evidencepack.models import EvidenceItem
from evidencepack.inputs.safeio import read_verified

LIMITS = safeio.LIMITS["documents"]

# Keys that make a PDF do something rather than show something: actions,
# scripts, embedded files, form fields, annotations (links, attachments,
# widgets). An appended page keeps only what it draws.
ACTIVE_KEYS = frozenset({"/A", "/AA", "/JS", "/JavaScript", "/OpenAction", "/Annots",
                         "/EmbeddedFiles", "/EF", "/AcroForm", "/URI", "/Launch",
                         "/SubmitForm", "/Next", "/FS", "/RichMedia", "/XFA"})


@dataclass
class Document:
    """One appended PDF as read for the pack: the very bytes its hash names."""

    path: str  # the evidence path (display form)
    label: str
    reader: object  # pypdf.PdfReader over ``data``
    pages: int


class DocumentProblem(Exception):
    """Why a PDF is listed without its pages; the text goes on the exhibit."""


def _limits():
    from pypdf import apply_configuration

    # pypdf stops decoding a stream past this and raises LimitReachedError.
    return apply_configuration(zlib_maximum_output_length=LIMITS["max_stream_bytes"],
                               lzw_maximum_output_length=LIMITS["max_stream_bytes"],
                               run_length_maximum_output_length=LIMITS["max_stream_bytes"],
                               brotli_maximum_output_length=LIMITS["max_stream_bytes"],
                               array_based_stream_maximum_output_length=LIMITS["max_stream_bytes"],
                               stream_decoding_work_maximum_length=LIMITS["max_stream_bytes"] * 2)


def _media_box(page) -> tuple[float, float, float, float]:
    """The page's MediaBox (inherited from its page tree if need be), checked."""
    from pypdf.generic import FloatObject, NumberObject

    node, box, depth = page, None, 0
    while node is not None and box is None and depth < 64:
        box = node.get("/MediaBox")
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    box = box.get_object() if box is not None else None
    if box is None:
        raise DocumentProblem("a page has no MediaBox (page size)")
    try:
        values = [v.get_object() for v in box]
    except TypeError:
        raise DocumentProblem("a page's MediaBox is not an array of four numbers") from None
    if len(values) != 4 or not all(isinstance(v, (FloatObject, NumberObject)) for v in values):
        raise DocumentProblem("a page's MediaBox is not an array of four numbers")
    x0, y0, x1, y1 = (float(v) for v in values)
    w, h = abs(x1 - x0), abs(y1 - y0)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or w < 1 or h < 1:
        raise DocumentProblem(f"a page has a zero or invalid size ({w:g} × {h:g} pt)")
    if max(w, h) > LIMITS["max_page_side"]:
        raise DocumentProblem(f"a page is larger than PDF allows ({w:g} × {h:g} pt)")
    return min(x0, x1), min(y0, y1), w, h


def _deactivate(obj, seen: set[int]) -> None:
    """Drop every active key from ``obj`` and everything it references."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if node.idnum in seen:
                continue
            seen.add(node.idnum)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for key in [k for k in node if k in ACTIVE_KEYS]:
                del node[key]
            stack.extend(v for k, v in node.items() if k != "/Parent")
        elif isinstance(node, ArrayObject):
            stack.extend(node)


def read_document(item: EvidenceItem, case_dir: Path) -> Document:
    """Read, hash-check and check a PDF; DocumentProblem says why it cannot be appended."""
    from pypdf import PdfReader

    try:
        # What is stamped must be what the manifest names.
        data = read_verified(item.source(case_dir), item.sha256, what="PDF",
                             limit=safeio.LIMITS["files"]["max_binary_bytes"])
    except InputError as exc:
        raise DocumentProblem(exc.bare_message) from exc
    total = 0
    try:
        with _limits():
            reader = PdfReader(io.BytesIO(data))
            n = len(reader.pages)
            if n > LIMITS["max_pages"]:
                raise DocumentProblem(f"{n} pages, over the limit of {LIMITS['max_pages']}")
            seen: set[int] = set()
            for page in reader.pages:
                _media_box(page)
                contents = page.get_contents()
                total += len(contents.get_data()) if contents is not None else 0
                if total > LIMITS["max_document_bytes"]:
                    raise DocumentProblem("its pages decode to more than "
                                          f"{LIMITS['max_document_bytes'] // 1_000_000} MB "
                                          "(possible decompression bomb)")
                for key in [k for k in page if k in ACTIVE_KEYS]:
                    del page[key]
                if "/Resources" in page:
                    _deactivate(page.raw_get("/Resources"), seen)
    except DocumentProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on a hostile file
        name = type(exc).__name__
        if name == "LimitReachedError":
            raise DocumentProblem("a page decodes to more than "
                                  f"{LIMITS['max_stream_bytes'] // 1_000_000} MB "
                                  "(possible decompression bomb)") from exc
        first = str(exc).splitlines()[0][:200] if str(exc) else name
        raise DocumentProblem(f"not a readable PDF ({first})") from exc
    if n == 0:
        raise DocumentProblem("the PDF has no pages")
    return Document(path=item.path, label=item.label, reader=reader, pages=n)


def stamp(writer, documents: list[Document], anchors: dict[str, int]) -> None:
    """Lay each document's pages onto the placeholder pages reserved for them.

    The placeholders already carry the pack's header and footer and are counted
    in "page X of Y" and the contents, so the stamped result needs no renumbering.
    """
    from pypdf import Transformation

    with _limits():
        for doc in documents:
            for i, page in enumerate(doc.reader.pages):
                page_index = anchors.get(f"docpage-{doc.label}-{i + 1}")
                if page_index is None:  # pragma: no cover - the template lost a placeholder
                    continue
                target = writer.pages[page_index]
                # The area inside the pack's margins (A4, 20/16/18/16 mm) in points.
                box_w = float(target.mediabox.width) - 2 * 16 * 72 / 25.4
                box_h = float(target.mediabox.height) - (20 + 18) * 72 / 25.4
                left, bottom, w, h = _media_box(page)
                scale = min(box_w / w, box_h / h)
                dx = 16 * 72 / 25.4 + (box_w - w * scale) / 2
                dy = 18 * 72 / 25.4 + (box_h - h * scale) / 2
                target.merge_transformed_page(
                    page, Transformation().translate(-left, -bottom).scale(scale).translate(dx, dy))
