"""``county audit`` and ``county spotcheck``: the county officer's monthly audit (issue 6).

``audit`` re-verifies every stored station log and prints each station's integrity, flags
and KPIs for a month or a date range (``--json`` for scripts: per station ``station``,
``root``, ``entries``, ``flags`` and the KPIs by code, ``null`` where no case is behind
one). ``spotcheck draw`` makes the month's reproducible 调阅 draw and keeps it in the
county folder. ``report`` writes the month as an Excel workbook, a CSV table or the PDF
monthly report (county or one town) with a trend of the months before. Registered on the
``county`` group by ``sync.county.cli``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import click

from station_app.documents.audit_report import render_audit_report
from station_app.domain.audit import KPI_BY_CODE, KpiKind, KpiResult, Period
from station_app.domain.clock import iso
from station_app.errors import ExportFailed, InvalidInput
from sync.county.audit import (
    CountyAudit,
    audit_county,
    draw_spot_check_for,
    for_town,
    load_thresholds,
)
from sync.county.audit_results import AuditResults
from sync.county.cli import Context, _table, json_flag, pass_context
from sync.county.exports import CSV_TABLES, write_csv, write_workbook
from sync.county.kpis import KpiTable, kpi_table, refresh_facts

SPOTCHECK_DIR = "spotchecks"
SHOWN = ("on_time_rate", "on_site_rate", "evaluation_rate", "satisfaction_rate",
         "avg_visits", "overdue_now")


def period_of(month: str | None, first: str | None, last: str | None, today: date) -> Period:
    """``--month`` or ``--from``/``--to``; neither: the month before ``today``'s (the one a
    county audits on the first working day)."""
    if month and (first or last):
        raise InvalidInput(field="month", label="统计期",
                           reason="--month 与 --from/--to 只能选一种")
    if first or last:
        if not (first and last):
            raise InvalidInput(field="from", label="统计期", reason="--from 和 --to 要一起给出")
        return Period(_day(first, "--from"), _day(last, "--to"))
    if month:
        return Period.month(month)
    previous = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    return Period.month(f"{previous:%Y-%m}")


def station_and_period(func: Any) -> Any:
    """``--station`` and the period options ``audit`` and ``kpis`` share."""
    for option in reversed((
            click.option("--station", "station", help="只看这个站点 / one station code only"),
            click.option("--month", help="统计月份 YYYY-MM（默认上个月）/ month, default: last"),
            click.option("--from", "first", help="起始日期 YYYY-MM-DD / first day"),
            click.option("--to", "last", help="截止日期 YYYY-MM-DD / last day"))):
        func = option(func)
    return func


def _day(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field=label.strip("-"), label=label,
                           reason=f"“{text}”应为 YYYY-MM-DD") from None


@click.command()
@station_and_period
@json_flag
@pass_context
def audit(obj: Context, station: str | None, month: str | None, first: str | None,
          last: str | None) -> None:
    """审计各站点账本与考核指标 / verify every station log, flag it, compute the KPIs."""
    county = obj.county()
    now = county.now()
    # Audited afresh (the full re-verification), each result kept for the dashboard.
    result = AuditResults(county.db).audit_and_keep(
        period=period_of(month, first, last, now.date()), now=now,
        thresholds=load_thresholds(obj.data), station=station)
    obj.emit({"ok": True, **result.to_dict()}, lambda: _audit_text(result))


def _audit_text(result: CountyAudit) -> str:
    if not result.stations:
        return "还没有站点注册 / no station enrolled yet"
    head = ["站点编码", "名称", "状态", "记录", "问题", *(KPI_BY_CODE[c].name for c in SHOWN)]
    body = [[a.station, a.name, _STATUS[a.status], str(a.entries), str(len(a.findings)),
             *(shown(a.kpis[c]) for c in SHOWN)] for a in result.stations]
    body.append(["全县", "", "", "", "", *(shown(result.county[c]) for c in SHOWN)])
    flags = [f"  {a.station} [{f.severity.value}] {f.code.value}：{f.message}"
             for a in result.stations for f in a.findings]
    notices = [f"  {a.station} 待整改 {n['open']}、超期 {n['overdue']}、已整改 {n['closed']}、"
               f"有异议 {n['disputed']}、未送达 {n['undelivered']}"
               + (f"、县级已复核待送达 {n['upheld']}" if n.get("upheld") else "")
               + (f"、已撤销 {n['withdrawn']}" if n.get("withdrawn") else "")
               for a in result.stations if (n := a.notices) and n.get("notices")]
    return "\n".join([f"统计期 {result.period.label}", _table(body, head),
                      *(["问题 / flags:", *flags] if flags else []),
                      *(["县级通知 / notices:", *notices] if notices else [])])


_STATUS = {"green": "正常", "amber": "关注", "red": "核查"}


def shown(result: KpiResult) -> str:
    value = result.value
    if value is None:
        return "—"
    if KPI_BY_CODE[result.code].kind is KpiKind.RATE:
        return f"{value * 100:.1f}%"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


@click.command()
@station_and_period
@json_flag
@pass_context
def kpis(obj: Context, station: str | None, month: str | None, first: str | None,
         last: str | None) -> None:
    """考核指标表（按事实表汇总，不重新校验账本）/ the KPI table, fast, from the facts."""
    county = obj.county()
    now = county.now()
    refreshed = refresh_facts(county.db, now=now)
    table = kpi_table(county.db, period=period_of(month, first, last, now.date()), now=now,
                      station=station)
    obj.emit({"ok": True, "refreshed": refreshed, **table.to_dict()}, lambda: _kpi_text(table))


def _kpi_text(table: KpiTable) -> str:
    head = ["站点编码", *(KPI_BY_CODE[c].name for c in SHOWN)]
    body = [[code, *(shown(k[c]) for c in SHOWN)] for code, k in table.stations.items()]
    body.append(["全县", *(shown(table.county[c]) for c in SHOWN)])
    return f"统计期 {table.period.label}\n" + _table(body, head)


@click.group()
def spotcheck() -> None:
    """每月调阅抽查 / the monthly spot check."""


@spotcheck.command("draw")
@click.option("--month", required=True, help="抽查月份 YYYY-MM / month")
@click.option("--seed", help="随机种子（默认随机生成并记录）/ seed, recorded with the draw")
@json_flag
@pass_context
def draw(obj: Context, month: str, seed: str | None) -> None:
    """抽取本月调阅的办件（可复现）/ draw the month's cases to inspect, reproducibly."""
    county = obj.county()
    made = draw_spot_check_for(county.db, month=month, seed=seed or secrets.token_hex(8),
                               now=county.now(), thresholds=load_thresholds(obj.data))
    path = _keep(obj.data, month, made.digest, made.to_json())
    out: dict[str, Any] = {"ok": True, "file": str(path), "digest": made.digest,
                           **made.to_dict()}
    obj.emit(out, lambda: "\n".join(
        [f"{month} 调阅抽查（种子 {made.seed}，摘要 {made.digest[:16]}…），已记录于 {path}"]
        + [f"  {s.station}（{_STATUS.get(s.status, s.status)}）抽 {len(s.drawn)}/"
           f"{s.population}：{'、'.join(s.drawn) or '无'}" for s in made.stations]))


def _keep(folder: Path, month: str, digest: str, data: bytes) -> Path:
    """The draw, as canonical JSON named by its digest: the same seed writes the same file."""
    path = folder / SPOTCHECK_DIR / f"{month}-{digest[:16]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


@click.command()
@click.option("--month", help="统计月份 YYYY-MM（默认上个月）/ month, default: last month")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="输出文件 .xlsx / .pdf / .csv / the file to write")
@click.option("--town", help="只出某乡镇的报告（乡镇编码）/ one town's report (its code)")
@click.option("--table", type=click.Choice(CSV_TABLES), default="stations", show_default=True,
              help="CSV 的表 / which table, for .csv")
@click.option("--trend", "trend_months", type=click.IntRange(1, 24), default=6,
              show_default=True, help="趋势图的月数 / months in the trend")
@json_flag
@pass_context
def report(obj: Context, month: str | None, out: Path, town: str | None, table: str,
           trend_months: int) -> None:
    """月度审计报告：Excel、PDF 或 CSV / the month's audit as a workbook, PDF or CSV."""
    kind = out.suffix.lower()
    if kind not in (".xlsx", ".pdf", ".csv"):
        raise ExportFailed(path=str(out), reason="文件名应以 .xlsx、.pdf 或 .csv 结尾",
                           reason_en="the file name must end in .xlsx, .pdf or .csv")
    county = obj.county()
    now = county.now()
    period = period_of(month, None, None, now.date())
    result = audit_county(county.db, period=period, now=now,
                          thresholds=load_thresholds(obj.data))
    if town:
        result = for_town(result, town)
    refresh_facts(county.db, now=now)  # the trend comes from the facts, as `county kpis`
    trend = [(m, _unit(kpi_table(county.db, period=Period.month(m), now=now), town))
             for m in months_up_to(period.first, trend_months)]
    if kind == ".xlsx":
        write_workbook(result, out, trend)
    elif kind == ".csv":
        write_csv(result, out, table)
    else:
        render_audit_report({**result.to_dict(), "trend": [
            {"label": m, "kpis": {c: r.value for c, r in k.items()}} for m, k in trend]},
            out, scope=town, generated_at=iso(now))
    obj.emit({"ok": True, "file": str(out), "period": result.to_dict()["period"],
              "stations": len(result.stations)},
             lambda: f"已写出 {out}（{period.label}，{len(result.stations)} 个站点）")


def _unit(table: KpiTable, town: str | None) -> Mapping[str, KpiResult]:
    return table.county if town is None else table.towns[town]


def months_up_to(first: date, count: int) -> list[str]:
    """``count`` months ending with the one of ``first``, oldest first."""
    index = first.year * 12 + first.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _register_inspections() -> None:
    # Inspections, spot-check results and notices (sync/county/cli_inspect.py) build on
    # the spot-check group above and the county group.
    from sync.county.cli import cli
    from sync.county.cli_inspect import register

    register(cli, spotcheck)


_register_inspections()
