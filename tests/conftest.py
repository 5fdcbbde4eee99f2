"""Shared fixtures: a real station in a temporary folder, on a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from station_app.domain.clock import CST
from station_app.domain.people import PersonDetails, validate_person
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup, create_station

SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "station_app" / "data" / \
    "sample_catalog.json"
TOWN = StationSetup(name="青石镇便民服务中心", code="330199101000", region="330199101000",
                    level="town")


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2025-09-29 09:00 in China: the week before the National Day holiday."""
    return ManualClock(datetime(2025, 9, 29, 9, 0, tzinfo=CST))


@pytest.fixture
def station(tmp_path: Path, clock: ManualClock) -> Iterator[Station]:
    st = create_station(tmp_path / "station", TOWN, clock=clock, actor="clerk-li",
                        seed=seed_builtin_calendar)
    import_catalog(st, SAMPLE_CATALOG.read_bytes())
    yield st
    st.close()


@pytest.fixture
def applicant() -> PersonDetails:
    return validate_person(name="张三丰", cert_no="11010519491231002X", phone="13812341234",
                           address="青石镇东坑村3组12号")
