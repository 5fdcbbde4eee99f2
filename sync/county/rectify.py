"""County inspections and spot-check results, sent down to the stations (issue 6 items 4–5).

``record_inspection`` (七有检查) and ``record_spot_result`` (one drawn case's 调阅 checklist)
check what the inspector entered, number the notice, count a failed item's rectification
deadline in working days on the county's holiday calendar, and — in one transaction —
store the notice and queue it for the station as a relayed message of kind
``rectification`` (``County.send_from_county``). Bad input raises before the transaction:
nothing is stored and nothing is sent.

The county's calendar is its newest ``calendar`` publication (what it tells the stations);
a year it has not published is counted by the weekend rule and the deadline is marked as
an estimate.

``decide`` records the county's decision on a disputed 整改通知 — withdrawn (closed) or
upheld with a new deadline — and relays it (kind ``rectification-decision``) in the same
transaction; only a notice whose synced log shows an unsettled dispute can be decided.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from station_app.domain.audit import AuditThresholds, ChecklistAnswer, prefill_checklist
from station_app.domain.audit.kpi import Period
from station_app.domain.audit.records import fold_station_log
from station_app.domain.audit.rectification import (
    UPHELD,
    WITHDRAWN,
    Decision,
    ItemResult,
    Notice,
    NoticeStatus,
    Source,
    check_note,
    decisions_from_records,
    inspection_results,
    notice_from_record,
    notice_number,
    notice_oversight,
    rectification_deadline,
    spotcheck_results,
)
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.clock import iso, local_day, parse_day
from station_app.domain.publications import parse_calendar_content
from station_app.errors import (
    CaseNotFound,
    CountyStationUnknown,
    FileInvalid,
    InvalidInput,
    MissingField,
    NotFound,
    StationError,
)
from sync.county.audit import decode_stored
from sync.county.service import County
from sync.county.store import StationRow, Tx
from sync.relay import RECTIFICATION, RECTIFICATION_DECISION

SPOTCHECK_DIR = "spotchecks"


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    notice: Notice
    message_id: str
    estimated: bool  # the deadline crosses a year the county's calendar does not know

    def to_dict(self) -> dict[str, Any]:
        return {**self.notice.to_dict(), "message_id": self.message_id,
                "deadline_estimated": self.estimated}


def county_calendar(tx: Tx) -> HolidayCalendar:
    """The holiday calendar the county last published (empty: weekends only)."""
    for collection, _version, doc in tx.latest_publications():
        if collection == "calendar":
            try:
                return HolidayCalendar.from_years(
                    parse_calendar_content(json.loads(doc)["doc"]["content"]))
            except (StationError, KeyError, ValueError):
                break  # it was checked when published; never block an inspection on it
    return HolidayCalendar.empty()


def record_inspection(county: County, *, station: str, day: str, items: Mapping[str, str],
                      notes: Mapping[str, str] | None = None, note: str = "",
                      inspector: str = "", thresholds: AuditThresholds) -> Recorded:
    """A 七有 inspection of ``station`` on ``day``: items by name or code, ``ok``/``fail``."""
    when = _inspection_day(day, county.now())
    results = inspection_results(items, notes)
    return _issue(county, station=station, source=Source.INSPECTION, subject=when.isoformat(),
                  day=when, results=results, note=note, inspector=inspector,
                  thresholds=thresholds)


def spot_checklist(county: County, folder: Path, *, month: str, station: str, case_no: str
                   ) -> tuple[ChecklistAnswer, ...]:
    """A drawn case's checklist, pre-filled from the station's synced log."""
    _require_drawn(folder, month, station, case_no)
    with county.db.read() as tx:
        row = _live(tx, station)
        entries, _ = decode_stored(station, tx.entries(row.origin))
    folded = fold_station_log(station, entries)
    case = next((c for c in folded.records.cases if c.case_no == case_no), None)
    if case is None:
        raise CaseNotFound(field="case", value=case_no)
    printed = {str(e.body.get("kind")) for e in entries
               if e.kind == "doc.issued" and e.body.get("subject") == case_no}
    return prefill_checklist(case, printed=printed, evaluations=folded.records.evaluations,
                             cal=folded.calendar, now=county.now())


def record_spot_result(county: County, folder: Path, *, month: str, station: str,
                       case_no: str, items: Mapping[str, str],
                       notes: Mapping[str, str] | None = None, note: str = "",
                       inspector: str = "", thresholds: AuditThresholds) -> Recorded:
    """The checklist of a case the month's draw picked: the records' answers, the auditor's
    where given (``materials_archived`` always: only the paper file can tell)."""
    prefilled = spot_checklist(county, folder, month=month, station=station, case_no=case_no)
    results = spotcheck_results(prefilled, items, notes)
    return _issue(county, station=station, source=Source.SPOTCHECK,
                  subject=f"{month}/{case_no}", day=local_day(county.now()), results=results,
                  note=note, inspector=inspector, thresholds=thresholds)


def notices(county: County, station: str | None = None) -> list[Notice]:
    with county.db.read() as tx:
        return [notice_from_record(r) for r in tx.notices(station)]


def notice_statuses(tx: Tx, station: str | None, now: datetime) -> list[NoticeStatus]:
    """Every notice (of ``station``) against its station's synced log and the decisions."""
    issued = [notice_from_record(r) for r in tx.notices(station)]
    decided = decisions_from_records(tx.decisions(station))
    rows: list[NoticeStatus] = []
    for code in sorted({n.station for n in issued}):
        entries = [e for s in tx.stations(code)
                   for e in decode_stored(code, tx.entries(s.origin))[0]]
        rows += notice_oversight(code, [n for n in issued if n.station == code], entries,
                                 now=now, decisions=decided).statuses
    return rows


@dataclass(frozen=True, slots=True, kw_only=True)
class Decided:
    decision: Decision
    station: str
    message_id: str
    estimated: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.decision.to_dict(), "station": self.station,
                "message_id": self.message_id, "deadline_estimated": self.estimated}


def decide(county: County, number: str, *, uphold: bool, note: str, due: str | None = None,
           days: int | None = None, thresholds: AuditThresholds) -> Decided:
    """The county's decision on a disputed 整改通知: ``uphold`` with a new deadline (``due``,
    or ``days`` working days — by default ``rectify_working_days`` — from today on the
    county calendar), or withdraw it. Checked first; nothing is stored or sent on a refusal."""
    note = check_note(note, "复核意见")
    if not note:
        raise MissingField(field="note", label="复核意见（--note）")
    if not uphold and (due or days is not None):
        raise InvalidInput(field="due", label="整改期限", reason="撤销通知不需要新的整改期限")
    if due and days is not None:
        raise InvalidInput(field="due", label="整改期限", reason="--due 与 --days 只能给一个")
    if days is not None and not 0 < days <= 60:
        raise InvalidInput(field="days", label="整改期限（工作日）", reason="应为 1–60")
    now = county.now()
    today = local_day(now)
    given = parse_day(due, "整改期限") if due else None
    if given is not None and given <= today:
        raise InvalidInput(field="due", label="整改期限", reason=f"{given} 应晚于今天")
    key = (number or "").strip().upper()
    with county.db.write() as tx:
        owner = next((r[1] for r in tx.notices() if r[0] == key), None)
        if owner is None:
            raise NotFound(field="notice", value=f"整改通知 {number}")
        # only the owning station's log is decoded: the dispute must show in it
        status = next(s for s in notice_statuses(tx, owner, now) if s.notice.notice == key)
        if status.state != "disputed":
            raise InvalidInput(field="notice", label=f"整改通知 {key}",
                               reason="站点没有提出异议（或异议已复核），无需复核决定")
        deadline, estimated = given, False
        if uphold and given is None:
            deadline, estimated = rectification_deadline(
                today, days if days is not None else thresholds.rectify_working_days,
                county_calendar(tx))
        decision = Decision(notice=key, decision=UPHELD if uphold else WITHDRAWN, note=note,
                            deadline=deadline, decided=iso(now))
        station = status.notice.station
        message_id = county.send_from_county(tx, _live(tx, station), RECTIFICATION_DECISION,
                                             decision.payload())
        tx.add_decision([key, decision.decision, note,
                         deadline.isoformat() if deadline else None, decision.decided,
                         message_id])
    return Decided(decision=decision, station=station, message_id=message_id,
                   estimated=estimated)


def _issue(county: County, *, station: str, source: Source, subject: str, day: date,
           results: tuple[ItemResult, ...], note: str, inspector: str,
           thresholds: AuditThresholds) -> Recorded:
    note, inspector = check_note(note), check_note(inspector, "检查人")[:40]
    now = county.now()
    issued_day = local_day(now)
    with county.db.write() as tx:
        row = _live(tx, station)
        known = tx.notice_for(station, source.value, subject)
        if known is not None:
            raise InvalidInput(field="station", label="检查记录",
                               reason=f"{subject} 已记录过（通知 {known}），不能重复记录")
        deadline, estimated = None, False
        if any(not r.ok for r in results):
            deadline, estimated = rectification_deadline(
                issued_day, thresholds.rectify_working_days, county_calendar(tx))
        prefix = f"ZG{issued_day:%Y%m%d}"
        notice = Notice(notice=notice_number(issued_day, tx.notices_numbered(prefix) + 1),
                        station=station, source=source, subject=subject, day=day,
                        results=results, deadline=deadline, note=note, inspector=inspector,
                        issued=iso(now))
        message_id = county.send_from_county(tx, row, RECTIFICATION, notice.payload())
        tx.add_notice([notice.notice, station, source.value, subject, day.isoformat(),
                       json.dumps([r.to_body() for r in results], ensure_ascii=False),
                       deadline.isoformat() if deadline else None, note, inspector,
                       notice.issued, message_id])
    return Recorded(notice=notice, message_id=message_id, estimated=estimated)


def _live(tx: Tx, station: str) -> StationRow:
    live = [s for s in tx.stations(station) if s.revoked_at is None] if station else []
    if not live:
        raise CountyStationUnknown(field="station", value=station)
    return live[-1]


def _inspection_day(text: str, now: datetime) -> date:
    if not (text or "").strip():
        raise MissingField(field="date", label="检查日期（--date YYYY-MM-DD）")
    day = parse_day(text, "检查日期")
    if day > local_day(now):
        raise InvalidInput(field="date", label="检查日期", reason=f"{day} 还没有到")
    return day


def _require_drawn(folder: Path, month: str, station: str, case_no: str) -> None:
    """The case must be one the month's recorded draw picked for that station."""
    Period.month(month)  # refuses a malformed month
    draws = sorted((folder / SPOTCHECK_DIR).glob(f"{month}-*.json"))
    if not draws:
        raise InvalidInput(field="month", label="调阅抽查",
                           reason=f"{month} 还没有抽取（先运行 county spotcheck draw）")
    for path in draws:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FileInvalid(where=f"{path.name}：", reason=str(exc)) from None
        for s in data.get("stations", []):
            if s.get("station") == station and case_no in s.get("drawn", []):
                return
    raise InvalidInput(field="case", label="调阅办件",
                       reason=f"{case_no} 不在 {month} 为站点 {station} 抽取的办件中")
