"""What a station's log says it did, folded for the audit: cases, proxy entries,
evaluations and the holiday calendar the station itself worked by.

The county audits a station by the rules the station applied: deadlines are counted on the
calendar found in the station's own log (seeded, imported or edited there), not on one the
county assumes. An entry the folds cannot read is reported, not skipped in silence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from station_app.domain import badreview
from station_app.domain.audit.findings import Finding, FindingCode, finding
from station_app.domain.audit.kpi import EvaluationRecord, StationRecords, evaluation_from_body
from station_app.domain.calendar import CalendarYear, DayKind, HolidayCalendar, SpecialDay
from station_app.domain.cases import CaseEvent, fold_case
from station_app.domain.log import LogEntry
from station_app.domain.proxy import fold_proxy
from station_app.errors import StationError

CASE_KINDS = frozenset({"case.created", "case.moved", "case.visit"})
PROXY_KINDS = frozenset({"proxy.registered", "proxy.moved"})
CALENDAR_KINDS = frozenset({"calendar.year_set", "calendar.day_set", "calendar.day_removed"})
_UNREADABLE = (KeyError, TypeError, ValueError, StationError)


@dataclass(frozen=True, slots=True)
class FoldedLog:
    records: StationRecords
    calendar: HolidayCalendar
    problems: tuple[Finding, ...]


def fold_station_log(station: str, entries: Iterable[LogEntry]) -> FoldedLog:
    cases: dict[str, list[CaseEvent]] = defaultdict(list)
    proxies: dict[str, list[CaseEvent]] = defaultdict(list)
    evaluations: list[EvaluationRecord] = []
    reviews: dict[str, list[CaseEvent]] = defaultdict(list)
    calendar, problems = HolidayCalendar.empty(), []
    for e in entries:
        try:
            if e.kind in CASE_KINDS:
                cases[str(e.body["case_no"])].append(_event(e))
            elif e.kind in PROXY_KINDS:
                proxies[str(e.body["proxy_no"])].append(_event(e))
            elif e.kind == "evaluation.recorded":
                evaluations.append(evaluation_from_body(e.body))
            elif e.kind in badreview.KINDS:
                reviews[str(e.body["review_no"])].append(_event(e))
            elif e.kind in CALENDAR_KINDS:
                calendar = _calendar_step(calendar, e.kind, e.body)
        except _UNREADABLE as exc:
            problems.append(_unreadable(station, [e.idx], e.kind, exc))
    folded_cases = _fold_all(station, cases, fold_case, problems)
    folded_proxies = _fold_all(station, proxies, fold_proxy, problems)
    folded_reviews = _fold_all(station, reviews, _fold_review, problems)
    records = StationRecords(station=station, cases=tuple(folded_cases),
                             proxies=tuple(folded_proxies), evaluations=tuple(evaluations),
                             reviews=tuple(folded_reviews))
    return FoldedLog(records, calendar, tuple(problems))


def _fold_review(events: list[CaseEvent]) -> badreview.BadReview:
    return badreview.fold([(ev.kind, ev.body, ev.actor) for ev in events])


def _event(e: LogEntry) -> CaseEvent:
    return CaseEvent(idx=e.idx, kind=e.kind, actor=e.actor, body=e.body)


def _fold_all(station: str, groups: dict[str, list[CaseEvent]], fold: Any,
              problems: list[Finding]) -> list[Any]:
    out = []
    for number, events in groups.items():
        try:
            out.append(fold(events))
        except _UNREADABLE as exc:
            problems.append(_unreadable(station, [ev.idx for ev in events], number, exc))
    return out


def _calendar_step(cal: HolidayCalendar, kind: str, body: dict[str, Any]) -> HolidayCalendar:
    if kind == "calendar.year_set":
        days = tuple(SpecialDay(day=date.fromisoformat(d["date"]), kind=DayKind(d["kind"]),
                                name=str(d.get("name", ""))) for d in body["days"])
        return cal.with_year(CalendarYear(year=int(body["year"]), days=days,
                                          source=str(body.get("source", ""))))
    day = date.fromisoformat(body["date"])
    if kind == "calendar.day_set":
        return cal.with_day(SpecialDay(day=day, kind=DayKind(body["kind"]),
                                       name=str(body.get("name", ""))))
    return cal.without_day(day)


def _unreadable(station: str, idx: list[int], what: str, exc: Exception) -> Finding:
    where = f"第 {idx[0]} 条起的" if idx else ""
    return finding(station, FindingCode.MALFORMED_ENTRY,
                   f"{where}“{what}”记录无法解读：{exc}", entries=idx,
                   evidence={"what": what, "error": type(exc).__name__})
