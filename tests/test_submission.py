"""The pack is the seller's argument to the arbitrator; the worksheet is the agent's.

Read as the arbitrator would: the submission shows facts, claims and exhibits, and
none of the seller's gaps, scores, countdowns, risk flags or internal ids; in a
Chinese pack no English word. Read as the agent would: the worksheet beside it
shows everything the submission left out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from evidencepack.options import CheckOptions as Options
from evidencepack.pipeline import analyse
from tests.conftest import GENERATED_AT, NOW, SAMPLES, make_case, pdf_text

# Words a Chinese reader meets in any document: format and standard names.
ALLOWED_LATIN = {"SHA", "EXIF", "UTC", "KB", "MB", "PDF"}
# What the worksheet holds and the submission must not.
WORKSHEET_ONLY_ZH = ["完整度", "缺失", "已逾期", "剩余", "小时内到期", "假设值", "较弱", "证据清单",
                     "情绪化", "平台外", "处理时限", "处理提示"]
WORKSHEET_ONLY_EN = ["completeness", "missing", "overdue", "h left", "assumed", "checklist",
                     "Deadlines", "Respond by", "rude", "off-platform", "Processing notes"]

SAMPLE_NOW = {"colour-mismatch": "2024-03-13T09:00:00+08:00",
              "transit-damage": "2024-03-20T09:00:00+08:00",
              "not-received": "2024-04-16T09:00:00+08:00"}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def case_words(case: Path) -> set[str]:
    """Latin words that come from the case itself (file names, chat, tracking, case.toml,
    the text read in screenshots): the pack quotes evidence as it is, so these may appear."""
    a = analyse(case, Options(now=None))
    texts = [e.path for e in a.evidence] + [m.text + " " + m.sender for m in a.chat.messages]
    texts += [e.text + " " + (e.location or "") for e in a.tracking.events]
    texts += [(case / "case.toml").read_text(encoding="utf-8")]
    texts += [e.ocr.text for e in a.evidence if e.ocr]
    return {w for t in texts for w in re.findall(r"[A-Za-z][A-Za-z_]*", t)}


def raw_ids(text: str) -> list[str]:
    """snake_case ids anywhere but in file names."""
    return re.findall(r"\b[a-z]+_[a-z_]+\b", re.sub(r"\S+\.(?:txt|csv|json|jpg|png|pdf)", "", text))


def foreign_words(text: str, allowed: set[str]) -> set[str]:
    text = re.sub(r"\b[0-9a-f]{12,64}\b", " ", text)  # hashes
    words = set(re.findall(r"[A-Za-z][A-Za-z_]*", text))
    return {w for w in words if w not in ALLOWED_LATIN and w not in allowed
            and not re.fullmatch(r"[A-Z]\d*", w)}  # exhibit labels: L1, P3, C1


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    """Every sample in zh and en, and a generated incomplete case."""
    root = tmp_path_factory.mktemp("packs")
    cases = {name: SAMPLES / name for name in SAMPLE_NOW}
    cases["generated"] = make_case(root / "cases", case_id="TB-GEN-0002",
                                   dispute_type="not_received", photos=0, listing=False)
    built = {}
    for name, case in cases.items():
        for lang in ("zh", "en"):
            out = root / "out" / f"{name}-{lang}.pdf"
            result = run("build", case, "-o", out, "--lang", lang, "--now",
                         SAMPLE_NOW.get(name, NOW), "--generated-at", GENERATED_AT)
            assert result.exit_code == 0, result.output
            built[name, lang] = (case, out, result)
    return built


@pytest.mark.parametrize("name", [*SAMPLE_NOW, "generated"])
def test_zh_submission_shows_no_gaps_ids_or_english(packs, name):
    case, out, _ = packs[name, "zh"]
    text = "\n".join(pdf_text(out))
    for word in WORKSHEET_ONLY_ZH:
        assert word not in text, word
    assert raw_ids(text) == []
    assert foreign_words(text, case_words(case)) == set()
    assert "北京时间（UTC+8）" in text and "CST" not in text
    assert "✗" not in text and "✓" not in text


@pytest.mark.parametrize("name", [*SAMPLE_NOW, "generated"])
def test_en_submission_shows_no_gaps_or_raw_ids(packs, name):
    _, out, _ = packs[name, "en"]
    text = "\n".join(pdf_text(out))
    for word in WORKSHEET_ONLY_EN:
        assert word not in text, word
    assert raw_ids(text) == []
    assert "Beijing time (UTC+8)" in text


def test_cover_states_money_size_and_sources_in_words(packs):
    _, out, _ = packs["not-received", "zh"]
    pages = pdf_text(out)
    assert "金额 ¥159.00" in pages[0]
    assert "签收时间 2024-04-12 19:05:11 （物流记录 T1）" in pages[0]
    assert "下单时间 2024-04-01 20:15:00 （卖家填写）" in pages[0]
    text = "\n".join(pages)
    assert "大小" in text and "尺寸 1" not in text.replace("尺寸 1000", "")


def claim_refs(page: str) -> list[tuple[str, int]]:
    """(labels, page number) for every exhibit a claims page cites."""
    refs = []
    for group in re.findall(r"(?:（见|\(see) (.+?)[）)]", page.replace("\n", " ")):
        for part in re.split(r"[；;]", group):
            m = re.match(r"\s*(\S+?)[，,]\s*(?:第 (\d+) 页|page (\d+))", part)
            assert m, part
            refs.append((m[1], int(m[2] or m[3])))
    return refs


@pytest.mark.parametrize("name,lang", [(n, lang) for n in SAMPLE_NOW for lang in ("zh", "en")])
def test_every_claim_cites_the_page_its_exhibit_is_on(packs, name, lang):
    _, out, _ = packs[name, lang]
    pages = pdf_text(out)
    claims_page = pages[1]
    assert ("争议焦点与卖家主张" if lang == "zh" else "Points in dispute") in claims_page
    refs = claim_refs(claims_page)
    assert refs, claims_page
    for labels, number in refs:
        first = re.split(r"[–、]", labels)[0]
        # The cited page holds that exhibit's heading (label, then its file name).
        assert re.search(rf"(?m)^{first} \S+/", pages[number - 1]), (labels, number)


def test_every_dispute_type_argues_its_case(tmp_path):
    """A type with no claims file would hand the arbitrator an empty points page."""
    from evidencepack.judge.checklist import load_checklists
    from evidencepack.judge.claims import argue, load_claims

    types = set(load_checklists())
    assert set(load_claims().types) == types
    for dispute_type in sorted(types):
        case = make_case(tmp_path / dispute_type, dispute_type=dispute_type)
        for lang in ("zh", "en"):
            argument = argue(analyse(case, Options(now=NOW, lang=lang)))
            assert argument.points, dispute_type
            assert any(c.id == "chat_record" for c in argument.claims), dispute_type
            if lang == "zh":
                assert not re.search(r"[A-Za-z]{3,}", argument.points), dispute_type


def test_claims_are_only_what_the_evidence_supports(packs):
    _, out, _ = packs["not-received", "zh"]
    claims_page = pdf_text(out)[1].split("卖家主张与对应证据")[1]
    # The tracking shows a station signing and the chat no consent: the pack says
    # when it was signed, and claims no consent and no signing in person.
    assert "2024-04-12 19:05 签收" in claims_page
    assert "本人签收" not in claims_page and "同意" not in claims_page
    _, out, _ = packs["colour-mismatch", "zh"]
    claims_page = pdf_text(out)[1].replace("\n", "")
    assert "早于买家下单时间 2024-03-08 21:40" in claims_page
    assert "拍摄于 2024-03-09 15:02 至 2024-03-09 15:04（照片拍摄信息 EXIF）" in claims_page


def test_claims_in_a_pack_laid_out_in_pieces_cite_the_right_pages(tmp_path, monkeypatch):
    from evidencepack.pack import parallel

    monkeypatch.setattr(parallel, "MIN_COST", 0)
    monkeypatch.setattr(parallel, "PARENT_EXTRA", 0)
    lines = [f"2024-03-12 {10 + i // 60:02d}:{i % 60:02d}:00 "
             f"{'小王爱购物' if i % 2 else '杭州好物旗舰店:小美'}\n第{i}条消息\n" for i in range(400)]
    case = make_case(tmp_path / "cases", chat="".join(lines), photos=4)
    out = tmp_path / "pack.pdf"
    result = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT,
                 "--jobs", "2")
    assert result.exit_code == 0, result.output
    pages = pdf_text(out)
    refs = claim_refs(pages[1])
    assert refs
    for labels, number in refs:
        first = re.split(r"[–、]", labels)[0]
        assert re.search(rf"(?m)^{first} \S+/", pages[number - 1]), (labels, number)


# --- the worksheet ----------------------------------------------------------------

def test_build_writes_the_worksheet_beside_the_pack(packs):
    _, out, result = packs["not-received", "zh"]
    sheet = out.with_suffix(".worksheet.html")
    assert sheet.is_file()
    assert f"工作单（仅供内部使用，勿上传）：{sheet}" in result.output
    html = sheet.read_text(encoding="utf-8")
    # What the submission dropped: gaps with their reasons and folders, countdowns,
    # the claims the evidence does not support yet, the statement's problems.
    assert "证据不完整 · 完整度 2/4" in html
    assert "签收底单" in html and "reports/" in html
    assert "卖家处理截止" in html and "2024-04-17 12:48" in html and "28 小时" in html
    assert "聊天中没有买家在签收前同意代签或放驿站的消息" in html
    assert "卖家承诺" in html and "我们会给您补发或者退款" in html


def test_check_html_writes_the_worksheet_without_building(tmp_path):
    out = tmp_path / "ws.html"
    result = run("check", SAMPLES / "not-received", "--html", out, "--now",
                 SAMPLE_NOW["not-received"])
    assert result.exit_code == 1  # the case is incomplete; the worksheet says why
    assert out.is_file() and not list(tmp_path.glob("*.pdf"))
    assert "缺失" in out.read_text(encoding="utf-8")


def test_check_html_refuses_the_case_folder(case_dir):
    result = run("check", case_dir, "--html", case_dir / "ws.html")
    assert result.exit_code == 2
    assert "--html would write inside the case folder" in result.output
    assert not (case_dir / "ws.html").exists()


def test_worksheet_escapes_hostile_chat(tmp_path):
    hostile = ("2024-03-12 10:20:00 杭州好物旗舰店:小美\n"
               "<script>alert(1)</script><img src=x onerror=alert(2)> 你有病吧\n")
    case = make_case(tmp_path / "cases", chat=hostile)
    out = tmp_path / "ws.html"
    run("check", case, "--html", out, "--now", NOW)
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "default-src 'none'" in html


CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p),
                None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: the worksheet is tested in a browser")
def test_worksheet_in_a_browser(packs, tmp_path):
    _, out, _ = packs["not-received", "zh"]
    sheet = out.with_suffix(".worksheet.html")
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "ws.png"
    done = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600",
                           sheet.as_uri()], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG")
    assert len(shot.read_bytes()) > 30_000  # a drawn page, not a blank one
    dom = subprocess.run([*common, "--dump-dom", sheet.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False).stdout
    assert "签收底单（代签、驿站代收时）" in dom and "缺失" in dom


# --- the statement ----------------------------------------------------------------

def test_statement_drafts_within_the_platform_limit():
    result = run("statement", SAMPLES / "transit-damage", "--json")
    import json

    data = json.loads(result.output)
    draft = data["draft"]
    assert draft["limit"] == 200 and 0 < draft["chars"] <= 200
    assert "P1–P3" in draft["text"] and "（见" not in draft["text"].split("P1–P3")[0][-3:]
    assert draft["claims"][0] == "preship_before_pickup"


def test_statement_flags_emotional_wording(tmp_path):
    case = make_case(tmp_path / "cases")
    toml = (case / "case.toml").read_text(encoding="utf-8")
    (case / "case.toml").write_text(toml.replace(
        "商品发货前已拍照核对颜色，与详情页一致。", "买家就是骗子，恶意敲诈"), encoding="utf-8")
    result = run("statement", case)
    assert result.exit_code == 1
    assert "陈述含指责买家的措辞" in result.output
    check = run("check", case, "--html", tmp_path / "ws.html")
    assert "陈述含指责买家的措辞" in (tmp_path / "ws.html").read_text(encoding="utf-8")
    assert check.exit_code in (0, 1)
    pack = tmp_path / "pack.pdf"
    run("build", case, "-o", pack, "--now", NOW)
    assert "指责" not in "\n".join(pdf_text(pack))


def test_statement_flags_a_claim_no_exhibit_supports(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    result = run("statement", case)
    assert result.exit_code == 1
    assert "陈述提到“发货前、拍照核对”，但没有证据支持：没有发货前照片或视频" in result.output
