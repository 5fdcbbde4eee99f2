"""The county auditors' read API (docs/dashboard.md) over HTTP, on logs synced for real.

    python -m bench.bench_dashboard [--stations 400] [--days 3] [--cases 10]

Preparation (cached in ``bench/out/dashboard-{stations}x{days}x{cases}/``; delete it to
rebuild): each station works ``--days`` October 2025 working days (``--cases`` cases a day,
every case accepted, every other one finished on the spot) and syncs through ``county
serve``'s app on 127.0.0.1 each evening — fewer days than a real month, so preparing 400
stations takes minutes, not hours. Then, through ``sync.client.AuditClient`` as the app
calls it, on a copy of that county:

* the overview of the month with nothing kept yet: every log audited (verify, fold, flags,
  KPIs) and its result kept (``audit_result``, sync/county/audit_results.py);
* the overview again from a **new server** on the same database (a restarted or second
  worker process: nothing in its memory, every result read from the table), and again in
  the same server (parsed results in memory);
* the keeper's pass when nothing changed (``FactsKeeper.once``: facts and kept audits);
* after one station synced one more day: its log alone audited again;
* a station's page, the cases behind 按时办结率 (one log folded), six months of trend.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.common import OUT
from station_app.domain.audit import Period
from station_app.domain.clock import CST
from station_app.domain.people import validate_person
from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup
from sync.client import AuditClient, HttpTransport
from sync.county.audit_results import kept_sizes
from sync.county.folder import online_keys
from sync.county.keys import init_keys
from sync.county.kpis import FactsKeeper
from sync.county.read_api import new_token, token_hash
from sync.county.service import County
from sync.county.store import CountyDb
from tests.sync.conftest import enroll_station, make_station, serve
from tests.sync.test_audit import honest_weeks, work_day

APPLICANT = validate_person(name="张三丰", cert_no="11010519491231002X", phone="13812341234",
                            address="青石镇东坑村3组12号")
MONTH = "2025-10"
AUDIT_AT = datetime(2025, 10, 31, 17, 0, tzinfo=CST)


def working_days(count: int) -> list[date]:
    days, day = [], date(2025, 10, 9)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def station_code(n: int) -> str:
    return f"330199{101 + n // 20:03d}{201 + n % 20:03d}"


def timed(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def prepared(stations: int, days: int, cases: int) -> Path:
    """The county folder (keys, county.db) and the first station's folder, made once."""
    folder = OUT / f"dashboard-{stations}x{days}x{cases}"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    clock = ManualClock(datetime(2025, 10, 9, 8, 0, tzinfo=CST))
    _, online = init_keys(folder / "county", "county/330199", clock.now().isoformat())
    db = CountyDb(str(folder / "county" / "county.db"))
    county = County(db, online, clock.now)
    server = serve(county)
    t = time.perf_counter()
    try:
        with HttpTransport(server.url) as transport:
            for n in range(stations):
                code = station_code(n)
                st = make_station(folder / "stations" / code, StationSetup(
                    name=f"第{n + 1}村便民服务站", code=code, region=code, level="village"),
                    ManualClock(datetime(2025, 10, 9, 8, 0, tzinfo=CST)))
                try:
                    enroll_station(st, county, server.url)
                    for day in working_days(days):
                        work_day(st, clock, transport, day, APPLICANT, cases)
                finally:
                    st.close()
                if n:  # only the first station syncs again
                    shutil.rmtree(folder / "stations" / code)
                if n % 50 == 49:
                    print(f"  {n + 1} stations prepared, {time.perf_counter() - t:.0f} s")
    finally:
        server.stop()
        db.close()
    (folder / "done").write_text(f"{time.perf_counter() - t:.0f} s\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=400)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--cases", type=int, default=10)
    args = parser.parse_args()
    source = prepared(args.stations, args.days, args.cases)
    root = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    shutil.copytree(source, root, dirs_exist_ok=True)
    clock = ManualClock(AUDIT_AT)
    online = online_keys(root / "county")
    db = CountyDb(str(root / "county" / "county.db"))
    county = County(db, online, clock.now)
    servers = [serve(county)]
    second = CountyDb(str(root / "county" / "county.db"))  # another process's connections
    first_station = station_code(0)
    st = Station.open(root / "stations" / first_station,
                      clock=ManualClock(datetime(2025, 10, 30, 8, 0, tzinfo=CST)))
    try:
        with db.read() as tx:
            entries = sum(s.size for s in tx.stations())
        token = new_token()
        with db.write() as tx:
            tx.add_auditor("bench", token_hash(token), None, clock.now().isoformat())
        with AuditClient(servers[0].url, token) as client:
            cold = timed(lambda: client.overview(MONTH), 1)
        servers.append(serve(County(second, online, clock.now)))
        with AuditClient(servers[1].url, token) as client:
            new_server = timed(lambda: client.overview(MONTH), 1)
            warm = timed(lambda: client.overview(MONTH), 5)
            keeper = FactsKeeper(db, clock.now, 60, folder=root / "county")
            facts = timed(keeper.once, 1)  # the facts of every log made: its first pass
            keeper_idle = timed(keeper.once, 3)
            page = timed(lambda: client.station(first_station, MONTH), 5)
            cases = timed(lambda: client.cases(first_station, "on_time_rate", MONTH), 5)
            trend = timed(lambda: client.trend(6), 3)
            before = kept_sizes(db, Period.month(MONTH))
            with HttpTransport(servers[0].url) as transport:  # one station syncs one more day
                honest_weeks(st, clock, transport, APPLICANT, [date(2025, 10, 30)])
            clock.set(AUDIT_AT)
            grown = timed(lambda: client.overview(MONTH), 1)
            after = kept_sizes(db, Period.month(MONTH))
        again = sum(after[o] != before.get(o) for o in after)
        print(f"prepared in {(source / 'done').read_text().strip()} (cached in {source}); "
              f"the keeper's first pass (every log's facts): {facts:.1f} s")
        print("| stations | entries | overview, nothing kept (audit all) | overview, new server "
              "(read kept) | overview, again | keeper pass, nothing changed "
              "| after one log grew | logs audited again | station page | cases behind a KPI "
              "| trend, 6 months |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {args.stations} | {entries:,} | {cold:.1f} s | {new_server * 1000:.0f} ms "
              f"| {warm * 1000:.0f} ms | {keeper_idle * 1000:.1f} ms | {grown * 1000:.0f} ms "
              f"| {again} | {page * 1000:.0f} ms | {cases * 1000:.0f} ms "
              f"| {trend * 1000:.0f} ms |")
    finally:
        st.close()
        for server in servers:
            server.stop()
        db.close()
        second.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
