"""The command line: parses options, calls the library, prints results.

Errors from the library are mapped to one stderr line and an exit code here,
in one place (``EvidencePackGroup.invoke``).
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from evidencepack import __version__
from evidencepack.errors import EvidencePackError, ExitCode

DEFAULT_TZ = "Asia/Shanghai"
INTERRUPTED = "evidencepack: interrupted; no partial file was left behind"


class EvidencePackGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EvidencePackError as exc:
            from evidencepack.messages import words

            lang = ctx.meta.get("evidencepack.lang")
            click.echo(words(lang)["error_prefix"] + exc.render(lang), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(INTERRUPTED, err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - never show an agent a traceback
            if os.environ.get("EVIDENCEPACK_DEBUG"):
                raise
            message = str(exc).splitlines()[0] if str(exc) else ""
            click.echo(f"evidencepack: internal error: {type(exc).__name__}: {message} "
                       "(set EVIDENCEPACK_DEBUG=1 for details and report it)", err=True)
            ctx.exit(ExitCode.FAILED)


def _parse_time(value: str | None, param: str) -> datetime | None:
    from evidencepack.inputs.times import parse_time

    if value is None:
        return None
    try:
        return parse_time(value, ZoneInfo(os.environ.get("EVIDENCEPACK_TZ", DEFAULT_TZ)))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}, such as 2024-03-12T10:15:00+08:00",
                                 param_hint=param) from None


def _options(lang, now, redact, checklists, jobs=None):
    from evidencepack.options import CheckOptions

    return CheckOptions(lang=lang, now=_parse_time(now, "--now"), redact=redact,
                        checklist_dirs=tuple(checklists or ()), jobs=jobs)


def complete_types(_ctx, _param, incomplete: str):
    from click.shell_completion import CompletionItem
    from evidencepack.judge.checklist import load_checklists

    return [CompletionItem(id_, help=c.name_zh) for id_, c in load_checklists().items()
            if id_.startswith(incomplete) or c.name_zh.startswith(incomplete)]


def complete_platforms(_ctx, _param, incomplete: str):
    from click.shell_completion import CompletionItem
    from evidencepack.judge.profiles import load_profiles

    return [CompletionItem(id_, help=p.name_zh) for id_, p in load_profiles().items()
            if id_.startswith(incomplete) or p.name_zh.startswith(incomplete)]


def _remember_lang(ctx: click.Context, _param, value):
    # Errors are printed by the group, outside the command: it reads the language here.
    if value is not None:
        ctx.meta["evidencepack.lang"] = value
    return value


lang_option = click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                           callback=_remember_lang, is_eager=True, help="Language of labels (default: the platform's, zh for "
                                "Chinese platforms).")
now_option = click.option("--now", metavar="TIME", default=None,
                          help="Fix the clock for deadlines, e.g. 2024-03-13T09:00:00+08:00.")
redact_option = click.option("--redact", is_flag=True,
                             help="Mask phone numbers, ID numbers and addresses in everything "
                                  "shown: chat, tracking, statement, captions, warnings.")
checklists_option = click.option("--checklists", "checklists", multiple=True,
                                 type=click.Path(path_type=Path, file_okay=False),
                                 help="A folder of your own checklist files, layered over the "
                                      "built-ins (repeatable).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
case_arg = click.argument("case_dir", type=click.Path(path_type=Path))


jobs_option = click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                           help="Worker processes (default: the usable cores).")
# A lead scans the most urgent cases; 10,000 rows in a terminal are read by no one
# (and take rich 15 s to lay out). JSON, CSV and HTML always hold every case.
limit_option = click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
                            help="Cases shown in the table, most urgent first (0: all); "
                                 "--json, --csv and --html always hold every case.")


def cases_root_options(command):
    """The arguments every command over a folder of cases shares (queue, audit)."""
    for decorate in reversed([click.argument("cases_root", type=click.Path(path_type=Path)),
                              lang_option, now_option, checklists_option, jobs_option,
                              limit_option, json_option]):
        command = decorate(command)
    return command


@click.group(cls=EvidencePackGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidencepack")
def cli() -> None:
    """Build checklist-checked, timestamped PDF evidence packs for after-sales disputes.

    \b
    A case is a folder: case.toml plus chat/, listing/, preship/, tracking/,
    returns/, reports/ and other/. Typical use:
      evidencepack init CASE_DIR --type not_as_described
      evidencepack check CASE_DIR        # what is missing, how long is left
      evidencepack build CASE_DIR -o pack.pdf
    Exit codes: 0 ok, 1 incomplete / mismatch, 2 bad input, 3 failed.
    """


def _zone_name(_ctx, param, value: str) -> str:
    from zoneinfo import ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{value!r} is not a time zone; use an IANA name such as "
                                 f"{DEFAULT_TZ}", param=param) from None
    return value


@cli.command()
@case_arg
@click.option("--type", "dispute_type", required=True, shell_complete=complete_types,
              help="Dispute type: its id or its Chinese name (see `evidencepack checklists`).")
@click.option("--platform", default="taobao", show_default=True, shell_complete=complete_platforms,
              help="Platform profile: taobao, tmall, jd, pinduoduo, generic, stripe, paypal "
                   "(or its Chinese name, e.g. 淘宝).")
@click.option("--timezone", default=DEFAULT_TZ, show_default=True, callback=_zone_name,
              help="The case's time zone (an IANA name).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, callback=_remember_lang,
              is_eager=True, help="Language of case.toml's comments (default: the platform's).")
def init(case_dir: Path, dispute_type: str, platform: str, timezone: str, lang) -> None:
    """Create a case folder with its sub-folders and a commented case.toml.

    The comments are in the platform's language; the facts are placeholders that
    `check` lists (and that keep the case incomplete) until they are filled in.
    """
    from evidencepack.inputs.case import init_case
    from evidencepack.judge.checklist import load_checklists
    from evidencepack.messages import words
    from evidencepack.names import checklist_names, profile_names, require
    from evidencepack.judge.profiles import load_profiles
    from evidencepack import terminal

    profiles = load_profiles()
    platform = require(platform, profile_names(profiles), "platform",
                       remedy="one of: " + ", ".join(sorted(profiles)))
    lang = lang or profiles[platform].lang
    dispute_type = require(dispute_type, checklist_names(load_checklists()), "dispute type",
                           remedy="see `evidencepack checklists`")
    path = init_case(case_dir, dispute_type=dispute_type, platform=platform, timezone=timezone,
                     lang=lang)
    terminal.console().print(words(lang)["created"].format(path=path), soft_wrap=True)


@cli.command()
@case_arg
@lang_option
@now_option
@redact_option
@checklists_option
@json_option
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write the agent's worksheet (one HTML file): every "
                                 "gap and why, countdowns, chat risks, the statement's problems.")
def check(case_dir: Path, lang, now, redact, checklists, as_json, html_file) -> None:
    """Check a case against its dispute type's checklist.

    Shows what is present (✓), missing (✗) and weak (⚠, with the reason), the
    completeness score, the deadlines with time left, and the next action.
    Exit 0 when every required item is met, 1 when not, 2 on bad input.
    """
    from evidencepack import terminal
    from evidencepack.api import check as check_case
    from evidencepack.pipeline import check_json

    analysis = check_case(case_dir, _options(lang, now, redact, checklists), worksheet=html_file)
    if as_json:
        click.echo(json.dumps(check_json(analysis), ensure_ascii=False, indent=2))
    else:
        terminal.print_check(analysis)
    sys.exit(ExitCode.OK if analysis.report.complete else ExitCode.INCOMPLETE)


def _size(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().upper().replace("IB", "B")
    for suffix, factor in (("KB", 1024), ("MB", 1024 ** 2), ("GB", 1024 ** 3), ("B", 1)):
        if text.endswith(suffix):
            text, mult = text[: -len(suffix)], factor
            break
    else:
        mult = 1
    try:
        return int(float(text) * mult)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size such as 4.5MB or 500KB",
                                 param_hint="--max-size") from None


def _cycle_collector_off(command):
    """For a one-shot command that builds a pack: see render.without_cycle_collection."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from evidencepack.pack.render import without_cycle_collection

        with without_cycle_collection():
            try:
                return command(*args, **kwargs)
            finally:
                # Turning the collector back on would make its next pass walk every
                # object the build left (0.2-0.8 s after a large pack, per py-spy);
                # the process is about to end, so they are set aside instead.
                gc.freeze()
    return wrapper


@cli.command()
@case_arg
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the PDF (default: ./CASE_ID.pdf). Never inside the case.")
@lang_option
@now_option
@redact_option
@checklists_option
@click.option("--generated-at", metavar="TIME", default=None,
              help="Fix the pack's timestamp: same inputs and time give the same PDF.")
@click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None,
              help="A folder whose pack.html.j2 / pack.css / labels.toml override the built-ins.")
@click.option("--max-size", metavar="SIZE", default=None,
              help="Shrink images step by step until the PDF fits, e.g. 4.5MB "
                   "(default: the platform profile's limit, if any).")
@click.option("--attach-originals", is_flag=True,
              help="Embed the original evidence files in the PDF as attachments.")
@click.option("--images", "images_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None,
              help="Also write every page as a JPEG within the platform's image upload limit "
                   "(Taobao/Tmall take images, not PDFs).")
@click.option("--image-limit", type=click.Choice(["message", "refusal"]), default="message",
              show_default=True,
              help="Which limit applies to --images: a refund message image (500 KB on "
                   "Taobao) or the proof attached when refusing a refund (130,000 bytes).")
@click.option("--font", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A TTF, OTF or TTC font with Chinese to set the whole pack in (default: "
                   "an installed CJK font, found through fontconfig).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Threads hashing and preparing photos, and processes laying out a large "
                   "pack (default: the usable cores; 1 does everything in one).")
@json_option
@_cycle_collector_off
def build(case_dir: Path, output, lang, now, redact, checklists, generated_at, templates,
          max_size, attach_originals, images_dir, image_limit, font, jobs, as_json) -> None:
    """Render the case's evidence pack (PDF) and its manifest (JSON) beside it."""
    from evidencepack.api import build as build_case
    from evidencepack.options import BuildOptions

    pack = build_case(case_dir, BuildOptions(
        **_options(lang, now, redact, checklists, jobs).model_dump(), output=output,
        generated_at=_parse_time(generated_at, "--generated-at"), templates=templates,
        max_size=_size(max_size), attach_originals=attach_originals, font=font,
        images_dir=images_dir, image_limit=image_limit))
    analysis, result, plan = pack.analysis, pack.result, pack.plan
    images = plan.images if plan else []
    if as_json:
        click.echo(json.dumps({"schema": "evidencepack.build/1",
                               **result.model_dump(mode="json"), "worksheet": str(pack.worksheet),
                               "images": [i.model_dump(mode="json") for i in images],
                               "images_left_out": plan.left_out if plan else [],
                               "upload_plan": str(plan.plan_file) if plan else None,
                               "complete": analysis.report.complete,
                               "score": analysis.report.score,
                               "warnings": [str(w) for w in analysis.warnings]
                               + result.warnings},
                              ensure_ascii=False, indent=2))
        return
    from evidencepack import terminal

    terminal.print_build(analysis, result, pack.worksheet, plan)


@cli.command()
@case_arg
@lang_option
@now_option
@checklists_option
@json_option
def statement(case_dir: Path, lang, now, checklists, as_json) -> None:
    """Draft the seller's statement (举证说明) from the claims the evidence supports.

    \b
    The draft is calm and factual, names the exhibits behind each claim and
    keeps within the platform's length limit. Edit it, then put it in
    case.toml's statement (a TOML multi-line string). The statement already in case.toml
    is checked too: emotional or accusatory wording, absolutes, claims no
    exhibit supports, length. Exit 0, or 1 when that statement has problems.
    """
    from evidencepack.judge.claims import argue
    from evidencepack.pipeline import analyse
    from evidencepack.judge.statement import draft, review
    from evidencepack import terminal

    analysis = analyse(case_dir, _options(lang, now, False, checklists))
    argument = argue(analysis)
    text, problems = draft(analysis, argument), review(analysis, argument)
    if as_json:
        click.echo(json.dumps({"schema": "evidencepack.statement/1",
                               "case_id": analysis.case.case_id,
                               "draft": text.model_dump(mode="json"),
                               "problems": [p.model_dump(mode="json") for p in problems]},
                              ensure_ascii=False, indent=2))
    else:
        terminal.print_statement(analysis, text, problems)
    sys.exit(ExitCode.INCOMPLETE if any(p.kind != "empty" for p in problems) else ExitCode.OK)


@cli.command("checklists")
@click.argument("dispute_type", required=False, shell_complete=complete_types)
@lang_option
@checklists_option
@json_option
def checklists_cmd(dispute_type, lang, checklists, as_json) -> None:
    """List the dispute types, or show one type's checklist items."""
    from evidencepack.judge.checklist import load_checklists
    from evidencepack.errors import InputError
    from evidencepack import terminal

    lists = load_checklists(list(checklists))
    if dispute_type is None:
        if as_json:
            click.echo(json.dumps({"schema": "evidencepack.checklists/1", "checklists": [
                {"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en, "items": len(c.items)}
                for c in lists.values()]}, ensure_ascii=False, indent=2))
        else:
            terminal.print_checklists(lists, lang or "zh")
        return
    if dispute_type not in lists:
        raise InputError(f"unknown dispute type {dispute_type!r}",
                         remedy="run `evidencepack checklists` for the list")
    if as_json:
        click.echo(json.dumps({"schema": "evidencepack.checklist/1",
                               **lists[dispute_type].model_dump(mode="json")},
                              ensure_ascii=False, indent=2))
    else:
        terminal.print_checklist(lists[dispute_type], lang or "zh")


@cli.command()
@cases_root_options
def queue(cases_root: Path, lang, now, checklists, jobs, limit, as_json) -> None:
    """The to-do list: every case under CASES_ROOT, most urgent first.

    Overdue cases come first, then by time left to the next deadline, each with
    its completeness and first missing item. A broken case shows as an error
    row and does not hide the rest.
    """
    from evidencepack.team.audit import build_audit, queue_json

    # The queue is the audit's rows, which are already sorted most urgent first.
    report = build_audit(cases_root, _options(lang, now, False, checklists), jobs=jobs)
    if as_json:
        click.echo(json.dumps(queue_json(report), ensure_ascii=False, indent=2))
        return
    from evidencepack import terminal

    terminal.print_queue(report.rows, lang or "zh", limit)


@cli.command()
@cases_root_options
@click.option("--csv", "csv_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write a CSV (UTF-8 with BOM, for Excel): one row per "
                                 "case, item columns named <dispute_type>.<item_id>.")
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write one self-contained HTML dashboard (sortable, "
                                 "filterable, no network).")
@click.option("--csv-lang", type=click.Choice(["id", "zh", "en"]), default="id", show_default=True,
              help="The CSV's headers and cells: ids for scripts, or words for a spreadsheet "
                   "(item titles, times Excel reads as times, numbers, 是/否).")
@click.option("--no-history", is_flag=True,
              help="Do not record this audit in the history the dashboard's trend is drawn "
                   "from (audit-history.sqlite in EVIDENCEPACK_CACHE).")
def audit(cases_root: Path, lang, now, checklists, jobs, limit, as_json, csv_file,
          html_file, csv_lang, no_history) -> None:
    """The team lead's report: every case under CASES_ROOT, item by item.

    \b
    Per case: dispute type, completeness, each checklist item's status, every
    deadline with its urgency, and the first missing item; broken cases are
    error rows. Then the checklist items that fail most across the team.
    CSV cells: met, weak, missing, or covered (missing, but its group is met);
    deadline columns are deadline.<name>.at / .status / .hours_left.
    Exit 0 even when cases are incomplete (it is a report), 2 on bad input.
    """
    from evidencepack.team.audit import audit_json, build_audit, check_output, with_history
    from evidencepack.team.dashboard import write_html
    from evidencepack.team.spreadsheet import write_csv

    report = build_audit(cases_root, _options(lang, now, False, checklists), jobs=jobs)
    if not no_history:
        report = with_history(report)
    for path in (csv_file, html_file):
        if path is not None:
            check_output(path, report)
    if csv_file is not None:
        write_csv(report, csv_file, None if csv_lang == "id" else csv_lang)
    if html_file is not None:
        write_html(report, html_file)
    if as_json:
        click.echo(json.dumps(audit_json(report), ensure_ascii=False, indent=2))
        return
    from evidencepack import terminal

    terminal.print_audit(report, limit)
    terminal.print_written([p for p in (csv_file, html_file) if p is not None], report.lang)


@cli.command()
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--cases-root", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder holding one case folder per case.")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Where OUT/<case id>.pdf and .manifest.json go (never inside --cases-root).")
@click.option("--mapping", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A TOML file: [columns] maps another export's headers to our fields, "
                   "[reasons] adds refund reasons -> dispute types.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the usable cores).")
@click.option("--force", is_flag=True, help="Rebuild packs that are up to date.")
@click.option("--shard", metavar="I/N", default=None,
              help="Build only the rows whose case key hashes to shard I of N (1-based).")
@click.option("--generated-at", metavar="TIME", default=None,
              help="Fix every pack's timestamp (default: when the batch started).")
@lang_option
@now_option
@redact_option
@checklists_option
@click.option("--report", "report_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write the JSON report to this file.")
@json_option
def batch(export: Path, cases_root: Path, out: Path, mapping, jobs, force, shard, generated_at,
          lang, now, redact, checklists, report_file, as_json) -> None:
    """Build one pack per row of a refund export (CSV or JSON Lines).

    \b
    Rows name cases by 退款编号/case_id or 订单编号/order_id; each case's folder
    is found under --cases-root, and the export's values fill facts its case.toml
    lacks (case.toml wins where both have one). Packs already up to date are
    skipped. A failing case never stops the others.
    Exit 0 all built and complete, 1 some incomplete, 3 some failed or bad rows,
    2 bad usage (unreadable export, unknown columns), 130 interrupted.
    """
    from evidencepack.team.batch import parse_shard, run_batch
    from evidencepack.errors import InputError
    from evidencepack.inputs.evidence import inside
    from evidencepack import terminal

    the_shard = parse_shard(shard)
    options = _options(lang, now, redact, checklists)
    stamp = _parse_time(generated_at, "--generated-at") or \
        datetime.now(ZoneInfo(os.environ.get("EVIDENCEPACK_TZ", DEFAULT_TZ))).replace(microsecond=0)
    if report_file is not None and inside(cases_root, report_file):
        raise InputError("--report lies inside --cases-root, which is never written to",
                         path=report_file)
    progress = terminal.BatchProgress(lang=options.lang or "en")
    try:
        report = run_batch(export, cases_root, out, options=options,
                           generated_at=stamp, jobs=jobs, force=force, shard=the_shard,
                           mapping=mapping, progress=progress, report_file=report_file)
    finally:
        progress.close()
    data = report.text()
    if as_json:
        click.echo(data)
    else:
        terminal.print_batch(report, options.lang or "en")
        if report_file is not None:
            click.echo(f"report {report_file}")
    if report.interrupted:
        click.echo(INTERRUPTED, err=True)
    sys.exit(report.exit_code)


@cli.command()
@click.argument("pdf", type=click.Path(path_type=Path))
@click.option("--case", "case_dir", type=click.Path(path_type=Path), default=None,
              help="The case folder: list files changed, missing or added since the build.")
@lang_option
@json_option
def verify(pdf: Path, case_dir, lang, as_json) -> None:
    """Check a pack against its manifest and, with --case, against the case's files.

    Prints each check that passed. Exit 0 when everything matches and the PDF's
    own bytes were checked against PACK.manifest.json beside it; 1 on any
    mismatch, or when that manifest is missing (NOT VERIFIED); 2 when PDF is not
    a pack (not a PDF, no embedded manifest).
    """
    from evidencepack.pack.verify import verify_pack
    from evidencepack import terminal

    report = verify_pack(pdf, case_dir)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        terminal.print_verify(report, lang or "en")
    sys.exit(ExitCode.OK if report.ok else ExitCode.INCOMPLETE)


@cli.command("evaluate")
@click.option("--part", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
              help="Which part of the labelled corpus to measure.")
@click.option("--corpus", "corpus", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The corpus folder (default: corpus/ of this repository).")
@lang_option
@json_option
def evaluate_cmd(part, corpus, lang, as_json) -> None:
    """How well the checker judges: precision, recall and support per chat tag.

    \b
    Measured on the labelled corpus (corpus/README.md), for the dev part (rules
    are tuned on it) and the test part (never used to tune). Exit 0 when every
    test figure is at or above its floor (evidencepack/data/eval_floors.toml),
    1 when one is below.
    """
    from evidencepack.judge.evaluate import PARTS, evaluate, floor_failures
    from evidencepack import terminal

    result = evaluate(corpus, PARTS if part == "all" else (part,))
    failures = floor_failures(result)
    if as_json:
        data = result.model_dump(mode="json", by_alias=True)
        data["below_floor"] = [f.model_dump() for f in failures]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        terminal.print_evaluation(result, failures, lang or "zh")
    sys.exit(ExitCode.INCOMPLETE if failures else ExitCode.OK)


def main() -> None:
    try:
        cli(prog_name="evidencepack")
    finally:
        # The process ends here: spare it a last walk of everything a build
        # allocated (a tenth of a second after a large pack).
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
