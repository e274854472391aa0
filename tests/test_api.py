"""The library API: what a script importing evidencepack gets."""
import subprocess
import sys

import pytest
from pydantic import ValidationError

import evidencepack
from evidencepack.errors import InputError
from tests.conftest import GENERATED_AT, NOW, REPO, SAMPLES, make_case, pdf_text, tree_digest


def test_build_writes_the_same_pack_as_the_command(tmp_path):
    case = SAMPLES / "colour-mismatch"
    before = tree_digest(case)
    pack = evidencepack.build(case, evidencepack.BuildOptions(
        output=tmp_path / "lib.pdf", now=NOW, generated_at=GENERATED_AT, jobs=1))
    done = subprocess.run([sys.executable, "-m", "evidencepack", "build", str(case), "-o",
                           str(tmp_path / "cli.pdf"), "--now", NOW, "--generated-at",
                           GENERATED_AT, "-j", "1"], capture_output=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "lib.pdf").read_bytes() == (tmp_path / "cli.pdf").read_bytes()
    assert pack.result.pages == len(pdf_text(pack.result.pdf))
    assert pack.worksheet == tmp_path / "lib.worksheet.html" and pack.worksheet.is_file()
    assert pack.argument.claims, "the sample's pack argues at least one claim"
    assert tree_digest(case) == before


def test_check_returns_the_analysis_and_writes_only_the_worksheet(tmp_path):
    case = make_case(tmp_path / "cases")
    analysis = evidencepack.check(case, evidencepack.CheckOptions(now=NOW),
                                  worksheet=tmp_path / "w.html")
    assert analysis.case.case_id == "TB-TEST-0001"
    assert analysis.report.items and (tmp_path / "w.html").is_file()


def test_output_inside_the_case_is_refused_before_any_work(tmp_path):
    case = make_case(tmp_path / "cases")
    with pytest.raises(InputError, match="-o would write inside the case folder"):
        evidencepack.build(case, evidencepack.BuildOptions(output=case / "p.pdf", now=NOW))
    with pytest.raises(InputError, match="--images would write inside the case folder"):
        evidencepack.build(case, evidencepack.BuildOptions(output=tmp_path / "p.pdf",
                                                           images_dir=case / "img", now=NOW))
    assert not (case / "p.pdf").exists() and not (tmp_path / "p.pdf").exists()


def test_options_are_frozen_and_checked():
    options = evidencepack.BuildOptions(now=NOW)
    with pytest.raises(ValidationError):
        options.redact = True
    with pytest.raises(ValidationError, match="timezone"):
        evidencepack.CheckOptions(now="2024-03-13T09:00:00")
    with pytest.raises(ValidationError):
        evidencepack.CheckOptions(lang="fr")


def test_import_does_not_load_the_renderer():
    done = subprocess.run([sys.executable, "-c", "import sys, evidencepack; "
                           "print('weasyprint' in sys.modules)"], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_pack_of_a_checked_case_records_the_digest_batch_compares(tmp_path):
    case = make_case(tmp_path / "cases")
    options = evidencepack.BuildOptions(output=tmp_path / "p.pdf", now=NOW,
                                        generated_at=GENERATED_AT, jobs=1)
    analysis = evidencepack.check(case, options)
    pack = evidencepack.write_pack(analysis, options)
    assert pack.result.input_digest == evidencepack.pack_digest(analysis, options)
    # An option that changes the pack changes the digest: the old pack is not current.
    smaller = options.model_copy(update={"max_size": 1_000_000})
    assert evidencepack.pack_digest(analysis, smaller) != pack.result.input_digest
