"""Masking phone numbers, ID card numbers and street addresses in everything a redacted pack shows."""

from __future__ import annotations

import re
import tomllib
from evidencepack.resources import DATA

_WORDS = tomllib.loads((DATA / "redaction.toml")
                       .read_text(encoding="utf-8"))

# Full-width digits and separators are matched as their ASCII forms; the
# translation is one character for one, so match offsets hold in the original.
_WIDE = str.maketrans("０１２３４５６７８９－．（）＋　Ｘｘ", "0123456789-.()+ Xx")
_SEP = r"[ .\-]?"


def _spaced(*pieces: str) -> str:
    """Digits that may be grouped by a space, dot or dash (138.1234.5678, 330106 1990…)."""
    return _SEP.join(pieces)


_ID18 = re.compile(r"(?<![0-9A-Za-z])" + _spaced(r"[1-9]", *[r"\d"] * 16, r"[\dXx]")
                   + r"(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])" + _spaced(r"[1-9]", *[r"\d"] * 14) + r"(?![0-9A-Za-z])")
_ID18_STRICT = re.compile(
    r"[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]")
_ID15_STRICT = re.compile(r"[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}")
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[ \-]?)?(" + _spaced("1", "[3-9]", *[r"\d"] * 9)
                     + r")(?!\d)")
# A mainland landline: area code 0xx or 0xxx (in brackets or not), 7 or 8 digits.
_LANDLINE = re.compile(r"(?<!\d)(\(0\d{2,3}\)|0\d{2,3})[ \-]?(\d{3,4}[ \-]?\d{4})(?!\d)")
_NUMBER_LABEL = re.compile(r"(?:" + "|".join(map(re.escape, _WORDS["number_labels"]))
                           + r")\s*[:：]?\s*$")

_PROVINCES = "|".join(map(re.escape, _WORDS["provinces"]))
_NAME_CHAR = rf"(?:(?![{_WORDS['name_stops']}])[\u4e00-\u9fff])"
_PROV = rf"(?:{_PROVINCES})(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?"
_CITY = rf"{_NAME_CHAR}{{2,5}}?(?:市|自治州|地区|盟)"
_DISTRICT = rf"{_NAME_CHAR}{{1,5}}?(?:区|县|旗)"
_BODY = r"[\u4e00-\u9fff0-9A-Za-z#＃\-()（） ]"
_ROAD = "|".join(map(re.escape, _WORDS["roads"]))
_ESTATE = "|".join(map(re.escape, _WORDS["estates"]))
_UNIT = rf"(?:{_ROAD}|{_ESTATE}|道|号|栋|幢|单元|室|楼)"
_TAIL = r"(?:" + _BODY + r"{0,20}?(?:号|栋|幢|单元|室|楼|层|弄))*[0-9A-Za-z\-]*"
# An address starts at a province, city or district word (the province and city
# stay readable, the rest is masked), or, with none of them, at a road or
# estate name followed by a number: 文三路100号, 阳光小区3栋.
_ADDRESS = re.compile(
    rf"(?:(?P<head>{_PROV}\s?(?:{_CITY})?|{_CITY})|(?={_DISTRICT}))"
    rf"(?P<rest>\s?(?:{_DISTRICT})?{_BODY}{{0,40}}?{_UNIT}{_TAIL})"
    rf"|(?P<bare>{_NAME_CHAR}{{1,8}}?(?:{_ROAD}|{_ESTATE})\s?\d+\s?(?:号|弄|栋|幢|号楼|单元){_TAIL})")
_DIGIT = re.compile(r"\d")
_STREET = re.compile(rf"{_ROAD}|{_ESTATE}|道|栋|幢|单元")


class Redactor:
    """Masks mainland mobile and landline numbers, ID card numbers and street addresses.

    One instance per pack: the same original value always gets the same mask,
    and two different values never share one (a later value whose star mask
    would equal an earlier one's gets "(2)", "(3)" appended), so a reader can
    still tell "the same phone number again" from "another number".
    """

    def __init__(self) -> None:
        self._masks: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()
        self._addresses = 0

    def _unique(self, kind: str, key: str, base: str) -> str:
        found = self._masks.get((kind, key))
        if found is not None:
            return found
        mask, n = base, 1
        while mask in self._taken:
            n += 1
            mask = f"{base}({n})"
        self._masks[(kind, key)] = mask
        self._taken.add(mask)
        return mask

    def redact(self, text: str) -> str:
        # Matching runs on ``seen`` (full-width forms made ASCII); each mask is
        # spliced into both, so the text outside the masks is left as written.
        seen = text.translate(_WIDE)
        for pattern, mask in ((_ID18, self._id), (_ID15, self._id), (_MOBILE, self._phone),
                              (_LANDLINE, self._landline), (_ADDRESS, self._address)):
            out, out_seen, at = [], [], 0
            for m in pattern.finditer(seen):
                replacement = mask(m)
                if replacement is None:
                    continue
                out += [text[at:m.start()], replacement]
                out_seen += [seen[at:m.start()], replacement]
                at = m.end()
            if at:
                text = "".join(out) + text[at:]
                seen = "".join(out_seen) + seen[at:]
        return text

    @staticmethod
    def _labelled(m: re.Match[str]) -> bool:
        return bool(_NUMBER_LABEL.search(m.string[max(0, m.start() - 12):m.start()]))

    def _id(self, m: re.Match[str]) -> str | None:
        value = re.sub(r"[ .\-]", "", m.group(0)).upper()
        if self._labelled(m) or not (_ID18_STRICT.fullmatch(value) or _ID15_STRICT.fullmatch(value)):
            return None
        return self._unique("id", value, value[:4] + "*" * (len(value) - 6) + value[-2:])

    def _phone(self, m: re.Match[str]) -> str:
        # Never skipped after a label: an 11-digit mobile number is not an
        # order or waybill number (those are longer or carry letters).
        digits = re.sub(r"[ .\-]", "", m.group(1))
        return self._unique("phone", digits, f"{digits[:3]}****{digits[-4:]}")

    def _landline(self, m: re.Match[str]) -> str:
        area = m.group(1).strip("()")
        number = re.sub(r"[ \-]", "", m.group(2))
        return self._unique("phone", area + number, f"{area}-****{number[-4:]}")

    def _address(self, m: re.Match[str]) -> str | None:
        rest = m.group("rest") if m.group("bare") is None else m.group("bare")
        if not (_DIGIT.search(rest) and _STREET.search(rest)):
            # Without a street word and a number it is far more often chat
            # ("超市门口路边", "3号色") than an address.
            return None
        head = m.group("head") or ""
        lead = rest[: len(rest) - len(rest.lstrip())]
        key = re.sub(r"\s+", "", rest)
        found = self._masks.get(("address", key))
        if found is None:
            self._addresses += 1
            found = self._unique("address", key, f"[地址{self._addresses}]")
        return head + lead + found


def redact_all(redactor: Redactor, *, messages, events, warnings, case, evidence) -> None:
    """Mask, in place, every text of an analysis that came from the case's files:
    chat messages and senders, tracking events and locations, warnings quoting
    an input line, the statement, item title, buyer nick, captions and the text
    recognised in screenshots (the pack's text layer)."""
    for m in messages:
        m.text, m.sender = redactor.redact(m.text), redactor.redact(m.sender)
    for ev in events:
        ev.text = redactor.redact(ev.text)
        if ev.location:
            ev.location = redactor.redact(ev.location)
    for w in warnings:
        w.message = redactor.redact(w.message)
    if case.statement:
        case.statement = redactor.redact(case.statement)
    case.item.title = redactor.redact(case.item.title)
    if case.buyer.nick:
        case.buyer.nick = redactor.redact(case.buyer.nick)
    for item in evidence:
        if item.caption:
            item.caption = redactor.redact(item.caption)
        for line in item.ocr.lines if item.ocr else ():
            line.text = redactor.redact(line.text)
