"""Errors and warnings in the reader's language.

The library words its errors and warnings in English where they arise (one
sentence, with the file, line and value that are at fault). For ``--lang zh``
the terminal looks each one up in ``data/messages.toml``: a pattern over the
English sentence with named groups, and the Chinese sentence those groups fill.
A sentence with no entry stays English, so a new message is never lost, and
the tests that print a case's output in Chinese find it.
"""

from __future__ import annotations

import re
from functools import cache

from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

MESSAGES_FILE = DATA / "messages.toml"


@cache
def _catalogue() -> tuple[dict[str, dict[str, str]], list[tuple[re.Pattern[str], str]]]:
    data = load_toml(MESSAGES_FILE, display="evidencepack/data/messages.toml")
    patterns = [(re.compile(e["en"] + r"\Z", re.S), e["zh"]) for e in data["message"]]
    return {"zh": data["zh"], "en": data["en"]}, patterns


def words(lang: str) -> dict[str, str]:
    """The fixed words around messages ("warning", "error", "wrote"), zh or en."""
    return _catalogue()[0]["zh" if lang == "zh" else "en"]


def translate(text: str, lang: str | None) -> str:
    """``text`` in ``lang``: English as given, else the catalogue's sentence for it.

    A message may join several sentences with '; ' (a reason and its remedy): each
    part is looked up on its own when the whole has no entry."""
    if lang != "zh" or not text:
        return text
    _, patterns = _catalogue()
    for pattern, zh in patterns:
        match = pattern.match(text)
        if match:
            return zh.format(**{k: translate(v or "", lang)
                                for k, v in match.groupdict().items()})
    if "; " in text:
        parts = text.split("; ")
        translated = [translate(p, lang) for p in parts]
        if translated != parts:
            return "；".join(translated)
    return text
