"""Upgrading a large station folder made by release 0.1.0 (docs/upgrades.md).

    python -m bench.bench_upgrade [--cases 20000] [--repeat 2] [--release /path/to/v0.1.0]

The station is built by the release's own code (its ``bench.common.build_station``, run in a
subprocess with the release tree first on ``sys.path``; cached in bench/out/). Each round
copies it to a scratch folder and opens it with this version, which upgrades it in one
transaction: the pre-upgrade copy, the pending migrations, the projection rebuild and the
version stamp. The copy and the rebuild are then timed alone, to show where the time goes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from station_app.services.station import Station
from station_app.store.db import open_database, pre_upgrade_copy, upgrade_copies

OUT = Path(__file__).resolve().parent / "out"
BUILD = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
         "import station_app; assert station_app.__version__ == '0.1.0', station_app.__file__;"
         "from bench.common import build_station;"
         "build_station(Path(sys.argv[2]), int(sys.argv[3])).close()")


def release_station(tree: Path, cases: int) -> Path:
    folder = OUT / f"release-0.1.0-station-{cases}"
    if not (folder / "station.db").exists():
        OUT.mkdir(exist_ok=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-B", "-P", "-c", BUILD, str(tree), str(folder),
                        str(cases)], check=True, cwd=tree)
        print(f"(built {cases} cases with 0.1.0 in {time.perf_counter() - started:.1f} s)")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--release", type=Path, default=Path(
        os.environ.get("STATION_RELEASE_0_1_0", "/work/release-0.1.0")))
    args = parser.parse_args()
    source = release_station(args.release, args.cases)
    rows: dict[str, list[float]] = {"upgrade": [], "copy": [], "rebuild": []}
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        for i in range(args.repeat):
            folder = Path(scratch) / f"round-{i}"
            shutil.copytree(source, folder)
            started = time.perf_counter()
            with Station.open(folder) as st:
                rows["upgrade"].append(time.perf_counter() - started)
                entries = st.ledger.size()
                started = time.perf_counter()
                st.rebuild()
                rows["rebuild"].append(time.perf_counter() - started)
            assert len(upgrade_copies(folder)) == 1
            db = open_database(folder)
            try:
                started = time.perf_counter()
                pre_upgrade_copy(db, folder)
                rows["copy"].append(time.perf_counter() - started)
            finally:
                db.conn.close()
    size = (source / "station.db").stat().st_size / 1e6
    print(f"station of {entries:,} entries, station.db {size:.1f} MB (0.1.0), "
          f"{args.repeat} rounds")
    print("| step | median s | best s |\n|---|---|---|")
    for label, key in (("pre-upgrade copy alone (online backup + fsync)", "copy"),
                       ("projection rebuild alone", "rebuild"),
                       ("**whole upgrade on open** (copy, migrations, rebuild, stamp)",
                        "upgrade")):
        print(f"| {label} | {statistics.median(rows[key]):.2f} | {min(rows[key]):.2f} |")


if __name__ == "__main__":
    main()
