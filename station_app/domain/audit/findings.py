"""Audit findings: what the county's checks found about one station, as plain data.

A finding names the station, a stable code (``NUMBER_GAP``, ``BACKDATED`` …) that scripts,
exports and the dashboard key on, a severity, the log entries and case/proxy numbers it is
about, a Chinese message for people and its evidence. Evidence is plain JSON data holding
only strings, integers, booleans, lists and dicts (times as ISO text, durations as whole
seconds or minutes), so a finding can be written as canonical JSON and stored or signed.

Red means something an honest station cannot produce (a number missing from the sequence, a
clock set back); amber means a pattern somebody should look at (补录, a long sync lag).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    RED = "RED"
    AMBER = "AMBER"

    @property
    def label(self) -> str:
        return {"RED": "红色（需核查）", "AMBER": "黄色（需关注）"}[self.value]


class FindingCode(StrEnum):
    """Every code a check can report, with its Chinese name and default severity."""

    LOG_GAP = "LOG_GAP"
    NUMBER_GAP = "NUMBER_GAP"
    DUPLICATE_NUMBER = "DUPLICATE_NUMBER"
    FOREIGN_NUMBER = "FOREIGN_NUMBER"
    BAD_TIMESTAMP = "BAD_TIMESTAMP"
    BEACON_INVALID = "BEACON_INVALID"
    BACKDATED = "BACKDATED"
    POSTDATED = "POSTDATED"
    CLOCK_BACKWARDS = "CLOCK_BACKWARDS"
    MONO_BACKWARDS = "MONO_BACKWARDS"
    BATCH_ENTRY = "BATCH_ENTRY"
    LATE_ENTRY = "LATE_ENTRY"
    SYNC_LAG = "SYNC_LAG"
    NO_RECENT_SYNC = "NO_RECENT_SYNC"
    CLOCK_SKEW = "CLOCK_SKEW"
    LOG_INVALID = "LOG_INVALID"
    HISTORY_REWRITTEN = "HISTORY_REWRITTEN"
    QUARANTINED = "QUARANTINED"
    MALFORMED_ENTRY = "MALFORMED_ENTRY"
    SEVEN_HAVES_MISSING = "SEVEN_HAVES_MISSING"
    SEVEN_HAVES_PHOTO_MISSING = "SEVEN_HAVES_PHOTO_MISSING"
    SEVEN_HAVES_NOT_MET = "SEVEN_HAVES_NOT_MET"
    BAD_REVIEW_OVERDUE = "BAD_REVIEW_OVERDUE"
    RECOVERED_AFTER_LOSS = "RECOVERED_AFTER_LOSS"
    RECTIFICATION_UNDELIVERED = "RECTIFICATION_UNDELIVERED"
    RECTIFICATION_OVERDUE = "RECTIFICATION_OVERDUE"
    RECTIFICATION_DISPUTED = "RECTIFICATION_DISPUTED"

    @property
    def label(self) -> str:
        return _CODES[self][0]

    @property
    def severity(self) -> Severity:
        return _CODES[self][1]


_R, _A = Severity.RED, Severity.AMBER
_CODES: Mapping[FindingCode, tuple[str, Severity]] = {
    FindingCode.LOG_GAP: ("账本序号不连续", _R),
    FindingCode.NUMBER_GAP: ("编号缺号", _R),
    FindingCode.DUPLICATE_NUMBER: ("编号重复", _R),
    FindingCode.FOREIGN_NUMBER: ("编号不属于本站", _R),
    FindingCode.BAD_TIMESTAMP: ("时间格式无效", _R),
    FindingCode.BEACON_INVALID: ("县级回执标记无效", _R),
    FindingCode.BACKDATED: ("录入时间早于已收到的县级回执（倒签）", _R),
    FindingCode.POSTDATED: ("录入时间晚于县级确认时间", _R),
    FindingCode.CLOCK_BACKWARDS: ("系统时间被往回调", _R),
    FindingCode.MONO_BACKWARDS: ("单调时钟倒退", _R),
    FindingCode.BATCH_ENTRY: ("集中突击录入（疑似体外循环）", _R),
    FindingCode.LATE_ENTRY: ("补录", _A),
    FindingCode.SYNC_LAG: ("录入后迟迟未同步", _A),
    FindingCode.NO_RECENT_SYNC: ("长期未同步", _A),
    FindingCode.CLOCK_SKEW: ("站点时钟偏差过大", _A),
    FindingCode.LOG_INVALID: ("账本校验不通过", _R),
    FindingCode.HISTORY_REWRITTEN: ("已确认的记录被改写或删除", _R),
    FindingCode.QUARANTINED: ("吊销后仍有上传（已隔离待核）", _R),
    FindingCode.MALFORMED_ENTRY: ("记录内容无法解读", _R),
    FindingCode.SEVEN_HAVES_MISSING: ("当月未做七有自查", _A),
    FindingCode.SEVEN_HAVES_PHOTO_MISSING: ("七有自查照片缺失或与哈希不符", _R),
    FindingCode.SEVEN_HAVES_NOT_MET: ("七有自查有未达标项", _A),
    FindingCode.BAD_REVIEW_OVERDUE: ("差评整改超期", _A),
    FindingCode.RECOVERED_AFTER_LOSS: ("原电脑丢失后由新电脑接续（有无法恢复的时段）", _A),
    FindingCode.RECTIFICATION_UNDELIVERED: ("县级通知尚未送达站点", _A),
    FindingCode.RECTIFICATION_OVERDUE: ("整改通知超期未整改", _A),
    FindingCode.RECTIFICATION_DISPUTED: ("站点对整改通知有异议", _A),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing a check found. ``entries`` are log indices, ``numbers`` 办件编号/代办序号.

    Not hashable (``evidence`` is a dict); compare findings with ``==`` or by ``code``.
    """

    station: str
    code: FindingCode
    severity: Severity
    message: str
    entries: tuple[int, ...] = ()
    numbers: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.code.label

    def to_dict(self) -> dict[str, Any]:
        """Plain data (canonical-JSON safe: no floats anywhere)."""
        return {"station": self.station, "code": self.code.value,
                "severity": self.severity.value, "label": self.code.label,
                "message": self.message, "entries": list(self.entries),
                "numbers": list(self.numbers), "evidence": dict(self.evidence)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The finding ``to_dict`` gave (its ``label`` is the code's, so not read back)."""
        return cls(station=str(data["station"]), code=FindingCode(data["code"]),
                   severity=Severity(data["severity"]), message=str(data["message"]),
                   entries=tuple(int(i) for i in data.get("entries", ())),
                   numbers=tuple(str(n) for n in data.get("numbers", ())),
                   evidence=dict(data.get("evidence") or {}))


def findings_to_json(findings: Iterable[Finding]) -> str:
    """Findings as JSON text (a list of ``to_dict``), e.g. to keep an audit's result."""
    return json.dumps([f.to_dict() for f in findings], ensure_ascii=False, sort_keys=True)


def findings_from_json(text: str) -> tuple[Finding, ...]:
    return tuple(Finding.from_dict(d) for d in json.loads(text))


def finding(station: str, code: FindingCode, message: str, *, entries: Iterable[int] = (),
            numbers: Iterable[str] = (), evidence: Mapping[str, Any] | None = None,
            severity: Severity | None = None) -> Finding:
    """A finding with the code's default severity; numbers deduplicated in first-seen order."""
    return Finding(station=station, code=code, severity=severity or code.severity,
                   message=message, entries=tuple(entries),
                   numbers=tuple(dict.fromkeys(n for n in numbers if n)),
                   evidence=dict(evidence or {}))


def station_status(findings: Iterable[Finding]) -> str:
    """The dashboard colour: ``red`` if any red finding, ``amber`` if any, else ``green``."""
    severities = {f.severity for f in findings}
    if Severity.RED in severities:
        return "red"
    return "amber" if severities else "green"


def flagged_numbers(findings: Iterable[Finding]) -> frozenset[str]:
    """Every case or proxy number some finding is about (used to weight spot checks)."""
    return frozenset(n for f in findings for n in f.numbers)
