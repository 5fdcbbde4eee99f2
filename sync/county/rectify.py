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
    ItemResult,
    Notice,
    Source,
    check_note,
    inspection_results,
    notice_from_record,
    notice_number,
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
    StationError,
)
from sync.county.audit import decode_stored
from sync.county.service import County
from sync.county.store import StationRow, Tx
from sync.relay import RECTIFICATION

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
