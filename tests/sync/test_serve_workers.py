"""``county serve --workers 2``: two processes on one port and one SQLite database. Stations
syncing at the same time all get their receipts, the county stores every entry once, and
SIGTERM stops every worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup
from sync.client import HttpTransport
from sync.county.store import CountyDb
from sync.station import SyncReport, acknowledged, enroll, sync_once
from tests.sync.cli_helpers import county, executable, init_county, ok_json
from tests.sync.conftest import SMALL, free_port, make_station

CODES = ("330199101201", "330199101202", "330199101203", "330199101204")


@contextmanager
def serving_workers(data: Path, workers: int, timeout: float = 30
                    ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "COUNTY_DATA"}
    with open(data.parent / "serve.log", "wb") as sink:
        proc = subprocess.Popen([executable("county"), "--data", str(data), "serve",
                                 "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)],
                                stdout=sink, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # its workers, killable as one
    try:
        deadline = time.monotonic() + timeout
        while len(_children(proc.pid)) < workers or not _listening(port):
            assert proc.poll() is None, (data.parent / "serve.log").read_text()
            assert time.monotonic() < deadline, "county serve --workers did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung shutdown
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _children(pid: int) -> list[int]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in children
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _station(folder: Path, code: str, clock: ManualClock, notes: int) -> Station:
    st = make_station(folder, StationSetup(name=f"测试{code[-1]}村便民服务站", code=code,
                                           region=code, level="village"), clock)
    with st.transaction() as tx:
        for i in range(notes):
            tx.append("test.note", {"n": i, "text": "便民服务" * 20})
    return st


def test_two_workers_take_concurrent_stations_and_stop_together(tmp_path: Path,
                                                               clock: ManualClock):
    data = tmp_path / "county"
    init_county(data)
    folders = [tmp_path / code for code in CODES]
    reports: dict[Path, SyncReport] = {}
    failures: list[BaseException] = []

    def sync(folder: Path, url: str) -> None:
        """One station syncing in a thread of its own (its database is opened there)."""
        try:
            st = Station.open(folder, clock=clock)
            try:
                with HttpTransport(url) as transport:
                    reports[folder] = sync_once(st, transport, limits=SMALL)
            finally:
                st.close()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    with serving_workers(data, workers=2) as (url, proc):
        workers = _children(proc.pid)
        for folder, code in zip(folders, CODES, strict=True):
            st = _station(folder, code, clock, notes=600)
            try:
                ticket = ok_json(county(data, "enroll", "--station", code, "--json"))
                with HttpTransport(url) as transport:
                    enroll(st, transport, ticket["code"])
            finally:
                st.close()
        threads = [threading.Thread(target=sync, args=(f, url)) for f in folders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not failures, failures
        assert len(workers) == 2 and all(_alive(w) for w in workers)
        sync(folders[0], url)  # nothing new: nothing sent, the same receipt
        assert not failures and reports[folders[0]].sent_entries == 0
    assert proc.returncode == 0
    assert not any(_alive(w) for w in workers)  # SIGTERM reached every worker

    logs = {}
    for folder in folders:
        st = Station.open(folder, clock=clock)
        try:
            logs[st.info.origin] = [e for _, e, _ in st.ledger.rows()]
            assert acknowledged(st) == len(logs[st.info.origin])
        finally:
            st.close()
    db = CountyDb(str(data / "county.db"))
    try:
        with db.read() as tx:
            stored = {s.origin: (s.size, s.receipt_size) for s in tx.stations()}
            entries = {o: [e for _, e, _ in tx.entries(o)] for o in logs}
    finally:
        db.close()
    assert stored == {o: (len(log), len(log)) for o, log in logs.items()}
    assert entries == logs
