"""Terminal output an agent can read: in the chosen language, wrapped, whole."""

from __future__ import annotations

import re
import shutil

import pytest

from click.testing import CliRunner

from conftest import SAMPLES, make_case
from evidencepack.cli import cli

NOW = "2026-12-02T10:00:00+08:00"
# What a Chinese screen may show in Latin letters: ids the agent types or matches
# (case ids, exhibit labels, nicks), the commands to run, file and folder names, the zone.
ALLOWED = re.compile(r"evidencepack build|pip install \S+|\S+\.(?:txt|csv|json|jpg|png|pdf)\b|[A-Za-z]+/|"
                     r"UTC[+−-]\d+|[A-Z]{2}-\d{8}-\d{4}|\b[A-Z]\d+\b")


def _run(*args, columns=80):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": str(columns)})


def _english(text: str) -> list[str]:
    return re.findall(r"[A-Za-z_]{2,}", ALLOWED.sub("", text))


def _step(out: str) -> str:
    """The next step, its wrapped lines joined (a wrap after a Latin word leaves a space)."""
    return "".join(out[out.index("下一步："):].splitlines()).replace(" ", "")


def _column(text: str, index: int) -> str:
    """One column of a rich table, its folded lines joined back together."""
    cells = [line.split("│")[index] for line in text.splitlines() if line.count("│") > index]
    return "".join(c.strip() for c in cells)


@pytest.mark.parametrize("sample", ["not-received", "colour-mismatch", "transit-damage"])
@pytest.mark.parametrize("now", [NOW, "2024-03-13T09:00:00+08:00"])  # the second warns of dates
def test_zh_check_at_80_columns_has_no_id_and_no_english_word(sample, now):
    result = _run("check", SAMPLES / sample, "--lang", "zh", "--now", now)
    assert result.exit_code in (0, 1), result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert not re.search(r"[a-z]+_[a-z_]+", ALLOWED.sub("", out)), out
    assert _english(out) == [], out
    assert "北京时间（UTC+8）" in out and "CST" not in out and "…" not in out


def test_zh_levels_and_statuses_are_words():
    out = _run("check", SAMPLES / "not-received", "--lang", "zh", "--now", NOW).stdout
    assert "至少一项" in out and "已逾期" in out and "必需" in out


def test_long_chinese_reason_is_printed_whole_at_80_columns():
    result = _run("check", SAMPLES / "not-received", "--lang", "zh", "--now", NOW)
    notes = _column(result.stdout, 4)
    assert "聊天记录中没有“买家同意他人代收/放驿站”类消息（需要1条，现有0条）" in notes.replace(" ", "")


def test_piped_output_is_120_columns_without_columns_set():
    result = CliRunner().invoke(cli, ["check", str(SAMPLES / "not-received"), "--lang", "zh",
                                      "--now", NOW], env={"COLUMNS": None})
    assert max(len(line) for line in result.stdout.splitlines()) <= 120
    assert "…" not in result.stdout


def test_zh_warnings_and_errors_are_chinese(tmp_path):
    case = make_case(tmp_path / "cases")
    (case / "misc").mkdir()
    (case / "misc" / "a.txt").write_text("x", encoding="utf-8")
    result = _run("check", case, "--lang", "zh", "--now", NOW)
    assert "提示：misc：未知的文件夹，其中的文件按“其他材料”计" in result.stdout.replace("\n", "")
    result = _run("check", tmp_path / "nowhere", "--lang", "zh")
    assert result.exit_code == 2
    assert result.stderr == f"evidencepack：错误：{tmp_path / 'nowhere'}：案件文件夹不存在\n"


def test_zh_queue_shows_statuses_in_chinese(tmp_path):
    root = tmp_path / "cases"
    shutil.copytree(SAMPLES / "not-received", root / "not-received")
    result = _run("queue", root, "--lang", "zh", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "overdue" not in result.stdout and "未收到货" in result.stdout
    assert "not_received" not in result.stdout


def test_next_step_names_the_weak_file_its_label_and_what_is_wrong(tmp_path):
    from PIL import Image

    # A type without listing items: its first weak required item is the photos.
    case = make_case(tmp_path / "cases", dispute_type="damaged_in_transit", listing=False)
    Image.new("RGB", (300, 200), (3, 3, 3)).save(case / "preship" / "微信图片_20240309.jpg")
    result = _run("check", case, "--lang", "zh", "--now", "2024-03-13T09:00:00+08:00",
                  columns=200)
    step = _step(result.stdout)
    assert step.startswith("下一步：改进：发货前包装照片")
    assert "P4（preship/微信图片_20240309.jpg）" in step
    assert "几乎全黑" in step and "分辨率300×200" in step
    assert step.count("preship/微信图片_20240309.jpg") == 1  # the file is named once


def test_next_step_names_the_folder_a_missing_item_goes_in():
    result = _run("check", SAMPLES / "not-received", "--lang", "zh", "--now", NOW, columns=200)
    step = _step(result.stdout)
    assert step == ("下一步：补充：签收底单（代签、驿站代收时），放入reports/或tracking/或"
                    "other/。现状：需要至少1份签收底单，现有0份")
    en = _run("check", SAMPLES / "not-received", "--lang", "en", "--json", "--now", NOW)
    import json

    assert json.loads(en.stdout)["next_action"].startswith("Add: ")
    assert ", in reports/ or tracking/ or other/. Now: needs at least 1" in \
        json.loads(en.stdout)["next_action"]


def test_message_catalogue_entries_fill_every_placeholder_from_their_pattern():
    import string
    import tomllib

    from evidencepack.messages import MESSAGES_FILE

    data = tomllib.loads(MESSAGES_FILE.read_text(encoding="utf-8"))
    assert set(data["zh"]) == set(data["en"])  # the same words in both languages
    for entry in data["message"]:
        groups = set(re.compile(entry["en"]).groupindex)
        fields = {f for _, f, _, _ in string.Formatter().parse(entry["zh"]) if f}
        assert fields <= groups, entry["en"]
        assert re.search(r"[\u4e00-\u9fff]", entry["zh"]), entry["en"]
