"""``ledger verify`` over a large log.

    python bench/bench_verify.py [--cases 45000]

The default builds ≈ 100k entries (45k cases × ≈ 2.2 entries). Target (issue 2): ≥ 50k
entries/s for the default verification.
"""

from __future__ import annotations

import argparse
import time

from bench.common import cached_station
from station_app.services.ledger import verify_folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=45_000)
    folder = cached_station(parser.parse_args().cases)
    print("| verification | entries | seconds | entries/s | signatures checked |")
    print("|---|---|---|---|---|")
    for label, full in (("default (every hash and root; signatures sampled)", False),
                        ("`--full` (every checkpoint signature too)", True)):
        started = time.perf_counter()
        report = verify_folder(folder, full=full)
        took = time.perf_counter() - started
        assert report.ok, report.problem_en
        print(f"| {label} | {report.entries:,} | {took:.2f} | {report.entries / took:,.0f} |"
              f" {report.signatures:,} |")


if __name__ == "__main__":
    main()
