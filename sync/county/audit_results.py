"""Persisted station audits (county migration 9, docs/dashboard.md › Kept audits).

``audit_station`` re-verifies, folds and checks one station's whole history; the county
audit of 400 stations costs tens of seconds to minutes. Its result depends only on

* the log (its size: the county's logs are append-only) and what the county holds about it
  — evidence, quarantine, checkpoints, receipts, the succession of a lost PC, the county's
  notices, the station's name and revocation (``inputs``),
* the thresholds (``audit.json``; their digest),
* the period, and "now" — kept per county calendar **day**: a row of another day is stale.

So each result is kept in ``audit_result`` with those keys and reused while they match;
the dashboard's workers all read the same rows, and ``FactsKeeper`` in ``county serve``
(and ``county audit``) keep them current, so an auditor seldom waits for an audit. What
depends on the hour within a day (SYNC_LAG and NO_RECENT_SYNC findings, 当前超期办件数,
"截至 HH:MM" in a message) is as of ``computed_at``; the keeper re-audits rows older than
``max_age`` (an hour) in the background.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station_app.domain.audit import KPI_DEFINITIONS, AuditThresholds, Period
from station_app.domain.audit.findings import findings_to_json
from station_app.domain.clock import iso, local_day, parse_moment
from sync.county.audit import (
    MAX_CHAIN,
    CountyAudit,
    StationAudit,
    audit_station,
    with_aggregates,
)
from sync.county.store import CountyDb, StationRow, Tx

CHUNK = 20  # logs audited in one read transaction, then kept in one write
MEMORY_KEPT = 5000  # parsed results kept per process (a county's stations, a few months)
# Kept in columns of their own (the RAG's inputs); the rest of ``to_dict`` in ``audit``.
_APART = frozenset({"flags", "kpis", *(d.code for d in KPI_DEFINITIONS)})


def period_key(period: Period) -> str:
    return f"{period.first.isoformat()}/{period.last.isoformat()}"


def thresholds_digest(thresholds: AuditThresholds) -> str:
    text = json.dumps(thresholds.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def live_rows(tx: Tx, counts: Mapping[str, Mapping[str, Any]], station: str | None = None
              ) -> list[StationRow]:
    """The logs an audit covers, as ``audit_county`` orders them: a lost PC's log is audited
    within its successor's history, not on its own (``counts``: ``Tx.audit_inputs``)."""
    succeeded = {c["succeeds"][0] for c in counts.values() if "succeeds" in c}
    rows = tx.stations(station) if station else tx.stations()
    return [r for r in sorted(rows, key=lambda r: (r.code, r.enrolled_at))
            if r.origin not in succeeded]


def inputs_key(row: StationRow, rows: Mapping[str, StationRow],
               counts: Mapping[str, Mapping[str, Any]]) -> str:
    """Everything ``audit_station`` reads about ``row``'s history besides "now", as text:
    equal text, equal result (for one period, thresholds and day)."""
    chain, origin = [], row.origin
    for _ in range(MAX_CHAIN):
        st = rows.get(origin)
        link = counts.get(f"log:{origin}", {})
        chain.append({"origin": origin, "size": st.size if st else None,
                      "revoked": st.revoked_at if st else None, **link})
        if "succeeds" not in link:
            break
        origin = link["succeeds"][0]
    return json.dumps({"name": row.name, "chain": chain,
                       **counts.get(f"station:{row.code}", {})}, sort_keys=True)


@dataclass(frozen=True, slots=True)
class _Wanted:
    row: StationRow
    inputs: str


class AuditResults:
    """The kept audits of a county database, with a per-process memory of parsed rows (the
    JSON of 400 stations' results takes longer to parse than to look up)."""

    def __init__(self, db: CountyDb) -> None:
        self.db = db
        self._memory: dict[tuple[str, ...], StationAudit] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- reading

    def audits(self, *, period: Period, now: datetime, thresholds: AuditThresholds,
               station: str | None = None) -> list[StationAudit]:
        """Every live log's audit for ``period`` (or one station code's): the kept result
        where its keys match, else audited now and kept."""
        key, digest, day = period_key(period), thresholds_digest(thresholds), _day(now)
        with self.db.read() as tx:
            wanted = self._wanted(tx, station)
            kept = tx.audit_result_keys(key, station)
        valid = {w.row.origin: kept[w.row.origin] for w in wanted
                 if kept.get(w.row.origin, ())[:3] == (w.inputs, digest, day)}
        found = self._load(key, valid)
        stale = [w.row for w in wanted if w.row.origin not in found]
        for made in self.compute(stale, period=period, now=now, thresholds=thresholds):
            found[made.origin] = made
        return [found[w.row.origin] for w in wanted]

    def _wanted(self, tx: Tx, station: str | None) -> list[_Wanted]:
        every = {r.origin: r for r in tx.stations()}
        counts = tx.audit_inputs()
        return [_Wanted(r, inputs_key(r, every, counts))
                for r in live_rows(tx, counts, station)]

    def _load(self, key: str, valid: Mapping[str, tuple[str, ...]]
              ) -> dict[str, StationAudit]:
        """The kept results of these origins (origin → their keys), parsed once a process."""
        out: dict[str, StationAudit] = {}
        with self._lock:
            for origin, keys in valid.items():
                made = self._memory.get((key, origin, *keys))
                if made is not None:
                    out[origin] = made
        missing = [o for o in valid if o not in out]
        if not missing:
            return out
        with self.db.read() as tx:
            rows = tx.audit_results(key, missing)
        for origin, findings, kpis, audit, at in rows:
            if at != valid[origin][3]:  # kept again meanwhile: the newer one is read next time
                continue
            out[origin] = made = StationAudit.from_dict(
                {**json.loads(audit), "flags": json.loads(findings), "kpis": json.loads(kpis)})
            self._remember((key, origin, *valid[origin]), made)
        return out

    def _remember(self, keys: tuple[str, ...], made: StationAudit) -> None:
        with self._lock:
            if len(self._memory) >= MEMORY_KEPT:
                self._memory.pop(next(iter(self._memory)))
            self._memory[keys] = made

    # ----------------------------------------------------------------- writing

    def compute(self, rows: Sequence[StationRow], *, period: Period, now: datetime,
                thresholds: AuditThresholds) -> list[StationAudit]:
        """Audit these live logs now and keep the results, each keyed by the inputs read in
        the same snapshot as its audit (a sync landing meanwhile makes a row stale, never
        wrong); ``CHUNK`` logs a transaction, so results appear as they are made."""
        out: list[StationAudit] = []
        for start in range(0, len(rows), CHUNK):
            made: list[tuple[StationAudit, int, str]] = []
            with self.db.read() as tx:
                every = {r.origin: r for r in tx.stations()}
                counts = tx.audit_inputs()
                for row in rows[start:start + CHUNK]:
                    fresh = every.get(row.origin, row)
                    made.append((audit_station(tx, fresh, period=period, now=now,
                                               thresholds=thresholds),
                                 fresh.size, inputs_key(fresh, every, counts)))
            self.keep(made, period=period, now=now, thresholds=thresholds)
            out += [a for a, _, _ in made]
        return out

    def keep(self, made: Sequence[tuple[StationAudit, int, str]], *, period: Period,
             now: datetime, thresholds: AuditThresholds) -> None:
        """Store (audit, log size, inputs) rows as of ``now``, in one transaction."""
        at, digest, day, key = iso(now), thresholds_digest(thresholds), _day(now), \
            period_key(period)
        with self.db.write() as tx:
            for audit, size, inputs in made:
                rest = {k: v for k, v in audit.to_dict().items() if k not in _APART}
                tx.put_audit_result(
                    origin=audit.origin, period=key, station=audit.station, size=size,
                    inputs=inputs, thresholds=digest, day=day, status=audit.status,
                    findings=findings_to_json(audit.findings),
                    kpis=json.dumps({c: r.to_dict() for c, r in audit.kpis.items()},
                                    ensure_ascii=False),
                    audit=json.dumps(rest, ensure_ascii=False), computed_at=at)
        for audit, _, inputs in made:
            self._remember((key, audit.origin, inputs, digest, day, at), audit)

    def refresh(self, *, period: Period, now: datetime, thresholds: AuditThresholds,
                max_age: float | None = None, budget: float | None = None) -> int:
        """Audit again the logs whose kept result is missing or stale — and, with
        ``max_age`` (seconds), those computed longer ago than that (what depends on the
        hour), oldest first, for at most ``budget`` seconds of this pass; how many were
        audited. The background keeper's pass."""
        started = time.monotonic()
        key, digest, day = period_key(period), thresholds_digest(thresholds), _day(now)
        with self.db.read() as tx:
            wanted = self._wanted(tx, None)
            kept = tx.audit_result_keys(key)
        stale = [w.row for w in wanted
                 if kept.get(w.row.origin, ())[:3] != (w.inputs, digest, day)]
        self.compute(stale, period=period, now=now, thresholds=thresholds)
        if max_age is None:
            return len(stale)
        aged = sorted((w for w in wanted if w.row not in stale
                       and _age(now, kept[w.row.origin][3]) > max_age),
                      key=lambda w: kept[w.row.origin][3])  # the oldest first
        done = 0
        for w in aged:  # a county's year of logs takes minutes: a share of each pass
            if budget is not None and time.monotonic() - started > budget:
                break
            self.compute([w.row], period=period, now=now, thresholds=thresholds)
            done += 1
        return len(stale) + done

    def audit_and_keep(self, *, period: Period, now: datetime, thresholds: AuditThresholds,
                       station: str | None = None) -> CountyAudit:
        """``audit_county`` — every live log audited afresh, never read from the kept
        results (``county audit`` is the full re-verification) — keeping each result."""
        made: list[tuple[StationAudit, int, str]] = []
        with self.db.read() as tx:
            every = {r.origin: r for r in tx.stations()}
            counts = tx.audit_inputs()
            for row in live_rows(tx, counts, station):
                made.append((audit_station(tx, row, period=period, now=now,
                                           thresholds=thresholds),
                             row.size, inputs_key(row, every, counts)))
        self.keep(made, period=period, now=now, thresholds=thresholds)
        return with_aggregates(tuple(a for a, _, _ in made), period, now, thresholds)


def kept_sizes(db: CountyDb, period: Period) -> dict[str, tuple[int, str]]:
    """origin → (log size audited, computed at) of the kept audits (for tests and benches)."""
    with db.read() as tx:
        return tx.audit_result_sizes(period_key(period))


def _day(now: datetime) -> str:
    return local_day(now).isoformat()


def _age(now: datetime, at: str) -> float:
    return (now - parse_moment(at)).total_seconds()


__all__: Sequence[str] = ("AuditResults", "inputs_key", "kept_sizes", "period_key",
                          "thresholds_digest")
