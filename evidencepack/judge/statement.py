"""The seller's written statement (举证说明): a calm draft from the supported
claims, and a review of the statement in case.toml (loss reason 6: state facts,
no emotional wording; no claim without an exhibit; within the platform's length).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from evidencepack.judge.claims import Argument, load_claims
from evidencepack.pack.labels import load_labels
from evidencepack.pipeline import Analysis
from evidencepack.judge.tagging import assess_statement


class StatementProblem(BaseModel):
    kind: Literal["emotional", "accusatory", "absolute", "unsupported", "too_long", "empty"]
    message: str  # in the analysis's language, for the agent
    words: list[str] = []


class Draft(BaseModel):
    text: str
    chars: int
    limit: int | None
    limit_assumed: bool
    claims: list[str]  # the claims the draft states, in order
    left_out: list[str]  # claims that did not fit the limit


def _limit(analysis: Analysis) -> tuple[int | None, bool]:
    upload = analysis.profile.upload
    return upload.statement_max_chars, upload.statement_max_chars_assumed


def draft(analysis: Analysis, argument: Argument) -> Draft:
    """The supported claims, one sentence each, as many as the platform's limit holds."""
    L = load_labels(analysis.lang)
    limit, assumed = _limit(analysis)
    parts: list[str] = []
    used: list[str] = []
    left: list[str] = []
    for claim in argument.claims:
        # Most claims name their exhibits already; the others get a "(见 …)".
        refs = "、".join(r.text() for r in claim.refs if r.text() not in claim.text)
        sentence = claim.text.rstrip("。.") + (L["draft_refs"].format(refs=refs) if refs else "") \
            + ("。" if analysis.lang == "zh" else ". ")
        candidate = "".join([*parts, sentence]).strip()
        if limit is not None and len(candidate) > limit:
            left.append(claim.id)
            continue
        parts.append(sentence)
        used.append(claim.id)
    text = "".join(parts).strip()
    return Draft(text=text, chars=len(text), limit=limit, limit_assumed=assumed,
                 claims=used, left_out=left)


def review(analysis: Analysis, argument: Argument) -> list[StatementProblem]:
    """What is wrong with case.toml's statement, for the agent (never in the pack)."""
    L = load_labels(analysis.lang)
    text = (analysis.case.statement or "").strip()
    if not text:
        return [StatementProblem(kind="empty", message=L["st_empty"])]
    problems = [StatementProblem(kind=issue.category, words=issue.words,
                                 message=L["st_" + issue.category].format(
                                     words="、".join(issue.words)))
                for issue in assess_statement(text)]
    supported = {c.id for c in argument.claims}
    reasons = {u.id: u.reason for u in argument.unsupported}
    for fact, words in load_claims().topics.items():
        if fact in supported or fact not in reasons:
            continue
        found = [w for w in words if w in text]
        if found:
            problems.append(StatementProblem(
                kind="unsupported", words=found,
                message=L["st_unsupported"].format(words="、".join(found), reason=reasons[fact])))
    limit, assumed = _limit(analysis)
    if limit is not None and len(text) > limit:
        problems.append(StatementProblem(kind="too_long", message=L["st_too_long"].format(
            chars=len(text), limit=limit) + (L["st_assumed"] if assumed else "")))
    return problems
