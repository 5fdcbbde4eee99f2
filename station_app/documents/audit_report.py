"""The county audit's monthly report as an A4 PDF, for the county or one town (issue 6 item 6).

It takes plain data — ``CountyAudit.to_dict()`` from ``sync.county.audit``, plus an optional
``"trend"``: ``[{"label": "2025-10", "kpis": {code: value or None}}, …]`` oldest first —
because the documents layer sees only the domain, never the county server.

Contents: title and period; how many stations are red, amber and green; the KPI table with
every definition; a bar chart of 按时办结率 by town (county report) or by station (town
report); a line chart of the rates month by month; the stations, red first; every red
finding. A KPI with nothing behind it reads "无数据", never 0 %.

Fonts are the renderer's bundled CJK fonts (embedded subsets); ``invariant=1`` makes the same
data give the same bytes. The file is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.textlabels import NA_Label
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from station_app.documents.export_file import export_target, write_whole

# The renderer's font registration and mixed-font markup (primary font, fallback for rare
# characters): one set of fonts for every PDF the app makes.
from station_app.documents.render import DEFAULT_FONTS, FONT, _markup, _register
from station_app.domain.audit import KPI_BY_CODE, KPI_DEFINITIONS, KpiDefinition, KpiKind
from station_app.errors import InvalidInput

COUNTY_TITLE = "县级便民服务站点月度审计报告"
CENTRE_SUFFIX = "便民服务中心"
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN - 12  # the frame's own 6 pt padding on each side
STATUS_ORDER = {"red": 0, "amber": 1, "green": 2}
STATUS_TEXT = {"red": "红", "amber": "黄", "green": "绿"}
STATUS_COLOURS = {"red": colors.HexColor("#f4b6b6"), "amber": colors.HexColor("#fbe3a6"),
                  "green": colors.HexColor("#c9e7c3")}
SERIES_COLOURS = [colors.HexColor(c) for c in
                  ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")]
BARS_PER_CHART = 40  # 16 pt a bar: one chart of 40 fills most of a page; more get another
RATE_CODES = tuple(d.code for d in KPI_DEFINITIONS if d.kind is KpiKind.RATE)
GRID = [("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]


def render_audit_report(data: Mapping[str, Any], path: Path, *, scope: str | None = None,
                        generated_at: str) -> None:
    """Write the report of ``data`` (see the module docstring) to ``path`` (``.pdf``).

    ``scope`` is None for the county report, or a town code (a key of ``data["towns"]``)
    for that town's report: only its stations, its aggregate KPIs, bars per station.
    ``generated_at`` is printed as given (the caller's clock, so tests can fix it).
    """
    path = export_target(Path(path), ".pdf")
    report = _Report(data, scope, generated_at)
    pdf = report.build()
    write_whole(path, pdf)


# --------------------------------------------------------------------------- the content


class _Report:
    def __init__(self, data: Mapping[str, Any], scope: str | None, generated_at: str) -> None:
        self.covered = _register(str(DEFAULT_FONTS[0]), str(DEFAULT_FONTS[1]))
        stations = list(data["stations"])
        self.towns = _town_names(stations)
        if scope is not None and scope not in data["towns"]:
            raise InvalidInput(field="scope", label="报告范围",
                               reason=f"本次审计中没有乡镇“{scope}”的站点")
        self.scope = scope
        self.stations = [s for s in stations if scope is None or s["town"] == scope]
        self.kpis: Mapping[str, Any] = data["county"] if scope is None else data["towns"][scope]
        self.town_kpis: Mapping[str, Any] = data["towns"]
        self.period = f"{data['period']['from']} 至 {data['period']['to']}"
        self.now = str(data["now"])[:16].replace("T", " ")
        self.trend: Sequence[Mapping[str, Any]] = data.get("trend") or ()
        self.generated_at = generated_at

    @property
    def title(self) -> str:
        if self.scope is None:
            return COUNTY_TITLE
        return f"{self.towns.get(self.scope, f'乡镇 {self.scope} ')}便民服务站点月度审计报告"

    def build(self) -> bytes:
        buf = io.BytesIO()
        doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                                topMargin=MARGIN, bottomMargin=MARGIN, title=self.title,
                                author="", subject=f"统计期 {self.period}",
                                creator="station-app", invariant=1, initialFontName=FONT)
        doc.build(self.story(), onFirstPage=self._footer, onLaterPages=self._footer)
        return buf.getvalue()

    def story(self) -> list[Flowable]:
        return [*self._heading(), *self._kpi_section(), *self._bar_section(),
                *self._trend_section(), *self._station_section(), *self._red_section()]

    # ------------------------------------------------------------------ text helpers

    def p(self, text: str, size: float = 10, *, align: int = 0, leading: float = 1.4,
          before: float = 0, after: float = 0, colour: Any = colors.black,
          keep: bool = False) -> Paragraph:
        style = ParagraphStyle("r", fontName=FONT, fontSize=size, leading=size * leading,
                               alignment=align, wordWrap="CJK", spaceBefore=before,
                               spaceAfter=after, textColor=colour, keepWithNext=int(keep))
        return Paragraph(_markup(text, self.covered), style)

    def section(self, text: str) -> Paragraph:
        return self.p(text, 13, before=10, after=4, keep=True)  # never alone at a page foot

    def table(self, rows: list[list[Any]], widths: Sequence[float],
              extra: Sequence[tuple] = ()) -> Table:
        total = sum(widths)
        table = Table(rows, colWidths=[WIDTH * w / total for w in widths], repeatRows=1,
                      hAlign="LEFT")
        table.setStyle(TableStyle([*GRID, *extra]))
        return table

    def _footer(self, canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN + 6, MARGIN / 2, f"{self.title} · 统计期 {self.period}")
        canvas.drawRightString(A4[0] - MARGIN - 6, MARGIN / 2, f"第 {doc.page} 页")
        canvas.restoreState()

    # ------------------------------------------------------------------ sections

    def _heading(self) -> list[Flowable]:
        counts = {k: sum(s["status"] == k for s in self.stations) for k in STATUS_ORDER}
        flags = [f for s in self.stations for f in s["flags"]]
        red = sum(f["severity"] == "RED" for f in flags)
        where = "" if self.scope is None else f"乡镇编码 {self.scope}　"
        return [
            self.p(self.title, 18, align=TA_CENTER, leading=1.3, after=4),
            self.p(f"{where}统计期 {self.period}　统计时点 {self.now}　生成于 "
                   f"{self.generated_at}", 9, align=TA_CENTER, after=8, colour=colors.grey),
            self.p(f"本期审计站点 {len(self.stations)} 个：红色 {counts['red']} 个、黄色 "
                   f"{counts['amber']} 个、绿色 {counts['green']} 个；发现问题 {len(flags)} "
                   f"条，其中红色（需核查）{red} 条。指标无相应办件时记为“无数据”，不计为 0。",
                   10.5),
        ]

    def _kpi_section(self) -> list[Flowable]:
        small = 8.5
        rows: list[list[Any]] = [[self.p(h, 9) for h in ("指标", "数值", "分子/分母", "口径")]]
        for d in KPI_DEFINITIONS:
            r = self.kpis.get(d.code) or {}
            rows.append([self.p(d.name, 9.5), self.p(_format(d, r.get("value")), 9.5),
                         self.p(f"{r.get('numerator', 0)} / {r.get('denominator', 0)}", 9),
                         self.p(_definition_text(d), small, leading=1.3)])
        return [self.section("一、主要指标"), self.table(rows, [2.6, 1.5, 1.6, 9.0])]

    def _bar_section(self) -> list[Flowable]:
        if self.scope is None:
            title = "二、各乡镇按时办结率"
            units = [(self.towns.get(t, t), k.get("on_time_rate", {}).get("value"))
                     for t, k in self.town_kpis.items()]
        else:
            title = "二、各站点按时办结率"
            units = [(_short(s["name"]), s["kpis"].get("on_time_rate", {}).get("value"))
                     for s in sorted(self.stations, key=lambda s: s["station"])]
        if not units:
            return [self.section(title), self.p("本期无站点。")]
        charts = [_bar_chart(units[i:i + BARS_PER_CHART])
                  for i in range(0, len(units), BARS_PER_CHART)]
        return [self.section(title), *charts]

    def _trend_section(self) -> list[Flowable]:
        title = self.section("三、主要指标月度趋势")
        if len(self.trend) < 2:
            return [title, self.p("未提供往月数据（至少两个月才能画出趋势）。")]
        return [title, _line_chart(self.trend)]

    def _station_section(self) -> list[Flowable]:
        head = ["站点编码", "站点名称", "状态", "红色\n问题", "黄色\n问题", "账本\n条数",
                "账本\n校验", "按时\n办结率", "群众\n满意率", "当前\n超期"]
        rows: list[list[Any]] = [[self.p(h, 8.5, align=TA_CENTER) for h in head]]
        extra = []
        ordered = sorted(self.stations, key=lambda s: (STATUS_ORDER[s["status"]], s["station"]))
        for i, s in enumerate(ordered, start=1):
            rows.append([self.p(c, 8.5) for c in _station_cells(s)])
            extra.append(("BACKGROUND", (2, i), (2, i), STATUS_COLOURS[s["status"]]))
        table = self.table(rows, [2.9, 3.9, 1.0, 1.2, 1.2, 1.2, 1.2, 1.5, 1.5, 1.2], extra)
        return [self.section("四、站点状态（红色在前）"), table]

    def _red_section(self) -> list[Flowable]:
        names = {s["station"]: s["name"] for s in self.stations}
        red = [f for s in self.stations for f in s["flags"] if f["severity"] == "RED"]
        title = self.section("五、红色问题（需核查）")
        if not red:
            return [title, self.p("本期无红色问题。")]
        rows: list[list[Any]] = [[self.p(h, 8.5) for h in ("站点", "问题", "说明", "涉及编号")]]
        for f in red:
            rows.append([self.p(f"{names.get(f['station'], '')}\n{f['station']}", 8),
                         self.p(f["label"], 8.5), self.p(f["message"], 8),
                         self.p("\n".join(f["numbers"]) or _entries(f["entries"]), 7.5)])
        return [title, self.table(rows, [3.0, 2.6, 5.6, 3.6], [("VALIGN", (0, 0), (-1, -1),
                                                                "TOP")])]


# --------------------------------------------------------------------------- charts


def _drawing(height: float) -> Drawing:
    drawing = Drawing(WIDTH, height)
    # the renderer starts every drawing in Helvetica, which would be declared (unembedded)
    # in the PDF even though every string below names the bundled font
    drawing.initialFontName = FONT
    return drawing


def _bar_chart(units: Sequence[tuple[str, float | None]]) -> Drawing:
    """Horizontal bars, first unit on top; a unit with no finished cases gets no bar and
    says so, instead of a bar of zero length that would read as 0 %."""
    n, step, label_w = len(units), 16, 120
    height = step * n + 30
    drawing = _drawing(height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = label_w, 20, WIDTH - label_w - 40, step * n
    listed = list(reversed(units))  # reportlab stacks categories from the bottom up
    chart.data = [[None if v is None else round(v * 100, 1) for _, v in listed]]
    chart.categoryAxis.categoryNames = [name for name, _ in listed]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 8
    chart.bars[0].fillColor = SERIES_COLOURS[0]
    chart.barWidth = step * 0.6
    chart.barLabelFormat = "%.1f%%"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7.5
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    chart.naLabel = NA_Label()
    chart.naLabel.fontName = FONT
    chart.naLabel.fontSize = 7.5
    chart.naLabel.text = "无数据"
    chart.naLabel.boxAnchor = "w"
    chart.naLabel.dx = 3
    drawing.add(chart)
    return drawing


def _line_chart(trend: Sequence[Mapping[str, Any]]) -> Drawing:
    """The rates month by month on one 0–100 % axis. A month with no cases behind a rate is
    a gap in its line (reportlab would join across it), so each unbroken run is drawn as its
    own row in the rate's colour. The mean and the count are in the KPI table, not here."""
    height = 190
    drawing = _drawing(height)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 30, 60, WIDTH - 40, height - 75
    chart.joinedLines = 0  # per row below: a run of one month is a dot, not a line
    rows, names = [], []
    for code, colour in zip(RATE_CODES, SERIES_COLOURS, strict=False):
        runs = _runs([_percent(month["kpis"].get(code)) for month in trend])
        for run in runs:
            rows.append(run)
            line = chart.lines[len(rows) - 1]
            line.strokeColor, line.strokeWidth = colour, 1.5
            line.symbol = makeMarker("FilledCircle", size=3.5, fillColor=colour)
            if sum(v is not None for v in run) > 1:
                line.lineStyle = "joinedLine"
        names.append(KPI_BY_CODE[code].name + ("" if runs else "（无数据）"))
    chart.data = rows or [[None] * len(trend)]
    chart.categoryAxis.categoryNames = [str(month["label"]) for month in trend]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#dddddd")
    drawing.add(chart)
    drawing.add(_legend(names))
    return drawing


def _runs(values: Sequence[float | None]) -> list[list[float | None]]:
    """Each unbroken run of values as a full-length row, None outside the run."""
    runs: list[list[float | None]] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        if i == 0 or values[i - 1] is None:
            runs.append([None] * len(values))
        runs[-1][i] = v
    return runs


def _legend(names: Sequence[str]) -> Legend:
    legend = Legend()
    legend.x, legend.y = 30, 30
    legend.fontName, legend.fontSize = FONT, 8
    legend.alignment = "right"
    legend.columnMaximum = 2
    legend.dx, legend.dy, legend.deltax = 8, 8, 135
    legend.colorNamePairs = list(zip(SERIES_COLOURS, names, strict=False))
    return legend


# --------------------------------------------------------------------------- formatting


def _format(d: KpiDefinition, value: float | int | None) -> str:
    if value is None:
        return "无数据"
    if d.kind is KpiKind.RATE:
        return f"{value:.1%}"
    if d.kind is KpiKind.MEAN:
        return f"{value:.2f}"
    return str(value)


def _percent(value: float | int | None) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


def _definition_text(d: KpiDefinition) -> str:
    text = f"分子：{d.numerator}。分母：{d.denominator}。"
    return text + (f"{d.note}。" if d.note else "")


def _station_cells(s: Mapping[str, Any]) -> list[str]:
    severities = [f["severity"] for f in s["flags"]]

    def value(code: str) -> str:
        return _format(KPI_BY_CODE[code], s["kpis"].get(code, {}).get("value"))

    return [s["station"], s["name"], STATUS_TEXT[s["status"]], str(severities.count("RED")),
            str(severities.count("AMBER")), str(s["entries"]),
            "通过" if s["verified"] else "不通过", value("on_time_rate"),
            value("satisfaction_rate"), value("overdue_now")]


def _entries(entries: Sequence[int]) -> str:
    return "账本第 " + "、".join(map(str, entries)) + " 条" if entries else ""


def _short(name: str) -> str:
    """A station's name without the common suffix, so bar labels stay short."""
    for suffix in ("便民服务站", "便民服务中心"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def _town_names(stations: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A town's name from its own centre (the station whose code is the town code); the
    audit data carries no other source of town names."""
    return {s["town"]: s["name"].removesuffix(CENTRE_SUFFIX) or s["name"]
            for s in stations if s["station"] == s["town"]}


# --------------------------------------------------------------------------- the file
