"""Holiday calendar files: what an administrator imports when a new 放假安排 is published.

Two formats, both UTF-8:

* JSON, the app's own export format (round-trips through ``calendar_years_to_json``)::

    {"format": "vss-holidays/1",
     "years": [{"year": 2027, "source": "国办发明电〔2026〕X号",
                "days": [{"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}]}]}

* CSV, easy to type in Excel: header ``date,kind,name`` or ``日期,类型,名称``, optional fourth
  column ``source``/``来源``; the years are those of the dates.

``kind`` is ``HOLIDAY`` (or 休) for a day off and ``WORKDAY`` (or 班) for a weekend day worked.
Parsing is strict: a deadline computed from a mistyped calendar is wrong without anyone
noticing, so every doubt is an error that names its place (``years[0].days[3].date``, ``第4行``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from station_app.domain.calendar import CalendarYear, DayKind, SpecialDay, special_day_problem
from station_app.errors import CalendarFileInvalid

FORMAT_TAG = "vss-holidays/1"
MAX_FILE_BYTES = 1_000_000  # a year is ~40 lines; anything this big is the wrong file
YEAR_RANGE = range(2000, 2101)  # catches typos such as 2207 for 2027

_KIND_WORDS = {
    "HOLIDAY": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    DayKind.HOLIDAY.label: DayKind.HOLIDAY,
    "WORKDAY": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    DayKind.WORKDAY.label: DayKind.WORKDAY,
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Excel rewrites dates as 2027/1/1 when a CSV is saved again, so CSV also takes that form.
_LOOSE_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_CSV_HEADERS = (("date", "kind", "name", "source"), ("日期", "类型", "名称", "来源"))


def parse_calendar_file(raw: bytes, filename: str) -> list[CalendarYear]:
    """The years in an imported file, sorted by year; CalendarFileInvalid if anything is off."""
    text = _decode(raw, filename)
    if _is_json(text, filename):
        years = _parse_json(text, filename)
    else:
        years = _parse_csv(text, filename)
    return sorted(years, key=lambda cy: cy.year)


def calendar_years_to_json(years: Iterable[CalendarYear]) -> bytes:
    """The JSON file format for ``years``; ``parse_calendar_file`` reads it back unchanged."""
    document = {
        "format": FORMAT_TAG,
        "years": [
            {
                "year": cy.year,
                "source": cy.source,
                "days": [
                    {"date": sd.day.isoformat(), "kind": sd.kind.value, "name": sd.name}
                    for sd in cy.days
                ],
            }
            for cy in sorted(years, key=lambda cy: cy.year)
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ---------------------------------------------------------------- bytes → text


def _decode(raw: bytes, filename: str) -> str:
    if not raw.strip():
        raise CalendarFileInvalid(where=filename, reason="文件是空的")
    if len(raw) > MAX_FILE_BYTES:
        raise CalendarFileInvalid(where=filename, reason="文件过大，不像是放假安排文件")
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CalendarFileInvalid(
            where=filename, reason="这是 Excel 工作簿，请另存为“CSV UTF-8（逗号分隔）”后再导入"
        )
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CalendarFileInvalid(where=filename, reason="文件是 UTF-16 编码，请另存为 UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's plain "CSV" on a Chinese Windows is GBK; say how to save it correctly.
        raise CalendarFileInvalid(
            where=filename, reason="文件不是 UTF-8 编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）”"
        ) from None


def _is_json(text: str, filename: str) -> bool:
    suffix = filename.lower().rpartition(".")[2]
    if suffix in ("json", "csv"):
        return suffix == "json"
    return text.lstrip().startswith("{")


# ---------------------------------------------------------------- shared checks


@dataclass(slots=True)
class _Collector:
    """Days read so far, to catch duplicates and to say where the first copy was."""

    first_seen: dict[date, str] = field(default_factory=dict)

    def add(
        self, special: SpecialDay, year: int, *, element: str, where_date: str, where_kind: str
    ) -> None:
        text = special.day.isoformat()
        if special.day in self.first_seen:
            raise CalendarFileInvalid(
                where=where_date, reason=f"日期“{text}”重复（{self.first_seen[special.day]}已有）"
            )
        problem = special_day_problem(special, year)
        if problem:
            wrong_year = special.day.year != year
            raise CalendarFileInvalid(where=where_date if wrong_year else where_kind,
                                      reason=problem)
        self.first_seen[special.day] = element


def _kind(text: str, where: str) -> DayKind:
    kind = _KIND_WORDS.get(text.strip().upper())
    if kind is None:
        raise CalendarFileInvalid(
            where=where, reason=f"类型“{text}”无效，应为 HOLIDAY（休）或 WORKDAY（班）"
        )
    return kind


def _date(text: str, where: str, pattern: re.Pattern[str]) -> date:
    match = pattern.fullmatch(text.strip())
    if match is None:
        raise CalendarFileInvalid(where=where, reason=f"日期“{text}”应写成 YYYY-MM-DD")
    try:
        if match.groups():
            return date(*(int(part) for part in match.groups()))
        return date.fromisoformat(match.group())
    except ValueError:
        raise CalendarFileInvalid(where=where, reason=f"日期“{text}”无效") from None


def _check_year(year: int, where: str) -> None:
    if year not in YEAR_RANGE:
        raise CalendarFileInvalid(
            where=where, reason=f"年份 {year} 超出 {YEAR_RANGE.start}–{YEAR_RANGE.stop - 1}"
        )


# ---------------------------------------------------------------- JSON


def _parse_json(text: str, filename: str) -> list[CalendarYear]:
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise CalendarFileInvalid(
            where=f"第{exc.lineno}行第{exc.colno}列", reason="不是有效的 JSON"
        ) from None
    _expect_object(document, "", allowed=("format", "years"), required=("format", "years"))
    if document["format"] != FORMAT_TAG:
        raise CalendarFileInvalid(
            where="format", reason=f"应为“{FORMAT_TAG}”，实际为“{document['format']}”"
        )
    items = _expect_list(document["years"], "years")
    years: list[CalendarYear] = []
    first_index: dict[int, int] = {}
    for i, item in enumerate(items):
        cy = _json_year(item, f"years[{i}]", filename)
        if cy.year in first_index:
            first = f"years[{first_index[cy.year]}]"
            raise CalendarFileInvalid(
                where=f"years[{i}].year", reason=f"{cy.year} 年重复（{first}已有）"
            )
        first_index[cy.year] = i
        years.append(cy)
    return years


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CalendarFileInvalid(where="文件", reason=f"字段“{key}”在同一处出现了两次")
        result[key] = value
    return result


def _json_year(item: Any, path: str, filename: str) -> CalendarYear:
    _expect_object(item, path, allowed=("year", "source", "days"), required=("year", "days"))
    year = item["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise CalendarFileInvalid(where=f"{path}.year", reason=f"“{year}”应为整数年份")
    _check_year(year, f"{path}.year")
    source = _expect_text(item.get("source", f"导入文件“{filename}”"), f"{path}.source")
    collector = _Collector()
    days = []
    for j, entry in enumerate(_expect_list(item["days"], f"{path}.days")):
        where = f"{path}.days[{j}]"
        special = _json_day(entry, where)
        collector.add(special, year, element=where, where_date=f"{where}.date",
                      where_kind=f"{where}.kind")
        days.append(special)
    return CalendarYear(year=year, days=tuple(days), source=source)


def _json_day(entry: Any, path: str) -> SpecialDay:
    _expect_object(entry, path, allowed=("date", "kind", "name"), required=("date", "kind"))
    day = _date(_expect_text(entry["date"], f"{path}.date"), f"{path}.date", _ISO_DATE)
    kind = _kind(_expect_text(entry["kind"], f"{path}.kind"), f"{path}.kind")
    name = _expect_text(entry.get("name", ""), f"{path}.name").strip()
    return SpecialDay(day=day, kind=kind, name=name)


def _expect_object(
    value: Any, path: str, *, allowed: Sequence[str], required: Sequence[str]
) -> None:
    if not isinstance(value, dict):
        raise CalendarFileInvalid(where=path or "文件", reason="应为 JSON 对象 {…}")
    for key in value:
        if key not in allowed:
            raise CalendarFileInvalid(
                where=_at(path, key), reason=f"不认识的字段（可用字段：{'、'.join(allowed)}）"
            )
    for key in required:
        if key not in value:
            raise CalendarFileInvalid(where=_at(path, key), reason="缺少此字段")


def _expect_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise CalendarFileInvalid(where=path, reason="应为列表 […]")
    if not value:
        # An empty year would be "known" with no holidays: every deadline in it silently wrong.
        raise CalendarFileInvalid(where=path, reason="列表是空的")
    return value


def _expect_text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise CalendarFileInvalid(where=path, reason="应为文字（用双引号括起来）")
    return value


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------- CSV


@dataclass(slots=True)
class _CsvYears:
    days: dict[int, list[SpecialDay]] = field(default_factory=dict)
    sources: dict[int, list[str]] = field(default_factory=dict)

    def add(self, special: SpecialDay, source: str) -> None:
        year = special.day.year
        self.days.setdefault(year, []).append(special)
        known = self.sources.setdefault(year, [])
        if source and source not in known:
            known.append(source)

    def build(self, filename: str) -> list[CalendarYear]:
        fallback = f"导入文件“{filename}”"
        return [
            CalendarYear(year=year, days=tuple(days),
                         source="；".join(self.sources[year]) or fallback)
            for year, days in self.days.items()
        ]


def _parse_csv(text: str, filename: str) -> list[CalendarYear]:
    reader = csv.reader(io.StringIO(text, newline=""))
    width = 0
    collector = _Collector()
    years = _CsvYears()
    for row in reader:
        cells = [cell.strip() for cell in row]
        where = f"第{reader.line_num}行"
        if not any(cells):
            continue
        if not width:
            width = _csv_header(cells, where)
            continue
        special, source = _csv_row(_fit(cells, width, where), where)
        collector.add(special, special.day.year, element=where, where_date=where,
                      where_kind=where)
        years.add(special, source)
    if not years.days:
        raise CalendarFileInvalid(where=filename, reason="文件中没有任何日期")
    return years.build(filename)


def _csv_header(cells: list[str], where: str) -> int:
    names = [cell.lower() for cell in _strip_trailing_empty(cells)]
    for header in _CSV_HEADERS:
        if names in (list(header[:3]), list(header)):
            return len(names)
    raise CalendarFileInvalid(
        where=where, reason="表头应为“date,kind,name[,source]”或“日期,类型,名称[,来源]”"
    )


def _fit(cells: list[str], width: int, where: str) -> list[str]:
    cells = _strip_trailing_empty(cells)
    if len(cells) > width:
        raise CalendarFileInvalid(where=where, reason=f"有 {len(cells)} 列，表头只有 {width} 列")
    return cells + [""] * (width - len(cells))


def _strip_trailing_empty(cells: list[str]) -> list[str]:
    # Excel pads rows with empty cells up to the widest row.
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def _csv_row(cells: list[str], where: str) -> tuple[SpecialDay, str]:
    if not cells[0]:
        raise CalendarFileInvalid(where=where, reason="缺少日期")
    day = _date(cells[0], where, _LOOSE_DATE)
    _check_year(day.year, where)
    kind = _kind(cells[1], where)
    source = cells[3] if len(cells) > 3 else ""
    return SpecialDay(day=day, kind=kind, name=cells[2]), source
