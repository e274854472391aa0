"""Broken and hostile case folders: each is that case's problem, never the others'.

A symlink loop, a deeply nested case.toml, a year-1 or year-9999 date, a
case.toml that links out of its folder: `check` names the file (exit 2, or a
warning), and `queue`, `audit` and `batch` report the case as its own error row
while every other case is still reported. Paths in case.toml, the image cache
and `init` never reach outside the case. docs/bad-input.md lists the outcomes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from tests.conftest import CHAT, NOW, make_case, tree_digest


def run(*args, env=None):
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def _with_toml(case: Path, old: str, new: str) -> Path:
    toml = case / "case.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new), encoding="utf-8")
    return case


OPENED = "opened_at = 2024-03-12T10:15:00+08:00"


def _loop(root):
    case = make_case(root, case_id="LOOP-1", photos=0)
    os.symlink("b", case / "chat" / "a")
    os.symlink("a", case / "chat" / "b")
    return case


def _nested(root):
    case = make_case(root, case_id="NEST-1", photos=0)
    with open(case / "case.toml", "a", encoding="utf-8") as fh:
        fh.write("deep = " + "[" * 5000 + "]" * 5000 + "\n")
    return case


def _year(year):
    def make(root):
        return _with_toml(make_case(root, case_id=f"Y{year}", photos=0), OPENED,
                          f"opened_at = {year}-12-31T20:00:00+08:00")
    return make


def _toml_link_out(root):
    case = root / "LINK-1"
    case.mkdir(parents=True)
    outside = make_case(root.parent / "elsewhere", case_id="SECRET-1", photos=0)
    os.symlink(outside / "case.toml", case / "case.toml")
    return case


def _toml_self_loop(root):
    case = root / "SELF-1"
    case.mkdir(parents=True)
    os.symlink("case.toml", case / "case.toml")
    return case


# case maker -> (check's exit code, None: analysed (0 or 1); the stderr line or warning)
BROKEN = {
    "symlink loop in chat/": (_loop, None, "chat/a: symlink is a loop or dangles; not included"),
    "case.toml nested 5000 deep": (_nested, 2, "case.toml: not valid TOML: nested too deeply"),
    "opened_at in year 1": (_year("0001"), 2, "case.toml: opened_at: year 1 is outside 1990-2100"),
    "opened_at in year 9999": (_year("9999"), 2, "case.toml: opened_at: year 9999 is outside 1990-2100"),
    "case.toml symlinked out of the folder": (_toml_link_out, 2, "case.toml: case.toml is a "
                                              "symlink that leads outside the case folder (or loops)"),
    "case.toml a symlink to itself": (_toml_self_loop, 2, "case.toml: case.toml is a symlink "
                                      "that leads outside the case folder (or loops)"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_names_the_broken_case_file(tmp_path, name):
    make, code, text = BROKEN[name]
    case = make(tmp_path / "cases")
    result = run("check", case, "--json", "--now", NOW)
    assert result.exit_code == code if code else result.exit_code in (0, 1), result.output
    if code == 2:
        assert len(result.stderr.splitlines()) == 1 and text in result.stderr
        assert "internal error" not in result.stderr
    else:
        assert f"{text}" in json.loads(result.stdout)["warnings"]


@pytest.fixture(scope="module")
def mixed_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed") / "cases"
    make_case(root, case_id="GOOD-1", photos=1)
    made = {name: make(root) for name, (make, _, _) in BROKEN.items()}
    return root, made


def test_queue_and_audit_report_every_case(mixed_root):
    root, made = mixed_root
    before = tree_digest(root)
    for command in ("queue", "audit"):
        result = run(command, root, "--json", "--now", NOW)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["schema"] == f"evidencepack.{command}/1"
        rows = data["cases"]
        by_dir = {Path(r["case_dir"]).name: r for r in rows}
        assert set(by_dir) == {"GOOD-1", *(p.name for p in made.values())}
        assert by_dir["GOOD-1"]["error"] is None and by_dir["LOOP-1"]["error"] is None
        for name, (_, code, text) in BROKEN.items():
            if code == 2:
                assert text in by_dir[made[name].name]["error"], (command, name)
    text = run("queue", root, "--now", NOW).stdout
    assert "GOOD-1" in text and "internal error" not in text
    assert tree_digest(root) == before


def test_batch_reports_every_row(mixed_root, tmp_path):
    root, made = mixed_root
    ids = ["GOOD-1", *(p.name for p in made.values())]
    export = tmp_path / "export.csv"
    export.write_text("退款编号,订单编号,申请时间,退款原因,退款金额\n" + "".join(
        f"{i},{n},2024-03-12 10:15:00,颜色不符,1.00\n" for n, i in enumerate(ids, 1)),
        encoding="utf-8")
    report = tmp_path / "report.json"
    result = run("batch", export, "--cases-root", root, "--out", tmp_path / "out", "-j", "1",
                 "--generated-at", "2024-03-13T09:30:00+08:00", "--report", report)
    assert result.exit_code == 3, result.output  # some failed: documented exit code
    rows = {r["case_id"]: r for r in json.loads(report.read_text(encoding="utf-8"))["rows"]}
    assert rows["GOOD-1"]["status"] in ("built", "incomplete") and rows["GOOD-1"]["pdf"]
    assert rows["LOOP-1"]["status"] in ("built", "incomplete")
    for case_id in ("NEST-1", "Y0001", "Y9999"):
        assert rows[case_id]["status"] == "failed" and "internal error" not in rows[case_id]["reason"]


# --- paths that would leave the case ------------------------------------------------------------

@pytest.mark.parametrize("value", ["/etc", "../elsewhere", "sub/../../x"])
def test_checklists_folder_outside_the_case_is_refused(tmp_path, value):
    case = make_case(tmp_path / "cases", photos=0, extra_toml="")
    _with_toml(case, 'dispute_type = "not_as_described"\n',
               f'dispute_type = "not_as_described"\nchecklists = "{value}"\n')
    result = run("check", case, "--now", NOW)
    assert result.exit_code == 2
    assert "checklists: the checklists folder points outside the case folder" in result.stderr


def test_a_fifo_in_a_checklists_folder_is_never_waited_on(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    (case / "mine").mkdir()
    os.mkfifo(case / "mine" / "not_as_described.toml")
    _with_toml(case, 'dispute_type = "not_as_described"\n',
               'dispute_type = "not_as_described"\nchecklists = "mine"\n')
    result = run("check", case, "--now", NOW)  # would hang reading the FIFO
    assert result.exit_code == 2
    assert "not_as_described.toml: not a regular file" in result.stderr


def test_init_never_writes_through_a_dangling_symlink(tmp_path):
    case = tmp_path / "new-case"
    case.mkdir()
    target = tmp_path / "victim.txt"
    os.symlink(target, case / "case.toml")
    result = run("init", case, "--type", "not_as_described")
    assert result.exit_code == 2
    assert "case.toml already exists; not overwriting it" in result.stderr
    assert not target.exists()


def test_cache_inside_the_case_is_refused(tmp_path):
    case = make_case(tmp_path / "cases", photos=1)
    before = tree_digest(case)
    result = run("build", case, "-o", tmp_path / "p.pdf", "--now", NOW,
                 env={"EVIDENCEPACK_CACHE": str(case / "other" / "cache")})
    assert result.exit_code == 2
    assert "the image cache (EVIDENCEPACK_CACHE) lies inside the case folder" in result.stderr
    assert tree_digest(case) == before and not (case / "other" / "cache").exists()


def test_now_outside_the_years_a_dispute_has_is_exit_2(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    for value in ("0001-01-01T00:00:00", "9999-12-31T23:00:00+08:00"):
        result = run("check", case, "--now", value)
        year = int(value[:4])
        assert result.exit_code == 2 and f"year {year} is outside 1990-2100" in result.stderr


@pytest.mark.parametrize("amount", ['"-399.00"', '"-0.01"'])
def test_a_negative_amount_is_refused(tmp_path, amount):
    case = _with_toml(make_case(tmp_path / "cases", photos=0), 'amount = "399.00"',
                      f"amount = {amount}")
    result = run("check", case, "--now", NOW)
    assert result.exit_code == 2
    assert "amount: must be an amount of zero or more" in result.stderr


def test_images_inside_the_case_is_refused_before_any_pdf_is_written(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    before = tree_digest(case)
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--images", case / "other" / "pages")
    assert result.exit_code == 2 and "--images would write inside the case folder" in result.stderr
    assert not out.exists() and tree_digest(case) == before


@pytest.mark.parametrize("year", ["0001", "9999"])
def test_chat_and_tracking_times_in_year_1_or_9999_are_skipped_with_a_warning(tmp_path, year):
    """Only case.toml's dates were tried in the issue; the same years in a chat header or
    a tracking row are that line's warning, and the case is still judged."""
    case = make_case(tmp_path / "cases", photos=0,
                     chat=CHAT + f"{year}-12-31 23:59:59 小王爱购物\n你好\n")
    (case / "tracking" / "t.csv").write_text(
        f"time,location,description\n{year}-01-01 00:10:00,杭州,签收\n", encoding="utf-8")
    result = run("check", case, "--json", "--now", NOW)
    assert result.exit_code in (0, 1), result.output
    warnings = json.loads(result.stdout)["warnings"]
    y = int(year)
    assert any(w.startswith("chat/千牛聊天记录.txt:") and f"(year {y} is outside 1990-2100); "
               "message skipped" in w for w in warnings), warnings
    assert f"tracking/t.csv:2: row has no readable time ('{year}-01-01 00:10:00'); skipped" \
        in warnings
