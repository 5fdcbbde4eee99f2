"""Offline numbering: 办件编号 and 代办序号 that are unique across stations without a network.

Uniqueness comes from the station code; order and completeness from a gap-free sequence the
station allocates inside the same transaction that writes the entry. Numbers are never reused,
not even for voided cases, so a missing number is itself evidence an auditor can see.

    办件编号  330110001001-20250930-0007   station · day of receipt (CST) · daily sequence
    代办序号  330110001001-DB2025-00042    station · year · yearly sequence
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from station_app.errors import InvalidStationCode

STATION_CODE = re.compile(r"^[0-9A-Z]{6,20}$")
_CASE_NO = re.compile(r"^(?P<station>[0-9A-Z]{6,20})-(?P<day>\d{8})-(?P<seq>\d{4,})$")
_PROXY_NO = re.compile(r"^(?P<station>[0-9A-Z]{6,20})-DB(?P<year>\d{4})-(?P<seq>\d{5,})$")


def check_station_code(code: str) -> str:
    value = (code or "").strip().upper()
    if not STATION_CODE.match(value):
        raise InvalidStationCode(field="code", value=code)
    return value


def case_number(station: str, day: date, seq: int) -> str:
    return f"{station}-{day.year:04d}{day.month:02d}{day.day:02d}-{seq:04d}"


def proxy_number(station: str, year: int, seq: int) -> str:
    return f"{station}-DB{year:04d}-{seq:05d}"


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    station: str
    period: str  # YYYYMMDD for cases, YYYY for proxy entries
    seq: int


def parse_case_number(text: str) -> ParsedNumber | None:
    m = _CASE_NO.match((text or "").strip().upper())
    return ParsedNumber(m["station"], m["day"], int(m["seq"])) if m else None


def parse_proxy_number(text: str) -> ParsedNumber | None:
    m = _PROXY_NO.match((text or "").strip().upper())
    return ParsedNumber(m["station"], m["year"], int(m["seq"])) if m else None


def sequence_gaps(seqs: list[int]) -> list[int]:
    """Numbers missing from 1..max(seqs): each one is a case or entry the log no longer has."""
    present = set(seqs)
    return [n for n in range(1, max(present, default=0) + 1) if n not in present]


# ------------------------------------------------------------ numbers after a recovery
#
# A lost PC may have handed out numbers after its last sync (paper receipts in villagers'
# hands). The replacement skips ahead by a fixed gap in every sequence that window can touch
# and keeps the skipped numbers for re-entering those papers (补录) with their printed number.
# A busy town centre receives < 200 cases a day, so 500 per day is > 2.5x the worst day; a
# station's proxy entries are far fewer than its cases, so 1,000 per year covers weeks of an
# unsynced PC. Ends are rounded up to a hundred so the first new number is easy to spot.
CASE_GAP = 500
PROXY_GAP = 1000
GAP_ROUNDING = 100


@dataclass(frozen=True, slots=True)
class ReservedRange:
    """Numbers ``first..last`` of one period, kept for 补录 of a lost PC's paper."""

    kind: str  # "case" (period YYYYMMDD) or "proxy" (period YYYY)
    period: str
    first: int
    last: int

    def covers(self, parsed: ParsedNumber) -> bool:
        return parsed.period == self.period and self.first <= parsed.seq <= self.last

    def to_dict(self) -> dict[str, object]:
        return {"period": self.period, "first": self.first, "last": self.last}


def _gap_end(highest: int, gap: int) -> int:
    return -(-(highest + gap) // GAP_ROUNDING) * GAP_ROUNDING


def reserve_after_loss(*, last_day: date, recovery_day: date,
                       highest_case: dict[str, int], highest_proxy: dict[str, int]
                       ) -> tuple[ReservedRange, ...]:
    """The ranges a recovery reserves: every day from the last acknowledged entry's day to
    the recovery day (办件编号), every year in that window (代办序号), each from the highest
    recovered number + 1 to that + the gap, rounded up to a hundred. ``highest_*`` maps a
    period (YYYYMMDD / YYYY) to its highest recovered seq (missing: none)."""
    out: list[ReservedRange] = []
    day = last_day
    while day <= recovery_day:
        period = f"{day:%Y%m%d}"
        top = highest_case.get(period, 0)
        out.append(ReservedRange("case", period, top + 1, _gap_end(top, CASE_GAP)))
        day = date.fromordinal(day.toordinal() + 1)
    for year in range(last_day.year, recovery_day.year + 1):
        top = highest_proxy.get(str(year), 0)
        out.append(ReservedRange("proxy", str(year), top + 1, _gap_end(top, PROXY_GAP)))
    return tuple(out)


def reserved_body(ranges: tuple[ReservedRange, ...]) -> dict[str, list[dict[str, object]]]:
    """How the ranges go into the ``log.succession`` body (``reserved``)."""
    return {"cases": [r.to_dict() for r in ranges if r.kind == "case"],
            "proxies": [r.to_dict() for r in ranges if r.kind == "proxy"]}


def reserved_from_body(body: Mapping[str, Any] | None) -> tuple[ReservedRange, ...]:
    """The ranges a ``log.succession`` body reserved (none for a log from before this)."""
    reserved = (body or {}).get("reserved") or {}
    return tuple(ReservedRange(kind, str(r["period"]), int(r["first"]), int(r["last"]))
                 for kind, key in (("case", "cases"), ("proxy", "proxies"))
                 for r in reserved.get(key, ()))


def next_seq(highest_used: int, kind: str, period: str,
             reserved: tuple[ReservedRange, ...]) -> int:
    """The next number of a period: after the highest used one and after any reserved range
    of that period, so a new number never takes one printed on a lost paper."""
    ends = [r.last for r in reserved if r.kind == kind and r.period == period]
    return max([highest_used, *ends]) + 1


def reserved_range_of(parsed: ParsedNumber, kind: str,
                      reserved: tuple[ReservedRange, ...]) -> ReservedRange | None:
    return next((r for r in reserved if r.kind == kind and r.covers(parsed)), None)
