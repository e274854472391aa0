#!/usr/bin/env python3
"""Generate the three sample case folders under ``samples/``.

The cases are fictional but realistic Taobao / Tmall after-sales disputes:

* ``colour-mismatch/``  not_as_described (色差), taobao, complete evidence
* ``transit-damage/``   damaged_in_transit, tmall, third party (门卫) signed
* ``not-received/``     not_received, taobao, deliberately incomplete

Everything is deterministic: fixed seeds, fixed timestamps, no clock reads,
so running the script twice yields byte-identical files (given the same
Pillow build and the same CJK font).  Only Pillow is needed::

    python samples/make_samples.py

The script deletes and rewrites the three case folders; it touches nothing
else.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

HERE = Path(__file__).resolve().parent

PHOTO_SIZE = (1600, 1200)
SCREEN_SIZE = (750, 1334)
JPEG_QUALITY = 85


# --------------------------------------------------------------------------
# fonts and text
# --------------------------------------------------------------------------

def _find_cjk_font() -> tuple[str, int] | None:
    """A CJK font file and the face index of its Simplified Chinese face."""
    candidates = [
        ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ]
    for path, index in candidates:
        if Path(path).is_file():
            return path, index
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return None
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    for path in files:
        if Path(path).is_file():
            return path, (2 if "NotoSansCJK" in path or "NotoSerifCJK" in path else 0)
    return None


CJK_FONT = _find_cjk_font()
_font_cache: dict[tuple[int, bool], ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}


def font(size: int, bold: bool = False):
    key = (size, bold)
    if key not in _font_cache:
        if CJK_FONT is None:
            _font_cache[key] = ImageFont.load_default(size=size)
        else:
            path, index = CJK_FONT
            bold_path = path.replace("Regular", "Bold")
            if bold and bold_path != path and Path(bold_path).is_file():
                path = bold_path
            _font_cache[key] = ImageFont.truetype(path, size, index=index)
    return _font_cache[key]


def T(s: str) -> str:
    """Text as drawn: unchanged with a CJK font, Latin-only without one."""
    if CJK_FONT is not None:
        return s
    return "".join(ch for ch in s if ord(ch) < 128)


def text(d: ImageDraw.ImageDraw, xy, s: str, size: int, fill, bold: bool = False,
         anchor: str = "la", stroke: int = 0) -> None:
    d.text(xy, T(s), font=font(size, bold), fill=fill, anchor=anchor,
           stroke_width=stroke, stroke_fill=fill)


def text_width(s: str, size: int, bold: bool = False) -> float:
    return font(size, bold).getlength(T(s))


def wrap(s: str, size: int, width: int) -> list[str]:
    """Character-wise wrap (Chinese has no spaces)."""
    lines, cur = [], ""
    for ch in s:
        if ch == "\n":
            lines.append(cur)
            cur = ""
            continue
        if text_width(cur + ch, size) > width and cur:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        lines.append(cur)
    return lines


# --------------------------------------------------------------------------
# generic image helpers
# --------------------------------------------------------------------------

def gradient(size, start, end, horizontal: bool = False) -> Image.Image:
    """An RGB linear gradient from ``start`` to ``end`` colours."""
    g = Image.linear_gradient("L")
    if horizontal:
        g = g.rotate(90, expand=True).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    g = g.resize(size, Image.Resampling.BILINEAR)
    return ImageOps.colorize(g, start, end)


def shade(c, f: float):
    return tuple(max(0, min(255, int(round(v * f)))) for v in c)


def place(base: Image.Image, layer: Image.Image, xy, angle: float = 0.0,
          shadow: float = 0.45, shadow_offset=(14, 18), shadow_blur: int = 14) -> None:
    """Paste an RGBA ``layer`` onto the RGB ``base`` with a soft drop shadow.

    ``xy`` is where the (rotated) layer's centre goes.  Negative or
    out-of-frame positions are clipped.
    """
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    x = int(xy[0] - layer.width / 2)
    y = int(xy[1] - layer.height / 2)
    alpha = layer.getchannel("A")
    if shadow > 0:
        pad = shadow_blur * 3
        small = ImageOps.expand(alpha, border=pad, fill=0)
        f = 4
        sw, sh = max(1, small.width // f), max(1, small.height // f)
        sm = small.resize((sw, sh), Image.Resampling.BILINEAR)
        sm = sm.filter(ImageFilter.GaussianBlur(max(1, shadow_blur / f)))
        sm = sm.resize(small.size, Image.Resampling.BILINEAR)
        sm = sm.point(lambda v: int(v * shadow))
        dark = Image.new("RGB", sm.size, (28, 18, 10))
        base.paste(dark, (x - pad + shadow_offset[0], y - pad + shadow_offset[1]), sm)
    base.paste(layer.convert("RGB"), (x, y), alpha)


def add_grain(img: Image.Image, rng: random.Random, amplitude: int) -> Image.Image:
    """Luma noise like a phone sensor's, from a seeded generator."""
    w, h = img.size
    raw = Image.frombytes("L", (w, h), rng.randbytes(w * h))
    scale = amplitude / 128.0
    noise = raw.point(lambda v: int(128 + (v - 128) * scale))
    noise = Image.merge("RGB", (noise, noise, noise))
    return ImageChops.add(img, noise, scale=1.0, offset=-128)


def vignette(img: Image.Image, strength: float = 0.35, centre=(0.45, 0.4)) -> Image.Image:
    """Darken the corners, brighter towards ``centre`` (window light)."""
    w, h = img.size
    g = Image.radial_gradient("L")  # 0 centre .. 255 edge, 256x256
    big = g.resize((int(w * 1.6), int(h * 1.6)), Image.Resampling.BILINEAR)
    cx, cy = int(big.width / 2 - centre[0] * w), int(big.height / 2 - centre[1] * h)
    mask = big.crop((cx, cy, cx + w, cy + h)).point(lambda v: int(min(255, v) * strength))
    dark = Image.new("RGB", (w, h), (0, 0, 0))
    return Image.composite(dark, img, mask)


def finish_photo(img: Image.Image, rng: random.Random, grain: int = 3) -> Image.Image:
    img = vignette(img)
    img = img.filter(ImageFilter.GaussianBlur(0.55))  # lens softness; edges stay crisp
    return add_grain(img, rng, grain)


def phone_exif(taken: str, make: str, model: str, size) -> Image.Exif:
    """EXIF as a phone camera writes it; ``taken`` is 'YYYY:MM:DD HH:MM:SS'."""
    exif = Image.Exif()
    exif[0x010F] = make            # Make
    exif[0x0110] = model           # Model
    exif[0x0112] = 1               # Orientation
    exif[0x0131] = f"{model} camera"  # Software
    exif[0x0132] = taken           # DateTime
    ifd = exif.get_ifd(0x8769)
    ifd[36867] = taken             # DateTimeOriginal
    ifd[36868] = taken             # DateTimeDigitized
    ifd[36880] = "+08:00"          # OffsetTime
    ifd[36881] = "+08:00"          # OffsetTimeOriginal
    ifd[36882] = "+08:00"          # OffsetTimeDigitized
    ifd[40962] = size[0]           # PixelXDimension
    ifd[40963] = size[1]           # PixelYDimension
    return exif


def save_photo(img: Image.Image, path: Path, taken: str, make: str, model: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True,
             exif=phone_exif(taken, make, model, img.size))


def save_screen(img: Image.Image, path: Path, colours: int = 48) -> None:
    """Screenshots as few-colour PNGs so they stay small."""
    path.parent.mkdir(parents=True, exist_ok=True)
    q = img.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.NONE)
    q.save(path, "PNG", optimize=True)


# --------------------------------------------------------------------------
# scene pieces: table, paper, handwriting, colour card, tags
# --------------------------------------------------------------------------

def wood_table(rng: random.Random, size=PHOTO_SIZE, base=(156, 108, 68),
               angle: float = 3.0, plank: int = 270) -> Image.Image:
    w, h = size
    W, H = w + 400, h + 400
    img = Image.new("RGB", (W, H), base)
    d = ImageDraw.Draw(img)
    y = 0
    while y < H:
        ph = plank + rng.randint(-30, 30)
        tone = shade(base, rng.uniform(0.88, 1.1))
        d.rectangle([0, y, W, y + ph], fill=tone)
        # grain: long wavy lines along the plank
        for _ in range(30):
            gy = y + rng.uniform(0, ph)
            amp = rng.uniform(2, 9)
            period = rng.uniform(300, 900)
            phase = rng.uniform(0, 6.28)
            col = shade(tone, rng.uniform(0.72, 1.12))
            pts = [(x, gy + amp * math.sin(x / period * 6.28 + phase)) for x in range(0, W + 40, 40)]
            d.line(pts, fill=col, width=rng.choice((1, 1, 2, 3)))
        # a knot now and then
        if rng.random() < 0.5:
            kx, ky = rng.uniform(100, W - 100), y + ph * rng.uniform(0.3, 0.7)
            for r in range(6, 40, 5):
                d.ellipse([kx - r * 2.4, ky - r * 0.7, kx + r * 2.4, ky + r * 0.7],
                          outline=shade(tone, 0.7 + r / 200), width=2)
        # the seam between planks: a crisp dark line and a thin highlight
        d.line([(0, y + ph), (W, y + ph)], fill=shade(tone, 0.38), width=4)
        d.line([(0, y + ph + 4), (W, y + ph + 4)], fill=shade(tone, 1.18), width=1)
        y += ph + 5
    light = gradient((W, H), shade(base, 1.25), shade(base, 0.8))
    img = Image.blend(img, ImageChops.multiply(img, light.point(lambda v: min(255, v + 80))), 0.35)
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC)
    return img.crop((200, 200, 200 + w, 200 + h))


def sticky_note(rng: random.Random, lines: list[str], size=(360, 300),
                paper=(250, 234, 140), ink=(28, 42, 118)) -> Image.Image:
    """A yellow sticky note with a handwritten-looking ballpoint note."""
    w, h = size
    note = gradient((w, h), paper, shade(paper, 0.9)).convert("RGBA")
    d = ImageDraw.Draw(note)
    d.rectangle([0, 0, w - 1, 34], fill=shade(paper, 0.96) + (255,))  # glue strip
    y = 62
    for line in lines:
        x = 26 + rng.uniform(-4, 6)
        for ch in T(line):
            fs = int(rng.uniform(40, 47))
            f = font(fs)
            glyph = Image.new("L", (fs * 2, fs * 2), 0)
            ImageDraw.Draw(glyph).text((fs // 2, fs // 3), ch, font=f, fill=255)
            glyph = glyph.rotate(rng.uniform(-9, 9), resample=Image.Resampling.BICUBIC)
            gx = int(x - fs // 2 + rng.uniform(-2, 2))
            gy = int(y - fs // 3 + rng.uniform(-3, 3))
            note.paste(Image.new("RGBA", glyph.size, ink + (255,)), (gx, gy), glyph)
            x += f.getlength(ch) * rng.uniform(0.86, 0.98) + 2
        y += 76 + rng.uniform(-4, 6)
    return note


def colour_card(rng: random.Random, highlight=("雾霾蓝", (126, 146, 168))) -> Image.Image:
    """A printed colour reference card with crisp swatches."""
    w, h = 600, 430
    card = Image.new("RGBA", (w, h), (246, 246, 242, 255))
    d = ImageDraw.Draw(card)
    d.rectangle([0, 0, w - 1, h - 1], outline=(200, 200, 196), width=2)
    text(d, (24, 18), "标准色卡  COLOR CARD", 26, (30, 30, 30), bold=True)
    text(d, (w - 24, 24), "QH-C07", 20, (90, 90, 90), anchor="ra")
    rows = [
        [(196, 38, 45), (232, 120, 40), (240, 200, 50), (70, 150, 70), (40, 150, 160), (40, 80, 160)],
        [(232, 226, 214), (205, 190, 165), highlight[1], (150, 120, 170), (120, 70, 60), (70, 80, 60)],
        [(250, 250, 250), (205, 205, 205), (160, 160, 160), (115, 115, 115), (70, 70, 70), (20, 20, 20)],
    ]
    labels = [["红", "橙", "黄", "绿", "青", "蓝"],
              ["奶白", "燕麦色", highlight[0], "紫", "棕", "军绿"],
              ["W", "N8", "N6.5", "N5", "N3.5", "B"]]
    sw, gap, top = 80, 14, 66
    for r, row in enumerate(rows):
        for c, col in enumerate(row):
            x0 = 24 + c * (sw + gap)
            y0 = top + r * (sw + 36)
            d.rectangle([x0, y0, x0 + sw, y0 + sw], fill=col)
            if labels[r][c] == highlight[0]:
                d.rectangle([x0 - 4, y0 - 4, x0 + sw + 4, y0 + sw + 4], outline=(20, 20, 20), width=3)
            text(d, (x0 + sw / 2, y0 + sw + 4), labels[r][c], 18, (50, 50, 50), anchor="ma")
    # registration marks
    for cx, cy in ((12, h - 12), (w - 12, h - 12)):
        d.line([(cx - 8, cy), (cx + 8, cy)], fill=(0, 0, 0), width=1)
        d.line([(cx, cy - 8), (cx, cy + 8)], fill=(0, 0, 0), width=1)
    return card


def hang_tag() -> Image.Image:
    w, h = 190, 320
    tag = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(tag)
    d.rounded_rectangle([0, 0, w - 1, h - 1], radius=10, fill=(238, 232, 218, 255),
                        outline=(190, 180, 160, 255), width=2)
    d.ellipse([w / 2 - 9, 14, w / 2 + 9, 32], fill=(0, 0, 0, 0), outline=(150, 140, 120, 255), width=2)
    text(d, (w / 2, 48), "青禾", 34, (40, 40, 40), bold=True, anchor="ma")
    text(d, (w / 2, 90), "QINGHE", 16, (90, 90, 90), anchor="ma")
    d.line([(20, 118), (w - 20, 118)], fill=(120, 110, 100), width=1)
    rows = ["品名：针织开衫", "颜色：雾霾蓝", "号型：M 160/84A", "成分：羊毛30%", "      腈纶70%", "等级：合格品"]
    for i, r in enumerate(rows):
        text(d, (16, 130 + i * 26), r, 16, (40, 40, 40))
    text(d, (w / 2, 292), "¥399.00", 20, (30, 30, 30), bold=True, anchor="ma")
    return tag


def barcode(d: ImageDraw.ImageDraw, rng: random.Random, box, colour=(15, 15, 15)) -> None:
    x0, y0, x1, y1 = box
    x = x0
    while x < x1:
        bw = rng.choice((2, 2, 3, 4, 6))
        if rng.random() < 0.55:
            d.rectangle([x, y0, min(x1, x + bw - 1), y1], fill=colour)
        x += bw


# --------------------------------------------------------------------------
# products
# --------------------------------------------------------------------------

HAZE_BLUE = (126, 146, 168)


def cardigan(width: int, colour=HAZE_BLUE, rng: random.Random | None = None) -> Image.Image:
    """A V-neck knit cardigan laid flat, as an RGBA layer ``width`` wide."""
    rng = rng or random.Random(1)
    s = width / 1000.0
    W, H = width, int(900 * s)

    def P(pts):
        return [(x * s, y * s) for x, y in pts]

    outline = P([(400, 40), (250, 80), (40, 560), (150, 610), (255, 330), (262, 880),
                 (738, 880), (745, 330), (850, 610), (960, 560), (750, 80), (600, 40), (500, 70)])
    mask = Image.new("L", (W, H), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    fabric = gradient((W, H), shade(colour, 1.12), shade(colour, 0.86))
    fabric = Image.blend(fabric, gradient((W, H), shade(colour, 1.06), shade(colour, 0.92), True), 0.5)
    d = ImageDraw.Draw(fabric)
    # knit texture: fine vertical ribs with a stitch pattern
    step = max(3, int(7 * s))
    for x in range(0, W, step):
        d.line([(x, 0), (x, H)], fill=shade(colour, 0.84), width=1)
    for y in range(0, H, step * 2):
        for x in range(0, W, step):
            d.point((x + step // 2, y), fill=shade(colour, 1.14))
    # soft folds
    folds = Image.new("L", (W, H), 0)
    fd = ImageDraw.Draw(folds)
    for _ in range(7):
        x0 = rng.uniform(300, 700) * s
        fd.line([(x0, rng.uniform(120, 300) * s), (x0 + rng.uniform(-80, 80) * s, rng.uniform(600, 860) * s)],
                fill=110, width=int(18 * s) + 1)
    folds = folds.filter(ImageFilter.GaussianBlur(14 * s + 1))
    fabric = Image.composite(Image.new("RGB", (W, H), shade(colour, 0.7)), fabric, folds)
    d = ImageDraw.Draw(fabric)
    dark = shade(colour, 0.62)
    # inside of the back neck, seen through the V
    d.polygon(P([(400, 40), (500, 70), (600, 40), (500, 400)]), fill=shade(colour, 0.72))
    d.line(P([(400, 40), (500, 70), (600, 40)]), fill=dark, width=int(8 * s) + 1)
    # ribbed bands: hem, cuffs, button placket
    band = shade(colour, 0.93)
    d.polygon(P([(262, 820), (738, 820), (738, 880), (262, 880)]), fill=band)
    d.polygon(P([(62, 520), (170, 575), (150, 610), (40, 560)]), fill=band)
    d.polygon(P([(938, 520), (830, 575), (850, 610), (960, 560)]), fill=band)
    for x in range(int(262 * s), int(738 * s), step):
        d.line([(x, 820 * s), (x, 880 * s)], fill=shade(colour, 0.78), width=1)
    d.line(P([(400, 40), (500, 400), (500, 880)]), fill=band, width=int(38 * s) + 1)
    d.line(P([(600, 40), (500, 400)]), fill=band, width=int(38 * s) + 1)
    d.line(P([(400, 40), (500, 400)]), fill=dark, width=max(1, int(3 * s)))
    d.line(P([(600, 40), (500, 400), (500, 880)]), fill=dark, width=max(1, int(3 * s)))
    # armhole seams
    d.line(P([(250, 80), (262, 200), (255, 330)]), fill=dark, width=max(1, int(3 * s)))
    d.line(P([(750, 80), (738, 200), (745, 330)]), fill=dark, width=max(1, int(3 * s)))
    d.line(P([(262, 820), (738, 820)]), fill=dark, width=max(1, int(2 * s)))
    # buttons
    for by in (440, 530, 620, 710, 800):
        r = 17 * s
        cx, cy = 500 * s, by * s
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(236, 232, 222), outline=(150, 146, 138),
                  width=max(1, int(2 * s)))
        for dx in (-5, 5):
            d.ellipse([cx + dx * s - 2.5 * s, cy - 2.5 * s, cx + dx * s + 2.5 * s, cy + 2.5 * s],
                      fill=(120, 115, 105))
    layer = fabric.convert("RGBA")
    layer.putalpha(mask)
    return layer


def folded_knit(width: int, colour=HAZE_BLUE) -> Image.Image:
    """The cardigan folded for packing: a neat rectangle with the V on top."""
    s = width / 700.0
    W, H = width, int(520 * s)
    mask = Image.new("L", (W, H), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, W - 1, H - 1], radius=int(40 * s), fill=255)
    fabric = gradient((W, H), shade(colour, 1.1), shade(colour, 0.88))
    d = ImageDraw.Draw(fabric)
    step = max(3, int(7 * s))
    for x in range(0, W, step):
        d.line([(x, 0), (x, H)], fill=shade(colour, 0.84), width=1)
    dark = shade(colour, 0.62)
    band = shade(colour, 0.93)
    d.polygon([(250 * s, 0), (450 * s, 0), (350 * s, 210 * s)], fill=shade(colour, 0.72))
    d.line([(250 * s, 0), (350 * s, 210 * s), (350 * s, H)], fill=band, width=int(30 * s))
    d.line([(450 * s, 0), (350 * s, 210 * s)], fill=band, width=int(30 * s))
    d.line([(250 * s, 0), (350 * s, 210 * s), (450 * s, 0)], fill=dark, width=max(1, int(3 * s)))
    d.line([(350 * s, 210 * s), (350 * s, H)], fill=dark, width=max(1, int(3 * s)))
    d.rectangle([0, H - 60 * s, W, H], fill=band)
    for x in range(0, W, step):
        d.line([(x, H - 60 * s), (x, H)], fill=shade(colour, 0.78), width=1)
    for fx in (60, 640):  # folded-in sleeve creases
        d.line([(fx * s, 20 * s), (fx * s, H - 70 * s)], fill=dark, width=max(1, int(4 * s)))
    for by in (280, 380):
        r = 15 * s
        d.ellipse([350 * s - r, by * s - r, 350 * s + r, by * s + r], fill=(236, 232, 222),
                  outline=(150, 146, 138), width=2)
    layer = fabric.convert("RGBA")
    layer.putalpha(mask)
    return layer


def mug(width: int, rng: random.Random) -> Image.Image:
    """A hand-painted blue-and-white (青花) ceramic mug, RGBA."""
    s = width / 440.0
    W, H = width, int(460 * s)
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    bx0, bx1, top, bot, eh = 40 * s, 320 * s, 70 * s, 420 * s, 60 * s
    # handle first so the body covers its joints
    hd = ImageDraw.Draw(layer)
    hd.ellipse([270 * s, 140 * s, 420 * s, 340 * s], outline=(226, 226, 220, 255), width=int(34 * s))
    hd.arc([270 * s, 140 * s, 420 * s, 340 * s], -80, 80, fill=(190, 190, 186, 255), width=int(8 * s))
    body_mask = Image.new("L", (W, H), 0)
    bm = ImageDraw.Draw(body_mask)
    bm.rectangle([bx0, top, bx1, bot], fill=255)
    bm.ellipse([bx0, bot - eh / 2, bx1, bot + eh / 2], fill=255)
    bm.ellipse([bx0, top - eh / 2, bx1, top + eh / 2], fill=255)
    # cylinder shading: dark edges, highlight left of centre
    g = Image.new("L", (256, 1))
    for i in range(256):
        t = i / 255
        g.putpixel((i, 0), int(255 * (0.55 + 0.45 * math.sin(math.pi * min(1, t * 1.15)) ** 0.6)))
    g = g.resize((W, H), Image.Resampling.BILINEAR)
    glaze = ImageOps.colorize(g, (120, 122, 126), (250, 250, 247))
    d = ImageDraw.Draw(glaze)
    cobalt = (34, 58, 138)
    # rim and foot bands
    d.arc([bx0, top + 10 * s - eh / 2, bx1, top + 10 * s + eh / 2], 0, 180, fill=cobalt, width=int(7 * s))
    d.arc([bx0, bot - 30 * s - eh / 2, bx1, bot - 30 * s + eh / 2], 0, 180, fill=cobalt, width=int(5 * s))
    # flowers and vines
    for fx, fy in ((110, 190), (230, 290), (120, 350), (250, 160)):
        fx, fy = (fx + rng.uniform(-10, 10)) * s, (fy + rng.uniform(-10, 10)) * s
        r = rng.uniform(16, 26) * s
        pts = [(fx + i * 14 * s, fy + r * 1.4 + 14 * s * math.sin(i * 0.8)) for i in range(-5, 6)]
        d.line(pts, fill=cobalt, width=max(1, int(3 * s)))
        for lx in (-3, 2):  # leaves on the vine
            px, py = pts[lx + 5]
            d.ellipse([px - 9 * s, py - 16 * s, px + 9 * s, py], fill=(70, 100, 170))
        for k in range(5):
            a = k * 2 * math.pi / 5 + rng.uniform(-0.15, 0.15)
            px, py = fx + math.cos(a) * r * 0.75, fy + math.sin(a) * r * 0.75
            d.ellipse([px - r * 0.5, py - r * 0.5, px + r * 0.5, py + r * 0.5], fill=(92, 122, 190),
                      outline=cobalt, width=max(1, int(2 * s)))
        d.ellipse([fx - r * 0.28, fy - r * 0.28, fx + r * 0.28, fy + r * 0.28], fill=cobalt)
    # inside of the mug
    d.ellipse([bx0, top - eh / 2, bx1, top + eh / 2], fill=(250, 250, 248))
    d.ellipse([bx0 + 10 * s, top - eh / 2 + 7 * s, bx1 - 10 * s, top + eh / 2 - 3 * s], fill=(196, 196, 192))
    body = glaze.convert("RGBA")
    body.putalpha(body_mask)
    layer.alpha_composite(body)
    # glossy highlight
    hl = Image.new("L", (W, H), 0)
    ImageDraw.Draw(hl).rectangle([95 * s, top + 40 * s, 112 * s, bot - 40 * s], fill=150)
    hl = hl.filter(ImageFilter.GaussianBlur(4 * s))
    layer.paste(Image.new("RGBA", (W, H), (255, 255, 255, 255)), (0, 0), ImageChops.multiply(hl, body_mask))
    return layer


def bubble_wrap(size, rng: random.Random) -> Image.Image:
    w, h = size
    layer = Image.new("RGBA", (w, h), (235, 240, 245, 120))
    d = ImageDraw.Draw(layer)
    r, step = 13, 32
    for row, y in enumerate(range(8, h, step)):
        off = (step // 2) if row % 2 else 0
        for x in range(8 + off, w, step):
            d.ellipse([x - r, y - r, x + r, y + r], fill=(245, 248, 252, 150), outline=(170, 180, 190, 210), width=2)
            d.ellipse([x - r + 5, y - r + 4, x - r + 11, y - r + 10], fill=(255, 255, 255, 255))
    # creases where the wrap folds
    for _ in range(6):
        y = rng.uniform(0, h)
        d.line([(0, y), (w, y + rng.uniform(-60, 60))], fill=(255, 255, 255, 200), width=3)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, w - 1, h - 1], radius=70, fill=255)
    layer.putalpha(ImageChops.multiply(layer.getchannel("A"), mask))
    return layer


# --------------------------------------------------------------------------
# phone screenshots
# --------------------------------------------------------------------------

RED = (255, 68, 0)
ORANGE = (255, 150, 0)
GREY_TEXT = (153, 153, 153)
DARK = (34, 34, 34)


def status_bar(d: ImageDraw.ImageDraw, clock: str, bg=(255, 255, 255)) -> None:
    d.rectangle([0, 0, SCREEN_SIZE[0], 44], fill=bg)
    text(d, (28, 10), clock, 24, DARK, bold=True)
    # signal bars, wifi, battery
    for i in range(4):
        d.rectangle([560 + i * 9, 30 - i * 5, 566 + i * 9, 32], fill=DARK)
    d.pieslice([610, 12, 640, 42], 225, 315, fill=DARK)
    d.rounded_rectangle([660, 14, 710, 32], radius=4, outline=DARK, width=2)
    d.rectangle([664, 18, 698, 28], fill=DARK)
    d.rectangle([711, 19, 714, 27], fill=DARK)


def bottom_bar(d: ImageDraw.ImageDraw) -> None:
    y0 = SCREEN_SIZE[1] - 100
    d.rectangle([0, y0, SCREEN_SIZE[0], SCREEN_SIZE[1]], fill=(255, 255, 255))
    d.line([(0, y0), (SCREEN_SIZE[0], y0)], fill=(230, 230, 230), width=1)
    for i, label in enumerate(("店铺", "客服", "收藏")):
        cx = 52 + i * 82
        d.rounded_rectangle([cx - 16, y0 + 16, cx + 16, y0 + 46], radius=6, outline=(80, 80, 80), width=2)
        text(d, (cx, y0 + 54), label, 18, (80, 80, 80), anchor="ma")
    d.rounded_rectangle([290, y0 + 16, 730, y0 + 80], radius=32, fill=RED)
    d.rounded_rectangle([290, y0 + 16, 510, y0 + 80], radius=32, fill=ORANGE)
    d.rectangle([480, y0 + 16, 510, y0 + 80], fill=ORANGE)
    text(d, (400, y0 + 48), "加入购物车", 26, (255, 255, 255), bold=True, anchor="mm")
    text(d, (620, y0 + 48), "立即购买", 26, (255, 255, 255), bold=True, anchor="mm")
    d.rounded_rectangle([300, SCREEN_SIZE[1] - 12, 450, SCREEN_SIZE[1] - 6], radius=3, fill=DARK)


def table(d: ImageDraw.ImageDraw, x0: int, y0: int, widths, rows, row_h: int = 44,
          size: int = 22, header_bg=(245, 245, 245), line=(225, 225, 225)) -> int:
    y = y0
    for r, row in enumerate(rows):
        x = x0
        if r == 0:
            d.rectangle([x0, y, x0 + sum(widths), y + row_h], fill=header_bg)
        for w, cell in zip(widths, row):
            text(d, (x + w / 2, y + row_h / 2), cell, size, DARK if r else (102, 102, 102),
                 bold=(r == 0), anchor="mm")
            x += w
        y += row_h
        d.line([(x0, y), (x0 + sum(widths), y)], fill=line, width=1)
    d.rectangle([x0, y0, x0 + sum(widths), y], outline=line, width=1)
    return y


def listing_main(clock: str) -> Image.Image:
    img = Image.new("RGB", SCREEN_SIZE, (244, 244, 244))
    d = ImageDraw.Draw(img)
    status_bar(d, clock)
    d.rectangle([0, 44, 750, 110], fill=(255, 255, 255))
    d.line([(34, 64), (22, 77), (34, 90)], fill=DARK, width=4)
    d.rounded_rectangle([70, 56, 600, 98], radius=21, fill=(242, 242, 242))
    text(d, (100, 77), "针织开衫女春", 22, GREY_TEXT, anchor="lm")
    for i in range(3):
        d.ellipse([650 + i * 16, 73, 658 + i * 16, 81], fill=DARK)
    # product photo area
    photo = gradient((750, 560), (236, 234, 230), (218, 214, 208))
    knit = cardigan(500, rng=random.Random(7))
    photo.paste(knit.convert("RGB"), (125, 60), knit.getchannel("A"))
    pd = ImageDraw.Draw(photo)
    pd.rounded_rectangle([650, 510, 730, 544], radius=17, fill=(0, 0, 0))
    text(pd, (690, 527), "1/6", 20, (255, 255, 255), anchor="mm")
    img.paste(photo, (0, 110))
    y = 670
    d.rectangle([0, y, 750, y + 330], fill=(255, 255, 255))
    text(d, (24, y + 22), "¥", 30, RED, bold=True)
    text(d, (50, y + 6), "399.00", 50, RED, bold=True)
    text(d, (726, y + 26), "已售 2000+", 22, GREY_TEXT, anchor="ra")
    d.rounded_rectangle([24, y + 72, 134, y + 102], radius=4, outline=RED, width=2)
    text(d, (79, y + 87), "赠运费险", 18, RED, anchor="mm")
    d.rounded_rectangle([146, y + 72, 276, y + 102], radius=4, outline=RED, width=2)
    text(d, (211, y + 87), "7天无理由退货", 18, RED, anchor="mm")
    title = "青禾 雾霾蓝V领针织开衫女2024春季新款宽松羊毛混纺毛衣外套"
    for i, line in enumerate(wrap(title, 28, 700)):
        text(d, (24, y + 118 + i * 40), line, 28, DARK, bold=True)
    d.line([(24, y + 214), (726, y + 214)], fill=(240, 240, 240), width=1)
    text(d, (24, y + 230), "发货", 21, GREY_TEXT)
    text(d, (90, y + 230), "广东广州  |  快递：免运费  |  付款后48小时内发货", 21, DARK)
    text(d, (24, y + 274), "保障", 21, GREY_TEXT)
    text(d, (90, y + 274), "赠运费险 · 7天无理由退货 · 极速退款", 21, DARK)
    y = 1010
    d.rectangle([0, y, 750, y + 224], fill=(255, 255, 255))
    text(d, (24, y + 16), "颜色分类", 22, (102, 102, 102))
    chips = [("雾霾蓝", HAZE_BLUE, True), ("奶白", (236, 230, 216), False), ("燕麦色", (206, 190, 164), False)]
    x = 140
    for name, col, selected in chips:
        cw = 64 + int(text_width(name, 22))
        d.rounded_rectangle([x, y + 8, x + cw, y + 50], radius=8, fill=(255, 241, 235) if selected else (245, 245, 245),
                            outline=RED if selected else (245, 245, 245), width=2)
        d.rectangle([x + 10, y + 16, x + 36, y + 42], fill=col)
        text(d, (x + 46, y + 29), name, 22, RED if selected else DARK, anchor="lm")
        x += cw + 16
    text(d, (24, y + 64), "注：颜色以实物为准，不同显示器存在色差", 21, (230, 110, 20))
    text(d, (24, y + 100), "尺码表(cm)", 22, (102, 102, 102))
    rows = [["尺码", "衣长", "胸围", "肩宽", "袖长"], ["S", "58", "100", "46", "52"],
            ["M", "60", "104", "47", "53"], ["L", "62", "108", "48", "54"]]
    table(d, 150, y + 92, [100, 110, 110, 110, 110], rows, row_h=32, size=19)
    bottom_bar(d)
    return img


def listing_policy(clock: str) -> Image.Image:
    img = Image.new("RGB", SCREEN_SIZE, (244, 244, 244))
    d = ImageDraw.Draw(img)
    status_bar(d, clock)
    d.rectangle([0, 44, 750, 120], fill=(255, 255, 255))
    d.line([(34, 70), (22, 83), (34, 96)], fill=DARK, width=4)
    for i, tab in enumerate(("宝贝", "评价", "详情", "推荐")):
        cx = 200 + i * 115
        text(d, (cx, 82), tab, 26, DARK if tab == "详情" else (110, 110, 110), bold=(tab == "详情"), anchor="mm")
        if tab == "详情":
            d.rounded_rectangle([cx - 22, 106, cx + 22, 112], radius=3, fill=RED)
    y = 136
    d.rectangle([0, y, 750, y + 420], fill=(255, 255, 255))
    text(d, (24, y + 20), "商品参数", 28, DARK, bold=True)
    params = [("品牌", "青禾"), ("货号", "QH24S-0317"), ("材质成分", "羊毛30% 聚丙烯腈纤维(腈纶)70%"),
              ("颜色分类", "雾霾蓝 奶白 燕麦色"), ("尺码", "S M L XL"), ("厚薄", "常规"),
              ("适用季节", "春季 秋季"), ("洗涤说明", "手洗或干洗，不可漂白")]
    for i, (k, v) in enumerate(params):
        yy = y + 72 + i * 42
        text(d, (24, yy), k, 22, GREY_TEXT)
        text(d, (170, yy), v, 22, DARK)
        d.line([(24, yy + 36), (726, yy + 36)], fill=(240, 240, 240), width=1)
    y = 572
    d.rectangle([0, y, 750, 1234], fill=(255, 255, 255))
    text(d, (24, y + 20), "售后说明", 28, DARK, bold=True)
    items = [
        "1. 本店支持7天无理由退换货（需吊牌完好、未洗涤、未穿着、不影响二次销售）。",
        "2. 本店为每笔订单赠送运费险，退货运费按运费险规则理赔。",
        "3. 商品图片均为实物拍摄，因拍摄光线及显示器设置不同，颜色可能存在轻微色差，请以实物为准，轻微色差不属于质量问题。",
        "4. 质量问题（破洞、开线、严重色差）由本店承担来回运费。",
        "5. 收到商品后请先核对，如有问题请先联系在线客服，我们会在24小时内为您处理。",
    ]
    wrapped = [wrap(item, 22, 650) for item in items]
    card_h = sum(36 * len(w) + 14 for w in wrapped) + 30
    d.rounded_rectangle([24, y + 70, 726, y + 70 + card_h], radius=12, fill=(255, 248, 240),
                        outline=(255, 214, 180), width=2)
    yy = y + 92
    for lines in wrapped:
        for line in lines:
            text(d, (46, yy), line, 22, (90, 70, 50))
            yy += 36
        yy += 14
    yy = y + 70 + card_h + 36
    text(d, (24, yy), "发货与物流", 28, DARK, bold=True)
    yy += 52
    for line in ("付款后48小时内从广州发货，默认圆通快递。", "江浙沪一般1-2天送达，其他地区3-4天，偏远地区5-7天。"):
        text(d, (24, yy), line, 22, (90, 90, 90))
        yy += 38
    bottom_bar(d)
    return img


# --------------------------------------------------------------------------
# documents: inspection report PDF, courier claim receipt
# --------------------------------------------------------------------------

def seal(diameter: int, ring_text: str, centre_text: str, colour=(210, 30, 40)) -> Image.Image:
    """A round red company seal (印章) as an RGBA layer."""
    D = diameter
    layer = Image.new("RGBA", (D, D), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.ellipse([3, 3, D - 4, D - 4], outline=colour + (255,), width=max(3, D // 40))
    # star
    cx = cy = D / 2
    r1, r2 = D * 0.12, D * 0.05
    pts = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        r = r1 if k % 2 == 0 else r2
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    d.polygon(pts, fill=colour + (255,))
    # ring text along the upper arc
    fs = int(D * 0.11)
    chars = T(ring_text)
    span = math.radians(230)
    for i, ch in enumerate(chars):
        a = -math.pi / 2 - span / 2 + span * (i + 0.5) / max(1, len(chars))
        g = Image.new("L", (fs * 2, fs * 2), 0)
        ImageDraw.Draw(g).text((fs, fs), ch, font=font(fs, True), fill=255, anchor="mm")
        g = g.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BICUBIC)
        rr = D / 2 - fs * 0.95
        px, py = cx + rr * math.cos(a) - fs, cy + rr * math.sin(a) - fs
        layer.paste(Image.new("RGBA", g.size, colour + (255,)), (int(px), int(py)), g)
    text(d, (cx, cy + D * 0.25), centre_text, int(D * 0.09), colour, bold=True, anchor="mm")
    # uneven ink
    a = layer.getchannel("A").point(lambda v: int(v * 0.85))
    layer.putalpha(a)
    return layer


def inspection_report_pdf(path: Path) -> None:
    W, H = 827, 1169  # A4 at 100 dpi
    page = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(page)
    text(d, (W / 2, 70), "检 验 检 测 报 告", 38, DARK, bold=True, anchor="mm")
    text(d, (W / 2, 115), "TEST REPORT", 18, (90, 90, 90), anchor="mm")
    text(d, (70, 160), "报告编号：GZT-2024-FZ-02618", 17, DARK)
    text(d, (W - 70, 160), "第 1 页 共 1 页", 17, DARK, anchor="ra")
    d.line([(70, 188), (W - 70, 188)], fill=DARK, width=2)
    info = [
        ("样品名称", "针织开衫（V领）"), ("委托单位", "青禾服饰（广州）有限公司"),
        ("商标 / 货号", "青禾 / QH24S-0317"), ("颜色 / 号型", "雾霾蓝 / M 160/84A"),
        ("样品数量", "3件"), ("收样日期", "2024年02月20日"),
        ("检验日期", "2024年02月21日—2024年02月26日"), ("检验类别", "委托检验"),
        ("检验依据", "GB 18401-2010  FZ/T 73020-2019"),
    ]
    y = 200
    for k, v in info:
        d.rectangle([70, y, 260, y + 32], outline=(120, 120, 120), width=1, fill=(246, 246, 246))
        d.rectangle([260, y, W - 70, y + 32], outline=(120, 120, 120), width=1)
        text(d, (84, y + 16), k, 16, DARK, anchor="lm")
        text(d, (276, y + 16), v, 16, DARK, anchor="lm")
        y += 32
    y += 20
    text(d, (70, y), "检验结果", 22, DARK, bold=True)
    y += 34
    cols = [60, 210, 170, 150, 97]
    rows = [["序号", "检验项目", "标准要求", "检验结果", "判定"],
            ["1", "纤维含量 羊毛", "30%（±5）", "30.6%", "合格"],
            ["", "纤维含量 腈纶", "70%（±5）", "69.4%", "合格"],
            ["2", "甲醛含量 mg/kg", "≤75", "未检出", "合格"],
            ["3", "pH值", "4.0～8.5", "6.6", "合格"],
            ["4", "耐水色牢度（变色）", "≥3级", "4-5级", "合格"],
            ["5", "耐摩擦色牢度（干摩）", "≥3-4级", "4级", "合格"],
            ["6", "耐光色牢度", "≥4级", "4级", "合格"],
            ["7", "批间色差（对标准色卡）", "≥4级", "4-5级", "合格"],
            ["8", "异味", "无", "无", "合格"]]
    for r, row in enumerate(rows):
        x = 70
        for w, cell in zip(cols, row):
            d.rectangle([x, y, x + w, y + 30], outline=(120, 120, 120), width=1,
                        fill=(246, 246, 246) if r == 0 else None)
            text(d, (x + w / 2, y + 15), cell, 16, DARK, bold=(r == 0), anchor="mm")
            x += w
        y += 30
    y += 24
    text(d, (70, y), "检验结论：", 20, DARK, bold=True)
    concl = ("经检验，该样品所检项目符合 GB 18401-2010《国家纺织产品基本安全技术规范》B类"
             "及 FZ/T 73020-2019《针织休闲服装》一等品要求。")
    for i, line in enumerate(wrap(concl, 18, W - 240)):
        text(d, (170, y + 2 + i * 30), line, 18, DARK)
    y += 70
    text(d, (70, y), "备注：本报告仅对来样负责。", 16, (90, 90, 90))
    y += 50
    text(d, (70, y), "批准：林**", 18, DARK)
    text(d, (320, y), "审核：周**", 18, DARK)
    text(d, (560, y), "主检：黄**", 18, DARK)
    text(d, (W - 90, y + 60), "签发日期：2024年02月27日", 18, DARK, anchor="ra")
    st = seal(190, "粤检纺织品检测（广州）有限公司", "检验检测专用章")
    page.paste(st.convert("RGB"), (W - 300, y - 70), st.getchannel("A"))
    text(d, (W / 2, H - 40), "地址：广州市番禺区**路**号   电话：020-3**6-**88   （样例数据）", 14,
         (120, 120, 120), anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    fixed = time.gmtime(1709020800)  # 2024-02-27T08:00:00Z
    page.save(path, "PDF", resolution=100, quality=80, title="检验检测报告 GZT-2024-FZ-02618",
              author="粤检纺织品检测（广州）有限公司", creator="scanner", producer="evidencepack samples",
              creationDate=fixed, modDate=fixed)


def claim_receipt() -> Image.Image:
    W, H = 900, 1240
    page = Image.new("RGB", (W, H), (253, 253, 250))
    d = ImageDraw.Draw(page)
    text(d, (W / 2, 70), "中通快递  理赔受理回执单", 38, DARK, bold=True, anchor="mm")
    text(d, (60, 130), "受理编号：ZTLP-2024031802157", 20, DARK)
    text(d, (W - 60, 130), "网点：南京鼓楼营业部", 20, DARK, anchor="ra")
    rows = [
        ("运单号", "78390215564821"),
        ("寄件人", "窑火陶瓷旗舰店（江西省景德镇市）"),
        ("收件人", "张**  139****2046  江苏省南京市鼓楼区****"),
        ("托寄物", "陶瓷马克杯（青花款 380ml）1只"),
        ("保价情况", "未保价"),
        ("申报损失", "89.00元（商品成交价）"),
        ("签收情况", "2024-03-16 11:42 门卫代签"),
        ("异常类型", "外包装破损，内件破碎"),
        ("情况说明", "收件人开箱发现杯身碎裂，外箱一角凹陷。寄件人提供发货前包装照片（气泡膜三层、纸箱、易碎品胶带）及收件人破损照片。"),
        ("申请人", "窑火陶瓷旗舰店"),
        ("受理时间", "2024-03-18 14:30"),
        ("处理时效", "自受理之日起7个工作日内反馈处理结果"),
    ]
    y = 170
    for k, v in rows:
        lines = wrap(v, 22, W - 340)
        rh = max(58, 20 + 34 * len(lines))
        d.rectangle([60, y, 250, y + rh], outline=(90, 90, 90), width=2, fill=(240, 240, 236))
        d.rectangle([250, y, W - 60, y + rh], outline=(90, 90, 90), width=2)
        text(d, (155, y + rh / 2), k, 22, DARK, bold=True, anchor="mm")
        for i, line in enumerate(lines):
            text(d, (268, y + 12 + i * 34), line, 22, DARK)
        y += rh
    y += 40
    text(d, (60, y), "经办人：陈**        联系电话：025-8***-**16", 22, DARK)
    text(d, (60, y + 50), "备注：本回执仅证明理赔申请已受理，赔付金额以审核结果为准。", 20, (90, 90, 90))
    st = seal(230, "中通快递南京鼓楼营业部", "理赔专用章")
    page.paste(st.convert("RGB"), (W - 330, y - 30), st.getchannel("A"))
    text(d, (W / 2, H - 36), "（样例数据）", 16, (140, 140, 140), anchor="mm")
    return page


# --------------------------------------------------------------------------
# case 1: colour mismatch
# --------------------------------------------------------------------------

def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def write_case_toml(path: Path, body: str) -> None:
    tomllib.loads(body)  # fail loudly if the sample is not valid TOML
    path.write_text(body, encoding="utf-8", newline="\n")


def kuaidi100(nu: str, com: str, state: str, events_oldest_first: list[tuple[str, str, str, str]]) -> str:
    data = [{"time": t, "ftime": t, "context": ctx, "location": loc, "status": st}
            for t, ctx, loc, st in reversed(events_oldest_first)]
    doc = {"message": "ok", "nu": nu, "ischeck": "1", "condition": "F00", "com": com,
           "status": "200", "state": state, "data": data}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def qianniu_export(messages: list[tuple[str, str, str]]) -> str:
    """千牛 workbench text export: a header line per message, then its body."""
    out = []
    for when, who, body in messages:
        out.append(f"{when} {who}")
        out.extend(body.split("\n"))
        out.append("")
    return "\n".join(out)


def case_colour_mismatch(root: Path) -> None:
    rng = random.Random(20240309)
    order_id = "3817264530012345678"
    shop = "青禾女装小铺"
    agent, aftersales = f"{shop}:客服小美", f"{shop}:售后阿杰"
    buyer = "小鹿爱喝茶"

    # listing screenshots, taken the evening before the order
    save_screen(listing_main("20:11"), root / "listing" / "Screenshot_2024-03-07-20-11-05.png")
    save_screen(listing_policy("20:12"), root / "listing" / "Screenshot_2024-03-07-20-12-40.png")

    # pre-shipment photos
    make, model = "Xiaomi", "Redmi K60"
    note_lines = ["订单尾号5678", "3月9日 发货前"]

    img = wood_table(rng)
    place(img, cardigan(980, rng=random.Random(11)), (620, 640), angle=-4)
    place(img, colour_card(rng), (1300, 900), angle=7, shadow=0.35)
    place(img, sticky_note(rng, note_lines), (1330, 330), angle=-6, shadow=0.3)
    place(img, hang_tag(), (300, 260), angle=18, shadow=0.3)
    save_photo(finish_photo(img, rng), root / "preship" / "IMG_20240309_150200.jpg",
               "2024:03:09 15:02:00", make, model)

    img = wood_table(rng, angle=-2)
    place(img, cardigan(2600, rng=random.Random(11)), (560, 900), angle=-3)
    place(img, colour_card(rng), (1120, 420), angle=-3, shadow=0.35)
    place(img, sticky_note(rng, note_lines), (1330, 1000), angle=4, shadow=0.3)
    save_photo(finish_photo(img, rng), root / "preship" / "IMG_20240309_150248.jpg",
               "2024:03:09 15:02:48", make, model)

    img = wood_table(rng, angle=5)
    # shipping box at the back, folded knit in a clear bag in front
    box = Image.new("RGBA", (720, 420), (0, 0, 0, 0))
    bd = ImageDraw.Draw(box)
    bd.rectangle([0, 0, 719, 419], fill=(186, 146, 98, 255))
    bd.rectangle([20, 20, 699, 399], fill=(150, 112, 70, 255))
    bd.line([(0, 0), (719, 0)], fill=(120, 90, 55, 255), width=4)
    text(bd, (360, 210), "青禾 QINGHE", 40, (120, 88, 52), bold=True, anchor="mm")
    place(img, box, (1180, 330), angle=-2, shadow=0.4)
    knit = folded_knit(760)
    bag = Image.new("RGBA", (knit.width + 60, knit.height + 80), (0, 0, 0, 0))
    bag.alpha_composite(knit, (30, 50))
    film = Image.new("RGBA", bag.size, (0, 0, 0, 0))
    gd = ImageDraw.Draw(film)
    gd.rectangle([0, 0, bag.width - 1, bag.height - 1], fill=(255, 255, 255, 38), outline=(255, 255, 255, 140), width=3)
    gd.rectangle([0, 0, bag.width - 1, 34], fill=(255, 255, 255, 90))
    for k in range(5):
        x = 80 + k * 150
        gd.line([(x, 40), (x + 60, bag.height - 10)], fill=(255, 255, 255, 60), width=12)
    text(gd, (bag.width - 30, 44), "PE", 20, (255, 255, 255), anchor="ra")
    bag.alpha_composite(film)
    place(img, bag, (620, 720), angle=2, shadow=0.35)
    place(img, hang_tag(), (1120, 860), angle=-14, shadow=0.3)
    place(img, sticky_note(rng, note_lines), (1380, 960), angle=-3, shadow=0.3)
    place(img, colour_card(rng), (240, 240), angle=12, shadow=0.3)
    save_photo(finish_photo(img, rng), root / "preship" / "IMG_20240309_150410.jpg",
               "2024:03:09 15:04:10", make, model)

    # chat export (UTF-8 千牛 text export)
    msgs = [
        ("2024-03-11 19:46:08", buyer, "你好，毛衣今天收到了"),
        ("2024-03-11 19:46:31", buyer, "颜色跟页面上差好多，页面上是蓝色，收到的看着偏灰"),
        ("2024-03-11 19:47:02", agent, "亲，您好，收到您的反馈了，给您带来不好的体验非常抱歉。"),
        ("2024-03-11 19:47:40", agent, "麻烦您在自然光下拍几张衣服的照片发给我们看一下，方便我们核对颜色，谢谢您～"),
        ("2024-03-11 19:52:15", buyer, "[图片]"),
        ("2024-03-11 19:52:20", buyer, "[图片]"),
        ("2024-03-11 19:52:48", buyer, "你看，灯下看就是灰色的"),
        ("2024-03-11 19:55:03", agent, "收到照片了，谢谢您。您收到的这件是雾霾蓝M码，和您下单的款式一致。"
                                      "雾霾蓝本身是带一点灰调的蓝色，室内暖光下看起来会更偏灰一些。"),
        ("2024-03-11 19:55:40", agent, "这是我们发货前在自然光下对着色卡拍的这件衣服的照片，您可以对比一下。"),
        ("2024-03-11 19:55:44", agent, "[图片]"),
        ("2024-03-11 19:56:10", agent, "商品页面上也有标注“颜色以实物为准，不同显示器存在色差”，"
                                      "不过您不满意的话我们一定给您处理好。"),
        ("2024-03-11 19:58:22", buyer, "那我不太喜欢这个颜色，怎么办"),
        ("2024-03-11 19:59:05", agent, "您看这样可以吗：\n"
                                      "1. 衣服吊牌完好、不影响二次销售的话，支持7天无理由退货，您下单时有运费险，退回运费由运费险理赔；\n"
                                      "2. 如果您愿意留下，我们补偿您20元。"),
        ("2024-03-11 20:03:40", buyer, "我考虑一下吧"),
        ("2024-03-11 20:04:02", agent, "好的，您考虑好了随时联系我们，祝您生活愉快！"),
        ("2024-03-12 10:15:32", buyer, f"[订单] 订单号：{order_id}"),
        ("2024-03-12 10:15:50", buyer, "我已经申请退款了，颜色不符，要求仅退款"),
        ("2024-03-12 10:18:12", aftersales, "您好，我是售后阿杰，已经看到您的退款申请。"),
        ("2024-03-12 10:19:30", aftersales, "衣服颜色与页面上的“雾霾蓝”一致，属于光线和显示器造成的色差，"
                                           "仅退款我们这边暂时没办法同意，还请您理解。"),
        ("2024-03-12 10:20:05", aftersales, "您可以选择退货退款，寄回运费由运费险承担；或者留下衣服，我们补偿您20元，两种方式都可以。"),
        ("2024-03-12 10:31:44", buyer, "我就要仅退款"),
        ("2024-03-12 10:33:10", aftersales, "理解您的心情。仅退款的申请我们会提交发货前的实拍照片和商品页面说明，由平台核实处理；"
                                           "退货退款和补偿20元的方案我们这边一直为您保留。"),
        ("2024-03-12 10:33:40", aftersales, "有任何问题随时联系我们。"),
    ]
    (root / "chat").mkdir(parents=True, exist_ok=True)
    (root / "chat" / "千牛聊天记录.txt").write_bytes(qianniu_export(msgs).encode("utf-8"))

    # tracking
    events = [
        ("2024-03-09 18:32:15", "【广州市】圆通速递 广东省广州市白云区石井公司 已揽收", "广州市", "揽收"),
        ("2024-03-09 22:48:40", "【广州市】快件已到达 广州转运中心", "广州市", "在途"),
        ("2024-03-10 00:15:07", "【广州市】快件已从 广州转运中心 发出，准备发往 杭州转运中心", "广州市", "在途"),
        ("2024-03-10 19:52:33", "【杭州市】快件已到达 杭州转运中心", "杭州市", "在途"),
        ("2024-03-10 21:30:18", "【杭州市】快件已从 杭州转运中心 发出，准备发往 浙江省杭州市西湖区文三路公司", "杭州市", "在途"),
        ("2024-03-11 07:12:45", "【杭州市】快件已到达 浙江省杭州市西湖区文三路公司", "杭州市", "在途"),
        ("2024-03-11 08:25:09", "【杭州市】浙江省杭州市西湖区文三路公司 派件员：王建军 电话：138****5678 当前正在为您派件",
         "杭州市", "派件"),
        ("2024-03-11 12:06:51", "【杭州市】您的快件已签收，签收人：本人签收，如有疑问请联系派件员王建军（138****5678），"
                                "感谢使用圆通速递，期待再次为您服务", "杭州市", "签收"),
    ]
    (root / "tracking").mkdir(parents=True, exist_ok=True)
    (root / "tracking" / "kuaidi100.json").write_text(
        kuaidi100("YT7456128839021", "yuantong", "3", events), encoding="utf-8", newline="\n")

    inspection_report_pdf(root / "reports" / "质检报告.pdf")

    statement = (
        "商品详情页已标明颜色为“雾霾蓝”，并注明“颜色以实物为准，不同显示器存在色差”。发货前我方将该件商品与标准色卡一同拍照留存，颜色与页面描述一致；第三方检测报告显示色差合格。买家反馈后我方提出退货退款或补偿20元，买家未接受。请求平台按退货退款处理。"
    )
    body = f'''case_id = "TB-20240312-0001"
platform = "taobao"
dispute_type = "not_as_described"
order_id = "{order_id}"
ordered_at = 2024-03-08T21:40:00+08:00
shipped_at = 2024-03-09T18:32:15+08:00
delivered_at = 2024-03-11T12:06:51+08:00
opened_at = 2024-03-12T10:15:00+08:00
intervention_at = 2024-03-15T10:20:00+08:00
evidence_due_at = 2024-03-18T23:59:00+08:00
timezone = "Asia/Shanghai"
currency = "CNY"
amount = "399.00"
statement = """{statement}"""

[buyer]
nick = {toml_str(buyer)}

[seller]
shop = {toml_str(shop)}
nicks = [{toml_str(agent)}, {toml_str(aftersales)}]

[item]
title = "青禾 雾霾蓝V领针织开衫女2024春季新款宽松羊毛混纺毛衣外套"
sku = "雾霾蓝 M"

[tracking]
carrier = "yuantong"
number = "YT7456128839021"

[[evidence]]
path = "listing/Screenshot_2024-03-07-20-11-05.png"
caption = "商品详情页：颜色“雾霾蓝”、色差说明“颜色以实物为准，不同显示器存在色差”及尺码表（下单前截图）"

[[evidence]]
path = "listing/Screenshot_2024-03-07-20-12-40.png"
caption = "商品详情页：商品参数及售后说明（轻微色差不属于质量问题）"

[[evidence]]
path = "preship/IMG_20240309_150200.jpg"
caption = "发货前实拍：本订单商品（雾霾蓝 M）与标准色卡、订单尾号便签同框，自然光"

[[evidence]]
path = "preship/IMG_20240309_150248.jpg"
caption = "发货前实拍：面料近景与色卡“雾霾蓝”色块对比"

[[evidence]]
path = "preship/IMG_20240309_150410.jpg"
caption = "发货前实拍：商品折叠装袋、吊牌完好，准备装箱"

[[evidence]]
path = "reports/质检报告.pdf"
caption = "第三方检验检测报告 GZT-2024-FZ-02618（同款同色批次）"
'''
    write_case_toml(root / "case.toml", body)


# --------------------------------------------------------------------------
# case 2: damaged in transit
# --------------------------------------------------------------------------

def kraft_box_open(rng: random.Random) -> Image.Image:
    """Top view of an open carton with a bubble-wrapped mug inside."""
    W, H = 1100, 900
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    kraft = (196, 154, 104)
    # flaps
    d.polygon([(200, 200), (900, 200), (960, 40), (140, 40)], fill=shade(kraft, 1.06) + (255,))
    d.polygon([(200, 700), (900, 700), (940, 860), (160, 860)], fill=shade(kraft, 0.96) + (255,))
    d.polygon([(200, 200), (200, 700), (30, 740), (30, 160)], fill=shade(kraft, 1.0) + (255,))
    d.polygon([(900, 200), (900, 700), (1070, 740), (1070, 160)], fill=shade(kraft, 0.92) + (255,))
    # box walls and inside
    d.rectangle([200, 200, 900, 700], fill=shade(kraft, 0.62) + (255,))
    d.polygon([(200, 200), (900, 200), (860, 250), (240, 250)], fill=shade(kraft, 0.5) + (255,))
    d.polygon([(200, 200), (240, 250), (240, 660), (200, 700)], fill=shade(kraft, 0.55) + (255,))
    for x0, y0, x1, y1 in ((200, 200, 900, 200), (200, 700, 900, 700), (200, 200, 200, 700), (900, 200, 900, 700)):
        d.line([(x0, y0), (x1, y1)], fill=shade(kraft, 0.4) + (255,), width=4)
    # corrugation lines on the flaps
    for x in range(150, 960, 9):
        d.line([(x, 44), (x, 50)], fill=shade(kraft, 0.85) + (255,), width=1)
    # crumpled paper filling
    for _ in range(26):
        cx, cy = rng.uniform(270, 830), rng.uniform(270, 630)
        rx, ry = rng.uniform(45, 80), rng.uniform(35, 60)
        tone = shade((214, 178, 128), rng.uniform(0.85, 1.05))
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=tone + (255,), outline=shade(tone, 0.7) + (255,), width=2)
        for _ in range(3):  # creases
            a = rng.uniform(0, math.pi)
            d.line([(cx - math.cos(a) * rx * 0.7, cy - math.sin(a) * ry * 0.7),
                    (cx + rng.uniform(-10, 10), cy + rng.uniform(-10, 10)),
                    (cx + math.cos(a) * rx * 0.6, cy + math.sin(a) * ry * 0.6)],
                   fill=shade(tone, 0.75) + (255,), width=2)
    # the wrapped mug
    m = mug(380, random.Random(5))
    layer.alpha_composite(m, (350, 260))
    wrap_layer = bubble_wrap((520, 440), rng)
    layer.alpha_composite(wrap_layer, (290, 230))
    # tape tail on a flap
    d.rectangle([520, 40, 580, 150], fill=(214, 190, 150, 220))
    return layer


def sealed_box(rng: random.Random) -> Image.Image:
    W, H = 1150, 880
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    kraft = (192, 150, 100)
    top = [(120, 60), (1030, 60), (1100, 700), (50, 700)]
    d.polygon(top, fill=kraft + (255,))
    d.polygon([(50, 700), (1100, 700), (1100, 860), (50, 860)], fill=shade(kraft, 0.72) + (255,))
    d.line([(50, 700), (1100, 700)], fill=shade(kraft, 0.5) + (255,), width=3)
    d.line([(575, 60), (575, 700)], fill=shade(kraft, 0.55) + (255,), width=3)  # flap seam
    for x in range(60, 1100, 10):
        d.line([(x, 704), (x, 712)], fill=shade(kraft, 0.62) + (255,), width=1)
    # tape along the seam and down the front
    tape = Image.new("RGBA", (120, 820), (222, 200, 160, 210))
    td = ImageDraw.Draw(tape)
    for i, y in enumerate(range(20, 820, 200)):
        g = Image.new("RGBA", (200, 120), (0, 0, 0, 0))
        gd = ImageDraw.Draw(g)
        text(gd, (100, 30), "易碎物品", 30, (200, 30, 30), bold=True, anchor="mm")
        text(gd, (100, 80), "小心轻放", 30, (200, 30, 30), bold=True, anchor="mm")
        g = g.rotate(90, expand=True)
        tape.alpha_composite(g, (0, y))
    td.line([(0, 0), (0, 820)], fill=(190, 170, 130, 255), width=2)
    td.line([(119, 0), (119, 820)], fill=(190, 170, 130, 255), width=2)
    layer.alpha_composite(tape, (515, 50))
    # waybill label
    lab = Image.new("RGBA", (420, 300), (250, 250, 250, 255))
    ld = ImageDraw.Draw(lab)
    ld.rectangle([0, 0, 419, 299], outline=(30, 30, 30), width=2)
    text(ld, (14, 10), "中通快递", 30, DARK, bold=True)
    text(ld, (406, 16), "标快", 22, DARK, anchor="ra")
    ld.line([(0, 54), (420, 54)], fill=(30, 30, 30), width=2)
    barcode(ld, rng, (30, 66, 390, 136))
    text(ld, (210, 142), "7839 0215 5648 21", 20, DARK, anchor="ma")
    ld.line([(0, 172), (420, 172)], fill=(30, 30, 30), width=2)
    text(ld, (14, 182), "收：张**  139****2046", 20, DARK)
    text(ld, (14, 212), "江苏省南京市鼓楼区****", 20, DARK)
    text(ld, (14, 250), "寄：窑火陶瓷旗舰店  江西景德镇", 18, DARK)
    lab = lab.rotate(-4, resample=Image.Resampling.BICUBIC, expand=True)
    layer.alpha_composite(lab, (100, 180))
    # a red fragile sticker
    st = Image.new("RGBA", (220, 130), (215, 40, 40, 255))
    sd = ImageDraw.Draw(st)
    text(sd, (110, 40), "易碎品", 34, (255, 255, 255), bold=True, anchor="mm")
    text(sd, (110, 92), "FRAGILE", 26, (255, 255, 255), bold=True, anchor="mm")
    layer.alpha_composite(st.rotate(6, expand=True, resample=Image.Resampling.BICUBIC), (760, 420))
    return layer


def case_transit_damage(root: Path) -> None:
    rng = random.Random(20240314)
    order_id = "3829105527734602468"
    shop = "窑火陶瓷旗舰店"
    agent, lead = f"{shop}:客服小雅", f"{shop}:售后主管"
    buyer = "阿毛爱吃鱼"
    make, model = "HUAWEI", "ELS-AN00"
    note_lines = ["订单尾号2468", "3月14日 装箱"]

    img = wood_table(rng, base=(170, 124, 82), angle=-3)
    place(img, mug(520, random.Random(5)), (560, 600), shadow=0.5)
    gift = Image.new("RGBA", (420, 380), (0, 0, 0, 0))
    gd = ImageDraw.Draw(gift)
    gd.rectangle([0, 0, 419, 379], fill=(240, 238, 232, 255), outline=(180, 176, 170, 255), width=3)
    gd.rectangle([0, 150, 419, 230], fill=(34, 58, 138, 255))
    text(gd, (210, 190), "窑火 · 青花", 34, (255, 255, 255), bold=True, anchor="mm")
    text(gd, (210, 300), "手绘陶瓷马克杯 380ml", 22, (60, 60, 60), anchor="mm")
    place(img, gift, (1130, 520), angle=5, shadow=0.4)
    place(img, sticky_note(rng, note_lines), (1250, 1000), angle=-5, shadow=0.3)
    place(img, bubble_wrap((500, 300), rng), (330, 1050), angle=-8, shadow=0.2)
    save_photo(finish_photo(img, rng), root / "preship" / "IMG_20240314_151002.jpg",
               "2024:03:14 15:10:02", make, model)

    img = wood_table(rng, base=(170, 124, 82), angle=2)
    place(img, kraft_box_open(rng), (760, 600), angle=-2, shadow=0.45)
    place(img, sticky_note(rng, note_lines), (1400, 1020), angle=6, shadow=0.3)
    save_photo(finish_photo(img, rng), root / "preship" / "IMG_20240314_151236.jpg",
               "2024:03:14 15:12:36", make, model)

    img = wood_table(rng, base=(170, 124, 82), angle=-1)
    place(img, sealed_box(rng), (800, 560), angle=1, shadow=0.5)
    place(img, sticky_note(rng, note_lines), (1410, 1040), angle=-4, shadow=0.3)
    save_photo(finish_photo(img, rng), root / "preship" / "IMG_20240314_151507.jpg",
               "2024:03:14 15:15:07", make, model)

    msgs = [
        ("2024-03-16 20:31:15", buyer, "在吗"),
        ("2024-03-16 20:31:40", buyer, "杯子碎了"),
        ("2024-03-16 20:32:05", agent, "亲，在的，非常抱歉！麻烦您拍一下杯子和外包装的照片给我们看看好吗？"),
        ("2024-03-16 20:35:22", buyer, "[图片]"),
        ("2024-03-16 20:35:30", buyer, "[图片]"),
        ("2024-03-16 20:36:10", buyer, "快递放在门卫那里，我下班拿回来拆开就这样了，箱子一角也压扁了"),
        ("2024-03-16 20:37:48", agent, "看到了，给您添麻烦了。我们发货前是用气泡膜包了三层再装箱的，"
                                      "外箱压扁说明是运输途中受到了挤压。"),
        ("2024-03-16 20:38:30", agent, "我们马上给您补发一只同款青花款380ml，碎的这只不用寄回，您清理的时候注意别划到手。您看可以吗？"),
        ("2024-03-16 20:39:02", buyer, "好的"),
        ("2024-03-16 20:39:20", buyer, "那退款申请要怎么办，我刚才点了退款"),
        ("2024-03-16 20:40:45", agent, "没关系，补发单号出来后我们会在这里发给您。"
                                      "补发的杯子收到没问题的话，麻烦您再把退款申请撤销一下就可以了。"),
        ("2024-03-16 20:41:10", buyer, "好的"),
        ("2024-03-16 20:41:30", agent, "再跟您确认一下，收货地址还是原来鼓楼区那个地址对吗？"),
        ("2024-03-16 20:42:05", buyer, "对的，还是放门卫就行"),
        ("2024-03-17 10:05:18", agent, "亲，补发已经安排好了，中通快递单号78412365098713，预计18号送达。"),
        ("2024-03-17 10:20:41", buyer, "收到，谢谢"),
        ("2024-03-18 16:02:37", lead, "您好，破损件我们已经向中通申请了理赔，不需要您这边做什么，您放心。"
                                     "补发的杯子收到后有任何问题随时联系我们。"),
        ("2024-03-18 18:47:12", buyer, "补发的收到了，这次是好的"),
        ("2024-03-18 18:48:00", agent, "太好了，感谢您的理解！麻烦您方便的时候撤销一下退款申请，谢谢～"),
        ("2024-03-19 21:10:05", buyer, "我看了一下，退款申请已经超时到平台了，你们跟平台说一下吧"),
        ("2024-03-19 21:12:30", agent, "好的，我们会向平台说明补发已签收的情况，给您添麻烦了。"),
    ]
    (root / "chat").mkdir(parents=True, exist_ok=True)
    # Chinese Windows tools export GBK; encode strictly so a stray character fails loudly.
    (root / "chat" / "千牛聊天记录.txt").write_bytes(
        qianniu_export(msgs).replace("\n", "\r\n").encode("gbk"))

    events = [
        ("2024-03-14 17:26:40", "【景德镇市】【景德镇珠山区】的陈师傅（158****3321）已揽收", "景德镇市", "揽收"),
        ("2024-03-14 21:05:12", "【景德镇市】快件离开【景德镇珠山区】已发往【南昌中转部】", "景德镇市", "在途"),
        ("2024-03-15 01:48:30", "【南昌市】快件已经到达【南昌中转部】", "南昌市", "在途"),
        ("2024-03-15 03:20:55", "【南昌市】快件离开【南昌中转部】已发往【南京中转部】", "南昌市", "在途"),
        ("2024-03-15 19:42:08", "【南京市】快件已经到达【南京中转部】", "南京市", "在途"),
        ("2024-03-15 22:10:44", "【南京市】快件离开【南京中转部】已发往【南京鼓楼】", "南京市", "在途"),
        ("2024-03-16 07:35:19", "【南京市】快件已经到达【南京鼓楼】", "南京市", "在途"),
        ("2024-03-16 08:40:02", "【南京市】【南京鼓楼】的李志强（139****6021）正在第1次派件，请保持电话畅通，并耐心等待",
         "南京市", "派件"),
        ("2024-03-16 11:42:36", "【南京市】快件已在【南京鼓楼】签收，签收人：门卫（代签），如有疑问请电联：139****6021，"
                                "投诉电话：95311，感谢使用中通快递", "南京市", "签收"),
    ]
    (root / "tracking").mkdir(parents=True, exist_ok=True)
    (root / "tracking" / "kuaidi100.json").write_text(
        kuaidi100("78390215564821", "zhongtong", "3", events), encoding="utf-8", newline="\n")

    save_screen(claim_receipt(), root / "reports" / "理赔受理单.png", colours=32)

    statement = (
        "原包裹于3月16日由门卫代签，买家当日反馈马克杯破损。我方当日提出补发且破损件无需寄回，买家在聊天中回复“好的”。补发包裹于3月17日发出，买家3月18日在聊天中确认收到且完好。原包裹破损已向中通提交理赔并获受理。请求平台按已履行的补发方案处理。"
    )
    body = f'''case_id = "TM-20240316-0002"
platform = "tmall"
dispute_type = "damaged_in_transit"
order_id = "{order_id}"
ordered_at = 2024-03-13T22:05:00+08:00
opened_at = 2024-03-16T20:30:00+08:00
intervention_at = 2024-03-19T20:30:00+08:00
timezone = "Asia/Shanghai"
currency = "CNY"
amount = "89.00"
statement = """{statement}"""

[buyer]
nick = {toml_str(buyer)}

[seller]
shop = {toml_str(shop)}
nicks = [{toml_str(agent)}, {toml_str(lead)}]

[item]
title = "窑火 手绘青花陶瓷马克杯 大容量办公室水杯 380ml"
sku = "青花款 380ml 单只"

[tracking]
carrier = "zhongtong"
number = "78390215564821"

[[evidence]]
path = "preship/IMG_20240314_151002.jpg"
caption = "发货前实拍：商品完好，与订单尾号便签同框"

[[evidence]]
path = "preship/IMG_20240314_151236.jpg"
caption = "装箱过程：气泡膜包裹、纸团填充"

[[evidence]]
path = "preship/IMG_20240314_151507.jpg"
caption = "封箱后：易碎品胶带及面单（运单号78390215564821）"

[[evidence]]
path = "reports/理赔受理单.png"
caption = "中通快递理赔受理回执（2024-03-18）"
'''
    write_case_toml(root / "case.toml", body)


# --------------------------------------------------------------------------
# case 3: not received (deliberately incomplete)
# --------------------------------------------------------------------------

def case_not_received(root: Path) -> None:
    order_id = "3846612098877201953"
    shop = "声动数码小店"
    agent = f"{shop}:客服阿伟"
    buyer = "光谷打工人"
    rows = [
        ("2024-04-15 09:12:03", buyer, "你好，我的耳机物流显示已经签收了，但是我没收到"),
        ("2024-04-15 09:13:20", agent, "您好，非常抱歉给您带来困扰，我这边马上帮您查一下物流。"),
        ("2024-04-15 09:15:41", agent, "查到了，包裹12号下午放到了光谷大道金融港的菜鸟驿站，系统显示是驿站签收的。"
                                      "您方便去驿站问一下吗？取件码是3-2-5017。"),
        ("2024-04-15 09:17:02", buyer, "我没收到取件码短信，而且物流中间好几天都没动过"),
        ("2024-04-15 09:18:30", agent, "是的，物流4号到了洪山区光谷公司之后，到12号之间没有更新，我们这边也会跟韵达核实原因。"),
        ("2024-04-15 12:40:15", buyer, "我中午去驿站问了，驿站说找不到"),
        ("2024-04-15 12:41:03", buyer, "现在怎么办？"),
        ("2024-04-15 12:43:26", agent, "辛苦您跑一趟了。我们已经联系韵达和驿站调取签收底单和出库记录，一般需要1-2个工作日，有结果第一时间告诉您。"),
        ("2024-04-15 12:44:10", agent, "如果核实确实没有交到您手上，我们会给您补发或者退款，不会让您吃亏的。"),
        ("2024-04-15 12:50:32", buyer, "我已经申请退款了"),
        ("2024-04-15 12:52:08", agent, "好的，收到。我们先等一下韵达的核实结果，可以吗？"),
        ("2024-04-15 12:55:40", buyer, "行吧"),
        ("2024-04-16 17:30:44", agent, "您好，韵达回复驿站的出库记录显示4月12日19:05已出库，出库照片还在调取中。"
                                      "请问家里人或同事有没有可能帮您取了？"),
        ("2024-04-16 18:02:19", buyer, "没有，我一个人住"),
        ("2024-04-16 18:03:55", agent, "好的，明白了。我们会继续催韵达提供出库照片，有进展马上告诉您。"),
        ("2024-04-18 13:20:12", buyer, "两天了还没结果，我申请平台介入了"),
        ("2024-04-18 13:22:40", agent, "理解您的心情，实在抱歉让您久等。我们会把物流记录和核实情况如实提交给平台，也会继续跟进韵达。"),
    ]
    (root / "chat").mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["time", "sender", "content"])
    w.writerows(rows)
    (root / "chat" / "chat.csv").write_bytes(buf.getvalue().encode("utf-8"))

    events = [
        ("2024-04-02 16:40:22", "【深圳市】广东深圳公司宝安区西乡服务部 已揽收", "深圳市", "揽收"),
        ("2024-04-02 21:18:05", "【深圳市】已到达 广东深圳转运中心", "深圳市", "在途"),
        ("2024-04-02 23:02:47", "【深圳市】已离开 广东深圳转运中心；发往 湖北武汉分拨交付中心", "深圳市", "在途"),
        ("2024-04-03 20:36:14", "【武汉市】已到达 湖北武汉分拨交付中心", "武汉市", "在途"),
        ("2024-04-03 22:51:39", "【武汉市】已离开 湖北武汉分拨交付中心；发往 湖北武汉洪山区光谷公司", "武汉市", "在途"),
        ("2024-04-04 09:10:27", "【武汉市】已到达 湖北武汉洪山区光谷公司", "武汉市", "在途"),
        ("2024-04-12 13:05:40", "【武汉市】湖北武汉洪山区光谷公司 派件员：刘洋 电话：186****7730 正在为您派件", "武汉市", "派件"),
        ("2024-04-12 14:22:50", "【武汉市】您的快件已到达菜鸟驿站（光谷大道金融港店），请凭取件码3-2-5017取件，"
                                "如有疑问请联系驿站 027-8765****", "武汉市", "在途"),
        ("2024-04-12 19:05:11", "【武汉市】您的快件已签收，签收人：光谷大道金融港店菜鸟驿站，如有疑问请联系驿站 027-8765****",
         "武汉市", "签收"),
    ]
    (root / "tracking").mkdir(parents=True, exist_ok=True)
    (root / "tracking" / "kuaidi100.json").write_text(
        kuaidi100("434587120096513", "yunda", "3", events), encoding="utf-8", newline="\n")

    statement = (
        "商品于4月2日交韵达揽收，4月12日由光谷大道金融港店菜鸟驿站签收。买家4月15日反馈未收到，我方当日向韵达及驿站申请签收底单和出库记录，目前尚无买家本人取件的凭证。请平台结合驿站出库记录核实；如确认未交付给买家，我方同意退款。"
    )
    body = f'''case_id = "TB-20240415-0003"
platform = "taobao"
dispute_type = "not_received"
order_id = "{order_id}"
ordered_at = 2024-04-01T20:15:00+08:00
opened_at = 2024-04-15T12:48:00+08:00
intervention_at = 2024-04-18T13:15:00+08:00
evidence_due_at = 2024-04-21T13:15:00+08:00
timezone = "Asia/Shanghai"
amount = "159.00"
statement = """{statement}"""

[buyer]
nick = {toml_str(buyer)}

[seller]
shop = {toml_str(shop)}
nicks = [{toml_str(agent)}]

[item]
title = "声动 真无线蓝牙耳机 主动降噪入耳式 超长续航"
sku = "曜石黑"

[tracking]
carrier = "yunda"
number = "434587120096513"
'''
    write_case_toml(root / "case.toml", body)


# --------------------------------------------------------------------------

CASES = {
    "colour-mismatch": case_colour_mismatch,
    "transit-damage": case_transit_damage,
    "not-received": case_not_received,
}


def main() -> None:
    if CJK_FONT is None:
        print("warning: no CJK font found; images will carry Latin text only")
    for name, build in CASES.items():
        root = HERE / name
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        build(root)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files)
        print(f"{name}: {len(files)} files, {total / 1024:.0f} KB")
        for p in files:
            print(f"  {p.relative_to(root)}  {p.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
