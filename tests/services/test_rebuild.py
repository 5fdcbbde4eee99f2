"""Every table but the log is a projection: rebuilding it from the log changes nothing."""

from __future__ import annotations

from pathlib import Path

from station_app.services.demo import ensure_demo
from station_app.services.station import Station
from station_app.store.schema import PROJECTION_TABLES


def projection_dump(station: Station) -> dict[str, list[tuple]]:
    dump = {}
    for table in PROJECTION_TABLES:
        columns = [r[1] for r in station.db.execute(f"PRAGMA table_info({table})")]
        dump[table] = station.db.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(columns)}").fetchall()
    return dump


def test_rebuilding_the_demo_station_reproduces_every_table(tmp_path: Path):
    ensure_demo(tmp_path / "demo", cases=40, seed=7)
    with Station.open(tmp_path / "demo") as station:
        before = projection_dump(station)
        assert len(before["cases"]) == 40
        replayed = station.rebuild()
        assert replayed == station.ledger.size()
        assert projection_dump(station) == before


def test_a_rebuild_from_emptied_tables_restores_them(tmp_path: Path):
    ensure_demo(tmp_path / "demo", cases=10, seed=3)
    with Station.open(tmp_path / "demo") as station:
        before = projection_dump(station)
        for table in PROJECTION_TABLES:
            station.db.execute(f"DELETE FROM {table}")
        station.projector.rebuild(station.entries())
        assert projection_dump(station) == before
