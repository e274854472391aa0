"""Everything printed from input is printed as written: no rich markup, no emoji
codes, no control characters reach the terminal (issue: hostile inputs, round two).
docs/bad-input.md lists these cases."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner
from pypdf import PdfWriter

from evidencepack.cli import cli
from tests.conftest import NOW, make_case

MARKUP = "[conceal]HIDDEN:smile:"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], color=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "internal error" not in result.output and "Traceback" not in result.output
    return result


def test_queue_prints_a_case_id_with_markup_literally(tmp_path):
    root = tmp_path / "cases"
    case = make_case(root, case_id="MARK-1", photos=0)
    toml = case / "case.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'case_id = "MARK-1"', f'case_id = "{MARKUP}"'), encoding="utf-8")
    for command in ("queue", "audit"):
        out = run(command, root, "--now", NOW, "--lang", "en").stdout
        assert "[conceal]HIDDEN" in out and ":smile:" in out, (command, out)
        assert "\x1b]8;" not in out and "\x1b[8m" not in out  # no OSC-8 link, no concealed text


def test_check_prints_warnings_with_markup_and_escapes_literally(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    (case / "tracking" / "page.txt").write_text(
        f"{MARKUP} \x1b[2J\n2024-03-10 12:00:00\n【杭州市】正在派件\n", encoding="utf-8")
    out = run("check", case, "--now", NOW, "--lang", "en").stdout
    assert "[conceal]HIDDEN" in out
    assert "\x1b[2J" not in out and "\\x1b[2J" in out


def test_verify_prints_manifest_values_literally(tmp_path):
    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.add_attachment("manifest.json", json.dumps({
        "inputs": [], "case_id": MARKUP, "generated_at": "[/bold]", "input_digest": "[/]"}).encode())
    buf = io.BytesIO()
    w.write(buf)
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(buf.getvalue())
    result = run("verify", pdf)
    assert result.exit_code != 3
    assert "[conceal]HIDDEN" in result.stdout and "[/bold]" in result.stdout


def test_batch_summary_keeps_markup_in_an_export_row(tmp_path):
    root = tmp_path / "cases"
    make_case(root, case_id="GOOD-1", photos=0)
    export = tmp_path / "export.csv"
    export.write_text("退款编号,订单编号,申请时间,退款原因,退款金额\n"
                      "[bold]NOPE,1,2024-03-12 10:15:00,颜色不符,1.00\n"
                      "GOOD-1,2,2024-03-12 10:15:00,颜色不符,1.00\n", encoding="utf-8")
    result = run("batch", export, "--cases-root", root, "--out", tmp_path / "out", "-j", "1")
    assert "[bold]NOPE" in result.stdout
    assert "2 rows" in result.stdout  # the summary line survives
