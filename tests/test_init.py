"""`init` leads to a finished case: Chinese comments, placeholders `check` reports,
dates that do not fit the order, typos named, Chinese names accepted."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from conftest import CHAT, KUAIDI100, photo
from evidencepack.cli import cli

NOW = "2026-12-02T10:00:00+08:00"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "100"})


def _fill(case, **values):
    text = (case / "case.toml").read_text(encoding="utf-8")
    for key, value in values.items():
        text, n = re.subn(rf'^{key} = "待填写[^"]*"', f"{key} = {value}", text, flags=re.M)
        assert n == 1, key
    (case / "case.toml").write_text(text, encoding="utf-8")


def _evidence(case):
    (case / "chat" / "千牛聊天记录.txt").write_text(CHAT, encoding="utf-8")
    (case / "tracking" / "kuaidi100.json").write_text(json.dumps(KUAIDI100, ensure_ascii=False),
                                                     encoding="utf-8")
    for i in range(3):
        photo(case / "preship" / f"IMG_{i}.jpg", when=f"2024:03:09 15:02:0{i}", seed=i)


def test_init_writes_chinese_comments_and_placeholders_keep_the_case_incomplete(tmp_path):
    case = tmp_path / "TB-1"
    result = run("init", case, "--type", "质量问题")
    assert result.exit_code == 0, result.output
    assert "已创建" in result.stdout
    text = (case / "case.toml").read_text(encoding="utf-8")
    assert 'dispute_type = "quality_defect"' in text
    comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
    # Every comment in words is Chinese; the rest are commented-out keys to copy.
    english = [c for c in comments if not re.search(r"[\u4e00-\u9fff]", c)
               and not re.match(r"\s*(\[\[?\w+\]\]?|\w+ = \S+)\s*$", c)]
    assert english == [] and len(comments) > 20
    _evidence(case)
    result = run("check", case, "--now", NOW, "--lang", "zh")
    assert result.exit_code == 1
    out = result.stdout.replace("\n", "").replace("│", "").replace(" ", "")
    assert "仍是占位内容" in out and "订单编号" in out and "金额" in out
    assert "尚不能计算" in out  # no deadline counted from a placeholder
    data = json.loads(run("check", case, "--now", NOW, "--json").stdout)
    assert data["items"][0]["id"] == "case_facts" and data["complete"] is False


def test_filled_in_case_loses_the_unfilled_item_and_warns_of_another_case_dates(tmp_path):
    case = tmp_path / "TB-2"
    run("init", case, "--type", "not_as_described")
    _evidence(case)  # chat and tracking from March 2024
    _fill(case, order_id='"3817264530012345678"', ordered_at="2026-11-28T21:40:00",
          opened_at="2026-12-01T10:15:00", amount='"399.00"', nick='"小王"', shop='"好物店"',
          title='"开衫"')
    result = run("check", case, "--now", NOW, "--lang", "zh")
    out = result.stdout.replace("\n", "")
    assert "占位内容" not in out
    assert re.search(r"聊天记录开始于 2024-03-12 10:15，比下单时间（2026-11-28 21:40）早 \d+ 天", out)
    assert "物流记录开始于 2024-03-09" in out and "P1 拍摄于 2024-03-09" in out
    en = run("check", case, "--now", NOW, "--lang", "en").stdout
    assert "is it this case's file?" in en


def test_a_mistyped_key_names_the_typo_and_the_nearest_key(tmp_path):
    case = tmp_path / "TB-3"
    run("init", case, "--type", "not_as_described")
    text = (case / "case.toml").read_text(encoding="utf-8").replace("\namount = ", "\namout = ")
    (case / "case.toml").write_text(text, encoding="utf-8")
    result = run("check", case, "--now", NOW)
    assert result.exit_code == 2
    assert result.stderr == (f"evidencepack: error: {case / 'case.toml'}: unknown key amout "
                             "(did you mean amount?); see `evidencepack init` for the known keys\n")
    result = run("check", case, "--now", NOW, "--lang", "zh")
    assert "未知的键 amout（是否想写 amount？）" in result.stderr


def test_chinese_type_and_platform_names_and_near_misses(tmp_path):
    result = run("init", tmp_path / "a", "--type", "质量", "--platform", "天猫")
    assert result.exit_code == 2
    assert "unknown dispute type '质量' (did you mean quality_defect (质量问题)?)" in result.stderr
    result = run("init", tmp_path / "b", "--type", "quality_defct", "--platform", "taobo")
    assert result.exit_code == 2 and "did you mean taobao (淘宝)?" in result.stderr
    assert run("init", tmp_path / "c", "--type", "质量问题", "--platform", "天猫").exit_code == 0
    assert 'platform = "tmall"' in (tmp_path / "c" / "case.toml").read_text(encoding="utf-8")
    # In case.toml too: the Chinese name is the type, a near miss is named.
    text = (tmp_path / "c" / "case.toml").read_text(encoding="utf-8")
    (tmp_path / "c" / "case.toml").write_text(
        text.replace('dispute_type = "quality_defect"', 'dispute_type = "质量问题"'), encoding="utf-8")
    assert run("check", tmp_path / "c", "--now", NOW).exit_code == 1
    (tmp_path / "c" / "case.toml").write_text(
        text.replace('dispute_type = "quality_defect"', 'dispute_type = "质量问"'), encoding="utf-8")
    result = run("check", tmp_path / "c", "--now", NOW, "--lang", "zh")
    assert result.exit_code == 2
    assert "未知的争议类型“质量问”：是否想写 quality_defect（质量问题）？" in result.stderr


def test_init_with_an_unknown_time_zone_is_bad_usage(tmp_path):
    result = run("init", tmp_path / "x", "--type", "not_received", "--timezone", "Mars/Base")
    assert result.exit_code == 2
    assert "'Mars/Base' is not a time zone" in result.stderr
    assert not (tmp_path / "x").exists()


def test_english_platform_writes_english_comments(tmp_path):
    assert run("init", tmp_path / "s", "--type", "not_received", "--platform", "stripe").exit_code == 0
    text = (tmp_path / "s" / "case.toml").read_text(encoding="utf-8")
    assert "FILL IN" in text and "待填写" not in text
