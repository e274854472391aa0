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


def _encode(img, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def export_pages(pdf: Path, out_dir: Path, *, stem: str, max_bytes: int) -> list[PageImage]:
    """Write every page of ``pdf`` as ``STEM-page-NN.jpg`` of at most ``max_bytes``."""
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
        for index in range(len(document)):
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
