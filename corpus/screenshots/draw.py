"""Drawing labelled screenshots of chat, listing and tracking pages with Pillow.

Used by make.py (the measured set in this folder) and by the tests (chats that
exist only as screenshots). Every function returns the image and what it shows
(the label), so a measurement never depends on reading our own drawing back.
Layouts: the phone app (bubbles by side, time separators, status and input bars)
and the desktop workbench (a name-and-time line over each message).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def cjk_fonts() -> list[tuple[str, int]]:
    """Installed CJK faces (file, index): every face of every font fontconfig has for zh."""
    out = subprocess.run(["fc-list", ":lang=zh", "file", "index"], capture_output=True,
                         text=True, check=False).stdout
    faces = set()
    for line in out.splitlines():
        path, _, rest = line.partition(":")
        index = rest.strip().removeprefix("index=")
        if path.strip() and Path(path.strip()).is_file():
            faces.add((path.strip(), int(index) if index.isdigit() else 0))
    return sorted(faces)


@lru_cache(maxsize=64)
def font(size: int, face: int = 0) -> ImageFont.FreeTypeFont:
    faces = cjk_fonts()
    path, index = faces[face % len(faces)]
    # The basic layout: raqm fails on some strings, and Chinese needs no shaping.
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


def _wrap(text: str, f: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of at most ``width`` px; the text's own line breaks kept."""
    lines = []
    for paragraph in text.split("\n"):
        current = ""
        for ch in paragraph:
            if f.getlength(current + ch) > width and current:
                lines.append(current)
                current = ch
            else:
                current += ch
        if current:
            lines.append(current)
    return lines


@dataclass
class Say:
    """One chat message as drawn: who, when, what (``kind`` image draws a picture)."""

    role: str  # buyer / seller
    at: datetime
    text: str
    kind: str = "text"


@dataclass
class Style:
    width: int = 750
    height: int = 1334
    size: int = 28  # message font size, px
    face: int = 0
    clock: str = "20:31"
    separator: str = "full"  # full: 2024-03-12 10:15, short: 03-12 10:15, cn: 3月12日 10:15


@dataclass
class Shot:
    image: Image.Image
    messages: list[dict] = field(default_factory=list)  # role, text, kind, at
    lines: list[str] = field(default_factory=list)  # every content string drawn, reading order
    facts: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # at, text


def _separator(at: datetime, style: str) -> str:
    if style == "short":
        return at.strftime("%m-%d %H:%M")
    if style == "cn":
        return f"{at.month}月{at.day}日 {at:%H:%M}"
    return at.strftime("%Y-%m-%d %H:%M")


def _status_bar(d: ImageDraw.ImageDraw, s: Style, bg, lines: list[str] | None = None) -> int:
    # Bars scale with the width: a long screenshot is taller, its bars are not.
    h = round(s.width * 0.0623)
    d.rectangle((0, 0, s.width, h), fill=bg)
    f = font(round(h * 0.6), s.face)
    d.text((24, h * 0.2), s.clock, fill=(20, 20, 20), font=f)
    d.text((s.width - 24 - f.getlength("100%"), h * 0.2), "100%", fill=(20, 20, 20), font=f)
    if lines is not None:
        lines.extend([s.clock, "100%"])
    return h


def chat_phone(says: list[Say], *, title: str, style: Style | None = None,
               gap_minutes: int = 5, seller_side: str = "right") -> list[Shot]:
    """The phone app: the other party on the left, who screenshots on the right
    (the seller, or with ``seller_side="left"`` the buyer), a centred time line at
    the top of each screen and after each pause of ``gap_minutes``. As many
    screens as the messages need."""
    s = style or Style()
    f = font(s.size, s.face)
    small = font(round(s.size * 0.8), s.face)
    pad, avatar, gap = round(s.size * 0.6), round(s.size * 2.2), round(s.size * 0.9)
    max_text = round(s.width * 0.6)
    shots: list[Shot] = []
    i = 0
    while i < len(says):
        img = Image.new("RGB", (s.width, s.height), (237, 237, 237))
        d = ImageDraw.Draw(img)
        top = _status_bar(d, s, (246, 246, 246))
        bar = round(s.width * 0.1174)
        d.rectangle((0, top, s.width, top + bar), fill=(246, 246, 246))
        tf = font(round(s.size * 1.1), s.face)
        d.text(((s.width - tf.getlength(title)) / 2, top + bar * 0.25), title, fill=(0, 0, 0), font=tf)
        bottom = s.height - round(s.width * 0.1334)
        d.rectangle((0, bottom, s.width, s.height), fill=(246, 246, 246))
        d.rounded_rectangle((20, bottom + 18, s.width - 140, s.height - 18), 8, fill=(255, 255, 255))
        d.text((s.width - 110, bottom + 30), "发送", fill=(255, 120, 0), font=f)
        y = top + bar + gap
        shot = Shot(image=img)
        last_shown: datetime | None = None
        while i < len(says):
            say = says[i]
            show_time = last_shown is None or (say.at - last_shown).total_seconds() >= gap_minutes * 60
            lines = _wrap(say.text, f, max_text) if say.kind == "text" else []
            line_h = round(s.size * 1.35)
            body = len(lines) * line_h if lines else round(s.size * 5)
            need = (small.size + gap if show_time else 0) + body + 2 * pad + gap
            if y + need > bottom and shot.messages:
                break
            if show_time:
                label = _separator(say.at, s.separator)
                d.text(((s.width - small.getlength(label)) / 2, y), label, fill=(110, 110, 110),
                       font=small)
                y += small.size + gap
                last_shown = say.at
            right = (say.role == "seller") == (seller_side == "right")
            width = max((f.getlength(ln) for ln in lines), default=round(s.size * 6))
            x_av = s.width - 20 - avatar if right else 20
            d.rectangle((x_av, y, x_av + avatar, y + avatar), fill=(255, 160, 90) if right else (120, 160, 220))
            x1 = x_av - 16 if right else x_av + avatar + 16 + width + 2 * pad
            x0 = x1 - width - 2 * pad
            d.rounded_rectangle((x0, y, x1, y + body + 2 * pad), 10,
                                fill=(255, 224, 196) if right else (255, 255, 255))
            if lines:
                for n, ln in enumerate(lines):
                    d.text((x0 + pad, y + pad + n * line_h), ln, fill=(0, 0, 0), font=f)
            else:  # a picture: a grey photo, no text
                d.rectangle((x0 + pad, y + pad, x1 - pad, y + pad + body), fill=(170, 180, 175))
            y += body + 2 * pad + gap
            shot.messages.append({"role": say.role, "text": say.text if lines else "",
                                  "kind": say.kind, "at": say.at.isoformat()})
            i += 1
        shots.append(shot)
    return shots


def chat_workbench(says: list[Say], *, buyer: str, seller: str, style: Style | None = None
                   ) -> list[Shot]:
    """The desktop workbench: each message under a line of sender name and full time,
    the buyer's on the left, the seller's on the right."""
    s = style or Style(width=1100, height=820, size=17)
    f = font(s.size, s.face)
    small = font(round(s.size * 0.9), s.face)
    pad, gap = round(s.size * 0.6), round(s.size * 1.0)
    max_text = round(s.width * 0.55)
    shots: list[Shot] = []
    i = 0
    while i < len(says):
        img = Image.new("RGB", (s.width, s.height), (255, 255, 255))
        d = ImageDraw.Draw(img)
        bar = round(s.height * 0.07)
        d.rectangle((0, 0, s.width, bar), fill=(240, 242, 245))
        d.text((20, bar * 0.3), buyer, fill=(0, 0, 0), font=font(round(s.size * 1.1), s.face))
        bottom = s.height - round(s.height * 0.2)
        d.line((0, bottom, s.width, bottom), fill=(220, 220, 220), width=2)
        d.rounded_rectangle((s.width - 120, s.height - 60, s.width - 24, s.height - 20), 6,
                            fill=(255, 110, 0))
        d.text((s.width - 94, s.height - 52), "发送", fill=(255, 255, 255), font=f)
        y = bar + gap
        shot = Shot(image=img)
        while i < len(says):
            say = says[i]
            lines = _wrap(say.text, f, max_text) if say.kind == "text" else ["[图片]"]
            line_h = round(s.size * 1.4)
            need = small.size + 8 + len(lines) * line_h + 2 * pad + gap
            if y + need > bottom and shot.messages:
                break
            right = say.role == "seller"
            head = f"{seller if right else buyer} {say.at:%Y-%m-%d %H:%M:%S}"
            hx = s.width - 30 - small.getlength(head) if right else 30
            d.text((hx, y), head, fill=(30, 110, 200) if right else (0, 150, 80), font=small)
            y += small.size + 8
            width = max(f.getlength(ln) for ln in lines)
            x0 = s.width - 30 - width - 2 * pad if right else 30
            d.rounded_rectangle((x0, y, x0 + width + 2 * pad, y + len(lines) * line_h + 2 * pad), 6,
                                fill=(226, 240, 255) if right else (242, 242, 242))
            for n, ln in enumerate(lines):
                d.text((x0 + pad, y + pad + n * line_h), ln, fill=(0, 0, 0), font=f)
            y += len(lines) * line_h + 2 * pad + gap
            shot.messages.append({"role": say.role, "text": "".join(lines) if say.kind == "text"
                                  else "[图片]", "kind": say.kind, "at": say.at.isoformat(),
                                  "sender": seller if right else buyer})
            i += 1
        shots.append(shot)
    return shots


def listing(*, title: str, price: str, policy: str | None, specs: list[tuple[str, str]],
            disclaimer: str | None, promise: str | None, style: Style | None = None,
            facts: list[str] | None = None) -> Shot:
    """A product page: price, title, optional service line, spec table, notes."""
    s = style or Style()
    img = Image.new("RGB", (s.width, s.height), (255, 255, 255))
    d = ImageDraw.Draw(img)
    lines: list[str] = []
    top = _status_bar(d, s, (255, 255, 255), lines)
    pic = round(s.width * 0.75)
    d.rectangle((0, top, s.width, top + pic), fill=(200, 205, 215))
    f = font(s.size, s.face)
    big = font(round(s.size * 1.6), s.face)
    y = top + pic + 20

    def put(text: str, fnt=f, fill=(0, 0, 0)):
        nonlocal y
        for ln in _wrap(text, fnt, s.width - 48):
            d.text((24, y), ln, fill=fill, font=fnt)
            lines.append(ln)
            y += round(fnt.size * 1.45)
        y += round(s.size * 0.4)

    put(price, big, (255, 80, 0))
    put(title)
    if policy:
        put(policy, fill=(90, 90, 90))
    if promise:
        put(promise, fill=(200, 60, 0))
    for key, value in specs:
        d.text((24, y), key, fill=(120, 120, 120), font=f)
        d.text((24 + round(s.size * 6), y), value, fill=(0, 0, 0), font=f)
        lines.extend([key, value])
        y += round(s.size * 1.6)
    if disclaimer:
        put(disclaimer, fill=(150, 150, 150))
    return Shot(image=img, lines=lines, facts=list(facts or []))


def tracking(*, carrier: str, number: str, events: list[tuple[datetime, str]],
             style: Style | None = None) -> Shot:
    """A logistics page, newest first: date and time stacked left, the text right."""
    s = style or Style()
    img = Image.new("RGB", (s.width, s.height), (255, 255, 255))
    d = ImageDraw.Draw(img)
    lines: list[str] = []
    top = _status_bar(d, s, (255, 255, 255), lines)
    f = font(s.size, s.face)
    small = font(round(s.size * 0.85), s.face)
    title = font(round(s.size * 1.1), s.face)
    d.text(((s.width - title.getlength("物流详情")) / 2, top + 20), "物流详情", fill=(0, 0, 0), font=title)
    y = top + 40 + title.size
    head = f"{carrier} {number}"
    d.text((24, y), head, fill=(60, 60, 60), font=f)
    lines += ["物流详情", head]
    y += round(s.size * 2.2)
    col = round(s.size * 4.2)
    shown = []
    for at, text in sorted(events, reverse=True):
        wrapped = _wrap(text, f, s.width - col - 70)
        if y + len(wrapped) * round(s.size * 1.4) > s.height - 20:
            break
        d.text((24, y), at.strftime("%m-%d"), fill=(90, 90, 90), font=small)
        d.text((24, y + round(s.size * 1.2)), at.strftime("%H:%M"), fill=(90, 90, 90), font=small)
        d.ellipse((col + 10, y + 8, col + 22, y + 20), fill=(255, 110, 0))
        for n, ln in enumerate(wrapped):
            d.text((col + 40, y + n * round(s.size * 1.4)), ln, fill=(0, 0, 0), font=f)
        lines.extend([at.strftime("%m-%d"), at.strftime("%H:%M"), *wrapped])
        shown.append({"at": at.isoformat(), "text": text})
        y += max(2, len(wrapped)) * round(s.size * 1.4) + round(s.size * 1.2)
    return Shot(image=img, lines=lines, events=shown)


def save(image: Image.Image, path: Path, quality: int | None = None) -> None:
    """PNG, or a JPEG of ``quality`` (what a forwarded screenshot becomes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if quality is None:
        image.save(path, "PNG", optimize=True)
    else:
        image.save(path, "JPEG", quality=quality)
