"""The county audit over real synced logs: integrity re-verification and facts, entries/s.

    python -m bench.bench_ingest            # first: 400 stations' logs into a county
    python -m bench.bench_audit [--db bench/out/ingest-400x250/run/county.db]

Works on a copy of the county database the ingest benchmark filled (every station's log as
it arrived through ``county serve``). Times, single process:

* ``audit_county`` for one month: every stored log re-verified with the stations' own
  verifier (every leaf hash, the root against every signed checkpoint, every signature),
  decoded, folded, checked for numbering and timing, its KPIs computed;
* ``refresh_facts``: every log folded into facts (``county kpis`` does this for the logs
  that grew since it last ran).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from station_app.domain.audit import Period, parse_thresholds
from station_app.domain.clock import CST
from sync.county.audit import audit_county
from sync.county.kpis import refresh_facts
from sync.county.store import CountyDb

DEFAULT = Path(__file__).resolve().parent / "out" / "ingest-400x250" / "run" / "county.db"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=DEFAULT)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} not found: run `python -m bench.bench_ingest` first")
    root = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    shutil.copy(args.db, root / "county.db")
    db = CountyDb(str(root / "county.db"))
    now = datetime.now(CST)
    try:
        with db.read() as tx:
            stations = tx.stations()
        entries = sum(s.size for s in stations)
        t = time.perf_counter()
        result = audit_county(db, period=Period.month(f"{now:%Y-%m}"), now=now,
                              thresholds=parse_thresholds(None))
        audit_s = time.perf_counter() - t
        t = time.perf_counter()
        refreshed = refresh_facts(db, now=now)
        facts_s = time.perf_counter() - t
        verified = sum(a.verified for a in result.stations)
        print("| stations | entries | audit (verify, decode, fold, flags, KPIs) "
              "| entries/s | facts for every log | entries/s | logs verified |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {len(stations)} | {entries:,} | {audit_s:.1f} s | {entries / audit_s:,.0f} "
              f"| {facts_s:.1f} s ({refreshed} logs) | {entries / facts_s:,.0f} "
              f"| {verified}/{len(result.stations)} |")
    finally:
        db.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
