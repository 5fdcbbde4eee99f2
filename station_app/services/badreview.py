"""差评整改 at the station: the loop's settings, opening it, moving it on, appeals, and lists.

A loop opens in the very transaction that records a 不满意 / 非常不满意 evaluation (see
``services.evaluations``), so there is never a bad review without its loop. Each later move
reads the folded review, lets the pure domain check it and build the body, and appends it;
a refusal raises before anything is appended.

The limits and reason options are a station setting (``badreview.settings_set``) rather than
profile fields: they are numbers and a list with their own checks, they are the county's to
set, and each review copies the limits in force when it opens. The county publishes them as
its signed ``badreview`` collection, applied as this same entry citing the publication; from
then on the county's settings win: the station can no longer change them (not even to be
stricter: the county audits every station's loops by the limits the county set), and each
newer publication replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station_app.domain import badreview as br
from station_app.domain.badreview import AppealKind, AppealOutcome, BadReview, Settings, Step
from station_app.domain.evaluations import Level
from station_app.errors import BadReviewNotFound, ReviewSettingsByCounty
from station_app.services.calendar import current_calendar
from station_app.services.station import Station, Transaction
from station_app.services.users import user_names


def review_settings(station: Station) -> Settings:
    raw = station.projector.setting("badreview.settings")
    return Settings() if raw is None else br.settings_from_body(json.loads(raw))


def county_settings_version(station: Station) -> int:
    """The county publication whose settings are in force; 0 while they are the station's."""
    return int(station.projector.setting("badreview.settings_publication") or 0)


def set_review_settings(station: Station, values: Mapping[str, Any], *, reason: str = ""
                        ) -> Settings:
    """Change the loop's working-day limits or reason options (reviews already open keep
    the limits they opened with); refused once the county has published them."""
    with station.transaction() as tx:  # read inside: a sync applying them cannot slip in
        version = county_settings_version(station)
        if version:
            raise ReviewSettingsByCounty(field="settings", version=version)
        settings = br.check_settings(values, review_settings(station))
        tx.append(br.SETTINGS, {**settings.to_body(), "reason": " ".join(reason.split())})
    return settings


def record_county_settings(tx: Transaction, settings: Settings, publication: dict[str, Any]
                           ) -> None:
    """Inside the transaction that applies the county's ``badreview`` publication."""
    tx.append(br.SETTINGS, {**settings.to_body(), "reason": "县级发布",
                            "publication": publication})


def open_if_bad(tx: Transaction, evaluation: Mapping[str, Any], evaluation_idx: int) -> None:
    """Inside the evaluation's transaction: a bad rating opens a loop, unless one is still
    open for the same matter (a bad 追评 then belongs to that loop)."""
    if not Level(evaluation["level"]).is_bad:
        return
    station = tx.station
    subject = evaluation["subject"]
    running = station.db.execute("SELECT 1 FROM bad_review WHERE subject = ? AND step != ?",
                                 [subject, Step.CLOSED.value]).fetchone()
    if running is not None:
        return
    tx.append(br.OPENED, br.opened_body(
        subject=subject, subject_kind=evaluation["subject_kind"], level=evaluation["level"],
        assess_number=int(evaluation["assess_number"]), evaluation_idx=evaluation_idx,
        owner=_handler(station, subject, evaluation["subject_kind"]),
        at=station.clock.now(), settings=review_settings(station)))


def _handler(station: Station, subject: str, kind: str) -> str:
    """谁办理、谁负责: who made the last move on the matter (finished or delivered it)."""
    table, key = ("case_events", "case_no") if kind == "case" else ("proxy_events", "proxy_no")
    row = station.db.execute(f"SELECT actor FROM {table} WHERE {key} = ? ORDER BY idx DESC"
                             " LIMIT 1", [subject]).fetchone()
    actor = row[0] if row else ""
    return user_names(station).get(actor, actor)


def get_review(station: Station, number: str) -> BadReview:
    """A review by its 差评编号, or the newest review of a case / proxy entry number."""
    wanted = (number or "").strip().upper()
    row = station.db.execute(
        "SELECT review_no FROM bad_review WHERE review_no = ? OR subject = ?"
        " ORDER BY review_no = ? DESC, created_idx DESC LIMIT 1",
        [wanted, wanted, wanted]).fetchone()
    if row is None:
        raise BadReviewNotFound(value=number)
    events = station.db.execute(
        "SELECT kind, body, actor FROM bad_review_events WHERE review_no = ? ORDER BY idx",
        [row[0]]).fetchall()
    return br.fold([(k, json.loads(b), a) for k, b, a in events])


def move_review(station: Station, number: str, to: Step, *, note: str, owner: str = ""
                ) -> BadReview:
    with station.transaction() as tx:
        review = get_review(station, number)
        tx.append(br.STEP, br.step_body(review, to, note=note, owner=owner,
                                        at=station.clock.now()))
    return get_review(station, review.review_no)


def appeal_review(station: Station, number: str, kind: AppealKind, reason: str) -> BadReview:
    with station.transaction() as tx:
        review = get_review(station, number)
        tx.append(br.APPEALED, br.appeal_body(review, kind, reason, station.clock.now()))
    return get_review(station, review.review_no)


def decide_appeal(station: Station, number: str, outcome: AppealOutcome, note: str = ""
                  ) -> BadReview:
    with station.transaction() as tx:
        review = get_review(station, number)
        tx.append(br.DECIDED, br.decision_body(review, outcome, note, station.clock.now()))
    return get_review(station, review.review_no)


# ------------------------------------------------------------------------- lists


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewRow:
    review_no: str
    subject: str
    subject_kind: str
    level: Level
    step: Step
    owner: str
    opened_at: str
    due: str | None
    estimated: bool
    appeal: str  # '', PENDING, UPHELD, OVERTURNED
    overdue: bool

    @property
    def status_label(self) -> str:
        if self.appeal == "OVERTURNED":
            return "已办结（差评撤销）"
        if self.appeal == "PENDING":
            return f"{self.step.label}（申诉复核中）"
        return "已办结" if self.step is Step.CLOSED else self.step.label


def list_reviews(station: Station, now: datetime, *, include_closed: bool = False,
                 overdue_only: bool = False, limit: int = 500) -> list[ReviewRow]:
    """Open loops by due day (overdue first), or every loop with ``include_closed``."""
    ts = int(now.timestamp())  # due_ts is the due day's last second: it is met all day
    where, args = [], []
    if not include_closed or overdue_only:
        where.append("step != ?")
        args.append(Step.CLOSED.value)
    if overdue_only:
        where.append("due_ts IS NOT NULL AND due_ts < ?")
        args.append(ts)
    rows = station.db.execute(
        "SELECT review_no, subject, subject_kind, level, step, owner, opened_at, due,"
        " estimated, appeal, due_ts FROM bad_review"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY step = 'CLOSED', due_ts IS NULL, due_ts, created_idx LIMIT ?",
        [*args, limit]).fetchall()
    return [ReviewRow(review_no=r[0], subject=r[1], subject_kind=r[2], level=Level(r[3]),
                      step=Step(r[4]), owner=r[5], opened_at=r[6], due=r[7],
                      estimated=bool(r[8]), appeal=r[9],
                      overdue=r[10] is not None and r[10] < ts) for r in rows]


def count_overdue(station: Station, now: datetime) -> int:
    return len(list_reviews(station, now, overdue_only=True))


def review_dict(station: Station, review: BadReview, now: datetime) -> dict[str, Any]:
    """One review for the CLI's ``--json`` and the detail screen."""
    cal = current_calendar(station)
    due = br.due(review, cal)
    return {
        "review_no": review.review_no, "subject": review.subject,
        "subject_kind": review.subject_kind, "level": review.level,
        "level_label": Level(review.level).label, "assess_number": review.assess_number,
        "step": review.step.value, "step_label": review.step.label,
        "status_label": review.status_label, "owner": review.owner,
        "opened_at": review.opened_at.isoformat(timespec="minutes"),
        "due": due.day.isoformat() if due else None,
        "due_estimated": bool(due and due.estimated),
        "overdue": br.is_overdue(review, cal, now),
        "next": review.step.next.value if review.is_open and review.step.next else None,
        "limits": {"verify_wd": review.settings.verify_wd,
                   "rectify_wd": review.settings.rectify_wd,
                   "revisit_wd": review.settings.revisit_wd},
        "history": [{"step": h.step.value, "step_label": h.step.label, "note": h.note,
                     "owner": h.owner, "at": h.at.isoformat(timespec="minutes")}
                    for h in review.history],
        "appeal": None if review.appeal is None else {
            "kind": review.appeal.kind.value, "kind_label": review.appeal.kind.label,
            "reason": review.appeal.reason,
            "at": review.appeal.at.isoformat(timespec="minutes"),
            "outcome": review.appeal.outcome.value if review.appeal.outcome else None,
            "outcome_label": review.appeal.outcome.label if review.appeal.outcome else "待复核",
            "note": review.appeal.note},
    }


def row_dict(row: ReviewRow) -> dict[str, Any]:
    return {"review_no": row.review_no, "subject": row.subject, "subject_kind": row.subject_kind,
            "level": row.level.value, "level_label": row.level.label, "step": row.step.value,
            "step_label": row.step.label, "status_label": row.status_label, "owner": row.owner,
            "opened_at": row.opened_at, "due": row.due, "due_estimated": row.estimated,
            "appeal": row.appeal or None, "overdue": row.overdue}


def step_choices(review: BadReview) -> Sequence[Step]:
    """The one move the loop allows now (none while closed or under appeal)."""
    if not review.is_open or review.appeal_pending or review.step.next is None:
        return ()
    return (review.step.next,)
