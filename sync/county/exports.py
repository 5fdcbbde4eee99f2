"""The county audit as files people open: an Excel workbook and CSV tables (issue 6 item 6).

The only importer of openpyxl. The PDF monthly report lives with the other PDFs in
``station_app.documents.audit_report`` and takes ``CountyAudit.to_dict()``.

Workbook (``write_workbook``), for people, Chinese headers:

    概览      the county's KPIs: numerator, denominator, value and the definition text
    站点      one row per station: status, log size, finding counts, every KPI value
    乡镇      one row per town: its stations by status and its KPIs (sums, not averages)
    问题      every finding: station, code, severity, label, message, log entries, numbers
    指标定义   KPI_DEFINITIONS as they were when the file was made
    趋势      (with ``trend``) month × KPI, and a native Excel line chart of the rates

CSV (``write_csv``), for scripts and spreadsheets: UTF-8 with a BOM (so Excel on a Chinese
Windows opens it as UTF-8, not GBK) and one header row of English snake_case column names;
the Chinese labels are in the workbook. A KPI with nothing behind it is an empty field,
never 0. Rates are fractions 0–1 at full precision (``kpis`` has the numerator and
denominator to recompute them). Text that a spreadsheet would run as a formula (starting
with ``= + - @``) is prefixed with ``'``: station names and messages come from the
stations' own logs, so they are not trusted.

    stations  station, name, town, status, entries, verified, revoked, red_flags,
              amber_flags, root, then one column per KPI code (on_time_rate …)
    towns     town, stations, red, amber, green, then one column per KPI code
    flags     station, name, town, code, severity, label, message, entries, numbers
              (entries and numbers separated by spaces)
    kpis      scope (county/town/station), unit (its code, empty for the county), kpi,
              name, numerator, denominator, value — every KPI of every unit, long form

Every file is written to a temporary file beside the target and renamed over it, so a
reader never sees half a file; on any refusal (unknown table, wrong suffix, a folder that
is missing or not writable) ``ExportFailed`` is raised and nothing is written. The target's
folder must exist: an export never creates folders.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from station_app.documents.export_file import export_target, write_whole
from station_app.domain.audit import KPI_DEFINITIONS, Finding, KpiKind, KpiResult, Severity
from station_app.errors import ExportFailed
from sync.county.audit import CountyAudit, StationAudit

CSV_TABLES: tuple[str, ...] = ("stations", "towns", "flags", "kpis")
KPI_CODES: tuple[str, ...] = tuple(d.code for d in KPI_DEFINITIONS)
STATUSES = ("red", "amber", "green")
STATUS_LABELS = {"red": "红", "amber": "黄", "green": "绿"}
STATUS_FILLS = {"red": "F4B6B6", "amber": "FBE3A6", "green": "C9E7C3"}
NUMBER_FORMATS = {KpiKind.RATE: "0.0%", KpiKind.MEAN: "0.00", KpiKind.COUNT: "0"}
KIND_LABELS = {KpiKind.RATE: "比率", KpiKind.MEAN: "平均值", KpiKind.COUNT: "计数"}
CENTRE_SUFFIX = "便民服务中心"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E8E8E8")
_WRAP = Alignment(wrap_text=True, vertical="top")
_MAX_WIDTH = 60  # characters of Latin width; longer text wraps instead


# --------------------------------------------------------------------------- public API


def write_workbook(audit: CountyAudit, path: Path,
                   trend: Sequence[tuple[str, Mapping[str, KpiResult]]] = ()) -> None:
    """The whole audit as one ``.xlsx`` workbook; ``trend`` adds the 趋势 sheet and chart.

    ``trend`` is ``(label, kpis)`` per month, oldest first, e.g. the county table of
    ``audit_county`` for each of the last twelve months.
    """
    path = export_target(Path(path), ".xlsx")
    book = Workbook()
    _overview_sheet(book.active, audit)
    _stations_sheet(book.create_sheet("站点"), audit.stations)
    _towns_sheet(book.create_sheet("乡镇"), audit)
    _findings_sheet(book.create_sheet("问题"), audit.stations)
    _definitions_sheet(book.create_sheet("指标定义"))
    if trend:
        _trend_sheet(book.create_sheet("趋势"), trend)
    buf = io.BytesIO()
    book.save(buf)
    write_whole(path, buf.getvalue())


def write_csv(audit: CountyAudit, path: Path, table: str) -> None:
    """One table of the audit (one of ``CSV_TABLES``) as a UTF-8 CSV with a BOM."""
    if table not in CSV_TABLES:
        raise ExportFailed(path=str(path),
                           reason=f"没有名为“{table}”的表，可选：{'、'.join(CSV_TABLES)}",
                           reason_en=f"no table {table!r}; choose one of "
                                     f"{', '.join(CSV_TABLES)}")
    path = export_target(Path(path), ".csv")
    header, rows = _CSV_BUILDERS[table](audit)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180, what Excel writes itself
    writer.writerow(header)
    writer.writerows([_csv_field(v) for v in row] for row in rows)
    write_whole(path, ("\ufeff" + buf.getvalue()).encode("utf-8"))


# --------------------------------------------------------------------------- files


# --------------------------------------------------------------------------- shared facts


def _counts(findings: Iterable[Finding]) -> tuple[int, int]:
    listed = [f.severity for f in findings]
    return listed.count(Severity.RED), listed.count(Severity.AMBER)


def _town_names(stations: Iterable[StationAudit]) -> dict[str, str]:
    """A town's name, where the town's own centre is among the stations: its station code
    is the town code (``330199101000``), its name "<town>便民服务中心". The audit carries no
    other source of town names."""
    names = {}
    for s in stations:
        if s.station == s.town:
            names[s.town] = s.name.removesuffix(CENTRE_SUFFIX) or s.name
    return names


def _town_statuses(stations: Iterable[StationAudit]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for s in stations:
        out.setdefault(s.town, dict.fromkeys(STATUSES, 0))[s.status] += 1
    return out


def _kpi_value(kpis: Mapping[str, KpiResult], code: str) -> float | int | None:
    result = kpis.get(code)
    return None if result is None else result.value


# --------------------------------------------------------------------------- workbook


def _overview_sheet(ws: Worksheet, audit: CountyAudit) -> None:
    ws.title = "概览"
    red, amber, green = (sum(s.status == k for s in audit.stations) for k in STATUSES)
    ws.append([f"统计期 {audit.period.label} · 统计时点 {audit.now:%Y-%m-%d %H:%M} · "
               f"站点 {len(audit.stations)} 个（红 {red} / 黄 {amber} / 绿 {green}）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    ws["A1"].font = Font(bold=True, size=12)
    _header(ws, ["指标", "代码", "分子", "分母", "数值", "分子口径", "分母口径", "说明"], row=2)
    for d in KPI_DEFINITIONS:
        r = audit.county.get(d.code)
        figures = (None, None, None) if r is None else (r.numerator, r.denominator, r.value)
        ws.append([d.name, d.code, *figures, d.numerator, d.denominator, d.note])
        ws.cell(ws.max_row, 5).number_format = NUMBER_FORMATS[d.kind]
    _finish(ws, freeze="C3", wrap={6, 7, 8}, skip_rows=1)


def _stations_sheet(ws: Worksheet, stations: Sequence[StationAudit]) -> None:
    _header(ws, ["站点编码", "站点名称", "乡镇编码", "状态", "账本条数", "账本校验", "已吊销",
                 "红色问题", "黄色问题", *(d.name for d in KPI_DEFINITIONS)])
    for s in stations:
        red, amber = _counts(s.findings)
        _row(ws, [s.station, s.name, s.town, STATUS_LABELS[s.status], s.entries,
                  "通过" if s.verified else "不通过", "是" if s.revoked else "否", red, amber,
                  *(_kpi_value(s.kpis, c) for c in KPI_CODES)])
        ws.cell(ws.max_row, 4).fill = PatternFill("solid", fgColor=STATUS_FILLS[s.status])
    _kpi_formats(ws, first_column=10)
    _finish(ws, freeze="C2")


def _towns_sheet(ws: Worksheet, audit: CountyAudit) -> None:
    _header(ws, ["乡镇编码", "乡镇名称", "站点数", "红", "黄", "绿",
                 *(d.name for d in KPI_DEFINITIONS)])
    names, statuses = _town_names(audit.stations), _town_statuses(audit.stations)
    for town, kpis in audit.towns.items():
        counts = statuses.get(town, dict.fromkeys(STATUSES, 0))
        _row(ws, [town, names.get(town, ""), sum(counts.values()),
                  *(counts[k] for k in STATUSES), *(_kpi_value(kpis, c) for c in KPI_CODES)])
    _kpi_formats(ws, first_column=7)
    _finish(ws, freeze="C2")


def _findings_sheet(ws: Worksheet, stations: Sequence[StationAudit]) -> None:
    _header(ws, ["站点编码", "站点名称", "问题代码", "严重程度", "问题", "说明", "账本条目",
                 "办件编号/代办序号"])
    for s in stations:
        for f in s.findings:
            _row(ws, [s.station, s.name, f.code.value, f.severity.label, f.label, f.message,
                      " ".join(map(str, f.entries)), " ".join(f.numbers)])
            colour = STATUS_FILLS["red" if f.severity is Severity.RED else "amber"]
            ws.cell(ws.max_row, 4).fill = PatternFill("solid", fgColor=colour)
    _finish(ws, freeze="C2", wrap={6, 7, 8})


def _definitions_sheet(ws: Worksheet) -> None:
    _header(ws, ["代码", "指标", "类型", "分子", "分母", "说明"])
    for d in KPI_DEFINITIONS:
        _row(ws, [d.code, d.name, KIND_LABELS[d.kind], d.numerator, d.denominator, d.note])
    _finish(ws, freeze="C2", wrap={4, 5, 6})


def _trend_sheet(ws: Worksheet, trend: Sequence[tuple[str, Mapping[str, KpiResult]]]) -> None:
    _header(ws, ["月份", *(d.name for d in KPI_DEFINITIONS)])
    for label, kpis in trend:
        _row(ws, [label, *(_kpi_value(kpis, c) for c in KPI_CODES)])
    _kpi_formats(ws, first_column=2)
    _finish(ws, freeze="B2")
    ws.add_chart(_rate_chart(ws, len(trend)), f"A{len(trend) + 3}")


def _rate_chart(ws: Worksheet, months: int) -> LineChart:
    """The rates on one 0–100 % axis; the mean and the count would flatten them, so they
    stay in the table. Empty cells (no cases) are gaps in the line, not drops to zero."""
    chart = LineChart()
    chart.title = "主要指标月度趋势"
    chart.y_axis.title = "比率"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.display_blanks = "gap"
    chart.height, chart.width = 9, 22
    for col, d in enumerate(KPI_DEFINITIONS, start=2):
        if d.kind is KpiKind.RATE:
            chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=months + 1),
                           titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=months + 1))
    return chart


def _header(ws: Worksheet, names: Sequence[str], row: int = 1) -> None:
    for col, name in enumerate(names, start=1):
        cell = ws.cell(row, col, name)
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP


def _row(ws: Worksheet, values: Sequence[Any]) -> None:
    ws.append([_cell_value(v) for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # never a formula, whatever a station put in its log


def _cell_value(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _kpi_formats(ws: Worksheet, first_column: int) -> None:
    for offset, d in enumerate(KPI_DEFINITIONS):
        for (cell,) in ws.iter_rows(min_row=2, min_col=first_column + offset,
                                    max_col=first_column + offset):
            cell.number_format = NUMBER_FORMATS[d.kind]


def _finish(ws: Worksheet, *, freeze: str, wrap: Collection[int] = (),
            skip_rows: int = 0) -> None:
    """Frozen headers, and columns as wide as their text (a Chinese character is two)."""
    ws.freeze_panes = freeze
    for col in range(1, ws.max_column + 1):
        cells = [c for (c,) in ws.iter_rows(min_row=skip_rows + 1, min_col=col, max_col=col)]
        width = max((_display_width(c.value) for c in cells), default=8)
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), _MAX_WIDTH)
        if col in wrap:
            for c in cells[1:]:
                c.alignment = _WRAP


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    text = f"{value:.1%}" if isinstance(value, float) else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# --------------------------------------------------------------------------- CSV tables

Rows = tuple[list[str], list[list[Any]]]


def _stations_table(audit: CountyAudit) -> Rows:
    header = ["station", "name", "town", "status", "entries", "verified", "revoked",
              "red_flags", "amber_flags", "root", *KPI_CODES]
    rows = []
    for s in audit.stations:
        red, amber = _counts(s.findings)
        rows.append([s.station, s.name, s.town, s.status, s.entries, s.verified, s.revoked,
                     red, amber, s.root, *(_kpi_value(s.kpis, c) for c in KPI_CODES)])
    return header, rows


def _towns_table(audit: CountyAudit) -> Rows:
    statuses = _town_statuses(audit.stations)
    rows = []
    for town, kpis in audit.towns.items():
        counts = statuses.get(town, dict.fromkeys(STATUSES, 0))
        rows.append([town, sum(counts.values()), *(counts[k] for k in STATUSES),
                     *(_kpi_value(kpis, c) for c in KPI_CODES)])
    return ["town", "stations", *STATUSES, *KPI_CODES], rows


def _flags_table(audit: CountyAudit) -> Rows:
    header = ["station", "name", "town", "code", "severity", "label", "message", "entries",
              "numbers"]
    rows = [[s.station, s.name, s.town, f.code.value, f.severity.value, f.label, f.message,
             " ".join(map(str, f.entries)), " ".join(f.numbers)]
            for s in audit.stations for f in s.findings]
    return header, rows


def _kpis_table(audit: CountyAudit) -> Rows:
    units: list[tuple[str, str, Mapping[str, KpiResult]]] = [("county", "", audit.county)]
    units += [("town", t, k) for t, k in audit.towns.items()]
    units += [("station", s.station, s.kpis) for s in audit.stations]
    rows = [[scope, unit, r.code, r.definition.name, r.numerator, r.denominator, r.value]
            for scope, unit, kpis in units for r in kpis.values()]
    return ["scope", "unit", "kpi", "name", "numerator", "denominator", "value"], rows


_CSV_BUILDERS: Mapping[str, Callable[[CountyAudit], Rows]] = {
    "stations": _stations_table, "towns": _towns_table, "flags": _flags_table,
    "kpis": _kpis_table}


def _csv_field(value: Any) -> Any:
    """Empty for no value (never 0), true/false for flags, text made formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", value)
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value
