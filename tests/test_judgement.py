"""Issue 14's checklist half: items that apply only when their condition holds,
consent to proxy signing by topic and time, documents by type, the seeds' clocks,
and the labelled scenarios' item-verdict accuracy."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from test_checklists import (CALM_CHAT, NOW, case_of, check, deadlines, good_image, item,
                             make_case, run, write_chat, write_tracking)

from evidencepack.judge.checking import CheckContext, evaluate
from evidencepack.judge.checklist import load_checklists
from evidencepack.models import ChatMessage, ChatRole, TrackingFacts, TrackingTimeline
from evidencepack.judge.scenarios import load_scenario, run_scenario, score

# The floor the test part's item-verdict accuracy must keep (issue 14's target).
# Every item the checker decides alone is right on the test part (see the test
# below); what is left are messages the tagger reads differently.
ACCURACY_FLOOR = 0.95

FRONT_DESK = [("2024-03-09 16:40:00", "已揽收"), ("2024-03-11 09:00:00", "快递员正在派件"),
              ("2024-03-11 11:32:00", "已签收，签收人：前台")]
SELF = [("2024-03-09 16:40:00", "已揽收"), ("2024-03-11 18:20:00", "已签收，签收人：本人签收")]
DELIVERED = datetime.fromisoformat("2024-03-11T11:32:00+08:00")


def _msg(at: str, text: str, *tags: str, role: ChatRole = ChatRole.buyer) -> ChatMessage:
    return ChatMessage(at=datetime.fromisoformat(at), sender=role.value, role=role, text=text,
                       tags=list(tags), source="chat/c.csv", line=1)


def _consent(messages: list[ChatMessage], signer: str = "third_party",
             delivered: datetime | None = DELIVERED) -> dict:
    """The not_received report on a context holding only these tagged messages."""
    ctx = CheckContext(events={"delivered_at": delivered}, fields={}, evidence=[],
                       messages=messages, tracking=TrackingTimeline(),
                       facts=TrackingFacts(signer_kind=signer))
    report = evaluate(load_checklists()["not_received"], ctx, "en")
    return {i.id: i for i in report.items}


# --- consent to proxy signing: a topic and a time -----------------------------------

def test_consent_before_delivery_meets_the_item():
    items = _consent([_msg("2024-03-11T09:05:00+08:00", "放前台就行",
                           "buyer_consents_proxy_signing")])
    assert items["buyer_consent"].status == "met"


def test_consent_within_the_slack_after_the_scan_still_counts():
    items = _consent([_msg("2024-03-11T12:30:00+08:00", "可以，给门卫吧",
                           "buyer_consents_proxy_signing")])
    assert items["buyer_consent"].status == "met"


def test_agreement_after_delivery_is_no_consent_and_is_named_as_too_late():
    items = _consent([_msg("2024-03-12T10:25:00+08:00", "那就放前台吧",
                           "buyer_consents_proxy_signing")])
    consent = items["buyer_consent"]
    assert consent.status == "missing"
    assert any("came after delivered_at (2024-03-11 11:32)" in r and "那就放前台吧" in r
               for r in consent.reasons)


def test_an_agreement_to_a_resend_is_not_consent_to_proxy_signing():
    items = _consent([_msg("2024-03-12T10:25:00+08:00", "好的，那就补发吧", "buyer_agrees",
                           "agrees_resend")])
    assert items["buyer_consent"].status == "missing"


def test_an_objection_before_delivery_fails_the_item_quoting_it():
    items = _consent([
        _msg("2024-03-10T20:00:00+08:00", "放驿站也行", "buyer_consents_proxy_signing"),
        _msg("2024-03-11T08:00:00+08:00", "还是别放驿站了，送上门", "buyer_objects_proxy_signing")])
    consent = items["buyer_consent"]
    assert consent.status == "missing"
    assert consent.reasons == ["the buyer objected (2024-03-11 08:00): \u201c还是别放驿站了，送上门\u201d"]


def test_an_objection_after_prior_consent_is_quoted_but_the_consent_stands():
    items = _consent([
        _msg("2024-03-10T20:00:00+08:00", "放门卫", "buyer_consents_proxy_signing"),
        _msg("2024-03-12T08:00:00+08:00", "谁让你放门卫的", "buyer_objects_proxy_signing")])
    assert items["buyer_consent"].status == "met"
    assert "objected afterwards" in items["buyer_consent"].reasons[0]


def test_consent_with_no_known_delivery_is_weak():
    items = _consent([_msg("2024-03-11T09:05:00+08:00", "放前台", "buyer_consents_proxy_signing")],
                     delivered=None)
    assert items["buyer_consent"].status == "weak"


# --- not applicable -----------------------------------------------------------------

def test_signed_in_person_makes_consent_and_slip_not_applicable(tmp_path):
    case = make_case(tmp_path / "c", "not_received")
    write_tracking(case, SELF)
    write_chat(case, CALM_CHAT)
    result, data = check(case)
    for item_id in ("signing_slip", "buyer_consent", "buyer_confirmed_receipt"):
        assert item(data, item_id)["status"] == "not_applicable"
        assert item(data, item_id)["reasons"] == [
            "The tracking shows the buyer signed in person: no consent to third-party "
            "signing is needed"]
    # Not applicable counts neither way: tracking and chat are the two required units.
    assert (data["complete"], data["score"], result.exit_code) == (True, 1.0, 0)
    text = run("check", case, "--now", NOW, "--lang", "zh").stdout
    assert "–" in text and "物流显示买家本人签收，无需代签同意" in text


def test_front_desk_signing_asks_for_slip_and_consent(tmp_path):
    case = make_case(tmp_path / "c", "not_received")
    write_tracking(case, FRONT_DESK)
    write_chat(case, CALM_CHAT)
    result, data = check(case)
    assert item(data, "signing_slip")["status"] == "missing"
    assert item(data, "buyer_consent")["status"] == "missing"
    assert result.exit_code == 1 and data["complete"] is False


def test_no_return_yet_makes_return_photos_not_applicable(tmp_path):
    case = make_case(tmp_path / "c", "no_reason_return")
    _, data = check(case)
    assert item(data, "return_receipt_photos")["status"] == "not_applicable"
    assert item(data, "return_tracking")["status"] == "not_applicable"
    case2 = make_case(tmp_path / "d", "no_reason_return",
                      extra="return_delivered_at = 2024-03-12T09:00:00+08:00")
    _, data = check(case2)
    assert item(data, "return_receipt_photos")["status"] == "missing"


# --- documents by type ----------------------------------------------------------------

def test_any_file_in_reports_no_longer_is_a_signing_slip(tmp_path):
    case = make_case(tmp_path / "c", "not_received")
    write_tracking(case, FRONT_DESK)
    good_image(case / "reports" / "质检报告.jpg")
    _, data = check(case)
    slip = item(data, "signing_slip")
    assert slip["status"] == "missing"
    assert slip["reasons"] == ["needs at least 1 Signing slip, has 0 "
                               "(also present: D1 Inspection or appraisal report)"]
    good_image(case / "reports" / "签收底单.jpg", seed=3)
    _, data = check(case)
    assert item(data, "signing_slip")["status"] == "met"
    assert {e["path"]: e["doc_type"] for e in data["evidence"]} == {
        "reports/质检报告.jpg": "inspection_report", "reports/签收底单.jpg": "signing_slip",
        "tracking/t.csv": None}


def test_case_toml_gives_a_document_its_type(tmp_path):
    case = make_case(tmp_path / "c", "not_received", extra=(
        '[[evidence]]\npath = "reports/scan001.jpg"\ndoc_type = "signing_slip"\n'))
    write_tracking(case, FRONT_DESK)
    good_image(case / "reports" / "scan001.jpg")
    _, data = check(case)
    assert item(data, "signing_slip")["status"] == "met"


def test_an_unknown_doc_type_is_one_line_naming_the_field(tmp_path):
    case = make_case(tmp_path / "c", "not_received", extra=(
        '[[evidence]]\npath = "reports/a.jpg"\ndoc_type = "receipt"\n'))
    good_image(case / "reports" / "a.jpg")
    result = run("check", case, "--now", NOW)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"evidencepack: error: {case / 'case.toml'}: evidence.0.doc_type")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_a_pdf_is_typed_by_the_text_of_its_first_page(tmp_path):
    from weasyprint import HTML

    case = make_case(tmp_path / "c", "quality_defect")
    (case / "reports").mkdir()
    HTML(string="<p>产品质量检验报告</p><p>检验结论：合格</p>").write_pdf(
        case / "reports" / "scan0001.pdf")
    _, data = check(case)
    assert item(data, "inspection_report")["status"] == "met"
    assert data["evidence"][0]["doc_type"] == "inspection_report"


def test_a_single_appraisal_does_not_prove_a_counterfeit_claims_supply(tmp_path):
    case = make_case(tmp_path / "c", "counterfeit")
    good_image(case / "reports" / "鉴定报告.jpg")
    _, data = check(case)
    assert item(data, "brand_authorisation")["status"] == "missing"
    assert item(data, "purchase_records")["status"] == "missing"
    assert item(data, "appraisal_report")["status"] == "met"
    good_image(case / "reports" / "品牌授权书.jpg", seed=1)
    good_image(case / "reports" / "进货单.jpg", seed=2)
    _, data = check(case)
    assert item(data, "brand_authorisation")["status"] == "met"
    assert item(data, "purchase_records")["status"] == "met"


def test_the_samples_inspection_report_is_used_by_an_item():
    repo = Path(__file__).resolve().parent.parent
    _, data = check(repo / "samples" / "colour-mismatch")
    report = item(data, "inspection_report")
    assert report["status"] == "met" and report["evidence"] == ["D1"]


# --- the seeds' clocks -------------------------------------------------------------------

def test_return_and_refund_clocks_start_from_their_case_times():
    case = case_of(extra="return_approved_at = 2024-03-12T12:00:00+08:00\n"
                         "return_waybill_at = 2024-03-13T09:00:00+08:00\n"
                         "shipping_insurance = true\n"
                         "return_delivered_at = 2024-03-15T14:00:00+08:00\n"
                         "return_confirmed_at = 2024-03-16T10:00:00+08:00")
    d = deadlines(case, NOW)
    assert d["return_ship_by"].at.isoformat() == "2024-03-22T12:00:00+08:00"  # 10 days
    assert d["return_insurance_refund_at"].at.isoformat() == "2024-03-22T09:00:00+08:00"
    assert d["return_insurance_refund_at"].assumed is True  # "about 9 days"
    assert d["return_confirm_by"].at.isoformat() == "2024-03-20T14:00:00+08:00"  # 5 days
    assert d["refund_by"].at.isoformat() == "2024-03-18T10:00:00+08:00"  # 48 h
    assert "return_ship_by" not in deadlines(case_of(), NOW)


def test_the_2022_rule_counts_the_sellers_confirmation_from_the_waybill():
    case = case_of(opened_at="2022-01-28T10:00:00+08:00",
                   extra="return_waybill_at = 2022-01-30T09:00:00+08:00\n"
                         "return_delivered_at = 2022-02-03T14:00:00+08:00")
    d = deadlines(case, "2022-02-01T10:00:00+08:00")["return_confirm_by"]
    assert d.at.isoformat() == "2022-02-19T09:00:00+08:00"  # 20 days after the waybill
    assert d.everyday_at.isoformat() == "2022-02-08T14:00:00+08:00"  # 5 days after arrival
    assert (d.source, d.assumed) == ("taobao holiday rule: 春节 2022", True)


def test_logistics_appeal_runs_from_the_first_anomaly_in_the_tracking(tmp_path):
    case = make_case(tmp_path / "c", "problem_parcel")
    write_tracking(case, [("2024-03-09 16:40:00", "已揽收"),
                          ("2024-03-10 09:00:00", "超区件，当地无网点，暂时无法派送")])
    _, data = check(case)
    appeal = next(d for d in data["deadlines"] if d["name"] == "logistics_appeal_by")
    assert appeal["at"] == "2024-03-13T09:00:00+08:00"
    assert appeal["source"] == "taobao profile: logistics_appeal_hours (tracking: problem (tracking/t.csv))"


def test_a_stall_starts_the_appeal_clock_after_seven_days_without_an_update(tmp_path):
    case = make_case(tmp_path / "c", "logistics_stalled")
    write_tracking(case, [("2024-03-01 16:40:00", "已揽收"), ("2024-03-02 08:00:00", "运输中")])
    _, data = check(case)
    appeal = next(d for d in data["deadlines"] if d["name"] == "logistics_appeal_by")
    # Abnormal from 03-09 08:00 (7 days of silence), appeal within 72 h of that.
    assert (appeal["at"], appeal["status"]) == ("2024-03-12T08:00:00+08:00", "overdue")


def test_a_rule_complaint_goes_straight_to_intervention():
    case = case_of(extra="rule_complaint_at = 2024-03-12T11:00:00+08:00")
    d = deadlines(case, NOW)
    assert d["intervention_possible_at"].at.isoformat() == "2024-03-12T11:00:00+08:00"
    assert d["intervention_possible_at"].status == "passed"
    assert d["evidence_due"].at.isoformat() == "2024-03-15T11:00:00+08:00"


def test_check_shows_the_everyday_deadline_beside_a_holiday_one(tmp_path):
    case = make_case(tmp_path / "c", "quality_defect")
    text = (case / "case.toml").read_text(encoding="utf-8").replace(
        "opened_at = 2024-03-12T10:15:00+08:00", "opened_at = 2020-01-20T10:00:00+08:00")
    (case / "case.toml").write_text(text, encoding="utf-8")
    result = run("check", case, "--now", "2020-01-21T10:00:00+08:00", "--lang", "zh", "--json")
    respond = json.loads(result.stdout)["deadlines"][0]
    assert (respond["at"], respond["assumed"], respond["everyday_at"]) == (
        "2020-02-04T10:00:00+08:00", True, "2020-01-22T10:00:00+08:00")
    text = run("check", case, "--now", "2020-01-21T10:00:00+08:00", "--lang", "zh").stdout
    assert "推定，平日规则 2020-01-22 10:00" in text


@pytest.mark.parametrize("field", ["return_approved_at", "return_waybill_at",
                                   "return_confirmed_at", "logistics_anomaly_at",
                                   "rule_complaint_at"])
def test_new_time_fields_are_validated_like_the_others(tmp_path, field):
    case = make_case(tmp_path / "c", extra=f'{field} = "next tuesday"')
    result = run("check", case, "--now", NOW)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"evidencepack: error: {case / 'case.toml'}: {field}")
    assert len(result.stderr.splitlines()) == 1


def test_init_documents_the_new_fields_and_its_case_toml_checks(tmp_path):
    result = run("init", tmp_path / "new", "--type", "refund_only_in_hand")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "new" / "case.toml").read_text(encoding="utf-8")
    for field in ("return_approved_at", "return_waybill_at", "shipping_insurance",
                  "return_confirmed_at", "logistics_anomaly_at", "rule_complaint_at",
                  "doc_type"):
        assert field in text
    assert run("check", tmp_path / "new", "--now", NOW).exit_code in (0, 1)


# --- the labelled scenarios -----------------------------------------------------------

def test_front_desk_scenarios_read_as_the_issue_says():
    """The issue's failure cases, on the scenarios written for them."""
    root = Path(__file__).resolve().parent.parent / "corpus" / "scenarios"

    def verdicts(name: str) -> dict[str, str]:
        path = next(root.glob(f"*/{name}.toml"))
        return {i.id: i.status for i in run_scenario(load_scenario(path)).items}

    assert verdicts("nr01_frontdesk_resend_after")["buyer_consent"] == "missing"
    assert verdicts("nr03_signed_in_person")["buyer_consent"] == "not_applicable"
    assert verdicts("nr06_reports_not_a_slip")["signing_slip"] == "missing"
    cf = verdicts("cf01_single_appraisal")
    assert (cf["brand_authorisation"], cf["purchase_records"]) == ("missing", "missing")


def test_test_part_item_verdict_accuracy_keeps_its_floor():
    metrics = score("test")
    assert metrics.scenarios >= 20 and metrics.items >= 150
    assert metrics.accuracy >= ACCURACY_FLOOR, [m.model_dump() for m in metrics.mismatches]


def test_every_test_part_mismatch_is_a_chat_tag_the_tagger_missed():
    """What the checker decides from evidence, tracking and times is right on every
    test scenario; a wrong verdict comes from a message the tagger did not tag."""
    lists = load_checklists()
    root = Path(__file__).resolve().parent.parent / "corpus" / "scenarios" / "test"
    types = {p.stem: load_scenario(p).case["dispute_type"] for p in root.glob("*.toml")}
    for m in score("test").mismatches:
        rules = next(i for i in lists[types[m.scenario]].items if i.id == m.item).rules
        assert all(r.kind in ("chat_tag", "chat_tag_absent") for r in rules), m


def test_a_scenario_must_name_every_item(tmp_path):
    from evidencepack.errors import InputError

    part = tmp_path / "dev"
    part.mkdir()
    (part / "a.toml").write_text('id = "a"\n[case]\ndispute_type = "invoice"\n'
                                 'opened_at = 2024-03-12T10:00:00\n[expect]\nchat_record = "met"\n',
                                 encoding="utf-8")
    with pytest.raises(InputError, match="expect must name every item of invoice"):
        score("dev", root=tmp_path)


def test_zh_reasons_name_kinds_times_and_document_types_in_chinese(tmp_path):
    case = make_case(tmp_path / "c", "not_received")
    write_tracking(case, FRONT_DESK)
    good_image(case / "preship" / "p.jpg", taken="2024:03:12 09:00:00")
    _, data = check(case, lang="zh")
    reasons = " ".join(r for i in data["items"] for r in i["reasons"])
    assert "需要至少 1 份签收底单，现有 0 份" in reasons
    assert "晚于发货时间" in reasons and "需要至少 1 份商品详情页截图" in reasons
    for internal in ("preship_photo", "listing_screenshot", "shipped_at", "signing_slip"):
        assert internal not in reasons
