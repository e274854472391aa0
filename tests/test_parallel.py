"""A large pack laid out in several processes (evidencepack/parallel.py) must read
exactly as one laid out whole: every message once, page X of Y on every page,
contents and outline pointing at the right pages, every link landing, the
manifest attached; and a layout process that dies is a clear error."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw
from pypdf import PdfReader

from evidencepack.pack import parallel
from evidencepack.cli import cli
from tests.conftest import GENERATED_AT, NOW, make_case, outline_pages, pdf_text

MESSAGES = 600


def chat(n: int) -> str:
    lines = []
    for i in range(n):
        sender = "小王爱购物" if i % 2 else "杭州好物旗舰店:小美"
        text = "颜色和图片不一样，色差太大了" if i % 50 == 7 else "亲，我们核实一下"
        lines.append(f"2024-03-12 {10 + i // 60:02d}:{i % 60:02d}:00 {sender}\n第{i}条消息：{text}\n")
    return "".join(lines)


def report(path, pages: int = 2) -> None:
    sheets = []
    for p in range(pages):
        sheet = Image.new("RGB", (620, 877), "white")
        ImageDraw.Draw(sheet).text((40, 40), f"REPORT PAGE {p + 1}", fill="black")
        sheets.append(sheet)
    sheets[0].save(path, "PDF", save_all=True, append_images=sheets[1:], resolution=75)


@pytest.fixture
def big_case(tmp_path):
    case = make_case(tmp_path / "cases", chat=chat(MESSAGES), photos=6)
    report(case / "reports" / "质检报告.pdf")
    return case


class Stitches(list):
    """What each call of parallel.render returned, and the cuts it was given."""

    cuts: list


@pytest.fixture
def in_pieces(monkeypatch):
    """Lay even a test-sized pack out in pieces, and record that it was."""
    monkeypatch.setattr(parallel, "MIN_COST", 0)
    # and cut it in the middle, which for this case is inside the transcript
    monkeypatch.setattr(parallel, "PARENT_EXTRA", 0)
    stitched = Stitches()
    stitched.cuts = []
    real = parallel.render

    def spy(pieces, cuts, *args, **kwargs):
        result = real(pieces, cuts, *args, **kwargs)
        stitched.append(result)
        stitched.cuts.append(cuts)
        return result

    monkeypatch.setattr(parallel, "render", spy)
    return stitched


def build(case, out, *extra):
    result = CliRunner().invoke(cli, ["build", str(case), "-o", str(out), "--now", NOW,
                                      "--generated-at", GENERATED_AT, *map(str, extra)])
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("jobs", [2, 3])
def test_a_pack_in_pieces_reads_as_one(tmp_path, big_case, in_pieces, jobs):
    out = tmp_path / "p.pdf"
    result = build(big_case, out, "-j", jobs)
    assert result.exit_code == 0, result.output
    assert len(in_pieces) == 1 and in_pieces[0] is not None, "not laid out in pieces"
    assert len(in_pieces.cuts[0]) == jobs - 1, "not one piece per process"
    reader = PdfReader(out)
    texts = pdf_text(out)
    total = len(texts)

    # Every message exactly once, in order, however the transcript was cut (the
    # timeline, which quotes some, aside).
    transcript = "".join(t for t in texts if "事件时间线" not in t)
    found = [int(n) for n in re.findall(r"第(\d+)条消息", transcript)]
    assert found == list(range(MESSAGES))
    assert "C1 （续）" in transcript, "the transcript was not cut: the test proves nothing"

    for n, text in enumerate(texts, 1):
        assert f"第 {n} 页 / 共 {total} 页" in text, n

    toc = texts[2] + texts[3]  # after the cover and the claims page
    for name in ("争议焦点与卖家主张", "事件时间线", "聊天记录", "物流记录", "附录：文件清单与校验值"):
        number = int(re.search(re.escape(name) + r"\s*(\d+)", toc).group(1))
        assert name in texts[number - 1], name
    for label in ("P1", "P6", "C1", "T1", "D1"):
        number = int(re.search(label + r" \S+\s*(\d+)", toc).group(1))
        assert label in texts[number - 1], label

    outline = outline_pages(reader)
    for label in ("P1", "P6", "C1", "T1", "D1", "L1"):
        title = next(t for t in outline if t.startswith(label))
        assert label in texts[outline[title]], label

    # Every link names a destination the stitched PDF has, and links into the chat
    # (from the timeline, laid out in the other piece) land on their message.
    dests = reader.named_destinations
    linked = set()
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            dest = annot.get_object().get("/Dest")
            if dest is not None:
                linked.add(str(dest))
    assert linked and linked <= set(dests)
    into_chat = [name for name in linked if name.startswith("msg-C1-")]
    assert into_chat
    for name in into_chat:
        index = (int(name.rsplit("-", 1)[1]) - 1) // 2
        assert f"第{index}条消息" in texts[reader.get_destination_page_number(dests[name])], name

    # The appended report lies on the pages reserved for it, and the manifest is attached.
    drawn = []
    for n in (1, 2):
        page = reader.pages[reader.get_destination_page_number(dests[f"docpage-D1-{n}"])]
        names = re.findall(rb"/([^\s/]+) Do", page.get_contents().get_data())
        xobjects = page["/Resources"]["/XObject"]
        sizes = [(int(xobjects["/" + nm.decode()]["/Width"]), int(xobjects["/" + nm.decode()]["/Height"]))
                 for nm in names]
        assert sizes == [(620, 877)], n
        drawn.append(xobjects["/" + names[0].decode()].indirect_reference)
    assert drawn[0] != drawn[1]
    assert "manifest.json" in reader.attachments
    assert CliRunner().invoke(cli, ["verify", str(out), "--case", str(big_case)]).exit_code == 0


def test_pieces_hold_what_the_whole_pack_holds(tmp_path, big_case, in_pieces):
    whole, pieces = tmp_path / "whole.pdf", tmp_path / "pieces.pdf"
    assert build(big_case, whole, "-j", "1").exit_code == 0
    assert build(big_case, pieces, "-j", "2").exit_code == 0
    assert len(in_pieces) == 1

    def lines(path):
        """Every line but footers, the continuation note and the page numbers the
        contents and the claims cite (the cut may add a page before them)."""
        out = set()
        for text in pdf_text(path):
            for line in text.splitlines():
                if "页 / 共" in line or "（续）" in line:
                    continue
                line = re.sub(r"第 \d+ 页", "第 N 页", line)
                out.add(re.sub(r"\s\d+$", "", line) if "目录" in text else line)
        return out

    assert lines(whole) == lines(pieces)
    # The one cut in the transcript costs at most one page.
    assert 0 <= len(PdfReader(pieces).pages) - len(PdfReader(whole).pages) <= 1
    assert "（续）" not in "".join(pdf_text(whole))


def test_pieces_are_byte_identical_from_run_to_run(tmp_path, big_case, in_pieces):
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert build(big_case, a, "-j", "2").exit_code == 0
    assert build(big_case, b, "-j", "2").exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_a_layout_process_that_dies_is_a_clear_error(tmp_path, big_case, in_pieces, monkeypatch):
    monkeypatch.setattr(parallel, "_child", lambda conn, *args: os._exit(3))
    out = tmp_path / "p.pdf"
    result = build(big_case, out, "-j", "2")
    assert result.exit_code == 3, result.output
    assert "a layout process ended without a word (exit code 3); try again with --jobs 1" \
        in result.output
    assert not out.exists() and not list(tmp_path.glob(".p.pdf.*"))


def test_an_error_in_the_other_process_is_reported(tmp_path, big_case, in_pieces, monkeypatch):
    def boom(conn, *args):
        conn.send(("error", "ValueError: laid out nothing"))
        conn.close()
        os._exit(0)

    monkeypatch.setattr(parallel, "_child", boom)
    result = build(big_case, tmp_path / "p.pdf", "-j", "2")
    assert result.exit_code == 3
    assert "the PDF could not be laid out (ValueError: laid out nothing)" in result.output


def test_hostile_template_is_refused_in_both_processes(tmp_path, big_case, in_pieces):
    from evidencepack.pipeline import analyse
    from evidencepack.options import BuildOptions
    from evidencepack.pack.render import build_pack
    from tests.conftest import REPO

    templates = tmp_path / "tpl"
    templates.mkdir()
    html = (REPO / "templates" / "pack.html.j2").read_text(encoding="utf-8")
    # One refused URL in the second piece's sections only: the appendix.
    html = html.replace('<section class="appendix" id="manifest">',
                        '<section class="appendix" id="manifest"><img src="file:///etc/hostname">')
    (templates / "pack.html.j2").write_text(html, encoding="utf-8")
    result = build_pack(analyse(big_case), BuildOptions(
        output=tmp_path / "p.pdf", generated_at=datetime.fromisoformat(GENERATED_AT),
        templates=templates, jobs=2))
    assert in_pieces and in_pieces[0] is not None
    assert result.blocked_urls == ["file:///etc/hostname"]


def test_a_front_that_changes_length_falls_back_to_one_piece(tmp_path, big_case, in_pieces,
                                                              monkeypatch):
    """If the contents took another number of pages with their real page numbers than
    with the placeholders, every piece's page numbers would be off: the pack is laid
    out whole instead. (With the numbers positioned at the right of each entry this
    does not happen; the first layout of the front is made a page longer here.)"""
    real = parallel.lay_out
    calls = []

    def lay_out(html, css, fetcher, exchange=None, fonts=None):
        calls.append(exchange)
        if len(calls) == 1:  # the front, with placeholder numbers
            html = html.replace("</body>", '<p style="break-before: page">x</p></body>')
        return real(html, css, fetcher, exchange, fonts)

    monkeypatch.setattr(parallel, "lay_out", lay_out)
    out = tmp_path / "p.pdf"
    result = build(big_case, out, "-j", "2")
    assert result.exit_code == 0, result.output
    assert in_pieces == [None]
    texts = pdf_text(out)
    assert "（续）" not in "".join(texts)
    for n, text in enumerate(texts, 1):
        assert f"第 {n} 页 / 共 {len(texts)} 页" in text


def test_a_template_without_the_marks_is_laid_out_whole(tmp_path, big_case, in_pieces):
    from tests.conftest import REPO

    templates = tmp_path / "tpl"
    templates.mkdir()
    html = (REPO / "templates" / "pack.html.j2").read_text(encoding="utf-8")
    # A template of one's own that never heard of the marks: no front-end mark
    # (its cut points, if it had copied them, are dropped as in any whole layout).
    (templates / "pack.html.j2").write_text(html.replace("<!--evidencepack:front-end-->", ""),
                                            encoding="utf-8")
    out = tmp_path / "p.pdf"
    result = build(big_case, out, "-j", "2", "--templates", templates)
    assert result.exit_code == 0, result.output
    assert in_pieces == []
    text = "".join(t for t in pdf_text(out) if "事件时间线" not in t)
    assert [int(n) for n in re.findall(r"第(\d+)条消息", text)] == list(range(MESSAGES))
    assert "（续）" not in text


def test_attachments_of_a_pack_in_pieces_keep_their_descriptions(tmp_path, big_case, in_pieces):
    out = tmp_path / "p.pdf"
    assert build(big_case, out, "-j", "2", "--attach-originals").exit_code == 0
    assert in_pieces and in_pieces[0] is not None
    reader = PdfReader(out)
    files = {f.name: f for f in reader.attachment_list}
    assert files["manifest.json"].description == "evidencepack manifest"
    original = big_case / "preship" / "IMG_20240309_150200.jpg"
    (label,) = [n for n in files if n.endswith("-IMG_20240309_150200.jpg")]
    assert files[label].content == original.read_bytes()
    assert files[label].description.endswith(
        "sha256 " + hashlib.sha256(original.read_bytes()).hexdigest())
    assert files["manifest.json"].creation_date == datetime.fromisoformat(GENERATED_AT)


def test_the_cut_gives_each_process_its_share_and_none_below_min_cost(monkeypatch):
    pieces = parallel.Pieces(head="", front="", segments=["x" * n for n in (40, 10, 30, 20, 50)],
                             joins=[None] * 5, tail="")
    monkeypatch.setattr(parallel, "PARENT_EXTRA", 0)
    monkeypatch.setattr(parallel, "MIN_COST", 1)
    assert parallel.plan(pieces, 1) is None
    assert parallel.plan(pieces, 2) == [3]  # 80 | 70
    assert parallel.plan(pieces, 3) == [2, 4]  # 50 | 50 | 50
    assert parallel.plan(pieces, 9) == [1, 2, 3, 4]  # no more runs than segments
    monkeypatch.setattr(parallel, "PARENT_EXTRA", 40)
    assert parallel.plan(pieces, 3) == [1, 3]  # the parent's run is the lightest
    monkeypatch.setattr(parallel, "MIN_COST", 60)
    assert parallel.plan(pieces, 9) == [1, 3]  # 150 of work pays for two more processes, not three


def test_weasyprint_still_has_the_function_the_page_numbers_hook():
    """Fails loudly when a WeasyPrint release changes what parallel.numbered_pages
    replaces: check its new make_margin_boxes, adapt the hook, then widen the pin
    in pyproject.toml."""
    import inspect

    import weasyprint
    import weasyprint.layout as layout

    found = tuple(inspect.signature(getattr(layout, parallel.HOOKED)).parameters)
    assert found == parallel.HOOKED_PARAMETERS, (
        f"WeasyPrint {weasyprint.__version__}: {parallel.HOOKED}{found}, expected "
        f"{parallel.HOOKED_PARAMETERS}")


def test_the_hook_numbers_one_layout_and_is_gone_after_it(tmp_path):
    import weasyprint.layout as layout

    from evidencepack.pack.render import CaseFetcher

    original = getattr(layout, parallel.HOOKED)
    css = "@page { @bottom-center { content: counter(page) ' of ' counter(pages); } }"
    html = "<p>one</p><p style='break-before: page'>two</p>"
    fetcher = CaseFetcher({})
    asked = []

    def exchange(pages):
        asked.append(pages)
        return 10, 20

    numbered = parallel.lay_out(html, css, fetcher, exchange)
    assert getattr(layout, parallel.HOOKED) is original
    plain = parallel.lay_out(html, css, fetcher)
    numbered.write_pdf(tmp_path / "numbered.pdf")
    plain.write_pdf(tmp_path / "plain.pdf")
    assert asked == [2]
    assert [t.split()[-3:] for t in pdf_text(tmp_path / "numbered.pdf")] == \
        [["11", "of", "20"], ["12", "of", "20"]]
    assert [t.split()[-3:] for t in pdf_text(tmp_path / "plain.pdf")] == \
        [["1", "of", "2"], ["2", "of", "2"]]


def test_the_hook_is_gone_after_a_layout_that_fails():
    import weasyprint.layout as layout

    from evidencepack.pack.render import CaseFetcher

    original = getattr(layout, parallel.HOOKED)

    def exchange(pages):
        raise RuntimeError("the other process is gone")

    with pytest.raises(RuntimeError):
        parallel.lay_out("<p>x</p>", "@page { @bottom-center { content: counter(page) } }",
                         CaseFetcher({}), exchange)
    assert getattr(layout, parallel.HOOKED) is original
