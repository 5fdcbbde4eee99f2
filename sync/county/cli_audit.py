"""``county audit`` and ``county spotcheck``: the county officer's monthly audit (issue 6).

``audit`` re-verifies every stored station log and prints each station's integrity, flags
and KPIs for a month or a date range (``--json`` for scripts: per station ``station``,
``root``, ``entries``, ``flags`` and the KPIs by code, ``null`` where no case is behind
one). ``spotcheck draw`` makes the month's reproducible 调阅 draw and keeps it in the
county folder. Registered on the ``county`` group by ``sync.county.cli``.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Any

import click

from station_app.domain.audit import KPI_BY_CODE, KpiKind, KpiResult, Period
from station_app.errors import InvalidInput
from sync.county.audit import CountyAudit, audit_county, draw_spot_check_for, load_thresholds
from sync.county.cli import Context, _table, json_flag, pass_context

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


def _day(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field=label.strip("-"), label=label,
                           reason=f"“{text}”应为 YYYY-MM-DD") from None


@click.command()
@click.option("--station", "station", help="只审计这个站点 / one station code only")
@click.option("--month", help="统计月份 YYYY-MM（默认上个月）/ month, default: last month")
@click.option("--from", "first", help="起始日期 YYYY-MM-DD / first day")
@click.option("--to", "last", help="截止日期 YYYY-MM-DD / last day")
@json_flag
@pass_context
def audit(obj: Context, station: str | None, month: str | None, first: str | None,
          last: str | None) -> None:
    """审计各站点账本与考核指标 / verify every station log, flag it, compute the KPIs."""
    county = obj.county()
    now = county.now()
    result = audit_county(county.db, period=period_of(month, first, last, now.date()),
                          now=now, thresholds=load_thresholds(obj.data), station=station)
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
    return "\n".join([f"统计期 {result.period.label}", _table(body, head),
                      *(["问题 / flags:", *flags] if flags else [])])


_STATUS = {"green": "正常", "amber": "关注", "red": "核查"}


def shown(result: KpiResult) -> str:
    value = result.value
    if value is None:
        return "—"
    if KPI_BY_CODE[result.code].kind is KpiKind.RATE:
        return f"{value * 100:.1f}%"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


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
