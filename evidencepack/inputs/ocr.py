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

from evidencepack.inputs.images import cache_entry, read_cached as read_entry, screenshot_frame, write_cached
from evidencepack.models import OcrLine, OcrText

# Version of what read_cached() returns: bump when the recipe changes (engine
# settings, frame size), so older results are not served.
OCR_VERSION = "1"
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


def engine_version() -> str | None:
    """The installed engine's version, or None when it is not installed."""
    try:
        return metadata.version(ENGINE)
    except metadata.PackageNotFoundError:
        return None


def available() -> bool:
    return engine_version() is not None and _engine() is not None


def recognise(data: bytes) -> OcrText | None:
    """The text lines of a screenshot's bytes, with their boxes on the page frame.
    None when the engine is missing or the image cannot be decoded."""
    engine = _engine()
    frame = screenshot_frame(data) if engine is not None else None
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
                   height=frame.height, lines=lines)


def read_cached(data: bytes, sha256: str, cache_dir: Path) -> tuple[OcrText | None, str | None]:
    """``recognise`` remembered by the bytes' digest; and, when nothing was read,
    why (no engine, or an image that does not decode)."""
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
    result = recognise(data)
    if result is None:
        return None, "text not read: the image cannot be decoded"
    write_cached(entry, result.model_dump(mode="json"))
    return result, None
