"""`evidencepack verify`: does this PDF still match its manifest, and its case folder?"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter

from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, make_case


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """A built pack, its manifest beside it, and the case it came from (never modified)."""
    root = tmp_path_factory.mktemp("verify")
    case = make_case(root / "cases", case_id="TB-V-0001", photos=1)
    pdf = root / "packs" / "TB-V-0001.pdf"
    result = run("build", case, "-o", pdf, "--now", NOW, "--generated-at", GENERATED_AT)
    assert result.exit_code in (0, 1), result.output
    return case, pdf


def copy_pack(pdf: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(pdf, dest / pdf.name)
    shutil.copy2(pdf.with_suffix(".manifest.json"), dest / pdf.with_suffix(".manifest.json").name)
    return dest / pdf.name


def test_clean_pack_and_case_verify(pack):
    case, pdf = pack
    result = run("verify", pdf, "--case", case)
    assert result.exit_code == 0, result.output
    assert f"{pdf}: OK" in result.stdout
    assert "0 changed, 0 missing, 0 added" in result.stdout
    report = json.loads(run("verify", pdf, "--case", case, "--json").stdout)
    assert report["schema"] == "evidencepack.verify/1" and report["ok"] is True
    assert report["case_id"] == "TB-V-0001" and report["generated_at"] == GENERATED_AT
    beside = json.loads(pdf.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    assert report["pdf_sha256"] == beside["pdf"]["sha256"]
    assert report["checked_files"] == len(beside["inputs"])


def test_one_changed_byte_in_the_pdf_is_a_mismatch_naming_it(pack, tmp_path):
    _, pdf = pack
    copy = copy_pack(pdf, tmp_path)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    result = run("verify", copy)
    assert result.exit_code == 1, result.output
    assert "MISMATCH" in result.stdout
    assert f"{copy.name}: the PDF's bytes changed since it was built" in result.stdout
    report = json.loads(run("verify", copy, "--json").stdout)
    assert report["ok"] is False and report["problems"][0].startswith(copy.name)


def test_changed_removed_and_added_case_files_are_each_listed(pack, tmp_path):
    case, pdf = pack
    copy = shutil.copytree(case, tmp_path / case.name, symlinks=True)
    with open(copy / "chat" / "千牛聊天记录.txt", "a", encoding="utf-8") as fh:
        fh.write("2024-03-12 10:22:00 小王爱购物\n其实颜色还行\n")
    (copy / "tracking" / "kuaidi100.json").unlink()
    (copy / "reports").mkdir(exist_ok=True)
    (copy / "reports" / "质检报告.txt").write_text("合格", encoding="utf-8")
    result = run("verify", pdf, "--case", copy)
    assert result.exit_code == 1, result.output
    assert "changed: chat/千牛聊天记录.txt (C1)" in result.stdout
    assert "missing: tracking/kuaidi100.json (T1)" in result.stdout
    assert "added: reports/质检报告.txt" in result.stdout
    report = json.loads(run("verify", pdf, "--case", copy, "--json").stdout)
    assert [c["path"] for c in report["changed"]] == ["chat/千牛聊天记录.txt"]
    assert [c["path"] for c in report["missing"]] == ["tracking/kuaidi100.json"]
    assert [c["path"] for c in report["added"]] == ["reports/质检报告.txt"]
    # The PDF itself is untouched, so that check still passes.
    assert not any(p.startswith(pdf.name) for p in report["problems"])


def test_edited_case_toml_is_a_change(pack, tmp_path):
    case, pdf = pack
    copy = shutil.copytree(case, tmp_path / case.name)
    toml = copy / "case.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"399.00"', '"39.00"'),
                    encoding="utf-8")
    result = run("verify", pdf, "--case", copy)
    assert result.exit_code == 1 and "changed: case.toml" in result.stdout


def test_without_the_manifest_beside_it_the_pdf_is_not_verified(pack, tmp_path):
    _, pdf = pack
    lone = tmp_path / "lone.pdf"
    shutil.copy2(pdf, lone)
    result = run("verify", lone)
    assert result.exit_code == 1, result.output
    assert f"{lone}: NOT VERIFIED" in result.stdout and "OK" not in result.stdout
    assert "no lone.manifest.json beside the PDF: its own bytes cannot be vouched for" \
        in result.stdout
    report = json.loads(run("verify", lone, "--json").stdout)
    assert report["status"] == "unverified" and report["ok"] is False
    pages = len(PdfReader(lone).pages)
    assert report["verified"] == [f"{pages} pages, as the embedded manifest records"]


def test_a_deleted_page_is_seen_without_the_manifest_beside_it(pack, tmp_path):
    _, pdf = pack
    writer = PdfWriter(clone_from=PdfReader(pdf))
    n = len(writer.pages)
    writer.remove_page(n // 2)
    cut = tmp_path / "cut.pdf"
    with open(cut, "wb") as fh:
        writer.write(fh)
    result = run("verify", cut)
    assert result.exit_code == 1, result.output
    assert f"cut.pdf: {n - 1} pages, the embedded manifest records {n} (a page was removed " \
        "or added)" in result.stdout
    assert "MISMATCH" in result.stdout


def test_a_blank_pdf_carrying_a_copied_manifest_is_not_ok(pack, tmp_path):
    _, pdf = pack
    manifest = PdfReader(pdf).attachments["manifest.json"][0]
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("manifest.json", manifest)
    fake = tmp_path / "fake.pdf"
    with open(fake, "wb") as fh:
        writer.write(fh)
    result = run("verify", fake)
    assert result.exit_code == 1 and "MISMATCH" in result.stdout


def test_ok_says_what_it_verified(pack):
    case, pdf = pack
    report = json.loads(run("verify", pdf, "--case", case, "--json").stdout)
    assert report["status"] == "ok"
    assert report["verified"][0] == f"the PDF's SHA-256 is the one {pdf.with_suffix('.manifest.json').name} records"
    assert any("input file(s)" in v for v in report["verified"])


def test_manifest_of_another_build_is_a_mismatch(pack, tmp_path):
    _, pdf = pack
    copy = copy_pack(pdf, tmp_path)
    manifest = copy.with_suffix(".manifest.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["input_digest"] = "0" * 64
    manifest.write_text(json.dumps(data), encoding="utf-8")
    result = run("verify", copy)
    assert result.exit_code == 1 and "belongs to another build" in result.stdout


@pytest.mark.parametrize("content, message", [
    (b"case_id,order_id\nA,1\n", "not a PDF"),
    (None, "no embedded evidencepack manifest"),
    (b"%PDF-1.7\ngarbage that is not a PDF body", "not a readable PDF"),
])
def test_not_a_pack_is_bad_input(tmp_path, content, message):
    path = tmp_path / "x.pdf"
    if content is None:  # a real PDF, but not one we built
        writer = PdfWriter()
        writer.add_blank_page(width=200, height=200)
        buffer = io.BytesIO()
        writer.write(buffer)
        content = buffer.getvalue()
        assert len(PdfReader(io.BytesIO(content)).pages) == 1
    path.write_bytes(content)
    result = run("verify", path)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_file_and_missing_case_folder_are_bad_input(pack, tmp_path):
    _, pdf = pack
    assert run("verify", tmp_path / "nope.pdf").exit_code == 2
    result = run("verify", pdf, "--case", tmp_path / "no-such-case")
    assert result.exit_code == 2 and "case folder does not exist" in result.stderr


@pytest.mark.parametrize("beside, problem", [
    ("null", "it is not a JSON object"),  # was OK, the PDF's bytes never checked
    ("[]", "it is not a JSON object"),
    ('{"pdf": "x", "inputs": []}', "pdf is not a JSON object"),  # was exit 3
    ('{"pdf": {"sha256": 5}, "inputs": []}', "pdf.sha256 is not text"),  # was exit 3
    ('{"pdf": {"sha256": "ab", "pages": "x"}, "inputs": []}', "pdf.pages is not a whole number"),
])
def test_a_malformed_manifest_beside_the_pdf_is_a_mismatch_never_ok(pack, tmp_path, beside,
                                                                     problem):
    _, pdf = pack
    copy = copy_pack(pdf, tmp_path)
    copy.with_suffix(".manifest.json").write_text(beside, encoding="utf-8")
    result = run("verify", copy)
    assert result.exit_code == 1, result.output
    assert f"{copy.name}: MISMATCH" in result.stdout
    assert f"{copy.stem}.manifest.json: not an evidencepack manifest ({problem})" in result.stdout


@pytest.mark.parametrize("embedded, problem", [
    ('{"inputs": [{"path": ["a"], "sha256": "ab"}]}', "inputs[0].path is not text"),
    ('{"inputs": [{"path": "case.toml", "sha256": 5}]}', "inputs[0].sha256 is not text"),
    ('{"inputs": [], "pages": "ten"}', "pages is not a whole number"),
    ('{"inputs": [], "case_id": {"a": 1}}', "case_id is not text"),
])
def test_a_malformed_embedded_manifest_is_one_line_exit_2(pack, tmp_path, embedded, problem):
    """Each was an internal error (exit 3) with --case."""
    case, pdf = pack
    writer = PdfWriter(clone_from=pdf)
    del writer._root_object["/Names"]
    writer.add_attachment("manifest.json", embedded.encode())
    forged = tmp_path / "forged.pdf"
    writer.write(forged)
    result = CliRunner().invoke(cli, ["verify", str(forged), "--case", str(case)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"evidencepack: error: {forged}: the embedded manifest.json "
                                     f"is not an evidencepack manifest ({problem})")


def _latin(text: str, pdf: Path, *allowed: str) -> set[str]:
    """English words left in zh output, beside file names, hashes and the case id."""
    import re

    for name in (str(pdf.parent), pdf.name, pdf.with_suffix(".manifest.json").name, *allowed):
        text = text.replace(name, " ")
    text = re.sub(r"\b[0-9a-f]{12,64}\b|…", " ", text)
    return set(re.findall(r"[A-Za-z][A-Za-z_]+", text)) - {"PDF", "SHA", "JSON", "evidencepack",
                                                              "TB", "V"}


def test_verify_speaks_chinese(pack, tmp_path):
    case, pdf = pack
    copy = copy_pack(pdf, tmp_path / "ok")
    result = run("verify", copy, "--case", case, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert f"{copy.name}: 核验通过" in result.stdout
    assert "已核验：PDF 的 SHA-256 与 TB-V-0001.manifest.json 记录的一致" in result.stdout
    assert "中的 " in result.stdout and "哈希与清单记录一致" in result.stdout
    assert _latin(result.stdout, copy, str(case)) == set(), result.stdout
    # Tampered and alone: every problem and note in Chinese too.
    alone = tmp_path / "alone" / pdf.name
    alone.parent.mkdir()
    writer = PdfWriter(clone_from=pdf)
    writer.remove_page(len(writer.pages) - 1)
    writer.write(alone)
    result = run("verify", alone, "--lang", "zh")
    assert result.exit_code == 1
    assert "有页面被删除或添加" in result.stdout and "PDF 旁没有" in result.stdout
    assert _latin(result.stdout, alone) == set(), result.stdout
