"""The audit's Excel workbook and CSV tables, written to real files and read back.

The audit is the small hand-built one of ``audit_sample``: one station's KPIs computed from
real cases, one with nothing behind any KPI (every value null), one with constructed figures
and a finding whose message is a spreadsheet formula.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from station_app.domain.audit import KPI_DEFINITIONS
from station_app.errors import ExportFailed
from sync.county.exports import CSV_TABLES, write_csv, write_workbook
from tests.sync.audit_sample import (
    CENTRE,
    DONGKENG,
    FORMULA,
    XILING,
    month_trend,
    small_audit,
)

KPI_NAMES = [d.name for d in KPI_DEFINITIONS]
KPI_CODES = [d.code for d in KPI_DEFINITIONS]


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("xlsx") / "审计-2025-11.xlsx"
    write_workbook(small_audit(), path, trend=month_trend())
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left
    return load_workbook(path)


def rows_of(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_the_workbook_has_its_sheets_in_order(workbook):
    assert workbook.sheetnames == ["概览", "站点", "乡镇", "问题", "指标定义", "趋势"]


def test_without_a_trend_there_is_no_trend_sheet(tmp_path: Path):
    path = tmp_path / "a.xlsx"
    write_workbook(small_audit(), path)
    assert "趋势" not in load_workbook(path).sheetnames


def test_overview_shows_county_figures_with_their_definitions(workbook):
    ws = workbook["概览"]
    assert "2025-11-01 至 2025-11-30" in ws["A1"].value and "红 1 / 黄 1 / 绿 1" in ws["A1"].value
    assert [c.value for c in ws[2]][:5] == ["指标", "代码", "分子", "分母", "数值"]
    assert ws.freeze_panes == "C3"
    by_code = {r[1]: r for r in rows_of(ws)[2:]}
    assert list(by_code) == KPI_CODES
    on_time = by_code["on_time_rate"]
    assert on_time[:5] == ["按时办结率", "on_time_rate", 4, 6, pytest.approx(4 / 6)]
    assert on_time[5].startswith("统计期内办结、且办结时间不晚于承诺办结期限")
    assert by_code["bad_review_fixed_rate"][4] is None  # nothing behind it: empty
    assert ws.cell(3, 5).number_format == "0.0%"


def test_stations_sheet_null_kpi_is_empty_and_a_real_zero_is_zero(workbook):
    ws = workbook["站点"]
    header = [c.value for c in ws[1]]
    assert header[:9] == ["站点编码", "站点名称", "乡镇编码", "状态", "账本条数", "账本校验",
                          "已吊销", "红色问题", "黄色问题"]
    assert header[9:] == KPI_NAMES
    assert ws.freeze_panes == "C2"
    rows = {r[0]: r for r in rows_of(ws)[1:]}
    assert list(rows) == [CENTRE, DONGKENG, XILING]
    centre, dongkeng = rows[CENTRE], rows[DONGKENG]
    assert centre[1:4] == ["青石镇便民服务中心", CENTRE, "绿"]
    assert dongkeng[3] == "红" and dongkeng[7:9] == [1, 1]
    assert dongkeng[9:] == [None] * len(KPI_CODES)  # null KPIs: empty cells, never 0
    on_time, evaluation = header.index("按时办结率"), header.index("满意度评议率")
    assert centre[on_time] == 0.5 and centre[evaluation] == 0  # a true 0 % stays 0
    assert ws.cell(2, on_time + 1).number_format == "0.0%"
    assert ws.cell(4, header.index("平均跑动次数") + 1).number_format == "0.00"
    assert ws.cell(4, header.index("当前超期办件数") + 1).value == 2


def test_towns_sheet_adds_up_stations_and_names_the_town_by_its_centre(workbook):
    rows = rows_of(workbook["乡镇"])
    assert rows[0][:6] == ["乡镇编码", "乡镇名称", "站点数", "红", "黄", "绿"]
    qingshi, other = rows[1], rows[2]
    assert qingshi[:6] == [CENTRE, "青石镇", 2, 1, 0, 1]
    assert qingshi[6] == 0.5  # 1 of 2: the empty station adds nothing, is not averaged in
    assert other[:6] == ["330199102000", None, 1, 0, 1, 0]


def test_findings_sheet_lists_every_finding_and_never_runs_a_formula(workbook):
    ws = workbook["问题"]
    rows = rows_of(ws)
    assert rows[0] == ["站点编码", "站点名称", "问题代码", "严重程度", "问题", "说明", "账本条目",
                       "办件编号/代办序号"]
    assert [r[2] for r in rows[1:]] == ["NUMBER_GAP", "LATE_ENTRY", "SYNC_LAG"]
    gap = rows[1]
    assert gap[:5] == [DONGKENG, "东坑村便民服务站", "NUMBER_GAP", "红色（需核查）", "编号缺号"]
    assert gap[6:] == ["12", "330199101201-20251105-0003"]
    formula_cell = ws.cell(4, 6)
    assert formula_cell.value == FORMULA and formula_cell.data_type == "s"


def test_definitions_sheet_is_the_kpi_table(workbook):
    rows = rows_of(workbook["指标定义"])
    assert [r[0] for r in rows[1:]] == KPI_CODES
    assert rows[1][1:3] == ["按时办结率", "比率"]


def test_trend_sheet_has_months_gaps_and_a_line_chart(workbook):
    ws = workbook["趋势"]
    rows = rows_of(ws)
    assert [r[0] for r in rows[1:]] == ["2025-09", "2025-10", "2025-11"]
    satisfaction = KPI_NAMES.index("群众满意率") + 1
    assert [r[satisfaction] for r in rows[1:]] == [None, 0.8, 0.9]
    assert ws.cell(2, 2).number_format == "0.0%"
    (chart,) = ws._charts
    assert chart.tagname == "lineChart"
    assert len(chart.series) == sum(d.kind.value == "RATE" for d in KPI_DEFINITIONS)


def test_columns_are_wide_enough_for_chinese_names(workbook):
    ws = workbook["站点"]
    assert ws.column_dimensions["B"].width >= len("青石镇便民服务中心") * 2
    assert ws.column_dimensions["A"].width >= 12


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("table", CSV_TABLES)
def test_every_csv_table_has_one_english_header_row(tmp_path: Path, table: str):
    path = tmp_path / f"{table}.csv"
    write_csv(small_audit(), path, table)
    rows = read_csv(path)
    assert all(h.isascii() and h == h.lower() for h in rows[0])
    assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)


def test_stations_csv_has_null_kpis_empty(tmp_path: Path):
    path = tmp_path / "stations.csv"
    write_csv(small_audit(), path, "stations")
    header, *rows = read_csv(path)
    assert header[:10] == ["station", "name", "town", "status", "entries", "verified",
                           "revoked", "red_flags", "amber_flags", "root"]
    assert header[10:] == KPI_CODES
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert by_code[DONGKENG]["status"] == "red" and by_code[DONGKENG]["on_time_rate"] == ""
    assert by_code[CENTRE]["name"] == "青石镇便民服务中心"
    assert by_code[CENTRE]["on_time_rate"] == "0.5"
    assert by_code[CENTRE]["evaluation_rate"] == "0.0"
    assert by_code[XILING]["overdue_now"] == "2" and by_code[XILING]["verified"] == "true"


def test_flags_csv_neutralises_formulas(tmp_path: Path):
    path = tmp_path / "flags.csv"
    write_csv(small_audit(), path, "flags")
    header, *rows = read_csv(path)
    assert header == ["station", "name", "town", "code", "severity", "label", "message",
                      "entries", "numbers"]
    assert [r[3] for r in rows] == ["NUMBER_GAP", "LATE_ENTRY", "SYNC_LAG"]
    assert rows[0][4:6] == ["RED", "编号缺号"] and rows[0][8] == "330199101201-20251105-0003"
    assert rows[2][6] == "'" + FORMULA and rows[2][7] == "3 4"


def test_kpis_csv_is_long_form_for_county_towns_and_stations(tmp_path: Path):
    path = tmp_path / "kpis.csv"
    write_csv(small_audit(), path, "kpis")
    header, *rows = read_csv(path)
    assert header == ["scope", "unit", "kpi", "name", "numerator", "denominator", "value"]
    assert len(rows) == (1 + 2 + 3) * len(KPI_CODES)
    assert rows[0] == ["county", "", "on_time_rate", "按时办结率", "4", "6", str(4 / 6)]
    bad_review = [r for r in rows if r[:3] == ["town", CENTRE, "bad_review_fixed_rate"]]
    assert bad_review == [["town", CENTRE, "bad_review_fixed_rate", "差评整改率", "0", "0", ""]]


def test_an_export_replaces_an_older_file(tmp_path: Path):
    path = tmp_path / "towns.csv"
    path.write_text("old", encoding="utf-8")
    write_csv(small_audit(), path, "towns")
    assert read_csv(path)[0][0] == "town"


# --------------------------------------------------------------------------- refusals


def refused(call, folder: Path) -> ExportFailed:
    before = sorted(folder.rglob("*"))
    with pytest.raises(ExportFailed) as caught:
        call()
    assert sorted(folder.rglob("*")) == before, "a refused export wrote something"
    assert caught.value.code == "EXPORT_FAILED"
    return caught.value


def test_an_unknown_table_is_refused(tmp_path: Path):
    error = refused(lambda: write_csv(small_audit(), tmp_path / "x.csv", "cases"), tmp_path)
    assert "stations" in error.text and "cases" in error.text_en


@pytest.mark.parametrize(("name", "call"), [
    ("report.xls", write_workbook),
    ("report.csv", write_workbook),
    ("stations.txt", lambda a, p: write_csv(a, p, "stations")),
    ("stations", lambda a, p: write_csv(a, p, "stations")),
])
def test_a_wrong_suffix_is_refused(tmp_path: Path, name: str, call):
    error = refused(lambda: call(small_audit(), tmp_path / name), tmp_path)
    assert "结尾" in error.text


def test_a_missing_folder_is_refused_not_created(tmp_path: Path):
    error = refused(lambda: write_workbook(small_audit(), tmp_path / "no" / "a.xlsx"), tmp_path)
    assert "不存在" in error.text and "does not exist" in error.text_en


def test_a_folder_as_target_is_refused(tmp_path: Path):
    (tmp_path / "a.csv").mkdir()
    refused(lambda: write_csv(small_audit(), tmp_path / "a.csv", "flags"), tmp_path)


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    refused(lambda: write_csv(small_audit(), tmp_path / "file" / "a.csv", "towns"), tmp_path)


def test_a_folder_that_cannot_be_written_is_refused(tmp_path: Path):
    """The write itself fails (not a check before it): a read-only folder, or for root, who
    ignores permission bits, sysfs, where nobody may create files."""
    if os.geteuid() == 0:
        target = Path("/sys/audit-export.xlsx")
        if not Path("/sys").is_dir():
            pytest.skip("no /sys to stand in for a read-only folder")
    else:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
        target = folder / "audit-export.xlsx"
    with pytest.raises(ExportFailed) as caught:
        write_workbook(small_audit(), target)
    assert not target.exists() and not list(target.parent.glob(".audit-export.xlsx.*"))
    assert "无法写入" in caught.value.text and "cannot write" in caught.value.text_en
