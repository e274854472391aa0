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
from evidencepack.pack.labels import load_labels, zone_text
from evidencepack.messages import translate, words
from evidencepack.pipeline import Analysis

MARKS = {"met": ("✓", "green"), "weak": ("⚠", "yellow"), "missing": ("✗", "red"),
         "not_applicable": ("–", "dim")}
URGENCY_STYLE = {"overdue": "bold red", "due_24h": "red", "due_72h": "yellow", "ok": "green",
                 "unknown": "dim", "passed": "dim"}


def console() -> Console:
    # Piped into a file or a CI log: $COLUMNS if set, else wide enough for Chinese
    # titles. No markup and no emoji codes: every string printed may come from a
    # case file, an export or a manifest, and "[/bold]" or "[link=…]" there is
    # text, not style.
    return Console(highlight=False, soft_wrap=False, width=None if _tty() else _columns(),
                   markup=False, emoji=False)


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()


def _columns() -> int:
    import os

    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 120


def _table(*columns: str, **kwargs) -> Table:
    """A table whose cells wrap, never cut: Chinese titles and reasons have no spaces
    to wrap at, so a long one folds onto the next line instead of ending in "…"."""
    table = Table(show_header=True, header_style="bold", **kwargs)
    for title in columns:
        table.add_column(title, overflow="fold")
    return table


def _deadline_at(d, lang: str) -> str:
    return d.at.strftime("%Y-%m-%d %H:%M") if d.at else translate(d.source, lang)


def _zone(analysis: Analysis) -> str:
    """The case's zone as 北京时间（UTC+8）or its name and offset: never "CST"."""
    offset = analysis.now.utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0
    return zone_text(analysis.case.timezone, hours, load_labels(analysis.lang))


def print_warnings(out: Console, warnings, lang: str) -> None:
    W = words(lang)
    for w in warnings:
        out.print(Text(W["warning"] + _flat(localise_warning(w, lang)), style="yellow"))


def localise_warning(w, lang: str) -> str:
    text = str(w)
    if lang != "zh" or not hasattr(w, "message"):
        return translate(text, lang)
    where = w.path + (f":{w.line}" if w.line is not None else "")
    return f"{where}：{translate(w.message, lang)}"


def print_written(paths, lang: str) -> None:
    out = console()
    for path in paths:
        out.print(Text(words(lang)["wrote"].format(path=_flat(path))))


def print_check(analysis: Analysis) -> None:
    out = console()
    lang = analysis.lang
    zh = lang == "zh"
    W = words(lang)
    L = load_labels(lang)
    r = analysis.report
    case = analysis.case
    out.print(Text(_flat(f"{case.case_id} · {r.name} · {analysis.profile.name(lang)}"),
                   style="bold"))
    table = _table("", W["col_item"], W["col_level"], W["col_notes"])
    table.columns[0].width = 2
    for item in r.items:
        mark, style = MARKS[item.status]
        notes = ", ".join(item.evidence)
        if item.status == "missing" and item.group_met:
            mark, style = "·", "dim"
            notes = W["covered"]
        if item.reasons and not (item.status == "missing" and item.group_met):
            notes = W["join"].join(filter(None, [notes, *item.reasons]))
        table.add_row(Text(mark, style=style), _flat(item.title), L[item.level], _flat(notes))
    out.print(table)
    score = f"{r.satisfied_units}/{r.required_units}"
    verdict = W["complete"] if r.complete else W["incomplete"]
    out.print(Text(W["completeness"].format(score=score, verdict=verdict),
                   style="green" if r.complete else "red"))
    dl = Table(show_header=False, box=None, pad_edge=False)
    for _ in range(4):
        dl.add_column(overflow="fold")
    for d in analysis.deadlines:
        # A moment that has come (intervention possible) is not late: no "overdue" count.
        left = time_left_text(d.hours_left, zh) if d.status != "passed" else ""
        status = Text(L[d.status] + (W["paren"].format(left) if left else ""),
                      style=URGENCY_STYLE[d.status])
        note = W["assumed"] if d.assumed else ""
        if d.everyday_at is not None:
            note += W["everyday"] + d.everyday_at.strftime("%Y-%m-%d %H:%M")
        dl.add_row(_flat(d.label), _flat(_deadline_at(d, lang)), status, note)
    out.print(Text(W["deadlines"].format(zone=_zone(analysis)), style="bold"))
    out.print(dl)
    print_warnings(out, analysis.warnings, lang)
    out.print(Text(W["next"] + _flat(analysis.next_action()), style="bold"))


def print_build(analysis: Analysis, result, worksheet: Path, plan=None) -> None:
    out = console()
    lang = analysis.lang
    W = words(lang)
    print_warnings(out, [*analysis.warnings, *result.warnings], lang)
    missing = analysis.report.missing
    if missing:
        out.print(Text(W["build_incomplete"] + _flat(W["join"].join(i.title for i in missing)),
                       style="red"))
    out.print(Text(W["wrote_pdf"].format(path=_flat(result.pdf), pages=result.pages,
                                         mb=f"{result.size / 1024 / 1024:.1f}")))
    out.print(Text(W["wrote_manifest"].format(path=_flat(result.manifest),
                                              sha=result.sha256[:12])))
    out.print(Text(load_labels(lang)["ws_written"].format(path=_flat(worksheet))))
    if plan is not None and plan.images:
        images = plan.images
        out.print(Text(W["wrote_images"].format(
            n=len(images), folder=_flat(images[0].path.parent),
            kb=f"{max(i.size for i in images) / 1000:.0f}", dpi=min(i.dpi for i in images),
            plan=_flat(plan.plan_file.name))))
        if plan.left_out:
            out.print(Text(W["images_left_out"].format(
                pages=", ".join(map(str, plan.left_out)), max=plan.max_images), style="yellow"))


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


def print_checklists(lists: dict[str, Checklist], lang: str = "en") -> None:
    W = words(lang)
    table = _table(W["col_id"], "中文", "English", W["col_items_n"])
    table.columns[3].justify = "right"
    for c in lists.values():
        table.add_row(c.id, c.name_zh, c.name_en, str(len(c.items)))
    console().print(table)


def print_checklist(checklist: Checklist, lang: str) -> None:
    out = console()
    W = words(lang)
    L = load_labels(lang)
    out.print(Text(f"{checklist.id} · {checklist.name(lang)}", style="bold"))
    table = Table(show_header=True, header_style="bold", show_lines=True)
    # Leads copy ids into `remove = [...]` and rules into their own files: never
    # truncate them; they are the checklist files' words, not translated.
    table.add_column(W["col_id"], no_wrap=True, overflow="fold")
    for key in ("col_item", "col_level", "col_rules", "col_why"):
        table.add_column(W[key], overflow="fold")
    for item in checklist.items:
        rules = "\n".join(_rule_text(r) for r in item.rules)
        level = L[item.level] + (f" ({item.group})" if item.group else "")
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


def _more(out: Console, total: int, shown: int, lang: str) -> None:
    if total > shown:
        out.print(Text(words(lang)["more_cases"].format(
            more=f"{total - shown:,}", total=f"{total:,}"), style="dim"))


def print_queue(rows, lang: str, limit: int = 0) -> None:
    zh = lang == "zh"
    W = words(lang)
    L = load_labels(lang)
    shown = _shown(rows, limit)
    table = _table(W["col_case"], W["col_type"], W["col_score"], W["col_next_deadline"],
                   W["col_left"], W["col_first_missing"])
    for r in shown:
        if r.error and r.next_deadline is None:
            table.add_row(Text(_flat(Path(r.case_dir).name), style="red"), "", "", "",
                          Text(W["error"], style="bold red"),
                          Text(_flat(translate(r.error, lang)), style="red"))
            continue
        at = r.next_deadline_at.strftime("%m-%d %H:%M") if r.next_deadline_at else ""
        score = Text(f"{r.score:.0%}", style="green" if r.complete else "red") \
            if r.score is not None else Text(W["error"], style="bold red")
        left = Text(time_left_text(r.hours_left, zh) or L.get(r.status, r.status),
                    style=URGENCY_STYLE.get(r.status, ""))
        name = DEADLINE_NAMES[r.next_deadline][0 if zh else 1] if r.next_deadline else ""
        problem = Text(_flat(translate(r.error, lang)), style="red") if r.error else \
            _flat(r.first_missing)
        table.add_row(_flat(r.case_id), _flat(r.dispute_type_name or r.dispute_type), score,
                      f"{name} {at}".strip(), left, problem)
    out = console()
    out.print(table)
    _more(out, len(rows), len(shown), lang)


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
    lang = audit.lang
    zh = lang == "zh"
    W = words(lang)
    L = load_labels(lang)
    out = console()
    table = Table(show_header=True, header_style="bold")
    # Ids, marks and times are what a lead scans: never wrapped. Chinese titles
    # (no spaces to wrap at) fold rather than being cut off with an ellipsis.
    table.add_column(W["col_case"], no_wrap=True)
    table.add_column(W["col_type"], overflow="fold")
    table.add_column(W["col_score"], no_wrap=True)
    table.add_column(W["col_items"], overflow="fold")
    for zh_title, en_title in _AUDIT_DEADLINES.values():
        table.add_column(zh_title if zh else en_title, no_wrap=True)
    table.add_column(W["col_first_missing"], overflow="fold")
    marks = {**MARKS, "covered": ("·", "dim")}
    errors = []
    shown = _shown(audit.rows, limit)
    for r in shown:
        name = _flat(Path(r.case_dir).name)
        if r.error:
            errors.append(Text(f"{name}: {_flat(translate(r.error, lang))}", style="red"))
        if r.error and not r.deadlines:
            table.add_row(Text(name, style="red"), "", "", Text(W["error"], style="bold red"),
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
            left = time_left_text(d.hours_left, zh) if d.status != "passed" else L["passed"]
            cells.append(Text(f"{d.at:%m-%d %H:%M}\n{left}", style=URGENCY_STYLE[d.status]))
        score = Text(f"{r.score:.0%}", style="green" if r.complete else "red") \
            if r.score is not None else Text(W["error"], style="bold red")
        last = Text("↓", style="red") if r.error else _flat(r.first_missing)
        table.add_row(_flat(r.case_id), _flat(audit.type_names.get(r.dispute_type,
                                                                   r.dispute_type or "")),
                      score, items, *cells, last)
    out.print(table)
    _more(out, len(audit.rows), len(shown), lang)
    out.print(Text(W["audit_legend"], style="dim"))
    for line in errors:
        out.print(line)
    print_agents(audit)
    if not audit.summary:
        return
    summary = Table(title=W["audit_summary"], show_header=True, header_style="bold",
                    title_justify="left")
    for key, justify in (("col_item", "left"), ("col_type", "left"), ("col_missing", "right"),
                         ("col_weak", "right"), ("col_cases", "right")):
        summary.add_column(W[key], justify=justify, overflow="fold")
    for s in audit.summary[:10]:
        # English readers copy ids into `remove = [...]`; Chinese ones read the title.
        title = _flat(s.title) if zh else f"{_flat(s.title)} ({s.item_id})"
        summary.add_row(title, _flat(audit.type_names.get(s.dispute_type, s.dispute_type)),
                        Text(str(s.missing), style="red" if s.missing else ""),
                        Text(str(s.weak), style="yellow" if s.weak else ""), str(s.cases))
    out.print(summary)


def minutes_text(minutes: float | None, lang: str) -> str:
    if minutes is None:
        return "—"
    W = words(lang)
    if minutes < 90:
        return W["minutes"].format(f"{minutes:.0f}")
    return W["hours"].format(f"{round(minutes / 60, 1):g}")


def print_agents(audit) -> None:
    """Per agent: cases, gaps, overdue, chat conduct, reply times against the targets."""
    if not audit.agents:
        return
    lang = audit.lang
    W = words(lang)
    table = Table(title=W["agents_title"], title_justify="left", show_header=True,
                  header_style="bold")
    for key in ("col_agent", "col_cases", "col_incomplete", "col_overdue", "col_rude",
                "col_off_platform", "col_first_reply", "col_median_reply", "col_failing"):
        table.add_column(W[key], overflow="fold",
                         justify="left" if key in ("col_agent", "col_failing") else "right")
    for a in audit.agents:
        def reply(minutes):
            style = {"good": "green", "slow": "yellow", "late": "red"}.get(a.grade(minutes), "")
            return Text(minutes_text(minutes, lang), style=style)

        table.add_row(_flat(a.agent or W["unassigned"]), str(a.cases),
                      Text(str(a.incomplete), style="red" if a.incomplete else ""),
                      Text(str(a.overdue), style="bold red" if a.overdue else ""),
                      Text(str(a.rude), style="red" if a.rude else ""),
                      Text(str(a.off_platform), style="red" if a.off_platform else ""),
                      reply(a.first_reply_minutes), reply(a.median_reply_minutes),
                      _flat(W["join"].join(a.failing)))
    out = console()
    out.print(table)
    first = audit.agents[0]
    out.print(Text(W["reply_targets"].format(target=minutes_text(first.target_minutes, lang),
                                             platform=minutes_text(first.platform_minutes, lang)),
                   style="dim"))


# --- batch and verify -------------------------------------------------------------------

_BATCH_STYLE = {"built": "green", "incomplete": "yellow", "skipped": "dim", "failed": "bold red",
                "error": "red"}


class BatchProgress:
    """Batch progress on stderr: a rich bar on a terminal, else one plain line per case."""

    def __init__(self, bar: bool | None = None, lang: str = "en"):
        import sys

        self.W, self.lang = words(lang), lang
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
        W = self.W
        width = len(str(self.total))
        reason = translate(row.reason, self.lang) if row.reason else ""
        detail = reason
        if row.status in ("built", "incomplete", "skipped") and row.pages:
            detail = W["batch_pages"].format(n=row.pages) + \
                (W["batch_seconds"].format(s=f"{row.seconds:.1f}") if row.seconds else "") + \
                (W["join"] + reason if reason else "")
        name = _flat(row.case_id or W["batch_row"].format(n=row.row))
        return f"[{self.done:>{width}}/{self.total}] {name} {W['batch_' + row.status]}" + \
            (W["batch_detail"].format(_flat(detail)) if detail else "")

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


def print_batch(report, lang: str = "en") -> None:
    """The end-of-run summary: every row that needs a look, then the counts."""
    out = console()
    W = words(lang)
    attention = [r for r in report.rows if r.status in ("failed", "error")
                 or r.complete is False or r.notes]
    if attention:
        table = _table(W["col_row"], W["col_case"], W["col_status"], W["col_reason"])
        for r in attention:
            text = W["join"].join(translate(t, lang) for t in filter(None, [r.reason, *r.notes]))
            table.add_row(str(r.row), _flat(r.case_id),
                          Text(W["batch_" + r.status], style=_BATCH_STYLE[r.status]), _flat(text))
        out.print(table)
    out.soft_wrap = True
    s = report.summary
    shard = W["batch_shard"].format(shard=report.shard, other=s["other_shards"]) \
        if report.shard else ""
    out.print(Text(W["batch_summary"].format(shard=shard, seconds=f"{report.seconds:.1f}",
                                             jobs=report.jobs, **s), style="bold"))
    out.print(Text(W["batch_out"].format(path=_flat(report.out))))


def print_verify(report, lang: str = "en") -> None:
    from evidencepack.messages import translate, words

    W = words(lang)
    out = console()
    out.soft_wrap = True  # paths and hashes stay whole on one line
    word = W["verify_" + report.status]
    out.print(Text(f"{_flat(report.pdf)}: {word}", style="bold green" if report.ok else "bold red"))
    if report.case_id:
        out.print(W["verify_case"].format(case=_flat(report.case_id),
                                          generated=_flat(report.generated_at),
                                          digest=_flat(report.input_digest)))
    out.print(W["verify_pdf"].format(sha=report.pdf_sha256) +
              (W["verify_against"].format(file=_flat(report.manifest_file))
               if report.manifest_file else ""))
    if report.case_dir:
        out.print(W["verify_folder"].format(
            dir=_flat(report.case_dir), n=report.checked_files, changed=len(report.changed),
            missing=len(report.missing), added=len(report.added)))
    for check in report.verified:
        out.print(Text(W["verify_verified"] + _flat(translate(check, lang)), style="green"))
    for problem in report.problems:
        out.print(Text(_flat(translate(problem, lang)), style="red"))
    for note in report.notes:
        out.print(Text(W["verify_note"] + _flat(translate(note, lang)), style="dim"))


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
