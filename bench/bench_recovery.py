"""Recovery from a lost PC (docs/recovery.md): how long a replacement PC takes to get a
station's history back from the county, and the county's fill answers.

    python -m bench.bench_recovery [--cases 8000]

A station with ``--cases`` cases (≈ 2.2 entries each, 2,000 applicants; built once into
bench/out/) enrolls with a county server running in its own process (the real ``County``
behind uvicorn, over loopback) and syncs everything. The county then approves a
replacement, and ``sync.recover.recover`` runs on a new, empty folder: enrol as successor,
fetch every acknowledged entry (pages of 1,024), verify (county cosignature, station
signature, every entry, Merkle root), then build the folder (epoch rows, projections
replayed, the new log's first entries). Each phase is timed separately from a second run of
its own where that makes sense; the whole recovery is timed end to end.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import cached_station
from station_app.crypto import Signer
from station_app.domain.clock import CST
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.keys import init_keys
from sync.county.service import County
from sync.county.store import CountyDb
from sync.protocol import enroll_qr_text
from sync.recover import fetch_log, recover, verify_fetched
from sync.station import enroll, require_enrollment, sync_once
from tests.sync.county_process import CountyProcess


def county_now() -> datetime:
    return datetime.now(CST)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=8000)
    args = parser.parse_args()
    source = cached_station(args.cases)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(source, root / "lost")
        _, online = init_keys(root / "county", "county/330199", county_now().isoformat())
        county = County(CountyDb(str(root / "county" / "county.db")), online, county_now)
        server = CountyProcess(root / "county").start()
        try:
            run(root, county, server.url)
        finally:
            server.kill()
            county.db.close()


def run(root: Path, county: County, url: str) -> None:
    lost = Station.open(root / "lost", clock=ManualClock(county_now()))
    with HttpTransport(url) as transport:
        enroll(lost, transport, county.new_ticket(lost.info.code).code)
        started = time.perf_counter()
        sync_once(lost, transport)
        synced = time.perf_counter() - started
        size = lost.ledger.size()
        keys = require_enrollment(lost).keys
        started = time.perf_counter()
        fetched = fetch_log(transport, signer=lost.signer, origin=lost.info.origin,
                            log=lost.info.origin, start=0, clock=lost.clock)
        fetching = time.perf_counter() - started
        started = time.perf_counter()
        verify_fetched(fetched, log=lost.info.origin, keys=keys,
                       public_key=Signer(lost.keys.signing_seed).public_key)
        verifying = time.perf_counter() - started
    code = lost.info.code
    lost.close()
    ticket = county.new_ticket(code, replaces=True)
    with HttpTransport(url) as transport:
        started = time.perf_counter()
        report = recover(root / "new", transport, enroll_qr_text(code, ticket.code),
                         clock=ManualClock(county_now()), actor="bench")
        whole = time.perf_counter() - started
    assert report.recovered == size
    db_mb = (root / "new" / "station.db").stat().st_size / 1e6
    print(f"\n{size:,} entries ({report.highest_case} the last case), "
          f"replacement station.db {db_mb:.1f} MB\n")
    print("| step | seconds |")
    print("|---|---|")
    print(f"| first sync of the whole log (for scale) | {synced:.2f} |")
    print(f"| fetch every acknowledged entry ({-(-size // 1024)} pages of ≤ 1,024) | "
          f"{fetching:.2f} |")
    print(f"| verify (cosignature, signature, every entry, Merkle root) | {verifying:.2f} |")
    print(f"| **recover, end to end** (enrol, fetch, verify, build, projections) | "
          f"**{whole:.2f}** |")


if __name__ == "__main__":
    main()
