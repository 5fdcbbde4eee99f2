"""Importing a 放假安排 file: JSON (the app's export format) and CSV (typed in Excel)."""

from __future__ import annotations

import codecs
import json
from datetime import date
from typing import Any

import pytest

from station_app.domain.calendar import CalendarYear, DayKind, HolidayCalendar, SpecialDay
from station_app.domain.calendar_file import calendar_years_to_json, parse_calendar_file
from station_app.errors import CalendarFileInvalid
from station_app.services.calendar_seed import chinese_calendar_years


def json_file(*days: dict[str, Any], year: int = 2027, **top: Any) -> bytes:
    document: dict[str, Any] = {
        "format": "vss-holidays/1",
        "years": [{"year": year, "source": "国办发明电〔2026〕1号", "days": list(days)}],
    }
    document.update(top)
    return json.dumps(document, ensure_ascii=False).encode()


NEW_YEAR = {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}


def failure(raw: bytes, filename: str) -> CalendarFileInvalid:
    with pytest.raises(CalendarFileInvalid) as caught:
        parse_calendar_file(raw, filename)
    return caught.value


# ---------------------------------------------------------------- JSON


def test_a_json_file_gives_one_calendar_year_per_entry() -> None:
    raw = json_file(NEW_YEAR, {"date": "2027-02-07", "kind": "WORKDAY", "name": "春节"})
    [year] = parse_calendar_file(raw, "2027.json")
    assert year == CalendarYear(
        year=2027,
        days=(SpecialDay(day=date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦"),
              SpecialDay(day=date(2027, 2, 7), kind=DayKind.WORKDAY, name="春节")),
        source="国办发明电〔2026〕1号",
    )


def test_json_kinds_may_be_written_as_xiu_and_ban() -> None:
    raw = json_file({"date": "2027-01-01", "kind": "休"}, {"date": "2027-02-07", "kind": "班"})
    [year] = parse_calendar_file(raw, "2027.json")
    assert [sd.kind for sd in year.days] == [DayKind.HOLIDAY, DayKind.WORKDAY]
    assert [sd.name for sd in year.days] == ["", ""]


def test_the_exported_seed_data_reads_back_unchanged() -> None:
    years = chinese_calendar_years()
    raw = calendar_years_to_json(years)
    assert parse_calendar_file(raw, "导出.json") == years
    assert "国庆节" in raw.decode("utf-8")  # readable Chinese, not \\u escapes


def test_an_imported_year_changes_working_days() -> None:
    [year] = parse_calendar_file(json_file(NEW_YEAR), "2027.json")
    cal = HolidayCalendar.empty().with_year(year)
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.day_name(date(2027, 1, 1)) == "元旦"


@pytest.mark.parametrize(
    ("raw", "where", "reason"),
    [
        (json_file(NEW_YEAR, extra=1), "extra", "不认识的字段"),
        (json_file(NEW_YEAR, format="vss-holidays/2"), "format", "vss-holidays/1"),
        (json_file({**NEW_YEAR, "note": "x"}), "years[0].days[0].note", "不认识的字段"),
        (json_file({"date": "2027-02-30", "kind": "HOLIDAY"}), "years[0].days[0].date",
         "日期“2027-02-30”无效"),
        (json_file({"date": "2027/01/01", "kind": "HOLIDAY"}), "years[0].days[0].date",
         "YYYY-MM-DD"),
        (json_file(NEW_YEAR, {"date": "2027-01-02", "kind": "放假"}), "years[0].days[1].kind",
         "类型“放假”无效"),
        (json_file(NEW_YEAR, NEW_YEAR), "years[0].days[1].date", "years[0].days[0]已有"),
        (json_file({"date": "2028-01-01", "kind": "HOLIDAY"}), "years[0].days[0].date",
         "不属于 2027 年"),
        (json_file({"date": "2027-02-03", "kind": "WORKDAY"}), "years[0].days[0].kind",
         "星期三"),
        (json_file({"kind": "HOLIDAY"}), "years[0].days[0].date", "缺少此字段"),
        (json_file(year=2027), "years[0].days", "列表是空的"),
        (json_file(NEW_YEAR, year="2027"), "years[0].year", "整数年份"),
        (json_file(NEW_YEAR, year=2207), "years[0].year", "超出"),
        (b'{"format": "vss-holidays/1", "years": [', "第1行第40列", "不是有效的 JSON"),
        (b'{"format": "vss-holidays/1", "format": "x", "years": []}', "文件", "两次"),
        (b"[]", "文件", "JSON 对象"),
    ],
    ids=["unknown-top-key", "format-tag", "unknown-day-key", "impossible-date", "slashes",
         "unknown-kind", "duplicate-date", "wrong-year", "weekday-workday", "missing-date",
         "no-days", "year-as-text", "year-typo", "truncated", "duplicate-key", "not-an-object"],
)
def test_json_errors_name_the_place(raw: bytes, where: str, reason: str) -> None:
    error = failure(raw, "2027.json")
    assert error.params["where"] == where
    assert reason in error.params["reason"]
    assert error.text.startswith("节假日文件有误：")


def test_a_year_listed_twice_is_refused() -> None:
    document = json.loads(json_file(NEW_YEAR))
    document["years"].append(document["years"][0])
    error = failure(json.dumps(document).encode(), "2027.json")
    assert error.params["where"] == "years[1].year"


# ---------------------------------------------------------------- CSV


def test_a_csv_file_with_chinese_header_and_bom_from_excel() -> None:
    text = (
        "日期,类型,名称,来源\r\n"
        "2027-01-01,休,元旦,国办发明电〔2026〕1号\r\n"
        "2027/2/7,班,春节,\r\n"  # Excel's own date format after saving again
    )
    raw = codecs.BOM_UTF8 + text.encode()
    [year] = parse_calendar_file(raw, "放假安排.csv")
    assert [(sd.day, sd.kind, sd.name) for sd in year.days] == [
        (date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),
        (date(2027, 2, 7), DayKind.WORKDAY, "春节"),
    ]
    assert year.source == "国办发明电〔2026〕1号"


def test_a_csv_file_spanning_two_years_gives_two_years() -> None:
    raw = b"date,kind,name\n2027-01-01,HOLIDAY,New Year\n\n2028-01-01,holiday,\n"
    years = parse_calendar_file(raw, "holidays.csv")
    assert [cy.year for cy in years] == [2027, 2028]
    assert years[1].source == "导入文件“holidays.csv”"  # no source column: say where it came from


def test_trailing_empty_cells_from_excel_are_ignored() -> None:
    raw = "date,kind,name,,\n2027-01-01,休,元旦,,\n".encode()
    [year] = parse_calendar_file(raw, "holidays.csv")
    assert year.days[0].name == "元旦"


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("day,type\n2027-01-01,休\n", "第1行", "表头"),
        ("date,kind,name\n2027-01-01,休,元旦\n2027-02-30,休,春节\n", "第3行",
         "日期“2027-02-30”无效"),
        ("date,kind,name\n2027-01-01,休,元旦\n\n2027-01-01,休,元旦\n", "第4行", "第2行已有"),
        ("date,kind,name\n2027-01-01,假,元旦\n", "第2行", "类型“假”无效"),
        ("date,kind,name\n2027-02-03,班,春节\n", "第2行", "星期三"),
        ("date,kind,name\n2027-01-01,休,元旦,多余\n", "第2行", "4 列"),
        ("date,kind,name\n,休,元旦\n", "第2行", "缺少日期"),
        ("date,kind,name\n", "h.csv", "没有任何日期"),
    ],
    ids=["header", "impossible-date", "duplicate", "unknown-kind", "weekday-workday",
         "extra-column", "missing-date", "no-rows"],
)
def test_csv_errors_name_the_line(text: str, where: str, reason: str) -> None:
    error = failure(text.encode(), "h.csv")
    assert error.params["where"] == where
    assert reason in error.params["reason"]


# ---------------------------------------------------------------- the wrong kind of file


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "空的"),
        ("日期,类型,名称\n2027-01-01,休,元旦\n".encode("gbk"), "CSV UTF-8"),
        (b"PK\x03\x04rest-of-a-zip", "Excel 工作簿"),
        (codecs.BOM_UTF16_LE + "日期".encode("utf-16-le"), "UTF-16"),
    ],
    ids=["empty", "gbk", "xlsx", "utf16"],
)
def test_unusable_files_say_what_to_do(raw: bytes, reason: str) -> None:
    error = failure(raw, "放假.csv")
    assert error.params["where"] == "放假.csv"
    assert reason in error.params["reason"]


def test_a_file_without_a_known_extension_is_recognised_by_its_content() -> None:
    assert parse_calendar_file(json_file(NEW_YEAR), "upload")[0].year == 2027
    assert parse_calendar_file(b"date,kind,name\n2027-01-01,HOLIDAY,\n", "upload")[0].year == 2027
