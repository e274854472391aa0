"""`evidencepack batch`: a refund export in, one pack per row out — checked as a lead would.

One world of case folders serves the whole file; the runs build on each other
(first run builds, later runs skip, a touched file rebuilds one case), each set
up by its own module fixture so a single test still runs on its own.
"""

from __future__ import annotations

import codecs
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidencepack.team.batch import shard_of
from evidencepack.team.export import ReasonTable, load_mapping, read_export
from evidencepack.judge.checklist import load_checklists
from evidencepack.cli import cli
from tests.conftest import NOW, make_case, tree_digest

GENERATED_AT = "2024-03-13T09:30:00+08:00"

ZH = {"case_id": "退款编号", "order_id": "订单编号", "opened_at": "申请时间", "reason": "退款原因",
      "amount": "退款金额", "status": "退款状态", "buyer_nick": "买家会员名", "carrier": "物流公司",
      "tracking_number": "物流单号"}
EN = list(ZH)

# (case id, dispute type in case.toml, refund reason in the export); all take photos=1.
GOOD = [
    ("TB-B-01", "not_received", "未收到货"),
    ("TB-B-02", "late_shipment", "未按约定时间发货"),
    ("TB-B-03", "shipping_fee", "退运费"),
    ("TB-B-04", "out_of_stock", "缺货"),
    ("TB-B-05", "not_received", "快递显示签收但本人未收到"),
    ("TB-B-06", "late_shipment", "延迟发货"),
    ("TB-B-07", "shipping_fee", "运费"),  # found by its order id: its 退款编号 cell is empty
    ("TB-B-08", "out_of_stock", "卖家缺货"),  # folder named otherwise; found by case.toml's id
    ("TB-B-09", "not_as_described", "颜色/尺寸/参数描述不符"),  # incomplete with one photo
    ("TB-B-10", "not_as_described", "商品与描述不符"),  # incomplete
    ("TB-B-11", None, "未收到货"),  # case.toml lacks dispute_type, opened_at, amount
    ("TB-B-12", "not_received", "未收到货"),  # the export's amount differs from case.toml's
]
ORDER_07 = "7000000000000000007"
EXPECTED_FIRST = {**{c: "built" for c, *_ in GOOD}, "TB-B-09": "incomplete",
                  "TB-B-10": "incomplete", ORDER_07: "built"}
del EXPECTED_FIRST["TB-B-07"]


def _row(case_id, reason, **over):
    row = {"case_id": case_id, "order_id": "3817264530012345678", "opened_at": "2024-03-12 10:15:00",
           "reason": reason, "amount": "399.00", "status": "退款中", "buyer_nick": "小王爱购物",
           "carrier": "圆通速递", "tracking_number": "YT7312345678901"}
    row.update(over)
    return row


def export_rows() -> list[dict | str]:
    rows: list[dict | str] = []
    for case_id, _, reason in GOOD:
        if case_id == "TB-B-07":
            rows.append(_row("", reason, order_id=ORDER_07))
        elif case_id == "TB-B-12":
            rows.append(_row(case_id, reason, amount="￥199.00"))
        else:
            rows.append(_row(case_id, reason))
    rows += [
        "TB-B-13,3817264530012345678,2024-03-12 10:15:00",  # a row cut short
        _row("../x", "未收到货"),
        _row("/etc", "未收到货"),
        _row("escape", "未收到货"),  # a folder symlinked to outside the root
        _row("TB-B-01", "未收到货"),  # duplicate
        _row("TB-B-U", "其他"),  # unknown reason, and case.toml names no dispute type
        _row("TB-B-F", "未收到货"),  # malformed case.toml: the build fails
        _row("TB-B-404", "未收到货", order_id="4040404040404040404"),  # no such case
    ]
    return rows


def write_export(path: Path, rows, *, chinese: bool, encoding: str, english_values=False) -> Path:
    header = [ZH[f] for f in EN] + ["商品名称"] if chinese else EN + ["item_title"]
    lines = [",".join(header)]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        values = dict(row)
        if english_values:  # other spellings of the same facts: the digest must not change
            values["opened_at"] = values["opened_at"].replace(" ", "T")
            values["carrier"] = "yuantong" if values["carrier"] == "圆通速递" else values["carrier"]
            values["amount"] = values["amount"].lstrip("￥")
        lines.append(",".join([values[f] for f in EN] + ["雾霾蓝羊毛开衫"]))
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(codecs.BOM_UTF8)
    path.write_bytes(data)
    return path


def _edit(case: Path, old: str, new: str) -> None:
    toml = case / "case.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    root = base / "cases"
    for case_id, kind, _ in GOOD:
        case = make_case(root, case_id=case_id, dispute_type=kind or "not_received", photos=1)
        if case_id == "TB-B-07":
            _edit(case, 'order_id = "3817264530012345678"', f'order_id = "{ORDER_07}"')
        if case_id == "TB-B-08":
            case.rename(root / "folder-eight")
        if kind is None:
            _edit(case, 'dispute_type = "not_received"\n', "")
            _edit(case, "opened_at = 2024-03-12T10:15:00+08:00\n", "")
            _edit(case, 'amount = "399.00"\n', "")
    unknown = make_case(root, case_id="TB-B-U", photos=1)
    _edit(unknown, 'dispute_type = "not_as_described"\n', "")
    failing = make_case(root, case_id="TB-B-F", photos=1)
    (failing / "case.toml").write_text('case_id = "TB-B-F"\nplatform = \n', encoding="utf-8")
    outside = make_case(base / "outside", case_id="escape", photos=1)
    (root / "escape").symlink_to(outside, target_is_directory=True)
    zh_gbk = write_export(base / "退款管理.csv", export_rows(), chinese=True, encoding="gbk")
    en_bom = write_export(base / "refunds.csv", export_rows(), chinese=False,
                          encoding="utf-8-sig", english_values=True)
    return {"base": base, "root": root, "out": base / "packs", "zh_gbk": zh_gbk,
            "en_bom": en_bom, "outside": base / "outside"}


def batch(world, export, *args, jobs=2):
    """Run the CLI; the evidence folders (and the one outside) must be untouched."""
    before = tree_digest(world["root"]), tree_digest(world["outside"])
    result = CliRunner().invoke(cli, ["batch", str(export), "--cases-root", str(world["root"]),
                                      "--out", str(world["out"]), "-j", str(jobs), "--now", NOW,
                                      "--generated-at", GENERATED_AT, *map(str, args)],
                                catch_exceptions=False)
    assert (tree_digest(world["root"]), tree_digest(world["outside"])) == before
    leftovers = [p.name for p in world["out"].iterdir() if p.name.startswith(".")
                 or p.suffix == ".part"] if world["out"].exists() else []
    assert leftovers == []
    return result


def by_case(report) -> dict[str, dict]:
    """Rows by case key; a duplicate keeps the first row's entry (the one that builds)."""
    rows: dict[str, dict] = {}
    for r in report["rows"]:
        rows.setdefault(r["case_id"] or f"row {r['row']}", r)
    return rows


@pytest.fixture(scope="module")
def first_run(world):
    report_file = world["base"] / "report.json"
    started = time.monotonic()
    result = batch(world, world["zh_gbk"], "--report", report_file)
    return result, json.loads(report_file.read_text(encoding="utf-8")), time.monotonic() - started


def test_first_run_statuses_per_row(first_run, world):
    result, report, _ = first_run
    assert result.exit_code == 3, result.output  # some rows failed
    rows = by_case(report)
    for case_id, status in EXPECTED_FIRST.items():
        assert rows[case_id]["status"] == status, rows[case_id]
    assert report["encoding"] in ("gb18030", "gbk")
    assert report["columns"]["case_id"] == "退款编号" and report["ignored_columns"] == ["商品名称"]
    assert rows["TB-B-13"]["status"] == "error" and "missing: 退款原因" in rows["TB-B-13"]["reason"]
    for bad in ("../x", "/etc"):
        assert rows[bad]["status"] == "error" and "leave --cases-root" in rows[bad]["reason"]
    assert "symlink" in rows["escape"]["reason"] and "outside --cases-root" in rows["escape"]["reason"]
    dup = [r for r in report["rows"] if r["case_id"] == "TB-B-01"]
    assert [r["status"] for r in dup] == ["built", "error"]
    assert "duplicate" in dup[1]["reason"] and f"row {dup[0]['row']}" in dup[1]["reason"]
    assert rows["TB-B-U"]["status"] == "error" and "'其他' is unknown" in rows["TB-B-U"]["reason"]
    assert rows["TB-B-F"]["status"] == "failed" and "not valid TOML" in rows["TB-B-F"]["reason"]
    assert rows["TB-B-404"]["status"] == "error" and "no case folder" in rows["TB-B-404"]["reason"]
    assert report["summary"] == {"rows": 20, "built": 10, "incomplete": 2, "skipped": 0,
                                 "failed": 1, "error": 7, "other_shards": 0}
    assert report["exit_code"] == 3
    # The terminal summary names every row that needs a look, with its reason.
    assert "20 rows: 10 built, 2 incomplete, 0 skipped, 1 failed, 7 error rows" in result.stdout
    assert "TB-B-F" in result.stdout and "TB-B-404" in result.stdout


def test_first_run_writes_one_pack_per_built_row(first_run, world):
    _, report, _ = first_run
    out = world["out"]
    built = {r["case_id"] for r in report["rows"] if r["status"] in ("built", "incomplete")}
    assert {p.stem for p in out.glob("*.pdf")} == built
    for case_id in built:
        manifest = json.loads((out / f"{case_id}.manifest.json").read_text(encoding="utf-8"))
        assert manifest["generated_at"] == GENERATED_AT
        assert manifest["pdf"]["sha256"] == by_case(report)[case_id]["sha256"]
    # Found by order id (the row had no 退款编号) and by the case_id inside case.toml.
    assert by_case(report)[ORDER_07]["folder"] == "TB-B-07"
    assert by_case(report)["TB-B-08"]["folder"] == "folder-eight"
    assert not list(world["outside"].parent.glob("**/escape.pdf"))


def test_export_fills_missing_facts_and_reports_differences(first_run, world):
    _, report, _ = first_run
    rows = by_case(report)
    filled = rows["TB-B-11"]["filled"]
    assert filled == {"dispute_type": "not_received", "opened_at": "2024-03-12T10:15:00",
                      "amount": "399.00"}
    manifest = json.loads((world["out"] / "TB-B-11.manifest.json").read_text(encoding="utf-8"))
    assert manifest["filled_from_export"] == filled and manifest["dispute_type"] == "not_received"
    differs = " ".join(rows["TB-B-12"]["notes"])
    assert "amount: the export says 199.00, case.toml 399.00; the pack uses case.toml" in differs
    assert rows["TB-B-12"]["filled"] == {}


def test_second_run_with_english_bom_export_skips_every_pack(first_run, world):
    result = batch(world, world["en_bom"], "--json")
    report = json.loads(result.stdout)
    assert report["encoding"] == "utf-8-sig" and report["columns"]["case_id"] == "case_id"
    first = by_case(first_run[1])
    rows = by_case(report)
    assert set(rows) == set(first)
    for case_id, row in rows.items():
        expected = "skipped" if first[case_id]["status"] in ("built", "incomplete") else \
            first[case_id]["status"]
        assert row["status"] == expected, row
    assert rows["TB-B-09"]["complete"] is False  # skipped, and still incomplete
    assert report["summary"]["skipped"] == 12 and result.exit_code == 3


@pytest.fixture(scope="module")
def shards(first_run, world):
    return [json.loads(batch(world, world["zh_gbk"], "--shard", f"{i}/3", "--json").stdout)
            for i in (1, 2, 3)]


def test_shards_split_the_export_without_overlap(shards, first_run):
    all_rows = [r["row"] for r in first_run[1]["rows"]]
    seen = [r["row"] for report in shards for r in report["rows"]]
    assert sorted(seen) == sorted(all_rows) and len(seen) == len(set(seen))
    for i, report in enumerate(shards, 1):
        assert report["shard"] == f"{i}/3"
        assert report["summary"]["other_shards"] == 20 - len(report["rows"])
        for row in report["rows"]:
            assert row["status"] in ("skipped", "error", "failed")
            key = row["case_id"] or f"row {row['row']}"
            assert shard_of(key, 3) == i
    assert all(report["rows"] for report in shards)  # 20 keys spread over all three


def test_touching_one_evidence_file_rebuilds_only_that_case(shards, world):
    chat = world["root"] / "TB-B-05" / "chat" / "千牛聊天记录.txt"
    os.utime(chat, (time.time(), time.time() - 3600))  # the chat's time comes from its mtime
    old_sha = json.loads((world["out"] / "TB-B-05.manifest.json").read_text())["pdf"]["sha256"]
    report = json.loads(batch(world, world["zh_gbk"], "--json").stdout)
    rows = by_case(report)
    rebuilt = [c for c, r in rows.items() if r["status"] in ("built", "incomplete")]
    assert rebuilt == ["TB-B-05"]
    assert "inputs or options changed" in " ".join(rows["TB-B-05"]["notes"])
    assert rows["TB-B-05"]["sha256"] != old_sha
    assert report["summary"]["skipped"] == 11


def test_force_rebuilds_up_to_date_packs_and_complete_rows_exit_0(first_run, world):
    export = write_export(world["base"] / "two.csv",
                          [_row(c, reason) for c, _, reason in GOOD[1:3]],
                          chinese=False, encoding="utf-8-sig", english_values=True)
    before = {c: (world["out"] / f"{c}.pdf").stat().st_mtime_ns for c, *_ in GOOD[1:3]}
    skipped = batch(world, export, "--json")
    assert skipped.exit_code == 0
    assert {r["status"] for r in json.loads(skipped.stdout)["rows"]} == {"skipped"}
    forced = batch(world, export, "--force", "--json")
    assert forced.exit_code == 0, forced.output
    report = json.loads(forced.stdout)
    assert [r["status"] for r in report["rows"]] == ["built"] * 2 and report["force"] is True
    for c, *_ in GOOD[1:3]:
        assert (world["out"] / f"{c}.pdf").stat().st_mtime_ns != before[c]


def test_an_incomplete_case_exits_1_even_when_skipped(first_run, world):
    export = write_export(world["base"] / "one.csv", [_row("TB-B-09", "颜色/尺寸/参数描述不符")],
                          chinese=True, encoding="utf-8-sig")
    result = batch(world, export, "--json")
    assert result.exit_code == 1, result.output
    row = json.loads(result.stdout)["rows"][0]
    assert row["status"] == "skipped" and row["complete"] is False
    assert row["reason"].startswith("missing: ")


def test_plain_progress_is_one_line_per_case(first_run):
    result, report, _ = first_run
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == report["summary"]["rows"]
    assert any(" TB-B-09 incomplete: " in line and "missing: " in line for line in lines)


def test_ctrl_c_leaves_whole_packs_and_exits_130(tmp_path):
    root = tmp_path / "cases"
    ids = [f"TB-C-{i}" for i in range(1, 6)]
    for case_id in ids:
        make_case(root, case_id=case_id, dispute_type="not_received", photos=1)
    export = write_export(tmp_path / "refunds.csv", [_row(c, "未收到货") for c in ids],
                          chinese=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    before = tree_digest(root)
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencepack", "batch", str(export), "--cases-root", str(root),
         "--out", str(out), "-j", "2", "--now", NOW, "--report", str(tmp_path / "report.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # A shell starting a background job may have set SIGINT to ignored; a terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 90
    while not list(out.glob("*.manifest.json")) and time.monotonic() < deadline \
            and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr.decode()
    assert stderr.decode().strip().splitlines()[-1] == \
        "evidencepack: interrupted; no partial file was left behind"
    assert [p.name for p in out.iterdir() if p.name.startswith(".") or ".part" in p.name] == []
    pdfs = sorted(out.glob("*.pdf"))
    # Those already written plus the two being written when Ctrl-C came; nothing else started.
    assert 1 <= len(pdfs) <= 4
    # The report is written all the same, and says which rows were not built.
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["interrupted"] is True and report["exit_code"] == 130
    assert len(report["rows"]) == 5
    assert sum(r["reason"] == "not built: the batch was interrupted" for r in report["rows"]) \
        == 5 - len(pdfs)
    import hashlib

    for pdf in pdfs:
        manifest = json.loads(pdf.with_suffix(".manifest.json").read_text(encoding="utf-8"))
        assert manifest["pdf"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert tree_digest(root) == before


# --- reading exports, reasons and usage errors (no builds) ----------------------------------

def test_reason_table_maps_the_platform_reasons_and_never_guesses():
    table = ReasonTable()
    assert table.types() <= set(load_checklists())
    for reason, kind in [("颜色/尺寸/参数描述不符", "not_as_described"), ("质量问题", "quality_defect"),
                         ("收到商品破损", "damaged_in_transit"), ("未收到货", "not_received"),
                         ("少件/漏发", "missing_parts"), ("发错货", "wrong_item"),
                         ("七天无理由退换货", "no_reason_return"), ("７天无理由退换货", "no_reason_return"),
                         ("假冒品牌", "counterfeit"), ("发票问题", "invoice"),
                         ("未按约定时间发货", "late_shipment"), ("缺货", "out_of_stock"),
                         ("运费", "shipping_fee"), ("卖家未按约定时间发货了", "late_shipment")]:
        assert table.lookup(reason) == (kind, "table"), reason
    assert table.lookup("其他") == (None, "not in the reason table")
    assert table.lookup("商品少件/破损")[0] is None  # two types equally likely: not guessed
    assert "ambiguous" in table.lookup("商品少件/破损")[1]
    assert ReasonTable({"Item not as pictured": "not_as_described"}).lookup(
        "item not as pictured") == ("not_as_described", "mapping")


def test_jsonl_export_with_a_broken_line(tmp_path):
    path = tmp_path / "refunds.jsonl"
    path.write_text("\n".join([
        json.dumps({"退款编号": "A1", "订单编号": 3817264530012345678, "退款原因": "质量问题",
                    "退款金额": 12.5}, ensure_ascii=False),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"case_id": "A2", "reason": "缺货"}),
    ]), encoding="utf-8")
    export = read_export(path)
    assert export.format == "jsonl"
    assert [r.line for r in export.rows] == [1, 2, 3, 4]
    assert export.rows[0].values == {"case_id": "A1", "order_id": "3817264530012345678",
                                     "reason": "质量问题", "amount": "12.5"}
    assert "not valid JSON" in export.rows[1].problem and "not a JSON object" in export.rows[2].problem
    # Both header languages in one file: the first header seen for a field wins.
    assert export.rows[3].values.get("reason") is None and "case_id" in export.ignored_columns


def test_excel_wrapped_and_mangled_ids(tmp_path, world):
    path = tmp_path / "x.csv"
    path.write_text('退款编号,订单编号\n="NOPE-1",\'3817264530012345678\n3.81726E+18,1\n',
                    encoding="utf-8")
    export = read_export(path)
    assert export.rows[0].values == {"case_id": "NOPE-1", "order_id": "3817264530012345678"}
    result = CliRunner().invoke(cli, ["batch", str(path), "--cases-root", str(world["root"]),
                                      "--out", str(tmp_path / "o"), "--json", "--shard", "1/1",
                                      "--now", NOW])
    rows = json.loads(result.stdout)["rows"]
    assert "turned into a number by Excel" in rows[1]["reason"]


def test_mapping_maps_other_columns_and_reasons(tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Refund No" = "case_id"\n"Why" = "reason"\n'
                       '[reasons]\n"Item not as pictured" = "not_as_described"\n', encoding="utf-8")
    path = tmp_path / "shop.csv"
    path.write_text("Refund No,Why,Notes\nR1,Item not as pictured,x\n", encoding="utf-8")
    m = load_mapping(mapping)
    export = read_export(path, m)
    assert export.columns == {"case_id": "Refund No", "reason": "Why"}
    assert export.ignored_columns == ["Notes"]
    assert ReasonTable(m.reasons).lookup(export.rows[0].values["reason"])[0] == "not_as_described"


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "cannot read the export"),
    (lambda d: (d / "refunds.csv").write_text("商品名称,备注\n开衫,x\n", encoding="utf-8"),
     "no column names the case"),
    (lambda d: (d / "refunds.csv").write_bytes(b"PK\x03\x04rest-of-a-workbook"), "Excel workbook"),
    (lambda d: (d / "refunds.csv").write_bytes(b""), "the export is empty"),
])
def test_unreadable_export_or_unknown_columns_exit_2(tmp_path, setup, message):
    setup(tmp_path)
    (tmp_path / "cases").mkdir()
    result = CliRunner().invoke(cli, ["batch", str(tmp_path / "refunds.csv"), "--cases-root",
                                      str(tmp_path / "cases"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_mapping_naming_absent_columns_and_out_inside_root_exit_2(tmp_path):
    (tmp_path / "cases").mkdir()
    export = tmp_path / "refunds.csv"
    export.write_text("case_id\nA\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Refund No" = "case_id"\n', encoding="utf-8")
    args = ["batch", str(export), "--cases-root", str(tmp_path / "cases")]
    result = CliRunner().invoke(cli, args + ["--out", str(tmp_path / "o"), "--mapping", str(mapping)])
    assert result.exit_code == 2 and "does not have: Refund No" in result.stderr
    result = CliRunner().invoke(cli, args + ["--out", str(tmp_path / "cases" / "packs")])
    assert result.exit_code == 2 and "--out lies inside --cases-root" in result.stderr
    result = CliRunner().invoke(cli, args + ["--out", str(tmp_path / "o"), "--shard", "4/3"])
    assert result.exit_code == 2 and "--shard" in result.stderr


def test_carrier_alias_in_case_toml_is_not_a_difference(tmp_path):
    """圆通 in case.toml and yuantong in the export name the same carrier."""
    from evidencepack.pipeline import analyse

    case = make_case(tmp_path / "cases")
    text = (case / "case.toml").read_text(encoding="utf-8")
    (case / "case.toml").write_text(text.replace('carrier = "yuantong"', 'carrier = "圆通"'),
                                    encoding="utf-8")
    same = analyse(case, defaults={"tracking.carrier": "yuantong"})
    assert same.differs == []
    other = analyse(case, defaults={"tracking.carrier": "zhongtong"})
    assert [d[0] for d in other.differs] == ["tracking.carrier"]


@pytest.mark.parametrize("reason, expected", [
    ("售后服务态度恶劣", "after_sales_service"), ("售后态度恶劣", "after_sales_service"),
    ("客服态度差，拒绝售后", "after_sales_service"), ("人为损坏", "buyer_misuse"),
    ("已收到货仅退款", "refund_only_in_hand"), ("仅退款", None),
    ("快递显示疑难件", "problem_parcel"), ("超派件无法送达", "problem_parcel"),
])
def test_the_reason_table_names_the_newer_dispute_types(reason, expected):
    from evidencepack.judge.checklist import load_checklists

    table = ReasonTable()
    assert table.lookup(reason)[0] == expected
    assert table.types() == set(load_checklists())


def test_a_second_batch_on_the_same_out_is_refused(tmp_path):
    """Two runs on one --out left a report whose hashes did not match the files: the
    later run rebuilt packs the earlier had reported. Shards of one split share it."""
    from evidencepack.team.batch import OutLock

    root = tmp_path / "cases"
    make_case(root, case_id="TB-L-1", dispute_type="not_received", photos=1)
    export = write_export(tmp_path / "refunds.csv", [_row("TB-L-1", "未收到货")],
                          chinese=False, encoding="utf-8-sig")
    out, report = tmp_path / "out", tmp_path / "report.json"
    args = ["batch", str(export), "--cases-root", str(root), "--out", str(out), "-j", "1",
            "--now", NOW, "--generated-at", GENERATED_AT, "--report", str(report)]
    for held, extra in ((None, []), ((1, 2), [])):
        with OutLock(out, shared=held is not None):  # the other batch, still running
            result = CliRunner().invoke(cli, args + extra)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (
            f"evidencepack: error: {out}: another batch is writing to this folder; its report "
            "would name packs this run replaces (wait for it to finish, or choose another --out)")
        assert not report.exists() and not list(out.iterdir())
    with OutLock(out, shared=True):
        result = CliRunner().invoke(cli, args + ["--shard", "2/2"])
    assert result.exit_code in (0, 1), result.output
    result = CliRunner().invoke(cli, args)  # and once the other is done
    assert result.exit_code == 0, result.output
    rows = json.loads(report.read_text(encoding="utf-8"))["rows"]
    assert [p.name for p in out.iterdir()] and rows[0]["status"] in ("built", "skipped")
