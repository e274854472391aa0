"""Bad input: one clear line naming the file and field, exit 2, no traceback, no PDF."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from tests.conftest import NOW, make_case, tree_digest


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    # A traceback would surface as a non-SystemExit exception.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("evidencepack: error")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_missing_folder(tmp_path):
    result = run("check", tmp_path / "nope")
    assert result.exit_code == 2
    assert error_line(result) == f"evidencepack: error: {tmp_path / 'nope'}: case folder does not exist"


def test_missing_case_toml(tmp_path):
    (tmp_path / "c").mkdir()
    result = run("build", tmp_path / "c", "-o", tmp_path / "p.pdf")
    assert result.exit_code == 2
    assert "case.toml is missing (create one with `evidencepack init`)" in error_line(result)
    assert not (tmp_path / "p.pdf").exists()


def test_malformed_toml_names_line(tmp_path):
    case = make_case(tmp_path)
    (case / "case.toml").write_text('case_id = "x"\nplatform = \n', encoding="utf-8")
    result = run("check", case)
    assert result.exit_code == 2
    line = error_line(result)
    assert "case.toml: not valid TOML" in line and "line 2" in line


@pytest.mark.parametrize("field", ["case_id", "platform", "dispute_type", "order_id",
                                   "opened_at", "amount"])
def test_each_required_field_missing(tmp_path, field):
    case = make_case(tmp_path)
    text = (case / "case.toml").read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if not line.startswith(f"{field} =")]
    (case / "case.toml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = run("check", case)
    assert result.exit_code == 2
    assert f"case.toml: {field}: required field is missing" in error_line(result)


def test_unknown_key_is_named(tmp_path):
    case = make_case(tmp_path, extra_toml='\n[item2]\ntitle = "x"\n')
    result = run("check", case)
    assert result.exit_code == 2
    assert "unknown key item2 (did you mean item?)" in error_line(result)


def test_unknown_dispute_type_and_platform(tmp_path):
    case = make_case(tmp_path, dispute_type="teleported")
    result = run("check", case)
    assert result.exit_code == 2
    assert "dispute_type: unknown dispute type 'teleported'" in error_line(result)
    text = (case / "case.toml").read_text(encoding="utf-8").replace(
        'dispute_type = "teleported"', 'dispute_type = "not_received"').replace(
        'platform = "taobao"', 'platform = "ebay"')
    (case / "case.toml").write_text(text, encoding="utf-8")
    result = run("check", case)
    assert "platform: unknown platform 'ebay'" in error_line(result)


def test_wrong_types_and_floats(tmp_path):
    case = make_case(tmp_path)
    text = (case / "case.toml").read_text(encoding="utf-8")
    (case / "case.toml").write_text(text.replace('amount = "399.00"', "amount = 399.10"),
                                    encoding="utf-8")
    result = run("check", case)
    assert result.exit_code == 2
    assert "amount: write the amount as text" in error_line(result)
    (case / "case.toml").write_text(text.replace("opened_at = 2024-03-12T10:15:00+08:00",
                                                 'opened_at = "yesterday"'), encoding="utf-8")
    result = run("check", case)
    assert "opened_at:" in error_line(result)


def test_case_id_with_path_separators_is_refused(tmp_path):
    case = make_case(tmp_path)
    text = (case / "case.toml").read_text(encoding="utf-8")
    for bad in ("../../etc", "a/b", ".."):
        (case / "case.toml").write_text(text.replace('case_id = "TB-TEST-0001"', f'case_id = "{bad}"'),
                                        encoding="utf-8")
        result = run("check", case)
        assert result.exit_code == 2
        assert "case_id: must not contain" in error_line(result)


def test_override_outside_case_folder_is_refused(tmp_path):
    case = make_case(tmp_path, extra_toml='\n[[evidence]]\npath = "../secret.jpg"\n')
    before = tree_digest(case)
    result = run("build", case, "-o", tmp_path / "p.pdf")
    assert result.exit_code == 2
    assert "per-file override points outside the case folder" in error_line(result)
    assert not (tmp_path / "p.pdf").exists()
    assert tree_digest(case) == before


def test_naive_times_take_the_case_zone(tmp_path):
    case = make_case(tmp_path)
    text = (case / "case.toml").read_text(encoding="utf-8")
    (case / "case.toml").write_text(text.replace("opened_at = 2024-03-12T10:15:00+08:00",
                                                 "opened_at = 2024-03-12T10:15:00"),
                                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(case), "--json", "--now", NOW])
    import json

    data = json.loads(result.output)
    respond = next(d for d in data["deadlines"] if d["name"] == "respond_by")
    assert respond["at"] == "2024-03-14T10:15:00+08:00"


def test_bad_generated_at_is_a_usage_error(case_dir, tmp_path):
    result = run("build", case_dir, "-o", tmp_path / "p.pdf", "--generated-at", "soon")
    assert result.exit_code == 2
    assert "'soon': not a date and time (want YYYY-MM-DD HH:MM[:SS]), such as 2024-03-12T10:15:00+08:00" in result.output
    assert not (tmp_path / "p.pdf").exists()
