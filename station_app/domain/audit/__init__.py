"""The county audit's pure core (issue 6): findings, thresholds, ledger integrity, timing
flags, KPIs and the monthly spot-check draw.

Everything here is a pure function of its arguments: no database, network or clock ("now",
thresholds and seeds are parameters). The county store feeds it decoded log entries,
receipts, checkpoint clock readings and folded cases; the CLI, reports and dashboard show
what it returns.
"""

from station_app.domain.audit.findings import (
    Finding,
    FindingCode,
    Severity,
    flagged_numbers,
    station_status,
)
from station_app.domain.audit.integrity import audit_integrity
from station_app.domain.audit.kpi import (
    KPI_BY_CODE,
    KPI_DEFINITIONS,
    EvaluationRecord,
    KpiDefinition,
    KpiKind,
    KpiResult,
    Period,
    StationRecords,
    aggregate,
    aggregate_tables,
    compute_kpis,
    evaluation_from_body,
)
from station_app.domain.audit.settings import AuditThresholds, parse_thresholds
from station_app.domain.audit.seven import PhotoCheck, SevenOversight, seven_oversight
from station_app.domain.audit.spotcheck import (
    CHECKLIST,
    ChecklistAnswer,
    ChecklistItem,
    SpotCheckDraw,
    StationDraw,
    draw_spot_check,
    month_candidates,
    prefill_checklist,
)
from station_app.domain.audit.timing import (
    ClockReading,
    CreationWindow,
    Receipt,
    audit_timing,
    creation_windows,
)

__all__ = [
    "CHECKLIST", "KPI_BY_CODE", "KPI_DEFINITIONS", "AuditThresholds", "ChecklistAnswer",
    "ChecklistItem", "ClockReading", "CreationWindow", "EvaluationRecord", "Finding",
    "FindingCode", "KpiDefinition", "KpiKind", "KpiResult", "Period", "PhotoCheck", "Receipt",
    "SevenOversight", "Severity", "SpotCheckDraw", "StationDraw", "StationRecords", "aggregate",
    "aggregate_tables",
    "audit_integrity", "audit_timing", "compute_kpis", "creation_windows", "draw_spot_check",
    "evaluation_from_body", "flagged_numbers", "month_candidates", "parse_thresholds",
    "prefill_checklist", "seven_oversight", "station_status",
]
