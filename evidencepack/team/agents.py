"""Who handles each case, and how each agent's cases and chats stand.

The agent (assignee) of a case is, in order: ``assignee`` in case.toml (batch
fills it from the export's 客服/负责人 column), else the shop's sub-account that
answered most in the chat (``店铺名:客服小美`` -> ``客服小美``). The per-agent
figures are counts over the agent's cases, plus reply times in the chat set
against the targets in ``data/reply_targets.toml``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from functools import cache

from pydantic import BaseModel, Field

from evidencepack.models import ChatMessage, ChatRole
from evidencepack.resources import DATA
from evidencepack.inputs.textio import load_toml

UNASSIGNED = ""  # a case with no agent in case.toml and no seller reply in its chat


@cache
def reply_targets() -> dict:
    from evidencepack.errors import ChecklistError

    return load_toml(DATA / "reply_targets.toml", error=ChecklistError)


class ChatFigures(BaseModel):
    rude: int = 0  # seller messages tagged seller_rude
    off_platform: int = 0  # messages tagged off_platform (either side)
    first_reply_minutes: float | None = None
    reply_minutes: list[float] = Field(default_factory=list)  # every buyer -> seller wait


def chat_figures(messages: list[ChatMessage]) -> ChatFigures:
    """Reply times: from a buyer's first unanswered message to the next message the
    seller typed (an auto-reply answers nothing)."""
    out = ChatFigures()
    waiting_since = None
    for m in sorted(messages, key=lambda m: m.at):
        if "seller_rude" in m.tags:
            out.rude += 1
        if "off_platform" in m.tags:
            out.off_platform += 1
        if m.role == ChatRole.buyer and waiting_since is None:
            waiting_since = m.at
        elif m.role == ChatRole.seller and m.kind == "text" and waiting_since is not None:
            out.reply_minutes.append(round((m.at - waiting_since).total_seconds() / 60, 1))
            waiting_since = None
    out.first_reply_minutes = out.reply_minutes[0] if out.reply_minutes else None
    return out


def chat_agent(messages: list[ChatMessage]) -> str | None:
    """The seller sub-account that typed most messages, without the shop's prefix."""
    counts = Counter(m.sender for m in messages if m.role == ChatRole.seller and m.kind == "text")
    if not counts:
        return None
    sender = counts.most_common(1)[0][0]
    return sender.split(":", 1)[1].strip() or sender if ":" in sender else sender


class AgentSummary(BaseModel):
    agent: str  # "" for cases nobody is assigned to
    cases: int = 0
    incomplete: int = 0
    overdue: int = 0
    errors: int = 0
    failing: list[str] = Field(default_factory=list)  # item titles failing most, worst first
    rude: int = 0
    off_platform: int = 0
    first_reply_minutes: float | None = None  # median over the agent's cases
    median_reply_minutes: float | None = None  # median over every reply in them
    replies: int = 0
    target_minutes: float
    platform_minutes: float
    over_platform: int = 0  # replies slower than the platform allows

    def grade(self, minutes: float | None) -> str:
        """A reply time against the targets: good, slow (within the platform's), late."""
        if minutes is None:
            return "none"
        return "good" if minutes <= self.target_minutes else \
            "slow" if minutes <= self.platform_minutes else "late"


def summarise_agents(rows) -> list[AgentSummary]:
    """One summary per agent, the most overdue and incomplete first."""
    targets = reply_targets()
    by_agent: dict[str, list] = {}
    for row in rows:
        by_agent.setdefault(row.assignee or UNASSIGNED, []).append(row)
    out = []
    for agent, cases in by_agent.items():
        failing: Counter[str] = Counter()
        replies: list[float] = []
        firsts: list[float] = []
        for r in cases:
            for item in r.items:
                if item.cell in ("missing", "weak") and item.level != "recommended":
                    failing[item.title] += 1
            replies.extend(r.reply_minutes)
            if r.first_reply_minutes is not None:
                firsts.append(r.first_reply_minutes)
        platform = targets["platform_hours"] * 60
        out.append(AgentSummary(
            agent=agent, cases=len(cases),
            incomplete=sum(1 for r in cases if r.complete is False),
            overdue=sum(1 for r in cases if any(d.status == "overdue" for d in r.deadlines)),
            errors=sum(1 for r in cases if r.error),
            failing=[title for title, _ in failing.most_common(3)],
            rude=sum(r.rude for r in cases), off_platform=sum(r.off_platform for r in cases),
            first_reply_minutes=round(statistics.median(firsts), 1) if firsts else None,
            median_reply_minutes=round(statistics.median(replies), 1) if replies else None,
            replies=len(replies), target_minutes=targets["target_hours"] * 60,
            platform_minutes=platform, over_platform=sum(1 for m in replies if m > platform)))
    out.sort(key=lambda a: (-a.overdue, -a.incomplete, a.agent == UNASSIGNED, a.agent))
    return out
