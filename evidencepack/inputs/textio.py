"""Reading user text files whose encoding we must detect, not assume.

Exports from Chinese Windows tools are often GBK/GB18030 or UTF-16; a BOM is
trusted first, strict UTF-8 next (it almost never decodes other encodings by
accident), and only then charset-normalizer's guess among the Chinese codecs.
"""

from __future__ import annotations

import codecs
import csv
import tomllib
from pathlib import Path

from charset_normalizer import from_bytes

from evidencepack.errors import InputError
from evidencepack.inputs.safeio import LIMITS, read_regular

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

# What Chinese e-commerce exports are actually written in; a detector left to
# roam picks exotic single-byte codecs for short GBK files.
_CANDIDATES = ["gb18030", "utf_16_le", "utf_16_be", "big5"]


def detect_encoding(data: bytes) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A file cut mid-character is still UTF-8: only its last sequence is short.
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            return "utf-8"
    if _looks_like_utf16(data):
        # ASCII and most CJK code units put their zero byte second in LE.
        sample = data[:4000]
        return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    best = from_bytes(data[:200_000], cp_isolation=_CANDIDATES).best()
    if best is not None:
        return best.encoding
    return "gb18030"


def _looks_like_utf16(data: bytes) -> bool:
    sample = data[:4000]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) / 2
    return max(zeros_even, zeros_odd) > half * 0.3


def decode_text(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode ``data``; returns (text, encoding). Undecodable bytes become U+FFFD.

    A file cut mid-character should still yield its readable lines, so we
    replace rather than fail; the encoding is reported so a warning can say it.
    """
    encoding = detect_encoding(data)
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError as exc:  # pragma: no cover - detector named a codec Python lacks
        raise InputError(f"cannot decode text ({exc})", path=path) from exc
    text = text.lstrip("\ufeff")
    return text, encoding


def read_text(path: Path, *, display: str | None = None) -> tuple[str, str]:
    # A regular file within the text limit: a FIFO named as a checklist folder's
    # file must not hang the run, nor a 2 GB file be read whole.
    data = read_regular(path, limit=LIMITS["files"]["max_text_bytes"], display=display or path)
    return decode_text(data, display or path)


def load_toml(path: Path, *, display: str | None = None, error=InputError) -> dict:
    text, _ = read_text(path, display=display)
    try:
        return tomllib.loads(text)
    except RecursionError as exc:  # tomllib recurses once per nested array or table
        raise error("not valid TOML: nested too deeply", path=display or path,
                    remedy="remove the deeply nested value") from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts "(at line N, column M)" in its message; keep it, it is the clue.
        raise error(f"not valid TOML: {exc}", path=display or path,
                    remedy="fix the syntax at that line") from exc


# What the export tools and spreadsheets here separate columns with: Excel's comma,
# a tab when pasted, ; in European locales, a full-width ，, and | from some couriers.
DELIMITERS = (",", "\t", ";", "，", "|")


def split_row(line: str, delimiter: str) -> list[str]:
    """One line as CSV cells (quotes honoured); [] when it is not CSV at all."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def delimiter_of(header: str) -> str:
    """The delimiter that splits a header line into the most columns (a comma on a tie):
    chat, tracking and refund exports all guess the same way."""
    return max(DELIMITERS, key=lambda d: (len(split_row(header, d)) if d in header else 0,
                                          -DELIMITERS.index(d)))
