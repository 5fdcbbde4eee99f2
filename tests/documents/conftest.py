"""Fixtures for the documents tests: a second station, and a demo station built once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_app.services.calendar import seed_builtin_calendar
from station_app.services.clock import ManualClock
from station_app.services.demo import ensure_demo
from station_app.services.station import Station, StationSetup, create_station

VILLAGE = StationSetup(name="东坑村便民服务站", code="330199101201", region="330199101201",
                       level="village")
DEMO_SEED = 20250929


@pytest.fixture
def other_station(tmp_path: Path, clock: ManualClock) -> Iterator[Station]:
    """A different station (its own code and key) on the same clock."""
    st = create_station(tmp_path / "other", VILLAGE, clock=clock, actor="agent-wang",
                        seed=seed_builtin_calendar)
    yield st
    st.close()


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo station with 40 simulated cases (and their proxy entries), built once."""
    folder = tmp_path_factory.mktemp("documents-demo") / "station"
    ensure_demo(folder, cases=40, seed=DEMO_SEED)
    return folder


@pytest.fixture
def demo(demo_folder: Path, tmp_path: Path) -> Iterator[Station]:
    """A private copy of the demo station, opened by clerk 李 (on the real clock)."""
    st = Station.open(shutil.copytree(demo_folder, tmp_path / "demo"), actor="clerk-li")
    yield st
    st.close()
