"""Per-record facts from which every KPI is a sum over a period, so a county of millions of
cases is one SQL aggregation instead of folding every log at audit time.

A fact row holds what a KPI asks of one case, proxy entry or rated subject, with times as
CST ISO text (fixed width, so text order is time order). What depends on "now" is stored as
the moment it flips: a case is overdue from ``overdue_from``; a proxy entry not yet sent
counts from ``counts_from`` (the day after its 3-working-day due date). ``kpis_from_facts``
is the reference for the SQL in the county store and, by test, equal to ``compute_kpis``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from station_app.domain.audit.kpi import (
    EvaluationRecord,
    KpiResult,
    Period,
    StationRecords,
    bad_review_fixed,
    finished_same_day,
    first_and_followups,
    first_rating_loops,
)
from station_app.domain.badreview import BadReview
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.cases import Case, case_deadlines, finished_on_time
from station_app.domain.clock import CST, local_day, to_cst
from station_app.domain.proxy import ProxyEntry, submit_due, submitted_at
from station_app.domain.states import CaseState, ProxyState

_TICK = timedelta(microseconds=1)


def moment_text(moment: datetime | None) -> str | None:
    """Fixed-width CST text: ``2025-10-09T09:20:00.000000+08:00``."""
    return None if moment is None else to_cst(moment).isoformat(timespec="microseconds")


def day_text(moment: datetime | None) -> str | None:
    return None if moment is None else local_day(moment).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFact:
    case_no: str
    accepted_day: str | None
    finished_day: str | None  # only for FINISHED cases
    on_time: bool  # finished on or before the promised deadline
    on_site: bool  # finished on the day it was accepted
    visits: int
    rated: bool  # a 首评 exists (as of the facts' making)
    open: bool  # counted by overdue_now (open, not a draft)
    overdue_from: str | None  # the moment it becomes overdue; None while the clock stops


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyFact:
    proxy_no: str
    registered_day: str
    counts_from: str | None  # day from which it counts though unsent; None: never counts
    sent: bool
    in_time: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingFact:
    subject: str
    first_day: str  # day of the 首评
    bad: bool
    overturned: bool = False  # a bad 首评 the county's 复核 overturned: not one to rectify
    fixed: bool  # its 差评整改 loop reached 办结 (or, with no loop, a good 追评 followed)


@dataclass(frozen=True, slots=True, kw_only=True)
class StationFacts:
    cases: tuple[CaseFact, ...]
    proxies: tuple[ProxyFact, ...]
    ratings: tuple[RatingFact, ...]


def station_facts(records: StationRecords, cal: HolidayCalendar) -> StationFacts:
    first, later = first_and_followups(records.evaluations)
    loops = first_rating_loops(records.reviews)
    return StationFacts(
        cases=tuple(case_fact(c, cal, c.case_no in first) for c in records.cases),
        proxies=tuple(proxy_fact(p, cal) for p in records.proxies),
        ratings=tuple(rating_fact(e, later.get(e.subject, ()), loops.get(e.subject))
                      for e in first.values()))


def case_fact(case: Case, cal: HolidayCalendar, rated: bool) -> CaseFact:
    finished = case.state is CaseState.FINISHED
    is_open = case.state.is_open and case.state is not CaseState.DRAFT
    return CaseFact(
        case_no=case.case_no, accepted_day=day_text(case.accepted_at),
        finished_day=day_text(case.closed_at) if finished else None,
        on_time=finished_on_time(case, cal) is True, on_site=finished_same_day(case),
        visits=case.visits, rated=rated, open=is_open,
        overdue_from=_overdue_from(case, cal) if is_open else None)


def _overdue_from(case: Case, cal: HolidayCalendar) -> str | None:
    """The first moment ``_overdue_now`` is true: past a moment deadline, or the day after
    a date deadline."""
    current = case_deadlines(case, cal).current
    if current is None:
        return None
    due = current if isinstance(current, date) and not isinstance(current, datetime) \
        else current.due if not current.paused else None
    if due is None:
        return None
    if isinstance(due, datetime):
        return moment_text(due + _TICK)
    return moment_text(datetime.combine(due + timedelta(days=1), time(), CST))


def proxy_fact(entry: ProxyEntry, cal: HolidayCalendar) -> ProxyFact:
    due, _ = submit_due(entry, cal)
    sent = submitted_at(entry)
    never = sent is None and entry.state is ProxyState.TERMINATED
    return ProxyFact(
        proxy_no=entry.proxy_no, registered_day=local_day(entry.registered_at).isoformat(),
        counts_from=None if never else (due + timedelta(days=1)).isoformat(),
        sent=sent is not None, in_time=sent is not None and local_day(sent) <= due)


def rating_fact(first: EvaluationRecord, later: Sequence[EvaluationRecord],
                loop: BadReview | None = None) -> RatingFact:
    return RatingFact(subject=first.subject, first_day=local_day(first.at).isoformat(),
                      bad=first.level.is_bad, overturned=loop is not None and loop.overturned,
                      fixed=bad_review_fixed(first, later, loop))


def kpis_from_facts(facts: StationFacts, period: Period, now: datetime
                    ) -> dict[str, KpiResult]:
    """The KPIs as sums over fact rows: what the county's SQL does, in Python."""
    first, last, today = period.first.isoformat(), period.last.isoformat(), local_day(now)
    stamp = moment_text(now) or ""

    def within(day: str | None) -> bool:
        return day is not None and first <= day <= last

    done = [c for c in facts.cases if within(c.finished_day)]
    accepted = [c for c in facts.cases if within(c.accepted_day)]
    rated = [r for r in facts.ratings if within(r.first_day)]
    bad = [r for r in rated if r.bad and not r.overturned]
    counted = [p for p in facts.proxies if within(p.registered_day)
               and (p.sent or (p.counts_from is not None and today.isoformat() >= p.counts_from))]
    open_cases = [c for c in facts.cases if c.open]
    return {k.code: k for k in (
        _kpi("on_time_rate", [c.case_no for c in done if c.on_time], [c.case_no for c in done]),
        _kpi("on_site_rate", [c.case_no for c in accepted if c.on_site],
             [c.case_no for c in accepted]),
        _kpi("evaluation_rate", [c.case_no for c in done if c.rated], [c.case_no for c in done]),
        _kpi("satisfaction_rate", [r.subject for r in rated if not r.bad],
             [r.subject for r in rated]),
        _kpi("bad_review_fixed_rate", [r.subject for r in bad if r.fixed],
             [r.subject for r in bad]),
        _kpi("avg_visits", [c.case_no for c in done if c.visits > 0], [c.case_no for c in done],
             numerator=sum(c.visits for c in done)),
        _kpi("proxy_reported_in_3wd_rate", [p.proxy_no for p in counted if p.in_time],
             [p.proxy_no for p in counted]),
        _kpi("overdue_now", [c.case_no for c in open_cases
                             if c.overdue_from is not None and stamp >= c.overdue_from],
             [c.case_no for c in open_cases]),
    )}


def _kpi(code: str, num: Iterable[str], den: Iterable[str], numerator: int | None = None
         ) -> KpiResult:
    num, den = tuple(num), tuple(den)
    return KpiResult(code=code, numerator=len(num) if numerator is None else numerator,
                     denominator=len(den), numerator_cases=num, denominator_cases=den)
