"""County inspections, spot-check results and 整改通知 (issue 6 items 4–5, issue 7 item 3).

The county records what an inspector found — a 七有 inspection of a station, or the
checklist of a case drawn for the monthly 调阅 — as a *notice* sent down to the station
(relay kind ``rectification``). Every item is ``ok`` or not; a notice with a failed item is
a rectification request (整改通知) with a deadline counted in working days on the county's
holiday calendar (the start day not counted, like every deadline here). A notice without a
failed item only tells the station the result.

The station logs what it received and how it answered, so the county can prove each step
from the synced log alone:

* ``county.notice_received`` — the notice as received (delivery);
* ``rectification.done`` — what was done, with optional ``evidence.photo`` hashes;
* ``rectification.disputed`` — the station contests the finding, with a reason;
* ``county.notice_decided`` — the county's decision on a dispute as received: withdrawn
  (the notice is closed) or upheld (open again, with a new deadline).

``notice_oversight`` is the county's check of its own notices against a station's log: not
delivered yet, overdue (deadline passed without ``rectification.done``), or disputed.
Pure: notices, entries and "now" are passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from station_app.domain import seven
from station_app.domain.audit.findings import Finding, FindingCode, finding
from station_app.domain.audit.spotcheck import CHECKLIST, ChecklistAnswer
from station_app.domain.calendar import HolidayCalendar, working_days_after
from station_app.domain.clock import local_day, parse_day
from station_app.domain.log import LogEntry
from station_app.errors import InvalidInput, MissingField, RuleViolation

RECEIVED = "county.notice_received"
DONE = "rectification.done"
DISPUTED = "rectification.disputed"
ANSWER_KINDS = frozenset({DONE, DISPUTED})
DECIDED = "county.notice_decided"
UPHELD, WITHDRAWN = "upheld", "withdrawn"  # the county's decision on a dispute
MAX_NOTE = 500
MAX_PHOTOS = 6
NOTICE_NUMBER = re.compile(r"^ZG\d{8}\d{3,}$")  # ZG + issue day + a county-wide sequence
_OK = {"ok": True, "合格": True, "达标": True, "pass": True,
       "fail": False, "missing": False, "不合格": False, "不达标": False, "缺失": False}


class Source(StrEnum):
    INSPECTION = "inspection"  # 七有检查: the county visited the station
    SPOTCHECK = "spotcheck"  # 调阅: one drawn case's checklist

    @property
    def label(self) -> str:
        return {"inspection": "七有检查", "spotcheck": "调阅抽查"}[self.value]


class NoticeState(StrEnum):
    OPEN = "open"  # 待整改
    DONE = "done"  # 已整改
    DISPUTED = "disputed"  # 有异议
    INFO = "info"  # nothing to rectify: the result only
    WITHDRAWN = "withdrawn"  # 已撤销: the county withdrew it after a dispute

    @property
    def label(self) -> str:
        return {"open": "待整改", "done": "已整改", "disputed": "有异议",
                "info": "结果告知", "withdrawn": "已撤销"}[self.value]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResult:
    item: str  # 七有 item name (有场所 …) or checklist code (materials_archived …)
    label: str
    ok: bool
    note: str = ""

    def to_body(self) -> dict[str, Any]:
        return {"item": self.item, "label": self.label, "ok": self.ok, "note": self.note}


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A notice as the county issued it (and as the station received it)."""

    notice: str  # ZG20251009001
    station: str
    source: Source
    subject: str  # the inspection day, or ``month/case_no`` for a spot check
    day: date  # when the inspector looked
    results: tuple[ItemResult, ...]
    deadline: date | None  # None: nothing failed, nothing to rectify
    note: str
    inspector: str
    issued: str  # county time, ISO

    @property
    def failed(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def payload(self) -> dict[str, Any]:
        """The relayed payload (``sync.relay.PAYLOAD_FIELDS["rectification"]``)."""
        return {"notice": self.notice, "source": self.source.value, "subject": self.subject,
                "day": self.day.isoformat(), "issued": self.issued,
                "results": [r.to_body() for r in self.results],
                "deadline": self.deadline.isoformat() if self.deadline else "",
                "note": self.note, "inspector": self.inspector}

    def to_dict(self) -> dict[str, Any]:
        return {**self.payload(), "station": self.station, "deadline": _day_or_none(
            self.deadline), "failed": [r.item for r in self.failed]}


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The county's decision on a disputed 整改通知 (relay kind ``rectification-decision``)."""

    notice: str
    decision: str  # UPHELD or WITHDRAWN
    note: str
    deadline: date | None  # the new deadline when upheld
    decided: str  # county time, ISO

    @property
    def upheld(self) -> bool:
        return self.decision == UPHELD

    @property
    def label(self) -> str:
        return "维持整改" if self.upheld else "撤销通知"

    def payload(self) -> dict[str, Any]:
        """The relayed payload (``sync.relay.PAYLOAD_FIELDS["rectification-decision"]``)."""
        return {"notice": self.notice, "decision": self.decision, "note": self.note,
                "deadline": self.deadline.isoformat() if self.deadline else "",
                "decided": self.decided}

    def to_dict(self) -> dict[str, Any]:
        return {**self.payload(), "deadline": _day_or_none(self.deadline),
                "label": self.label}


def decision_from_payload(payload: Mapping[str, Any]) -> Decision:
    """A received (or stored) decision, checked field by field; raises InvalidInput."""
    try:
        number, kind = str(payload["notice"]), str(payload["decision"])
        if not NOTICE_NUMBER.match(number) or kind not in (UPHELD, WITHDRAWN):
            raise InvalidInput(label="县级复核决定", reason=f"{number[:40]} {kind[:20]}")
        deadline = parse_day(payload["deadline"], "整改期限") if payload["deadline"] else None
        if (deadline is None) == (kind == UPHELD):
            raise InvalidInput(label="整改期限", reason="与复核决定不符")
        return Decision(notice=number, decision=kind, note=check_note(payload["note"]),
                        deadline=deadline, decided=_short(payload["decided"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(label="县级复核决定", reason=str(exc)[:80]) from None


# ------------------------------------------------------------------- county: recording


def parse_ok(text: str, label: str) -> bool:
    found = _OK.get((text or "").strip().lower()) if text else None
    if found is None:
        found = _OK.get((text or "").strip())
    if found is None:
        raise InvalidInput(field="item", label=label,
                           reason=f"结果“{text}”应为 ok（合格）或 fail / missing（不合格）")
    return found


def check_note(text: str, label: str = "说明") -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(field="note", label=label, reason=f"最多 {MAX_NOTE} 字")
    if any(not ch.isprintable() and ch not in "\n" for ch in text):
        raise InvalidInput(field="note", label=label, reason="含有不可打印的字符")
    return text


def inspection_results(given: Mapping[str, str], notes: Mapping[str, str] | None = None
                       ) -> tuple[ItemResult, ...]:
    """A 七有 inspection's results, items by name or code (有场所 / SITE), in the items'
    order. At least one item; an item given twice or unknown is refused."""
    if not given:
        raise MissingField(field="item", label="检查项目（--item 项目=ok|fail）")
    parsed: dict[str, bool] = {}
    for key, value in given.items():
        name = seven.parse_item(key).name
        if name in parsed:
            raise InvalidInput(field="item", label="检查项目", reason=f"“{name}”填了两次")
        parsed[name] = parse_ok(value, f"检查项目“{name}”")
    note_of = {seven.parse_item(k).name: check_note(v, "项目说明")
               for k, v in (notes or {}).items()}
    unknown = set(note_of) - set(parsed)
    if unknown:
        raise InvalidInput(field="item", label="项目说明",
                           reason=f"“{'、'.join(sorted(unknown))}”没有检查结果")
    return tuple(ItemResult(item=n, label=n, ok=parsed[n], note=note_of.get(n, ""))
                 for n in seven.ITEM_NAMES if n in parsed)


def spotcheck_results(prefilled: Sequence[ChecklistAnswer], given: Mapping[str, str],
                      notes: Mapping[str, str] | None = None) -> tuple[ItemResult, ...]:
    """A drawn case's checklist: what the records answered (``prefill_checklist``), with the
    auditor's word where given. The auditor must answer every item the records cannot
    (``system`` None: at least ``materials_archived``, 申请材料已归档, a paper matter), except
    an evaluation not due yet; an answer given overrides the records' one."""
    codes = {i.code for i in CHECKLIST}
    parsed: dict[str, bool] = {}
    for key, value in given.items():
        code = key.strip()
        if code not in codes:
            raise InvalidInput(field="item", label="调阅核查项目",
                               reason=f"没有“{key}”，应为 {'、'.join(sorted(codes))} 之一")
        parsed[code] = parse_ok(value, f"调阅核查项目“{code}”")
    note_of = {k.strip(): check_note(v, "项目说明") for k, v in (notes or {}).items()}
    out = []
    for answer in prefilled:
        ok = parsed.get(answer.code, answer.system)
        if ok is None and answer.code != "evaluation_present":
            raise MissingField(field="item", label=f"{answer.label}（--item {answer.code}="
                                                   "ok|missing，须人工核对）")
        out.append(ItemResult(item=answer.code, label=answer.label,
                              ok=True if ok is None else ok,
                              note=note_of.get(answer.code) or answer.detail))
    return tuple(out)


def rectification_deadline(day: date, working_days: int, cal: HolidayCalendar
                           ) -> tuple[date, bool]:
    """The ``working_days``-th working day after ``day`` (the issue day is not counted), and
    whether a year the calendar does not know made it an estimate."""
    return working_days_after(day, working_days, cal)


def notice_number(day: date, seq: int) -> str:
    return f"ZG{day:%Y%m%d}{seq:03d}"


def notice_from_record(row: Sequence[Any]) -> Notice:
    """A notice from the county's stored row (``sync.county.store.Tx.notices``)."""
    number, station, source, subject, day, results, deadline, note, inspector, issued, _ = row
    return Notice(notice=number, station=station, source=Source(source), subject=subject,
                  day=date.fromisoformat(day),
                  results=tuple(ItemResult(**r) for r in json.loads(results)),
                  deadline=date.fromisoformat(deadline) if deadline else None, note=note,
                  inspector=inspector, issued=issued)


def decisions_from_records(rows: Iterable[Sequence[Any]]) -> dict[str, Decision]:
    """The latest decision per notice from the county's stored rows, oldest first
    (``sync.county.store.Tx.decisions``)."""
    return {n: Decision(notice=n, decision=d, note=note,
                        deadline=date.fromisoformat(due) if due else None, decided=at)
            for n, d, note, due, at in rows}


# ------------------------------------------------------------- station: what it received


def notice_from_payload(payload: Mapping[str, Any], station: str) -> Notice:
    """A received payload, checked field by field; raises InvalidInput."""
    try:
        number = str(payload["notice"])
        if not NOTICE_NUMBER.match(number):
            raise InvalidInput(label="通知编号", reason=number[:40])
        results = tuple(_result(r) for r in payload["results"])
        if not results:
            raise InvalidInput(label="检查结果", reason="为空")
        deadline = parse_day(payload["deadline"], "整改期限") if payload["deadline"] else None
        if (deadline is None) != all(r.ok for r in results):
            raise InvalidInput(label="整改期限", reason="与检查结果不符")
        return Notice(notice=number, station=station, source=Source(payload["source"]),
                      subject=_short(payload["subject"]), day=parse_day(payload["day"]),
                      results=results, deadline=deadline, note=check_note(payload["note"]),
                      inspector=_short(payload["inspector"]), issued=_short(payload["issued"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(label="县级通知", reason=str(exc)[:80]) from None


def _result(raw: Any) -> ItemResult:
    if not isinstance(raw, dict) or set(raw) != {"item", "label", "ok", "note"} \
            or not isinstance(raw["ok"], bool):
        raise InvalidInput(label="检查结果", reason="格式不对")
    return ItemResult(item=_short(raw["item"]), label=_short(raw["label"]), ok=raw["ok"],
                      note=check_note(raw["note"]))


def _short(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 100:
        raise InvalidInput(label="县级通知", reason="字段应为短文本")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedNotice:
    """A notice at the station: what came, and how the station answered it."""

    notice: Notice
    received_idx: int
    received_at: str
    state: NoticeState
    answer_idx: int | None = None
    answered_at: str | None = None
    answered_by: str = ""
    answer_note: str = ""
    photos: tuple[str, ...] = ()
    decision: Decision | None = None  # the county's latest decision on a dispute
    decided_idx: int | None = None

    @property
    def number(self) -> str:
        return self.notice.notice

    def overdue(self, today: date) -> bool:
        deadline = self.notice.deadline
        return self.state is NoticeState.OPEN and deadline is not None and today > deadline


def received_body(notice: Notice, source: Mapping[str, Any]) -> dict[str, Any]:
    """The ``county.notice_received`` entry: the notice as received, and where from."""
    return {**notice.payload(), **source}


def received_from_entry(body: Mapping[str, Any], idx: int, station: str, at: str
                        ) -> ReceivedNotice:
    notice = notice_from_payload({k: body[k] for k in (
        "notice", "source", "subject", "day", "issued", "results", "deadline", "note",
        "inspector")}, station)
    state = NoticeState.OPEN if notice.failed else NoticeState.INFO
    return ReceivedNotice(notice=notice, received_idx=idx, received_at=at, state=state)


def answer_body(received: ReceivedNotice, *, kind: str, note: str, by: str,
                photos: Sequence[str] = ()) -> dict[str, Any]:
    """The station's answer; refused for a notice that needs none or was answered."""
    if received.state is NoticeState.INFO:
        raise RuleViolation(reason=f"通知 {received.number} 没有需要整改的项目，无需答复")
    if received.state is NoticeState.WITHDRAWN:
        raise RuleViolation(reason=f"通知 {received.number} 已由县级撤销，无需答复")
    if received.state is not NoticeState.OPEN:
        raise RuleViolation(reason=f"通知 {received.number} 已答复（{received.state.label}）")
    label = "整改情况" if kind == DONE else "异议理由"
    note = check_note(note, label)
    if not note:
        raise MissingField(field="note", label=label)
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(field="photo", label="整改照片", reason=f"最多 {MAX_PHOTOS} 张")
    body: dict[str, Any] = {"notice": received.number, "note": note, "by": by}
    if kind == DONE:
        body["photos"] = list(dict.fromkeys(photos))
    return body


def apply_answer(received: ReceivedNotice, kind: str, body: Mapping[str, Any], idx: int,
                 at: str) -> ReceivedNotice:
    return replace(received, state=NoticeState.DONE if kind == DONE else NoticeState.DISPUTED,
                   answer_idx=idx, answered_at=at, answered_by=str(body.get("by", "")),
                   answer_note=str(body.get("note", "")),
                   photos=tuple(body.get("photos", ())))


def apply_decision(received: ReceivedNotice, decision: Decision, idx: int) -> ReceivedNotice:
    """Withdrawn: closed for good. Upheld: open again with the new deadline, the dispute
    settled (the station answers afresh)."""
    if not decision.upheld:
        return replace(received, state=NoticeState.WITHDRAWN, decision=decision,
                       decided_idx=idx)
    return replace(received, notice=replace(received.notice, deadline=decision.deadline),
                   state=NoticeState.OPEN, answer_idx=None, answered_at=None, answered_by="",
                   answer_note="", photos=(), decision=decision, decided_idx=idx)


# ----------------------------------------------------------------- county: the oversight


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeStatus:
    notice: Notice
    delivered_idx: int | None
    answer: str | None  # DONE / DISPUTED kind, or None
    answer_idx: int | None
    answered_at: str | None
    overdue: bool
    decision: Decision | None = None  # the county's latest decision on a dispute
    decision_idx: int | None = None  # where the station logged it; None: not delivered yet

    @property
    def state(self) -> str:
        if not self.notice.failed:
            return "info"
        if self.decision is not None and not self.decision.upheld:
            return "withdrawn"
        if self.decision is not None and self.decision_idx is None:
            return "upheld"  # decided, not delivered yet: the station cannot act on it
        if self.answer == DONE:
            return "closed"
        if self.answer == DISPUTED:
            return "disputed"
        return "overdue" if self.overdue else "open"

    def to_dict(self) -> dict[str, Any]:
        return {"notice": self.notice.notice, "source": self.notice.source.value,
                "subject": self.notice.subject, "deadline": _day_or_none(self.notice.deadline),
                "failed": [r.item for r in self.notice.failed],
                "delivered": self.delivered_idx is not None, "delivered_idx": self.delivered_idx,
                "answer_idx": self.answer_idx, "answered_at": self.answered_at,
                "decision": None if self.decision is None else self.decision.to_dict(),
                "decision_idx": self.decision_idx, "state": self.state}


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeOversight:
    statuses: tuple[NoticeStatus, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        states = [s.state for s in self.statuses]
        return {"notices": [s.to_dict() for s in self.statuses],
                **{k: states.count(k) for k in ("open", "overdue", "closed", "disputed",
                                                "info", "withdrawn", "upheld")},
                "undelivered": sum(s.delivered_idx is None for s in self.statuses)}


def notice_oversight(station: str, notices: Iterable[Notice], entries: Iterable[LogEntry],
                     *, now: datetime, decisions: Mapping[str, Decision] | None = None
                     ) -> NoticeOversight:
    """The county's notices to ``station`` against what its synced log shows.

    ``decisions``: the county's latest decision per disputed notice. Withdrawn: no finding.
    Upheld: only answers logged after the station received the decision count, and the
    deadline is the new one; until it is delivered nothing is the station's fault."""
    delivered: dict[str, int] = {}
    answers: dict[str, list[LogEntry]] = {}
    decided: dict[tuple[str, str], int] = {}  # (notice, decided) -> where it was logged
    for e in entries:
        number = e.body.get("notice") if e.kind in (RECEIVED, DECIDED, *ANSWER_KINDS) \
            else None
        if not isinstance(number, str):
            continue
        if e.kind == RECEIVED:
            delivered.setdefault(number, e.idx)
        elif e.kind == DECIDED:
            decided.setdefault((number, str(e.body.get("decided"))), e.idx)
        else:
            answers.setdefault(number, []).append(e)
    today = local_day(now)
    statuses, findings = [], []
    for n in sorted(notices, key=lambda n: n.notice):
        decision = (decisions or {}).get(n.notice)
        decision_idx = None if decision is None else decided.get((n.notice, decision.decided))
        if decision is not None and decision.upheld:
            n = replace(n, deadline=decision.deadline)
        after = -1 if decision is None else (decision_idx if decision_idx is not None
                                             else 1 << 62)
        answer = next((a for a in answers.get(n.notice, []) if a.idx > after), None)
        pending = decision is not None and (decision_idx is None or not decision.upheld)
        overdue = bool(n.failed) and answer is None and n.deadline is not None \
            and today > n.deadline and not pending
        status = NoticeStatus(notice=n, delivered_idx=delivered.get(n.notice),
                              answer=None if answer is None else answer.kind,
                              answer_idx=None if answer is None else answer.idx,
                              answered_at=None if answer is None else answer.t_wall,
                              overdue=overdue, decision=decision, decision_idx=decision_idx)
        statuses.append(status)
        findings.extend(_findings(station, status))
    return NoticeOversight(statuses=tuple(statuses), findings=tuple(findings))


def _findings(station: str, s: NoticeStatus) -> list[Finding]:
    n, out = s.notice, []
    items = "、".join(r.label for r in n.failed)
    evidence = {"notice": n.notice, "source": n.source.value, "subject": n.subject,
                "deadline": _day_or_none(n.deadline), "failed": [r.item for r in n.failed]}
    numbers = [n.subject.split("/", 1)[1]] if n.source is Source.SPOTCHECK else []
    if s.state in ("withdrawn", "upheld"):  # withdrawn; or decided, not delivered yet
        return out
    if s.delivered_idx is None:
        out.append(finding(station, FindingCode.RECTIFICATION_UNDELIVERED,
                           f"{n.source.label}通知 {n.notice}（{n.issued[:10]} 发出）尚未送达站点",
                           numbers=numbers, evidence=evidence))
    if s.overdue:
        out.append(finding(station, FindingCode.RECTIFICATION_OVERDUE,
                           f"整改通知 {n.notice}（{items}）已过整改期限 {n.deadline}，未见整改记录",
                           numbers=numbers, evidence=evidence,
                           entries=[s.delivered_idx] if s.delivered_idx is not None else []))
    if s.answer == DISPUTED:
        out.append(finding(station, FindingCode.RECTIFICATION_DISPUTED,
                           f"站点对整改通知 {n.notice}（{items}）提出异议，请复核",
                           numbers=numbers, evidence=evidence,
                           entries=[s.answer_idx] if s.answer_idx is not None else []))
    return out


def _day_or_none(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
