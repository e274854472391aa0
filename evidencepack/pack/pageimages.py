"""Exporting a pack's pages as images within a platform's upload limit.

The Taobao/Tmall dispute flow takes GIF/JPG/PNG images, not PDFs (≤ 500 KB for
a refund message image, ≤ 130,000 bytes for the proof attached to a refusal).
Each page keeps the pack's running header (exhibit label) and footer (page X
of Y), so an image uploaded alone still says where it belongs.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from pydantic import BaseModel

from evidencepack.atomic import write_atomic
from evidencepack.errors import SizeLimitError

# Resolution first, then JPEG quality: at 110 dpi and below, 9.5 pt CJK text
# is still legible; blockier JPEG at a higher resolution reads worse.
_DPI_LADDER = (150, 130, 110, 96)
_QUALITY_LADDER = (85, 75, 65, 55)


class PageImage(BaseModel):
    path: Path
    page: int
    size: int
    dpi: int
    quality: int
    order: int = 0  # the place in the upload order, from 1
    shows: str = ""  # what the page holds, in the pack's language


class UploadPlan(BaseModel):
    images: list[PageImage]  # in upload order
    left_out: list[int]  # pages that did not fit the platform's image count
    max_images: int | None
    max_images_assumed: bool
    plan_file: Path


def choose_pages(pages: int, pages_of: dict[str, int], cited: list[str],
                 max_images: int | None) -> tuple[list[int], list[int]]:
    """Pages by priority within the platform's image count: the cover and the
    claims first, then the pages the claims cite, then the rest in order."""
    first = [1]
    points, toc = pages_of.get("points"), pages_of.get("toc")
    if points:
        first += list(range(points, (toc or points + 1)))
    order = list(dict.fromkeys([*first, *(pages_of[a] for a in cited if a in pages_of),
                                *range(1, pages + 1)]))
    if max_images is None:
        return order, []
    return order[:max_images], sorted(order[max_images:])


def page_titles(pages_of: dict[str, int], titles: dict[str, str]) -> dict[int, str]:
    """What each page shows: the sections and exhibits that start on it."""
    out: dict[int, list[str]] = {}
    for anchor, title in titles.items():
        if anchor in pages_of:
            out.setdefault(pages_of[anchor], []).append(title)
    return {page: "、".join(names) for page, names in out.items()}


def _encode(img, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def export_pages(pdf: Path, out_dir: Path, *, stem: str, max_bytes: int,
                 pages: list[int] | None = None) -> list[PageImage]:
    """Write the ``pages`` of ``pdf`` (from 1, in that order; default all) as
    ``STEM-page-NN.jpg`` of at most ``max_bytes`` each."""
    import pypdfium2 as pdfium

    out_dir.mkdir(parents=True, exist_ok=True)
    # A previous, longer pack must not leave pages behind that look current.
    pattern = re.compile(re.escape(stem) + r"-page-\d+\.jpg$")
    for old in out_dir.iterdir():
        if pattern.match(old.name):
            old.unlink()
    document = pdfium.PdfDocument(str(pdf))
    results: list[PageImage] = []
    try:
        width = len(str(len(document)))
        for number in pages or range(1, len(document) + 1):
            index = number - 1
            page = document[index]
            data = None
            for dpi in _DPI_LADDER:
                img = page.render(scale=dpi / 72).to_pil().convert("RGB")
                for quality in _QUALITY_LADDER:
                    data = _encode(img, quality)
                    if len(data) <= max_bytes:
                        break
                if len(data) <= max_bytes:
                    break
            if data is None or len(data) > max_bytes:
                raise SizeLimitError(
                    f"page {index + 1} is {len(data)} bytes as an image even at {dpi} dpi and "
                    f"JPEG quality {quality}, over the {max_bytes}-byte limit",
                    path=pdf, remedy="that page holds too much detail; split its exhibit")
            target = out_dir / f"{stem}-page-{index + 1:0{width}d}.jpg"
            write_atomic(target, data)
            results.append(PageImage(path=target, page=index + 1, size=len(data), dpi=dpi,
                                     quality=quality))
    finally:
        document.close()
    return results


def plan_upload(pdf: Path, out_dir: Path, *, stem: str, max_bytes: int, pages: int,
                pages_of: dict[str, int], cited: list[str], titles: dict[str, str],
                max_images: int | None, assumed: bool, labels: dict[str, str]) -> UploadPlan:
    """Page images in upload order within the platform's count and size limits,
    and ``STEM-upload-plan.txt`` saying what each shows and what did not fit."""
    chosen, left_out = choose_pages(pages, pages_of, cited, max_images)
    images = export_pages(pdf, out_dir, stem=stem, max_bytes=max_bytes, pages=chosen)
    shows = page_titles(pages_of, titles)
    lines = [labels["up_title"].format(n=len(images)) + (
        labels["up_limit"].format(max=max_images) + (labels["assumed"] if assumed else "")
        if max_images else "")]
    for order, image in enumerate(images, 1):
        image.order = order
        image.shows = shows.get(image.page, labels["up_continued"])
        lines.append(labels["up_line"].format(order=order, file=image.path.name,
                                              page=image.page, shows=image.shows))
    if left_out:
        lines.append(labels["up_left_out"].format(pages="、".join(map(str, left_out))))
    plan = out_dir / f"{stem}-upload-plan.txt"
    write_atomic(plan, ("\n".join(lines) + "\n").encode("utf-8"))
    return UploadPlan(images=images, left_out=left_out, max_images=max_images,
                      max_images_assumed=assumed, plan_file=plan)
