"""Screenshots read by OCR: a chat that exists only as screenshots is judged as its
export is, listing screenshots answer what they show, tracking screenshots give
events. Real OCR (the `ocr` extra, which setup.sh installs) on small generated images."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from evidencepack.inputs.chat import parse_chat_file
from evidencepack.options import BuildOptions, CheckOptions as Options
from evidencepack.pipeline import analyse
from tests.conftest import REPO, SAMPLES

sys.path.insert(0, str(REPO / "corpus" / "screenshots"))
import draw  # noqa: E402

NOW = datetime.fromisoformat("2024-04-20T09:00:00+08:00")


def _says(case_dir: Path) -> list[draw.Say]:
    from evidencepack.inputs.case import read_case
    case = read_case(case_dir)[0]
    [export] = list((case_dir / "chat").iterdir())
    log = parse_chat_file(export, export.name, tz=case.tz, seller_nicks=case.seller.nicks,
                          shop=case.seller.shop, buyer_nick=case.buyer.nick)
    return [draw.Say(m.role.value, m.at, m.text, "image" if m.kind == "image" else "text")
            for m in log.messages]


def _as_screenshots(sample: str, tmp_path: Path, layout: str) -> tuple[Path, Path]:
    """The sample case, and a copy whose chat/ holds only screenshots of the same chat."""
    original = tmp_path / "export"
    shutil.copytree(SAMPLES / sample, original)
    shots_case = tmp_path / "screens"
    shutil.copytree(SAMPLES / sample, shots_case)
    from evidencepack.inputs.case import read_case
    case = read_case(original)[0]
    says = _says(original)
    shutil.rmtree(shots_case / "chat")
    if layout == "phone":
        shots = draw.chat_phone(says, title=case.buyer.nick)
    else:
        shots = draw.chat_workbench(says, buyer=case.buyer.nick, seller=case.seller.nicks[0],
                                    style=draw.Style(width=1100, height=1400, size=17))
    last = says[-1].at + timedelta(minutes=5)
    for n, shot in enumerate(shots):
        at = last + timedelta(seconds=n)
        draw.save(shot.image, shots_case / "chat" / f"Screenshot_{at:%Y-%m-%d-%H-%M-%S}.png")
    return original, shots_case


def _verdicts(case_dir: Path) -> dict[str, str]:
    analysis = analyse(case_dir, Options(now=NOW))
    return {item.id: item.status for item in analysis.report.items}


@pytest.mark.parametrize("sample,layout", [("not-received", "phone"),
                                           ("colour-mismatch", "workbench")])
def test_a_chat_only_in_screenshots_gets_the_verdicts_of_its_export(sample, layout, tmp_path):
    original, screens = _as_screenshots(sample, tmp_path, layout)
    exported = analyse(original, Options(now=NOW))
    read = analyse(screens, Options(now=NOW))
    assert {m.read_from for m in read.chat.messages} == {"screenshot"}
    assert all(m.confidence and m.confidence > 0.8 for m in read.chat.messages)
    tagged = {t: n for t, n in exported.chat_counts.items() if n and t != "chat_messages"}
    assert tagged, "the sample's chat must carry tags for the comparison to mean anything"
    assert {t: read.chat_counts.get(t) for t in tagged} == tagged
    # Message by message: each read whole, on its side, a picture as a picture.
    assert [(m.role, m.kind) for m in read.chat.messages] == [
        (m.role, m.kind) for m in exported.chat.messages]
    for want, got in zip(exported.chat.messages, read.chat.messages):
        assert _similar(want.text, got.text), (want.text, got.text)
    assert _verdicts(screens) == _verdicts(original)


def _similar(a: str, b: str) -> bool:
    from evidencepack.judge.evaluate import _distance
    a, b = "".join(a.split()), "".join(b.split())
    return _distance(a, b) <= max(1, len(a) // 10)


SMALL = draw.Style(width=600, height=900, size=22)


def _listing(path: Path, *, policy: bool) -> None:
    shot = draw.listing(title="雾霾蓝羊毛开衫 M码", price="￥399.00",
                        policy="保障 赠运费险·7天无理由退货" if policy else None,
                        specs=[("颜色", "雾霾蓝")], disclaimer=None, promise=None, style=SMALL)
    draw.save(shot.image, path)


def _item(report, item_id):
    return next(i for i in report.items if i.id == item_id)


def test_the_listing_policy_item_needs_a_screenshot_that_shows_a_policy(case_dir):
    from tests.conftest import NOW as CHECK_NOW
    now = datetime.fromisoformat(CHECK_NOW)
    _listing(case_dir / "listing" / "Screenshot_2024-03-07-20-12-00.png", policy=False)
    without = _item(analyse(case_dir, Options(now=now, lang="en")).report, "listing_policy")
    assert without.status == "missing"
    assert "needs at least 1 listing screenshot(s) showing the after-sales policy, has 0" in without.reasons
    _listing(case_dir / "listing" / "Screenshot_2024-03-07-20-13-00.png", policy=True)
    analysis = analyse(case_dir, Options(now=now, lang="en"))
    shown = _item(analysis.report, "listing_policy")
    assert shown.status == "met"
    [policy_shot] = [e for e in analysis.evidence if e.path.endswith("20-13-00.png")]
    assert policy_shot.label in shown.evidence


def test_tracking_screenshots_give_the_events_when_there_is_no_export(case_dir):
    (case_dir / "tracking" / "kuaidi100.json").unlink()
    t0 = datetime.fromisoformat("2024-03-09T18:20:00+08:00")
    shot = draw.tracking(carrier="圆通速递", number="YT7312345678901", style=SMALL, events=[
        (t0, "【杭州市】圆通速递 杭州转运中心 已揽收"),
        (t0 + timedelta(hours=20), "【杭州市】快递员正在派件"),
        (t0 + timedelta(hours=48), "【杭州市】您的快件已签收，签收人：本人签收")])
    draw.save(shot.image, case_dir / "tracking" / "Screenshot_2024-03-12-09-00-00.jpg", quality=80)
    analysis = analyse(case_dir, Options(now=NOW))
    events = analysis.tracking.events
    assert [e.at for e in events] == [t0, t0 + timedelta(hours=20), t0 + timedelta(hours=48)]
    assert {e.read_from for e in events} == {"screenshot"}
    assert [e.status.value for e in events] == ["picked_up", "out_for_delivery", "signed"]
    assert analysis.times["delivered_at"].value == t0 + timedelta(hours=48)


def test_without_the_engine_the_tool_works_and_names_the_screenshots_it_could_not_read(
        case_dir, tmp_path):
    _listing(case_dir / "listing" / "Screenshot_2024-03-07-20-13-00.png", policy=True)
    # A package of the engine's name that fails to import: as on a machine without the extra.
    stub = tmp_path / "no-engine" / "rapidocr_onnxruntime"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(stub.parent),
           "EVIDENCEPACK_CACHE": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "evidencepack", "check", str(case_dir), "--json",
                          "--now", "2024-03-13T09:00:00+08:00", "--lang", "en"],
                         capture_output=True, text=True, env=env)
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    unread = [w for w in report["warnings"] if "no OCR engine installed" in w]
    assert sorted(w.split(":")[0] for w in unread) == [
        "listing/Screenshot_2024-03-07-20-11-05.png", "listing/Screenshot_2024-03-07-20-13-00.png"]
    policy = next(i for i in report["items"] if i["id"] == "listing_policy")
    assert policy["status"] == "weak"
    assert any("could not be read" in r for r in policy["reasons"])


def test_ocr_is_paid_once_per_image(tmp_path):
    from evidencepack.inputs import ocr
    path = tmp_path / "shot.png"
    _listing(path, policy=True)
    data = path.read_bytes()
    import hashlib
    digest = hashlib.sha256(data).hexdigest()
    first, problem = ocr.read_cached(data, digest, tmp_path / "cache")
    assert problem is None and "7天无理由退货" in first.text.replace(" ", "")
    [entry] = (tmp_path / "cache" / "ocr").iterdir()
    entry.write_text(entry.read_text().replace("7天无理由退货", "cached-marker"))
    again, _ = ocr.read_cached(data, digest, tmp_path / "cache")
    assert "cached-marker" in again.text


def test_the_pack_shows_a_chat_screenshot_with_its_recognised_text_searchable(tmp_path):
    from evidencepack.pack.render import build_pack
    _, screens = _as_screenshots("not-received", tmp_path, "phone")
    out = tmp_path / "pack.pdf"
    build_pack(analyse(screens, Options(now=NOW)), BuildOptions(
        output=out, generated_at=datetime.fromisoformat("2024-04-20T09:30:00+08:00")))
    reader = PdfReader(out)
    pages = [p for p in reader.pages if "截图中识别出的消息" in (p.extract_text() or "")]
    assert pages, "the chat exhibit says its transcript was recognised from the screenshot"
    text = "".join(p.extract_text() for p in pages).replace("\n", "")
    # Twice: the invisible layer over the picture and the transcript under it.
    assert text.count("我没收到取件码短信") >= 2
    assert "识别置信度" in text
    assert all("/XObject" in p["/Resources"] for p in pages), "the screenshot itself is shown"


def test_the_labelled_screenshots_are_read_well_enough():
    from evidencepack.judge.evaluate import screenshot_section
    figures = {row["id"]: row["accuracy"] for row in
               screenshot_section(REPO / "corpus", "test").rows}
    # Measured 0.998, 0.988, 1.0, 1.0, 1.0.
    assert figures["chat_chars"] >= 0.97 and figures["listing_chars"] >= 0.95
    assert figures["tracking_chars"] >= 0.95
    assert figures["message_split"] >= 0.95
    assert figures["listing_facts"] >= 0.95


def test_a_screenshot_of_an_exported_chat_adds_no_message_twice(case_dir):
    log = parse_chat_file(case_dir / "chat" / "千牛聊天记录.txt", "chat/千牛聊天记录.txt",
                          tz=__import__("zoneinfo").ZoneInfo("Asia/Shanghai"),
                          seller_nicks=["杭州好物旗舰店:小美"], buyer_nick="小王爱购物")
    says = [draw.Say(m.role.value, m.at, m.text) for m in log.messages]
    says.append(draw.Say("buyer", says[-1].at + timedelta(minutes=30), "那我等你们补发"))
    [shot] = draw.chat_phone(says, title="小王爱购物", style=SMALL)
    draw.save(shot.image, case_dir / "chat" / "Screenshot_2024-03-12-11-00-00.png")
    analysis = analyse(case_dir, Options(now=NOW))
    texts = [m.text for m in analysis.chat.messages]
    assert len(texts) == len(log.messages) + 1
    assert [m.read_from for m in analysis.chat.messages].count("screenshot") == 1
    assert "那我等你们补发" in texts


def test_redact_masks_the_text_read_from_a_screenshot(case_dir, tmp_path):
    from evidencepack.pack.render import build_pack
    shot = draw.listing(title="客服电话 13812345678 随时联系", price="￥399.00",
                        policy="7天无理由退货", specs=[], disclaimer=None, promise=None, style=SMALL)
    draw.save(shot.image, case_dir / "listing" / "Screenshot_2024-03-07-20-13-00.png")
    out = tmp_path / "pack.pdf"
    build_pack(analyse(case_dir, Options(now=NOW, redact=True)), BuildOptions(
        output=out, generated_at=datetime.fromisoformat("2024-04-20T09:30:00+08:00")))
    text = "".join(p.extract_text() for p in PdfReader(out).pages)
    assert "7天无理由退货" in text.replace(" ", "")
    assert "13812345678" not in text.replace(" ", "")


def test_a_buyer_screenshot_has_the_seller_on_the_left_when_case_toml_says_so(case_dir):
    (case_dir / "chat" / "千牛聊天记录.txt").unlink()
    t0 = datetime.fromisoformat("2024-03-12T10:15:00+08:00")
    says = [draw.Say("buyer", t0, "你好，收到的衣服颜色和图片不一样"),
            draw.Say("seller", t0 + timedelta(minutes=1), "亲，麻烦拍一下照片哦")]
    [shot] = draw.chat_phone(says, title="杭州好物旗舰店", style=SMALL, seller_side="left")
    draw.save(shot.image, case_dir / "chat" / "Screenshot_2024-03-12-11-00-00.png")
    with open(case_dir / "case.toml", "a", encoding="utf-8") as fh:
        fh.write('[chat]\nscreenshot_seller_side = "left"\n')
    messages = analyse(case_dir, Options(now=NOW)).chat.messages
    assert [(m.role.value, m.text) for m in messages] == [(s.role, s.text) for s in says]
    assert "buyer_complaint" in messages[0].tags


def test_a_long_screenshot_is_read_to_its_end(case_dir):
    (case_dir / "chat" / "千牛聊天记录.txt").unlink()
    t0 = datetime.fromisoformat("2024-03-12T10:15:00+08:00")
    words = ["你好，收到的衣服颜色和图片不一样", "亲，麻烦拍一下照片哦", "好的，我拍给你看",
             "收到了，我们核实一下", "麻烦快一点", "给您补发一件可以吗？", "可以"]
    says = [draw.Say("buyer" if n % 2 == 0 else "seller", t0 + timedelta(minutes=n), text)
            for n, text in enumerate(words * 2)]
    # One scrolling capture (长截图) as tall as three screens: its bars are a screen's.
    [shot] = draw.chat_phone(says, title="小王爱购物", style=draw.Style(width=600, height=2400,
                                                                        size=22))
    draw.save(shot.image, case_dir / "chat" / "Screenshot_2024-03-12-11-00-00.png")
    messages = analyse(case_dir, Options(now=NOW)).chat.messages
    assert [(m.role.value, m.text) for m in messages] == [(s.role, s.text) for s in says]
