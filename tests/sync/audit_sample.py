"""A small county audit built by hand for the export and report tests (November 2025).

- 330199101000 青石镇便民服务中心 (town 330199101000, the town's own centre): KPIs from
  ``compute_kpis`` on two real cases — A immediate, finished on the spot; B promised in
  5 working days, accepted 3 Nov, finished 17 Nov (late). No findings: green.
- 330199101201 东坑村便民服务站 (same town): ``compute_kpis`` on nothing, every KPI null;
  NUMBER_GAP (red) and LATE_ENTRY (amber): red.
- 330199102203 西岭村便民服务站 (town 330199102000): constructed figures (按时办结率 3/4,
  群众满意率 9/10 …); one SYNC_LAG (amber) whose message is a spreadsheet formula.
"""

from __future__ import annotations

from collections.abc import Mapping

from station_app.domain.audit import (
    KPI_DEFINITIONS,
    FindingCode,
    KpiResult,
    Period,
    StationRecords,
    aggregate_tables,
    compute_kpis,
    parse_thresholds,
)
from station_app.domain.audit.findings import finding
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.states import CaseState
from sync.county.audit import CountyAudit, StationAudit
from tests.domain.audit.logbook import IMMEDIATE, StationLog, at

NOVEMBER = Period.month("2025-11")
NOW = at("2025-12-01", "10:00")
CENTRE, DONGKENG, XILING = "330199101000", "330199101201", "330199102203"
FORMULA = "=HYPERLINK(\"http://evil.example\",\"点此\")"


def centre_kpis() -> dict[str, KpiResult]:
    log = StationLog(at("2025-11-01", "08:00"), station=CENTRE)
    a = log.receive(item=IMMEDIATE, served=at("2025-11-03", "09:00"))
    log.move(a, CaseState.ACCEPTED, served=at("2025-11-03", "09:10"))
    log.move(a, CaseState.FINISHED, served=at("2025-11-03", "09:20"))
    b = log.receive(served=at("2025-11-03", "10:00"))
    log.move(b, CaseState.ACCEPTED, served=at("2025-11-03", "10:30"))
    log.move(b, CaseState.FINISHED, served=at("2025-11-17", "15:00"))
    records = StationRecords(station=CENTRE, cases=log.cases(), proxies=log.proxies())
    return compute_kpis(records, NOVEMBER, HolidayCalendar.empty(), NOW)


def constructed_kpis(**figures: tuple[int, int]) -> dict[str, KpiResult]:
    """Every KPI, with ``code=(numerator, denominator)`` where given and 0/0 elsewhere."""
    return {d.code: KpiResult(code=d.code, numerator=figures.get(d.code, (0, 0))[0],
                              denominator=figures.get(d.code, (0, 0))[1])
            for d in KPI_DEFINITIONS}


def station(code: str, name: str, town: str, kpis: Mapping[str, KpiResult],
            findings: tuple = ()) -> StationAudit:
    return StationAudit(station=code, name=name, town=town, origin=f"station/{code}/x",
                        entries=40, root="cm9vdA==", verified=True, revoked=False,
                        findings=findings, kpis=kpis)


def small_audit() -> CountyAudit:
    empty = compute_kpis(StationRecords(station=DONGKENG), NOVEMBER, HolidayCalendar.empty(),
                         NOW)
    stations = (
        station(CENTRE, "青石镇便民服务中心", CENTRE, centre_kpis()),
        station(DONGKENG, "东坑村便民服务站", CENTRE, empty, (
            finding(DONGKENG, FindingCode.NUMBER_GAP, "办件编号缺 330199101201-20251105-0003",
                    entries=[12], numbers=["330199101201-20251105-0003"]),
            finding(DONGKENG, FindingCode.LATE_ENTRY, "第 14 条记录晚于服务时间 30 小时录入",
                    entries=[14]))),
        station(XILING, "西岭村便民服务站", "330199102000",
                constructed_kpis(on_time_rate=(3, 4), satisfaction_rate=(9, 10),
                                 avg_visits=(5, 4), overdue_now=(2, 7)),
                (finding(XILING, FindingCode.SYNC_LAG, FORMULA, entries=[3, 4]),)),
    )
    towns: dict[str, list[Mapping[str, KpiResult]]] = {}
    for s in stations:
        towns.setdefault(s.town, []).append(s.kpis)
    return CountyAudit(period=NOVEMBER, now=NOW, thresholds=parse_thresholds(None),
                       stations=stations,
                       towns={t: aggregate_tables(k) for t, k in sorted(towns.items())},
                       county=aggregate_tables(s.kpis for s in stations))


def month_trend() -> list[tuple[str, dict[str, KpiResult]]]:
    """Three months of county KPIs, September with no evaluations at all (null, a gap)."""
    return [("2025-09", constructed_kpis(on_time_rate=(8, 10), on_site_rate=(5, 10))),
            ("2025-10", constructed_kpis(on_time_rate=(9, 10), on_site_rate=(6, 10),
                                         satisfaction_rate=(4, 5))),
            ("2025-11", dict(small_audit().county))]


def trend_data() -> list[dict]:
    """The same trend as plain data, the way the PDF report takes it."""
    return [{"label": label, "kpis": {c: r.value for c, r in kpis.items()}}
            for label, kpis in month_trend()]
