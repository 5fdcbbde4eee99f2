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
import dataclasses
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
from station_app.domain.audit.rectification import (
    decisions_from_records,
    notice_from_record,
    notice_oversight,
)
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
    notices: Mapping[str, Any] = field(default_factory=dict)  # county notices (NoticeOversight)

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
                "seven": dict(self.seven), "notices": dict(self.notices)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StationAudit:
        """The audit ``to_dict`` gave (the county's persisted results, sync/county/
        audit_results.py); status and KPI values follow from the findings and counts."""
        return cls(station=data["station"], name=data["name"], town=data["town"],
                   origin=data["origin"], entries=int(data["entries"]), root=data["root"],
                   verified=bool(data["verified"]), revoked=bool(data["revoked"]),
                   findings=tuple(Finding.from_dict(f) for f in data["flags"]),
                   kpis={c: KpiResult.from_dict(r) for c, r in data["kpis"].items()},
                   seven=dict(data.get("seven") or {}), notices=dict(data.get("notices") or {}))


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
        # A lost PC's log is audited as the first part of its replacement's history.
        return [_audit_one(tx, row, period=period, now=now, thresholds=thresholds)
                for row in sorted(rows, key=lambda r: (r.code, r.enrolled_at))
                if tx.successor(row.origin) is None]


def _with_aggregates(audits: tuple[StationAudit, ...], period: Period, now: datetime,
                     thresholds: AuditThresholds) -> CountyAudit:
    return CountyAudit(period=period, now=now, thresholds=thresholds, stations=audits,
                       towns=town_totals((a.station, a.kpis) for a in audits),
                       county=aggregate_tables(a.kpis for a in audits))


with_aggregates = _with_aggregates  # the county audit of given station audits


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
    # One history over the station's key epochs (a lost PC's log, then its replacement's):
    # each epoch verified and timed against its own key and receipts, the rest over all.
    history = station_history(tx, row)
    epoch_findings: list[Finding] = []
    for part in history.parts:
        checkpoints = tx.checkpoints(part.row.origin)
        report = part.report  # verified and decoded once, by station_history
        decoded, unreadable = part.decoded, part.unreadable
        until = now if part.row is row else _moment(part.row.revoked_at) or now
        epoch_findings += _shifted([*_integrity_findings(part.row, report), *unreadable,
                                    *audit_timing(decoded, _receipts(tx, part.row.origin),
                                                  _readings(checkpoints),
                                                  thresholds=thresholds, now=until)],
                                   part.base)
        if part.row is not row:
            epoch_findings += _evidence_findings(tx, part.row)
    entries = history.entries
    folded = fold_station_log(row.code, entries)
    seven = seven_oversight(row.code, entries, period=period, now=now)
    # The county's own notices belong to the station code; checked against its live log.
    notices = notice_oversight(row.code, [notice_from_record(r) for r in tx.notices(row.code)]
                               if row.revoked_at is None else [], entries, now=now,
                               decisions=decisions_from_records(tx.decisions(row.code)))
    findings = [*epoch_findings, *history.findings, *folded.problems,
                *_evidence_findings(tx, row), *audit_integrity(entries),
                *seven.findings, *notices.findings,
                *overdue_reviews(row.code, folded.records.reviews, folded.calendar, now)]
    audit = StationAudit(
        station=row.code, name=row.name, town=town_of(row.code), origin=row.origin,
        entries=len(entries), root=base64.b64encode(report.root).decode(),
        verified=history.verified, revoked=row.revoked_at is not None,
        findings=tuple(findings),
        kpis=compute_kpis(folded.records, period, folded.calendar, now),
        seven=seven.to_dict(), notices=notices.to_dict())
    return audit, folded


# ------------------------------------------------------------ one history, many keys


@dataclass(frozen=True, slots=True)
class HistoryPart:
    """One key epoch of a station's history: a log, the part of it that counts (a lost
    PC's: what the county acknowledged), and the position of its entry 0."""

    row: StationRow
    stored: list[tuple[int, bytes, bytes]]
    base: int
    report: Any = None  # the verifier's report (None when not verified)
    decoded: list[LogEntry] = field(default_factory=list)  # at their own log's positions
    unreadable: list[Finding] = field(default_factory=list)  # MALFORMED_ENTRY


@dataclass(frozen=True, slots=True)
class StationHistory:
    parts: tuple[HistoryPart, ...]  # oldest first; the last is the live log
    entries: list[LogEntry]  # every epoch's decoded entries, ``idx`` = position
    findings: tuple[Finding, ...]  # RECOVERED_AFTER_LOSS, one per lost PC
    verified: bool


MAX_CHAIN = 32


def station_history(tx: Tx, row: StationRow, *, verify: bool = True) -> StationHistory:
    """``row``'s log preceded by the lost PCs' logs it succeeded (docs/recovery.md): one
    history whose positions run on across the key epochs, as the station projects it, so
    numbers continue and cases span the boundary without false gaps. ``verify=False``
    skips the signature and Merkle checks (the facts only fold the entries)."""
    chain: list[tuple[StationRow, int, tuple[Any, ...] | None]] = [(row, -1, None)]
    for _ in range(MAX_CHAIN):
        link = tx.succession(chain[0][0].origin)
        lost = tx.station(link[0]) if link else None
        if link is None or lost is None:
            break
        chain[0] = (chain[0][0], chain[0][1], link)
        chain.insert(0, (lost, link[1], None))
    parts, entries, found, verified, base = [], [], [], True, 0
    for st, size, _ in chain:
        stored = tx.entries(st.origin, 0, size) if size >= 0 else tx.entries(st.origin)
        report = _verify(st, stored, tx.checkpoints(st.origin)) if verify else None
        decoded, unreadable = decode_stored(st.code, stored)  # the audit's largest cost: once
        parts.append(HistoryPart(st, stored, base, report, decoded, unreadable))
        entries += [dataclasses.replace(e, idx=base + e.idx, origin=row.origin)
                    for e in decoded]
        verified = verified and (report is None or report.ok)
        base += len(stored)
    for (lost, _, _), (successor, _, link) in zip(chain, chain[1:], strict=False):
        assert link is not None
        found.append(_loss_finding(tx, row.code, lost, successor, link))
    return StationHistory(tuple(parts), entries, tuple(found), verified)


def history_size(tx: Tx, row: StationRow) -> int:
    """Entries of ``row``'s whole history (its own and the lost logs' it succeeded); -1
    for a lost PC's log, which is counted within its successor's history."""
    if tx.successor(row.origin) is not None:
        return -1
    size, origin = row.size, row.origin
    for _ in range(MAX_CHAIN):
        link = tx.succession(origin)
        if link is None:
            break
        size, origin = size + link[1], link[0]
    return size


def _loss_finding(tx: Tx, code: str, lost: StationRow, successor: StationRow,
                  link: tuple[Any, ...]) -> Finding:
    _, size, _, county_time, approved = link
    acked_at = datetime.fromtimestamp(county_time, CST).isoformat(timespec="seconds")
    quarantined = len(tx.quarantined(lost.origin))
    return finding(
        code, FindingCode.RECOVERED_AFTER_LOSS,
        f"{approved[:16]} 经县级批准由新电脑接续原电脑（原日志 {lost.origin}）：县级最后确认 "
        f"{size} 条（{acked_at[:16]}），原电脑此后至 {approved[:16]} 录入的记录无法恢复，"
        "应按纸质材料补录" + (f"；吊销后原电脑又上传 {quarantined} 次，已隔离"
                          if quarantined else ""),
        evidence={"predecessor": lost.origin, "successor": successor.origin,
                  "acknowledged": size, "acknowledged_at": acked_at, "approved_at": approved,
                  "unrecoverable": {"from": acked_at, "to": lost.revoked_at or approved},
                  "stored_unacknowledged": max(lost.size - size, 0),
                  "quarantined": quarantined})


def _shifted(findings: Iterable[Finding], base: int) -> list[Finding]:
    """Findings about one epoch's entries, their indices made positions in the history."""
    if not base:
        return list(findings)
    return [dataclasses.replace(f, entries=tuple(base + i for i in f.entries))
            for f in findings]


def _moment(text: str | None) -> datetime | None:
    try:
        return parse_moment(text or "")
    except InvalidDate:
        return None


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
