"""Case search over a large station (the worklist and ledger filters a clerk uses).

    python bench/bench_search.py [--cases 100000]

Target (issue 2): a filtered search over 100k cases ≤ 50 ms.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from bench.common import cached_station, row, timings
from station_app.domain.clock import CST
from station_app.services.people import find_people
from station_app.services.station import Station
from station_app.store.queries import CaseFilter, count_cases, search_cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    cases = parser.parse_args().cases
    with Station.open(cached_station(cases)) as st:
        total = count_cases(st.db, CaseFilter())
        now = int(datetime(2026, 1, 15, tzinfo=CST).timestamp())
        someone = st.db.execute("SELECT applicant FROM cases LIMIT 1").fetchone()[0]
        queries = {
            "worklist: open states, soonest deadline first (100 rows)": CaseFilter(
                states=("RECEIVED", "ACCEPTED", "IN_PROGRESS", "SUPPLEMENT", "SUSPENDED")),
            "overdue now": CaseFilter(overdue_at=now),
            "one item, one month (received range)": CaseFilter(
                item_code="LOCAL-MZ-004", received_from="2025-06-01", received_to="2025-06-30"),
            "free text (item name substring)": CaseFilter(text="救助"),
            "applicant by blind index": CaseFilter(applicants=(someone,)),
            "finished, newest first": CaseFilter(states=("FINISHED",), order="received"),
        }
        print(f"station with {total:,} cases\n")
        print("| filtered search | median | p95 | runs |")
        print("|---|---|---|---|")
        for label, f in queries.items():
            print(row(label, timings(lambda f=f: search_cases(st.db, f), 30)))
            print(row(f"… and its count ({count_cases(st.db, f):,} rows)",
                      timings(lambda f=f: count_cases(st.db, f), 10)))
        print(row("blind-index lookup of a person by name",
                  timings(lambda: find_people(st, "测试甲甲"), 30)))


if __name__ == "__main__":
    main()
