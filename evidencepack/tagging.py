"""Human names of the chat tags, for the pack and the terminal (placeholder until
the tagger moves here)."""

from __future__ import annotations

_NAMES = {
    "buyer_complaint": ("买家投诉商品或物流问题", "buyer complains"),
    "buyer_confirms_receipt": ("买家确认收货", "buyer confirms receipt"),
    "buyer_agrees": ("买家同意卖家方案", "buyer agrees to the seller's proposal"),
    "seller_promise": ("卖家承诺", "seller's promise"),
    "off_platform": ("平台外联系或交易", "off-platform contact or payment"),
    "seller_rude": ("客服情绪化或不当用语", "rude or emotional wording by the shop"),
    "buyer_consents_proxy_signing": ("买家同意代签或放驿站", "buyer agrees to proxy or station signing"),
    "buyer_objects_proxy_signing": ("买家反对代签或放驿站", "buyer objects to proxy or station signing"),
}


def tag_name(tag: str, lang: str) -> str:
    zh, en = _NAMES.get(tag, (tag, tag))
    return zh if lang == "zh" else en


# Placeholder wording check until the tagger's own lands.
from pydantic import BaseModel  # noqa: E402


class StatementIssue(BaseModel):
    category: str  # emotional / accusatory / absolute
    words: list[str]
    start: int


_WORDS = {"accusatory": ["骗子", "敲诈", "恶意"], "emotional": ["无语", "气愤", "！！"],
          "absolute": ["绝对", "肯定", "百分之百"]}


def assess_statement(text: str) -> list[StatementIssue]:
    out = []
    for category, words in _WORDS.items():
        found = [w for w in words if w in text]
        if found:
            out.append(StatementIssue(category=category, words=found,
                                      start=min(text.index(w) for w in found)))
    return out
