"""The county's KPI table from fact rows: a month of 400 stations is a few indexed sums.

``county audit`` folds every log to check it, which takes minutes for a county's year. The
KPIs do not need that: each station log's facts (``station_app.domain.audit.facts``: one
row per case, proxy entry and rated subject) are kept in the county database and refreshed
only for logs that grew since (``refresh_facts``), and a KPI table for any period is then
SQL sums over them (``kpi_table``). The facts are tested equal to ``compute_kpis``; the
sums here are ``kpis_from_facts`` in SQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from station_app.domain.audit import (
    KPI_DEFINITIONS,
    KpiResult,
    Period,
    aggregate_tables,
)
from station_app.domain.audit.facts import moment_text, station_facts
from station_app.domain.audit.records import fold_station_log
from station_app.domain.clock import iso, local_day
from sync.county.audit import (
    history_size,
    load_thresholds,
    station_history,
    town_of,
    town_totals,
)
from sync.county.audit_results import AuditResults
from sync.county.store import CountyDb

log = logging.getLogger("county")
AUDIT_MAX_AGE = 3600.0  # seconds a kept audit may age before the keeper audits it again
AUDIT_AGED_BUDGET = 5.0  # seconds a pass may spend on those (not on changed logs)


@dataclass(frozen=True, slots=True)
class KpiTable:
    period: Period
    now: datetime
    stations: Mapping[str, Mapping[str, KpiResult]]  # station code → code → result
    towns: Mapping[str, Mapping[str, KpiResult]] = field(default_factory=dict)
    county: Mapping[str, KpiResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        def plain(k: Mapping[str, KpiResult]) -> dict[str, object]:
            return {c: {"value": r.value, "numerator": r.numerator,
                        "denominator": r.denominator} for c, r in k.items()}

        return {"period": {"from": self.period.first.isoformat(),
                           "to": self.period.last.isoformat()}, "now": self.now.isoformat(),
                "stations": {s: plain(k) for s, k in self.stations.items()},
                "towns": {t: plain(k) for t, k in self.towns.items()},
                "county": plain(self.county)}


def refresh_facts(db: CountyDb, *, now: datetime) -> int:
    """Re-fold the logs that grew since their facts were made; how many were refreshed."""
    with db.read() as tx:
        known = tx.fact_sizes()
        sizes = [(row, history_size(tx, row)) for row in tx.stations()]
        stale = [(row, size) for row, size in sizes if known.get(row.origin) != size]
    for row, size in stale:
        # A lost PC's log counts as part of its replacement's history (docs/recovery.md):
        # its own facts are empty (size -1), so nothing is counted twice.
        with db.read() as tx:
            entries = station_history(tx, row, verify=False).entries if size >= 0 else []
        folded = fold_station_log(row.code, entries)
        facts = station_facts(folded.records, folded.calendar)
        with db.write() as tx:
            tx.replace_facts(row.origin, row.code, town_of(row.code), facts, size, iso(now))
    return len(stale)


def kpi_table(db: CountyDb, *, period: Period, now: datetime, station: str | None = None
              ) -> KpiTable:
    """Every station's KPIs for ``period`` from the facts as they stand (see
    ``refresh_facts``), with town and county totals (sums, never averaged rates)."""
    with db.read() as tx:
        sums = tx.kpi_sums(period.first.isoformat(), period.last.isoformat(),
                           local_day(now).isoformat(), moment_text(now) or "", station)
        enrolled = {row.code for row in (tx.stations(station) if station else tx.stations())}
    stations: dict[str, dict[str, KpiResult]] = {code: {} for code in enrolled}
    for code, kpi, numerator, denominator in sums:  # a KPI may come in parts: add them
        table = stations.setdefault(code, {})
        had = table.get(kpi)
        table[kpi] = KpiResult(
            code=kpi, numerator=int(numerator or 0) + (had.numerator if had else 0),
            denominator=int(denominator or 0) + (had.denominator if had else 0))
    for table in stations.values():
        for d in KPI_DEFINITIONS:
            table.setdefault(d.code, KpiResult(code=d.code, numerator=0, denominator=0))
    ordered = {code: {d.code: stations[code][d.code] for d in KPI_DEFINITIONS}
               for code in sorted(stations)}
    return KpiTable(period=period, now=now, stations=ordered,
                    towns=town_totals(ordered.items()),
                    county=aggregate_tables(ordered.values()))


class FactsKeeper:
    """Keeps the facts current while ``county serve`` runs: every ``interval`` seconds the
    logs that grew are folded again, in one thread of one process, so ``county kpis`` (and
    the dashboard) answer at once instead of folding the day's uploads first.

    With ``folder`` (its ``audit.json`` is read each pass: the thresholds) it also keeps the
    current month's station audits (sync/county/audit_results.py): the logs whose inputs
    changed, every log once a new day begins, and those audited more than ``audit_max_age``
    seconds ago (what depends on the hour; oldest first, at most ``audit_budget`` seconds a
    pass, so a large county's logs are renewed in turn without taking a core), so the
    dashboard's overview reads kept rows."""

    def __init__(self, db: CountyDb, now: Callable[[], datetime], interval: float, *,
                 folder: Path | None = None,
                 audit_max_age: float | None = AUDIT_MAX_AGE,
                 audit_budget: float | None = AUDIT_AGED_BUDGET) -> None:
        self.db, self.now, self.interval = db, now, interval
        self.folder, self.audit_max_age, self.audit_budget = folder, audit_max_age, audit_budget
        self.results = AuditResults(db)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="county-facts", daemon=True)

    def start(self) -> FactsKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.once()

    def once(self) -> None:
        """One pass: the facts, then (with thresholds) the current month's audits."""
        try:
            refresh_facts(self.db, now=self.now())
        except Exception:  # a bad log must not stop the keeper; the audit reports it
            log.exception("refreshing the audit facts failed")
        if self.folder is None:
            return
        try:
            now, thresholds = self.now(), load_thresholds(self.folder)
            self.results.refresh(period=Period.month(f"{local_day(now):%Y-%m}"), now=now,
                                 thresholds=thresholds, max_age=self.audit_max_age,
                                 budget=self.audit_budget)
        except Exception:  # e.g. a broken audit.json: the dashboard shows the error
            log.exception("refreshing the kept station audits failed")
