"""A team's worth of small case folders for the `queue` / `audit` benchmark.

Each case is what an agent's folder holds before a pack is built: case.toml, a
30-message chat export, a delivered parcel's tracking, two small pre-ship photos
and a listing screenshot. Types, opening times and missing items vary with the
seed, so the queue has urgent, incomplete and complete cases to sort.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

TYPES = ["not_as_described", "quality_defect", "damaged_in_transit", "missing_parts",
         "not_received"]


def _images() -> tuple[list[bytes], bytes]:
    from PIL import Image, ImageDraw

    photos = []
    for seed in range(4):
        rng = random.Random(seed)
        img = Image.new("RGB", (960, 720), (rng.randrange(256), rng.randrange(256), 200))
        draw = ImageDraw.Draw(img)
        for _ in range(60):
            x, y = rng.randrange(960), rng.randrange(720)
            draw.rectangle((x, y, x + rng.randrange(5, 120), y + rng.randrange(5, 90)),
                           fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85)
        photos.append(out.getvalue())
    shot = Image.new("RGB", (750, 1334), "white")
    ImageDraw.Draw(shot).rectangle((40, 80, 710, 700), outline="black", width=3)
    out = io.BytesIO()
    shot.save(out, "PNG")
    return photos, out.getvalue()


def make_team(root: Path, n: int, case_toml: str, chat_text, kuaidi100) -> None:
    """``n`` case folders under ``root`` (the generators come from run.py)."""
    photos, listing = _images()
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = random.Random(i)
        case = root / f"TEAM-{i:05d}"
        for folder in ("chat", "listing", "preship", "tracking"):
            (case / folder).mkdir(parents=True, exist_ok=True)
        number = f"YT{7300000000000 + i}"
        toml = case_toml.format(case_id=f"TEAM-{i:05d}", order_id=f"{3817264530000000000 + i}",
                                buyer=f"买家{i % 997}", tracking_no=number)
        toml = toml.replace('dispute_type = "not_as_described"',
                            f'dispute_type = "{TYPES[i % len(TYPES)]}"')
        # Opened over the ten days before the benchmark's --now: some overdue, some due.
        toml = toml.replace("opened_at = 2024-03-12T10:15:00+08:00",
                            f"opened_at = 2024-03-{3 + rng.randrange(10):02d}T"
                            f"{rng.randrange(24):02d}:15:00+08:00")
        (case / "case.toml").write_text(toml, encoding="utf-8")
        (case / "chat" / "千牛聊天记录.txt").write_text(chat_text(30, i, f"买家{i % 997}"),
                                                    encoding="utf-8")
        (case / "tracking" / "kuaidi100.json").write_text(
            json.dumps(kuaidi100(8, i, number), ensure_ascii=False), encoding="utf-8")
        for k in range(0 if i % 7 == 0 else 2):
            (case / "preship" / f"IMG_20240309_15020{k}.jpg").write_bytes(photos[(i + k) % 4])
        if i % 5:
            (case / "listing" / "Screenshot_2024-03-07-20-11-05.png").write_bytes(listing)
