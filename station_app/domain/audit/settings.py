"""The county's audit thresholds: settings, not constants.

Every threshold is a whole number in the unit its name says. A county settings file gives
some or all of them as a plain dict (``{"late_entry_hours": 48}``); ``parse_thresholds``
fills the rest with the defaults below and refuses an unknown key, a non-integer or a value
out of range with ``InvalidInput`` naming the setting, so a typo never silently leaves a
default in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from station_app.errors import InvalidInput

# name → (Chinese label, smallest allowed, largest allowed)
_LIMITS: Mapping[str, tuple[str, int, int]] = {
    "late_entry_hours": ("补录判定时长（小时）", 1, 24 * 90),
    "burst_min_entries": ("集中录入最少条数", 2, 10_000),
    "burst_window_minutes": ("集中录入时间窗（分钟）", 1, 24 * 60),
    "burst_span_days": ("集中录入业务日期跨度（天）", 1, 366),
    "max_sync_lag_days": ("最长同步间隔（天）", 1, 366),
    "max_clock_skew_minutes": ("允许时钟偏差（分钟）", 1, 24 * 60),
    "clock_backwards_seconds": ("允许时钟回拨（秒）", 1, 24 * 3600),
    "spot_cases_green": ("抽查件数：正常站点", 0, 1000),
    "spot_cases_amber": ("抽查件数：黄色站点", 0, 1000),
    "spot_cases_red": ("抽查件数：红色站点", 0, 1000),
    "spot_flagged_case_weight": ("被标记办件的抽中权重", 1, 100),
    "rectify_working_days": ("整改期限（工作日）", 1, 60),
    "rag_on_time_red_pct": ("按时办结率低于此值为红色（%）", 0, 100),
    "rag_on_time_amber_pct": ("按时办结率低于此值为黄色（%）", 0, 100),
    "rag_satisfaction_red_pct": ("群众满意率低于此值为红色（%）", 0, 100),
    "rag_satisfaction_amber_pct": ("群众满意率低于此值为黄色（%）", 0, 100),
    "rag_overdue_red": ("当前超期办件达到此数为红色", 1, 10_000),
    "rag_overdue_amber": ("当前超期办件达到此数为黄色", 1, 10_000),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditThresholds:
    """Defaults suit a station that records as it serves (即办即录) and syncs most days.

    late_entry_hours: service time (``body.at``) more than this before the entry was written
        makes the entry a 补录. 24 h lets "yesterday's last case, entered this morning" pass.
    burst_*: at least ``burst_min_entries`` case/proxy entries written within
        ``burst_window_minutes`` whose service times lie more than ``late_entry_hours`` from
        when they were written and span at least ``burst_span_days`` days: 体外循环 entered
        in one sitting.
    max_sync_lag_days: an entry first acknowledged by the county (or still unacknowledged at
        "now") more than this many days after it was made.
    max_clock_skew_minutes: station clock against county clock at a checkpoint; also the
        slack allowed around an entry's creation window.
    clock_backwards_seconds: how far the wall clock may step back against the monotonic
        clock between two entries (NTP corrections) before it counts as set back.
    spot_*: cases drawn per station and month by status, and the weight of a flagged case.
    rectify_working_days: the deadline of a 整改通知 (a failed inspection or spot-check
        item), in working days on the county's calendar after the day it is issued.
    rag_*: the dashboard's red/amber/green bands (``station_app.domain.audit.rag``): a rate
        below ``*_red_pct`` is red, below ``*_amber_pct`` amber; open overdue cases at or
        above ``rag_overdue_red`` are red, at or above ``rag_overdue_amber`` amber.
    """

    late_entry_hours: int = 24
    burst_min_entries: int = 10
    burst_window_minutes: int = 60
    burst_span_days: int = 7
    max_sync_lag_days: int = 7
    max_clock_skew_minutes: int = 10
    clock_backwards_seconds: int = 120
    spot_cases_green: int = 2
    spot_cases_amber: int = 4
    spot_cases_red: int = 6
    spot_flagged_case_weight: int = 5
    rectify_working_days: int = 10
    rag_on_time_red_pct: int = 80
    rag_on_time_amber_pct: int = 95
    rag_satisfaction_red_pct: int = 80
    rag_satisfaction_amber_pct: int = 90
    rag_overdue_red: int = 3
    rag_overdue_amber: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name))
        if not self.spot_cases_green <= self.spot_cases_amber <= self.spot_cases_red:
            raise InvalidInput(field="spot_cases_amber", label="抽查件数",
                               reason="应满足 正常站点 ≤ 黄色站点 ≤ 红色站点")
        for red, amber in (("rag_on_time_red_pct", "rag_on_time_amber_pct"),
                           ("rag_satisfaction_red_pct", "rag_satisfaction_amber_pct")):
            if getattr(self, red) > getattr(self, amber):
                raise InvalidInput(field=red, label=_LIMITS[red][0],
                                   reason="红色线不能高于黄色线")
        if self.rag_overdue_amber > self.rag_overdue_red:
            raise InvalidInput(field="rag_overdue_amber", label="当前超期办件达到此数为黄色",
                               reason="黄色线不能高于红色线")

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _check(name: str, value: Any) -> None:
    label, low, high = _LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field=name, label=label, reason=f"应为整数，实为“{value}”")
    if not low <= value <= high:
        raise InvalidInput(field=name, label=label, reason=f"应在 {low}–{high} 之间，实为 {value}")


def threshold_labels() -> dict[str, str]:
    """Setting name → Chinese label, in declaration order (for settings screens and docs)."""
    return {name: label for name, (label, _, _) in _LIMITS.items()}


def parse_thresholds(raw: Mapping[str, Any] | None) -> AuditThresholds:
    """Thresholds from a county settings dict; missing keys take the defaults."""
    if raw is None:
        return AuditThresholds()
    if not isinstance(raw, Mapping):
        raise InvalidInput(field="audit", label="审计阈值设置", reason="应为“名称 = 整数”的键值表")
    unknown = sorted(str(k) for k in raw if k not in _LIMITS)
    if unknown:
        known = "、".join(_LIMITS)
        raise InvalidInput(field=unknown[0], label="审计阈值设置",
                           reason=f"未知设置项“{'、'.join(unknown)}”，可用：{known}")
    return AuditThresholds(**dict(raw))
