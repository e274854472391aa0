"""What a screenshot's recognised lines say: chat messages, listing facts, tracking events.

OCR (evidencepack/inputs/ocr.py) gives text lines with boxes; the layout gives them
meaning. Chat: the phone app puts the seller's own messages on the right and
centres a time line over each pause; the desktop workbench puts a line of
sender name and full time over every message. Listing: which facts the page
shows (data/screenshots.toml). Tracking: a date and time in the left column,
the event's text to the right. What comes out is the same models the exports
give, marked ``read_from = "screenshot"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from evidencepack.inputs.chat import RoleContext, kind_of
from evidencepack.models import (ChatMessage, ChatRole, EvidenceItem, OcrLine, OcrText,
                                 TrackingEvent)
from evidencepack.inputs.textio import load_toml
from evidencepack.inputs.times import DATETIME, from_match
from evidencepack.inputs.tracking import event_from_text
from evidencepack.resources import DATA

_DATA = DATA / "screenshots.toml"


@lru_cache(maxsize=1)
def _config() -> dict:
    return load_toml(_DATA, display="evidencepack/data/screenshots.toml")


@lru_cache(maxsize=1)
def _fact_patterns() -> dict[str, re.Pattern[str]]:
    return {name: re.compile("|".join(f"(?:{p})" for p in fact["patterns"]))
            for name, fact in _config()["facts"].items()}


def fact_ids() -> list[str]:
    return list(_config()["facts"])


def fact_name(fact: str, lang: str) -> str:
    return _config()["facts"][fact]["zh" if lang == "zh" else "en"]


def listing_facts(text: OcrText) -> list[str]:
    """The facts (data/screenshots.toml) a listing screenshot's text shows."""
    joined = re.sub(r"\s+", "", text.text)
    return [name for name, rx in _fact_patterns().items() if rx.search(joined)]


# --- times -------------------------------------------------------------------

_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?\s*(\d{1,2})\s*[:：]\s*(\d{2})"
                        r"(?:\s*[:：]\s*(\d{2}))?")
_CLOCK = re.compile(r"(昨天|前天|今天)?\s*(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?")
_DATE_ONLY = re.compile(r"(?:(\d{4})\s*[-/年.]\s*)?(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?")
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}


def _year_for(month: int, day: int, ref: datetime) -> int:
    # A screen without the year shows this year's dates, never the future.
    return ref.year - 1 if (month, day) > (ref.month, ref.day) else ref.year


def parse_shown_time(text: str, tz: ZoneInfo, ref: datetime, *, whole: bool = True
                     ) -> tuple[datetime, re.Match[str]] | None:
    """A time as a screen shows it (2024-03-12 10:15, 03-12 10:15, 3月12日 10:15,
    昨天 10:15, 10:15), the date completed from ``ref`` (the last date seen or the
    capture time). ``whole``: the text must be only the time; else it starts with a
    date and time (a clock alone inside words is no event time)."""
    s = text.strip()
    find = (lambda rx: rx.fullmatch(s)) if whole else (lambda rx: rx.match(s))
    try:
        if m := find(DATETIME):  # the one time parser's shape, year range and all
            return from_match(m, tz), m
        if m := find(_MONTH_DAY):
            mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
            return datetime(_year_for(mo, d, ref), mo, d, h, mi, sec, tzinfo=tz), m
        if whole and (m := find(_CLOCK)):
            day = (ref - timedelta(days=_DAYS_BACK.get(m[1] or "今天", 0))).date()
            return datetime(day.year, day.month, day.day, int(m[2]), int(m[3]),
                            int(m[4] or 0), tzinfo=tz), m
    except ValueError:
        return None
    return None


# --- chat --------------------------------------------------------------------

_HEADER = re.compile(r"(?P<nick>\S.*?)\s*(?P<time>\d{4}\s*[-/年.]\s*\d{1,2}\s*[-/月.]\s*\d{1,2}\s*日?"
                     r"\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)")


def _join(parts: list[str]) -> str:
    # A bubble wraps mid-sentence: Chinese joins without a space, Latin words with one.
    out = ""
    for part in parts:
        if out and out[-1].isascii() and out[-1].isalnum() and part[:1].isascii() and part[:1].isalnum():
            out += " "
        out += part
    return out


@dataclass
class _Bubble:
    side: str
    lines: list[OcrLine]
    at: datetime
    sender: str | None = None  # from a workbench header


@dataclass
class ChatContext:
    """What reading a case's chat screenshots needs from the case."""

    tz: ZoneInfo
    roles: RoleContext
    buyer_nick: str | None
    seller_name: str | None
    seller_side: str = "right"  # case.toml [chat] screenshot_seller_side


def _is_chrome(line: OcrLine) -> bool:
    return line.text.strip() in _config()["chat"]["chrome_words"]


def _bubbles(text: OcrText, ctx: ChatContext, at: datetime) -> tuple[list[_Bubble], datetime]:
    """The screenshot's messages as bubbles in reading order, each with its time;
    and the last time shown (the next screenshot's starting time)."""
    cfg = _config()["chat"]
    w, h = text.width, text.height
    # A picture is a message of its own, written as an export writes it ([图片]).
    shown = [OcrLine(text=cfg["picture_text"], box=box, confidence=1.0) for box in text.pictures]
    pictures = {id(ln) for ln in shown}
    lines = sorted((ln for ln in [*text.lines, *shown] if ln.text.strip() and not _is_chrome(ln)),
                   key=lambda ln: (ln.box[1], ln.box[0]))
    headers = [ln for ln in lines if _HEADER.fullmatch(ln.text.strip())]
    if headers:
        # Workbench: nothing above the first header is a message of this screen.
        lines = [ln for ln in lines if ln.box[1] >= headers[0].box[1]]
    else:
        lines = [ln for ln in lines if ln.box[1] >= w * cfg["phone_chrome_top"]
                 and ln.box[3] <= h - w * cfg["phone_chrome_bottom"]]
    bubbles: list[_Bubble] = []
    current: _Bubble | None = None
    for ln in lines:
        content = ln.text.strip()
        x0, y0, x1, y1 = ln.box
        header = _HEADER.fullmatch(content)
        if header:
            shown = parse_shown_time(header["time"], ctx.tz, at)
            if shown:
                at = shown[0]
            current = None
            bubbles.append(_Bubble(side="left" if x0 < w - x1 else "right", lines=[], at=at,
                                   sender=header["nick"].strip()))
            continue
        centred = abs((x0 + x1) / 2 - w / 2) < w * cfg["centred"]
        shown = parse_shown_time(content, ctx.tz, at) if centred else None
        if shown:
            at, current = shown[0], None
            continue
        if headers:
            # Under a header every line is that message's, whatever its side.
            bubbles[-1].lines.append(ln)
            continue
        if id(ln) in pictures:
            current = None
            bubbles.append(_Bubble(side="left" if x0 < w - x1 else "right", lines=[ln], at=at))
            continue
        if current is not None and current.lines:
            # A bubble's next line starts where its first did, close under it; its
            # last line may be short, so its side is the bubble's, not its own.
            above = current.lines[-1]
            height = above.box[3] - above.box[1]
            if (y0 - above.box[3] < cfg["same_bubble_gap"] * height
                    and abs(x0 - current.lines[0].box[0]) < height):
                current.lines.append(ln)
                continue
        current = _Bubble(side="left" if x0 < w - x1 else "right", lines=[ln], at=at)
        bubbles.append(current)
    return [b for b in bubbles if b.lines], at


def chat_messages(item: EvidenceItem, ctx: ChatContext, start: datetime
                  ) -> tuple[list[ChatMessage], datetime]:
    """A chat screenshot's messages; ``start`` is the time of its first messages until
    a time line shows (the previous screenshot's last time, or the capture time)."""
    cfg = _config()["chat"]
    assert item.ocr is not None
    bubbles, last = _bubbles(item.ocr, ctx, start)
    messages = []
    for n, b in enumerate(bubbles, 1):
        text = _join([ln.text.strip() for ln in b.lines])
        if b.sender is not None:
            sender = b.sender
            role = ctx.roles.role_of(sender)
        else:
            seller = b.side == ctx.seller_side
            role = ChatRole.seller if seller else ChatRole.buyer
            sender = (ctx.seller_name or cfg["seller_name"]) if seller else \
                (ctx.buyer_nick or cfg["buyer_name"])
        messages.append(ChatMessage(
            at=b.at, sender=sender, role=role, text=text, kind=kind_of(text, role, sender),
            source=item.path, line=n, read_from="screenshot",
            confidence=min(ln.confidence for ln in b.lines)))
    return messages, last


def doubtful(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Messages read with less confidence than data/screenshots.toml's low_confidence."""
    floor = _config()["chat"]["low_confidence"]
    return [m for m in messages if m.confidence is not None and m.confidence < floor]


def _same_text(a: str) -> str:
    return re.sub(r"[\s，。,.!！?？~～]", "", a)


def new_messages(read: list[ChatMessage], exported: list[ChatMessage]) -> list[ChatMessage]:
    """The screenshot messages no export already holds (same side, same words,
    within minutes: a screen shows minutes, an export seconds)."""
    seen = [(m.role, _same_text(m.text), m.at) for m in exported]
    return [m for m in read if not any(
        role == m.role and text == _same_text(m.text) and abs(at - m.at) <= timedelta(minutes=10)
        for role, text, at in seen)]


# --- tracking ----------------------------------------------------------------

_TIME_ONLY = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?")


def tracking_events(item: EvidenceItem, tz: ZoneInfo) -> list[TrackingEvent]:
    """A tracking screenshot's events: each date (with its time inline or just
    below it) starts one; the lines to its right and below, up to the next, are its text."""
    assert item.ocr is not None
    ref = item.captured_at or datetime.now(tz)
    lines = sorted((ln for ln in item.ocr.lines if ln.text.strip()),
                   key=lambda ln: (ln.box[1], ln.box[0]))
    anchors: list[tuple[OcrLine, datetime, str]] = []  # date line, time, inline text
    used: set[int] = set()
    for i, ln in enumerate(lines):
        s = ln.text.strip()
        found = parse_shown_time(s, tz, ref, whole=False)
        if found:
            at, m = found
            anchors.append((ln, at, s[m.end():].strip()))
            used.add(i)
            continue
        date = _DATE_ONLY.fullmatch(s)
        if not date:
            continue
        height = ln.box[3] - ln.box[1]
        below = next((j for j, other in enumerate(lines) if j not in used and j != i
                      and _TIME_ONLY.fullmatch(other.text.strip())
                      and 0 <= other.box[1] - ln.box[1] <= 2.5 * height
                      and other.box[0] < ln.box[2] and ln.box[0] < other.box[2]), None)
        if below is None:
            continue
        year = int(date[1]) if date[1] else None
        when = parse_shown_time(f"{year or ''}{'-' if year else ''}{date[2]}-{date[3]} "
                                f"{lines[below].text.strip()}", tz, ref)
        if when:
            anchors.append((ln, when[0], ""))
            used.update((i, below))
    events = []
    for n, (anchor, at, inline) in enumerate(anchors):
        top = anchor.box[1] - (anchor.box[3] - anchor.box[1]) / 2
        bottom = anchors[n + 1][0].box[1] - (anchor.box[3] - anchor.box[1]) / 2 \
            if n + 1 < len(anchors) else float("inf")
        parts = [inline] if inline else []
        parts += [ln.text.strip() for j, ln in enumerate(lines) if j not in used
                  and top <= ln.box[1] < bottom and ln.box[0] > anchor.box[0]]
        text = _join([p for p in parts if p])
        if text:
            events.append(event_from_text(at, text, source=item.path, line=n + 1,
                                          read_from="screenshot"))
    return events
