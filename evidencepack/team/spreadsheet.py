"""The audit as a spreadsheet (`audit --csv`): one row per case, *wide* format.

Fixed columns, then one column per deadline (``deadline.<name>.at`` / ``.status`` /
``.hours_left``), then one column per checklist item named ``<dispute_type>.<item_id>``
for the dispute types present. A cell is ``met``, ``weak``, ``missing``,
``not_applicable`` or ``covered`` (missing, but another member of its group is met),
empty for other types; ``--csv-lang zh|en`` gives headers and cells in words instead.
UTF-8 with a BOM so Excel shows Chinese; text cells that a spreadsheet would run as a
formula (``= + - @``) get a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from evidencepack.atomic import write_atomic
from evidencepack.judge.deadlines import NAMES as DEADLINE_NAMES
from evidencepack.judge.profiles import load_profiles
from evidencepack.team.audit import URGENCY_RANK, Audit

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


CSV_FIXED = ["case_dir", "case_id", "platform", "dispute_type", "complete", "score",
             "next_deadline", "next_deadline_at", "status", "hours_left",
             "first_missing_id", "first_missing", "error"]


def _safe_cell(value: Any) -> Any:
    """Text a spreadsheet would evaluate (=HYPERLINK(...), +cmd, @SUM) gets a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _item_columns(audit: Audit) -> list[str]:
    seen: dict[str, None] = {}
    for row in sorted((r for r in audit.rows if r.dispute_type),
                      key=lambda r: r.dispute_type or ""):
        for item in row.items:
            seen.setdefault(f"{row.dispute_type}.{item.id}")
    return list(seen)


CSV_AGENT = ["assignee", "assignee_source", "rude", "off_platform", "first_reply_minutes"]


def csv_text(audit: Audit, lang: str | None = None) -> str:
    """The CSV with id headers and id cells (``lang`` None: for scripts), or with
    headers and cells in ``lang`` for a spreadsheet: item titles, times as
    ``2026-12-01 18:00:00`` in the case's zone (Excel reads them as times), counts
    and scores as numbers, 是/否 for yes and no."""
    deadline_cols = [f"deadline.{name}.{part}" for name in DEADLINE_NAMES
                     for part in ("at", "status", "hours_left")]
    item_cols = _item_columns(audit)
    columns = CSV_FIXED + CSV_AGENT + deadline_cols + item_cols
    words = _csv_words(audit, lang, item_cols) if lang else None
    if words is not None:
        columns = [c for c in columns if c in words]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([words[c] for c in columns] if words is not None else columns)
    for row in audit.rows:
        record: dict[str, Any] = {
            "case_dir": row.case_dir, "case_id": row.case_id, "platform": row.platform,
            "dispute_type": row.dispute_type, "complete": row.complete, "score": row.score,
            "next_deadline": row.next_deadline, "next_deadline_at": row.next_deadline_at,
            "status": row.status, "hours_left": row.hours_left,
            "first_missing_id": row.first_missing_id, "first_missing": row.first_missing,
            "error": row.error,
            **{k: getattr(row, k) for k in CSV_AGENT},
        }
        for d in row.deadlines:
            record[f"deadline.{d.name}.at"] = d.at
            record[f"deadline.{d.name}.status"] = d.status
            record[f"deadline.{d.name}.hours_left"] = d.hours_left
        for item in row.items:
            record[f"{row.dispute_type}.{item.id}"] = item.cell
        cells = [_cell(c, record.get(c), words) for c in columns]
        writer.writerow([_safe_cell(v) if v is not None else "" for v in cells])
    return out.getvalue()


def _cell(column: str, value: Any, words: dict[str, str] | None) -> Any:
    if value is None:
        return None
    if words is None:  # the id format scripts already read
        if isinstance(value, datetime):
            return value.isoformat()
        if column == "complete":
            return str(value).lower()
        if column == "score":
            return f"{value:.3f}"
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return words["yes" if value else "no"]
    if column == "score":
        return round(value * 100)
    if column == "dispute_type":
        return words.get(f"type:{value}", value)
    if column in ("next_deadline", "platform"):
        return words.get(f"{column}:{value}", value)
    if isinstance(value, str) and f"cell:{value}" in words:
        return words[f"cell:{value}"]
    return value


def _csv_words(audit: Audit, lang: str, item_cols: list[str]) -> dict[str, str]:
    """Header -> words, and the words for the cells (``cell:met``, ``type:<id>``)."""
    from evidencepack.pack.labels import load_labels
    from evidencepack.messages import words as message_words

    zh = lang == "zh"
    W, L = message_words(lang), load_labels(lang)
    names = {c: W["csv_" + c] for c in CSV_FIXED + CSV_AGENT if "csv_" + c in W}
    for name, (zh_label, en_label) in DEADLINE_NAMES.items():
        label = zh_label if zh else en_label
        for part in ("at", "status", "hours_left"):
            names[f"deadline.{name}.{part}"] = W["csv_deadline_" + part].format(label=label)
        names[f"next_deadline:{name}"] = label
    titles = {(r.dispute_type, i.id): i.title for r in audit.rows for i in r.items}
    for column in item_cols:
        type_id, item_id = column.split(".", 1)
        type_name = audit.type_names.get(type_id, type_id)
        names[column] = f"{type_name}·{titles.get((type_id, item_id), item_id)}"
    for type_id, type_name in audit.type_names.items():
        names[f"type:{type_id}"] = type_name
    for platform_id, profile in load_profiles().items():
        names[f"platform:{platform_id}"] = profile.name(lang)
    for cell in ("met", "weak", "missing", "covered", "not_applicable"):
        names[f"cell:{cell}"] = L["ws_" + cell]
    for status in URGENCY_RANK:
        names[f"cell:{status}"] = L[status]
    names["cell:error"] = W["error"]
    names["yes"], names["no"] = W["yes"], W["no"]
    return names


def write_csv(audit: Audit, path: Path, lang: str | None = None) -> None:
    # utf-8-sig: the BOM is what makes Excel read the file as UTF-8, not GBK.
    write_atomic(path, csv_text(audit, lang).encode("utf-8-sig"))
