"""`evidencepack build`: the PDF a user uploads, checked as a user would check it."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, make_case, pdf_fonts, pdf_text, tree_digest


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("built")
    case = make_case(root / "cases")
    before = tree_digest(case)
    out = root / "out" / "pack.pdf"
    result = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT)
    return case, out, result, before


def test_build_writes_pdf_and_manifest(built):
    case, out, result, _ = built
    assert result.exit_code == 0, result.output
    assert out.is_file() and out.read_bytes().startswith(b"%PDF-")
    manifest = json.loads(out.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    assert manifest["pdf"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["case_id"] == "TB-TEST-0001"
    assert manifest["timezone"] == "Asia/Shanghai"
    assert manifest["generated_at"] == "2024-03-13T09:30:00+08:00"
    assert manifest["pdf"]["pages"] == len(PdfReader(out).pages)
    paths = {row["path"] for row in manifest["inputs"]}
    assert "chat/千牛聊天记录.txt" in paths and "case.toml" in paths


def test_cover_states_case_facts_and_generation_time(built):
    _, out, _, _ = built
    cover = pdf_text(out)[0]
    assert "售后争议证据包" in cover
    assert "TB-TEST-0001" in cover
    assert "争议类型 描述不符" in cover and "Not as described" not in cover
    assert "生成时间 2024-03-13 09:30:00 北京时间（UTC+8）" in cover


def test_chinese_text_is_extractable_and_cjk_font_embedded(built):
    _, out, _, _ = built
    text = "\n".join(pdf_text(out))
    # A line may wrap anywhere in the message: extraction puts a newline there.
    assert "你好，收到的衣服颜色和图片不一样，色差太大了" in text.replace("\n", "")
    fonts = pdf_fonts(out)
    cjk = [name for name, embedded in fonts.items() if "WenQuanYi" in name and embedded]
    assert cjk, f"no embedded CJK font among {fonts}"
    assert all(fonts.values()), f"a font is not embedded: {fonts}"


def test_every_page_has_footer_with_case_and_page_x_of_y(built):
    _, out, _, _ = built
    pages = pdf_text(out)
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text, f"page {number}"
        assert "TB-TEST-0001" in text, f"page {number}"


def test_exhibits_are_labelled_with_hashes(built):
    case, out, _, _ = built
    text = "\n".join(pdf_text(out))
    for label in ("L1", "P1", "P2", "P3", "C1", "T1"):
        assert label in text
    photo = case / "preship" / "IMG_20240309_150200.jpg"
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    assert digest[:12] in text  # the caption
    assert digest in text.replace("\n", "")  # the manifest appendix, in full
    assert "（照片拍摄信息 EXIF）" in text  # the source of the capture time, in words


def test_case_folder_is_untouched(built):
    case, _, _, before = built
    assert tree_digest(case) == before
    assert not list(case.rglob("*.pdf")) and not list(case.rglob("*.part"))


def test_same_inputs_and_timestamp_give_same_pdf(tmp_path, built):
    case, out, _, _ = built
    again = tmp_path / "again.pdf"
    result = run("build", case, "-o", again, "--now", NOW, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_lang_en_switches_labels(tmp_path, case_dir):
    out = tmp_path / "en.pdf"
    result = run("build", case_dir, "-o", out, "--lang", "en", "--now", NOW,
                 "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    pages = pdf_text(out)
    assert "After-sales Dispute Evidence Pack" in pages[0]
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert "售后争议证据包" not in "\n".join(pages)


def test_json_output_for_scripts(tmp_path, case_dir):
    out = tmp_path / "p.pdf"
    result = run("build", case_dir, "-o", out, "--json", "--now", NOW)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["pages"] == len(PdfReader(out).pages)
    assert data["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert data["complete"] is True


def test_output_inside_case_folder_is_refused(case_dir):
    result = run("build", case_dir, "-o", case_dir / "pack.pdf")
    assert result.exit_code == 2
    assert "inside the case folder" in result.output
    assert not (case_dir / "pack.pdf").exists()


def test_appended_pdf_document_is_counted_and_stamped(tmp_path):
    from PIL import Image, ImageDraw

    case = make_case(tmp_path / "cases")
    pages = []
    for n in range(2):
        page = Image.new("RGB", (827, 1169), "white")
        ImageDraw.Draw(page).text((80, 80), f"INSPECTION REPORT PAGE {n + 1}", fill="black")
        pages.append(page)
    pages[0].save(case / "reports" / "report.pdf", "PDF", resolution=100, save_all=True,
                  append_images=pages[1:])
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    texts = pdf_text(out)
    total = len(texts)
    doc_pages = [i for i, t in enumerate(texts) if "D1 · " in t or "D1 ·" in t]
    assert len(doc_pages) >= 2
    for i in doc_pages:
        assert f"共 {total} 页" in texts[i]
    # The appended pages hold the report's own content (drawn as an image).
    reader = PdfReader(out)
    stamped = [reader.pages[i] for i in doc_pages[-2:]]
    for page in stamped:
        xobjects = page["/Resources"].get("/XObject", {})
        assert xobjects, "the report's page was not laid onto the placeholder"


def test_manifest_is_embedded_as_attachment(built):
    _, out, _, _ = built
    reader = PdfReader(out)
    attachments = reader.attachments
    assert "manifest.json" in attachments
    embedded = json.loads(attachments["manifest.json"][0])
    beside = json.loads(out.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    assert embedded["input_digest"] == beside["input_digest"]


def test_outline_has_sections_and_exhibits(built):
    _, out, _, _ = built
    reader = PdfReader(out)

    def titles(outline):
        for entry in outline:
            if isinstance(entry, list):
                yield from titles(entry)
            else:
                yield entry.title

    names = list(titles(reader.outline))
    assert "目录" in names and "事件时间线" in names
    assert any(n.startswith("P1") for n in names) and any(n.startswith("C1") for n in names)


def test_toc_page_numbers_match_real_pages(built):
    _, out, _, _ = built
    texts = pdf_text(out)
    toc = texts[2]  # after the cover and the claims page
    match = re.search(r"事件时间线\s*\.*\s*(\d+)", toc)
    assert match, toc
    page = int(match.group(1))
    assert "事件时间线" in texts[page - 1]


def test_redact_masks_phone_numbers_everywhere_the_pack_shows_them(tmp_path):
    from tests.conftest import CHAT

    chat = CHAT + "2024-03-12 10:25:00 小王爱购物\n我的电话13812345678，地址浙江省杭州市西湖区文三路90号5幢\n"
    case = make_case(tmp_path / "cases", chat=chat)
    plain, masked = tmp_path / "plain.pdf", tmp_path / "masked.pdf"
    assert run("build", case, "-o", plain).exit_code == 0
    assert run("build", case, "-o", masked, "--redact").exit_code == 0
    assert "13812345678" in "".join(pdf_text(plain))
    text = "".join(pdf_text(masked))
    assert "13812345678" not in text and "138****5678" in text
    assert "文三路90号" not in text
    manifest = json.loads(masked.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    assert manifest["redacted"] is True


def test_timeline_leaves_out_times_that_are_only_a_files_modified_time(tmp_path):
    """A checkout's or copy's mtime says nothing about the case; it must not read as an event."""
    from PIL import Image

    case = make_case(tmp_path / "cases")
    Image.new("RGB", (900, 1200), "white").save(case / "reports" / "scan.png")  # no time in name/EXIF
    out = tmp_path / "p.pdf"
    assert run("build", case, "-o", out, "--lang", "en").exit_code == 0
    texts = pdf_text(out)
    timeline = next(t for t in texts if t.startswith("Timeline") or "\nTimeline\n" in t)
    assert "P1 captured（photo metadata (EXIF)）" in timeline
    assert "D1 captured" not in timeline
    assert "（file modified time）" in "".join(texts)  # still stated on the exhibit itself
