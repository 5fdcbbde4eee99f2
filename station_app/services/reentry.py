"""Numbers around a recovery (docs/recovery.md, "Numbers after a recovery").

The replacement PC's ``log.succession`` entry reserves, per day (办件编号) and year (代办序号)
the lost PC's unsynced window can touch, the numbers the lost PC may have printed. New
numbers are allocated after those ranges; a lost paper is re-entered (补录) with its printed
number only inside a range, once, with a reason and its own service day. Everything is read
from the log (entry 1 of the current log) and the projections, so a rebuild changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from station_app.domain.clock import local_day
from station_app.domain.log import decode_entry
from station_app.domain.numbering import (
    ParsedNumber,
    ReservedRange,
    next_seq,
    parse_case_number,
    parse_proxy_number,
    reserved_from_body,
    reserved_range_of,
)
from station_app.errors import MissingField, ReentryRefused
from station_app.services.station import Station
from station_app.store.queries import next_sequence

SUCCESSION_KIND = "log.succession"

_KINDS = {  # kind: (table, period column, label, parser, example)
    "case": ("cases", "day", "办件编号", parse_case_number, "330110001001-20250930-0007"),
    "proxy": ("proxies", "year", "代办序号", parse_proxy_number, "330110001001-DB2025-00042"),
}


def reserved_numbers(station: Station) -> tuple[ReservedRange, ...]:
    """The ranges this log's recovery reserved (none if it replaced no lost PC)."""
    for _, raw, _ in station.ledger.rows(1, 2):
        entry = decode_entry(raw)
        if entry.kind == SUCCESSION_KIND:
            return reserved_from_body(entry.body)
    return ()


def allocate(station: Station, kind: str, period: str) -> int:
    """The next sequence number of ``period``, past any range kept for 补录."""
    table, column, *_ = _KINDS[kind]
    key: object = int(period) if kind == "proxy" else period
    used = next_sequence(station.db, table, column, key) - 1
    return next_seq(used, kind, period, reserved_numbers(station))


def check_reentry(station: Station, kind: str, number: str, at: datetime | None,
                  reason: str) -> tuple[str, ParsedNumber]:
    """A printed number for 补录: returns it normalised, or refuses (nothing written)."""
    table, _, label, parse, example = _KINDS[kind]
    text = (number or "").strip().upper()
    if not reason.strip():
        raise MissingField(field="reason", label="补录原因")
    parsed = parse(text)
    if parsed is None or parsed.station != station.info.code:
        raise ReentryRefused(label=label, number=number,
                             reason=f"不是本站的{label}（格式如 {example}）")
    if at is None:
        raise MissingField(field="at", label="实际办理时间（补录须填写纸质回执上的时间）")
    day = local_day(at)
    if (f"{day:%Y%m%d}" if kind == "case" else str(day.year)) != parsed.period:
        raise ReentryRefused(label=label, number=text,
                             reason="实际办理时间与编号中的日期（年份）不一致")
    if reserved_range_of(parsed, kind, reserved_numbers(station)) is None:
        raise ReentryRefused(label=label, number=text,
                             reason="不在换电脑恢复时为补录预留的号段内")
    key = "case_no" if kind == "case" else "proxy_no"
    if station.db.execute(f"SELECT 1 FROM {table} WHERE {key} = ?", [text]).fetchone():
        raise ReentryRefused(label=label, number=text, reason="该编号已经使用，不能重复补录")
    return text, parsed


def reentry_note(reason: str) -> dict[str, object]:
    """What a re-entered entry's body carries, so the county audit sees a known loss."""
    return {"reason": reason.strip(), "reserved": True}
