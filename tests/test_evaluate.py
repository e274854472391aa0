"""The labelled corpus, its split, and the evaluation command and its floors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evidencepack.judge import evaluate as ev
from evidencepack.cli import cli
from evidencepack.judge.tagging import TAGS

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_corpus_is_split_by_the_hash_of_each_id():
    seen: dict[str, str] = {}
    writers = {"dev": set(), "test": set()}
    for part in ev.PARTS:
        for record in ev.load_messages(CORPUS / "messages" / f"{part}.jsonl"):
            assert ev.part_of(record.id) == part, record.id
            assert record.id not in seen, record.id
            seen[record.id] = part
            writers[part].add(record.writer)
    assert len(seen) >= 600
    assert writers["dev"] >= {"a", "b"} and writers["test"] >= {"a", "b"}
    share = sum(1 for p in seen.values() if p == "dev") / len(seen)
    assert 0.55 < share < 0.65


def test_every_tag_is_measured_on_the_test_part():
    tags, verdicts, shots = ev.evaluate(CORPUS, ("test",)).sections
    assert shots.id == "screenshots"
    assert verdicts.id == "item_verdicts" and verdicts.size >= 20
    assert verdicts.rows[0]["id"] == "accuracy" and verdicts.rows[0]["precision"] >= 0.95
    section = tags
    assert [row["id"] for row in section.rows] == TAGS
    for row in section.rows:
        assert row["support"] >= 5, row["id"]


def test_test_part_meets_the_floors():
    """CI fails here when a rule change loses precision or recall on the test part."""
    failures = ev.floor_failures(ev.evaluate(CORPUS, ("test",)))
    assert failures == [], [f"{f.row} {f.measure} {f.value} < {f.floor}" for f in failures]


def test_a_floor_above_the_figures_fails(tmp_path, monkeypatch):
    floors = tmp_path / "floors.toml"
    floors.write_text('part = "test"\n[chat_tags]\nprecision = 0.5\n[chat_tags.seller_rude]\nrecall = 1.01\n',
                      encoding="utf-8")
    monkeypatch.setattr(ev, "_FLOORS_FILE", floors)
    (miss,) = ev.floor_failures(ev.evaluate(CORPUS, ("test",)))
    assert (miss.row, miss.measure, miss.floor) == ("seller_rude", "recall", 1.01)
    result = run("evaluate", "--part", "test", "--lang", "en")
    assert result.exit_code == 1
    assert "test part · Rude or dismissive seller wording: recall" in result.output


def test_evaluate_command_prints_both_parts_in_chinese_by_default():
    result = run("evaluate")
    assert result.exit_code == 0, result.output
    assert "聊天标签 · 开发集" in result.output and "聊天标签 · 测试集" in result.output
    assert "客服用语不当" in result.output and "精确率" in result.output
    assert "seller_rude" not in result.output  # ids never reach a Chinese reader
    assert "全部达到下限" in result.output


def test_evaluate_json_has_figures_per_tag(tmp_path):
    result = run("evaluate", "--part", "dev", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema"] == "evidencepack.evaluate/1" and data["below_floor"] == []
    section = data["sections"][0]
    assert section["part"] == "dev" and section["id"] == "chat_tags"
    assert data["sections"][1]["id"] == "item_verdicts"
    row = next(r for r in section["rows"] if r["id"] == "buyer_agrees")
    assert 0 < row["precision"] <= 1 and row["support"] > 0 and row["name_en"] == "Buyer agrees to the proposal"


def test_a_bad_corpus_line_names_file_line_and_field(tmp_path):
    messages = tmp_path / "messages"
    messages.mkdir()
    good = {"id": "x-1", "writer": "x", "role": "buyer", "text": "碎了", "tags": ["buyer_complaint"]}
    (messages / "dev.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "role": "shop"}) + "\n",
                                        encoding="utf-8")
    result = run("evaluate", "--part", "dev", "--corpus", tmp_path)
    assert result.exit_code == 2
    assert f"{messages / 'dev.jsonl'}:2: role:" in result.output
    (messages / "dev.jsonl").write_text(json.dumps({**good, "tags": ["rude"]}) + "\n", encoding="utf-8")
    result = run("evaluate", "--part", "dev", "--corpus", tmp_path)
    assert result.exit_code == 2 and ":1: tags: unknown tag 'rude'" in result.output
    assert "Traceback" not in result.output


def test_a_missing_corpus_folder_is_bad_input(tmp_path):
    result = run("evaluate", "--corpus", tmp_path / "nope")
    assert result.exit_code == 2
    assert "no corpus folder here" in result.output


def test_the_shipped_model_is_trained_on_the_dev_part_only():
    from evidencepack.judge.classifier import dump
    from evidencepack.judge.tagging import train_backups

    dev = ev.load_messages(CORPUS / "messages" / "dev.jsonl")
    models = train_backups(dev, "corpus/messages/dev.jsonl")
    assert set(models) == {"nb_seller_rude.json"}
    from evidencepack.resources import DATA as data
    for name, model in models.items():
        assert dump(model) == (data / name).read_text(encoding="utf-8"), \
            f"{name} is stale: run python corpus/train.py"
