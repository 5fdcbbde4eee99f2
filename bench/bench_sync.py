"""Sync: a station's backlog reaching the county, over loopback and over a rural link.

    python -m bench.bench_sync [--backlogs day,week,month,year] [--slow day,week,month]

Backlogs: 1 day (50 cases), 1 week (350), 1 month (1,500), 1 year (18,000), written through
the real case path (applicants recorded, cases created and moved) on a station that has
already synced its earlier history. Each backlog is synced from the same starting state
(a copy of both folders) to a county server running in its own process (the real
``County`` behind uvicorn, ``tests/sync/county_process.py``):

* directly over loopback: the sync time;
* through the fault proxy (``tests/sync/faultproxy.py``): bytes on the wire (HTTP requests
  and answers, headers included) and, for the backlogs in ``--slow``, the time at
  64 kbit/s (8,000 B/s each way) with 600 ± 300 ms added to every answer.

Then, per package of the month backlog: HPKE seal and open (ML-KEM-768 + X25519,
ChaCha20-Poly1305) and the county's whole ``add-entries`` (decrypt, decompress, decode every
entry, fold the Merkle tree, check the proof against the signed checkpoint, commit with
``synchronous=FULL``), called in-process.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import new_station, one_case, random_person
from station_app.crypto.kem import KemKey, seal_to
from station_app.domain.clock import CST
from station_app.services.clock import ManualClock
from station_app.services.people import record_person
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.keys import init_keys, load_online
from sync.county.service import County
from sync.county.store import CountyDb
from sync.station import (
    acknowledged,
    checkpoint_request,
    enroll,
    packages,
    require_enrollment,
    sync_once,
)
from tests.sync.county_process import CountyProcess
from tests.sync.faultproxy import Bandwidth, FaultProxy, Latency

BACKLOGS = {"day": (50, 1), "week": (350, 7), "month": (1_500, 30), "year": (18_000, 365)}
START = datetime(2025, 3, 3, 9, tzinfo=CST)
BACKLOG_FROM = datetime(2025, 4, 1, 9, tzinfo=CST)
SYNC_AT = datetime(2026, 6, 1, 9, tzinfo=CST)
RURAL = (Bandwidth(rate=8_000), Latency(ms=600, jitter=300))


def open_station(folder: Path, when: datetime) -> Station:
    return Station.open(folder, clock=ManualClock(when))


def county_now() -> datetime:
    return datetime.now(CST)


def make_base(root: Path) -> Path:
    """A county and a station that enrolled and synced a few weeks of history."""
    base = root / "base"
    _, online = init_keys(base / "county", "county/330199", county_now().isoformat())
    county = County(CountyDb(str(base / "county" / "county.db")), online, county_now)
    st = new_station(base / "station", START)
    add_cases(st, 300, days=20, rng=random.Random(1))
    server = CountyProcess(base / "county").start()
    try:
        with HttpTransport(server.url) as transport:
            enroll(st, transport, county.new_ticket(st.info.code).code)
            sync_once(st, transport)
    finally:
        server.kill()
        county.db.close()
        st.close()
    return base


def add_cases(st: Station, cases: int, *, days: int, rng: random.Random) -> None:
    """``cases`` cases over ``days`` working days, half of them for a new applicant."""
    clock: ManualClock = st.clock  # type: ignore[assignment]
    people: list[str] = []
    per_day = max(cases // days, 1)
    done = 0
    while done < cases:
        clock.advance(days=1)
        with st.transaction() as tx:
            for seq in range(1, min(per_day, cases - done) + 1):
                clock.advance(minutes=4)
                if not people or rng.random() < 0.5:
                    people.append(record_person(tx, random_person(rng)))
                one_case(st, tx, rng, rng.choice(st.projector.catalog().items),
                          rng.choice(people), seq)
                done += 1


def copy(base: Path, to: Path) -> Path:
    shutil.rmtree(to, ignore_errors=True)
    shutil.copytree(base, to)
    return to


def sync_through(run: Path, proxy_toxics: tuple | None
                 ) -> tuple[float, int, int, int, int]:
    """Sync the station in ``run`` to a fresh county process; (seconds, entries sent,
    packages, bytes on the wire and requests, or 0 without the proxy)."""
    server = CountyProcess(run / "county").start()
    proxy = FaultProxy(server.port).start() if proxy_toxics is not None else None
    st = open_station(run / "station", SYNC_AT)
    try:
        if proxy is not None:
            proxy.set(*proxy_toxics)
        with HttpTransport(proxy.url if proxy else server.url) as transport:
            started = time.perf_counter()
            report = sync_once(st, transport)
            took = time.perf_counter() - started
        assert acknowledged(st) == st.ledger.size()
        wire = proxy.stats.up + proxy.stats.down if proxy else 0
        return took, report.sent_entries, report.packages, wire, \
            proxy.stats.requests if proxy else 0
    finally:
        st.close()
        if proxy is not None:
            proxy.stop()
        server.kill()


def backlog_row(name: str, base: Path, root: Path, slow: bool) -> tuple[str, Path]:
    cases, days = BACKLOGS[name]
    loaded = copy(base, root / f"loaded-{name}")
    st = open_station(loaded / "station", BACKLOG_FROM)
    try:
        add_cases(st, cases, days=days, rng=random.Random(cases))
        acked = acknowledged(st)
        raw = sum(len(e) for _, e, _ in st.ledger.rows(acked))
    finally:
        st.close()
    took, entries, count, _, _ = sync_through(copy(loaded, root / "run"), None)
    slow_took, _, _, wire, trips = sync_through(copy(loaded, root / "run"),
                                                RURAL if slow else ())
    rural = f"{slow_took:.1f} s" if slow else "—"
    bound = f"{1.3 * wire / RURAL[0].rate + trips * 0.6:.1f} s" if slow else "—"
    return (f"| {name} | {cases:,} | {entries:,} | {raw:,} | {wire:,} | {count} | {trips} | "
            f"{wire / cases:.0f} | {wire / entries:.0f} | {took:.2f} s | {rural} | {bound} |"
            ), loaded


def per_package(loaded: Path, root: Path) -> str:
    """HPKE seal/open of package-sized plaintexts and the county's add-entries for each
    package of a loaded backlog."""
    run = copy(loaded, root / "run")
    st = open_station(run / "station", SYNC_AT)
    online = load_online(run / "county")
    county = County(CountyDb(str(run / "county" / "county.db")), online, county_now)
    try:
        keys = require_enrollment(st).keys
        kid, public = keys.current_kem
        kem = online.kem(kid)
        assert isinstance(kem, KemKey)
        acked = acknowledged(st)
        request = checkpoint_request(st, county.status(st.info.origin).body["committed"])
        assert county.add_checkpoint(st.info.origin, request.encode()).status == 202
        bodies = [body for _, _, body in packages(st, acked, request.note, keys)]
        seal, open_, verify = [], [], []
        for body in bodies:
            plain = random.randbytes(len(body) - 1_400)  # ≈ the compressed plaintext
            t = time.perf_counter()
            sealed = seal_to(public, plain, b"info")
            seal.append(time.perf_counter() - t)
            t = time.perf_counter()
            kem.open(sealed, b"info")
            open_.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert county.add_entries(st.info.origin, body).status in (200, 202)
            verify.append(time.perf_counter() - t)
    finally:
        county.db.close()
        st.close()
    size = statistics.median(len(b) for b in bodies)
    return (f"| {len(bodies)} packages, median {size / 1024:.1f} KiB | {ms(seal)} "
            f"| {ms(open_)} | {ms(verify)} |")


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlogs", default="day,week,month,year")
    parser.add_argument("--slow", default="day,week,month")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        base = make_base(root)
        rows, loaded = [], {}
        for name in args.backlogs.split(","):
            row, loaded[name] = backlog_row(name, base, root, name in args.slow.split(","))
            rows.append(row)
        print("| backlog | cases | entries | raw bytes | bytes on the wire | packages "
              "| round trips | wire bytes/case | wire bytes/entry | loopback "
              "| 64 kbit/s, 600 ± 300 ms | target 1.3 × bytes/bandwidth + round trips |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        month = loaded.get("month") or next(iter(loaded.values()))
        print()
        print("| per package (month backlog) | HPKE seal | HPKE open "
              "| county add-entries (open, decode, verify, commit) |")
        print("|---|---|---|---|")
        print(per_package(month, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
