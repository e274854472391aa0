"""Reading the text of screenshots, offline, remembered by the image's digest.

The engine is RapidOCR (PP-OCR models inside the ``rapidocr-onnxruntime`` wheel,
run on the CPU by onnxruntime): on the labelled Chinese UI screenshots it found
0.957 of the characters where Tesseract's chi_sim found 0.843 (README,
Screenshots). It is the ``ocr`` extra: without it every screenshot is still
shown, hashed and counted, and ``read_cached`` says it could not read it.

Recognition costs a second or two per screenshot, so the result is cached like
the image probes (images.cache_entry): an agent's repeated `check` pays once.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from PIL import Image

from evidencepack.inputs.images import cache_entry, read_cached as read_entry, screenshot_frame, write_cached
from evidencepack.models import OcrLine, OcrText

# Version of what read_cached() returns: bump when the recipe changes (engine
# settings, frame size), so older results are not served.
OCR_VERSION = "2"
ENGINE = "rapidocr-onnxruntime"
INSTALL_HINT = "pip install 'evidencepack[ocr]'"

# The engine's sessions are shared by the photo threads; one recognition at a time
# (onnxruntime already spreads one over the cores), photos decode meanwhile.
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _engine():
    # onnxruntime (1.2x and later on Linux) starts Microsoft's telemetry when it loads:
    # it writes a device id in the working folder (a case folder, perhaps), a session file
    # in the temporary folder and a database in ~/.cache, and may try to send them.
    # Evidence never leaves the machine, and nothing is written outside our output.
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    # Screenshots are upright: the text-direction classifier only costs time.
    return RapidOCR(use_cls=False, print_verbose=False)


@lru_cache(maxsize=1)
def engine_version() -> str | None:
    """The installed engine's version, or None when it is not installed."""
    try:
        return metadata.version(ENGINE)
    except metadata.PackageNotFoundError:
        return None


def available() -> bool:
    return engine_version() is not None and _engine() is not None


def recognise(data: bytes, frame: Image.Image | None = None) -> OcrText | None:
    """The text lines of a screenshot's bytes, with their boxes on the page frame.
    None when the engine is missing or the image cannot be decoded."""
    engine = _engine()
    frame = (frame or screenshot_frame(data)) if engine is not None else None
    if frame is None:
        return None
    import numpy

    pixels = numpy.asarray(frame)[:, :, ::-1]  # the engine reads OpenCV's BGR order
    with _LOCK:
        found, _ = engine(pixels)
    lines = []
    for box, text, score in found or []:
        xs = [int(round(p[0])) for p in box]
        ys = [int(round(p[1])) for p in box]
        lines.append(OcrLine(text=str(text), box=(min(xs), min(ys), max(xs), max(ys)),
                             confidence=round(float(score), 3)))
    return OcrText(engine=f"{ENGINE} {engine_version()}", width=frame.width,
                   height=frame.height, lines=lines, pictures=pictures(frame, lines))


# A picture is at least this share of the width on both sides (a chat's avatars are
# 0.09, a photo sent in it 0.25 or more), and differs from the background by more
# than this in some channel (a white bubble on the phone app's grey differs by 18).
_PICTURE_SIDE = 0.15
_PICTURE_CONTRAST = 24
_CELL = 8  # px of the frame per cell of the grid the regions are found on


def pictures(frame, lines: list[OcrLine]) -> list[tuple[int, int, int, int]]:
    """Boxes of the regions that stand out from the background and hold no text: the
    pictures and stickers a chat screenshot shows where an export says [图片]."""
    small = frame.reduce(_CELL) if min(frame.size) >= _CELL else frame
    w, h = small.size
    colours = small.getcolors(w * h) or []
    if not colours:
        return []
    background = max(colours)[1]
    data = small.load()
    odd = [[max(abs(a - b) for a, b in zip(data[x, y], background)) > _PICTURE_CONTRAST
            for x in range(w)] for y in range(h)]
    texts = [(x0 // _CELL, y0 // _CELL, x1 // _CELL, y1 // _CELL) for x0, y0, x1, y1
             in (ln.box for ln in lines)]
    side = _PICTURE_SIDE * frame.width / _CELL
    seen = [[False] * w for _ in range(h)]
    found = []
    for y in range(h):
        for x in range(w):
            if not odd[y][x] or seen[y][x]:
                continue
            stack, box = [(x, y)], [x, y, x, y]
            seen[y][x] = True
            while stack:
                cx, cy = stack.pop()
                box = [min(box[0], cx), min(box[1], cy), max(box[2], cx), max(box[3], cy)]
                for nx, ny in ((cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)):
                    if 0 <= nx < w and 0 <= ny < h and odd[ny][nx] and not seen[ny][nx]:
                        seen[ny][nx] = True
                        stack.append((nx, ny))
            bx0, by0, bx1, by1 = box
            if bx1 - bx0 + 1 < side or by1 - by0 + 1 < side:
                continue
            if any(tx0 <= bx1 and bx0 <= tx1 and ty0 <= by1 and by0 <= ty1
                   for tx0, ty0, tx1, ty1 in texts):
                continue
            found.append((bx0 * _CELL, by0 * _CELL, (bx1 + 1) * _CELL, (by1 + 1) * _CELL))
    return found


def read_cached(data: bytes, sha256: str, cache_dir: Path, *, frame: Image.Image | None = None
                ) -> tuple[OcrText | None, str | None]:
    """``recognise`` remembered by the bytes' digest; and, when nothing was read,
    why (no engine, or an image that does not decode). ``frame``: the screenshot's
    page frame when the probe has just decoded it."""
    version = engine_version()
    if version is None or _engine() is None:
        return None, f"text not read: no OCR engine installed ({INSTALL_HINT})"
    entry = cache_entry(cache_dir, "ocr", OCR_VERSION, ENGINE, version, sha256)
    cached = read_entry(entry)
    if cached is not None:
        try:
            return OcrText.model_validate(cached), None
        except ValueError:
            pass  # damaged: read again and rewrite it
    result = recognise(data, frame)
    if result is None:
        return None, "text not read: the image cannot be decoded"
    write_cached(entry, result.model_dump(mode="json"))
    return result, None
