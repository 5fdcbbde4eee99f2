"""Sync fixtures: a real county (keys, SQLite database, service) and its real HTTP server
on 127.0.0.1, and real stations enrolled with it.

The county's clock is a ``ManualClock`` the test can move; the station's too. The server
runs uvicorn in a thread of the test process, bound to a free loopback port, and is stopped
(bounded wait) when the test ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn

from station_app.domain.clock import CST
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup, create_station
from sync.client import HttpTransport
from sync.county.app import create_app
from sync.county.keys import init_keys
from sync.county.service import County
from sync.county.store import CountyDb
from sync.protocol import PackageLimits
from sync.station import enroll
from tests.conftest import SAMPLE_CATALOG
from tests.sync.pg import fresh_schema

# Packages of 256 entries: a test backlog of a few hundred entries then makes several, as a
# month does at the protocol's real limits (a station may always cut smaller packages).
SMALL = PackageLimits(leaves=256, raw_bytes=256 * 1024)
COUNTY_NAME = "county/330199"
TOWN_CODE = "330199101000"
VILLAGE_CODE = "330199101201"
VILLAGE = StationSetup(name="东坑村便民服务站", code=VILLAGE_CODE, region="330199101201",
                       level="village")
TOWN = StationSetup(name="青石镇便民服务中心", code=TOWN_CODE, region="330199101000",
                    level="town")


@pytest.fixture
def county_clock() -> ManualClock:
    return ManualClock(datetime(2025, 9, 29, 8, 0, tzinfo=CST))


@pytest.fixture(params=["sqlite", "postgresql"])
def county(request: pytest.FixtureRequest, tmp_path: Path, county_clock: ManualClock
           ) -> Iterator[County]:
    """The county, once on SQLite and once on PostgreSQL (a schema of its own): every
    test that takes it runs on both backends."""
    folder = tmp_path / "county"
    _, online = init_keys(folder, COUNTY_NAME, county_clock.now().isoformat())
    with ExitStack() as stack:
        url = str(folder / "county.db") if request.param == "sqlite" \
            else stack.enter_context(fresh_schema())
        db = CountyDb(url)
        stack.callback(db.close)
        yield County(db, online, county_clock.now)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(county: County, *, port: int | None = None, timeout: float = 10) -> RunningServer:
    """Start the county API on 127.0.0.1 in a thread; returns once it listens. ``port``
    brings a stopped server back where the stations know it (default: a free port)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(county), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the county server did not start")
        time.sleep(0.02)
    return RunningServer(f"http://127.0.0.1:{port}", server, thread)


@pytest.fixture
def county_server(county: County) -> Iterator[RunningServer]:
    running = serve(county)
    yield running
    running.stop()


def make_station(folder: Path, setup: StationSetup, clock: ManualClock) -> Station:
    st = create_station(folder, setup, clock=clock, actor="clerk-li", seed=seed_builtin_calendar)
    import_catalog(st, SAMPLE_CATALOG.read_bytes())
    return st


def enroll_station(st: Station, county: County, url: str) -> None:
    ticket = county.new_ticket(st.info.code)
    with HttpTransport(url) as transport:
        enroll(st, transport, ticket.code)


@pytest.fixture
def village(tmp_path: Path, clock: ManualClock, county: County,
            county_server: RunningServer) -> Iterator[Station]:
    """A village station, enrolled with the running county server."""
    st = make_station(tmp_path / "village", VILLAGE, clock)
    enroll_station(st, county, county_server.url)
    yield st
    st.close()


@pytest.fixture
def transport(county_server: RunningServer) -> Iterator[HttpTransport]:
    with HttpTransport(county_server.url) as t:
        yield t
