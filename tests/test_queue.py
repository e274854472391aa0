"""`evidencepack queue`: the agent's to-do list, most urgent first."""

from __future__ import annotations

import json

from click.testing import CliRunner

from evidencepack.cli import cli
from tests.conftest import make_case


def test_queue_orders_by_urgency_and_keeps_broken_cases(tmp_path):
    root = tmp_path / "cases"
    make_case(root, case_id="A-LATER")
    urgent = make_case(root, case_id="B-URGENT")
    text = (urgent / "case.toml").read_text(encoding="utf-8")
    (urgent / "case.toml").write_text(text.replace("opened_at = 2024-03-12T10:15:00+08:00",
                                                   "opened_at = 2024-03-11T10:15:00+08:00"),
                                      encoding="utf-8")
    make_case(root, case_id="C-INCOMPLETE", listing=False)
    broken = root / "D-BROKEN"
    broken.mkdir()
    (broken / "case.toml").write_text("case_id = \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["queue", str(root), "--json",
                                      "--now", "2024-03-12T12:00:00+08:00"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema"] == "evidencepack.queue/1"
    rows = data["cases"]
    # The broken case first (someone must fix it), then by time left; ties by folder.
    assert [r["case_id"] for r in rows] == [None, "B-URGENT", "A-LATER", "C-INCOMPLETE"]
    assert "not valid TOML" in rows[0]["error"]
    urgent_row = rows[1]
    assert urgent_row["status"] == "due_24h" and urgent_row["hours_left"] == 22.2
    by_id = {r["case_id"]: r for r in rows}
    assert by_id["C-INCOMPLETE"]["complete"] is False
    assert by_id["C-INCOMPLETE"]["first_missing"].startswith("商品详情页截图")
    assert by_id["A-LATER"]["complete"] is True and by_id["A-LATER"]["first_missing"] is None


def test_queue_table_shows_overdue(tmp_path):
    root = tmp_path / "cases"
    make_case(root, case_id="A-1")
    result = CliRunner().invoke(cli, ["queue", str(root), "--lang", "en",
                                      "--now", "2024-03-20T12:00:00+08:00"])
    assert result.exit_code == 0
    assert "A-1" in result.output and "overdue" in result.output


def test_queue_on_missing_root_is_bad_input(tmp_path):
    result = CliRunner().invoke(cli, ["queue", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "cases root is not a folder" in result.output
