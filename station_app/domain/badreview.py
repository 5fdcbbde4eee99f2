"""差评整改: the closed loop a 不满意 / 非常不满意 evaluation opens (cn_standards.md §1.5).

核实 → 整改 → 反馈 → 回访 → 办结, strictly in that order, each move with a note and an owner
(谁办理、谁负责). The station may appeal (申诉) a 误评 or 恶意差评 once; the county's 复核
either upholds the bad review (the loop goes on, the current step's clock restarts on the
decision day) or overturns it (the loop ends). While an appeal waits, no step moves and no
deadline runs, so it is never overdue.

Deadlines count working days on the station's own calendar, the start day not counted:
核实 from the day the review was opened, 整改 and 反馈 together from the day 核实 ended
("5 个工作日内整改反馈"), 回访 from the day 反馈 was given. The limits in force when the
review is opened are written into its first entry and hold for the whole review, so a later
change by the county never moves the goal posts of a review already running.

Everything here is pure: entries in, a folded ``BadReview`` out; bodies are built only after
every check passed, so a refused move writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from station_app.domain.calendar import HolidayCalendar, working_days_after
from station_app.domain.clock import iso, local_day, parse_moment
from station_app.errors import (
    IllegalTransition,
    InvalidInput,
    MissingField,
    RuleViolation,
    TransitionDetailRequired,
)

OPENED, STEP, APPEALED, DECIDED, SETTINGS = (
    "badreview.opened", "badreview.step", "badreview.appealed", "badreview.appeal_decided",
    "badreview.settings_set")
KINDS = (OPENED, STEP, APPEALED, DECIDED)
NOTE_MAX = 500


class Step(StrEnum):
    VERIFY = "VERIFY"
    RECTIFY = "RECTIFY"
    FEEDBACK = "FEEDBACK"
    REVISIT = "REVISIT"
    CLOSED = "CLOSED"

    @property
    def label(self) -> str:
        return {"VERIFY": "核实", "RECTIFY": "整改", "FEEDBACK": "反馈", "REVISIT": "回访",
                "CLOSED": "办结"}[self.value]

    @property
    def next(self) -> Step | None:
        at = ORDER.index(self)
        return ORDER[at + 1] if at + 1 < len(ORDER) else None


ORDER = tuple(Step)


def parse_step(text: str) -> Step:
    for step in Step:
        if (text or "").strip() in (step.value, step.label, step.value.lower()):
            return step
    raise InvalidInput(field="to", label="整改环节",
                       reason="可选：" + "、".join(s.label for s in ORDER[1:]))


class AppealKind(StrEnum):
    MISRATED = "MISRATED"
    MALICIOUS = "MALICIOUS"

    @property
    def label(self) -> str:
        return {"MISRATED": "误评", "MALICIOUS": "恶意差评"}[self.value]


class AppealOutcome(StrEnum):
    """The county's 申诉复核 about the bad review: it stands (UPHELD) or is set aside."""

    UPHELD = "UPHELD"
    OVERTURNED = "OVERTURNED"

    @property
    def label(self) -> str:
        return {"UPHELD": "维持差评（申诉不成立）",
                "OVERTURNED": "撤销差评（申诉成立）"}[self.value]


def _parse_choice(enum: type[AppealKind] | type[AppealOutcome], text: str, field: str,
                  label: str) -> Any:
    for member in enum:
        if (text or "").strip() in (member.value, member.value.lower(), member.label,
                                    member.label.split("（")[0]):
            return member
    raise InvalidInput(field=field, label=label,
                       reason="可选：" + "、".join(m.label for m in enum))


def parse_appeal_kind(text: str) -> AppealKind:
    result: AppealKind = _parse_choice(AppealKind, text, "kind", "申诉类型")
    return result


def parse_outcome(text: str) -> AppealOutcome:
    result: AppealOutcome = _parse_choice(AppealOutcome, text, "outcome", "复核结果")
    return result


# ------------------------------------------------------------------------- settings

DEFAULT_REASONS = ("服务态度差", "办事效率低", "等候时间长", "一次性告知不到位",
                   "材料要求不合理", "其他")
# The outer limit of each clock: 四川某市 gives 15 working days to rectify, the longest found.
LIMITS = {"verify_wd": ("核实期限", 1, 5), "rectify_wd": ("整改反馈期限", 1, 15),
          "revisit_wd": ("回访期限", 1, 15)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Working-day limits of the loop and the 差评 reason options, as the county sets them."""

    verify_wd: int = 1
    rectify_wd: int = 5
    revisit_wd: int = 5
    reasons: tuple[str, ...] = DEFAULT_REASONS

    def within(self, step: Step) -> int | None:
        """Working days the clock of ``step`` runs (FEEDBACK shares RECTIFY's clock)."""
        return {Step.VERIFY: self.verify_wd, Step.RECTIFY: self.rectify_wd,
                Step.REVISIT: self.revisit_wd}.get(step)

    def to_body(self) -> dict[str, Any]:
        return {"verify_wd": self.verify_wd, "rectify_wd": self.rectify_wd,
                "revisit_wd": self.revisit_wd, "reasons": list(self.reasons)}


def check_settings(values: Mapping[str, Any], base: Settings = Settings()) -> Settings:
    """``base`` with ``values`` applied, every limit and reason checked."""
    unknown = sorted(set(values) - {*LIMITS, "reasons"})
    if unknown:
        raise InvalidInput(field=unknown[0], label="差评整改设置",
                           reason=f"没有“{unknown[0]}”这一项")
    limits: dict[str, int] = {}
    for key, (label, low, high) in LIMITS.items():
        raw = values.get(key, getattr(base, key))
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise InvalidInput(field=key, label=label, reason="应为整数（工作日）") from None
        if not low <= number <= high:
            raise InvalidInput(field=key, label=label, reason=f"应为 {low}–{high} 个工作日")
        limits[key] = number
    reasons = base.reasons
    if "reasons" in values:
        reasons = tuple(dict.fromkeys(" ".join(str(r).split()) for r in values["reasons"]
                                      if str(r).strip()))
        if not reasons:
            raise MissingField(field="reasons", label="差评原因选项")
        if any(len(r) > 20 for r in reasons):
            raise InvalidInput(field="reasons", label="差评原因选项", reason="每项不超过20个字")
    return Settings(reasons=reasons, **limits)


def parse_settings_content(content: Any) -> Settings:
    """The county's ``badreview`` publication, as both the county (publishing a file) and
    the station (applying it) check it: ``{"verify_wd": 1, "rectify_wd": 5, "revisit_wd": 5,
    "reasons": [...]}``, a key left out taking the cn_standards.md default."""
    if not isinstance(content, dict):
        raise InvalidInput(field="content", label="差评整改设置",
                           reason="应为 JSON 对象（verify_wd、rectify_wd、revisit_wd、reasons）")
    for key, (label, _, _) in LIMITS.items():
        value = content.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(field=key, label=label, reason="应为整数（工作日）")
    reasons = content.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise InvalidInput(field="reasons", label="差评原因选项", reason="应为文字列表")
    return check_settings(content, Settings())


def settings_from_body(body: Mapping[str, Any]) -> Settings:
    return Settings(verify_wd=int(body["verify_wd"]), rectify_wd=int(body["rectify_wd"]),
                    revisit_wd=int(body["revisit_wd"]), reasons=tuple(body["reasons"]))


def check_reasons(reasons: Iterable[str], settings: Settings) -> list[str]:
    """The chosen 差评 reasons, each one of the station's options."""
    clean = list(dict.fromkeys(r.strip() for r in reasons if r.strip()))
    for reason in clean:
        if reason not in settings.reasons:
            raise InvalidInput(field="reasons", label="差评原因",
                               reason=f"“{reason}”不在可选项中（{'、'.join(settings.reasons)}）")
    return clean


# ------------------------------------------------------------------------- the fold


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    step: Step  # the step entered
    note: str  # what was done in the step it left
    owner: str
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Appeal:
    kind: AppealKind
    reason: str
    at: datetime
    outcome: AppealOutcome | None = None
    decided_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BadReview:
    review_no: str
    subject: str
    subject_kind: str  # "case" or "proxy"
    level: str  # the evaluation's Level value
    assess_number: int
    opened_at: datetime
    step: Step
    owner: str
    settings: Settings
    clock_start: date  # the day the current step's clock started (not itself counted)
    history: tuple[StepRecord, ...] = ()
    appeal: Appeal | None = None
    overturned: bool = False

    @property
    def is_open(self) -> bool:
        return self.step is not Step.CLOSED

    @property
    def appeal_pending(self) -> bool:
        return self.appeal is not None and self.appeal.outcome is None

    @property
    def status_label(self) -> str:
        if self.overturned:
            return "已办结（差评撤销）"
        if self.appeal_pending:
            return f"{self.step.label}（申诉复核中）"
        return "已办结" if not self.is_open else self.step.label


def review_number(subject: str, assess_number: int) -> str:
    """差评编号: the rated matter's number and which of its evaluations it was (1 首评 …)."""
    return f"{subject}-P{assess_number}"


def opened_body(*, subject: str, subject_kind: str, level: str, assess_number: int,
                evaluation_idx: int, owner: str, at: datetime, settings: Settings
                ) -> dict[str, Any]:
    return {"review_no": review_number(subject, assess_number), "subject": subject,
            "subject_kind": subject_kind, "level": level, "assess_number": assess_number,
            "evaluation_idx": evaluation_idx, "owner": owner or "", "at": iso(at),
            "settings": settings.to_body()}


def step_body(review: BadReview, to: Step, *, note: str, owner: str, at: datetime
              ) -> dict[str, Any]:
    """Move to ``to``: only the next step, with a note on what was done in the current one."""
    _require_open(review, to.label)
    if review.appeal_pending:
        raise RuleViolation(field="to", reason=f"差评“{review.review_no}”正在申诉复核，"
                                               "复核结果出来前不能推进整改环节")
    if to is not review.step.next:
        raise IllegalTransition(
            field="to", what="差评整改", what_en="bad review", number=review.review_no,
            current=review.step.label, current_en=review.step.value, target=to.label,
            target_en=to.value)
    text = _note(note, to, f"{review.step.label}情况")
    who = " ".join((owner or "").split()) or review.owner
    if not who:
        raise TransitionDetailRequired(field="owner", target=to.label, target_en=to.value,
                                       label="责任人", label_en="an owner")
    _not_before(review, at)
    return {"review_no": review.review_no, "to": to.value, "note": text, "owner": who,
            "at": iso(at)}


def appeal_body(review: BadReview, kind: AppealKind, reason: str, at: datetime
                ) -> dict[str, Any]:
    """申诉: once per review, while it is open."""
    _require_open(review, "申诉")
    if review.appeal is not None:
        raise RuleViolation(field="reason", reason=f"差评“{review.review_no}”已经申诉过"
                                                   f"（{review.appeal.kind.label}），不能再次申诉")
    text = " ".join((reason or "").split())
    if not text:
        raise MissingField(field="reason", label="申诉理由")
    _not_before(review, at)
    return {"review_no": review.review_no, "kind": kind.value, "reason": text[:NOTE_MAX],
            "at": iso(at)}


def decision_body(review: BadReview, outcome: AppealOutcome, note: str, at: datetime
                  ) -> dict[str, Any]:
    """The county's 申诉复核, entered at the station (or applied from the county)."""
    if not review.appeal_pending:
        raise RuleViolation(field="outcome", reason=f"差评“{review.review_no}”没有待复核的申诉")
    _not_before(review, at)
    return {"review_no": review.review_no, "outcome": outcome.value,
            "note": " ".join((note or "").split())[:NOTE_MAX], "at": iso(at)}


def _require_open(review: BadReview, action: str) -> None:
    if not review.is_open:
        raise IllegalTransition(
            field="to", what="差评整改", what_en="bad review", number=review.review_no,
            current=review.status_label, current_en="CLOSED", target=action,
            target_en="a further step")


def _note(note: str, to: Step, label: str) -> str:
    text = " ".join((note or "").split())
    if not text:
        raise TransitionDetailRequired(field="note", target=to.label, target_en=to.value,
                                       label=label, label_en="a note on the step")
    if len(text) > NOTE_MAX:
        raise InvalidInput(field="note", label=label, reason=f"不能超过{NOTE_MAX}个字")
    return text


def _not_before(review: BadReview, at: datetime) -> None:
    last = max([review.opened_at, *(h.at for h in review.history),
                *([review.appeal.at] if review.appeal else [])])
    if at < last:
        raise RuleViolation(field="at", reason="时间不能早于该差评的上一个环节")


def fold(entries: Sequence[tuple[str, Mapping[str, Any], str]]) -> BadReview:
    """One review from its entries, oldest first: (kind, body, actor)."""
    review: BadReview | None = None
    for kind, body, actor in entries:
        review = apply(review, kind, body, actor)
    if review is None:
        raise ValueError("a bad review starts with badreview.opened")
    return review


def apply(review: BadReview | None, kind: str, body: Mapping[str, Any], actor: str
          ) -> BadReview:
    """One more entry on top of ``review`` (None before ``badreview.opened``)."""
    at = parse_moment(str(body["at"]))
    if kind == OPENED:
        return BadReview(
            review_no=body["review_no"], subject=body["subject"],
            subject_kind=body["subject_kind"], level=body["level"],
            assess_number=int(body["assess_number"]), opened_at=at, step=Step.VERIFY,
            owner=body["owner"], settings=settings_from_body(body["settings"]),
            clock_start=local_day(at))
    if review is None:
        raise ValueError(f"{kind} before badreview.opened")
    if kind == STEP:
        to = Step(body["to"])
        record = StepRecord(step=to, note=body["note"], owner=body["owner"], at=at, actor=actor)
        # 反馈 runs on 整改's clock; every other step starts a clock of its own
        start = review.clock_start if to is Step.FEEDBACK else local_day(at)
        return replace(review, step=to, owner=body["owner"], clock_start=start,
                       history=(*review.history, record))
    if kind == APPEALED:
        return replace(review, appeal=Appeal(kind=AppealKind(body["kind"]),
                                             reason=body["reason"], at=at))
    if kind == DECIDED:
        assert review.appeal is not None
        outcome = AppealOutcome(body["outcome"])
        appeal = replace(review.appeal, outcome=outcome, decided_at=at, note=body["note"])
        if outcome is AppealOutcome.OVERTURNED:
            return replace(review, appeal=appeal, step=Step.CLOSED, overturned=True)
        return replace(review, appeal=appeal, clock_start=local_day(at))
    raise ValueError(f"not a bad-review entry: {kind}")


# ------------------------------------------------------------------------- deadlines


@dataclass(frozen=True, slots=True)
class Due:
    day: date
    estimated: bool  # the calendar lacks a year the count crossed


def due(review: BadReview, cal: HolidayCalendar) -> Due | None:
    """The day the current step must be done by; None when closed or under appeal."""
    if not review.is_open or review.appeal_pending:
        return None
    clock = Step.RECTIFY if review.step is Step.FEEDBACK else review.step
    within = review.settings.within(clock)
    assert within is not None
    day, estimated = working_days_after(review.clock_start, within, cal)
    return Due(day, estimated)


def is_overdue(review: BadReview, cal: HolidayCalendar, now: datetime) -> bool:
    """Overdue once the whole due day has passed in China without the step being done."""
    d = due(review, cal)
    return d is not None and local_day(now) > d.day
