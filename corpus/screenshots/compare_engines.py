#!/usr/bin/env python3
"""Which OCR engine reads this set best: RapidOCR (the `ocr` extra) against
Tesseract with chi_sim (`apt-get install tesseract-ocr tesseract-ocr-chi-sim`).

For every labelled screenshot: the share of the characters drawn (labels.json
`lines`, or the messages of a chat screen) found in order in the engine's raw
text (longest common subsequence, spaces removed), and the seconds it took.
Raw text, not the tool's reading of it, so the engines are compared alone.
    .venv/bin/python corpus/screenshots/compare_engines.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _lcs(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for ca in a:
        prev = 0
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


def rapidocr(path: Path) -> str:
    from evidencepack.inputs import ocr
    found = ocr.recognise(path.read_bytes())
    return found.text if found else ""


def tesseract(path: Path) -> str:
    return subprocess.run(["tesseract", str(path), "stdout", "-l", "chi_sim", "--psm", "3"],
                          capture_output=True, text=True, check=True).stdout


def main() -> None:
    labels = json.loads((HERE / "labels.json").read_text(encoding="utf-8"))
    rapidocr(HERE / labels[0]["file"])  # the engine's one-off load is not a screenshot's time
    for name, engine in (("rapidocr", rapidocr), ("tesseract chi_sim", tesseract)):
        found = total = 0
        times = []
        for label in labels:
            ref = "".join("".join(m["text"] for m in label["messages"]) if label["kind"] == "chat"
                          else "".join(label["lines"]))
            ref = "".join(ref.split())
            t = time.perf_counter()
            text = engine(HERE / label["file"])
            times.append(time.perf_counter() - t)
            found += _lcs(ref, "".join(text.split()))
            total += len(ref)
        print(f"{name}: characters found {found / total:.3f} of {total}, "
              f"seconds per screenshot median {statistics.median(times):.2f} max {max(times):.2f}")


if __name__ == "__main__":
    main()
