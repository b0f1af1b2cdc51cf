import pytest

from reporting.periods import day_range, parse_day, parse_month, parse_week, previous_month, previous_week

from .stories import t


def test_months_and_weeks():
    october = parse_month("2026-10")
    assert (october.start, october.end) == (t(10, 1), t(11, 1))
    december = parse_month("2026-12")
    assert december.end == t(1, 1, year=2027)
    week = parse_week("2026-W47")
    assert (week.start, week.end) == (t(11, 16), t(11, 23))
    assert parse_week("2026-w53").label == "2026-W53"  # 2026 has 53 ISO weeks


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_month, "2026-13", "01 to 12"),
        (parse_month, "2026-00", "01 to 12"),
        (parse_month, "October", "YYYY-MM"),
        (parse_week, "2026-W60", "2026 has weeks 01 to 53"),
        (parse_week, "2027-W53", "2027 has weeks 01 to 52"),
        (parse_week, "2026-47", "YYYY-Www"),
        (parse_day, "2026-02-30", "YYYY-MM-DD"),
    ],
)
def test_bad_periods_are_explained(parser, text, message):
    with pytest.raises(ValueError, match=message):
        parser(text)


def test_day_ranges_need_an_end_after_the_start():
    with pytest.raises(ValueError, match="exclusive"):
        day_range(parse_day("2026-10-01"), parse_day("2026-10-01"))


def test_previous_periods():
    assert previous_month(t(11, 1, 8)).label == "2026-10"
    assert previous_month(t(1, 1, 8, year=2027)).label == "2026-12"
    assert previous_week(t(11, 23, 8)).label == "2026-W47"  # Monday morning: the week that just ended


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (40, "40 s"),
        (600, "10 min"),
        (605, "10 min 5 s"),
        (3600, "1 h"),
        (5400, "1 h 30 min"),
        (86400, "1 day"),
        (90000, "1 day 1 h"),
    ],
)
def test_durations_read_as_people_write_them(seconds, text):
    from reporting.formatting import duration

    assert duration(seconds) == text
