"""One time parser and one delimiter guess: what chat, tracking and exports write alike is read alike."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from evidencepack.inputs.times import parse_time

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2024, 3, 12, 10, 15, 32, tzinfo=SH)


@pytest.mark.parametrize("text", [
    "2024-03-12 10:15:32", "2024/3/12 10:15:32", "2024年3月12日 10:15:32",
    "2024年3月12日 周二 10:15:32", "2024-03-12T10:15:32+08:00", "2024-03-12 10:15:32 周二",
    "2024-03-12T02:15:32Z", "2024-03-12 02:15:32 UTC", "1710209732", "1710209732000",
    "2024-03-12 10：15：32", "  2024-03-12   10:15:32  ", "2024年3月12日 10时15分32秒",
])
def test_every_written_form_is_the_same_moment(text):
    assert parse_time(text, SH) == AT


@pytest.mark.parametrize("text, reason", [
    ("2024-02-30 10:00", "day is out of range"), ("0001-01-01 00:00", "year 1 is outside"),
    ("9999-12-31T23:00:00+08:00", "year 9999 is outside"), ("soon", "not a date and time"),
    ("2024-03-12 10:15 +25:00", "bad UTC offset"), ("2024-03-12 10:15 快递员", "not a date"),
])
def test_a_time_that_is_not_one_says_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_time(text, SH)


def test_a_number_after_the_minutes_is_not_the_seconds():
    from evidencepack.inputs.times import DATETIME

    m = DATETIME.match("2024-03-12 10:15 32号快递柜")
    assert m["s"] is None and m.group(0).strip() == "2024-03-12 10:15"


def test_an_export_time_without_a_zone_stays_naive_and_a_date_is_its_midnight():
    assert parse_time("2024/3/12", None, date_only=True) == datetime(2024, 3, 12)
    assert parse_time("2024-03-12 10:15", None).tzinfo is None
    with pytest.raises(ValueError):
        parse_time("2024/3/12", SH)


def test_naive_times_take_the_case_zone_and_written_offsets_are_kept():
    la = ZoneInfo("America/Los_Angeles")
    assert parse_time("2024-03-12 10:15", la).utcoffset() == timedelta(hours=-7)
    assert parse_time("2024-03-12 10:15-05:00", la).utcoffset() == timedelta(hours=-5)
    assert parse_time(datetime(2024, 3, 12, 10, 15), timezone.utc).tzinfo is timezone.utc


def test_chat_tracking_and_the_command_line_share_it(tmp_path):
    from evidencepack.inputs import chat, tracking
    from evidencepack.cli import _parse_time

    assert chat.parse_time is parse_time
    assert tracking._parse_time("2024年3月12日 周二 10:15:32", SH) == AT
    assert _parse_time("2024-03-12 10:15:32", "--now") == AT


@pytest.mark.parametrize("header, expected", [
    ("time,sender,content", ","), ("时间\t发送人\t内容", "\t"), ("时间;发送人;内容", ";"),
    ("时间，地点，描述", "，"), ("时间|地点|描述", "|"), ('"时间,日期"\t地点\t描述', "\t"),
    ("时间", ","),
])
def test_every_reader_guesses_the_delimiter_the_same_way(header, expected):
    from evidencepack.inputs.textio import delimiter_of

    assert delimiter_of(header) == expected
