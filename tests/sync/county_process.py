"""The county server in a process of its own, so a test can ``kill -9`` it and start it again.

    python -m tests.sync.county_process FOLDER PORT [--db URL] [--die-after add_entries:N]

FOLDER holds ``keys/`` (from ``init_keys``) and ``county.db`` (or ``--db``: the test's
PostgreSQL schema); the server listens on
127.0.0.1:PORT. ``--die-after add_entries:2`` makes the process SIGKILL itself right after
the second ``add_entries`` call returns, i.e. after its transaction committed and before
the answer is written: the crash that tests "persist before replying". The service itself
is the real ``County``; the launcher only adds the crash.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn

from station_app.domain.clock import CST
from sync.county.app import create_app
from sync.county.keys import load_online
from sync.county.service import County, Reply
from sync.county.store import CountyDb

ROOT = Path(__file__).resolve().parents[2]


class CrashingCounty(County):
    """The real service, killed with SIGKILL after the Nth call of one method commits."""

    def __init__(self, *args: Any, method: str, after: int) -> None:
        super().__init__(*args)
        self._method, self._left = method, after

    def add_entries(self, origin: str, body: bytes) -> Reply:
        return self._maybe_die("add_entries", super().add_entries(origin, body))

    def add_checkpoint(self, origin: str, body: bytes, station_time: str | None = None
                       ) -> Reply:
        return self._maybe_die("add_checkpoint",
                               super().add_checkpoint(origin, body, station_time))

    def _maybe_die(self, method: str, reply: Reply) -> Reply:
        if method == self._method:
            self._left -= 1
            if self._left == 0:
                os.kill(os.getpid(), signal.SIGKILL)
        return reply


def build(folder: Path, die_after: str | None, url: str | None = None) -> County:
    db = CountyDb(url or str(folder / "county.db"))
    keys = load_online(folder)
    if die_after:
        method, _, count = die_after.partition(":")
        return CrashingCounty(db, keys, _now, method=method, after=int(count))
    return County(db, keys, _now)


def _now() -> datetime:
    return datetime.now(CST)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--die-after")
    parser.add_argument("--db")
    args = parser.parse_args()
    uvicorn.run(create_app(build(args.folder, args.die_after, args.db)), host="127.0.0.1",
                port=args.port, log_level="warning", lifespan="off")


class CountyProcess:
    """Start, kill -9 and restart the county server subprocess (from a test)."""

    def __init__(self, folder: Path, db: str | None = None) -> None:
        self.folder, self.db = folder, db
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, die_after: str | None = None, timeout: float = 20) -> CountyProcess:
        self.port = _free_port()
        command = [sys.executable, "-m", "tests.sync.county_process", str(self.folder),
                   str(self.port)] + (["--die-after", die_after] if die_after else []) \
            + (["--db", self.db] if self.db else [])
        with open(self.folder / "server.log", "ab") as log:  # read it when a test fails
            self.proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("the county server process did not start")
            time.sleep(0.05)
        return self

    def kill(self) -> int | None:
        """SIGKILL (no shutdown of any kind) and reap; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(10)
        self.proc = None
        return code

    def wait_dead(self, timeout: float = 10) -> int:
        """Wait for a process that kills itself (``die_after``)."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self.kill()
        return code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    main()
