"""Time limits (办结时限) as GB/T 39046 states them: an amount and a unit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from station_app.errors import InvalidInput


class TimeUnit(StrEnum):
    """时限单位. Platform codes follow the provincial 电子监察 spec (1 工作日, 2 自然日, 3 小时)."""

    WORKING_DAYS = "WORKING_DAYS"
    CALENDAR_DAYS = "CALENDAR_DAYS"
    HOURS = "HOURS"

    @property
    def label(self) -> str:
        return _UNIT_LABELS[self]

    @property
    def platform_code(self) -> str:
        return _UNIT_CODES[self]

    @classmethod
    def parse(cls, value: str) -> TimeUnit:
        """Accept the enum name, the Chinese label or the platform code."""
        text = str(value).strip()
        for unit in cls:
            if text in (unit.value, unit.label, unit.platform_code):
                return unit
        raise InvalidInput(label="时限单位", reason=f"“{text}”应为 工作日、自然日 或 小时")


_UNIT_LABELS = {
    TimeUnit.WORKING_DAYS: "工作日",
    TimeUnit.CALENDAR_DAYS: "自然日",
    TimeUnit.HOURS: "小时",
}
_UNIT_CODES = {TimeUnit.WORKING_DAYS: "1", TimeUnit.CALENDAR_DAYS: "2", TimeUnit.HOURS: "3"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeLimit:
    """An amount of time in one unit; ``amount == 0`` means "on the spot" (即办)."""

    amount: int
    unit: TimeUnit = TimeUnit.WORKING_DAYS
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise InvalidInput(label="办结时限", reason="必须是不小于 0 的整数")

    @property
    def label(self) -> str:
        if self.amount == 0:
            return "当场办结"
        return f"{self.amount}个{self.unit.label}"
