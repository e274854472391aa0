"""Pack features from the arbitration-grade bundle: size limits, page images,
attachments, and a large generated case's navigation."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, make_case, outline_pages, pdf_text, photo


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_page_images_fit_the_platform_limit_and_keep_labels(tmp_path, case_dir):
    out = tmp_path / "p.pdf"
    images = tmp_path / "img"
    result = run("build", case_dir, "-o", out, "--images", images, "--image-limit", "refusal",
                 "--json", "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    pages = len(PdfReader(out).pages)
    assert pages > 10  # more pages than Taobao's image count: the plan must choose
    files = sorted(images.glob("*.jpg"))
    assert len(files) == 10
    for f in files:
        assert f.stat().st_size <= 130_000, f
        with Image.open(f) as img:
            assert img.format == "JPEG" and img.width >= 1000  # legible: ≥ ~96 dpi on A4
    data = json.loads(result.output)
    # Cover and claims first, then the pages the claims cite, then the rest.
    order = [i["page"] for i in data["images"]]
    assert order[:2] == [1, 2] and [i["order"] for i in data["images"]] == list(range(1, 11))
    cited = {int(n) for n in re.findall(r"，第 (\d+) 页", pdf_text(out)[1])}
    toc = 3  # cited by no claim: every cited page comes before it
    assert cited and all(order.index(page) < order.index(toc) for page in cited)
    assert data["images_left_out"] == sorted(set(range(1, pages + 1)) - set(order))
    plan = (images / "TB-TEST-0001-upload-plan.txt").read_text(encoding="utf-8")
    assert plan.splitlines()[0] == "上传顺序（共 10 张图片），平台最多 10 张（假设值，请以平台显示为准）"
    assert "1. TB-TEST-0001-page-01.jpg  第 1 页：封面" in plan
    assert "2. TB-TEST-0001-page-02.jpg  第 2 页：争议焦点与卖家主张" in plan
    assert "未转为图片的页（超过平台张数上限，内容见证据包 PDF）：第 " in plan


def test_page_images_from_an_earlier_longer_pack_are_removed(tmp_path, case_dir):
    images = tmp_path / "img"
    images.mkdir()
    stale = images / "TB-TEST-0001-page-99.jpg"
    stale.write_bytes(b"old")
    keep = images / "notes.txt"
    keep.write_text("mine")
    result = run("build", case_dir, "-o", tmp_path / "p.pdf", "--images", images)
    assert result.exit_code == 0, result.output
    assert not stale.exists() and keep.exists()


def test_max_size_shrinks_photos_step_by_step(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    for i in range(6):
        photo(case / "preship" / f"IMG_20240309_15020{i}.jpg", when=f"2024:03:09 15:02:0{i}",
              size=(3000, 2250), seed=i)
    full = tmp_path / "full.pdf"
    assert run("build", case, "-o", full, "--json").exit_code == 0
    limit = int(full.stat().st_size * 0.6)
    small = tmp_path / "small.pdf"
    result = run("build", case, "-o", small, "--max-size", str(limit), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert small.stat().st_size <= limit
    assert data["recipe_step"] > 0
    # Nothing was dropped: every exhibit is still there.
    text = "".join(pdf_text(small))
    for n in range(1, 7):
        assert f"P{n}" in text


def test_max_size_that_cannot_be_met_says_how_far_over(tmp_path, case_dir):
    out = tmp_path / "p.pdf"
    result = run("build", case_dir, "-o", out, "--max-size", "20KB")
    assert result.exit_code == 3
    assert "over the 20.0 KB limit" in result.output
    assert "no exhibit was dropped" in result.output
    assert not out.exists()


def test_profile_page_limit_is_checked(tmp_path):
    case = make_case(tmp_path / "cases", extra_toml="\n[profile.upload]\npdf_max_pages = 3\n")
    text = (case / "case.toml").read_text(encoding="utf-8").replace('platform = "taobao"',
                                                                    'platform = "stripe"')
    (case / "case.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out)
    assert result.exit_code == 3
    assert "pages, over the limit of 3" in result.output
    assert not out.exists()


def test_attach_originals_embeds_each_file(tmp_path, case_dir):
    out = tmp_path / "p.pdf"
    assert run("build", case_dir, "-o", out, "--attach-originals").exit_code == 0
    attachments = PdfReader(out).attachments
    original = case_dir / "preship" / "IMG_20240309_150200.jpg"
    assert attachments["P1-IMG_20240309_150200.jpg"][0] == original.read_bytes()
    assert "manifest.json" in attachments


def test_large_case_outline_and_toc_match_real_pages(tmp_path):
    chat = "".join(
        f"2024-03-12 {10 + i // 60:02d}:{i % 60:02d}:00 "
        f"{'小王爱购物' if i % 2 else '杭州好物旗舰店:小美'}\n"
        f"第{i}条消息：{'颜色和图片不一样' if i % 7 == 0 else '亲，我们核实一下'}\n"
        for i in range(300))
    case = make_case(tmp_path / "cases", chat=chat, photos=8)
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    reader = PdfReader(out)
    texts = pdf_text(out)
    total = len(texts)
    assert total > 15

    outline = outline_pages(reader)
    for label in ["P1", "P8", "C1", "T1", "L1"]:
        title = next(t for t in outline if t.startswith(label))
        assert label in texts[outline[title]]
    # Every contents entry points at the page whose header names that section.
    toc = texts[2]  # after the cover and the claims page
    for name in ("争议焦点与卖家主张", "事件时间线", "附录：文件清单与校验值"):
        number = int(re.search(re.escape(name) + r"\s*\.*\s*(\d+)", toc).group(1))
        assert name in texts[number - 1]
    for n, text in enumerate(texts, 1):
        assert f"第 {n} 页 / 共 {total} 页" in text
