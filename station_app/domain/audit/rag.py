"""The dashboard's red/amber/green (红/黄/绿) for one station: its findings and its KPIs.

Pure: the findings' colour (``station_status``) and KPI bands from the county's thresholds
(``AuditThresholds.rag_*``); the worse of the two wins. A KPI with nothing behind it (value
None) never colours a station: no cases is not bad service. Every colour comes with its
reasons, so the dashboard can say why a station is red.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from station_app.domain.audit.findings import Finding, station_status
from station_app.domain.audit.kpi import KPI_BY_CODE, KpiResult
from station_app.domain.audit.settings import AuditThresholds

GREEN, AMBER, RED = "green", "amber", "red"
_RANK = {GREEN: 0, AMBER: 1, RED: 2}
LABELS = {GREEN: "绿", AMBER: "黄", RED: "红"}


@dataclass(frozen=True, slots=True)
class Rag:
    status: str  # green, amber or red
    reasons: tuple[str, ...]  # Chinese, one per thing that coloured it

    @property
    def label(self) -> str:
        return LABELS[self.status]

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "label": self.label, "reasons": list(self.reasons)}


def station_rag(findings: Iterable[Finding], kpis: Mapping[str, KpiResult],
                thresholds: AuditThresholds) -> Rag:
    found = list(findings)
    status = station_status(found)
    reasons = [f"{sum(1 for f in found if f.severity.value == s)} 项{label}问题"
               for s, label in (("RED", "红色"), ("AMBER", "黄色"))
               if any(f.severity.value == s for f in found)]
    for colour, reason in kpi_bands(kpis, thresholds):
        reasons.append(reason)
        status = worse(status, colour)
    return Rag(status, tuple(reasons))


def kpi_bands(kpis: Mapping[str, KpiResult], t: AuditThresholds) -> list[tuple[str, str]]:
    """(colour, reason) for each KPI outside its green band."""
    out: list[tuple[str, str]] = []
    for code, red, amber in (("on_time_rate", t.rag_on_time_red_pct, t.rag_on_time_amber_pct),
                             ("satisfaction_rate", t.rag_satisfaction_red_pct,
                              t.rag_satisfaction_amber_pct)):
        result = kpis.get(code)
        value = None if result is None else result.value
        if value is None:
            continue
        # Compared as whole-number fractions (n/d < p/100), so 4/5 at an 80 % line is not red.
        n, d = result.numerator, result.denominator  # type: ignore[union-attr]
        name = KPI_BY_CODE[code].name
        if n * 100 < red * d:
            out.append((RED, f"{name} {n}/{d} 低于 {red}%"))
        elif n * 100 < amber * d:
            out.append((AMBER, f"{name} {n}/{d} 低于 {amber}%"))
    overdue = kpis.get("overdue_now")
    if overdue is not None and overdue.denominator:
        name = KPI_BY_CODE["overdue_now"].name
        if overdue.numerator >= t.rag_overdue_red:
            out.append((RED, f"{name} {overdue.numerator} 件（≥ {t.rag_overdue_red}）"))
        elif overdue.numerator >= t.rag_overdue_amber:
            out.append((AMBER, f"{name} {overdue.numerator} 件（≥ {t.rag_overdue_amber}）"))
    return out


def worse(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b
