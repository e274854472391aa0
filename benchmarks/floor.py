#!/usr/bin/env python3
"""The floor for a pack: the work no pack of this case can avoid, done as cheaply as we know.

    python benchmarks/floor.py CASE_DIR OUT.pdf     # prints its parts' seconds as JSON

1. the imports a pack needs (evidencepack's API, WeasyPrint, Pillow);
2. every photo decoded once at the scale the pack prints it (a 12 MP JPEG
   straight to 1/4 scale by DCT scaling), on all usable cores;
3. WeasyPrint laying out and writing the same text (every chat message as a
   plain paragraph, the tracking events as a table) in the same font, no photos.

It is a floor, not a product: no checklist, no hashes, no page copies written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    t0 = time.perf_counter()
    import evidencepack.api  # noqa: F401 - part of the floor: a pack cannot skip it
    from PIL import Image
    from weasyprint import HTML

    from evidencepack.inputs.images import Recipe

    sys.path.insert(0, str(HERE))
    import naive

    case, output = Path(argv[0]), Path(argv[1])
    t1 = time.perf_counter()
    limit = Recipe().max_px  # the long side the pack prints a photo at

    def decode(path: Path) -> tuple[int, int]:
        with Image.open(path) as img:
            scale = limit / max(img.size)
            if scale < 1:  # draft() reduces only to a box of the image's own shape
                img.draft("RGB", (int(img.width * scale), int(img.height * scale)))
            img.load()
            return img.size

    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        list(pool.map(decode, naive.photos(case)))
    t2 = time.perf_counter()
    HTML(string=naive.page(case, [], naive.default_cjk_font())).write_pdf(output)
    t3 = time.perf_counter()
    print(json.dumps({"imports_s": t1 - t0, "decode_s": t2 - t1, "layout_s": t3 - t2}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
