"""Every word the pack, the worksheet and the statement show, in zh and en: one
file (``labels.toml`` in the template folders), a user's copy winning over ours."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from evidencepack.errors import RenderError
from evidencepack.resources import builtin_templates

BUILTIN_TEMPLATES = builtin_templates()


@cache
def _read(path: Path) -> dict[str, dict[str, str]]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_labels(lang: str, template_dirs: tuple[Path, ...] = ()) -> dict[str, str]:
    """The labels of ``lang``; keys a user's labels.toml lacks come from ours."""
    lang = "zh" if lang == "zh" else "en"
    labels = dict(_read(BUILTIN_TEMPLATES / "labels.toml")[lang])
    for folder in template_dirs:
        path = folder / "labels.toml"
        if path.is_file() and path.resolve() != (BUILTIN_TEMPLATES / "labels.toml").resolve():
            try:
                labels.update(_read(path).get(lang, {}))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise RenderError(f"cannot read labels ({exc})", path=path) from None
            break
    return labels


def zone_text(tz_name: str, offset_hours: float, labels: dict[str, str]) -> str:
    """'北京时间（UTC+8）' for China's zone, else the zone's name and its offset."""
    sign = "+" if offset_hours >= 0 else "−"
    hours = abs(offset_hours)
    offset = f"UTC{sign}{hours:g}" if hours % 1 else f"UTC{sign}{int(hours)}"
    if tz_name in ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"):
        return labels["zone_beijing"].format(offset=offset)
    return labels["zone_other"].format(zone=tz_name, offset=offset)


def money(amount, currency: str, labels: dict[str, str]) -> str:
    symbol = {"CNY": "¥", "RMB": "¥"}.get(currency.upper())
    return f"{symbol}{amount:.2f}" if symbol else labels["money_other"].format(
        amount=f"{amount:.2f}", currency=currency)
