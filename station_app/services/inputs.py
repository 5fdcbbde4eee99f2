"""Checks shared by every service that takes a request from a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from station_app.domain.cases import ReceivedMaterial
from station_app.domain.clock import iso
from station_app.errors import InvalidInput, MissingField

# A claimed service time a little ahead of the PC clock is tolerated (clocks drift); more is
# a typo, and a wrong date would distort every deadline computed from it.
FUTURE_TOLERANCE = timedelta(minutes=10)


def service_time(at: datetime | None, now: datetime) -> datetime:
    """When it really happened: now, or an earlier moment if recorded afterwards (补录)."""
    if at is None:
        return now
    if at > now + FUTURE_TOLERANCE:
        raise InvalidInput(field="at", label="办理时间", reason=f"不能晚于当前时间 {iso(now)}")
    return at


def check_materials(materials: Sequence[ReceivedMaterial]) -> None:
    for m in materials:
        if not m.name.strip():
            raise MissingField(field="materials", label="材料名称")
        if m.originals < 0 or m.copies < 0:
            raise InvalidInput(field="materials", label="材料份数", reason="不能为负数")
