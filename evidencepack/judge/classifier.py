"""A naive Bayes scorer over character n-grams that backs a tag's rules up on phrasings they lack.

Rude wording has a long tail no list of cues covers (README, "How well the
checker judges"), so for seller_rude a message the rules miss is also
scored: the sum, over the distinct 1-3 character n-grams of the normalised
message, of each n-gram's log-likelihood ratio in the corpus's dev part,
plus the prior's.  The model is a JSON file under evidencepack/data/ made
by ``python corpus/train.py`` from the dev part only.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

__all__ = ["NBModel", "train", "ngrams", "dump"]


def ngrams(norm: str) -> set[str]:
    """Distinct 1-3 character n-grams of a normalised text, with ^ and $ marking its ends."""
    text = f"^{norm}$"
    return {text[i:i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)}


class NBModel(BaseModel):
    tag: str
    role: str
    trained_on: str
    positives: int
    negatives: int
    bias: float
    unseen: float  # the weight of an n-gram the dev part never had
    weights: dict[str, float]

    def score(self, norm: str) -> float:
        return self.bias + sum(self.weights.get(g, self.unseen) for g in ngrams(norm))

    @classmethod
    def load(cls, path: Path) -> NBModel:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def train(examples: Iterable[tuple[str, bool]], *, tag: str, role: str, trained_on: str) -> NBModel:
    """Fit on (normalised text, has the tag) pairs; add-one smoothing per n-gram."""
    counts = {True: Counter(), False: Counter()}
    n = {True: 0, False: 0}
    for norm, positive in examples:
        n[positive] += 1
        counts[positive].update(ngrams(norm))
    pos, neg = n[True] + 2, n[False] + 2

    def weight(g: str) -> float:
        return math.log((counts[True][g] + 1) / pos) - math.log((counts[False][g] + 1) / neg)

    grams = sorted(set(counts[True]) | set(counts[False]))
    return NBModel(tag=tag, role=role, trained_on=trained_on, positives=n[True], negatives=n[False],
                   bias=round(math.log((n[True] + 1) / (n[False] + 1)), 6),
                   unseen=round(math.log(neg / pos), 6),
                   weights={g: round(weight(g), 6) for g in grams})


def dump(model: NBModel) -> str:
    return json.dumps(model.model_dump(), ensure_ascii=False, indent=0, sort_keys=True) + "\n"
