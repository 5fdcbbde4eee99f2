"""KPIs (考核指标) with their definitions as data, computed from folded cases and proxy entries.

Each KPI is a numerator over a denominator, both counts (or, for 平均跑动次数, a sum over a
count), with the case numbers behind each so every figure drills down to its cases. The value
is None — not 0 — when nothing is behind it. Towns and the county add numerators and
denominators of their stations (``aggregate``); rates are never averaged.

Periods are inclusive date ranges in China time (``Period``); ``now`` is a parameter.
Definitions follow cn_standards.md §9 (local convention, no national text); where the domain
lacks a concept (差评整改 has no rectification record yet) the definition says what stands in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from station_app.domain.badreview import BadReview
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.cases import Case, case_deadlines, finished_on_time
from station_app.domain.clock import local_day, parse_moment
from station_app.domain.deadlines import is_overdue
from station_app.domain.evaluations import Level
from station_app.domain.proxy import ProxyEntry, submit_due, submitted_at
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import InvalidInput


class KpiKind(StrEnum):
    RATE = "RATE"  # numerator / denominator, 0…1
    MEAN = "MEAN"  # sum / count
    COUNT = "COUNT"  # numerator itself; the denominator is the population it was counted in


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiDefinition:
    code: str
    name: str
    kind: KpiKind
    numerator: str
    denominator: str
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "kind": self.kind.value,
                "numerator": self.numerator, "denominator": self.denominator, "note": self.note}


KPI_DEFINITIONS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        code="on_time_rate", name="按时办结率", kind=KpiKind.RATE,
        numerator="统计期内办结、且办结时间不晚于承诺办结期限（扣除补正、特别程序时间）的办件数",
        denominator="统计期内办结（已办结状态，按办结时间）的办件数",
        note="作废、撤回、不予受理的办件不计入；期限按工作日日历计算"),
    KpiDefinition(
        code="on_site_rate", name="现场办结率", kind=KpiKind.RATE,
        numerator="统计期内受理、且在受理当日办结的办件数",
        denominator="统计期内受理（按受理时间）的办件数"),
    KpiDefinition(
        code="evaluation_rate", name="满意度评议率", kind=KpiKind.RATE,
        numerator="统计期内办结、且截至统计时已有好差评评价的办件数",
        denominator="统计期内办结的办件数",
        note="代办记录的评价不计入本项"),
    KpiDefinition(
        code="satisfaction_rate", name="群众满意率", kind=KpiKind.RATE,
        numerator="统计期内首次评价为非常满意、满意或基本满意的事项数",
        denominator="统计期内有首次评价（按评价时间）的事项数（办件与代办记录）",
        note="一事一评，只计首次评价；追评用于差评整改率"),
    KpiDefinition(
        code="bad_review_fixed_rate", name="差评整改率", kind=KpiKind.RATE,
        numerator="分母中截至统计时差评整改已办结（核实、整改、反馈、回访均完成），"
                  "或追评为基本满意及以上的差评数",
        denominator="统计期内首次评价为不满意或非常不满意的事项数（申诉复核撤销的差评不计入）",
        note="整改以站点差评整改台账的办结记录为准；没有整改台账的早期记录以回访追评转为好评计"),
    KpiDefinition(
        code="avg_visits", name="平均跑动次数", kind=KpiKind.MEAN,
        numerator="统计期内办结的办件的跑动次数之和",
        denominator="统计期内办结的办件数",
        note="窗口收件计 1 次，代办、网上、邮寄收件计 0 次，每次补充到场加 1"),
    KpiDefinition(
        code="proxy_reported_in_3wd_rate", name="代办件3个工作日内报送率", kind=KpiKind.RATE,
        numerator="分母中在登记后 3 个工作日内报送镇便民服务中心的代办记录数",
        denominator="统计期内登记的代办记录中，已报送或报送期限已过的记录数",
        note="未报送即终止的、以及报送期限未到且尚未报送的记录不计入"),
    KpiDefinition(
        code="overdue_now", name="当前超期办件数", kind=KpiKind.COUNT,
        numerator="截至统计时仍在办理、且已超过当前办理期限（受理决定期限或承诺办结期限）的办件数",
        denominator="截至统计时仍在办理的办件数（不含登记草稿）",
        note="不限统计期；补正、特别程序中暂停计时的办件不会超期"),
)
KPI_BY_CODE: Mapping[str, KpiDefinition] = {d.code: d for d in KPI_DEFINITIONS}


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiResult:
    code: str
    numerator: int
    denominator: int
    numerator_cases: tuple[str, ...] = ()
    denominator_cases: tuple[str, ...] = ()

    @property
    def definition(self) -> KpiDefinition:
        return KPI_BY_CODE[self.code]

    @property
    def value(self) -> float | int | None:
        """None when nothing is behind the figure; a COUNT is the numerator itself."""
        if self.denominator == 0:
            return None
        if self.definition.kind is KpiKind.COUNT:
            return self.numerator
        return self.numerator / self.denominator

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.definition.name, "value": self.value,
                "numerator": self.numerator, "denominator": self.denominator,
                "numerator_cases": list(self.numerator_cases),
                "denominator_cases": list(self.denominator_cases)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiResult:
        """The result ``to_dict`` gave (name and value follow from the code and counts)."""
        return cls(code=str(data["code"]), numerator=int(data["numerator"]),
                   denominator=int(data["denominator"]),
                   numerator_cases=tuple(str(n) for n in data.get("numerator_cases", ())),
                   denominator_cases=tuple(str(n) for n in data.get("denominator_cases", ())))


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive range of days in China time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(field="period", label="统计期", reason="结束日期不能早于开始日期")

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.first <= local_day(moment) <= self.last

    @classmethod
    def month(cls, text: str) -> Period:
        """``YYYY-MM`` → that calendar month."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", (text or "").strip())
        if not m or not 1 <= int(m[2]) <= 12:
            raise InvalidInput(field="month", label="统计月份", reason=f"“{text}”应为 YYYY-MM")
        first = date(int(m[1]), int(m[2]), 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1))

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRecord:
    """One ``evaluation.recorded`` entry: whom it is about and how satisfied they were."""

    subject: str
    subject_kind: str  # "case" or "proxy"
    level: Level
    assess_number: int  # 1 首评, 2+ 追评
    at: datetime


def evaluation_from_body(body: Mapping[str, Any]) -> EvaluationRecord:
    return EvaluationRecord(subject=str(body["subject"]), subject_kind=str(body["subject_kind"]),
                            level=Level(body["level"]), assess_number=int(body["assess_number"]),
                            at=parse_moment(str(body["at"])))


@dataclass(frozen=True, slots=True, kw_only=True)
class StationRecords:
    """What the KPIs of one station are computed from."""

    station: str
    cases: Sequence[Case] = ()
    proxies: Sequence[ProxyEntry] = ()
    evaluations: Sequence[EvaluationRecord] = field(default_factory=tuple)
    reviews: Sequence[BadReview] = ()  # the 差评整改 loops (station_app/domain/badreview.py)


# --------------------------------------------------------------------------- computing


def compute_kpis(records: StationRecords, period: Period, cal: HolidayCalendar,
                 now: datetime) -> dict[str, KpiResult]:
    """Every KPI of one station for ``period``, keyed by code in definition order."""
    finished = [c for c in records.cases
                if c.state is CaseState.FINISHED and period.contains(c.closed_at)]
    first_evals, followups = first_and_followups(records.evaluations)
    results = (
        _on_time(finished, cal),
        _on_site(records.cases, period),
        _evaluated(finished, first_evals),
        _satisfied(first_evals, period),
        _bad_fixed(first_evals, followups, period, records.reviews),
        _visits(finished),
        _proxy_reported(records.proxies, period, cal, now),
        _overdue(records.cases, cal, now),
    )
    return {r.code: r for r in results}


def _result(code: str, num: Sequence[str], den: Sequence[str], numerator: int | None = None
            ) -> KpiResult:
    return KpiResult(code=code, numerator=len(num) if numerator is None else numerator,
                     denominator=len(den), numerator_cases=tuple(num),
                     denominator_cases=tuple(den))


def _on_time(finished: Sequence[Case], cal: HolidayCalendar) -> KpiResult:
    ok = [c.case_no for c in finished if finished_on_time(c, cal) is True]
    return _result("on_time_rate", ok, [c.case_no for c in finished])


def _on_site(cases: Sequence[Case], period: Period) -> KpiResult:
    accepted = [c for c in cases if period.contains(c.accepted_at)]
    same_day = [c.case_no for c in accepted if finished_same_day(c)]
    return _result("on_site_rate", same_day, [c.case_no for c in accepted])


def finished_same_day(case: Case) -> bool:
    return (case.state is CaseState.FINISHED and case.closed_at is not None
            and case.accepted_at is not None
            and local_day(case.closed_at) == local_day(case.accepted_at))


def first_and_followups(evaluations: Iterable[EvaluationRecord]
                 ) -> tuple[dict[str, EvaluationRecord], dict[str, list[EvaluationRecord]]]:
    """首评 per subject, and the 追评 of each subject in order."""
    first: dict[str, EvaluationRecord] = {}
    later: dict[str, list[EvaluationRecord]] = {}
    for e in sorted(evaluations, key=lambda e: (e.assess_number, e.at)):
        if e.assess_number <= 1 and e.subject not in first:
            first[e.subject] = e
        elif e.assess_number > 1:
            later.setdefault(e.subject, []).append(e)
    return first, later


def _evaluated(finished: Sequence[Case], first: Mapping[str, EvaluationRecord]) -> KpiResult:
    rated = [c.case_no for c in finished if c.case_no in first]
    return _result("evaluation_rate", rated, [c.case_no for c in finished])


def _satisfied(first: Mapping[str, EvaluationRecord], period: Period) -> KpiResult:
    rated = [e for e in first.values() if period.contains(e.at)]
    good = [e.subject for e in rated if not e.level.is_bad]
    return _result("satisfaction_rate", good, [e.subject for e in rated])


def _bad_fixed(first: Mapping[str, EvaluationRecord],
               later: Mapping[str, Sequence[EvaluationRecord]], period: Period,
               reviews: Sequence[BadReview]) -> KpiResult:
    loops = first_rating_loops(reviews)
    bad = [e for e in first.values() if period.contains(e.at) and e.level.is_bad
           and not _overturned(loops.get(e.subject))]
    fixed = [e.subject for e in bad if bad_review_fixed(e, later.get(e.subject, ()),
                                                       loops.get(e.subject))]
    return _result("bad_review_fixed_rate", fixed, [e.subject for e in bad])


def first_rating_loops(reviews: Sequence[BadReview]) -> dict[str, BadReview]:
    """The 差评整改 loop a 首评 opened, by subject."""
    return {r.subject: r for r in reviews if r.assess_number <= 1}


def _overturned(loop: BadReview | None) -> bool:
    return loop is not None and loop.overturned


def bad_review_fixed(first: EvaluationRecord, later: Sequence[EvaluationRecord],
                     loop: BadReview | None) -> bool:
    """整改完成: its loop reached 办结 (not by an overturned appeal), or — for a rating with
    no loop — a later 追评 that is not bad."""
    if loop is not None:
        return not loop.is_open and not loop.overturned
    return any(f.at >= first.at and not f.level.is_bad for f in later)


def _visits(finished: Sequence[Case]) -> KpiResult:
    return _result("avg_visits", [c.case_no for c in finished if c.visits > 0],
                   [c.case_no for c in finished], numerator=sum(c.visits for c in finished))


def _proxy_reported(proxies: Sequence[ProxyEntry], period: Period, cal: HolidayCalendar,
                    now: datetime) -> KpiResult:
    counted: list[str] = []
    in_time: list[str] = []
    for p in proxies:
        if not period.contains(p.registered_at):
            continue
        due, _ = submit_due(p, cal)
        sent = submitted_at(p)
        if sent is None and (p.state is ProxyState.TERMINATED or local_day(now) <= due):
            continue  # withdrawn before it was ever sent, or still within its 3 days
        counted.append(p.proxy_no)
        if sent is not None and local_day(sent) <= due:
            in_time.append(p.proxy_no)
    return _result("proxy_reported_in_3wd_rate", in_time, counted)


def _overdue(cases: Sequence[Case], cal: HolidayCalendar, now: datetime) -> KpiResult:
    open_cases = [c for c in cases if c.state.is_open and c.state is not CaseState.DRAFT]
    late = [c.case_no for c in open_cases if _overdue_now(c, cal, now)]
    return _result("overdue_now", late, [c.case_no for c in open_cases])


def _overdue_now(case: Case, cal: HolidayCalendar, now: datetime) -> bool:
    current = case_deadlines(case, cal).current
    if current is None:
        return False
    if isinstance(current, date):
        return local_day(now) > current
    return is_overdue(current, now)


# --------------------------------------------------------------------------- aggregating


def aggregate(results: Iterable[KpiResult]) -> KpiResult:
    """One KPI over several stations: numerators and denominators added, never rates averaged."""
    parts = list(results)
    codes = {r.code for r in parts}
    if len(codes) != 1:
        raise ValueError(f"cannot add different KPIs together: {sorted(codes)}")
    return KpiResult(code=codes.pop(), numerator=sum(r.numerator for r in parts),
                     denominator=sum(r.denominator for r in parts),
                     numerator_cases=tuple(n for r in parts for n in r.numerator_cases),
                     denominator_cases=tuple(n for r in parts for n in r.denominator_cases))


def aggregate_tables(tables: Iterable[Mapping[str, KpiResult]]) -> dict[str, KpiResult]:
    """Every KPI of a town or county from its stations' tables (from ``compute_kpis``)."""
    listed = list(tables)
    return {d.code: aggregate([t[d.code] for t in listed] or [_result(d.code, [], [])])
            for d in KPI_DEFINITIONS}
