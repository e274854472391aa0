"""Hostile and broken chat exports, tracking files and case folders.

Each input either builds with the problem shown (a warning in `check --json`
and in the pack) or stops with one line naming the file and exit 2; never a
traceback, never a hang, and the case folder is byte-identical afterwards.
docs/bad-input.md lists every case with its outcome.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from evidencepack.options import CheckOptions as Options
from evidencepack.pipeline import analyse
from tests.conftest import (CHAT, GENERATED_AT, KUAIDI100, NOW, REPO, make_case, pdf_text,
                            photo, tree_digest)
from tests.test_hostile_images import pdf_images

SLOW = bool(os.environ.get("EVIDENCEPACK_SLOW_TESTS"))


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def check_json(case: Path) -> dict:
    result = run("check", case, "--json", "--now", NOW)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("evidencepack: error")]
    assert len(lines) == 1, result.output
    return lines[0]


def marked(marker: str) -> str:
    """The standard chat plus one message carrying a marker, placed first."""
    return f"2024-03-12 10:14:00 小王爱购物\n{marker}\n" + CHAT


def pdftotext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          check=True, timeout=60).stdout.decode("utf-8")


# --- chat exports -----------------------------------------------------------------------

def _cut_mid_character() -> bytes:
    data = marked("MARK-cut").encode("utf-8")
    assert data.endswith("好的\n".encode())
    return data[:-2]  # the last byte of 的 and the newline: a file cut mid-character


def _out_of_order() -> bytes:
    blocks = marked("MARK-order").split("\n")
    pairs = ["\n".join(blocks[i:i + 2]) for i in range(0, len(blocks) - 1, 2)]
    return ("\n".join(reversed(pairs)) + "\n").encode("utf-8")


HOSTILE = ('<script>alert(1)</script><b>bold</b><img src="http://127.0.0.1:9/x.png">'
           '<style>*{display:none}</style>')

# file name -> (bytes, messages expected from it, a marker the pack must show)
CHAT_CORPUS: dict[str, tuple[bytes, int, str]] = {
    "gbk.txt": (marked("MARK-gbk 国标").encode("gbk"), 5, "MARK-gbk 国标"),
    "gb18030.txt": (marked("MARK-gb18030 𠮷野家 €").encode("gb18030"), 5, "MARK-gb18030"),
    "utf16-bom.txt": (marked("MARK-u16bom").encode("utf-16"), 5, "MARK-u16bom"),
    "utf16le-nobom.txt": (marked("MARK-u16le").encode("utf-16-le"), 5, "MARK-u16le"),
    "utf16be-nobom.txt": (marked("MARK-u16be").encode("utf-16-be"), 5, "MARK-u16be"),
    "mixed-eol.txt": (marked("MARK-eol").replace("\n", "\r\n", 4).replace("色差太大了\n", "色差太大了\r")
                      .encode("utf-8"), 5, "MARK-eol"),
    "out-of-order.txt": (_out_of_order(), 5, "MARK-order"),
    "no-timestamps.txt": (("没有时间的一行\nno time here\n" + marked("MARK-notime")).encode(), 5,
                          "MARK-notime"),
    "html-script.txt": (marked("MARK-html " + HOSTILE).encode(), 5, HOSTILE),
    "rtl-zero-width.txt": (marked("MARK-zw zero\u200bwidth\u200djoiner \u05e9\u05dc\u05d5\u05dd "
                                  "\u0645\u0631\u062d\u0628\u0627").encode(), 5, "MARK-zw"),
}


@pytest.fixture(scope="module")
def chat_pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-chat")
    case = make_case(root / "cases", photos=1)
    (case / "chat" / "千牛聊天记录.txt").unlink()
    for name, (data, _, _) in CHAT_CORPUS.items():
        (case / "chat" / name).write_bytes(data)
    before = tree_digest(case)
    data = check_json(case)
    out = root / "pack.pdf"
    build = run("build", case, "-o", out, "--now", NOW, "--generated-at", GENERATED_AT)
    return case, before, data, build, out


def test_every_chat_export_is_read(chat_pack):
    case, _, data, _, _ = chat_pack
    expected = sum(n for _, n, _ in CHAT_CORPUS.values())
    assert data["facts"]["chat_messages"] == expected
    analysis = analyse(case, Options(now=NOW))
    by_file: dict[str, list] = {}
    for m in analysis.chat.messages:
        by_file.setdefault(m.source, []).append(m)
    for name, (_, count, _) in CHAT_CORPUS.items():
        messages = by_file[f"chat/{name}"]
        assert len(messages) == count, name
        assert [m.at for m in messages] == sorted(m.at for m in messages), name
        # Every encoding decodes to the same Chinese text.
        assert any("色差太大了" in m.text for m in messages), name


def test_chat_damage_is_reported_not_hidden(chat_pack):
    case, _, data, _, _ = chat_pack
    warnings = data["warnings"]
    assert any(w.startswith("chat/no-timestamps.txt:1: 2 line(s) of text before the first "
                            "message header skipped") for w in warnings), warnings
    analysis = analyse(case, Options(now=NOW))
    order = [m.text for m in analysis.chat.messages if m.source == "chat/out-of-order.txt"]
    assert order[0] == "MARK-order" and order[-1] == "好的"


def test_chat_corpus_builds_with_everything_printed_literally(chat_pack):
    case, before, _, build, out = chat_pack
    assert build.exit_code == 0, build.output
    # pypdf garbles this pack's text (𠮷 is outside the BMP; see the emoji test), poppler not.
    text = pdftotext(out).replace("\n", "")
    for name, (_, _, marker) in CHAT_CORPUS.items():
        assert marker in text, name
    assert "שלום" in text or "םולש" in text  # the RTL run is there, in either order
    assert tree_digest(case) == before


def test_utf8_export_cut_mid_character_keeps_its_text(tmp_path):
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_bytes(_cut_mid_character())
    analysis = analyse(case, Options(now=NOW))
    assert analysis.chat.messages[0].text == "MARK-cut"
    assert analysis.chat.messages[1].text == "你好，收到的衣服颜色和图片不一样，色差太大了"
    assert analysis.chat.messages[-1].text == "好\ufffd"  # readable part kept, cut byte marked


def test_only_lines_without_timestamps_is_exit_2_naming_the_file(tmp_path):
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_text("没有时间的一行\n另一行\n", encoding="utf-8")
    line = error_line(run("check", case))
    assert line.startswith("evidencepack: error: chat/千牛聊天记录.txt: no chat message could "
                           "be read; first problem: line 1: 2 line(s) of text before")


def test_binary_chat_file_is_exit_2(tmp_path):
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_bytes(bytes(range(256)) * 20)
    before = tree_digest(case)
    assert "chat/千牛聊天记录.txt: no chat message could be read" in error_line(
        run("build", case, "-o", tmp_path / "p.pdf"))
    assert not (tmp_path / "p.pdf").exists()
    assert tree_digest(case) == before


@pytest.mark.parametrize("data, warning", [
    (b"", "chat/千牛聊天记录.txt: file is empty (0 bytes)"),
    (b"\x00" * 64, "chat/千牛聊天记录.txt: the chat file is empty"),
])
def test_empty_chat_file_is_a_warning(tmp_path, data, warning):
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_bytes(data)
    assert warning in check_json(case)["warnings"]


def test_emoji_build_and_stay_in_the_text_layer(tmp_path):
    """Emoji build. Visually: a face DejaVu has, tofu boxes for the rest (no emoji font).
    poppler extracts them; pypdf 7 garbles *all* text of the CJK font once an emoji
    falls back to it (WeasyPrint switches that font to a custom encoding CMap)."""
    case = make_case(tmp_path / "cases", photos=0, listing=False)
    (case / "chat" / "千牛聊天记录.txt").write_text(
        CHAT + "2024-03-12 10:22:00 小王爱购物\n😡👍🏽👨\u200d👩\u200d👧 收到了🎉 ok\n", encoding="utf-8")
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    text = pdftotext(out)
    assert "😡👍🏽" in text and "收到了🎉 ok" in text
    assert "你好，收到的衣服颜色和图片不一样" in text


ONE_MB = "很长的消息" * 70_000  # 350,000 characters, 1.05 MB of UTF-8


def test_one_megabyte_message_is_checked_quickly_and_kept_whole(tmp_path):
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_text(
        CHAT + "2024-03-12 10:22:00 小王爱购物\n" + ONE_MB + "\n", encoding="utf-8")
    started = time.monotonic()
    analysis = analyse(case, Options(now=NOW))
    assert time.monotonic() - started < 15
    assert max(len(m.text) for m in analysis.chat.messages) == len(ONE_MB)


def test_one_megabyte_message_builds_in_bounded_time(tmp_path):
    case = make_case(tmp_path / "cases", photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_text(
        CHAT + "2024-03-12 10:22:00 小王爱购物\n" + ONE_MB + "\n" + "x" * 200_000 + "\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "evidencepack", "build", str(case), "-o",
                           str(tmp_path / "p.pdf")], capture_output=True, timeout=60, cwd=REPO)
    assert done.returncode == 0


def _many_messages(n: int) -> str:
    out = []
    for i in range(n):
        seconds = i * 7
        who = "小王爱购物" if i % 2 else "杭州好物旗舰店:小美"
        out.append(f"2024-03-{10 + seconds // 86400:02d} {seconds // 3600 % 24:02d}:"
                   f"{seconds // 60 % 60:02d}:{seconds % 60:02d} {who}\n第{i}条消息，亲，收到了吗？\n")
    return "".join(out)


def test_many_messages_check_finishes(tmp_path):
    """100,000 messages (10 MB) with EVIDENCEPACK_SLOW_TESTS=1: `check` took 18 s and
    226 MB here; by default 10,000 messages keep the suite fast."""
    n = 100_000 if SLOW else 10_000
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").write_text(_many_messages(n), encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evidencepack", "check", str(case), "--json",
                           "--now", NOW], capture_output=True, timeout=120, cwd=REPO)
    elapsed = time.monotonic() - started
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["facts"]["chat_messages"] == n
    print(f"check of {n} messages: {elapsed:.1f} s")
    assert elapsed < (60 if SLOW else 15)


# --- tracking ----------------------------------------------------------------------------

def _tracking_case(tmp_path: Path, reply, *, name="kuaidi100.json", extra_toml="") -> Path:
    case = make_case(tmp_path, photos=0, extra_toml=extra_toml)
    (case / "tracking" / "kuaidi100.json").unlink()
    data = reply if isinstance(reply, bytes) else json.dumps(reply, ensure_ascii=False).encode()
    (case / "tracking" / name).write_bytes(data)
    return case


def test_empty_event_list_is_a_warning(tmp_path):
    data = check_json(_tracking_case(tmp_path, {**KUAIDI100, "data": []}))
    assert "tracking/kuaidi100.json: no tracking events in the file" in data["warnings"]
    assert data["facts"]["tracking_events"] == 0


def test_unknown_carrier_codes_are_kept_with_a_warning(tmp_path):
    case = make_case(tmp_path / "a", photos=0)
    text = (case / "case.toml").read_text(encoding="utf-8")
    (case / "case.toml").write_text(text.replace('carrier = "yuantong"', 'carrier = "zz-express"'),
                                    encoding="utf-8")
    warnings = check_json(case)["warnings"]
    assert any("unknown carrier 'zz-express'" in w for w in warnings), warnings
    data = check_json(_tracking_case(tmp_path / "b", {**KUAIDI100, "com": "zz-express"}))
    assert any("the file says 'zz-express'; using 'yuantong'" in w for w in data["warnings"])
    assert data["facts"]["tracking_events"] == 3


def test_reverse_order_duplicates_and_zoneless_times(tmp_path):
    events = [{"time": "2024-03-09 18:20:11", "context": "【广州市】圆通速递 已揽收"},
              {"time": "2024-03-11 09:20:11", "context": "【杭州市】快递员正在派件"},
              {"time": "2024-03-11 09:20:11", "context": "【杭州市】快递员正在派件"},
              {"time": "2024/03/11 18:20", "context": "【杭州市】您的快件已签收，签收人：本人签收"}]
    case = _tracking_case(tmp_path, {**KUAIDI100, "data": events[::-1]})
    analysis = analyse(case, Options(now=NOW))
    ats = [e.at.isoformat() for e in analysis.tracking.events]
    assert ats == ["2024-03-09T18:20:11+08:00", "2024-03-11T09:20:11+08:00",
                   "2024-03-11T18:20:00+08:00"]  # oldest first, in the case's zone
    assert any("1 duplicate event(s) (same time and text) dropped" in str(w)
               for w in analysis.warnings)
    assert analysis.tracking_facts.delivered_at.isoformat() == "2024-03-11T18:20:00+08:00"


@pytest.mark.parametrize("reply, quoted", [
    ({"message": "快递公司参数异常：单号不存在或者已经过期", "nu": "YT1", "ischeck": "0",
      "com": "yuantong", "status": "400", "data": []},
     '"快递公司参数异常：单号不存在或者已经过期" (code 400)'),
    ({"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"},
     '"查询无结果，请隔段时间再查" (code 500)'),
])
def test_courier_api_error_reply_is_exit_2_quoting_it(tmp_path, reply, quoted):
    case = _tracking_case(tmp_path, reply)
    before = tree_digest(case)
    line = error_line(run("build", case, "-o", tmp_path / "p.pdf"))
    assert line.startswith("evidencepack: error: tracking/kuaidi100.json: Kuaidi100 returned "
                           "no tracking: " + quoted)
    assert not (tmp_path / "p.pdf").exists()
    assert tree_digest(case) == before


def test_unreadable_times_are_skipped_with_their_line(tmp_path):
    data = check_json(_tracking_case(tmp_path, {**KUAIDI100, "data": [
        {"time": "yesterday", "context": "已签收"}, *KUAIDI100["data"]]}))
    assert "tracking/kuaidi100.json:1: record has no readable time ('yesterday'); skipped" \
        in data["warnings"]
    assert data["facts"]["tracking_events"] == 3


def test_tracking_corpus_builds(tmp_path):
    case = _tracking_case(tmp_path / "cases", {**KUAIDI100, "data": KUAIDI100["data"][::-1]})
    (case / "tracking" / "empty.json").write_text(json.dumps({**KUAIDI100, "data": []}),
                                                  encoding="utf-8")
    before = tree_digest(case)
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    text = "\n".join(pdf_text(out))
    sheet = out.with_suffix(".worksheet.html").read_text(encoding="utf-8")
    assert "tracking/empty.json: no tracking events in the file" in sheet
    assert "no tracking events" not in text  # the arbitrator's pack holds no diagnostics
    assert "【杭州市】您的快件已签收" in text
    assert tree_digest(case) == before


# --- case folders ---------------------------------------------------------------------------

def test_zoneless_dates_everywhere_take_the_case_zone(tmp_path):
    case = make_case(tmp_path, photos=1, extra_toml=(
        '\n[[evidence]]\npath = "preship/IMG_20240309_150200.jpg"\n'
        "captured_at = 2024-03-09T15:00:00\n"))
    text = (case / "case.toml").read_text(encoding="utf-8")
    text = text.replace("ordered_at = 2024-03-08T21:40:00+08:00",
                        "ordered_at = 2024-03-08T21:40:00\nshipped_at = 2024-03-09T18:00:00\n"
                        "delivered_at = 2024-03-11T18:20:11")
    (case / "case.toml").write_text(text, encoding="utf-8")
    analysis = analyse(case, Options(now=NOW))
    assert analysis.case.ordered_at.isoformat() == "2024-03-08T21:40:00+08:00"
    assert analysis.times["shipped_at"].value.isoformat() == "2024-03-09T18:00:00+08:00"
    photo_item = next(e for e in analysis.evidence if e.label == "P1")
    assert photo_item.captured_at.isoformat() == "2024-03-09T15:00:00+08:00"
    assert photo_item.time_source.value == "case.toml"


@pytest.mark.parametrize("override", ["/etc/passwd", "other/outlink/secret.jpg",
                                      "preship/../../secret.jpg", "..\\\\secret.jpg"])
def test_override_outside_the_case_is_exit_2(tmp_path, override):
    outside = tmp_path / "outside"
    photo(outside / "secret.jpg")
    case = make_case(tmp_path / "cases", photos=1,
                     extra_toml=f'\n[[evidence]]\npath = "{override}"\n')
    os.symlink(outside, case / "other" / "outlink")
    before = tree_digest(case)
    line = error_line(run("build", case, "-o", tmp_path / "p.pdf"))
    assert "case.toml: evidence.path" in line
    assert "per-file override points outside the case folder" in line
    assert not (tmp_path / "p.pdf").exists()
    assert tree_digest(case) == before


def test_symlinks_out_of_the_case_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    photo(outside / "IMG_20240309_150209.jpg", seed=9)
    (outside / "secret.txt").write_text("2024-03-12 10:15:32 小王爱购物\nTOP-SECRET-TEXT\n",
                                        encoding="utf-8")
    case = make_case(tmp_path / "cases", photos=1)
    os.symlink(outside / "IMG_20240309_150209.jpg", case / "preship" / "link.jpg")
    os.symlink(outside / "secret.txt", case / "chat" / "secret.txt")
    os.symlink(outside, case / "outside-top")
    os.symlink(outside, case / "other" / "nested-dir")
    os.symlink(case / "preship", case / "other" / "inner-dir")  # inside: not followed either
    before = tree_digest(case)
    data = check_json(case)
    for path in ("preship/link.jpg", "chat/secret.txt", "outside-top", "other/nested-dir"):
        assert f"{path}: symlink points outside the case folder; not included" in data["warnings"]
    assert ("other/inner-dir: symlinked folder not followed; its files count where they "
            "really are") in data["warnings"]
    assert [e["path"] for e in data["evidence"] if "link" in e["path"] or "secret" in e["path"]
            or "dir" in e["path"]] == []
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    text = "\n".join(pdf_text(out))
    assert "TOP-SECRET-TEXT" not in text
    sheet = out.with_suffix(".worksheet.html").read_text(encoding="utf-8")
    assert "TOP-SECRET-TEXT" not in sheet
    assert "other/nested-dir: symlink points outside the case folder" in sheet
    assert len(pdf_images(out)) == 2  # the listing screenshot and the one real photo
    assert tree_digest(case) == before


ODD_NAMES = {
    "newline": "IMG\nline2_20240309_150201.jpg",
    "invalid-utf8": os.fsdecode(b"IMG_\xff\xfe_20240309_150202.jpg"),
    "tab-cr": "IMG\t\r_20240309_150203.jpg",
}
SHOWN = {"newline": "preship/IMG\\nline2_20240309_150201.jpg",
         "invalid-utf8": "preship/IMG_\\xff\\xfe_20240309_150202.jpg",
         "tab-cr": "preship/IMG\\t\\r_20240309_150203.jpg"}


@pytest.fixture
def odd_case(tmp_path):
    case = make_case(tmp_path / "cases", photos=0, listing=False)
    for i, name in enumerate(ODD_NAMES.values()):
        photo(case / "preship" / name, seed=i, size=(800, 600))
    return case


def test_odd_file_names_build_and_show_escaped(tmp_path, odd_case):
    before = tree_digest(odd_case)
    data = check_json(odd_case)
    assert sorted(e["path"] for e in data["evidence"] if e["kind"] == "preship_photo") == \
        sorted(SHOWN.values())
    out = tmp_path / "p.pdf"
    result = run("build", odd_case, "-o", out, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    text = "\n".join(pdf_text(out))
    for shown in SHOWN.values():
        assert shown in text
    manifest = json.loads(out.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    assert {r["path"] for r in manifest["inputs"]} >= set(SHOWN.values())
    assert tree_digest(odd_case) == before


def test_names_with_wide_spaces_are_not_escaped_and_their_image_is_drawn(tmp_path):
    """U+3000 and U+00A0 are not printable to str.isprintable(); escaping them made
    the shown path name no file, so the photo was never drawn (fixed in evidence.py)."""
    case = make_case(tmp_path / "cases", photos=0, listing=False)
    photo(case / "preship" / "发货前\u3000照片 IMG_20240309_150200.jpg")
    photo(case / "preship" / "mac\u00a0name_20240309_150201.jpg", seed=1)
    out = tmp_path / "p.pdf"
    result = run("build", case, "-o", out, "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    assert len(pdf_images(out)) == 2
    assert "发货前\u3000照片" in "\n".join(pdf_text(out))


def test_odd_file_names_images_are_drawn(tmp_path, odd_case):
    out = tmp_path / "p.pdf"
    assert run("build", odd_case, "-o", out, "--generated-at", GENERATED_AT).exit_code == 0
    assert len(pdf_images(out)) == len(ODD_NAMES)


def test_chat_export_with_a_newline_in_its_name_is_read(tmp_path):
    case = make_case(tmp_path, photos=0)
    (case / "chat" / "千牛聊天记录.txt").rename(case / "chat" / "chat\nlog.txt")
    assert check_json(case)["facts"]["chat_messages"] == 4


def test_attach_originals_with_odd_names(tmp_path, odd_case):
    result = run("build", odd_case, "-o", tmp_path / "p.pdf", "--attach-originals")
    assert result.exit_code == 0, result.output
