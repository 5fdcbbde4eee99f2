"""Append rate: one case per transaction (the real path a clerk takes) and batched entries.

    python bench/bench_append.py [--n 2000]

Target (issue 2): a single case append with signing ≤ 5 ms median.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import new_station, row, timings
from station_app.domain.people import validate_person
from station_app.domain.states import CaseState
from station_app.services.cases import CaseRequest, add_case, move_case

PERSON = validate_person(name="基准", cert_no="11010519491231002X")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n
    folder = Path(tempfile.mkdtemp(prefix="bench-append-"))
    try:
        st = new_station(folder / "st")
        add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=PERSON))  # person on record

        numbers: list[str] = []
        adds = timings(lambda: numbers.append(
            add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=PERSON)).case_no), n)
        it = iter(numbers)
        moves = timings(lambda: move_case(st, next(it), CaseState.ACCEPTED), n)

        def bare() -> None:
            with st.transaction() as tx:
                tx.append("bench.note", {"text": "一条不进入任何数据表的审计记录" * 10})

        singles = timings(bare, n)
        started = time.perf_counter()
        with st.transaction() as tx:
            for _ in range(n * 5):
                tx.append("bench.note", {"text": "一条不进入任何数据表的审计记录" * 10})
        batched = time.perf_counter() - started
        st.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("| operation (one transaction each, WAL + synchronous=FULL) | median | p95 | runs |")
    print("|---|---|---|---|")
    print(row("`case add` (case.created + signed checkpoint + projection)", adds))
    print(row("`case move` to ACCEPTED (fold + deadline + projection)", moves))
    print(row("bare log entry (entry + signed checkpoint)", singles))
    print()
    print(f"one entry per transaction: {1 / (sum(singles) / len(singles)):,.0f} entries/s")
    print(f"batched, {n * 5} entries in one transaction (each still with its signed "
          f"checkpoint): {n * 5 / batched:,.0f} entries/s")


if __name__ == "__main__":
    main()
