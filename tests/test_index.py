"""The case index: `queue` and `audit` re-read a case folder only when it changed.

Each test gets its own cache (so its own index) and counts the cases actually
read by wrapping ``audit.analyse``; the outputs are compared with a run on an
empty cache, which is what the index must never differ from.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.team import audit
from evidencepack.cli import cli
from tests.conftest import KUAIDI100, make_case

NOW = "2024-03-13T09:00:00+08:00"
LATER = "2024-03-20T09:00:00+08:00"


@pytest.fixture
def reads(monkeypatch, tmp_path):
    """The folder names read (not taken from the index) in this test, run by run."""
    monkeypatch.setenv("EVIDENCEPACK_CACHE", str(tmp_path / "cache"))
    seen: list[str] = []
    real = audit.analyse

    def counting(folder, *args, **kwargs):
        seen.append(Path(folder).name)
        return real(folder, *args, **kwargs)

    counting.__wrapped__ = real
    monkeypatch.setattr(audit, "analyse", counting)
    return seen


def run(*args: str) -> dict | list:
    # No audit history: a fresh cache has none, and the comparisons are about the cases.
    history = ["--no-history"] if args[0] == "audit" else []
    result = CliRunner().invoke(cli, [*args, "-j", "1", "--json", *history])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # queue --json is an object with its schema tag; its rows are "cases".
    return data["cases"] if data["schema"] == "evidencepack.queue/1" else data


def fresh(tmp_path: Path, *args: str) -> dict | list:
    """The same command on an empty cache: what the index must reproduce (its reads
    are not counted)."""
    old = os.environ["EVIDENCEPACK_CACHE"]
    os.environ["EVIDENCEPACK_CACHE"] = str(tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}")
    real = audit.analyse
    audit.analyse = getattr(real, "__wrapped__", real)
    try:
        return run(*args)
    finally:
        os.environ["EVIDENCEPACK_CACHE"] = old
        audit.analyse = real


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "cases"
    for name in ("A-1", "B-2", "C-3"):
        make_case(root, case_id=name)
    return root


def test_unchanged_cases_are_not_read_again_and_give_the_same_report(root, reads, tmp_path):
    first = run("audit", str(root), "--now", NOW)
    assert sorted(reads) == ["A-1", "B-2", "C-3"]
    reads.clear()
    again = run("audit", str(root), "--now", NOW)
    assert reads == []
    assert again == first == fresh(tmp_path, "audit", str(root), "--now", NOW)
    # The queue shares the index with the audit.
    run("queue", str(root), "--now", NOW)
    assert reads == []


def test_a_changed_added_or_deleted_case_is_read_again(root, reads, tmp_path):
    run("queue", str(root), "--now", NOW)
    reads.clear()
    # Changed: a chat line edited to the same length (only its times differ).
    chat = root / "B-2" / "chat" / "千牛聊天记录.txt"
    chat.write_text(chat.read_text(encoding="utf-8").replace("色差太大了", "色差特别大"),
                    encoding="utf-8")
    make_case(root, case_id="D-4")  # added
    shutil.rmtree(root / "C-3")  # deleted
    (root / "A-1" / "listing" / "Screenshot_2024-03-07-20-11-05.png").unlink()  # a file gone
    rows = run("queue", str(root), "--now", NOW)
    assert sorted(reads) == ["A-1", "B-2", "D-4"]
    assert sorted(r["case_id"] for r in rows) == ["A-1", "B-2", "D-4"]
    by_id = {r["case_id"]: r for r in rows}
    assert by_id["A-1"]["complete"] is False and by_id["A-1"]["first_missing"].startswith("商品详情页")
    assert rows == fresh(tmp_path, "queue", str(root), "--now", NOW)
    # A deleted case that comes back is read, not taken from a forgotten entry.
    reads.clear()
    make_case(root, case_id="C-3")
    run("queue", str(root), "--now", NOW)
    assert reads == ["C-3"]


def test_a_case_toml_edit_that_keeps_size_and_mtime_is_still_seen(root, reads, tmp_path):
    run("queue", str(root), "--now", NOW)
    reads.clear()
    toml = root / "A-1" / "case.toml"
    st = toml.stat()
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("2024-03-12T10:15", "2024-03-11T10:15"), encoding="utf-8")
    os.utime(toml, ns=(st.st_atime_ns, st.st_mtime_ns))
    rows = run("queue", str(root), "--now", NOW)
    assert reads == ["A-1"]
    assert rows == fresh(tmp_path, "queue", str(root), "--now", NOW)


def test_deadlines_are_recomputed_for_the_time_of_each_run(root, reads, tmp_path):
    run("audit", str(root), "--now", NOW)
    reads.clear()
    later = run("audit", str(root), "--now", LATER)
    assert reads == []  # a delivered parcel's case does not change with the clock
    assert later == fresh(tmp_path, "audit", str(root), "--now", LATER)
    assert {r["status"] for r in later["cases"]} == {"overdue"}


def test_an_undelivered_parcel_is_read_again_at_another_time(root, reads, tmp_path):
    # The last scan is in transit: its silence up to now is a tracking gap, which
    # grows with the clock.
    in_transit = {**KUAIDI100, "state": "0", "ischeck": "0", "data": KUAIDI100["data"][1:]}
    (root / "B-2" / "tracking" / "kuaidi100.json").write_text(
        json.dumps(in_transit, ensure_ascii=False), encoding="utf-8")
    run("audit", str(root), "--now", NOW)
    reads.clear()
    run("audit", str(root), "--now", NOW)
    assert reads == []  # the same clock: the same row
    later = run("audit", str(root), "--now", LATER)
    assert reads == ["B-2"]
    assert later == fresh(tmp_path, "audit", str(root), "--now", LATER)


LEAD = """\
id = "not_as_described"
[[items]]
id = "lab_report"
title_zh = "第三方检测报告"
title_en = "Lab report"
why_zh = "x"
why_en = "x"
guards = [7]
level = "{level}"
[[items.rules]]
kind = "evidence_count"
evidence = "document"
"""


def test_a_changed_checklist_file_makes_every_case_read_again(root, reads, tmp_path):
    lead = tmp_path / "lead"
    lead.mkdir()
    (lead / "not_as_described.toml").write_text(LEAD.format(level="recommended"),
                                                encoding="utf-8")
    first = run("queue", str(root), "--now", NOW, "--checklists", str(lead))
    assert all(r["complete"] for r in first)
    reads.clear()
    (lead / "not_as_described.toml").write_text(LEAD.format(level="required"), encoding="utf-8")
    rows = run("queue", str(root), "--now", NOW, "--checklists", str(lead))
    assert sorted(reads) == ["A-1", "B-2", "C-3"]
    assert not any(r["complete"] for r in rows)
    assert {r["first_missing_id"] for r in rows} == {"lab_report"}


def test_a_broken_case_stays_an_error_row_until_it_is_fixed(root, reads, tmp_path):
    toml = root / "B-2" / "case.toml"
    good = toml.read_text(encoding="utf-8")
    toml.write_text("case_id = \n", encoding="utf-8")
    rows = run("queue", str(root), "--now", NOW)
    assert "not valid TOML" in rows[0]["error"]
    reads.clear()
    assert run("queue", str(root), "--now", NOW) == rows and reads == []
    toml.write_text(good, encoding="utf-8")
    rows = run("queue", str(root), "--now", NOW)
    assert reads == ["B-2"] and not any(r["error"] for r in rows)


def test_an_unusable_index_is_ignored(root, reads, tmp_path):
    run("queue", str(root), "--now", NOW)
    index = next((tmp_path / "cache").glob("case-index-*.sqlite3"))
    index.write_bytes(b"not a database" * 100)
    reads.clear()
    rows = run("queue", str(root), "--now", NOW)
    assert sorted(reads) == ["A-1", "B-2", "C-3"]
    assert rows == fresh(tmp_path, "queue", str(root), "--now", NOW)


def test_worker_processes_give_the_same_report(tmp_path, monkeypatch):
    monkeypatch.setenv("EVIDENCEPACK_CACHE", str(tmp_path / "cache-j2"))
    root = tmp_path / "cases"
    for i in range(audit._POOL_MIN_CASES):
        make_case(root, case_id=f"J-{i:02d}", photos=1, listing=i % 3 != 0)
    result = CliRunner().invoke(cli, ["audit", str(root), "--now", NOW, "--json", "-j", "2",
                                      "--no-history"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == fresh(tmp_path, "audit", str(root), "--now", NOW)


def test_the_context_covers_every_stage_of_the_code():
    """A change in judge/ or inputs/ must make every row stale, not only one in team/."""
    from evidencepack.team import index

    covered = {p.relative_to(index.PACKAGE).parts[0] for p in index.PACKAGE.rglob("*.py")}
    assert {"inputs", "judge", "pack", "team", "pipeline.py"} <= covered
