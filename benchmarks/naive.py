#!/usr/bin/env python3
"""The simplest script a seller could write instead of evidencepack (issue 16's peer).

    python benchmarks/naive.py CASE_DIR OUT.pdf            # photos shrunk: uploadable
    python benchmarks/naive.py CASE_DIR OUT.pdf --originals  # photos as they are

One WeasyPrint document: the case id, one ``<p>`` per chat message, a table of
the tracking events, then every photo as an ``<img>``. Shrunk, each photo is
first reduced with Pillow's ``thumbnail((1400, 1400))`` and saved as JPEG q80,
the least a user must do to get under the platforms' upload limits. It imports
nothing from evidencepack; its font is the machine's default Chinese font.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (.+)$")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def default_cjk_font() -> str:
    """The first font fontconfig offers for sans-serif Chinese that covers Chinese.

    ``fc-match 'sans-serif:lang=zh'`` alone can answer DejaVu Sans (its best
    match by family), which has no Chinese; the sorted list's first font whose
    languages include zh is the one a browser would fall back to."""
    out = subprocess.run(["fc-match", "-s", "sans-serif:lang=zh", "--format",
                          "%{family[0]}\t%{lang}\n"], capture_output=True, text=True,
                         timeout=30).stdout
    for line in out.splitlines():
        family, _, langs = line.partition("\t")
        if any(lang.startswith("zh") for lang in langs.split("|")):
            return family
    raise SystemExit("no font with Chinese found by fontconfig")


def messages(case: Path) -> list[tuple[str, str, str]]:
    out = []
    for path in sorted((case / "chat").glob("*.txt")):
        at = sender = None
        for line in path.read_text(encoding="utf-8").splitlines():
            match = HEADER.match(line)
            if match:
                at, sender = match.groups()
            elif line.strip() and at:
                out.append((at, sender, line))
    return out


def events(case: Path) -> list[dict]:
    out = []
    for path in sorted((case / "tracking").glob("*.json")):
        out.extend(json.loads(path.read_text(encoding="utf-8")).get("data", []))
    return sorted(out, key=lambda e: e["time"])


def photos(case: Path) -> list[Path]:
    return sorted(p for folder in ("listing", "preship", "returns")
                  for p in (case / folder).glob("*") if p.suffix.lower() in PHOTO_SUFFIXES)


def shrink(paths: list[Path], work: Path) -> list[Path]:
    from PIL import Image

    out = []
    for i, path in enumerate(paths):
        with Image.open(path) as img:
            img = img.convert("RGB")
            img.thumbnail((1400, 1400))
            target = work / f"{i:03d}.jpg"
            img.save(target, "JPEG", quality=80)
        out.append(target)
    return out


def page(case: Path, images: list[Path], font: str) -> str:
    e = html.escape
    style = (f"body {{ font-family: '{font}'; font-size: 10pt; }} "
             "img { max-width: 100%; max-height: 120mm; } "
             "td { border: 1px solid #999; padding: 2px; }")
    parts = [f"<html><head><meta charset='utf-8'><style>{style}</style></head><body>",
             f"<h1>{e(case.name)}</h1>", "<h2>聊天记录</h2>"]
    parts += [f"<p>{e(at)} {e(sender)}：{e(text)}</p>" for at, sender, text in messages(case)]
    parts.append("<h2>物流轨迹</h2><table>")
    parts += [f"<tr><td>{e(ev['time'])}</td><td>{e(ev.get('context', ''))}</td></tr>"
              for ev in events(case)]
    parts.append("</table><h2>照片</h2>")
    parts += [f"<p><img src='{p.as_uri()}'></p>" for p in images]
    parts.append("</body></html>")
    return "".join(parts)


def main(argv: list[str]) -> int:
    case, output = Path(argv[0]), Path(argv[1])
    originals = "--originals" in argv[2:]
    from weasyprint import HTML

    with tempfile.TemporaryDirectory() as work:
        found = photos(case)
        images = found if originals else shrink(found, Path(work))
        HTML(string=page(case, images, default_cjk_font()), base_url=str(case)).write_pdf(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
