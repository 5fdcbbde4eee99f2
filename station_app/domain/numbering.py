"""Offline numbering: 办件编号 and 代办序号 that are unique across stations without a network.

Uniqueness comes from the station code; order and completeness from a gap-free sequence the
station allocates inside the same transaction that writes the entry. Numbers are never reused,
not even for voided cases, so a missing number is itself evidence an auditor can see.

    办件编号  330110001001-20250930-0007   station · day of receipt (CST) · daily sequence
    代办序号  330110001001-DB2025-00042    station · year · yearly sequence
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

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
