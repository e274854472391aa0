"""Shared fixtures: small generated case folders and helpers to read PDFs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
NOW = "2024-03-13T09:00:00+08:00"
GENERATED_AT = "2024-03-13T09:30:00+08:00"

CASE_TOML = """\
case_id = "{case_id}"
platform = "taobao"
dispute_type = "{dispute_type}"
order_id = "3817264530012345678"
ordered_at = 2024-03-08T21:40:00+08:00
opened_at = 2024-03-12T10:15:00+08:00
amount = "399.00"
statement = \"\"\"商品发货前已拍照核对颜色，与详情页一致。\"\"\"
[buyer]
nick = "小王爱购物"
[seller]
shop = "杭州好物旗舰店"
nicks = ["杭州好物旗舰店:小美"]
[item]
title = "雾霾蓝羊毛开衫 M码"
[tracking]
carrier = "yuantong"
number = "YT7312345678901"
"""

CHAT = """\
2024-03-12 10:15:32 小王爱购物
你好，收到的衣服颜色和图片不一样，色差太大了
2024-03-12 10:16:02 杭州好物旗舰店:小美
亲，麻烦拍一下照片哦
2024-03-12 10:20:00 杭州好物旗舰店:小美
我们可以给您退款10元补偿
2024-03-12 10:21:00 小王爱购物
好的
"""

KUAIDI100 = {
    "message": "ok", "nu": "YT7312345678901", "ischeck": "1", "com": "yuantong",
    "status": "200", "state": "3",
    "data": [
        {"time": "2024-03-11 18:20:11", "ftime": "2024-03-11 18:20:11",
         "context": "【杭州市】您的快件已签收，签收人：本人签收", "location": "杭州市"},
        {"time": "2024-03-11 09:20:11", "ftime": "2024-03-11 09:20:11",
         "context": "【杭州市】快递员正在派件"},
        {"time": "2024-03-09 18:20:11", "ftime": "2024-03-09 18:20:11",
         "context": "【广州市】圆通速递 已揽收"},
    ],
}


def photo(path: Path, *, when: str | None = None, size=(1600, 1200), seed: int = 0) -> Path:
    """A sharp, photo-like JPEG with an optional EXIF DateTimeOriginal ("2024:03:09 15:02:00")."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randint(90, 200), rng.randint(90, 200), rng.randint(90, 200)))
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(300):
        draw.line([(rng.randint(0, w), rng.randint(0, h)), (rng.randint(0, w), rng.randint(0, h))],
                  fill=tuple(rng.randint(0, 255) for _ in range(3)), width=2)
    exif = Image.Exif()
    if when:
        exif.get_ifd(0x8769)[36867] = when
        exif.get_ifd(0x8769)[36881] = "+08:00"
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=85, exif=exif)
    return path


def make_case(root: Path, *, case_id: str = "TB-TEST-0001", dispute_type: str = "not_as_described",
              chat: str = CHAT, photos: int = 3, listing: bool = True, tracking: bool = True,
              extra_toml: str = "") -> Path:
    case = root / case_id
    for folder in ("chat", "listing", "preship", "tracking", "returns", "reports", "other"):
        (case / folder).mkdir(parents=True, exist_ok=True)
    (case / "case.toml").write_text(CASE_TOML.format(case_id=case_id, dispute_type=dispute_type)
                                    + extra_toml, encoding="utf-8")
    (case / "chat" / "千牛聊天记录.txt").write_text(chat, encoding="utf-8")
    for i in range(photos):
        photo(case / "preship" / f"IMG_20240309_15020{i}.jpg", when=f"2024:03:09 15:02:0{i}", seed=i)
    if listing:
        shot = Image.new("RGB", (750, 1334), "white")
        ImageDraw.Draw(shot).rectangle((40, 80, 710, 700), outline="black", width=3)
        shot.save(case / "listing" / "Screenshot_2024-03-07-20-11-05.png")
    if tracking:
        (case / "tracking" / "kuaidi100.json").write_text(
            json.dumps(KUAIDI100, ensure_ascii=False), encoding="utf-8")
    return case


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file's SHA-256 and mode: the case folder must be byte-identical after a run."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest() + \
                f":{p.stat().st_mode:o}:{p.stat().st_mtime_ns}"
    return out


def pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def outline_pages(reader) -> dict[str, int]:
    """Every outline entry's title -> the index of the page it points at."""
    def flat(outline):
        for entry in outline:
            if isinstance(entry, list):
                yield from flat(entry)
            else:
                yield entry.title, reader.get_destination_page_number(entry)

    return dict(flat(reader.outline))


def pdf_fonts(path: Path) -> dict[str, bool]:
    """Base font name -> whether a font program is embedded."""
    from pypdf import PdfReader

    fonts: dict[str, bool] = {}
    for page in PdfReader(path).pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            name = str(font.get("/BaseFont"))
            embedded = False
            for desc in [font.get("/FontDescriptor")] + [
                    d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts", [])]:
                if desc is not None:
                    desc = desc.get_object()
                    embedded |= any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[name] = fonts.get(name, False) or embedded
    return fonts


def pytest_configure(config):
    # Tests never touch the user's real cache.
    os.environ["EVIDENCEPACK_CACHE"] = tempfile.mkdtemp(prefix="evidencepack-test-cache-")


@pytest.fixture
def case_dir(tmp_path) -> Path:
    return make_case(tmp_path / "cases")
