"""The county's KPI table: 400 stations × 12 months ≈ 3 million cases (issue 6 target ≤ 2 s).

    python -m bench.bench_kpis [--stations 400] [--cases-per-month 625]
                               [--db sqlite|postgresql://postgres@127.0.0.1:5432/test]

The fact rows (``station_app.domain.audit.facts``) are generated directly, with the shares
a county sees (90 % of cases finished, 95 % of those on time, 40 % on the spot, 70 % rated,
one proxy entry per ten cases, the last month's cases partly still open) and written through
the store's own ``replace_facts``, one station at a time as ``refresh_facts`` does. Then
``kpi_table`` — every station, town and county KPI — is timed for one month and for the
whole year, five times each. Folding real logs into facts is measured by ``county audit``
and the ingest benchmark, not here.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

from station_app.domain.audit import Period
from station_app.domain.audit.facts import CaseFact, ProxyFact, RatingFact, StationFacts
from station_app.domain.clock import CST
from sync.county.kpis import kpi_table
from sync.county.store import CountyDb

YEAR = 2025
NOW = datetime(2026, 1, 5, 9, tzinfo=CST)


def station_code(n: int) -> str:
    return f"330199{101 + n // 20:03d}{201 + n % 20:03d}"


def facts_for(n: int, per_month: int, rng: random.Random) -> StationFacts:
    code = station_code(n)
    cases, proxies, ratings = [], [], []
    for month in range(1, 13):
        for seq in range(per_month):
            day = date(YEAR, month, 1 + rng.randrange(28))
            number = f"{code}-{day:%Y%m%d}-{seq:04d}"
            finished = month < 12 or rng.random() < 0.7
            done_day = day + timedelta(days=rng.randrange(0, 10)) if finished else None
            on_site = finished and rng.random() < 0.4
            rated = finished and rng.random() < 0.7
            cases.append(CaseFact(
                case_no=number, accepted_day=day.isoformat(),
                finished_day=(day if on_site else done_day).isoformat() if finished else None,
                on_time=finished and rng.random() < 0.95, on_site=on_site,
                visits=rng.choice((0, 1, 1, 1, 2)), rated=rated, open=not finished,
                overdue_from=None if finished else f"{day + timedelta(days=28)}"
                                                   "T00:00:00.000000+08:00"))
            if rated:
                bad = rng.random() < 0.03
                ratings.append(RatingFact(subject=number, first_day=done_day.isoformat()
                                          if done_day else day.isoformat(),
                                          bad=bad, fixed=bad and rng.random() < 0.6))
            if seq % 10 == 0:
                sent = rng.random() < 0.97
                proxies.append(ProxyFact(
                    proxy_no=f"DB{YEAR}{n:04d}{month:02d}{seq:04d}", registered_day=day.isoformat(),
                    counts_from=(day + timedelta(days=5)).isoformat(), sent=sent,
                    in_time=sent and rng.random() < 0.9))
    return StationFacts(cases=tuple(cases), proxies=tuple(proxies), ratings=tuple(ratings))


def load(db: CountyDb, stations: int, per_month: int) -> tuple[int, float]:
    rng, total, started = random.Random(6), 0, time.perf_counter()
    for n in range(stations):
        facts = facts_for(n, per_month, rng)
        total += len(facts.cases)
        code = station_code(n)
        with db.write() as tx:
            tx.replace_facts(f"vss/{code}/bench", code, code[:9] + "000", facts, 0,
                             NOW.isoformat())
    return total, time.perf_counter() - started


def timed(db: CountyDb, period: Period) -> list[float]:
    out = []
    for _ in range(5):
        t = time.perf_counter()
        table = kpi_table(db, period=period, now=NOW)
        out.append(time.perf_counter() - t)
        assert len(table.stations) > 0
    return out


def fresh_postgres(url: str) -> str:
    """A schema of its own in the given database, dropped first if a run left one."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_kpis CASCADE")
        conn.execute("CREATE SCHEMA bench_kpis")
    return url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dbench_kpis"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=400)
    parser.add_argument("--cases-per-month", type=int, default=625)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-kpis-"))
    url = str(root / "county.db") if args.db == "sqlite" else fresh_postgres(args.db)
    db = CountyDb(url)
    try:
        cases, took = load(db, args.stations, args.cases_per_month)
        month = timed(db, Period.month(f"{YEAR}-11"))
        year = timed(db, Period(date(YEAR, 1, 1), date(YEAR, 12, 31)))
        backend = "SQLite" if args.db == "sqlite" else "PostgreSQL"
        print(f"| database | stations | cases | load facts | KPI table, one month "
              f"| KPI table, whole year |\n|---|---|---|---|---|---|\n"
              f"| {backend} | {args.stations} | {cases:,} | {took:.0f} s "
              f"| {statistics.median(month):.2f} s (best {min(month):.2f}) "
              f"| {statistics.median(year):.2f} s (best {min(year):.2f}) |")
    finally:
        db.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
