"""Encrypted backup and restore of a large station (issue 8).

    python -m bench.bench_backup [--cases 45000] [--repeat 2]

The default builds ≈ 100k entries (45k cases × ≈ 2.2 entries, 2,000 applicants; cached in
bench/out/). Prints the backup's phases — snapshot (SQLite online backup), compress and
encrypt and fsync, the trial restore that verifies the log — then a real restore into a
new folder, and the sizes. The passphrase KDF (Argon2id, 64 MiB, t=3) is timed alone:
it runs once per backup written, once per check and once per restore.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import cached_station
from station_app.crypto import KdfParams, SealedWriter
from station_app.services.backup import backup_station, restore_backup
from station_app.services.station import Station

PASS = "benchmark passphrase 基准测试"


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)


def kdf_seconds() -> float:
    started = time.perf_counter()
    SealedWriter(_Null(), PASS, {}, params=KdfParams.fresh())  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=45_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    folder = cached_station(args.cases)
    db_size = (folder / "station.db").stat().st_size
    rows: dict[str, list[float]] = {k: [] for k in ("snapshot", "write", "verify", "backup",
                                                     "restore")}
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        for i in range(args.repeat):
            with Station.open(folder) as st:
                entries = st.ledger.size()
                started = time.perf_counter()
                report = backup_station(st, Path(scratch), PASS)
                rows["backup"].append(time.perf_counter() - started)
            rows["snapshot"].append(report.snapshot_s)
            rows["write"].append(report.write_s)
            rows["verify"].append(report.verify_s)
            target = Path(scratch) / f"restored-{i}"
            started = time.perf_counter()
            restored = restore_backup(report.path, target, PASS)
            rows["restore"].append(time.perf_counter() - started)
            assert restored.entries == entries
            shutil.rmtree(target)
            report.path.unlink()
    kdf = statistics.median(kdf_seconds() for _ in range(3))
    print(f"station: {entries:,} entries, station.db {db_size / 1e6:.1f} MB; "
          f"backup file {report.size / 1e6:.1f} MB ({report.size / db_size:.0%} of the database)")
    print(f"Argon2id (64 MiB, t=3, 4 lanes): {kdf:.2f} s per derivation")
    print("| step | median s | best s | runs |")
    print("|---|---|---|---|")
    labels = {"snapshot": "snapshot (online backup API, quick_check, digests)",
              "write": "compress + encrypt + fsync", "verify": "trial restore + log verify",
              "backup": "**backup, total**", "restore": "**restore into a new folder**"}
    for key, label in labels.items():
        samples = rows[key]
        print(f"| {label} | {statistics.median(samples):.2f} | {min(samples):.2f} |"
              f" {len(samples)} |")


if __name__ == "__main__":
    main()
