"""The lead's view: an agent per case, per-agent figures, nested roots, broken
cases still on the list with their deadlines, and a history of audits."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

from click.testing import CliRunner

from conftest import SAMPLES, make_case
from evidencepack.cli import cli

NOW = "2024-03-13T09:00:00+08:00"
RUDE_CHAT = """\
2024-03-12 10:15:32 小王爱购物
你好，收到的衣服颜色和图片不一样
2024-03-12 10:45:32 杭州好物旗舰店:小美
你自己眼瞎吧，爱买不买
2024-03-12 10:50:00 小王爱购物
加我微信说吧 wx123456
2024-03-12 12:50:00 杭州好物旗舰店:小美
好的
"""


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "160"})


def _team(tmp_path):
    root = tmp_path / "cases"
    make_case(root / "小美", case_id="TB-MEI-1", chat=RUDE_CHAT)           # agent from its folder
    make_case(root, case_id="TB-CHAT-1")                                  # agent from the chat
    make_case(root, case_id="TB-TOML-1", photos=0)
    toml = root / "TB-TOML-1" / "case.toml"
    toml.write_text('assignee = "阿伟"\n' + toml.read_text(encoding="utf-8"), encoding="utf-8")
    return root


def test_agents_come_from_case_toml_the_agent_folder_or_the_chat(tmp_path):
    root = _team(tmp_path)
    data = json.loads(run("audit", root, "--json", "--now", NOW, "--no-history").stdout)
    agents = {c["case_id"]: (c["assignee"], c["assignee_source"]) for c in data["cases"]}
    assert agents == {"TB-MEI-1": ("小美", "folder"), "TB-CHAT-1": ("小美", "chat"),
                      "TB-TOML-1": ("阿伟", "case.toml")}


def test_per_agent_figures_against_the_reply_targets(tmp_path):
    root = _team(tmp_path)
    data = json.loads(run("audit", root, "--json", "--now", NOW, "--no-history").stdout)
    by = {a["agent"]: a for a in data["agents"]}
    mei, wei = by["小美"], by["阿伟"]
    assert (mei["cases"], wei["cases"]) == (2, 1)
    assert wei["incomplete"] == 1 and wei["failing"]  # no photos: the preship item fails
    assert mei["rude"] == 1 and mei["off_platform"] == 1
    # TB-MEI-1 waits 30 min then 120 min; TB-CHAT-1 (conftest's chat) 0.5 min.
    assert mei["first_reply_minutes"] == 15.2 and mei["replies"] == 3
    assert mei["median_reply_minutes"] == 30
    assert mei["target_minutes"] == 120 and mei["platform_minutes"] == 1440
    assert data["reply_targets"]["source"].startswith("seeds/001_")
    out = run("audit", root, "--lang", "zh", "--now", NOW, "--no-history").stdout
    assert "按客服统计" in out and "阿伟" in out and "回复时间目标：2 小时以内" in out


def test_a_case_with_a_deleted_captioned_photo_keeps_its_deadlines(tmp_path):
    root = tmp_path / "cases"
    shutil.copytree(SAMPLES / "colour-mismatch", root / "colour-mismatch")
    make_case(root, case_id="TB-OK")
    (root / "colour-mismatch" / "preship" / "IMG_20240309_150200.jpg").unlink()
    for command in ("queue", "audit"):
        result = run(command, root, "--json", "--now", NOW, *(["--no-history"] if command == "audit" else []))
        rows = json.loads(result.stdout)["cases"]
        broken = next(r for r in rows if r["case_id"] == "TB-20240312-0001")
        assert "IMG_20240309_150200.jpg" in broken["error"]
        assert broken["next_deadline"] == "respond_by" and broken["hours_left"] == 25.2
    out = run("queue", root, "--lang", "zh", "--now", NOW).stdout
    line = next(line for line in out.splitlines() if "TB-20240312-0001" in line)
    assert "卖家处理截止 03-14 10:15" in line and "25 小时" in line


def test_audit_history_is_kept_and_drawn_as_a_trend(tmp_path):
    root = _team(tmp_path)
    cache = tmp_path / "cache"
    env = {"EVIDENCEPACK_CACHE": str(cache), "COLUMNS": "160"}
    for now in ("2024-03-12T09:00:00+08:00", NOW, NOW):
        result = CliRunner().invoke(cli, ["audit", str(root), "--json", "--now", now], env=env)
        assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)["history"]
    assert [p["at"] for p in history] == ["2024-03-12T09:00:00+08:00", NOW]  # same now: replaced
    with sqlite3.connect(cache / "audit-history.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM audits").fetchone() == (2,)
    from evidencepack.team.index import INDEX_FILE
    assert (cache / INDEX_FILE).exists() and INDEX_FILE != "audit-history.sqlite"  # beside it


# --- the dashboard in a browser ----------------------------------------------------------

from test_audit import _chromium, dom, needs_chromium  # noqa: E402  (one browser harness)

GREEN = (0x2e, 0x7d, 0x32)  # the trend's completeness line (templates/audit.html.j2)


def _shot(html, tmp_path, name):
    from PIL import Image

    png = tmp_path / f"{name}.png"
    done = _chromium(tmp_path, "--window-size=1400,1800", f"--screenshot={png}", html.as_uri())
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    with Image.open(png) as img:
        assert img.size == (1400, 1800)
        rgb = img.convert("RGB")
        return sum(n for n, colour in rgb.getcolors(maxcolors=1 << 24)
                   if all(abs(a - b) <= 12 for a, b in zip(colour, GREEN)))


@needs_chromium
def test_dashboard_shows_agents_and_the_trend_in_a_browser(tmp_path):
    root = _team(tmp_path)
    env = {"EVIDENCEPACK_CACHE": str(tmp_path / "cache")}
    one, two = tmp_path / "one.html", tmp_path / "two.html"
    CliRunner().invoke(cli, ["audit", str(root), "--lang", "zh", "--now", "2024-03-12T09:00:00+08:00",
                             "--html", str(one)], env=env)
    result = CliRunner().invoke(cli, ["audit", str(root), "--lang", "zh", "--now", NOW,
                                      "--html", str(two)], env=env)
    assert result.exit_code == 0, result.output
    html = two.read_text(encoding="utf-8")
    assert 'class="complete" points="' in html and "CST" not in html
    assert "北京时间（UTC+8）" in html and "按客服统计" in html
    page = dom(two, tmp_path)
    assert len(page.cases) == 3 and {"svg", "polyline"} <= page.tags
    assert "历次审计趋势" in "".join(page.text) and "小美" in "".join(page.text)
    assert "只有这一次审计" in one.read_text(encoding="utf-8")
    # The drawn page: the trend's line is there in the second audit, not in the first.
    assert _shot(two, tmp_path, "two") > _shot(one, tmp_path, "one") + 300


def test_csv_in_chinese_is_spreadsheet_friendly(tmp_path):
    import csv
    import io

    root = _team(tmp_path)
    out = tmp_path / "a.csv"
    result = run("audit", root, "--now", NOW, "--no-history", "--csv", out, "--csv-lang", "zh")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    header = list(rows[0])
    assert "描述不符·发货前实物照片（同一件商品，清晰、多角度）" in header
    assert not [h for h in header if re.search(r"[a-z]+_[a-z]+|\.", h)], header
    mei = next(r for r in rows if r["案件编号"] == "TB-MEI-1")
    assert mei["客服"] == "小美" and mei["平台"] == "淘宝" and mei["争议类型"] == "描述不符"
    assert mei["证据完整"] in ("是", "否") and mei["完整度（%）"] == "100"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", mei["卖家处理截止时间"])
    assert float(mei["剩余小时"]) == 25.2 and mei["不当用语条数"] == "1"
    cells = {v for r in rows for v in r.values()}
    assert not cells & {"true", "false", "1.000", "met", "missing", "overdue"}
    assert run("audit", root, "--csv", out, "--csv-lang", "fr").exit_code == 2


def test_the_export_s_agent_column_fills_assignee(tmp_path):
    from evidencepack.team.export import CASE_KEYS, read_export

    export = tmp_path / "export.csv"
    export.write_text("退款编号,订单编号,客服\nR1,3817264530012345678,小美\n", encoding="utf-8")
    rows = read_export(export).rows
    assert rows[0].values["assignee"] == "小美" and CASE_KEYS["assignee"] == "assignee"
