"""kill -9 during a burst of appends loses no committed entry and leaves a valid log.

A child process appends cases as fast as it can and prints each case number only after the
transaction committed. The parent kills it with SIGKILL at a random moment, then checks that
every case the child reported is in the database, that SQLite's integrity check passes and
that the whole log still verifies. (kill -9 leaves the OS page cache intact; power loss is
covered by synchronous=FULL, which this test cannot exercise.)
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from station_app.services.ledger import verify_folder
from station_app.services.station import Station

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from station_app.domain.people import validate_person
    from station_app.services.cases import CaseRequest, add_case
    from station_app.services.station import Station

    person = validate_person(name="赵六", cert_no="11010519491231002X")
    station = Station.open(Path(sys.argv[1]), actor="crash-test")
    while True:
        case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=person))
        print(case.case_no, flush=True)
""")

ROUNDS = 5


@pytest.mark.slow
def test_sigkill_mid_burst_loses_no_committed_case(station: Station, tmp_path: Path):
    folder = station.folder
    station.close()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(2025)
    reported: list[str] = []
    for _ in range(ROUNDS):
        child = subprocess.Popen([sys.executable, str(script), str(folder)],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.6, 1.4))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        reported += out.split()
    assert len(reported) > ROUNDS  # the child really was appending when killed

    db = sqlite3.connect(folder / "station.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {r[0] for r in db.execute("SELECT case_no FROM cases")}
    db.close()
    assert set(reported) <= stored
    report = verify_folder(folder)
    assert report.ok, report.problem_en
    with Station.open(folder) as again:
        assert again.ledger.size() == report.entries
