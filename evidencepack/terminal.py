"""The CLI's terminal output (rich tables). Only cli.py calls this module."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evidencepack.judge.checklist import Checklist
from evidencepack.judge.deadlines import NAMES as DEADLINE_NAMES
from evidencepack.judge.deadlines import time_left_text
from evidencepack.inputs.evidence import escape_controls
from evidencepack.pack.labels import load_labels
from evidencepack.pipeline import Analysis

MARKS = {"met": ("✓", "green"), "weak": ("⚠", "yellow"), "missing": ("✗", "red"),
         "not_applicable": ("–", "dim")}
URGENCY_STYLE = {"overdue": "bold red", "due_24h": "red", "due_72h": "yellow", "ok": "green",
                 "unknown": "dim", "passed": "dim"}


def console() -> Console:
    # Wide enough for Chinese titles when piped into a file or a CI log. No markup
    # and no emoji codes: every string printed may come from a case file, an
    # export or a manifest, and "[/bold]" or "[link=…]" there is text, not style.
    return Console(highlight=False, soft_wrap=False, width=None if _tty() else 120,
                   markup=False, emoji=False)


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()


def print_check(analysis: Analysis) -> None:
    out = console()
    zh = analysis.lang == "zh"
    r = analysis.report
    case = analysis.case
    out.print(Text(_flat(f"{case.case_id} · {r.name} · {analysis.profile.name(analysis.lang)}"),
                   style="bold"))
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("", width=2)
    table.add_column("证据项" if zh else "Item")
    table.add_column("要求" if zh else "Level")
    table.add_column("证据 / 说明" if zh else "Evidence / notes")
    for item in r.items:
        mark, style = MARKS[item.status]
        notes = ", ".join(item.evidence)
        if item.status == "missing" and item.group_met:
            mark, style = "·", "dim"
            notes = "同组已满足" if zh else "covered by its group"
        if item.reasons and not (item.status == "missing" and item.group_met):
            notes = "; ".join(filter(None, [notes, *item.reasons]))
        table.add_row(Text(mark, style=style), _flat(item.title), item.level, _flat(notes))
    out.print(table)
    score = f"{r.satisfied_units}/{r.required_units}"
    verdict = ("完整" if r.complete else "不完整") if zh else ("complete" if r.complete else "incomplete")
    out.print(Text(("完整度 " if zh else "Completeness ") + f"{score} ({verdict})",
                   style="green" if r.complete else "red"))
    dl = Table(show_header=False, box=None, pad_edge=False)
    for d in analysis.deadlines:
        at = d.at.strftime("%Y-%m-%d %H:%M %Z") if d.at else d.source
        left = time_left_text(d.hours_left, zh)
        status = Text(d.status + (f" ({left})" if left else ""), style=URGENCY_STYLE[d.status])
        note = ("推定" if zh else "assumed") if d.assumed else ""
        if d.everyday_at is not None:
            note += ("，平日规则 " if zh else "; everyday rule ") + \
                d.everyday_at.strftime("%Y-%m-%d %H:%M")
        dl.add_row(_flat(d.label), _flat(at), status, note)
    out.print(Text("处理时限" if zh else "Deadlines", style="bold"))
    out.print(dl)
    for w in analysis.warnings:
        out.print(Text(f"warning: {_flat(w)}", style="yellow"))
    out.print(Text(("下一步：" if zh else "Next: ") + _flat(analysis.next_action()), style="bold"))


def print_build(analysis: Analysis, result, worksheet: Path, plan=None) -> None:
    out = console()
    zh = analysis.lang == "zh"
    for w in [*analysis.warnings, *result.warnings]:
        out.print(Text(f"warning: {_flat(w)}", style="yellow"))
    missing = analysis.report.missing
    if missing:
        out.print(Text(("证据不完整，缺：" if zh else "Incomplete, missing: ")
                       + _flat("; ".join(i.title for i in missing)), style="red"))
    out.print(f"wrote {_flat(result.pdf)} ({result.pages} pages, {result.size / 1024 / 1024:.1f} MB)")
    out.print(f"      {_flat(result.manifest)} (sha256 {result.sha256[:12]}…)")
    out.print(Text(load_labels(analysis.lang)["ws_written"].format(path=_flat(worksheet))))
    if plan is not None and plan.images:
        images = plan.images
        largest = max(i.size for i in images)
        out.print(f"wrote {len(images)} page images to {images[0].path.parent} "
                  f"(largest {largest / 1000:.0f} kB, lowest {min(i.dpi for i in images)} dpi); "
                  f"upload order in {plan.plan_file.name}")
        if plan.left_out:
            out.print(Text(f"pages {', '.join(map(str, plan.left_out))} are over the platform's "
                           f"limit of {plan.max_images} images and were not exported",
                           style="yellow"))


def print_statement(analysis: Analysis, draft, problems) -> None:
    out = console()
    L = load_labels(analysis.lang)
    if problems:
        out.print(Text(L["ws_statement"], style="bold red"))
        for p in problems:
            out.print(Text(f"- {p.message}", style="red" if p.kind != "empty" else "yellow"))
    out.print(Text(L["ws_draft"], style="bold"))
    out.print(Text(draft.text))
    if draft.limit:
        out.print(Text(L["ws_chars"].format(chars=draft.chars, limit=draft.limit)
                       + (L["st_assumed"] if draft.limit_assumed else ""), style="dim"))


def print_checklists(lists: dict[str, Checklist]) -> None:
    table = Table(show_header=True, header_style="bold")
    table.add_column("id")
    table.add_column("中文")
    table.add_column("English")
    table.add_column("items", justify="right")
    for c in lists.values():
        table.add_row(c.id, c.name_zh, c.name_en, str(len(c.items)))
    console().print(table)


def print_checklist(checklist: Checklist, lang: str) -> None:
    out = console()
    out.print(Text(f"{checklist.id} · {checklist.name(lang)}", style="bold"))
    table = Table(show_header=True, header_style="bold", show_lines=True)
    # Leads copy ids into `remove = [...]`: never truncate them.
    table.add_column("id", no_wrap=True, overflow="fold")
    table.add_column("item")
    table.add_column("level")
    table.add_column("rules")
    table.add_column("why")
    for item in checklist.items:
        rules = "\n".join(_rule_text(r) for r in item.rules)
        level = item.level + (f" ({item.group})" if item.group else "")
        table.add_row(item.id, item.title(lang), level, rules, item.why(lang))
    out.print(table)


def _rule_text(rule) -> str:
    data = rule.model_dump(exclude_defaults=True, exclude={"kind"})
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            value = "/".join(getattr(v, "value", str(v)) for v in value)
        parts.append(f"{key}={value}")
    return f"{rule.kind}: " + ", ".join(parts)


def _shown(rows: list, limit: int) -> list:
    return rows if limit == 0 else rows[:limit]


def _more(out: Console, total: int, shown: int, zh: bool) -> None:
    if total > shown:
        out.print(Text(f"另有 {total - shown:,} 个案件未显示（共 {total:,} 个，按紧急程度排序）；"
                       "--limit 0 显示全部，--json 或 --csv 输出全部" if zh else
                       f"{total - shown:,} more cases not shown ({total:,} in all, most urgent "
                       "first); --limit 0 shows all, --json or --csv gives every case",
                       style="dim"))


def print_queue(rows, lang: str, limit: int = 0) -> None:
    zh = lang == "zh"
    shown = _shown(rows, limit)
    table = Table(show_header=True, header_style="bold")
    for title in (("案件", "Case"), ("类型", "Type"), ("完整度", "Score"), ("下一时限", "Next deadline"),
                  ("剩余", "Left"), ("首个缺失项", "First missing")):
        table.add_column(title[0] if zh else title[1])
    for r in shown:
        if r.error:
            table.add_row(Text(_flat(Path(r.case_dir).name), style="red"), "", "", "",
                          Text("error", style="bold red"), Text(_flat(r.error), style="red"))
            continue
        at = r.next_deadline_at.strftime("%m-%d %H:%M") if r.next_deadline_at else ""
        score = Text(f"{r.score:.0%}", style="green" if r.complete else "red")
        left = Text(time_left_text(r.hours_left, zh) or r.status, style=URGENCY_STYLE.get(r.status, ""))
        name = DEADLINE_NAMES[r.next_deadline][0 if zh else 1] if r.next_deadline else ""
        table.add_row(_flat(r.case_id), _flat(r.dispute_type), score, f"{name} {at}".strip(),
                      left, _flat(r.first_missing))
    out = console()
    out.print(table)
    _more(out, len(rows), len(shown), zh)


def _flat(text: object) -> str:
    """Input text on one terminal line, printed as written: control characters, line
    separators and bidi controls escaped (no escape sequence reaches the terminal)."""
    return escape_controls("" if text is None else str(text))


_AUDIT_DEADLINES = {"respond_by": ("处理截止", "Respond by"),
                    "intervention_possible_at": ("可介入", "Intervene"),
                    "evidence_due": ("举证截止", "Evidence")}


def print_audit(audit, limit: int = 0) -> None:
    """`audit`: one row per case with every item's mark and every deadline, then the
    items that fail most across the team. Broken cases are rows, their errors below."""
    zh = audit.lang == "zh"
    out = console()
    table = Table(show_header=True, header_style="bold")
    # Ids, marks and times are what a lead scans: never wrapped. Chinese titles
    # (no spaces to wrap at) fold rather than being cut off with an ellipsis.
    table.add_column("案件" if zh else "Case", no_wrap=True)
    table.add_column("类型" if zh else "Type", no_wrap=True)  # ids of at most 18
    table.add_column("完整度" if zh else "Score", no_wrap=True)
    table.add_column("证据项" if zh else "Items", no_wrap=True)
    for zh_title, en_title in _AUDIT_DEADLINES.values():
        table.add_column(zh_title if zh else en_title, no_wrap=True)
    table.add_column("首个缺失项" if zh else "First missing", overflow="fold")
    marks = {**MARKS, "covered": ("·", "dim")}
    errors = []
    shown = _shown(audit.rows, limit)
    for r in shown:
        name = _flat(Path(r.case_dir).name)
        if r.error:
            errors.append(Text(f"{name}: {_flat(r.error)}", style="red"))
            table.add_row(Text(name, style="red"), "", "", Text("error", style="bold red"),
                          "", "", "", Text("↓", style="red"))
            continue
        items = Text()
        for item in r.items:
            mark, style = marks[item.cell]
            items.append(mark, style=style)
        cells = []
        by_name = {d.name: d for d in r.deadlines}
        for deadline in _AUDIT_DEADLINES:
            d = by_name.get(deadline)
            if d is None or d.at is None:
                cells.append(Text("—", style="dim"))
                continue
            left = time_left_text(d.hours_left, zh) if d.status != "passed" else d.status
            cells.append(Text(f"{d.at:%m-%d %H:%M}\n{left}", style=URGENCY_STYLE[d.status]))
        score = Text(f"{r.score:.0%}", style="green" if r.complete else "red")
        table.add_row(_flat(r.case_id), r.dispute_type, score, items, *cells,
                      _flat(r.first_missing))
    out.print(table)
    _more(out, len(audit.rows), len(shown), zh)
    out.print(Text("✓ 已满足  ⚠ 较弱  ✗ 缺失  · 同组已满足" if zh else
                   "✓ met  ⚠ weak  ✗ missing  · covered by its group", style="dim"))
    for line in errors:
        out.print(line)
    if not audit.summary:
        return
    summary = Table(title="最常缺失的证据项" if zh else "Checklist items that fail most",
                    show_header=True, header_style="bold", title_justify="left")
    for zh_title, en_title, justify in (("证据项", "Item", "left"), ("类型", "Type", "left"),
                                        ("缺失", "Missing", "right"), ("较弱", "Weak", "right"),
                                        ("案件数", "Cases", "right")):
        summary.add_column(zh_title if zh else en_title, justify=justify, overflow="fold")
    for s in audit.summary[:10]:
        summary.add_row(f"{_flat(s.title)} ({s.item_id})", s.dispute_type,
                        Text(str(s.missing), style="red" if s.missing else ""),
                        Text(str(s.weak), style="yellow" if s.weak else ""), str(s.cases))
    out.print(summary)


# --- batch and verify -------------------------------------------------------------------

_BATCH_STYLE = {"built": "green", "incomplete": "yellow", "skipped": "dim", "failed": "bold red",
                "error": "red"}


class BatchProgress:
    """Batch progress on stderr: a rich bar on a terminal, else one plain line per case."""

    def __init__(self, bar: bool | None = None):
        import sys

        self.bar = sys.stderr.isatty() if bar is None else bar
        self.err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False,
                           emoji=False)
        self.total = self.done = 0
        self._progress = None
        self._task = None

    def start(self, total: int) -> None:
        self.total = total
        if self.bar and total:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(TextColumn("[bold]batch"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      TimeRemainingColumn(), TextColumn("{task.description}"),
                                      console=self.err, transient=False)
            self._progress.start()
            self._task = self._progress.add_task("", total=total)

    def _line(self, row) -> str:
        width = len(str(self.total))
        detail = row.reason or ""
        if row.status in ("built", "incomplete", "skipped") and row.pages:
            detail = f"{row.pages} pages" + (f", {row.seconds:.1f} s" if row.seconds else "") + \
                (f"; {row.reason}" if row.reason else "")
        name = _flat(row.case_id or f"row {row.row}")
        return f"[{self.done:>{width}}/{self.total}] {name} {row.status}" + \
            (f": {_flat(detail)}" if detail else "")

    def result(self, row) -> None:
        self.done += 1
        line = self._line(row)
        if self._progress is not None:
            if row.status in ("failed", "error", "incomplete"):
                self._progress.console.print(Text(line, style=_BATCH_STYLE[row.status]))
            self._progress.update(self._task, advance=1, description=_flat(row.case_id or ""))
        else:
            self.err.print(Text(line), crop=False, overflow="ignore")

    def interrupted(self, running: int) -> None:
        self.close()
        if running:
            self.err.print(f"interrupted: letting {running} pack(s) being written finish…")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def print_batch(report) -> None:
    """The end-of-run summary: every row that needs a look, then the counts."""
    out = console()
    attention = [r for r in report.rows if r.status in ("failed", "error")
                 or r.complete is False or r.notes]
    if attention:
        table = Table(show_header=True, header_style="bold")
        for title in ("Row", "Case", "Status", "Reason / notes"):
            table.add_column(title, overflow="fold")
        for r in attention:
            text = "; ".join(filter(None, [r.reason, *r.notes]))
            table.add_row(str(r.row), _flat(r.case_id), Text(r.status, style=_BATCH_STYLE[r.status]),
                          _flat(text))
        out.print(table)
    out.soft_wrap = True
    s = report.summary
    shard = f" (shard {report.shard}; {s['other_shards']} row(s) in other shards)" \
        if report.shard else ""
    out.print(Text(f"{s['rows']} rows{shard}: {s['built']} built, {s['incomplete']} incomplete, "
                   f"{s['skipped']} skipped, {s['failed']} failed, {s['error']} error rows "
                   f"in {report.seconds:.1f} s (-j {report.jobs})", style="bold"))
    out.print(f"packs in {_flat(report.out)}")


def print_verify(report) -> None:
    out = console()
    out.soft_wrap = True  # paths and hashes stay whole on one line
    word = {"ok": "OK", "mismatch": "MISMATCH", "unverified": "NOT VERIFIED"}[report.status]
    out.print(Text(f"{_flat(report.pdf)}: {word}", style="bold green" if report.ok else "bold red"))
    if report.case_id:
        out.print(f"case {_flat(report.case_id)}, generated {_flat(report.generated_at)}, "
                  f"input digest {_flat(report.input_digest)}")
    out.print(f"pdf sha256 {report.pdf_sha256}" +
              (f" (checked against {_flat(report.manifest_file)})" if report.manifest_file else ""))
    if report.case_dir:
        out.print(f"case folder {_flat(report.case_dir)}: {report.checked_files} recorded file(s) "
                  f"checked, {len(report.changed)} changed, {len(report.missing)} missing, "
                  f"{len(report.added)} added")
    for check in report.verified:
        out.print(Text("verified: " + _flat(check), style="green"))
    for problem in report.problems:
        out.print(Text(_flat(problem), style="red"))
    for note in report.notes:
        out.print(Text("note: " + _flat(note), style="dim"))


_PART_NAMES = {"dev": ("开发集", "dev part"), "test": ("测试集", "test part")}


def print_evaluation(result, failures: list[str], lang: str) -> None:
    """One table per section and part; row names in the chosen language."""
    out = console()
    zh = lang == "zh"
    for section in result.sections:
        part = _PART_NAMES.get(section.part, (section.part, section.part))[0 if zh else 1]
        title = f"{section.title_zh if zh else section.title_en} · {part} · " + \
            (f"{section.size} 条" if zh else f"{section.size} records")
        table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
        for col in section.columns:
            table.add_column(col.zh if zh else col.en, justify="left" if col.id == "name" else "right")
        for row in section.rows:
            cells = []
            for col in section.columns:
                value = row.get(f"name_{lang}", row.get("id")) if col.id == "name" else row.get(col.id)
                cells.append("–" if value is None else f"{value:.3f}" if isinstance(value, float)
                             else str(value))
            table.add_row(*cells)
        out.print(table)
    if failures:
        out.print(Text(("低于下限：" if zh else "Below the floor: ") + f"{len(failures)}", style="bold red"))
        measures = {"precision": ("精确率", "precision"), "recall": ("召回率", "recall")}
        for f in failures:
            part = _PART_NAMES.get(f.part, (f.part, f.part))[0 if zh else 1]
            name = f.name_zh if zh else f.name_en
            measure = measures[f.measure][0 if zh else 1]
            floor = "下限" if zh else "floor"
            out.print(Text(f"{part} · {name}: {measure} {f.value:.3f} < {floor} {f.floor}", style="red"))
    else:
        out.print(Text("全部达到下限" if zh else "Every figure is at or above its floor", style="green"))
