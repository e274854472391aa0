"""--redact masks personal data in everything a pack shows, and a redacted pack
attaches nothing unmasked. Each value below was left in clear before (issue:
hostile inputs, round two); docs/bad-input.md lists them."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from evidencepack.cli import cli
from evidencepack.inputs.redact import Redactor
from tests.conftest import CHAT, GENERATED_AT, NOW, make_case, tree_digest


@pytest.mark.parametrize("text, masked", [
    ("电话１３８１２３４５６７８", "电话138****5678"),  # full-width digits
    ("座机027-87654321", "座机027-****4321"),
    ("(0571)88889999 找我", "0571-****9999 找我"),
    ("手机138.1234.5678", "手机138****5678"),
    ("订单13812345678", "订单138****5678"),  # a mobile number is not an order number
    ("身份证 330106 19900101 123X", "身份证 3301************3X"),
    ("身份证3301 0619 9001 0112 3x", "身份证3301************3X"),
    ("老身份证330106900101123", "老身份证3301*********23"),  # 15 digits
    ("地址：文三路100号3幢301室，小王收", "地址：[地址1]，小王收"),  # no province, city, district
    ("送到阳光小区3栋2单元", "送到[地址1]"),
    ("身份证３３０１０６１９９００１０１１２３Ｘ", "身份证3301************3X"),
])
def test_redactor_masks_the_forms_it_used_to_miss(text, masked):
    assert Redactor().redact(text) == masked


@pytest.mark.parametrize("text", [
    "订单号：3817264530012345678", "运单号YT7312345678901", "2024-03-12 10:15:32", "退款10.50元",
    "3号色", "超市门口路边", "【杭州市】已签收，签收人：门卫", "订单号：330106199001011234",
    "全角数字１２３不是号码",
])
def test_redactor_leaves_evidence_alone(text):
    assert Redactor().redact(text) == text


SECRETS = ["13812345678", "１３８１２３４５６７８", "87654321", "139.0123.4567", "13712345678",
           "19900101", "900101123", "文三路100号", "阳光小区3栋", "88889999", "13612345678",
           "13512345678"]

CHAT_EXTRA = ("2024-03-12 10:25:00 小王爱购物\n"
              "电话１３８１２３４５６７８，座机027-87654321，备用139.0123.4567\n"
              "2024-03-12 10:26:00 小王爱购物\n"
              "订单13712345678是我的号，身份证 330106 19900101 123X，老证330106900101123\n"
              "2024-03-12 10:27:00 小王爱购物\n"
              "寄到文三路100号3幢301室，或者阳光小区3栋2单元\n")
TRACKING_CSV = ("time,location,description\n"
                "2024-03-10 09:00:00,杭州市西湖区文三路100号3幢 (0571)88889999,到达【杭州转运中心】\n")
TRACKING_PAGE = ("收件人 王小二 13612345678\n"
                 "2024-03-10 12:00:00\n【杭州市】派件员 13512345678 正在派件\n")
STATEMENT = 'statement = """买家电话13812345678，已核对。"""\n'


@pytest.fixture(scope="module")
def personal_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("redact")
    case = make_case(root / "cases", chat=CHAT + CHAT_EXTRA, photos=1)
    toml = (case / "case.toml").read_text(encoding="utf-8")
    start = toml.index("statement")
    end = toml.index('"""', toml.index('"""', start) + 3) + 4
    (case / "case.toml").write_text(toml[:start] + STATEMENT + toml[end:], encoding="utf-8")
    (case / "tracking" / "export.csv").write_text(TRACKING_CSV, encoding="utf-8")
    (case / "tracking" / "page.txt").write_text(TRACKING_PAGE, encoding="utf-8")
    return root, case


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_the_case_really_carries_the_secrets(personal_case):
    _, case = personal_case
    plain = run("check", case, "--json", "--now", NOW)
    assert "13612345678" in plain.stdout  # the tracking page's warning quotes its first line
    out = personal_case[0] / "plain.pdf"
    assert run("build", case, "-o", out, "--now", NOW).exit_code == 0
    text = _pdftotext(out)
    assert len(leaks(text)) >= 8, leaks(text)


def _pdftotext(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                          check=True).stdout.decode()


def test_redacted_check_json_leaks_nothing(personal_case):
    _, case = personal_case
    result = run("check", case, "--json", "--redact", "--now", NOW)
    assert result.exit_code in (0, 1), result.output
    assert leaks(result.stdout) == []
    assert "136****5678" in result.stdout  # the warning is kept, masked


def test_redacted_pack_and_build_json_leak_nothing(personal_case):
    root, case = personal_case
    before = tree_digest(case)
    out = root / "masked.pdf"
    result = run("build", case, "-o", out, "--redact", "--json", "--now", NOW,
                 "--generated-at", GENERATED_AT)
    assert result.exit_code == 0, result.output
    assert leaks(result.stdout) == []
    text = _pdftotext(out)
    assert leaks(text) == [], leaks(text)
    assert "138****5678" in text and "[地址" in text and "0571-****9999" in text
    manifest = json.loads(out.with_suffix(".manifest.json").read_text(encoding="utf-8"))
    assert manifest["redacted"] is True
    assert tree_digest(case) == before


def test_redact_with_attach_originals_is_refused_before_any_work(personal_case):
    root, case = personal_case
    out = root / "refused.pdf"
    result = run("build", case, "-o", out, "--redact", "--attach-originals")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "evidencepack: error: --redact and --attach-originals cannot be combined: the original "
        "files cannot be masked, and a redacted pack must carry nothing unmasked (build "
        "without --attach-originals, or without --redact)")
    assert not out.exists()
