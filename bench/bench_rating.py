"""Rating by QR code and the regenerated 公示栏 (issue 7; docs/evaluation-qr.md,
docs/notice-board.md).

    python -m bench.bench_rating [--cases 5000]

A station of N cases, enrolled with a real county server (uvicorn in a thread, SQLite) and
synced; then: the 办结通知书 with its rating code; the rating page over loopback, the first
request for a log (the county reads the item names from the station's log once per process)
and later ones; a rating posted; and the 公示栏 regenerated after an agent is added.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench.common import build_station, row, timings
from station_app.domain.clock import CST
from station_app.domain.documents import DocKind
from station_app.services.clock import ManualClock
from station_app.services.documents import issue_document
from station_app.services.notice_board import refresh_notice_board
from station_app.services.profile import add_agent
from station_app.services.rating_qr import case_rating_url
from sync.client import HttpTransport
from sync.county.keys import init_keys
from sync.county.service import County
from sync.county.store import CountyDb
from sync.session import run_sync
from tests.sync.conftest import enroll_station, serve


def ok(answer: httpx.Response) -> None:
    assert answer.status_code == 200 and "尚未同步" not in answer.text, answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5000)
    cases = parser.parse_args().cases
    folder = Path(tempfile.mkdtemp(prefix="bench-rating-"))
    clock = ManualClock(datetime(2025, 3, 3, 8, tzinfo=CST))
    _, online = init_keys(folder / "county", "county/330199", clock.now().isoformat())
    db = CountyDb(str(folder / "county" / "county.db"))
    county = County(db, online, lambda: clock.now())
    server = serve(county)
    try:
        st = build_station(folder / "st", cases)
        clock.set(st.clock.now())
        enroll_station(st, county, server.url)
        t = time.perf_counter()
        with HttpTransport(server.url) as transport:
            run_sync(st, transport)
        synced = time.perf_counter() - t
        finished = [r[0] for r in st.db.execute(
            "SELECT case_no FROM cases WHERE state = 'FINISHED' ORDER BY case_no DESC")]
        lines = [f"station: {cases} cases, {st.ledger.size()} entries (first sync "
                 f"{synced:.1f} s); {len(finished)} finished", "",
                 "| step | median | p95 | n |", "|---|---|---|---|"]
        lines.append(row("rating URL (token signed)",
                         timings(lambda: case_rating_url(st, finished[0]), 50)))
        lines.append(row("办结通知书 rendered with both codes (saved, no printer)", timings(
            lambda: issue_document(st, DocKind.FINISH_NOTICE, finished[1], print_it=False),
            20)))
        urls = [case_rating_url(st, n) for n in finished[2:42]]
        with httpx.Client(timeout=30) as web:
            lines.append(row("GET rating page, first for this log (reads the log)",
                             timings(lambda: ok(web.get(urls[0])), 1)))
            lines.append(row("GET rating page, later",
                             timings(lambda: ok(web.get(urls[1])), 20)))
            it = iter(urls[2:])
            lines.append(row("POST a 不满意 rating (stored + relayed)", timings(
                lambda: ok(web.post(next(it), data={"assess": "1", "level": "DISSATISFIED",
                                                    "reasons": "等候时间长"})), 30)))
        issue_document(st, DocKind.NOTICE_BOARD, print_it=False)
        n = iter(range(1000))

        def change() -> None:
            add_agent(st, name=f"代办员{next(n)}", role="村级代办员", phone="13905710044",
                      village="东坑村")
            assert refresh_notice_board(st) is not None

        lines.append(row("公示栏: add an agent + regenerate (render, save, 2 entries)",
                         timings(change, 10)))
        print("\n".join(lines))
        st.close()
    finally:
        server.stop()
        db.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
