"""Dispute types and platforms as an agent types them: the id, or its Chinese or
English name, with the nearest known one named when nothing matches."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from evidencepack.errors import InputError


def nearest(value: str, known: Iterable[str]) -> str | None:
    """The known word closest to ``value`` (a typo of it), or None when none is close."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    match = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def resolve(value: str, names: dict[str, tuple[str, str]]) -> tuple[str | None, str | None]:
    """(id, None) when ``value`` is an id or a name of one; else (None, the id nearest
    to it, or None). ``names`` maps each id to its (Chinese, English) name."""
    if value in names:
        return value, None
    folded = value.strip().casefold()
    for id_, (zh, en) in names.items():
        if folded in (id_.casefold(), zh.strip().casefold(), en.strip().casefold()):
            return id_, None
    words = {id_: id_ for id_ in names}
    for id_, (zh, en) in names.items():
        words[zh] = id_
        words[en] = id_
    close = nearest(value, words)
    if close is None:
        # A Chinese near miss shares characters, not letters: 质量 for 质量问题.
        close = next((w for w in words if value and (value in w or w in value)
                      and not w.isascii()), None)
    return None, words[close] if close else None


def checklist_names(checklists) -> dict[str, tuple[str, str]]:
    return {id_: (c.name_zh, c.name_en) for id_, c in checklists.items()}


def profile_names(profiles) -> dict[str, tuple[str, str]]:
    return {id_: (p.name_zh, p.name_en) for id_, p in profiles.items()}


def require(value: str, names: dict[str, tuple[str, str]], what: str, *, remedy: str,
            error: type[InputError] = InputError, **where) -> str:
    """The id ``value`` names, or ``error`` saying which id it is nearest to."""
    found, close = resolve(value, names)
    if found is not None:
        return found
    message = f"unknown {what} {value!r}"
    if close is not None:
        message += f" (did you mean {close} ({names[close][0]})?)"
    raise error(message, remedy=remedy, **where)
