"""UI fixtures: the demo station built once per session and copied for every test, and an
``app`` (tests/ui/driver.py) that runs the real Flet app on that copy in-process.

The tests are ``async def`` functions wrapped by ``harness.ui_test``, which runs each one on
its own event loop with ``asyncio.run`` — no pytest plugin is needed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from station_app.domain.clock import CST
from station_app.services.demo import ensure_demo
from sync.county.keys import init_keys
from sync.county.service import County
from sync.county.store import CountyDb
from tests.sync.conftest import COUNTY_NAME, RunningServer, serve
from tests.ui.driver import App

DEMO_SEED = 20261
DEMO_CASES = 30


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-master") / "station"
    ensure_demo(folder, cases=DEMO_CASES, seed=DEMO_SEED)
    return folder


@pytest.fixture
def demo_folder(demo_master: Path, tmp_path: Path) -> Path:
    """A private copy of the demo station (building it is the slow part, so it is done once)."""
    folder = tmp_path / "station"
    shutil.copytree(demo_master, folder)
    return folder


def _run(folder: Path) -> Iterator[App]:
    running = App(folder)
    yield running
    crashes = running.crashes()
    running.close()
    assert not crashes, f"a handler escaped the error boundary:\n{crashes[0]}"


@pytest.fixture
def app(demo_folder: Path) -> Iterator[App]:
    """The app on a copy of the demo station; fails the test if any session crashed."""
    yield from _run(demo_folder)


@pytest.fixture
def first_run(tmp_path: Path) -> Iterator[App]:
    """The app on a data folder with no station yet."""
    yield from _run(tmp_path / "new-station")


@pytest.fixture
def county(tmp_path: Path) -> Iterator[County]:
    """A county on the real clock: the app's stations sync on it, and its receipts carry the
    time the status bar shows."""
    folder = tmp_path / "county"
    _, online = init_keys(folder, COUNTY_NAME, datetime.now(CST).isoformat())
    db = CountyDb(str(folder / "county.db"))
    yield County(db, online, lambda: datetime.now(CST))
    db.close()


@pytest.fixture
def county_server(county: County) -> Iterator[RunningServer]:
    running = serve(county)
    yield running
    running.stop()
