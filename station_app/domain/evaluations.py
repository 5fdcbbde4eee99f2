"""好差评: how satisfied the applicant was, one evaluation per finished matter (一事一评).

The five levels are stored by name. GB/T 39046 A.8 numbers them 1 (非常满意) … 5, the national
好差评 interface 5 (非常满意) … 1: the opposite way round, so a bare number is never stored and
each export converts explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from station_app.domain.clock import iso
from station_app.errors import InvalidInput, MissingField, RuleViolation


class Level(StrEnum):
    VERY_SATISFIED = "VERY_SATISFIED"
    SATISFIED = "SATISFIED"
    BASIC = "BASIC"
    DISSATISFIED = "DISSATISFIED"
    VERY_DISSATISFIED = "VERY_DISSATISFIED"

    @property
    def label(self) -> str:
        return _LEVELS[self][0]

    @property
    def gbt_code(self) -> str:
        """GB/T 39046 A.8 满意度代码 (1 = 非常满意)."""
        return _LEVELS[self][1]

    @property
    def platform_score(self) -> int:
        """National 好差评 interface ``satisfaction`` (5 = 非常满意)."""
        return 6 - int(self.gbt_code)

    @property
    def is_bad(self) -> bool:
        """差评: 不满意 and 非常不满意."""
        return self in (Level.DISSATISFIED, Level.VERY_DISSATISFIED)


_LEVELS = {
    Level.VERY_SATISFIED: ("非常满意", "1"), Level.SATISFIED: ("满意", "2"),
    Level.BASIC: ("基本满意", "3"), Level.DISSATISFIED: ("不满意", "4"),
    Level.VERY_DISSATISFIED: ("非常不满意", "5"),
}


class Channel(StrEnum):
    """评价渠道 (GB/T 39046 表9 and the interface's ``pf`` codes 1–7; codes 8 and 9 are local
    additions for an offline station: a paper form, and the agent's or clerk's return visit).
    A province numbering them otherwise (Zhejiang: 6 短信) maps them on export."""

    WINDOW_DEVICE = "WINDOW_DEVICE"
    QR = "QR"
    PHONE = "PHONE"
    SMS = "SMS"
    PAPER = "PAPER"
    AGENT_VISIT = "AGENT_VISIT"
    PC = "PC"
    MOBILE = "MOBILE"
    KIOSK = "KIOSK"

    @property
    def label(self) -> str:
        return _CHANNELS[self][0]

    @property
    def platform_code(self) -> str:
        return _CHANNELS[self][1]


_CHANNELS = {
    Channel.WINDOW_DEVICE: ("窗口评价器", "4"), Channel.QR: ("二维码", "3"),
    Channel.PHONE: ("电话", "6"), Channel.SMS: ("短信", "7"), Channel.PAPER: ("纸质评价表", "8"),
    Channel.AGENT_VISIT: ("代办员回访", "9"), Channel.PC: ("PC端", "1"),
    Channel.MOBILE: ("移动端", "2"), Channel.KIOSK: ("自助终端", "5"),
}
OTHER_REASON = "其他"


def parse_level(text: str) -> Level:
    for level in Level:
        if text.strip() in (level.value, level.label):
            return level
    raise InvalidInput(field="level", label="满意度",
                       reason="应为 非常满意、满意、基本满意、不满意 或 非常不满意")


def parse_channel(text: str) -> Channel:
    for channel in Channel:
        if text.strip() in (channel.value, channel.label):
            return channel
    raise InvalidInput(field="channel", label="评价渠道",
                       reason="可选：" + "、".join(c.label for c in Channel))


def evaluation_body(
    *, subject: str, subject_kind: str, level: Level, channel: Channel, at: datetime,
    earlier: int, reasons: Sequence[str] = (), comment: str = "", followup: bool = False,
) -> dict[str, Any]:
    """The body of an ``evaluation.recorded`` entry; ``earlier`` counts prior evaluations."""
    clean = [r.strip() for r in reasons if r.strip()]
    text = (comment or "").strip()
    if level.is_bad and not (clean or text):
        raise MissingField(field="comment", label="差评的原因或文字说明")
    if OTHER_REASON in clean and not text:
        raise MissingField(field="comment", label="“其他”原因的文字说明")
    if len(text) > 500:
        raise InvalidInput(field="comment", label="文字评价", reason="不能超过500个字")
    if followup and earlier == 0:
        raise RuleViolation(field="followup", reason="还没有首次评价，不能追评")
    if not followup and earlier > 0:
        raise RuleViolation(field="followup", reason="该事项已经有首次评价，再次评价请选择追评")
    return {"subject": subject, "subject_kind": subject_kind, "level": level.value,
            "channel": channel.value, "reasons": clean, "comment": text,
            "assess_number": earlier + 1, "at": iso(at)}
