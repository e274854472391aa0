"""The tagger's judgements on the cases issue 14 lists, its API, and the statement check."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from evidencepack.models import ChatMessage, ChatRole
from evidencepack.judge.tagging import TAGS, assess_statement, chat_facts, tag_messages, tag_name
from evidencepack.resources import DATA

B, S = ChatRole.buyer, ChatRole.seller
T0 = datetime(2024, 3, 12, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def msg(role: ChatRole, text: str, minute: int = 0, kind: str = "text", hours: int = 0) -> ChatMessage:
    return ChatMessage(at=T0 + timedelta(minutes=minute, hours=hours),
                       sender="s" if role is ChatRole.seller else "b",
                       role=role, text=text, kind=kind, source="chat/x.txt", line=1)


def tags_of(*lines: tuple[ChatRole, str]) -> list[str]:
    """The tags of the last line, read after the earlier ones."""
    return tag_messages([msg(role, text, i) for i, (role, text) in enumerate(lines)])[-1].tags


@pytest.mark.parametrize("role,text,tag,expected", [
    (B, "杯子收到就碎了", "buyer_complaint", True),
    (B, "衣服有色差，和图片不一样", "buyer_complaint", True),
    (B, "The parcel arrived DAMAGED", "buyer_complaint", True),
    (B, "没有破损，挺好的", "buyer_complaint", False),
    (B, "一点划痕都没有，包装很用心", "buyer_complaint", False),
    (B, "不是假货吧", "buyer_complaint", False),
    (S, "破了的话我们负责", "buyer_complaint", False),  # seller words are not complaints
    (B, "顏色跟圖片不一樣", "buyer_complaint", True),  # traditional characters
    (B, "已收到，谢谢", "buyer_confirms_receipt", True),
    (B, "I received it yesterday", "buyer_confirms_receipt", True),
    (B, "还没收到了吗", "buyer_confirms_receipt", False),
    (B, "I have not received it", "buyer_confirms_receipt", False),
    (B, "物流显示已经签收了，但是我没收到", "buyer_confirms_receipt", False),
    (B, "收到le，很好", "buyer_confirms_receipt", True),  # a typed variant
    (S, "亲，下单就送赠品，全国包邮", "seller_promise", True),
    (S, "我们保证七天内补发", "seller_promise", True),
    (S, "亲，新疆西藏不包邮哦", "seller_promise", False),
    (S, "亲，配送需要三天", "seller_promise", False),
    (B, "你们要包邮", "seller_promise", False),
    (S, "这款是滚筒洗衣机专用", "seller_rude", False),
    (B, "你们是骗子", "seller_rude", False),  # the buyer's anger is not the seller's risk
    (S, "亲，洗的时候反面冷水手洗，不要暴晒", "seller_usage_guidance", True),
    (S, "亲，麻烦拍一下照片哦", "seller_usage_guidance", False),
])
def test_tag_families(role, text, tag, expected):
    (m,) = tag_messages([msg(role, text)])
    assert (tag in m.tags) is expected, m.tags


# Issue 14: insults, contempt and rhetorical challenges phrased any way are rude;
# calm lines that merely contain a risky word are not.
@pytest.mark.parametrize("text", [
    "爱买不买", "你自己不会看详情页吗？", "字都不认识吗？尺码表就在上面", "买不起就别买",
    "呵呵，您可真行", "几十块钱的东西，还想要啥自行车", "nmsl", "你个sb，自己弄坏的还来找我们",
    "随便你，爱咋咋地", "亲亲，您是不是没长眼睛呀", "行行行，您说什么都对", "滚",
    "您爱给几星给几星", "Are you stupid?",
])
def test_rude_in_many_forms(text):
    assert "seller_rude" in tags_of((S, text))


@pytest.mark.parametrize("text", [
    "亲，不可能让您吃亏的，您放心",
    "亲，请警惕骗子，我们客服不会让您加微信",
    "亲，随便您选哪个颜色都可以哦",
    "亲，呵呵，不好意思刚才看错了，是我们的问题",
    "\u201c爱买不买\u201d这种话不是我们客服说的",
])
def test_calm_lines_with_risky_words_are_not_rude(text):
    assert "seller_rude" not in tags_of((S, text))


@pytest.mark.parametrize("role,text,expected", [
    (S, "亲加微信 abc123 聊", True),
    (B, "加我vx123456", True),
    (B, "你打我电话吧", True),
    (S, "您把支付宝账号发我，我直接转给您", True),
    (S, "亲，退款会原路退回您的支付宝", False),  # the platform's own refund channel
    (B, "没人给我打电话，快递就显示签收了", False),  # a complaint about the courier
    (S, "亲，请不要相信任何加微信退款的信息，我们只在平台处理", False),
    (B, "this book is good", False),
])
def test_off_platform_is_a_request_not_a_word(role, text, expected):
    assert ("off_platform" in tags_of((role, text))) is expected


def test_agreement_needs_a_proposal_and_has_its_topic():
    assert tags_of((S, "亲，在的"), (B, "好的")) == []
    assert tags_of((B, "好的")) == []
    assert tags_of((S, "亲，给您补发一件，您看行吗"), (B, "行")) == ["buyer_agrees", "agrees_resend"]
    assert tags_of((S, "您是想退款还是补发呢？"), (B, "退款吧")) == ["buyer_agrees", "agrees_refund"]
    assert tags_of((S, "亲，这边给您退货退款"), (B, "好")) == ["buyer_agrees", "agrees_refund", "agrees_return"]
    # A partial refund while the buyer keeps the goods is compensation.
    assert tags_of((S, "亲，给您部分退款30元，您看可以吗"), (B, "行吧")) == ["buyer_agrees", "agrees_compensation"]
    # An exchange sends the old item back; that is not a return.
    assert tags_of((S, "您寄回来我们给您换新的"), (B, "没问题")) == ["buyer_agrees", "agrees_exchange"]
    for reply in ("可以吗？", "不可以", "我去银行问问", "不同意", "好的我再想想", "可以，但是要顺丰发"):
        assert "buyer_agrees" not in tags_of((S, "给您补发一件"), (B, reply)), reply
    # A notice of what is done is not a proposal.
    assert tags_of((S, "亲，给您退款了，麻烦查收"), (B, "好的")) == []


def test_agreement_reads_the_latest_seller_message_in_time_order():
    later = tag_messages([msg(S, "给您补发一件", 0), msg(S, "亲，在吗", 1), msg(B, "好的", 2)])
    assert later[2].tags == []
    stale = tag_messages([msg(S, "给您补发一件", 0), msg(B, "好的", 0, hours=25)])
    assert stale[1].tags == []
    shuffled = tag_messages([msg(B, "ok", 2), msg(S, "We can resend it", 1)])
    assert shuffled[0].tags == ["buyer_agrees", "agrees_resend"]


# Issue 14: a "好的" to a resend is not consent to third-party signing; the
# buyer's own instruction beforehand is; an objection is its opposite.
@pytest.mark.parametrize("lines,expected", [
    ([(B, "放门卫就行")], ["buyer_consents_proxy_signing"]),
    ([(B, "放驿站吧，我下班去拿")], ["buyer_consents_proxy_signing"]),
    ([(B, "让我妈代收一下")], ["buyer_consents_proxy_signing"]),
    ([(B, "放驛站就好")], ["buyer_consents_proxy_signing"]),
    ([(S, "亲，快递员说您不在家，放驿站可以吗"), (B, "好的")],
     ["buyer_agrees", "buyer_consents_proxy_signing"]),
    ([(S, "亲，给您补发一件新的可以吗"), (B, "好的")], ["buyer_agrees", "agrees_resend"]),
    ([(S, "亲，快递员问能不能放门卫"), (B, "不可以，门卫老丢东西")], ["buyer_objects_proxy_signing"]),
    ([(B, "别放驿站")], ["buyer_objects_proxy_signing"]),
    ([(B, "我没让放门卫啊，谁让他放的")], ["buyer_complaint", "buyer_objects_proxy_signing"]),
    ([(S, "亲，快递员说已经放门卫了"), (B, "好的，我去拿")], []),
])
def test_proxy_signing_consent_and_objection(lines, expected):
    assert tags_of(*lines) == expected


def test_receipt_acknowledgement_depends_on_what_the_seller_asked():
    assert tags_of((S, "亲，退款已经给您处理了哦"), (B, "好的收到")) == []
    assert tags_of((S, "您好，包裹显示已签收，请问您收到货了吗？"), (B, "收到")) == ["buyer_confirms_receipt"]
    assert tags_of((S, "您好，包裹显示已签收，请问您收到货了吗？"), (B, "没有啊")) == ["buyer_complaint"]


def test_tagging_is_idempotent_and_keeps_foreign_tags():
    m = msg(B, "东西碎了")
    m.tags = ["reviewed"]
    tag_messages([m])
    tag_messages([m])
    assert m.tags == ["reviewed", "buyer_complaint"]


def test_image_and_card_kinds_are_not_tagged():
    out = tag_messages([msg(S, "[自动回复]全场包邮", kind="auto_reply"),
                        msg(S, "订单号：1 退款", kind="order_card")])
    assert out[0].tags == ["seller_promise"]
    assert out[1].tags == []


def test_chat_facts_has_every_tag():
    assert {"buyer_complaint", "buyer_confirms_receipt", "buyer_agrees", "seller_promise", "off_platform",
            "seller_rude", "buyer_consents_proxy_signing", "buyer_objects_proxy_signing", "agrees_refund",
            "agrees_resend", "agrees_return", "agrees_exchange", "agrees_compensation",
            "seller_usage_guidance"} == set(TAGS)
    messages = tag_messages([msg(B, "碎了", 0), msg(S, "爱买不买", 1), msg(B, "没收到", 2)])
    facts = chat_facts(messages)
    assert facts["chat_messages"] == 3 and facts["buyer_complaint"] == 2 and facts["seller_rude"] == 1
    assert sum(facts.values()) == 6
    assert chat_facts([]) == {"chat_messages": 0, **{t: 0 for t in TAGS}}


def test_every_tag_has_a_chinese_and_an_english_name():
    for tag in TAGS:
        zh, en = tag_name(tag, "zh"), tag_name(tag, "en")
        assert zh != tag and en != tag and not any("a" <= c <= "z" for c in zh.lower()), tag
    assert tag_name("seller_rude", "zh") == "客服用语不当"
    assert tag_name("no_such_tag", "zh") == "no_such_tag"


# --- the statement (loss reason 6) -------------------------------------------------------

def test_statement_accusation_and_emotion_are_found_with_their_words():
    issues = assess_statement("买家就是骗子，恶意敲诈")
    by_cat = {i.category: i for i in issues}
    assert set(by_cat) == {"accusatory", "emotional"}
    assert by_cat["accusatory"].words == ["恶意", "敲诈"] and by_cat["accusatory"].start == 7
    assert by_cat["emotional"].words == ["骗子"] and by_cat["emotional"].start == 4


def test_statement_of_facts_passes_and_absolutes_are_found():
    assert assess_statement("商品发货前已拍照核对颜色，与详情页一致。") == []
    (issue,) = assess_statement("绝对没有质量问题")
    assert (issue.category, issue.words, issue.start) == ("absolute", ["绝对"], 0)
    # Negated accusations and the buyer's words quoted as evidence are not the seller's tone.
    assert assess_statement("买家并非恶意，聊天中买家称\u201c你们是骗子\u201d。") == []
    (trad,) = assess_statement("這是惡意差評")
    assert trad.words == ["惡意"] and trad.start == 2


def test_first_character_lookahead_changes_no_match():
    """The speed-up in _cues must find exactly what the plain alternation finds."""
    from pathlib import Path

    from evidencepack.judge import tagging
    from evidencepack.inputs.textio import load_toml

    data = load_toml(DATA / "chat_tags.toml", display="chat_tags.toml")
    corpus = Path(__file__).resolve().parent.parent / "corpus" / "messages"
    texts = [tagging._CONFIG.read(line).joined
             for part in ("dev.jsonl", "test.jsonl") for line in (corpus / part).read_text("utf-8").split("\n")]
    for item in data["tag"]:
        if not item.get("cues"):
            continue
        fast, plain = tagging._cues(item["cues"]), tagging._alternation(item["cues"])
        assert fast.pattern != plain.pattern, item["id"]  # the lookahead is there
        for text in texts:
            assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)], item["id"]
