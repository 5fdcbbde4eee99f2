"""Monthly spot check (调阅): a reproducible, risk-weighted random draw of cases per station.

The draw is a pure function of its inputs: the seed, the month, each station's candidate case
numbers, and the weights taken from the findings. Each case gets ``weight`` lottery tickets,
each ticket a SHA-256 of (method, seed, month, station, case number, ticket number); a case's
key is its best ticket and the cases with the highest keys are drawn. The best of ``w``
uniform tickets is distributed like ``u ** (1 / w)``, so this is the Efraimidis–Spirakis
weighted draw without replacement, in integers only: the same on every Python and platform,
and independent of the order the candidates are listed in. (``random`` is not used: its
seeding is not promised stable across Python versions, and the domain stays free of it.)

Stations with red findings get more cases drawn than amber ones, amber more than clean ones
(``AuditThresholds.spot_cases_*``), and inside a station a case some finding names weighs
``spot_flagged_case_weight`` tickets. The ``SpotCheckDraw`` record holds all of that — seed,
month, quotas, weights, a digest of each station's candidate list — and is written as
canonical JSON, so anyone can recompute the draw and see nobody chose the cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station_app.domain.audit.findings import Finding, flagged_numbers, station_status
from station_app.domain.audit.kpi import EvaluationRecord, Period
from station_app.domain.audit.settings import AuditThresholds
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.canonical import canonical_json
from station_app.domain.cases import Case, case_deadlines, finished_on_time
from station_app.domain.clock import local_day
from station_app.domain.deadlines import is_overdue
from station_app.domain.documents import DocKind
from station_app.domain.states import CaseState
from station_app.errors import InvalidInput

METHOD = "vss-spotcheck/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class StationDraw:
    station: str
    status: str  # green / amber / red, from the station's findings
    population: int  # candidate cases
    population_digest: str  # SHA-256 of the sorted candidate numbers, one per line
    quota: int
    weights: Mapping[str, int]  # only cases weighing more than 1
    drawn: tuple[str, ...]  # sorted

    def to_dict(self) -> dict[str, Any]:
        return {"station": self.station, "status": self.status, "population": self.population,
                "population_digest": self.population_digest, "quota": self.quota,
                "weights": dict(self.weights), "drawn": list(self.drawn)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpotCheckDraw:
    seed: str
    month: str
    method: str
    quotas: Mapping[str, int]  # status → cases to draw
    flagged_weight: int
    stations: tuple[StationDraw, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "month": self.month, "method": self.method,
                "quotas": dict(self.quotas), "flagged_weight": self.flagged_weight,
                "stations": [s.to_dict() for s in self.stations]}

    def to_json(self) -> bytes:
        """Canonical JSON, the form to store in the county log."""
        return canonical_json(self.to_dict())

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()

    def drawn(self) -> dict[str, tuple[str, ...]]:
        return {s.station: s.drawn for s in self.stations}


def draw_spot_check(
    *, seed: str, month: str, candidates: Mapping[str, Iterable[str]],
    findings: Iterable[Finding] = (), thresholds: AuditThresholds,
) -> SpotCheckDraw:
    """Draw each station's cases for ``month`` (``YYYY-MM``).

    ``candidates``: station code → case numbers that may be drawn (see ``month_candidates``).
    ``findings``: the audit's findings; they set each station's quota and flagged cases.
    """
    if not isinstance(seed, str) or not seed.strip():
        raise InvalidInput(field="seed", label="抽查种子", reason="不能为空")
    Period.month(month)  # refuses a malformed month
    quotas = {"green": thresholds.spot_cases_green, "amber": thresholds.spot_cases_amber,
              "red": thresholds.spot_cases_red}
    by_station: dict[str, list[Finding]] = {}
    for f in findings:
        by_station.setdefault(f.station, []).append(f)
    stations = sorted(set(candidates) | set(by_station))
    draws = tuple(
        _draw_station(seed, month, station, candidates.get(station, ()),
                      by_station.get(station, []), quotas, thresholds.spot_flagged_case_weight)
        for station in stations)
    return SpotCheckDraw(seed=seed, month=month, method=METHOD, quotas=quotas,
                         flagged_weight=thresholds.spot_flagged_case_weight, stations=draws)


def _draw_station(seed: str, month: str, station: str, numbers: Iterable[str],
                  findings: Sequence[Finding], quotas: Mapping[str, int],
                  flagged_weight: int) -> StationDraw:
    population = sorted(set(numbers))
    status = station_status(findings)
    flagged = flagged_numbers(findings)
    weights = {n: flagged_weight for n in population if n in flagged and flagged_weight > 1}
    ranked = sorted(population, key=lambda n: (-_key(seed, month, station, n,
                                                      weights.get(n, 1)), n))
    quota = quotas[status]
    return StationDraw(
        station=station, status=status, population=len(population),
        population_digest=hashlib.sha256("\n".join(population).encode()).hexdigest(),
        quota=quota, weights=weights, drawn=tuple(sorted(ranked[:quota])))


def _key(seed: str, month: str, station: str, number: str, weight: int) -> int:
    return max(int.from_bytes(hashlib.sha256(
        f"{METHOD}\n{seed}\n{month}\n{station}\n{number}\n{ticket}".encode()).digest(), "big")
        for ticket in range(weight))


def month_candidates(cases: Iterable[Case], month: str) -> list[str]:
    """Case numbers received (收件时间, the service time) in ``month``, drafts included."""
    period = Period.month(month)
    return sorted(c.case_no for c in cases if period.contains(c.received_at))


# --------------------------------------------------------------------------- checklist


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistItem:
    code: str
    label: str
    hint: str


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(code="materials_archived", label="申请材料已归档",
                  hint="纸质卷宗中的材料与系统登记的收取材料（名称、原件和复印件份数）一致"),
    ChecklistItem(code="documents_printed", label="文书已出具",
                  hint="按办理环节应出具的收件回执、受理通知书、一次性告知书、不予受理通知书、"
                       "办结通知书均已打印并留存"),
    ChecklistItem(code="deadlines_met", label="办理时限符合",
                  hint="5 个工作日内作出受理决定（或一次性告知），办结不晚于承诺办结期限"),
    ChecklistItem(code="evaluation_present", label="好差评已评价",
                  hint="已办结的办件有评价记录"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistAnswer:
    """What the records say for one checklist item; ``system`` None: the auditor must look."""

    code: str
    label: str
    system: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "system": self.system,
                "detail": self.detail}


_DOCS_FOR_STATE = {
    CaseState.RECEIVED: DocKind.RECEIPT, CaseState.SUPPLEMENT: DocKind.SUPPLEMENT_NOTICE,
    CaseState.ACCEPTED: DocKind.ACCEPT_NOTICE, CaseState.REJECTED: DocKind.REJECT_NOTICE,
    CaseState.FINISHED: DocKind.FINISH_NOTICE,
}


def required_documents(case: Case) -> tuple[DocKind, ...]:
    """The papers a case's history calls for, in the order it reached each state."""
    needed = [_DOCS_FOR_STATE[h.target] for h in case.history if h.target in _DOCS_FOR_STATE]
    return tuple(dict.fromkeys(needed))


def prefill_checklist(case: Case, *, printed: Collection[str],
                      evaluations: Sequence[EvaluationRecord], cal: HolidayCalendar,
                      now: datetime) -> tuple[ChecklistAnswer, ...]:
    """The checklist of a drawn case, answered from the records where they can answer.

    ``printed``: the document kinds (``DocKind`` values) printed for this case.
    """
    labels = {i.code: i.label for i in CHECKLIST}
    names = "、".join(m.name for m in case.materials) or "无"
    missing = [k for k in required_documents(case) if k.value not in set(printed)]
    ok, why = _deadlines_met(case, cal, now)
    rated = [e for e in evaluations if e.subject == case.case_no]
    finished = case.state is CaseState.FINISHED
    return (
        ChecklistAnswer(code="materials_archived", label=labels["materials_archived"],
                        system=None, detail=f"系统登记收取材料 {len(case.materials)} 项：{names}"),
        ChecklistAnswer(code="documents_printed", label=labels["documents_printed"],
                        system=not missing,
                        detail="应出具的文书均已打印" if not missing else
                        "未打印：" + "、".join(k.label for k in missing)),
        ChecklistAnswer(code="deadlines_met", label=labels["deadlines_met"], system=ok,
                        detail=why),
        ChecklistAnswer(code="evaluation_present", label=labels["evaluation_present"],
                        system=bool(rated) if finished else None,
                        detail=(f"已有 {len(rated)} 次评价" if rated else "办结后未评价")
                        if finished else f"办件{case.state.label}，尚不需评价"),
    )


def _deadlines_met(case: Case, cal: HolidayCalendar, now: datetime) -> tuple[bool, str]:
    deadlines = case_deadlines(case, cal)
    decided = next((h.at for h in case.history[1:] if h.source in
                    (CaseState.RECEIVED, CaseState.SUPPLEMENT)), None)
    decision_day = local_day(decided) if decided is not None else local_day(now)
    if deadlines.decision is not None and case.state is not CaseState.DRAFT and \
            decision_day > deadlines.decision:
        return False, f"受理决定期限 {deadlines.decision} 已过，决定于 {decision_day}"
    if case.state is CaseState.FINISHED:
        on_time = finished_on_time(case, cal)
        return bool(on_time), "按承诺期限办结" if on_time else "超过承诺期限办结"
    promised = deadlines.promised
    if promised is not None and case.state.is_open and is_overdue(promised, now):
        return False, f"已超过承诺办结期限 {promised.label}"
    return True, "期限内"
