"""Chat records: read the seller workbench's exports and mask personal data.

The arbitrator decides many disputes on the chat alone (loss reason 5: the
agreement cannot be proved; loss reason 6: emotional wording), so this module
keeps every message it can read, says exactly which line it could not read and
why, and never guesses a time; evidencepack/tagging.py judges what the messages
say.  See docs/chat-formats.md for the user-facing description of the formats,
tags and masks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from evidencepack.errors import InputError, ParseError
from evidencepack.models import ChatLog, ChatMessage, ChatRole, Warning_, capped_warnings
from evidencepack.judge.tagging import tag_messages
from evidencepack.inputs.safeio import LIMITS
from evidencepack.inputs.textio import decode_text, delimiter_of
from evidencepack.inputs.times import parse_time

__all__ = ["parse_chat_file"]

TEXT_SUFFIXES = {".txt", ".log"}
CSV_SUFFIXES = {".csv"}
JSON_SUFFIXES = {".json", ".jsonl"}

# Headers are short; refusing to try header shapes on long lines keeps a 1 MB
# message line from costing quadratic regex backtracking.
_MAX_HEADER_LEN = 200
_MAX_NICK_LEN = 64


# --- times ----------------------------------------------------------------

# The shape of a time in a header line (times.parse_time reads it).
_TIME_CORE = (r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s+|T)"
              r"\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2}(?:[.,]\d{1,9})?)?")


# --- roles and message kinds ----------------------------------------------

# Names the platform itself posts under.  Matched exactly (after trimming), or
# by the 小二 prefix, because "官方" inside a nick is usually a flagship store.
_PLATFORM_NICKS = {
    "淘宝平台", "天猫平台", "淘宝小二", "天猫小二", "小二", "淘宝官方", "天猫官方", "官方",
    "系统消息", "系统通知", "系统", "平台", "平台客服", "淘宝客服", "阿里小蜜", "淘宝网",
    "taobao", "tmall", "system",
}
_SYSTEM_NICKS = {"系统消息", "系统通知", "系统", "system"}

_ROLE_WORDS = {
    "buyer": ChatRole.buyer, "买家": ChatRole.buyer, "顾客": ChatRole.buyer, "客户": ChatRole.buyer,
    "customer": ChatRole.buyer,
    "seller": ChatRole.seller, "卖家": ChatRole.seller, "商家": ChatRole.seller,
    "客服": ChatRole.seller, "店铺": ChatRole.seller, "shop": ChatRole.seller,
    "merchant": ChatRole.seller,
    "platform": ChatRole.platform, "平台": ChatRole.platform, "小二": ChatRole.platform,
    "system": ChatRole.system, "系统": ChatRole.system,
    "unknown": ChatRole.unknown, "未知": ChatRole.unknown,
}


def _norm_nick(nick: str) -> str:
    # Exports mix ASCII and full-width colons in sub-account names.
    return nick.strip().replace("：", ":").casefold()


def _is_platform_nick(nick: str) -> bool:
    n = _norm_nick(nick)
    return n in _PLATFORM_NICKS or n.startswith(("淘宝小二", "天猫小二", "小二", "系统消息"))


@dataclass
class RoleContext:
    seller_nicks: set[str]
    shop: str | None
    buyer_nick: str | None
    cache: dict[str, ChatRole] = field(default_factory=dict)

    @classmethod
    def make(cls, seller_nicks: list[str], shop: str | None, buyer_nick: str | None) -> RoleContext:
        return cls({_norm_nick(n) for n in seller_nicks if n and n.strip()},
                   _norm_nick(shop) if shop and shop.strip() else None,
                   _norm_nick(buyer_nick) if buyer_nick and buyer_nick.strip() else None)

    def role_of(self, nick: str) -> ChatRole:
        role = self.cache.get(nick)
        if role is None:
            role = self.cache[nick] = self._role_of(nick)
        return role

    def _role_of(self, nick: str) -> ChatRole:
        n = _norm_nick(nick)
        main = n.split(":", 1)[0]
        if n in self.seller_nicks or main in self.seller_nicks:
            return ChatRole.seller
        if self.shop is not None and (n == self.shop or n.startswith(self.shop + ":")):
            return ChatRole.seller
        if self.buyer_nick is not None and n == self.buyer_nick:
            return ChatRole.buyer
        if _is_platform_nick(nick):
            return ChatRole.platform
        return ChatRole.buyer if self.buyer_nick is None else ChatRole.unknown


_MEDIA = r"\[(?:图片|表情|动画表情|文件|视频|语音|image|photo|sticker|file|video)\]"
_MEDIA_ONLY = re.compile(
    rf"(?:\s*{_MEDIA}(?:\s*(?:https?://\S+|[^\s\[\]]+\.[A-Za-z0-9]{{2,5}}))?)+\s*", re.I)
_CARD_START = re.compile(r"\s*(?:\[(?:订单|商品|宝贝|订单卡片|商品卡片|卡片)\]|【(?:订单|商品|宝贝)】)")
_CARD_LINE = re.compile(
    r"\s*(?:(?:订单号|订单编号)\s*[:：]\s*[0-9A-Za-z]+\s*"
    r"|(?:商品|宝贝|商品名称|数量|实付|实付款|金额|付款时间|下单时间|成交时间"
    r"|订单状态|交易状态|状态|规格|颜色分类|尺码)\s*[:：].*)")
_CARD_KEY = re.compile(r"\s*(?:订单号|订单编号)\s*[:：]")
_RECALL = re.compile(r".{0,40}撤回了一条消息[。.!！]?\s*", re.S)
_AUTO = re.compile(r"\s*(?:\[自动回复\]|【自动回复】|自动回复)")


def kind_of(text: str, role: ChatRole, nick: str) -> str:
    stripped = text.strip()
    if "\n" not in stripped and _RECALL.fullmatch(stripped):
        return "recalled"
    if _AUTO.match(stripped):
        return "auto_reply"
    if stripped and _MEDIA_ONLY.fullmatch(stripped):
        return "image"
    if _CARD_START.match(stripped):
        return "order_card"
    lines = [ln for ln in stripped.split("\n") if ln.strip()]
    # A typed "订单号：123 还没收到" is a person talking; a card is only key-value lines.
    if lines and any(_CARD_KEY.match(ln) for ln in lines) and all(_CARD_LINE.fullmatch(ln) for ln in lines):
        return "order_card"
    if role is ChatRole.platform and _norm_nick(nick) in _SYSTEM_NICKS:
        return "system"
    return "text"


# --- building messages ------------------------------------------------------

@dataclass
class _Reader:
    display: str
    tz: ZoneInfo
    roles: RoleContext
    max_messages: int | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    unlisted: int = 0  # warnings past max_warnings: counted, not kept

    def warn(self, line: int | None, message: str) -> None:
        if len(self.warnings) >= LIMITS["files"]["max_warnings"]:
            self.unlisted += 1
            return
        self.warnings.append(Warning_(path=self.display, line=line, message=message))

    def add(self, *, line: int, time: object, sender: object, text: object,
            role: object = None) -> None:
        if sender is None or (isinstance(sender, str) and not sender.strip()):
            self.warn(line, "no sender; message skipped")
            return
        if not isinstance(sender, str):
            sender = json.dumps(sender, ensure_ascii=False) if isinstance(sender, (dict, list)) else str(sender)
        sender = sender.strip()
        try:
            at = parse_time(time, self.tz)
        except ValueError as exc:
            shown = time if isinstance(time, str) else json.dumps(time, ensure_ascii=False, default=str)
            self.warn(line, f"cannot read the time {_short(shown)!r} ({exc}); message skipped")
            return
        if text is None:
            text = ""
        elif not isinstance(text, str):
            # A structured card in a JSON export is still evidence; keep it readable.
            text = json.dumps(text, ensure_ascii=False, default=str)
        chat_role = None
        if role is not None and not (isinstance(role, str) and not role.strip()):
            chat_role = _ROLE_WORDS.get(str(role).strip().casefold())
            if chat_role is None:
                self.warn(line, f"unknown role {_short(str(role))!r}; role taken from the sender name")
        if chat_role is None:
            chat_role = self.roles.role_of(sender)
        if self.max_messages is not None and len(self.messages) >= self.max_messages:
            # Refused while reading: 600,000 one-character messages fit in 16 MB
            # and took `check` to 972 MB.
            raise ParseError(f"line {line:,}: the case's chat files hold more than "
                             f"{LIMITS['chat']['max_messages_read']:,} messages, the limit one "
                             "case may hold", path=self.display,
                             remedy="export only this order's conversation")
        self.messages.append(ChatMessage(
            at=at, sender=sender, role=chat_role, text=text,
            kind=kind_of(text, chat_role, sender), source=self.display, line=line))


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- workbench text export ----------------------------------------------------

_NICK_BAD = re.compile(r"[，。！？!?；;、\n]")
_BUILTIN_HEADERS = [
    # 小王爱购物(2024-03-12 10:15:32):
    re.compile(rf"(?P<nick>\S.*?)\s*[（(\[【]\s*(?P<time>{_TIME_CORE})\s*[)）\]】]\s*[:：]?"),
    # 2024-03-12 10:15:32 小王爱购物   /   [2024/3/12 10:16] 杭州好物旗舰店:小美
    re.compile(rf"[\[【(（]?\s*(?P<time>{_TIME_CORE})\s*[\]】)）]?\s*(?P<nick>\S.*?)\s*[:：]?"),
    # 小王爱购物 2024-03-12 10:15:32
    re.compile(rf"(?P<nick>\S.*?)\s+[\[【(（]?\s*(?P<time>{_TIME_CORE})\s*[\]】)）]?\s*[:：]?"),
]
_SEPARATOR = re.compile(r"[-=_*—─━~\s]{4,}")
_DATE_DIVIDER = re.compile(
    r"[-=_*—─━~\s]*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*(?:星期|周)[一二三四五六日天])?[-=_*—─━~\s]*")
_BANNER = re.compile(
    r"[-=_*—─━~\s]*(?:(?:以下为|以下是).*(?:聊天记录|消息记录)|(?:与|和).{1,60}的(?:聊天记录|消息记录).*"
    r"|(?:聊天记录|消息记录)(?:导出)?[:：(（].*)")


def _is_noise(line: str) -> bool:
    return bool(_SEPARATOR.fullmatch(line) or _DATE_DIVIDER.fullmatch(line) or _BANNER.fullmatch(line))


def _compile_header_pattern(pattern: str) -> re.Pattern[str]:
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"not a valid regular expression ({exc})",
                         field="header_pattern") from exc
    missing = {"nick", "time"} - set(rx.groupindex)
    if missing:
        raise InputError(f"lacks the named group(s) {', '.join(sorted(missing))}",
                         field="header_pattern",
                         remedy="write (?P<nick>...) and (?P<time>...)")
    return rx


@dataclass
class _Pending:
    nick: str
    time: datetime
    line: int
    body: list[str]


def _match_header(line: str, custom: re.Pattern[str] | None) -> tuple[str, str, str | None] | None:
    if len(line) > _MAX_HEADER_LEN:
        return None
    if custom is not None:
        m = custom.match(line)
        if not m or not (m["nick"] or "").strip() or not (m["time"] or "").strip():
            return None
        inline = m.groupdict().get("text")
        return m["nick"].strip(), m["time"].strip(), inline
    if not re.search(r"\d{4}", line):
        return None
    for rx in _BUILTIN_HEADERS:
        m = rx.fullmatch(line)
        if m:
            nick = m["nick"].strip()
            if nick and len(nick) <= _MAX_NICK_LEN and not _NICK_BAD.search(nick):
                return nick, m["time"], None
    return None


def _parse_text(text: str, reader: _Reader, custom: re.Pattern[str] | None) -> None:
    pending: _Pending | None = None
    skipping = False  # inside the body of a header we could not use
    orphan_first: int | None = None
    orphan_count = 0

    def flush() -> None:
        if pending is None:
            return
        body = pending.body
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        reader.add(line=pending.line, time=pending.time, sender=pending.nick, text="\n".join(body))

    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            if pending is not None:
                pending.body.append("")
            continue
        if _is_noise(stripped):
            continue
        header = _match_header(stripped, custom)
        if header is not None:
            flush()
            nick, time, inline = header
            try:
                when = parse_time(time, reader.tz)
            except ValueError as exc:
                reader.warn(number, f"cannot read the time {_short(time)!r} in this message header "
                                    f"({exc}); message skipped")
                pending, skipping = None, True
                continue
            pending, skipping = _Pending(nick, when, number, [inline] if inline else []), False
            continue
        if pending is not None:
            pending.body.append(line)
        elif not skipping:
            orphan_count += 1
            if orphan_first is None:
                orphan_first = number
    flush()
    if orphan_first is not None:
        # One warning for the run, inserted first so it reads in file order.
        reader.warnings.insert(0, Warning_(
            path=reader.display, line=orphan_first,
            message=f"{orphan_count} line(s) of text before the first message header skipped "
                    f"(no sender or time; use --header-pattern if the export has another header shape)"))


# --- CSV -------------------------------------------------------------------------

_COLUMNS = {
    "time": ["time", "timestamp", "datetime", "date", "at", "时间", "发送时间", "消息时间", "日期时间", "日期"],
    "sender": ["sender", "from", "nick", "nickname", "name", "user", "发送人", "发送方", "发送者", "昵称", "发件人", "用户"],
    "content": ["content", "text", "message", "msg", "body", "内容", "消息内容", "消息", "聊天内容", "文本"],
    "role": ["role", "角色", "身份", "发送人角色"],
}


def _column_key(name: str) -> str:
    return name.strip().strip("\ufeff").strip('"').strip().casefold()


def _parse_csv(text: str, reader: _Reader) -> None:
    # Python's default 128 KiB field cap would drop a long pasted message; the
    # limit is process-wide, so only ever raise it.
    if csv.field_size_limit() < 64 * 1024 * 1024:
        csv.field_size_limit(64 * 1024 * 1024)
    first_line = next((ln for ln in text.split("\n") if ln.strip()), "")
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(first_line))
    header: list[str] | None = None
    index: dict[str, int] = {}
    while True:
        start = rows.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is None:
                raise ParseError(f"cannot read the CSV header row ({exc})", path=reader.display,
                                 line=start) from exc
            reader.warn(start, f"cannot read this CSV row ({exc}); row skipped")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [_column_key(c) for c in row]
            for col, names in _COLUMNS.items():
                for i, name in enumerate(header):
                    if name in names:
                        index[col] = i
                        break
            for col in ("time", "sender", "content"):
                if col not in index:
                    raise ParseError(
                        f"missing column '{col}' in the CSV header row", path=reader.display, line=start,
                        remedy=f"name a column one of: {', '.join(_COLUMNS[col])}")
            continue

        def cell(col: str) -> str | None:
            i = index.get(col)
            return row[i] if i is not None and i < len(row) else None

        if cell("time") is None or cell("sender") is None:
            reader.warn(start, f"row has {len(row)} field(s), fewer than the header's {len(header)}; row skipped")
            continue
        reader.add(line=start, time=cell("time"), sender=cell("sender"), text=cell("content"),
                   role=cell("role"))
    if header is None:
        raise ParseError("no CSV header row", path=reader.display,
                         remedy="the first row must name the columns time, sender, content")


# --- JSON / JSON Lines ------------------------------------------------------------

_FIELDS = {
    "time": ["time", "at", "timestamp", "datetime", "date", "ts", "时间", "发送时间"],
    "sender": ["sender", "from", "nick", "nickname", "name", "user", "发送人", "发送方", "昵称"],
    "content": ["content", "text", "message", "msg", "body", "内容", "消息内容"],
    "role": ["role", "角色"],
}
_MISSING = object()


def _field(record: dict, col: str) -> object:
    lowered = {str(k).strip().casefold(): v for k, v in record.items()}
    for name in _FIELDS[col]:
        if name in lowered:
            return lowered[name]
    return _MISSING


def _add_record(reader: _Reader, record: object, line: int) -> None:
    if not isinstance(record, dict):
        reader.warn(line, f"expected an object with time, sender and content, got {type(record).__name__}; skipped")
        return
    values = {col: _field(record, col) for col in _FIELDS}
    for col in ("time", "sender"):
        if values[col] is _MISSING:
            reader.warn(line, f"missing field '{col}'; message skipped")
            return
    content = values["content"]
    if content is _MISSING:
        reader.warn(line, "missing field 'content'; message skipped")
        return
    role = values["role"]
    reader.add(line=line, time=values["time"], sender=values["sender"], text=content,
               role=None if role is _MISSING else role)


def _array_with_lines(text: str) -> list[tuple[object, int]] | None:
    """The elements of a top-level JSON array with the line each starts on,
    so warnings point where an editor will; None if it is not a bare array."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text, 0).end()
    if not text.startswith("[", pos):
        return None
    pos = ws.match(text, pos + 1).end()
    out: list[tuple[object, int]] = []
    if text.startswith("]", pos):
        return out
    line, counted = 1, 0
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        value, pos = decoder.raw_decode(text, pos)
        out.append((value, line))
        pos = ws.match(text, pos).end()
        if text.startswith(",", pos):
            pos = ws.match(text, pos + 1).end()
            continue
        return out


def _parse_json(text: str, reader: _Reader) -> None:
    try:
        whole = json.loads(text)
        whole_error = None
    except RecursionError:
        raise ParseError("JSON nested too deeply", path=reader.display) from None
    except ValueError as exc:
        whole, whole_error = None, exc
    if whole_error is None:
        if isinstance(whole, list):
            try:
                records = _array_with_lines(text)
            except (ValueError, RecursionError):  # pragma: no cover - json.loads already accepted it
                records = None
            if records is None:
                records = [(r, i) for i, r in enumerate(whole, 1)]
        elif isinstance(whole, dict) and isinstance(whole.get("messages"), list):
            # Record numbers, not lines: the array sits inside an object.
            records = [(r, i) for i, r in enumerate(whole["messages"], 1)]
        elif isinstance(whole, dict):
            records = [(whole, 1)]  # a one-line JSON Lines file
        else:
            raise ParseError(f"expected a list of messages or an object with a 'messages' list, "
                             f"got {type(whole).__name__}", path=reader.display)
        for record, line in records:
            _add_record(reader, record, line)
        return
    # Not one JSON document: read it as JSON Lines, whatever the suffix says.
    parsed_any = False
    first_error: tuple[int, str] | None = None
    lines = text.split("\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except RecursionError:
            reader.warn(number, "JSON nested too deeply; line skipped")
            continue
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            first_error = first_error or (number, msg)
            reader.warn(number, f"not valid JSON ({_short(msg)}); line skipped")
            continue
        parsed_any = True
        _add_record(reader, record, number)
    if not parsed_any:
        err = whole_error
        where = err.lineno if isinstance(err, json.JSONDecodeError) else None
        msg = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
        raise ParseError(f"not JSON or JSON Lines ({_short(msg)})", path=reader.display, line=where,
                         remedy="export the chat as a JSON array, JSON Lines, CSV or the workbench text")


# --- entry point -------------------------------------------------------------------

def parse_chat_file(path: Path, display: str, *, tz: ZoneInfo, seller_nicks: list[str],
                    shop: str | None = None, buyer_nick: str | None = None,
                    header_pattern: str | None = None, data: bytes | None = None,
                    max_messages: int | None = None) -> ChatLog:
    """Read one chat export into time-ordered, tagged messages.

    Lines that cannot be read become warnings; a file with content but not a
    single readable message is a ParseError, because an empty chat section in
    a pack would silently lose the seller's strongest evidence. Past
    ``max_messages`` messages it is a ParseError too (data/limits.toml).
    """
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES | CSV_SUFFIXES | JSON_SUFFIXES:
        raise ParseError(f"unsupported chat file type {suffix or '(none)'!r}", path=display,
                         remedy="use .txt, .log, .csv, .json or .jsonl")
    custom = _compile_header_pattern(header_pattern) if header_pattern else None
    if data is None:  # ``data``: the file's bytes, when the caller has read (and hashed) them
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read file ({exc.strerror or exc})", path=display) from exc
    text, _encoding = decode_text(data, display)
    # Exports mix \r\n, \n and bare \r (old Mac-style tools); editors count all.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    reader = _Reader(display, tz, RoleContext.make(seller_nicks, shop, buyer_nick),
                     max_messages=max_messages)
    if not text.strip():
        reader.warn(None, "the chat file is empty")
        return ChatLog(messages=[], warnings=reader.warnings)
    if suffix in TEXT_SUFFIXES:
        _parse_text(text, reader, custom)
    elif suffix in CSV_SUFFIXES:
        _parse_csv(text, reader)
    else:
        _parse_json(text, reader)
    if not reader.messages:
        if reader.warnings:
            first = reader.warnings[0]
            problem = (f"line {first.line}: " if first.line is not None else "") + first.message
        else:
            problem = "no message header or record found"
        raise ParseError(f"no chat message could be read; first problem: {problem}", path=display)
    messages = sorted(reader.messages, key=lambda m: m.at)
    tag_messages(messages)
    return ChatLog(messages=messages, warnings=capped_warnings(
        reader.warnings, display, LIMITS["files"]["max_warnings"], reader.unlisted))



