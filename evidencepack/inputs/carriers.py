"""Couriers and tracking statuses: carrier names and codes, the words that say a parcel
was signed, returned or refused, and the stall thresholds, all from
``data/tracking_words.toml`` and ``data/carriers.toml`` so a support lead can correct a
word list without touching code."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache

from evidencepack.errors import EvidencePackError
from evidencepack.models import TrackingStatus
from evidencepack.resources import DATA

DELIVERED = frozenset({
    TrackingStatus.signed,
    TrackingStatus.signed_by_third_party,
    TrackingStatus.locker_or_station,
})
RETURNING = frozenset({TrackingStatus.returning, TrackingStatus.returned})
# After these nothing more is expected, so silence since the last event is not a stall.
FINAL = DELIVERED | {TrackingStatus.returned}


# --- data files -----------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    status: TrackingStatus
    any: tuple[str, ...]
    with_: tuple[str, ...]
    unless: tuple[str, ...]

    def matches(self, folded: str) -> bool:
        return (any(w in folded for w in self.any)
                and (not self.with_ or any(w in folded for w in self.with_))
                and not any(w in folded for w in self.unless))


@dataclass(frozen=True)
class _Words:
    rules: tuple[_Rule, ...]
    gap_hours: float
    stalled_hours: float
    self_words: tuple[str, ...]
    named_signer: re.Pattern[str]
    not_a_name: frozenset[str]
    codes: dict[str, TrackingStatus]
    subcodes: dict[str, TrackingStatus]
    names: dict[str, TrackingStatus]
    refine: dict[TrackingStatus, frozenset[TrackingStatus]]


@dataclass(frozen=True)
class _Carrier:
    code: str
    zh: str
    en: str


def fold(text: str) -> str:
    """Matching form: full-width letters and digits become ASCII, case is ignored."""
    return unicodedata.normalize("NFKC", text).casefold()


def match_key(text: str) -> str:
    """Matching form for names and headers, where spacing and punctuation vary."""
    return re.sub(r"[\s_\-]+", "", fold(text))


def _load_data(name: str) -> dict:
    # Package data, not user input: a broken file is an installation fault (exit 3),
    # so it is not an InputError the user would be told to fix.
    try:
        return tomllib.loads((DATA / name).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EvidencePackError(f"cannot load packaged data file: {exc}",
                                path=f"evidencepack/data/{name}",
                                remedy="reinstall evidencepack") from exc


def _status_value(value: object, where: str) -> TrackingStatus:
    try:
        return TrackingStatus(value)
    except ValueError:
        raise EvidencePackError(f"unknown tracking status {value!r} in {where}",
                                path="evidencepack/data/tracking_words.toml") from None


@cache
def word_lists() -> _Words:
    raw = _load_data("tracking_words.toml")
    try:
        rules = tuple(
            _Rule(status=_status_value(r["status"], "[[rule]]"),
                  any=tuple(fold(w) for w in r["any"]),
                  with_=tuple(fold(w) for w in r.get("with", [])),
                  unless=tuple(fold(w) for w in r.get("unless", [])))
            for r in raw["rule"])
        k100 = raw["kuaidi100"]
        signer = raw["signer"]
        return _Words(
            rules=rules,
            gap_hours=float(raw["thresholds"]["gap_hours"]),
            stalled_hours=float(raw["thresholds"]["stalled_days"]) * 24,
            self_words=tuple(fold(w) for w in signer["self_words"]),
            named_signer=re.compile(signer["named_signer"]),
            not_a_name=frozenset(fold(w) for w in signer["not_a_name"]),
            codes={str(k): _status_value(v, "[kuaidi100.codes]") for k, v in k100["codes"].items()},
            subcodes={str(k): _status_value(v, "[kuaidi100.subcodes]")
                      for k, v in k100["subcodes"].items()},
            names={match_key(k): _status_value(v, "[kuaidi100.names]") for k, v in k100["names"].items()},
            refine={_status_value(k, "[kuaidi100.refine]"):
                    frozenset(_status_value(s, "[kuaidi100.refine]") for s in v)
                    for k, v in k100["refine"].items()},
        )
    except (KeyError, TypeError, re.error) as exc:
        raise EvidencePackError(f"malformed packaged data: {exc!r}",
                                path="evidencepack/data/tracking_words.toml",
                                remedy="reinstall evidencepack") from exc


@cache
def _carriers() -> tuple[dict[str, _Carrier], dict[str, str], tuple[tuple[str, str], ...]]:
    """(by code, exact lookup key -> code, Chinese names for finding inside a line)."""
    raw = _load_data("carriers.toml")
    by_code: dict[str, _Carrier] = {}
    lookup: dict[str, str] = {}
    cjk: list[tuple[str, str]] = []
    try:
        for code, entry in raw.items():
            by_code[code] = _Carrier(code=code, zh=entry["zh"], en=entry["en"])
            for name in [code, entry["zh"], entry["en"], *entry.get("aliases", [])]:
                lookup.setdefault(match_key(name), code)
                # Only Chinese names of three or more characters are searched inside
                # longer text: a Latin alias such as "SF" would match tracking numbers,
                # and 天天 or 京东 occur in ordinary page headings.
                if re.search(r"[\u4e00-\u9fff]", name) and len(name) >= 3:
                    cjk.append((match_key(name), code))
    except (KeyError, TypeError, AttributeError) as exc:
        raise EvidencePackError(f"malformed packaged data: {exc!r}",
                                path="evidencepack/data/carriers.toml",
                                remedy="reinstall evidencepack") from exc
    cjk.sort(key=lambda item: -len(item[0]))  # longest first: 中国邮政速递 before 中国邮政
    return by_code, lookup, tuple(cjk)


GAP_THRESHOLD_HOURS: float = word_lists().gap_hours
"""Gaps longer than this are listed (tracking_words.toml cites the seeds: appeal within 72 h, give the courier 3 days)."""
STALLED_THRESHOLD_HOURS: float = word_lists().stalled_hours
"""Domain notes: over 7 days without an update is abnormal."""


# --- carriers and statuses --------------------------------------------------------

def normalise_carrier(value: str) -> str | None:
    """Our carrier code for a code, Chinese or English name or alias; None if unknown."""
    if not isinstance(value, str):
        return None
    key = match_key(value)
    if not key:
        return None
    _, lookup, cjk = _carriers()
    if key in lookup:
        return lookup[key]
    # "圆通速递有限公司", "【圆通速递】": a longer label around a known Chinese name.
    for name, code in cjk:
        if name in key:
            return code
    return None


def carrier_name(code: str | None, lang: str = "zh") -> str | None:
    """Display name for a carrier code ("yuantong" -> "圆通速递" / "YTO Express")."""
    if not code:
        return None
    by_code, _, _ = _carriers()
    found = by_code.get(code) or by_code.get(normalise_carrier(code) or "")
    if found is None:
        return None
    return found.en if lang.lower().startswith("en") else found.zh


def classify(text: str) -> TrackingStatus:
    """Status of one event from its text, by the ordered rules in tracking_words.toml."""
    if not isinstance(text, str) or not text.strip():
        return TrackingStatus.unknown
    folded = fold(text)
    for rule in word_lists().rules:
        if rule.matches(folded):
            return rule.status
    return TrackingStatus.unknown


def status_from_code(code: str | int | None) -> TrackingStatus | None:
    """Kuaidi100 state / statusCode ("3", "301", "1001") to a status; None if unknown."""
    if code is None or isinstance(code, bool):
        return None
    code = str(code).strip()
    words = word_lists()
    if code in words.subcodes:
        return words.subcodes[code]
    if code in words.codes:
        return words.codes[code]
    if code.isascii() and code.isdigit() and len(code) >= 3:
        return words.codes.get(str(int(code[:-2])))
    return None


def _status_from_name(name: str) -> TrackingStatus | None:
    name = name.strip()
    if not name:
        return None
    try:
        return TrackingStatus(name.lower())
    except ValueError:
        pass
    by_code = status_from_code(name)
    if by_code is not None:
        return by_code
    words = word_lists()
    if match_key(name) in words.names:
        return words.names[match_key(name)]
    found = classify(name)
    return None if found is TrackingStatus.unknown else found


def resolve_status(code: str | None, name: str | None, text: str) -> TrackingStatus:
    """A code gives the family; the text may narrow it (a 签收 code + 门卫 -> third party)."""
    from_text = classify(text)
    base = status_from_code(code) if code else None
    if base is None and name:
        base = _status_from_name(name)
    if base is None:
        return from_text
    if from_text in word_lists().refine.get(base, frozenset()):
        return from_text
    return base


