"""Where "now" comes from. Only the edges (CLI, UI) pick a clock; everything below is given one.

Each reading pairs the wall clock, which a user can set, with a monotonic clock, which they
cannot: an auditor comparing the two sees a clock that was moved.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from station_app.domain.clock import CST, to_cst
from station_app.domain.log import MonoReading


class Clock(Protocol):
    def now(self) -> datetime: ...

    def mono(self) -> MonoReading: ...


def _boot_id() -> str:
    """Linux names each boot; elsewhere a per-process id keeps readings comparable per run."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"proc-{uuid.uuid4().hex}"


class SystemClock:
    _boot = _boot_id()

    def now(self) -> datetime:
        return datetime.now(CST)

    def mono(self) -> MonoReading:
        return MonoReading(boot=self._boot, us=time.monotonic_ns() // 1000)


class ManualClock:
    """A clock that moves only when told to (tests, benchmarks and the demo's simulated days)."""

    def __init__(self, start: datetime) -> None:
        self._start = to_cst(start)
        self._now = self._start
        self._boot = f"manual-{uuid.uuid4().hex[:8]}"

    def now(self) -> datetime:
        return self._now

    def mono(self) -> MonoReading:
        return MonoReading(boot=self._boot,
                           us=(self._now - self._start) // timedelta(microseconds=1))

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        moment = to_cst(moment)
        if moment < self._now:
            raise ValueError("a manual clock only moves forward")
        self._now = moment
