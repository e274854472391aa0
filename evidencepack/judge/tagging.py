"""Judge chat messages by what they mean to an arbitrator, and a statement's wording.

Tags come from evidencepack/data/chat_tags.toml: cues read clause by clause,
with negations, blockers and questions taken into account, and agreement read
against the seller's previous message so that it has a topic.  The statement
check (loss reason 6) uses evidencepack/data/statement_wording.toml.  Why rules
and not a trained classifier: README, "How well the checker judges".
"""

from __future__ import annotations

import re
from bisect import bisect_right

try:  # the parser behind re, used only to speed cues up (_fast)
    from re import _constants as _C
    from re import _parser
except ImportError:  # pragma: no cover - another Python
    _C = _parser = None
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel

from evidencepack.judge.classifier import NBModel, train
from evidencepack.models import ChatMessage, ChatRole
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

__all__ = ["tag_messages", "chat_facts", "tag_name", "assess_statement", "StatementIssue",
           "TAGS", "normalise"]

_AGREES = "buyer_agrees"
_CONSENT = "buyer_consents_proxy_signing"
_OBJECTS = "buyer_objects_proxy_signing"


# --- normalising -------------------------------------------------------------------------

def _char_table(norm: dict) -> dict[int, str]:
    """One character in, one out, so offsets into the original stay valid:
    full-width forms to ASCII, ASCII to lower case, traditional to simplified."""
    trad, simp = "".join(norm.get("traditional", [])), "".join(norm.get("simplified", []))
    if len(trad) != len(simp):
        raise ValueError("chat_tags.toml [normalise]: traditional and simplified differ in length")
    table = {0xFF01 + i: chr(0x21 + i).lower() for i in range(0x5E)}
    table.update({ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
    table[0x3000] = " "
    table.update(str.maketrans(trad, simp))
    return table


def _fold(text: str, table: dict[int, str]) -> str:
    return text.translate(table)


# Clause boundaries: punctuation, and spaces between Chinese characters
# ("收到了 谢谢"); spaces inside English stay.
_CLAUSE = re.compile(r"[,.!?;~，。！？；～、…\n]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
# Words in quotation marks are someone else's ("“爱买不买”这种话不是我们说的").
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"]*\"")
_QMARK = re.compile(r"[?？]")
_BARE = re.compile(r"[\W_]+")


@dataclass
class _Text:
    """A message as the rules read it: its clauses, one a line in ``joined``,
    so one search per rule finds a cue and ^ and $ mean a clause's ends."""

    norm: str
    clauses: list[tuple[str, bool]]  # (clause, is it a question)
    bare: str
    joined: str = ""
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.joined = "\n".join(c for c, _q in self.clauses)
        pos = 0
        for clause, _q in self.clauses:
            self.starts.append(pos)
            pos += len(clause) + 1


def _split(norm: str) -> list[tuple[str, bool]]:
    out, pos = [], 0
    for m in _CLAUSE.finditer(norm):
        if m.start() > pos:
            out.append((norm[pos:m.start()].strip(), bool(_QMARK.search(m.group()))))
        pos = m.end()
    if pos < len(norm):
        out.append((norm[pos:].strip(), False))
    return [(c, q or c.endswith(("吗", "么", "嘛"))) for c, q in out if c]


# --- rules --------------------------------------------------------------------------------

def _alternation(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.M) if patterns else None


def _first_chars(items) -> set[str] | None:
    """The characters a match of a parsed pattern can start with; None when any can."""
    out: set[str] = set()
    for op, av in items:
        if op is _C.LITERAL:
            return out | {chr(av)}
        if op is _C.IN:
            for kind, arg in av:
                if kind is _C.LITERAL:
                    out.add(chr(arg))
                elif kind is _C.RANGE and arg[1] - arg[0] < 256:
                    out.update(chr(c) for c in range(arg[0], arg[1] + 1))
                else:
                    return None
            return out
        if op is _C.AT or op is _C.ASSERT_NOT or (op is _C.ASSERT and av[0] < 0):
            continue  # zero width: ^, $, lookbehinds, negative lookaheads
        if op is _C.SUBPATTERN:
            alternatives, least = [av[3]], 1
        elif op is _C.BRANCH:
            alternatives, least = av[1], 1
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
            alternatives, least = [av[2]], av[0]
        else:
            return None
        for alt in alternatives:
            first = _first_chars(alt)
            if first is None:
                return None
            out |= first
        if least and not any(_may_be_empty(alt) for alt in alternatives):
            return out
    return None  # the whole pattern can match the empty string


def _may_be_empty(items) -> bool:
    for op, av in items:
        if op is _C.AT or op is _C.ASSERT or op is _C.ASSERT_NOT:
            continue
        if op is _C.SUBPATTERN and _may_be_empty(av[3]):
            continue
        if op is _C.BRANCH and any(_may_be_empty(a) for a in av[1]):
            continue
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and (av[0] == 0 or _may_be_empty(av[2])):
            continue
        return False
    return True


def _cues(patterns: list[str]) -> re.Pattern[str] | None:
    """The alternation of ``patterns`` led by a lookahead for the characters a
    match can start with: re then skips most positions of a message at once
    (5-10x faster on alternations of hundreds of cues; `check` on 2,000
    messages has 1 s)."""
    if not patterns:
        return None
    pattern = "|".join(f"(?:{p})" for p in patterns)
    first = None
    if _C is not None:
        try:
            first = _first_chars(_parser.parse(pattern, re.M))
        except Exception:  # noqa: BLE001 - an optimisation only: keep the plain pattern
            first = None
    if first:
        pattern = f"(?=[{''.join(re.escape(c) for c in sorted(first))}])(?:{pattern})"
    return re.compile(pattern, re.M)


_SOFTENERS = ("任何", "什么", "太", "很", "都", "也", "被", "有", "直接")
# "能不能放驿站" asks for it: the 不 of an A-not-A question negates nothing.
_A_NOT_A = ("能不能", "可不可以", "行不行", "要不要", "是不是", "会不会", "有没有")


def _negated(before: str, negations: tuple[str, ...]) -> bool:
    if not negations or before.endswith(_A_NOT_A):
        return False
    if before.endswith(negations):
        return True
    for soft in _SOFTENERS:  # "没有任何破损", "不太好"
        if before.endswith(soft) and before[: -len(soft)].endswith(negations):
            return True
    return False


@dataclass
class _Rule:
    id: str
    name_zh: str
    name_en: str
    roles: frozenset[str]
    cue: re.Pattern[str] | None
    negations: tuple[str, ...]
    post_negations: tuple[str, ...]
    blockers: re.Pattern[str] | None
    message_blockers: re.Pattern[str] | None
    whole: frozenset[str]
    questions_count: bool
    model: NBModel | None = None
    threshold: float = 0.0

    def hits(self, text: _Text) -> bool:
        if self.whole and text.bare in self.whole:
            return True
        if self.cue is None:
            return False
        if self.cue_hits(text):
            return True
        # The back-up scorer, for phrasings the cues lack; the message's own
        # blockers (an apology, an anti-fraud reminder) still veto it.
        return (self.model is not None and self.model.score(text.norm) > self.threshold
                and (self.message_blockers is None or not self.message_blockers.search(text.norm)))

    def cue_hits(self, text: _Text) -> bool:
        pos = 0
        while True:
            m = self.cue.search(text.joined, pos)
            if m is None:
                return False
            if pos == 0 and self.message_blockers is not None and self.message_blockers.search(text.norm):
                return False
            i = bisect_right(text.starts, m.start()) - 1
            clause, question = text.clauses[i]
            start, end = m.start() - text.starts[i], m.end() - text.starts[i]
            if (self.questions_count or not question) \
                    and not _negated(clause[:start], self.negations) \
                    and not clause.startswith(self.post_negations, end) \
                    and (self.blockers is None or not self.blockers.search(clause)):
                return True
            pos = m.start() + 1


@dataclass
class _Topic:
    tag: str
    words: re.Pattern[str]
    negations: tuple[str, ...]
    blockers: re.Pattern[str] | None

    def named(self, clauses: list[tuple[str, bool]]) -> bool:
        for clause, _q in clauses:
            if self.blockers is not None and self.blockers.search(clause):
                continue
            for m in self.words.finditer(clause):
                if not _negated(clause[:m.start()], self.negations):
                    return True
        return False


@dataclass
class _Agreement:
    window: timedelta
    kinds: frozenset[str]
    offer: re.Pattern[str]
    done: re.Pattern[str]
    choice: re.Pattern[str]
    agree: re.Pattern[str]
    refuse: re.Pattern[str]
    condition: re.Pattern[str]
    reports: re.Pattern[str]
    question: re.Pattern[str]
    topics: list[_Topic]
    absorbs: dict[str, list[str]]
    ack: re.Pattern[str]
    asks_receipt: re.Pattern[str]
    denies: re.Pattern[str]
    signed: re.Pattern[str]


def _rx(patterns: list[str] | str) -> re.Pattern[str]:
    return re.compile(patterns) if isinstance(patterns, str) else _alternation(patterns) or re.compile(r"(?!)")


@dataclass
class _Config:
    table: dict[int, str]
    variants: list[tuple[str, str]]
    kinds: frozenset[str]
    rules: list[_Rule]
    agreement: _Agreement

    def read(self, text: str) -> _Text:
        norm = _QUOTED.sub("“”", _fold(text, self.table))
        for wrong, right in self.variants:
            if wrong in norm:
                norm = norm.replace(wrong, right)
        return _Text(norm, _split(norm), _BARE.sub("", norm))


def _classifier(item: dict) -> dict:
    spec = item.get("classifier")
    if not spec:
        return {}
    path = DATA / spec["model"]
    # A missing model (before `python corpus/train.py` has run) leaves the rules alone.
    return {"model": NBModel.load(path), "threshold": float(spec["threshold"])} if path.exists() else {}


def train_backups(records, trained_on: str) -> dict[str, NBModel]:
    """The back-up model of every tag that has one, trained on ``records``
    (objects with .role, .text, .tags: the corpus's dev part), by file name."""
    data = load_toml(DATA / "chat_tags.toml", display="evidencepack/data/chat_tags.toml")
    out = {}
    for item in data["tag"]:
        spec = item.get("classifier")
        if spec:
            examples = [(normalise(r.text), item["id"] in r.tags) for r in records if r.role == spec["role"]]
            out[spec["model"]] = train(examples, tag=item["id"], role=spec["role"], trained_on=trained_on)
    return out


def _load() -> _Config:
    data = load_toml(DATA / "chat_tags.toml", display="evidencepack/data/chat_tags.toml")
    norm = data.get("normalise", {})
    table = _char_table(norm)
    variants = [(_fold(a, table), _fold(b, table)) for a, b in norm.get("variants", [])]
    rules = []
    for item in data["tag"]:
        rules.append(_Rule(
            id=item["id"], name_zh=item["name_zh"], name_en=item["name_en"],
            roles=frozenset(item.get("roles", [])), cue=_cues(item.get("cues", [])),
            negations=tuple(item.get("negations", [])), post_negations=tuple(item.get("post_negations", [])),
            blockers=_alternation(item.get("blockers", [])),
            message_blockers=_alternation(item.get("message_blockers", [])),
            whole=frozenset(item.get("whole", [])), questions_count=item.get("questions_count", True),
            **_classifier(item)))
    a, receipt = data["agreement"], data["receipt"]
    agreement = _Agreement(
        window=timedelta(hours=float(a.get("window_hours", 24))),
        kinds=frozenset(a.get("proposal_kinds", ["text"])),
        offer=_rx(a["offer"]), done=_rx(a["done"]), choice=_rx(a["choice"]), agree=_rx(a["agree"]),
        refuse=_rx(a["refuse"]), condition=_rx(a["condition"]), reports=_rx(a["reports"]),
        question=_rx(a["question"]),
        topics=[_Topic(t["tag"], _rx(t["words"]), tuple(t.get("negations", [])),
                       _alternation(t.get("blockers", []))) for t in a["topic"]],
        absorbs=a.get("absorbs", {}),
        ack=_rx(receipt["ack"]), asks_receipt=_rx(receipt["asks"]), denies=_rx(receipt["denies"]),
        signed=_rx(receipt["signed"]))
    return _Config(table, variants, frozenset(data.get("kinds", ["text", "auto_reply"])), rules, agreement)


_CONFIG = _load()
TAGS: list[str] = [r.id for r in _CONFIG.rules]
_NAMES = {r.id: {"zh": r.name_zh, "en": r.name_en} for r in _CONFIG.rules}
_RULES = {r.id: r for r in _CONFIG.rules}


def normalise(text: str) -> str:
    """The text as the rules read it: half-width, lower case, simplified characters."""
    return _CONFIG.read(text).norm


def tag_name(tag_id: str, lang: str) -> str:
    """The human name of a tag; an id we do not know is shown as given."""
    names = _NAMES.get(tag_id)
    if names is None:
        return tag_id
    return names["zh" if lang == "zh" else "en"]


# --- agreement and context ---------------------------------------------------------------------

def _offered(seller: _Text, ag: _Agreement) -> tuple[set[str], bool]:
    """The topics a seller message proposes, and whether it offers a choice."""
    if not ag.offer.search(seller.norm):
        return set(), False
    live = [(c, q) for c, q in seller.clauses if not ag.done.search(c)]
    topics = {t.tag for t in ag.topics if t.named(live)}
    return topics, bool(topics) and bool(ag.choice.search(seller.norm))


def _agreement(buyer: _Text, offered: set[str], choice: bool, ag: _Agreement) -> tuple[bool, set[str], bool]:
    """(agrees, its topics, refuses) for a buyer reply to a proposal of ``offered``."""
    statements = [c for c, q in buyer.clauses if not q]
    asks = any(q for _c, q in buyer.clauses) or bool(ag.question.search(buyer.norm))
    if ag.refuse.search(buyer.norm):
        return False, set(), True
    if ag.condition.search(buyer.norm):
        return False, set(), False
    named = {t.tag for t in ag.topics if t.tag in offered and t.named(buyer.clauses)}
    if any(ag.agree.search(c) for c in statements):
        return True, (named if choice and named else offered), False
    chosen = {t.tag for t in ag.topics if t.tag in named
              and t.named([(c, q) for c, q in buyer.clauses if not ag.reports.search(c)])}
    if chosen and not asks:
        return True, chosen, False
    return False, set(), False


def tag_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Fill each message's ``tags``; returns the same list.

    Safe to call twice: tags this module owns are recomputed, others kept.
    Agreement looks back in time order, whatever order the list is in.
    """
    cfg, ag = _CONFIG, _CONFIG.agreement
    order = sorted(range(len(messages)), key=lambda i: messages[i].at)
    last_seller: tuple[ChatMessage, _Text] | None = None
    for i in order:
        msg = messages[i]
        kept = [t for t in msg.tags if t not in _NAMES]
        found: list[str] = []
        if msg.kind in cfg.kinds:
            text = cfg.read(msg.text)
            role = msg.role.value
            found = [r.id for r in cfg.rules if role in r.roles and r.hits(text)]
            if msg.role is ChatRole.buyer:
                found = _in_context(text, found, msg, last_seller, ag)
            if msg.role is ChatRole.seller and msg.kind in ag.kinds:
                last_seller = (msg, text)
        msg.tags = kept + [t for t in TAGS if t in found]
    return messages


def _in_context(text: _Text, found: list[str], msg: ChatMessage,
                last_seller: tuple[ChatMessage, _Text] | None, ag: _Agreement) -> list[str]:
    recent = last_seller if last_seller and msg.at - last_seller[0].at <= ag.window else None
    out = set(found)
    asked = recent is not None and ag.asks_receipt.search(recent[1].norm) is not None
    if ag.ack.search(text.norm.replace(" ", "")):
        # "收到" answers a notice unless the seller asked about the parcel.
        out.discard("buyer_confirms_receipt")
        if asked:
            out.add("buyer_confirms_receipt")
    if asked and ag.signed.search(recent[1].norm) and ag.denies.fullmatch(text.bare):
        out.add("buyer_complaint")
    if recent is None:
        return list(out)
    offered, choice = _offered(recent[1], ag)
    if not offered:
        return list(out)
    agrees, topics, refuses = _agreement(text, offered, choice, ag)
    if agrees:
        out.add(_AGREES)
        out.update(topics)
        for topic in topics:
            out.difference_update(ag.absorbs.get(topic, []))
    elif refuses and _CONSENT in offered and _CONSENT not in out:
        out.add(_OBJECTS)  # "不可以" to "放门卫可以吗"
    if _OBJECTS in out and _CONSENT in out and not agrees:
        out.discard(_OBJECTS)  # "不要，放门口": the buyer named where it may go
    return list(out)


def chat_facts(messages: list[ChatMessage]) -> dict[str, int]:
    """Counts for the checklist engine: every tag id is present, zeros too, so
    a rule can test ``facts["seller_rude"] == 0`` without a KeyError."""
    facts = {"chat_messages": len(messages)}
    for tag in TAGS:
        facts[tag] = sum(1 for m in messages if tag in m.tags)
    return facts


# --- the statement's wording (loss reason 6) ----------------------------------------------------

class StatementIssue(BaseModel):
    category: Literal["emotional", "accusatory", "absolute"]
    words: list[str]
    start: int  # character offset of the first word in the statement


@lru_cache(maxsize=1)
def _statement_rules() -> tuple[list[tuple[str, re.Pattern[str]]], tuple[str, ...]]:
    data = load_toml(DATA / "statement_wording.toml",
                     display="evidencepack/data/statement_wording.toml")
    cats = [(c, _alternation(data[c]["words"])) for c in ("accusatory", "emotional", "absolute")]
    return [(c, rx) for c, rx in cats if rx is not None], tuple(data.get("negations", []))


_SENTENCE = re.compile(r"[。！？!?；;\n]+")


def assess_statement(text: str) -> list[StatementIssue]:
    """Emotional, accusatory and absolute wording in a seller's statement, with
    the words and where they start; one issue per category per sentence."""
    cats, negations = _statement_rules()
    norm = _fold(text, _CONFIG.table)  # same length as text: offsets hold
    norm = _QUOTED.sub(lambda m: " " * len(m.group()), norm)
    issues: list[StatementIssue] = []
    bounds = [0, *(m.end() for m in _SENTENCE.finditer(norm)), len(norm)]
    for start, end in zip(bounds, bounds[1:]):
        sentence = norm[start:end]
        for category, rx in cats:
            hits = [m for m in rx.finditer(sentence)
                    if not _negated(sentence[:m.start()], negations)]
            if hits:
                issues.append(StatementIssue(
                    category=category, start=start + hits[0].start(),
                    words=list(dict.fromkeys(text[start + m.start():start + m.end()] for m in hits))))
    return sorted(issues, key=lambda i: (i.start, i.category))
