"""Chat exports: what an agent sees after parse_chat_file, tagging and masking."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidencepack.inputs.chat import parse_chat_file
from evidencepack.inputs.redact import Redactor
from evidencepack.errors import InputError, ParseError
from evidencepack.models import ChatRole

SH = ZoneInfo("Asia/Shanghai")
SHOP = "杭州好物旗舰店"
BUYER = "小王爱购物"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def parse(path: Path, **kw):
    kw.setdefault("tz", SH)
    kw.setdefault("seller_nicks", [])
    kw.setdefault("shop", SHOP)
    return parse_chat_file(path, f"chat/{path.name}", **kw)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


WORKBENCH = """以下为 小王爱购物 与 杭州好物旗舰店 的聊天记录
----------------------------
2024-03-12
2024-03-12 10:15:32 小王爱购物
你好，收到的衣服颜色和图片不一样
袖子这里也有线头

[2024/3/12 10:16] 杭州好物旗舰店:小美
亲，麻烦拍一下照片哦
小王爱购物(2024-03-12 10:17:02):
[图片]
杭州好物旗舰店:小美 2024-03-12 10:20:00
亲，给您部分退款20元可以吗
小王爱购物 2024/3/12 10:21
好的
"""


# --- workbench text ---------------------------------------------------------------

def test_workbench_text_every_header_shape(tmp_path):
    log = parse(write(tmp_path, "chat.txt", WORKBENCH))
    assert log.warnings == []
    assert [(m.sender, m.at, m.line) for m in log.messages] == [
        (BUYER, at(2024, 3, 12, 10, 15, 32), 4),
        ("杭州好物旗舰店:小美", at(2024, 3, 12, 10, 16), 8),
        (BUYER, at(2024, 3, 12, 10, 17, 2), 10),
        ("杭州好物旗舰店:小美", at(2024, 3, 12, 10, 20), 12),
        (BUYER, at(2024, 3, 12, 10, 21), 14),
    ]
    first = log.messages[0]
    assert first.text == "你好，收到的衣服颜色和图片不一样\n袖子这里也有线头"
    assert first.source == "chat/chat.txt"
    assert [m.role for m in log.messages] == [ChatRole.buyer, ChatRole.seller, ChatRole.buyer,
                                              ChatRole.seller, ChatRole.buyer]
    assert log.messages[2].kind == "image"
    assert "buyer_complaint" in first.tags
    assert "buyer_agrees" in log.messages[4].tags


def test_time_first_nick_with_colon_and_time_last_variants(tmp_path):
    text = ("2024-03-12 10:15 小王爱购物:\n在吗\n"
            "【2024-03-12 10:16:01】杭州好物旗舰店:小美\n在的亲\n"
            "小王爱购物 [2024-03-12 10:17:00]\n好\n")
    log = parse(write(tmp_path, "c.log", text))
    assert [(m.sender, m.text) for m in log.messages] == [
        (BUYER, "在吗"), ("杭州好物旗舰店:小美", "在的亲"), (BUYER, "好")]


def test_messages_are_sorted_by_time_stably(tmp_path):
    text = ("小王爱购物 2024-03-12 10:20:00\n第三\n"
            "小王爱购物 2024-03-12 10:00:00\n第一\n"
            "小王爱购物 2024-03-12 10:00:00\n第二\n")
    log = parse(write(tmp_path, "c.txt", text))
    assert [m.text for m in log.messages] == ["第一", "第二", "第三"]


def test_mixed_line_endings(tmp_path):
    text = "2024-03-12 10:15:32 小王爱购物\r\n第一行\r第二行\n2024-03-12 10:16:00 杭州好物旗舰店\r\n亲\r\n"
    log = parse(write(tmp_path, "c.txt", text))
    assert [m.text for m in log.messages] == ["第一行\n第二行", "亲"]
    assert [m.line for m in log.messages] == [1, 4]


# A real workbench export starts with its first header, so BOM-less UTF-16
# files begin with ASCII digits; the banner variant is covered with a BOM.
EXPORT = WORKBENCH.split("\n", 3)[3]


@pytest.mark.parametrize("encoding,content", [
    ("utf-8", WORKBENCH), ("utf-8-sig", WORKBENCH), ("gbk", WORKBENCH), ("gb18030", WORKBENCH),
    ("utf-16", WORKBENCH), ("utf-16-le", EXPORT), ("utf-16-be", EXPORT), ("utf-16-be", WORKBENCH)])
def test_each_encoding(tmp_path, encoding, content):
    log = parse(write(tmp_path, "c.txt", content, encoding))
    assert len(log.messages) == 5
    assert log.messages[0].sender == BUYER
    assert log.messages[0].text.startswith("你好，收到的衣服颜色和图片不一样")
    assert log.messages[1].text == "亲，麻烦拍一下照片哦"


def test_bomless_utf16_le_starting_with_chinese(tmp_path):
    log = parse(write(tmp_path, "c.txt", WORKBENCH, "utf-16-le"))
    assert len(log.messages) == 5


def test_system_line_kinds(tmp_path):
    text = """2024-03-12 10:00:00 小王爱购物
[图片]
2024-03-12 10:00:10 小王爱购物
[表情]
2024-03-12 10:00:20 小王爱购物
[文件] 发票.pdf
2024-03-12 10:01:00 小王爱购物
[订单]
订单号：3712345678901234567
2024-03-12 10:01:30 小王爱购物
订单号：3712345678901234567
商品：纯棉T恤 白色 L
2024-03-12 10:02:00 小王爱购物
小王爱购物撤回了一条消息
2024-03-12 10:03:00 杭州好物旗舰店
[自动回复]亲，您好，欢迎光临杭州好物旗舰店，退款请稍候
2024-03-12 10:03:01 杭州好物旗舰店
自动回复：客服马上就来
2024-03-12 10:04:00 淘宝小二
您好，平台已介入处理
2024-03-12 10:05:00 系统消息
买家已申请退款
2024-03-12 10:06:00 小王爱购物
订单号：3712345678901234567 还没收到货
"""
    log = parse(write(tmp_path, "c.txt", text))
    kinds = [(m.kind, m.role) for m in log.messages]
    assert kinds == [
        ("image", ChatRole.buyer), ("image", ChatRole.buyer), ("image", ChatRole.buyer),
        ("order_card", ChatRole.buyer), ("order_card", ChatRole.buyer),
        ("recalled", ChatRole.buyer),
        ("auto_reply", ChatRole.seller), ("auto_reply", ChatRole.seller),
        ("text", ChatRole.platform), ("system", ChatRole.platform),
        ("text", ChatRole.buyer),
    ]
    # An order card's "退款"-like words are not said by anyone; a typed
    # order number with a complaint is.
    assert log.messages[3].tags == []
    assert log.messages[-1].tags == ["buyer_complaint"]


def test_body_before_first_header_is_a_warning(tmp_path):
    text = "这是一段没有抬头的文字\n第二行\n2024-03-12 10:15:32 小王爱购物\n你好\n"
    log = parse(write(tmp_path, "c.txt", text))
    assert len(log.messages) == 1
    assert [str(w) for w in log.warnings] == [
        "chat/c.txt:1: 2 line(s) of text before the first message header skipped "
        "(no sender or time; use --header-pattern if the export has another header shape)"]


def test_header_with_bad_time_is_skipped_with_its_body(tmp_path):
    text = "2024-02-30 10:15:32 小王爱购物\n不存在的日期\n2024-03-12 10:15:32 小王爱购物\n你好\n"
    log = parse(write(tmp_path, "c.txt", text))
    assert [m.text for m in log.messages] == ["你好"]
    assert [str(w) for w in log.warnings] == [
        "chat/c.txt:1: cannot read the time '2024-02-30 10:15:32' in this message header "
        "(day is out of range for month); message skipped"]


def test_custom_header_pattern(tmp_path):
    text = ("<<小王爱购物>> @ 12.03.2024 10:15\n你好，还没收到货\n"
            "<<杭州好物旗舰店:小美>> @ 12.03.2024 10:16\n亲，帮您查一下\n")
    # The built-in shapes do not know this export:
    with pytest.raises(ParseError):
        parse(write(tmp_path, "c.txt", text))
    log = parse(write(tmp_path, "c.txt", text.replace("12.03.2024", "2024-03-12")),
                header_pattern=r"<<(?P<nick>[^>]+)>> @ (?P<time>.+)$")
    assert [(m.sender, m.role, m.at) for m in log.messages] == [
        (BUYER, ChatRole.buyer, at(2024, 3, 12, 10, 15)),
        ("杭州好物旗舰店:小美", ChatRole.seller, at(2024, 3, 12, 10, 16))]
    assert log.messages[0].tags == ["buyer_complaint"]


def test_custom_header_pattern_errors(tmp_path):
    path = write(tmp_path, "c.txt", WORKBENCH)
    with pytest.raises(InputError, match="lacks the named group"):
        parse(path, header_pattern=r"(?P<nick>\S+) (?P<when>.+)")
    with pytest.raises(InputError, match="not a valid regular expression"):
        parse(path, header_pattern=r"(?P<nick>")


def test_large_text_file_and_huge_message(tmp_path):
    lines = []
    start = at(2024, 3, 1)
    for i in range(100_000):
        t = start + timedelta(seconds=i)
        nick = BUYER if i % 2 else "杭州好物旗舰店:小美"
        lines.append(f"{t:%Y-%m-%d %H:%M:%S} {nick}\n第{i}条消息，亲，请问还有什么问题吗\n")
    log = parse(write(tmp_path, "big.txt", "".join(lines)))
    assert len(log.messages) == 100_000
    assert log.messages[-1].text.startswith("第99999条")

    huge = "很长" * 500_000  # 1,000,000 characters on one line
    log = parse(write(tmp_path, "huge.txt", f"2024-03-12 10:15:32 小王爱购物\n{huge}\n"))
    assert log.messages[0].text == huge


# --- roles --------------------------------------------------------------------------

def test_roles(tmp_path):
    text = """2024-03-12 10:00:00 杭州好物旗舰店
亲
2024-03-12 10:00:01 杭州好物旗舰店:小美
亲
2024-03-12 10:00:02 杭州好物旗舰店：小丽
亲
2024-03-12 10:00:03 好物售后:阿强
亲
2024-03-12 10:00:04 小王爱购物
在
2024-03-12 10:00:05 路人甲
你好
2024-03-12 10:00:06 天猫小二
平台已介入
"""
    path = write(tmp_path, "c.txt", text)
    log = parse(path, seller_nicks=["好物售后"], buyer_nick=BUYER)
    assert [m.role for m in log.messages] == [
        ChatRole.seller, ChatRole.seller, ChatRole.seller, ChatRole.seller,
        ChatRole.buyer, ChatRole.unknown, ChatRole.platform]
    # Without a buyer nick, anyone who is not the seller or the platform is the buyer.
    log = parse(path, seller_nicks=["好物售后"])
    assert log.messages[5].role is ChatRole.buyer
    # Without the shop name, sub-accounts are not guessed to be the seller.
    log = parse(path, shop=None, seller_nicks=[])
    assert log.messages[1].role is ChatRole.buyer


# --- CSV ------------------------------------------------------------------------------

def test_csv_chinese_headers_and_role_column(tmp_path):
    text = ("时间,发送人,内容,角色\n"
            "2024-03-12 10:15:32,小王爱购物,\"你好，杯子碎了\n寄过来就是碎的\",买家\n"
            "2024-03-12 10:16:00,阿花,亲，给您补发一个,卖家\n"
            "2024-03-12T10:17:00+08:00,小王爱购物,好的,\n")
    log = parse(write(tmp_path, "c.csv", text, "gbk"))
    assert log.warnings == []
    assert [(m.sender, m.role, m.line) for m in log.messages] == [
        (BUYER, ChatRole.buyer, 2), ("阿花", ChatRole.seller, 4), (BUYER, ChatRole.buyer, 5)]
    assert log.messages[0].text == "你好，杯子碎了\n寄过来就是碎的"
    assert log.messages[2].tags == ["buyer_agrees", "agrees_resend"]


def test_csv_english_headers_bad_rows_warn(tmp_path):
    text = ("Time,Sender,Content\n"
            "2024-03-12 10:15:32,小王爱购物,在吗\n"
            "yesterday,小王爱购物,在吗？\n"
            "2024-03-12 10:16:00\n"
            "2024-03-12 10:17:00,,没有发送人\n"
            "2024-03-12 10:18:00,杭州好物旗舰店,在的\n")
    log = parse(write(tmp_path, "c.csv", text))
    assert [m.text for m in log.messages] == ["在吗", "在的"]
    assert [str(w) for w in log.warnings] == [
        "chat/c.csv:3: cannot read the time 'yesterday' (not a date and time (want YYYY-MM-DD HH:MM[:SS])); "
        "message skipped",
        "chat/c.csv:4: row has 1 field(s), fewer than the header's 3; row skipped",
        "chat/c.csv:5: no sender; message skipped",
    ]


def test_csv_missing_column(tmp_path):
    path = write(tmp_path, "c.csv", "时间,内容\n2024-03-12 10:15:32,你好\n")
    with pytest.raises(ParseError) as err:
        parse(path)
    assert str(err.value) == ("chat/c.csv:1: missing column 'sender' in the CSV header row "
                              "(name a column one of: sender, from, nick, nickname, name, user, "
                              "发送人, 发送方, 发送者, 昵称, 发件人, 用户)")


def test_csv_alternative_chinese_names(tmp_path):
    text = "时间,发送方,消息内容\n2024/3/12 9:05,小王爱购物,没收到货\n"
    log = parse(write(tmp_path, "c.csv", text, "utf-16"))
    assert log.messages[0].at == at(2024, 3, 12, 9, 5)
    assert log.messages[0].tags == ["buyer_complaint"]


# --- JSON -----------------------------------------------------------------------------

def test_json_array_with_aliases_and_epochs(tmp_path):
    records = [
        {"at": 1710209732, "from": BUYER, "text": "你好，还没收到"},
        {"time": 1710209792000, "nick": SHOP, "content": "亲，帮您查询"},
        {"time": "2024-03-12T02:17:00Z", "sender": BUYER, "content": "好", "role": "buyer"},
    ]
    path = write(tmp_path, "c.json", json.dumps(records, ensure_ascii=False, indent=2))
    log = parse(path)
    assert log.warnings == []
    assert [m.at for m in log.messages] == [
        at(2024, 3, 12, 10, 15, 32), at(2024, 3, 12, 10, 16, 32),
        datetime(2024, 3, 12, 2, 17, tzinfo=timezone.utc)]
    assert log.messages[2].at.tzinfo == timezone.utc  # aware input keeps its zone
    assert [m.line for m in log.messages] == [2, 7, 12]


def test_json_messages_object(tmp_path):
    doc = {"shop": SHOP, "messages": [{"time": "2024-03-12 10:15:32", "sender": BUYER, "content": "在吗"},
                                      "oops"]}
    log = parse(write(tmp_path, "c.json", json.dumps(doc, ensure_ascii=False)))
    assert [m.text for m in log.messages] == ["在吗"]
    assert [str(w) for w in log.warnings] == [
        "chat/c.json:2: expected an object with time, sender and content, got str; skipped"]


def test_jsonl_bad_line_warns(tmp_path):
    text = ('{"time": "2024-03-12 10:15:32", "sender": "小王爱购物", "content": "货到了，但是破了"}\n'
            '{"time": "2024-03-12 10:16:00", "sender": "杭州好物旗舰店"\n'
            '{"time": "2024-03-12 10:17:00", "sender": "杭州好物旗舰店", "content": "亲，给您补发"}\n'
            '{"sender": "小王爱购物", "content": "好的"}\n')
    log = parse(write(tmp_path, "c.jsonl", text))
    assert [m.text for m in log.messages] == ["货到了，但是破了", "亲，给您补发"]
    assert [str(w) for w in log.warnings] == [
        "chat/c.jsonl:2: not valid JSON (Expecting ',' delimiter); line skipped",
        "chat/c.jsonl:4: missing field 'time'; message skipped"]
    assert log.messages[0].tags == ["buyer_complaint", "buyer_confirms_receipt"]


def test_not_json_is_a_parse_error(tmp_path):
    with pytest.raises(ParseError) as err:
        parse(write(tmp_path, "c.json", "这不是JSON\n"))
    assert str(err.value).startswith("chat/c.json:1: not JSON or JSON Lines (Expecting value)")
    with pytest.raises(ParseError, match=r"^chat/c2.json: expected a list of messages"):
        parse(write(tmp_path, "c2.json", "42"))


# --- file-level errors --------------------------------------------------------------------

def test_empty_file_is_a_warning(tmp_path):
    for name in ("e.txt", "e.csv", "e.json", "e.jsonl"):
        log = parse(write(tmp_path, name, "  \r\n"))
        assert log.messages == []
        assert [str(w) for w in log.warnings] == [f"chat/{name}: the chat file is empty"]


def test_no_usable_message_is_a_parse_error(tmp_path):
    with pytest.raises(ParseError) as err:
        parse(write(tmp_path, "c.txt", "只有文字\n没有抬头\n"))
    assert str(err.value) == (
        "chat/c.txt: no chat message could be read; first problem: line 1: 2 line(s) of text before "
        "the first message header skipped (no sender or time; use --header-pattern if the export "
        "has another header shape)")
    with pytest.raises(ParseError) as err:
        parse(write(tmp_path, "c.csv", "time,sender,content\nsoon,小王爱购物,你好\n"))
    assert str(err.value).startswith(
        "chat/c.csv: no chat message could be read; first problem: line 2: cannot read the time 'soon'")


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(ParseError, match=r"^chat/c.xlsx: unsupported chat file type '.xlsx'"):
        parse(write(tmp_path, "c.xlsx", b"PK"))
    with pytest.raises(InputError, match=r"^chat/gone.txt: cannot read file"):
        parse(tmp_path / "gone.txt")


# --- redaction ----------------------------------------------------------------------------------

def test_redact_phone_numbers_consistently():
    r = Redactor()
    assert r.redact("电话13812345678") == "电话138****5678"
    assert r.redact("或者 +86 138-1234-5678") == "或者 138****5678"  # same number, same mask
    assert r.redact("138 0000 5678") == "138****5678(2)"  # another number, never the same mask
    assert r.redact("再说一次13800005678") == "再说一次138****5678(2)"
    assert r.redact("12345678901 不是手机号") == "12345678901 不是手机号"


def test_redact_id_numbers():
    r = Redactor()
    assert r.redact("身份证33010619900101123X") == "身份证3301************3X"
    assert r.redact("身份证330106199001011234") == "身份证3301************34"
    assert r.redact("身份证33010619900101123x") == "身份证3301************3X"
    # Order numbers are evidence, not personal data.
    assert r.redact("订单号：330106199001011234") == "订单号：330106199001011234"


def test_redact_addresses():
    r = Redactor()
    assert r.redact("地址：浙江省杭州市西湖区文三路100号3幢2单元301室，小王收") == "地址：浙江省杭州市[地址1]，小王收"
    assert r.redact("寄到杭州市西湖区文三路100号3幢2单元301室") == "寄到杭州市[地址1]"
    assert r.redact("我住在西湖区文三路100号") == "我住在[地址2]"
    assert r.redact("上海市浦东新区张江路88弄5号") == "上海市[地址3]"
    for chat in ("我去了超市买了3号电池", "放门口路边就行", "我要3号色"):
        assert r.redact(chat) == chat


def test_separate_redactors_are_independent():
    a, b = Redactor(), Redactor()
    a.redact("13800005678")
    assert b.redact("13812345678") == "138****5678"


# --- robustness ------------------------------------------------------------------------------------

_SEEDS = [b"", WORKBENCH.encode("utf-8"), "时间,发送人,内容\n".encode("gbk"), b'[{"time": 1}]',
          b'{"messages": []}', b"\xff\xfe", b"2024-03-12 10:15:32 x\n"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from([".txt", ".log", ".csv", ".json", ".jsonl"]),
       data=st.one_of(st.binary(max_size=2000),
                      st.builds(lambda s, t: s + t, st.sampled_from(_SEEDS), st.binary(max_size=300)),
                      st.text(max_size=500).map(lambda t: t.encode("utf-8"))))
def test_arbitrary_bytes_only_raise_input_errors(suffix, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"chat{suffix}"
        path.write_bytes(data)
        try:
            log = parse_chat_file(path, f"chat{suffix}", tz=SH, seller_nicks=["x"], shop=SHOP)
        except InputError:
            return
        assert all(m.at.tzinfo is not None for m in log.messages)
        Redactor().redact("\n".join(m.text for m in log.messages))
