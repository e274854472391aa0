"""Every --json output carries a schema tag and validates against the JSON Schema
published for it in docs/schemas/ (generated from evidencepack/schemas.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import REPO, SAMPLES, make_case
from evidencepack.cli import cli
from evidencepack.schemas import json_schemas

SCHEMAS = REPO / "docs" / "schemas"
NOW = "2024-03-13T09:00:00+08:00"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_published_schemas_are_the_generated_ones():
    generated = json_schemas()
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(generated)
    for name, text in generated.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run python -m evidencepack.schemas docs/schemas")


def _validate(name: str, data: dict) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    assert data["schema"] == f"evidencepack.{name}/1"
    jsonschema.validate(data, schema)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("schemas") / "cases"
    shutil.copytree(SAMPLES / "not-received", root / "小美" / "not-received")
    make_case(root)
    broken = make_case(root, case_id="TB-BROKEN")
    (broken / "case.toml").write_text("case_id = [", encoding="utf-8")
    return root


def test_check_queue_audit_and_checklists_validate(root):
    _validate("check", run("check", root / "小美" / "not-received", "--json", "--now", NOW))
    _validate("queue", run("queue", root, "--json", "--now", NOW))
    _validate("audit", run("audit", root, "--json", "--now", NOW, "--no-history"))
    _validate("checklists", run("checklists", "--json"))
    _validate("checklist", run("checklists", "quality_defect", "--json"))


def test_build_validates(root, tmp_path):
    _validate("build", run("build", root / "TB-TEST-0001", "-o", tmp_path / "p.pdf", "--json",
                           "--now", NOW))


def test_a_key_the_schema_does_not_name_fails_validation(root):
    data = run("queue", root, "--json", "--now", NOW)
    data["cases"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _validate("queue", data)


# --- flags: every bad value is bad usage, and completion knows the ids ------------------

BAD_FLAGS = [
    ("check", "{case}", "--now", "notatime"),
    ("check", "{case}", "--lang", "fr"),
    ("check", "{case}", "--now", "0001-01-01T00:00:00"),
    ("check", "{case}", "--checklists", "{tmp}/nowhere"),
    ("build", "{case}", "-o", "{tmp}/p.pdf", "--max-size", "lots"),
    ("build", "{case}", "-o", "{tmp}/p.pdf", "--jobs", "0"),
    ("build", "{case}", "-o", "{tmp}/p.pdf", "--generated-at", "x"),
    ("build", "{case}", "-o", "{tmp}/p.pdf", "--image-limit", "x"),
    ("build", "{case}", "-o", "{tmp}/p.pdf", "--templates", "{tmp}/nowhere"),
    ("build", "{case}", "-o", "{tmp}/p.pdf", "--font", "{tmp}/none.ttf"),
    ("batch", "{tmp}/e.csv", "--cases-root", "{tmp}", "--out", "{tmp}/o", "--shard", "5/2"),
    ("audit", "{root}", "--csv-lang", "fr"),
    ("queue", "{root}", "--now", "99999-01-01"),
    ("evaluate", "--part", "x"),
    ("init", "{tmp}/new", "--type", "not_received", "--timezone", "Mars/Base"),
    ("init", "{tmp}/new", "--type", "not_received", "--platform", "ebay"),
    ("checklists", "nope"),
]


@pytest.mark.parametrize("args", BAD_FLAGS, ids=lambda a: " ".join(a[:1] + a[-2:]))
def test_every_bad_flag_value_is_exit_2(args, root, tmp_path):
    values = {"case": root / "TB-TEST-0001", "root": root, "tmp": tmp_path}
    result = CliRunner().invoke(cli, [a.format(**values) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "p.pdf").exists()


def _complete(words: str) -> list[str]:
    from click.shell_completion import ShellComplete

    args = words.split()[:-1] if not words.endswith(" ") else words.split()
    incomplete = "" if words.endswith(" ") else words.split()[-1]
    return [c.value for c in ShellComplete(cli, {}, "evidencepack", "_EVIDENCEPACK_COMPLETE")
            .get_completions(args, incomplete)]


def test_completion_offers_dispute_types_platforms_and_checklist_ids():
    assert "quality_defect" in _complete("init c --type qual")
    assert "not_received" in _complete("init c --type ")
    assert _complete("init c --platform ta") == ["taobao"]
    assert "tmall" in _complete("init c --platform 天")
    assert "wrong_item" in _complete("checklists w")
