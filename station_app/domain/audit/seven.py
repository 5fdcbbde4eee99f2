"""七有 oversight at the county (issue 6 item 5): a station's self-checks and their evidence.

From the station's own decoded log: the self-check in force for each month (the newest
``sevenhaves.checked`` of that month: a correction replaces, never erases), whether every
photo it names reached the county with bytes matching its SHA-256, and the items not 达标.

Findings: a month of the period that has ended without a self-check (amber: the check is
due by the month's end, so the current month is never flagged early, nor months before the
station's first entry); a referenced photo missing or not matching its hash (red: the
station's service writes photo and self-check in one transaction, so an honest station
cannot produce it); items reported 部分达标 or 不达标 (amber: rectification to follow up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from station_app.domain.audit.findings import Finding, FindingCode, finding
from station_app.domain.audit.kpi import Period
from station_app.domain.clock import local_day, parse_moment
from station_app.domain.log import LogEntry
from station_app.domain.seven import CHECKED, PHOTO, SelfCheck, photo_problem, self_check_from_body
from station_app.errors import StationError

_UNREADABLE = (KeyError, TypeError, ValueError, StationError)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoCheck:
    sha256: str
    present: bool
    verified: bool  # present and its bytes hash to ``sha256`` (and are a JPEG)
    idx: int | None = None
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "present": self.present, "verified": self.verified,
                "idx": self.idx, "problem": self.problem}


@dataclass(frozen=True, slots=True, kw_only=True)
class SevenOversight:
    station: str
    latest: SelfCheck | None  # the newest self-check of any month up to the period's end
    photos: tuple[PhotoCheck, ...]  # those the latest self-check names
    months_checked: tuple[str, ...]  # months of the period with a self-check in force
    months_missing: tuple[str, ...]  # months of the period ended without one
    findings: tuple[Finding, ...]

    @property
    def not_met(self) -> tuple[tuple[str, str], ...]:
        return () if self.latest is None else tuple((i.item, i.status.value)
                                                     for i in self.latest.not_met)

    def to_dict(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "latest": None if latest is None else {
                "month": latest.month, "idx": latest.idx, "at": latest.at,
                "checked_by": latest.checked_by, "reason": latest.reason,
                "record_book": latest.record_book.to_body(),
                "items": [i.to_body() for i in latest.items]},
            "photos": [p.to_dict() for p in self.photos],
            "photos_verified": sum(p.verified for p in self.photos),
            "photos_failed": sum(not p.verified for p in self.photos),
            "not_met": [{"item": i, "status": s} for i, s in self.not_met],
            "months_checked": list(self.months_checked),
            "months_missing": list(self.months_missing),
        }


def seven_oversight(station: str, entries: Iterable[LogEntry], *, period: Period,
                    now: datetime) -> SevenOversight:
    checks: list[SelfCheck] = []
    photos: dict[str, tuple[int, str | None]] = {}  # sha256 → (idx, problem) of the first
    problems: list[Finding] = []
    first_day: date | None = None
    for e in entries:
        if first_day is None:
            first_day = _day(e.t_wall)
        try:
            if e.kind == CHECKED:
                checks.append(self_check_from_body(e.body, e.idx))
            elif e.kind == PHOTO:
                claimed = str(e.body.get("sha256", ""))
                if claimed not in photos or photos[claimed][1] is not None:
                    photos[claimed] = (e.idx, photo_problem(e.body))
        except _UNREADABLE as exc:
            problems.append(finding(station, FindingCode.MALFORMED_ENTRY,
                                    f"第 {e.idx} 条七有记录（{e.kind}）无法解读：{exc}",
                                    entries=[e.idx]))
    last_month = period.last.strftime("%Y-%m")
    in_force = {c.month: c for c in checks}  # later entries replace earlier ones
    months = _months(period)
    checked = tuple(m for m in months if m in in_force)
    missing = tuple(m for m in months if m not in in_force and _due(m, now, first_day))
    findings = [*problems, *(
        finding(station, FindingCode.SEVEN_HAVES_MISSING, f"{m} 未做七有自查",
                evidence={"month": m}) for m in missing)]
    for month in checked:
        check = in_force[month]
        findings += _photo_findings(station, check, photos)
        if check.not_met:
            findings.append(finding(
                station, FindingCode.SEVEN_HAVES_NOT_MET,
                f"{month} 七有自查未达标：" + "、".join(f"{i.item}（{i.status.value}）"
                                                  for i in check.not_met),
                entries=[check.idx],
                evidence={"month": month, "items": [i.item for i in check.not_met]}))
    candidates = [c for c in checks if c.month <= last_month]
    latest = max(candidates, key=lambda c: (c.month, c.idx), default=None)
    return SevenOversight(
        station=station, latest=latest,
        photos=() if latest is None else tuple(_photo_check(h, photos) for h in latest.photos),
        months_checked=checked, months_missing=missing, findings=tuple(findings))


def _photo_check(sha256: str, photos: Mapping[str, tuple[int, str | None]]) -> PhotoCheck:
    if sha256 not in photos:
        return PhotoCheck(sha256=sha256, present=False, verified=False,
                          problem="县级未收到该照片")
    idx, problem = photos[sha256]
    return PhotoCheck(sha256=sha256, present=True, verified=problem is None, idx=idx,
                      problem=problem or "")


def _photo_findings(station: str, check: SelfCheck,
                    photos: Mapping[str, tuple[int, str | None]]) -> list[Finding]:
    bad = [p for p in (_photo_check(h, photos) for h in check.photos) if not p.verified]
    if not bad:
        return []
    return [finding(
        station, FindingCode.SEVEN_HAVES_PHOTO_MISSING,
        f"{check.month} 七有自查引用的 {len(bad)} 张照片缺失或与其哈希不符",
        entries=[check.idx, *(p.idx for p in bad if p.idx is not None)],
        evidence={"month": check.month, "photos": [p.to_dict() for p in bad]})]


def _months(period: Period) -> tuple[str, ...]:
    out, year, month = [], period.first.year, period.first.month
    while (year, month) <= (period.last.year, period.last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


def _due(month: str, now: datetime, first_day: date | None) -> bool:
    """A month's self-check is due once the month is over, for a station that existed in it."""
    if first_day is None or month < first_day.strftime("%Y-%m"):
        return False
    return local_day(now).strftime("%Y-%m") > month


def _day(text: str) -> date | None:
    try:
        return local_day(parse_moment(text))
    except StationError:
        return None
