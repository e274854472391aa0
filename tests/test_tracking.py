"""Tracking exports in, one oldest-first timeline and the dispute facts out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidencepack.errors import InputError, ParseError
from evidencepack.models import TrackingEvent, TrackingStatus as S, TrackingTimeline
from evidencepack.inputs.carriers import (GAP_THRESHOLD_HOURS, STALLED_THRESHOLD_HOURS,
                                          carrier_name, classify, normalise_carrier,
                                          status_from_code)
from evidencepack.inputs.tracking import merge_timelines, parse_tracking_file
from evidencepack.judge.tracking_facts import derive_facts

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def parse(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8", **kw):
    return parse_tracking_file(write(folder, name, content, encoding), name, tz=SH, **kw)


# A YTO parcel from Yiwu to Hangzhou signed by the gatekeeper, as Kuaidi100 returns it
# (resultv2=1: per-event status and statusCode; data newest first).
KD100 = {
    "message": "ok", "nu": "YT7391234567890", "ischeck": "1", "condition": "F00",
    "com": "yuantong", "status": "200", "state": "3",
    "data": [
        {"time": "2024-03-10 18:20:11", "ftime": "2024-03-10 18:20:11",
         "context": "【杭州市】您的快件已签收，签收人：门卫，如有疑问请电联快递员：张三【13800000000】",
         "location": "杭州市", "status": "签收", "areaCode": "CN330106000000",
         "areaName": "浙江,杭州市,西湖区", "statusCode": "3"},
        {"time": "2024-03-10 08:05:40", "ftime": "2024-03-10 08:05:40",
         "context": "【杭州市】浙江省杭州市西湖区文三路公司 派件员：张三 13800000000 正在为您派件",
         "location": "杭州市", "status": "派件", "statusCode": "5"},
        {"time": "2024-03-09 21:12:03", "ftime": "2024-03-09 21:12:03",
         "context": "【杭州市】快件已到达 浙江省杭州市西湖区文三路公司",
         "location": "杭州市", "status": "在途", "statusCode": "0"},
        {"time": "2024-03-09 02:31:17", "ftime": "2024-03-09 02:31:17",
         "context": "【金华市】快件已从 义乌转运中心 发出，准备发往 杭州转运中心",
         "location": "金华市", "status": "在途", "statusCode": "0"},
        {"time": "2024-03-08 16:40:00", "ftime": "2024-03-08 16:40:00",
         "context": "【金华市】圆通速递 浙江省金华市义乌市公司 已揽收",
         "location": "金华市", "status": "揽收", "statusCode": "1"},
    ],
}


# --- Kuaidi100 -----------------------------------------------------------------------

def test_kuaidi100_reply_comes_out_oldest_first_with_its_facts(tmp_path):
    tl = parse(tmp_path, "tracking/yto.json", json.dumps(KD100, ensure_ascii=False))

    assert [e.at for e in tl.events] == [
        at("2024-03-08T16:40:00"), at("2024-03-09T02:31:17"), at("2024-03-09T21:12:03"),
        at("2024-03-10T08:05:40"), at("2024-03-10T18:20:11")]
    assert [e.status for e in tl.events] == [
        S.picked_up, S.in_transit, S.arrived, S.out_for_delivery, S.signed_by_third_party]
    assert tl.carrier == "yuantong"
    assert tl.carrier_name == "圆通速递"
    assert tl.number == "YT7391234567890"
    assert tl.state == "3"
    first = tl.events[0]
    assert first.source == "tracking/yto.json"
    assert first.line == 5  # its position in the reply's data array
    assert first.location == "金华市"
    assert first.code == "1"
    assert tl.warnings == []


def test_kuaidi100_subscription_push_is_read_through_its_wrapper(tmp_path):
    push = {"status": "polling", "billstatus": "got", "message": "", "autoCheck": "0",
            "comOld": "", "comNew": "", "lastResult": KD100}
    tl = parse(tmp_path, "push.json", json.dumps(push, ensure_ascii=False))
    assert len(tl.events) == 5
    assert tl.events[-1].status is S.signed_by_third_party
    assert tl.number == "YT7391234567890"


def test_kuaidi100_without_per_event_codes_classifies_the_text(tmp_path):
    reply = dict(KD100, data=[{"time": r["time"], "ftime": r["ftime"], "context": r["context"]}
                              for r in KD100["data"]])
    tl = parse(tmp_path, "plain.json", json.dumps(reply, ensure_ascii=False))
    assert [e.status for e in tl.events] == [
        S.picked_up, S.in_transit, S.arrived, S.out_for_delivery, S.signed_by_third_party]
    assert tl.events[0].location == "金华市"  # taken from the 【】 prefix


def test_kuaidi100_query_error_names_the_file_and_quotes_the_api(tmp_path):
    reply = {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}
    with pytest.raises(ParseError) as caught:
        parse(tmp_path, "tracking/err.json", json.dumps(reply, ensure_ascii=False))
    assert str(caught.value) == (
        'tracking/err.json: Kuaidi100 returned no tracking: "查询无结果，请隔段时间再查" '
        "(code 500) (query the number again later, or copy the courier's tracking page "
        "into a .txt file)")
    assert caught.value.path == "tracking/err.json"


def test_kuaidi100_status_201_with_empty_data_is_an_error_not_an_empty_timeline(tmp_path):
    reply = {"message": "快递公司参数异常：单号不存在或者已经过期", "nu": "YT0000000000",
             "ischeck": "0", "com": "yuantong", "status": "201", "state": "0", "data": []}
    with pytest.raises(ParseError) as caught:
        parse(tmp_path, "t.json", json.dumps(reply, ensure_ascii=False))
    assert caught.value.bare_message == (
        'Kuaidi100 returned no tracking: "快递公司参数异常：单号不存在或者已经过期" (code 201)')


def test_kuaidi100_aborted_push_is_an_error(tmp_path):
    push = {"status": "abort", "billstatus": "", "message": "3天查询无记录",
            "lastResult": {"message": "ok", "nu": "YT1", "com": "yuantong", "status": "200",
                           "state": "0", "data": []}}
    with pytest.raises(ParseError, match="3天查询无记录"):
        parse(tmp_path, "push.json", json.dumps(push, ensure_ascii=False))


def test_ok_reply_with_no_events_is_an_empty_timeline_with_a_warning(tmp_path):
    reply = dict(KD100, data=[])
    tl = parse(tmp_path, "t.json", json.dumps(reply))
    assert tl.events == []
    assert [w.message for w in tl.warnings] == ["no tracking events in the file"]


STATE_CODES = [
    ("0", S.in_transit), ("1", S.picked_up), ("2", S.problem), ("3", S.signed),
    ("4", S.returned), ("5", S.out_for_delivery), ("6", S.returning), ("7", S.forwarded),
    ("8", S.customs), ("10", S.customs), ("11", S.customs), ("12", S.customs),
    ("13", S.problem), ("14", S.refused),
    # sub-codes: the leading digits give the family unless the sub-code says more
    ("101", S.unknown), ("102", S.unknown), ("103", S.picked_up), ("201", S.problem),
    ("203", S.refused), ("208", S.held), ("301", S.signed), ("302", S.signed),
    ("303", S.signed_by_third_party), ("304", S.locker_or_station), ("401", S.returned),
    ("501", S.locker_or_station), ("601", S.returning), ("1001", S.customs),
    ("1101", S.customs), ("1301", S.problem), ("1401", S.refused),
]


@pytest.mark.parametrize(("code", "expected"), STATE_CODES)
def test_every_kuaidi100_state_code_maps_to_a_status(tmp_path, code, expected):
    reply = dict(KD100, data=[{"time": "2024-03-10 18:20:11", "context": "快件状态更新",
                               "statusCode": code}])
    tl = parse(tmp_path, "t.json", json.dumps(reply, ensure_ascii=False))
    assert tl.events[0].status is expected
    assert tl.events[0].code == code
    assert status_from_code(code) is expected


def test_status_code_wins_over_words_but_text_may_name_the_signer(tmp_path):
    reply = dict(KD100, data=[
        # "派件" in a signing text does not make it out-for-delivery
        {"time": "2024-03-10 18:20:11", "context": "已签收，派件员：李四", "statusCode": "3"},
        # a family code narrowed by the text: signed at a station
        {"time": "2024-03-10 12:00:00", "context": "快件已存放至菜鸟驿站，请凭取件码取件",
         "statusCode": "3"},
        # a stray word cannot turn a pickup into a signature
        {"time": "2024-03-08 16:40:00", "context": "已揽收，收件员签收了底单", "statusCode": "1"},
    ])
    tl = parse(tmp_path, "t.json", json.dumps(reply, ensure_ascii=False))
    assert [e.status for e in tl.events] == [S.picked_up, S.locker_or_station, S.signed]


def test_per_event_status_word_is_used_when_there_is_no_code(tmp_path):
    reply = dict(KD100, data=[
        {"time": "2024-03-10 18:20:11", "context": "快件处理中", "status": "疑难"},
        {"time": "2024-03-10 10:00:00", "context": "快件处理中", "status": "转投"},
    ])
    tl = parse(tmp_path, "t.json", json.dumps(reply, ensure_ascii=False))
    assert [e.status for e in tl.events] == [S.forwarded, S.problem]


def test_plain_json_list_of_events(tmp_path):
    events = [
        {"time": "2024-03-08 16:40", "desc": "【义乌市】已揽收", "location": "义乌市"},
        {"time": "2024-03-09 09:00", "desc": "快件离开义乌分拨中心，发往杭州", "location": "义乌市"},
        {"time": "2024-03-10 18:20", "desc": "已签收，签收人：本人", "status": "签收"},
    ]
    tl = parse(tmp_path, "list.json", json.dumps(events, ensure_ascii=False))
    assert [e.status for e in tl.events] == [S.picked_up, S.in_transit, S.signed]
    assert tl.carrier is None and tl.number is None


def test_json_records_without_time_are_warned_with_their_position(tmp_path):
    events = [{"time": "2024-03-08 16:40", "context": "已揽收"},
              {"time": "昨天", "context": "运输中"}, "not an object"]
    tl = parse(tmp_path, "list.json", json.dumps(events, ensure_ascii=False))
    assert len(tl.events) == 1
    assert [(w.line, w.message) for w in tl.warnings] == [
        (2, "record has no readable time ('昨天'); skipped"),
        (3, "record is not an object; skipped")]


def test_invalid_json_is_a_parse_error_with_the_line(tmp_path):
    with pytest.raises(ParseError) as caught:
        parse(tmp_path, "t.json", '{"message": "ok",\n "data": [}')
    assert caught.value.line == 2
    assert caught.value.path == "t.json"


# --- CSV -----------------------------------------------------------------------------

CSV_EN = """time,location,description,status
2024-03-08 16:40:00,义乌市,【义乌市】圆通速递 义乌公司 已揽收,
2024-03-09 02:31:17,义乌市,"快件已从义乌转运中心发出,准备发往杭州转运中心",
2024-03-10 18:20:11,杭州市,已签收，签收人：本人,签收
"""

CSV_ZH = """时间,所在地,物流信息,状态
2024/03/10 18:20:11,杭州市,您的快件已由门卫代签,已签收
2024/03/08 16:40,义乌市,已揽件,揽收
"""


def test_csv_with_english_header(tmp_path):
    tl = parse(tmp_path, "t.csv", CSV_EN)
    assert [(e.status, e.location, e.line) for e in tl.events] == [
        (S.picked_up, "义乌市", 2), (S.in_transit, "义乌市", 3), (S.signed, "杭州市", 4)]
    assert tl.events[1].text == "快件已从义乌转运中心发出,准备发往杭州转运中心"


def test_csv_with_chinese_header_newest_first(tmp_path):
    tl = parse(tmp_path, "t.csv", CSV_ZH)
    assert [e.status for e in tl.events] == [S.picked_up, S.signed_by_third_party]
    assert tl.events[0].at == at("2024-03-08T16:40:00")


def test_csv_missing_required_column_names_it(tmp_path):
    with pytest.raises(ParseError) as caught:
        parse(tmp_path, "t.csv", "时间,地点,状态\n2024-03-10 18:20,杭州,签收\n")
    assert caught.value.bare_message == (
        "missing required column 'description' (描述 / 物流信息 / 内容) in the header row")
    assert caught.value.line == 1


def test_csv_bad_rows_are_warnings_with_line_numbers(tmp_path):
    tl = parse(tmp_path, "t.csv",
               "time,location,description\n"
               "2024-03-08 16:40,义乌,已揽收\n"
               "三月九日,义乌,运输中\n"
               "\n"
               "2024-03-10 18:20,杭州,\n"
               "2024-03-10 19:00,杭州,已签收\n")
    assert len(tl.events) == 2
    assert [(w.line, w.message) for w in tl.warnings] == [
        (3, "row has no readable time ('三月九日'); skipped"),
        (5, "row has no description; skipped")]


def test_csv_title_lines_above_the_header_give_carrier_and_number(tmp_path):
    tl = parse(tmp_path, "t.csv",
               "快递公司：中通快递\n运单号：78901234567890\n"
               "时间,地点,描述\n2024-03-08 16:40,义乌,已揽收\n")
    assert (tl.carrier, tl.carrier_name, tl.number) == ("zhongtong", "中通快递", "78901234567890")
    assert tl.warnings == []


def test_csv_in_gbk(tmp_path):
    tl = parse(tmp_path, "t.csv", CSV_ZH, encoding="gbk")
    assert tl.events[-1].text == "您的快件已由门卫代签"


def test_tab_separated_utf16_as_excel_saves_unicode_text(tmp_path):
    content = CSV_ZH.replace(",", "\t").replace("\n", "\r\n")
    tl = parse(tmp_path, "t.csv", content, encoding="utf-16")
    assert [e.status for e in tl.events] == [S.picked_up, S.signed_by_third_party]


def test_csv_content_in_a_txt_file_is_read_as_csv(tmp_path):
    tl = parse(tmp_path, "export.txt", CSV_EN)
    assert len(tl.events) == 3


# --- page text -----------------------------------------------------------------------

PAGE_NEWEST_FIRST = """圆通速递
运单号：YT7391234567890
2024-03-10 周日 18:20:11
【杭州市】您的快件已签收，签收人：门卫
2024-03-10 08:05:40
【杭州市】派件员：张三 13800000000
正在为您派件
2024-03-09 21:12
【杭州市】快件已到达杭州转运中心
2024-03-08 16:40:00 【金华市】圆通速递 义乌公司 已揽收
"""

PAGE_OLDEST_FIRST = """2024-03-08 16:40:00 【金华市】圆通速递 义乌公司 已揽收
2024-03-09 21:12
【杭州市】快件已到达杭州转运中心
2024-03-10 08:05:40
【杭州市】派件员：张三 13800000000
正在为您派件
2024-03-10 周日 18:20:11
【杭州市】您的快件已签收，签收人：门卫
"""


def test_page_text_newest_first_is_normalised(tmp_path):
    tl = parse(tmp_path, "page.txt", PAGE_NEWEST_FIRST)
    assert [e.status for e in tl.events] == [
        S.picked_up, S.arrived, S.out_for_delivery, S.signed_by_third_party]
    assert tl.events[2].text == "【杭州市】派件员：张三 13800000000 正在为您派件"
    assert tl.events[1].at == at("2024-03-09T21:12:00")
    assert tl.events[-1].line == 3
    assert (tl.carrier, tl.number) == ("yuantong", "YT7391234567890")
    assert tl.warnings == []


def test_page_text_oldest_first_gives_the_same_timeline(tmp_path):
    newest = parse(tmp_path, "a.txt", PAGE_NEWEST_FIRST)
    oldest = parse(tmp_path, "b.txt", PAGE_OLDEST_FIRST)
    assert [(e.at, e.status, e.text) for e in oldest.events] == [
        (e.at, e.status, e.text) for e in newest.events]


def test_page_text_with_date_and_time_on_separate_lines(tmp_path):
    tl = parse(tmp_path, "app.txt", "2024-03-10\n周日\n18:20:11\n已签收，签收人：本人\n"
                                    "08:05\n派送中\n")
    assert [(e.at, e.status) for e in tl.events] == [
        (at("2024-03-10T08:05:00"), S.out_for_delivery), (at("2024-03-10T18:20:11"), S.signed)]


def test_lines_before_the_first_time_are_warned(tmp_path):
    tl = parse(tmp_path, "page.txt", "物流详情\n订单已发货\n2024-03-08 16:40 已揽收\n")
    assert [(w.line, w.message) for w in tl.warnings] == [
        (1, "2 line(s) before the first event ignored, starting with '物流详情'")]


def test_text_without_any_time_is_a_parse_error(tmp_path):
    with pytest.raises(ParseError, match="no tracking times found"):
        parse(tmp_path, "page.txt", "已签收\n派送中\n")


def test_time_without_description_is_warned(tmp_path):
    tl = parse(tmp_path, "page.txt", "2024-03-08 16:40 已揽收\n2024-03-09 10:00\n")
    assert len(tl.events) == 1
    assert [(w.line, w.message) for w in tl.warnings] == [(2, "time with no description; skipped")]


@pytest.mark.parametrize("encoding", ["gbk", "utf-16", "gb18030"])
def test_page_text_in_chinese_windows_encodings(tmp_path, encoding):
    tl = parse(tmp_path, "page.txt", PAGE_NEWEST_FIRST.replace("\n", "\r\n"), encoding=encoding)
    assert tl.events[-1].text == "【杭州市】您的快件已签收，签收人：门卫"
    assert tl.number == "YT7391234567890"


def test_empty_file_is_a_parse_error(tmp_path):
    with pytest.raises(ParseError, match="the file is empty"):
        parse(tmp_path, "page.txt", "   \n")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        parse_tracking_file(tmp_path / "nope.json", "nope.json", tz=SH)


# --- times, order, duplicates -------------------------------------------------------------

def test_naive_times_get_the_case_zone_and_aware_times_are_kept(tmp_path):
    tl = parse(tmp_path, "t.csv", "time,location,description\n"
                                  "2024-03-08 16:40:00,义乌,已揽收\n"
                                  "2024-03-09T01:00:00+00:00,义乌,运输中\n")
    naive, aware = tl.events
    assert naive.at.tzinfo == SH
    assert naive.at.utcoffset() == timedelta(hours=8)
    assert aware.at.utcoffset() == timedelta(0)
    assert aware.at == datetime(2024, 3, 9, 9, 0, tzinfo=SH)


def test_case_zone_is_applied_not_assumed(tmp_path):
    path = write(tmp_path, "t.csv", "time,location,description\n2024-03-08 16:40,LA,已揽收\n")
    tl = parse_tracking_file(path, "t.csv", tz=ZoneInfo("America/Los_Angeles"))
    assert tl.events[0].at.utcoffset() == timedelta(hours=-8)


def test_duplicates_are_dropped(tmp_path):
    tl = parse(tmp_path, "t.csv", "time,location,description\n"
                                  "2024-03-08 16:40,义乌,已揽收\n"
                                  "2024-03-08 16:40,义乌, 已揽收 \n"
                                  "2024-03-09 10:00,杭州,已到达杭州\n")
    assert len(tl.events) == 2
    assert [w.message for w in tl.warnings] == ["1 duplicate event(s) (same time and text) dropped"]


def test_events_out_of_order_are_sorted(tmp_path):
    tl = parse(tmp_path, "t.csv", "time,location,description\n"
                                  "2024-03-08 16:40,义乌,已揽收\n"
                                  "2024-03-10 18:20,杭州,已签收\n"
                                  "2024-03-09 10:00,杭州,已到达杭州\n"
                                  "2024-03-11 10:00,杭州,客户来电咨询\n")
    assert [e.at.day for e in tl.events] == [8, 9, 10, 11]
    assert [w.message for w in tl.warnings] == ["1 event(s) were out of time order; sorted by time"]


def test_reverse_order_csv_is_reversed_silently(tmp_path):
    tl = parse(tmp_path, "t.csv", "time,location,description\n"
                                  "2024-03-10 18:20,杭州,已签收\n"
                                  "2024-03-09 10:00,杭州,已到达杭州\n"
                                  "2024-03-08 16:40,义乌,已揽收\n")
    assert [e.status for e in tl.events] == [S.picked_up, S.arrived, S.signed]
    assert tl.warnings == []


# --- carriers --------------------------------------------------------------------------------

def test_unknown_carrier_code_is_kept_with_a_warning(tmp_path):
    reply = dict(KD100, com="xinbangwuliu")
    tl = parse(tmp_path, "t.json", json.dumps(reply, ensure_ascii=False))
    assert tl.carrier == "xinbangwuliu"
    assert tl.carrier_name is None
    assert len(tl.events) == 5
    assert [w.message for w in tl.warnings] == [
        "unknown carrier 'xinbangwuliu'; kept as given (known codes are in carriers.toml)"]


def test_carrier_and_number_from_the_case_file_win(tmp_path):
    tl = parse(tmp_path, "t.json", json.dumps(KD100), carrier="圆通", number="YT7391234567890")
    assert tl.carrier == "yuantong"
    assert tl.warnings == []
    tl = parse(tmp_path, "t.json", json.dumps(KD100), carrier="ZTO")
    assert tl.carrier == "zhongtong"
    assert [w.message for w in tl.warnings] == [
        "carrier given as 'ZTO' but the file says 'yuantong'; using 'ZTO'"]


@pytest.mark.parametrize(("value", "code"), [
    ("yunda", "yunda"), ("韵达", "yunda"), ("申通快递", "shentong"), ("STO", "shentong"),
    ("YTO", "yuantong"), ("圆通", "yuantong"), ("ems", "ems"), ("中国邮政速递", "ems"),
    ("E邮宝", "youzhengguonei"), ("邮政快递包裹", "youzhengguonei"), ("顺丰", "shunfeng"),
    ("SF Express", "shunfeng"), ("ZTO", "zhongtong"), ("京东物流", "jd"), ("极兔速递", "jtexpress"),
    ("J&T", "jtexpress"), ("德邦", "debangwuliu"), ("天天快递", "tiantian"),
    ("百世快递", "baishiwuliu"), ("圆通速递有限公司", "yuantong"), ("  yto  ", "yuantong"),
    ("ＹＴＯ", "yuantong"), ("unknownco", None), ("", None),
])
def test_normalise_carrier(value, code):
    assert normalise_carrier(value) == code


def test_page_heading_names_the_carrier_but_ordinary_words_do_not(tmp_path):
    tl = parse(tmp_path, "a.txt", "中通快递 78901234567890\n2024-03-08 16:40 已揽收\n")
    assert tl.carrier == "zhongtong"
    tl = parse(tmp_path, "b.txt", "天天特价 京东同款\n2024-03-08 16:40 已揽收\n")
    assert tl.carrier is None
    assert len(tl.warnings) == 1  # the heading line was ignored, and said so


def test_carrier_names_in_both_languages():
    assert carrier_name("yuantong") == "圆通速递"
    assert carrier_name("yuantong", "en") == "YTO Express"
    assert carrier_name("shunfeng", "en") == "SF Express"
    assert carrier_name("ems") == "EMS"
    assert carrier_name("nosuch") is None
    assert carrier_name(None) is None


# --- keyword families ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("【义乌市】圆通速递 浙江省金华市义乌市公司 已揽收", S.picked_up),
    ("【义乌市】韵达快递 义乌公司 已揽件", S.picked_up),
    ("【义乌市】快递员已收件", S.picked_up),
    ("您的快件已被揽收，准备发往杭州转运中心", S.picked_up),  # 揽收 before 发往
    ("商家已下单，等待揽收", S.unknown),  # not yet handed over
    ("快件运输中", S.in_transit),
    ("快件已从义乌转运中心发出，准备发往杭州", S.in_transit),
    ("快件离开【义乌分拨中心】", S.in_transit),
    ("快件已到达【杭州转运中心】", S.arrived),
    ("【杭州市】派件员：张三 正在为您派件", S.out_for_delivery),
    ("快件派送中，请保持电话畅通", S.out_for_delivery),
    ("快递员正在派送，预计今天送达", S.out_for_delivery),
    ("【杭州市】已签收，签收人：本人", S.signed),
    ("您的快件已签收，如有疑问请联系派件员", S.signed),  # 签收 before 派件
    ("本人签收", S.signed),
    ("【杭州市】已签收，签收人：门卫", S.signed_by_third_party),
    ("快件已签收，签收人：前台", S.signed_by_third_party),
    ("您的快件已由门卫代签", S.signed_by_third_party),
    ("快件已草签", S.signed_by_third_party),
    ("已签收，家人代收", S.signed_by_third_party),
    ("已签收，签收人：物业", S.signed_by_third_party),
    ("已签收，同事代收", S.signed_by_third_party),
    ("他人签收", S.signed_by_third_party),
    ("快件已存放至【菜鸟驿站】，请凭取件码取件", S.locker_or_station),
    ("快件已投递至丰巢智能柜", S.locker_or_station),
    ("快件已放入快递柜", S.locker_or_station),
    ("快件已送达代收点", S.locker_or_station),
    ("您的快件已到达自提点", S.locker_or_station),
    ("已签收，签收人凭取件码签收", S.locker_or_station),
    ("快件派送中，即将送往菜鸟驿站", S.out_for_delivery),  # still on its way there
    ("疑难件，请联系客服", S.problem),
    ("快件异常，正在处理", S.problem),
    ("地址超派，无法派送", S.problem),
    ("目的地无点，待处理", S.problem),
    ("超时未签收", S.problem),
    ("快件为留仓件，将于次日派送", S.held),
    ("快件退回中", S.returning),
    ("快件正在返回寄件网点", S.returning),
    ("退件处理中", S.returning),
    ("快件已退回签收", S.returned),  # contains 签收
    ("退签", S.returned),
    ("快件已退回寄件人", S.returned),
    ("收件人拒签", S.refused),
    ("客户拒收，快件将退回", S.refused),  # refusal before the return it causes
    ("快件错派，已重新分拣", S.mis_sorted),
    ("快件错分至温州，已转回", S.mis_sorted),
    ("包裹清关中", S.customs),
    ("快件转投至新地址", S.forwarded),
    ("", S.unknown),
    ("客服回访", S.unknown),
])
def test_classify_keyword_families(text, expected):
    assert classify(text) is expected


# --- derived facts ---------------------------------------------------------------------------

def ev(when: str, status: S, text: str = "", code: str | None = None) -> TrackingEvent:
    return TrackingEvent(at=at(when), status=status, text=text or status.value, code=code,
                         source="t.json", line=1)


def timeline(*events: TrackingEvent) -> TrackingTimeline:
    return TrackingTimeline(events=list(events))


def test_facts_of_a_third_party_signing(tmp_path):
    facts = derive_facts(parse(tmp_path, "t.json", json.dumps(KD100, ensure_ascii=False)))
    assert facts.shipped_at == at("2024-03-08T16:40:00")
    assert facts.delivered_at == at("2024-03-10T18:20:11")
    assert facts.signer_kind == "third_party"
    assert facts.third_party_signed is True
    assert facts.transit_days == 2.1
    assert facts.longest_gap_hours == 18.7  # 03-09 02:31 -> 03-09 21:12
    assert facts.gaps_over_72h == []
    assert facts.over_7_days_without_update is False
    assert facts.returned is False and facts.refused is False
    assert facts.last_event_at == at("2024-03-10T18:20:11")


def test_facts_of_a_gatekeeper_co_signature():
    facts = derive_facts(timeline(
        ev("2024-03-08T16:40:00", S.picked_up, "已揽收"),
        ev("2024-03-10T18:20:00", S.signed_by_third_party, "您的快件已由门卫代签")))
    assert (facts.signer_kind, facts.third_party_signed) == ("third_party", True)


def test_facts_of_a_station_delivery():
    facts = derive_facts(timeline(
        ev("2024-03-08T16:40:00", S.picked_up, "已揽收"),
        ev("2024-03-10T09:00:00", S.locker_or_station, "快件已存放至【菜鸟驿站】，请凭取件码取件")))
    assert facts.signer_kind == "locker_or_station"
    assert facts.third_party_signed is False
    assert facts.delivered_at == at("2024-03-10T09:00:00")


@pytest.mark.parametrize(("text", "code", "kind"), [
    ("已签收，签收人：本人", None, "self"),
    ("已签收，签收人：王小明", None, "self"),
    ("快件已签收", "301", "self"),
    ("您的快件已签收，感谢使用圆通速递", None, "unknown"),
])
def test_signer_kind_of_a_plain_signature(text, code, kind):
    facts = derive_facts(timeline(ev("2024-03-10T18:20:00", S.signed, text, code)))
    assert facts.signer_kind == kind


def test_last_delivery_event_counts():
    facts = derive_facts(timeline(
        ev("2024-03-10T09:00:00", S.locker_or_station, "快件已存放至菜鸟驿站"),
        ev("2024-03-11T19:00:00", S.signed, "已签收，签收人：本人")))
    assert facts.delivered_at == at("2024-03-11T19:00:00")
    assert facts.signer_kind == "self"


def test_gap_over_72_hours_is_listed():
    facts = derive_facts(timeline(
        ev("2024-03-01T10:00:00", S.picked_up),
        ev("2024-03-02T10:00:00", S.in_transit),
        ev("2024-03-05T22:00:00", S.arrived),  # 84 h silence
        ev("2024-03-06T10:00:00", S.signed)))
    assert [(g.start, g.end, g.hours) for g in facts.gaps_over_72h] == [
        (at("2024-03-02T10:00:00"), at("2024-03-05T22:00:00"), 84.0)]
    assert facts.longest_gap_hours == 84.0
    assert facts.over_7_days_without_update is False
    assert GAP_THRESHOLD_HOURS == 72 and STALLED_THRESHOLD_HOURS == 168


def test_exactly_72_hours_is_not_over():
    facts = derive_facts(timeline(ev("2024-03-01T10:00:00", S.picked_up),
                                  ev("2024-03-04T10:00:00", S.signed)))
    assert facts.gaps_over_72h == []
    assert facts.longest_gap_hours == 72.0


def test_over_7_days_between_events_is_abnormal():
    facts = derive_facts(timeline(ev("2024-03-01T10:00:00", S.picked_up),
                                  ev("2024-03-09T11:00:00", S.arrived)))
    assert facts.over_7_days_without_update is True
    assert facts.longest_gap_hours == 193.0


def test_undelivered_parcel_silent_for_over_7_days_until_now_is_abnormal():
    tl = timeline(ev("2024-03-01T10:00:00", S.picked_up),
                  ev("2024-03-02T10:00:00", S.in_transit))
    assert derive_facts(tl).over_7_days_without_update is False
    facts = derive_facts(tl, now=at("2024-03-10T12:00:00"))
    assert facts.over_7_days_without_update is True
    assert facts.longest_gap_hours == 194.0
    assert facts.gaps_over_72h[-1].end == at("2024-03-10T12:00:00")
    assert facts.delivered_at is None and facts.signer_kind is None
    assert facts.transit_days is None


def test_naive_now_is_taken_in_the_events_zone():
    tl = timeline(ev("2024-03-01T10:00:00", S.in_transit))
    facts = derive_facts(tl, now=datetime(2024, 3, 4, 10, 0))
    assert facts.longest_gap_hours == 72.0


def test_delivered_parcel_does_not_stall_after_delivery():
    tl = timeline(ev("2024-03-01T10:00:00", S.picked_up), ev("2024-03-02T10:00:00", S.signed))
    facts = derive_facts(tl, now=at("2024-04-01T00:00:00"))
    assert facts.over_7_days_without_update is False
    assert facts.longest_gap_hours == 24.0


def test_returned_parcel():
    facts = derive_facts(timeline(
        ev("2024-03-01T10:00:00", S.picked_up, "已揽收"),
        ev("2024-03-04T10:00:00", S.held, "留仓件"),
        ev("2024-03-05T10:00:00", S.returning, "快件退回中"),
        ev("2024-03-08T10:00:00", S.returned, "快件已退回签收")))
    assert facts.returned is True
    assert facts.delivered_at is None
    assert facts.refused is False


def test_refused_parcel():
    facts = derive_facts(timeline(
        ev("2024-03-01T10:00:00", S.picked_up, "已揽收"),
        ev("2024-03-03T10:00:00", S.refused, "收件人拒签"),
        ev("2024-03-03T12:00:00", S.returning, "快件退回中")))
    assert facts.refused is True
    assert facts.returned is True
    assert facts.signer_kind is None


def test_shipped_at_falls_back_to_the_first_event():
    facts = derive_facts(timeline(ev("2024-03-02T08:00:00", S.in_transit),
                                  ev("2024-03-04T20:00:00", S.signed)))
    assert facts.shipped_at == at("2024-03-02T08:00:00")
    assert facts.transit_days == 2.5


def test_empty_event_list_gives_empty_facts():
    facts = derive_facts(TrackingTimeline(), now=at("2024-03-10T00:00:00"))
    assert facts.shipped_at is None and facts.delivered_at is None
    assert facts.longest_gap_hours is None and facts.last_event_at is None
    assert facts.over_7_days_without_update is False and facts.gaps_over_72h == []


# --- merging -----------------------------------------------------------------------------

def test_merge_deduplicates_sorts_and_keeps_first_carrier(tmp_path):
    api = parse(tmp_path, "tracking/yto.json", json.dumps(KD100, ensure_ascii=False))
    page = parse(tmp_path, "tracking/page.txt",
                 "物流详情\n2024-03-10 18:20:11 【杭州市】您的快件已签收，签收人：门卫，如有疑问请电联快递员：张三【13800000000】\n"
                 "2024-03-11 09:00:00 【杭州市】客户投诉已处理\n")
    merged = merge_timelines([TrackingTimeline(), page, api])
    assert len(merged.events) == 6
    assert merged.events[-1].text == "【杭州市】客户投诉已处理"
    assert [e.at for e in merged.events] == sorted(e.at for e in merged.events)
    assert (merged.carrier, merged.carrier_name, merged.number) == (
        "yuantong", "圆通速递", "YT7391234567890")
    assert [w.path for w in merged.warnings] == ["tracking/page.txt"]


def test_merge_of_nothing_is_empty():
    merged = merge_timelines([])
    assert merged.events == [] and merged.carrier is None


# --- robustness --------------------------------------------------------------------------

@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".json", ".csv", ".txt"]))
def test_arbitrary_bytes_only_raise_input_errors(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        tl = parse_tracking_file(path, path.name, tz=SH)
    except InputError:
        return
    assert [e.at for e in tl.events] == sorted(e.at for e in tl.events)


_TIMES = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
_WORDS = st.sampled_from(["已揽收", "运输中", "已到达", "派送中", "已签收，签收人：门卫", "菜鸟驿站",
                          "拒签", "退回", ",", "\"", "【", "】", "\n", "{", "[", "签收", "\x00"])
_TEXT = st.lists(st.one_of(_TIMES, _WORDS, st.text(max_size=8)), max_size=30).map(" ".join)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT, suffix=st.sampled_from([".json", ".csv", ".txt"]),
       encoding=st.sampled_from(["utf-8", "gbk", "utf-16"]))
def test_plausible_garbage_only_raises_input_errors(tmp_path, text, suffix, encoding):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(("时间,地点,描述\n" if suffix == ".csv" else "").encode(encoding, "replace")
                     + text.encode(encoding, "replace"))
    try:
        tl = parse_tracking_file(path, path.name, tz=SH)
    except InputError:
        return
    derive_facts(tl, now=datetime(2030, 6, 1, tzinfo=timezone.utc))
