"""Setting a station up in one step: station, holiday table, catalog and first administrator.

Everything happens inside the station's creation transaction, so a refused set-up (a bad
code, a short PIN) leaves no folder behind and can simply be retried.
"""

from __future__ import annotations

from pathlib import Path

from station_app.domain.users import Role, User, check_new_user
from station_app.errors import InvalidInput, StationError
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.catalog import read_catalog_file, record_catalog
from station_app.services.clock import Clock
from station_app.services.demo import SAMPLE_CATALOG
from station_app.services.station import Station, StationSetup, Transaction, create_station
from station_app.services.users import add_user


def set_up_station(
    folder: Path, setup: StationSetup, *, admin_name: str, admin_pin: str,
    pin_again: str | None = None, sample_catalog: bool = True, clock: Clock | None = None,
) -> tuple[Station, User]:
    try:
        check_new_user(admin_name, Role.ADMIN, admin_pin)
    except StationError as error:
        if error.field == "name":  # the administrator's name, not the station's ("name")
            error.field = "admin"
        raise
    if pin_again is not None and pin_again != admin_pin:
        raise InvalidInput(field="pin2", label="PIN 码", reason="两次输入不一致")
    raw = SAMPLE_CATALOG.read_bytes() if sample_catalog else b""
    made: list[User] = []

    def seed(tx: Transaction) -> None:
        seed_builtin_calendar(tx)
        if sample_catalog:
            record_catalog(tx, read_catalog_file(raw), raw)
        made.append(add_user(tx.station, name=admin_name, role=Role.ADMIN, pin=admin_pin,
                             tx=tx))

    station = create_station(folder, setup, clock=clock, actor="setup", seed=seed)
    return station, made[0]
