"""The county audit: every stored station log re-verified, checked and measured (issue 6).

This module only gathers: it reads each log, its checkpoints, receipts, evidence and
quarantine from the county store and hands them to the pure checks of
``station_app.domain.audit`` and the log verifier the stations use themselves. What comes
back is plain data (``CountyAudit``) for the CLI, the exports and the dashboard.

Thresholds are the county's settings (``audit.json`` in the county folder, see
``load_thresholds``); "now" is passed in, so an audit can be re-run as of a past day.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from station_app.crypto import signature_checker
from station_app.domain.audit import (
    AuditThresholds,
    ClockReading,
    Finding,
    FindingCode,
    KpiResult,
    Period,
    Receipt,
    SpotCheckDraw,
    aggregate_tables,
    audit_integrity,
    audit_timing,
    compute_kpis,
    draw_spot_check,
    month_candidates,
    parse_thresholds,
    seven_oversight,
    station_status,
)
from station_app.domain.audit.findings import finding
from station_app.domain.audit.records import FoldedLog, fold_station_log
from station_app.domain.audit.reviews import overdue_reviews
from station_app.domain.clock import CST, parse_moment
from station_app.domain.log import LogEntry, MalformedEntry, decode_entry
from station_app.domain.verify import verify_log
from station_app.errors import FileInvalid, InvalidDate, InvalidInput
from sync.county.store import CountyDb, StationRow, Tx

THRESHOLDS_FILE = "audit.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class StationAudit:
    """One station log's audit: integrity, flags and KPIs for the period."""

    station: str  # 12-digit station code
    name: str
    town: str  # the town (乡镇) code the station belongs to
    origin: str
    entries: int
    root: str  # base64 Merkle root of the stored entries, as verified
    verified: bool
    revoked: bool
    findings: tuple[Finding, ...]
    kpis: Mapping[str, KpiResult]
    seven: Mapping[str, Any] = field(default_factory=dict)  # 七有 oversight (SevenOversight)

    @property
    def status(self) -> str:
        return station_status(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"station": self.station, "name": self.name, "town": self.town,
                "origin": self.origin, "root": self.root, "entries": self.entries,
                "verified": self.verified, "revoked": self.revoked, "status": self.status,
                "flags": [f.to_dict() for f in self.findings],
                **{code: r.value for code, r in self.kpis.items()},
                "kpis": {code: r.to_dict() for code, r in self.kpis.items()},
                "seven": dict(self.seven)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CountyAudit:
    period: Period
    now: datetime
    thresholds: AuditThresholds
    stations: tuple[StationAudit, ...]
    towns: Mapping[str, Mapping[str, KpiResult]] = field(default_factory=dict)
    county: Mapping[str, KpiResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"period": {"from": self.period.first.isoformat(),
                           "to": self.period.last.isoformat()},
                "now": self.now.isoformat(),
                "stations": [s.to_dict() for s in self.stations],
                "towns": {t: {c: r.to_dict() for c, r in k.items()}
                          for t, k in self.towns.items()},
                "county": {c: r.to_dict() for c, r in self.county.items()}}


def town_of(code: str) -> str:
    """The town of a 12-digit station code: its first nine digits and ``000``."""
    return code[:9] + "000" if len(code) == 12 and code.isdigit() else code


def load_thresholds(folder: Path | str) -> AuditThresholds:
    """The county's thresholds from ``audit.json`` in its folder; defaults without one."""
    path = Path(folder) / THRESHOLDS_FILE
    if not path.exists():
        return parse_thresholds(None)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileInvalid(where=f"{path.name}：", reason=f"不是有效的 JSON（{exc}）") from None
    return parse_thresholds(raw)


def audit_county(db: CountyDb, *, period: Period, now: datetime,
                 thresholds: AuditThresholds, station: str | None = None) -> CountyAudit:
    """Audit every station log (or those of one station code)."""
    audits = tuple(a for a, _ in _audit_all(db, period, now, thresholds, station))
    return _with_aggregates(audits, period, now, thresholds)


def draw_spot_check_for(db: CountyDb, *, month: str, seed: str, now: datetime,
                        thresholds: AuditThresholds) -> SpotCheckDraw:
    """The monthly 调阅 draw: every station's cases received in ``month``, weighted by what
    the audit of that month flagged."""
    period = Period.month(month)
    audited = _audit_all(db, period, now, thresholds, None)
    candidates = {a.station: month_candidates(folded.records.cases, month)
                  for a, folded in audited}
    return draw_spot_check(seed=seed, month=month, candidates=candidates,
                           findings=[f for a, _ in audited for f in a.findings],
                           thresholds=thresholds)


def for_town(audit: CountyAudit, town: str) -> CountyAudit:
    """The audit of one town's stations, its aggregate as the total."""
    stations = tuple(a for a in audit.stations if a.town == town)
    if not stations:
        raise InvalidInput(field="town", label="乡镇编码", reason=f"没有属于“{town}”的站点")
    return _with_aggregates(stations, audit.period, audit.now, audit.thresholds)


def _audit_all(db: CountyDb, period: Period, now: datetime, thresholds: AuditThresholds,
               station: str | None) -> list[tuple[StationAudit, FoldedLog]]:
    with db.read() as tx:
        rows = tx.stations(station) if station else tx.stations()
        return [_audit_one(tx, row, period=period, now=now, thresholds=thresholds)
                for row in sorted(rows, key=lambda r: (r.code, r.enrolled_at))]


def _with_aggregates(audits: tuple[StationAudit, ...], period: Period, now: datetime,
                     thresholds: AuditThresholds) -> CountyAudit:
    return CountyAudit(period=period, now=now, thresholds=thresholds, stations=audits,
                       towns=town_totals((a.station, a.kpis) for a in audits),
                       county=aggregate_tables(a.kpis for a in audits))


def town_totals(stations: Iterable[tuple[str, Mapping[str, KpiResult]]]
                ) -> dict[str, dict[str, KpiResult]]:
    """Each town's KPIs from its stations' (station code, KPIs): sums, never averages."""
    towns: dict[str, list[Mapping[str, KpiResult]]] = {}
    for code, kpis in stations:
        towns.setdefault(town_of(code), []).append(kpis)
    return {t: aggregate_tables(k) for t, k in sorted(towns.items())}


def audit_station(tx: Tx, row: StationRow, *, period: Period, now: datetime,
                  thresholds: AuditThresholds) -> StationAudit:
    return _audit_one(tx, row, period=period, now=now, thresholds=thresholds)[0]


def _audit_one(tx: Tx, row: StationRow, *, period: Period, now: datetime,
               thresholds: AuditThresholds) -> tuple[StationAudit, FoldedLog]:
    stored = tx.entries(row.origin)
    checkpoints = tx.checkpoints(row.origin)
    report = _verify(row, stored, checkpoints)
    entries, unreadable = decode_stored(row.code, stored)
    folded = fold_station_log(row.code, entries)
    seven = seven_oversight(row.code, entries, period=period, now=now)
    findings = [*_integrity_findings(row, report), *unreadable, *folded.problems,
                *_evidence_findings(tx, row), *audit_integrity(entries),
                *audit_timing(entries, _receipts(tx, row.origin), _readings(checkpoints),
                              thresholds=thresholds, now=now),
                *seven.findings,
                *overdue_reviews(row.code, folded.records.reviews, folded.calendar, now)]
    audit = StationAudit(
        station=row.code, name=row.name, town=town_of(row.code), origin=row.origin,
        entries=len(stored), root=base64.b64encode(report.root).decode(),
        verified=report.ok, revoked=row.revoked_at is not None, findings=tuple(findings),
        kpis=compute_kpis(folded.records, period, folded.calendar, now),
        seven=seven.to_dict())
    return audit, folded


def _verify(row: StationRow, stored: Sequence[tuple[int, bytes, bytes]],
            checkpoints: Sequence[tuple[int, str, str, str | None]]) -> Any:
    """The stations' own verifier over what the county stores: every leaf hash, the root
    against every signed checkpoint the stored entries reach, every signature."""
    signed = [(size, note, b"") for size, note, _, _ in checkpoints if size <= len(stored)]
    return verify_log(list(stored), lambda: signed, origin=row.origin,
                      public_key=row.log_public,
                      check_signature=signature_checker(row.log_public), full=True)


def decode_stored(station: str, stored: Iterable[tuple[int, bytes, bytes]]
                  ) -> tuple[list[LogEntry], list[Finding]]:
    """A stored log's entries, and a finding for each one that is not a v1 entry."""
    entries, problems = [], []
    for idx, data, _ in stored:
        try:
            entries.append(decode_entry(data))
        except MalformedEntry as exc:
            problems.append(finding(station, FindingCode.MALFORMED_ENTRY,
                                    f"第 {idx} 条记录格式不对：{exc}", entries=[idx]))
    return entries, problems


def _integrity_findings(row: StationRow, report: Any) -> list[Finding]:
    if report.ok:
        return []
    where = [] if report.first_bad is None else [report.first_bad]
    return [finding(row.code, FindingCode.LOG_INVALID,
                    f"县级保存的账本校验不通过：{report.problem}", entries=where,
                    evidence={"problem": report.problem_en})]


def _evidence_findings(tx: Tx, row: StationRow) -> list[Finding]:
    """History the station tried to rewrite (kept by the county as evidence) and what a
    revoked station sent after its revocation (quarantined)."""
    out = []
    for _id, _origin, kind, at, detail, body in tx.evidence(row.origin):
        out.append(finding(row.code, FindingCode.HISTORY_REWRITTEN,
                           f"{at[:16]} 收到与已确认记录不一致的上传（{kind}）：{detail}",
                           evidence={"id": int(_id), "kind": kind, "received_at": at,
                                     "detail": detail,
                                     "sha256": hashlib.sha256(bytes(body)).hexdigest()}))
    for _id, _origin, kind, at, body in tx.quarantined(row.origin):
        out.append(finding(row.code, FindingCode.QUARANTINED,
                           f"{at[:16]} 吊销后收到的上传已隔离（{kind}），请核查",
                           evidence={"id": int(_id), "kind": kind, "received_at": at,
                                     "sha256": hashlib.sha256(bytes(body)).hexdigest()}))
    return out


def _receipts(tx: Tx, origin: str) -> list[Receipt]:
    return [Receipt(size=size, county_time=datetime.fromtimestamp(t, CST),
                    digest=hashlib.sha256(note.encode()).hexdigest())
            for size, note, t in tx.receipts(origin)]


def _readings(checkpoints: Iterable[tuple[int, str, str, str | None]]) -> list[ClockReading]:
    out = []
    for size, _note, received_at, station_time in checkpoints:
        try:
            out.append(ClockReading(station_time=parse_moment(station_time or ""),
                                    county_time=parse_moment(received_at), size=size))
        except InvalidDate:  # no clock reading came with it (an old client, a USB file)
            continue
    return out
