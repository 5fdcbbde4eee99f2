"""Recording an applicant's evaluation of a finished case or a delivered proxy entry.

A 不满意 / 非常不满意 rating opens the 差评整改 loop in the same transaction
(``services.badreview``): both entries are written, or neither.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from station_app.domain.badreview import check_reasons
from station_app.domain.evaluations import Channel, Level, evaluation_body
from station_app.domain.numbering import parse_proxy_number
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import RuleViolation
from station_app.services.badreview import open_if_bad, review_settings
from station_app.services.cases import get_case
from station_app.services.inputs import service_time
from station_app.services.proxy import get_proxy
from station_app.services.station import Station, Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    subject: str
    level: Level
    channel: Channel
    assess_number: int
    at: str
    reasons: tuple[str, ...] = ()
    comment: str = ""

    @property
    def is_followup(self) -> bool:
        return self.assess_number > 1


def record_evaluation(
    station: Station, subject: str, level: Level, channel: Channel, *,
    reasons: Sequence[str] = (), comment: str = "", followup: bool = False,
    at: datetime | None = None,
) -> Evaluation:
    """一事一评: a case once finished, a proxy entry once delivered; later ones are 追评.

    Reasons must be among the station's 差评 reason options; a bad rating needs reasons or
    a comment, and opens the 差评整改 loop."""
    with station.transaction() as tx:
        number = append_evaluation(tx, subject, level, channel, reasons=reasons,
                                   comment=comment, followup=followup, at=at)
    return evaluations(station, number)[-1]


def append_evaluation(
    tx: Transaction, subject: str, level: Level, channel: Channel, *,
    reasons: Sequence[str] = (), comment: str = "", followup: bool = False,
    at: datetime | None = None, actor: str | None = None,
) -> str:
    """``record_evaluation`` inside a transaction the caller holds (a rating relayed by the
    county is taken in together with its own entry); returns the subject's number. Every
    check runs before anything is appended."""
    station = tx.station
    number, kind = _finished_subject(station, subject)
    body = evaluation_body(
        subject=number, subject_kind=kind, level=level, channel=channel,
        at=service_time(at, station.clock.now()), earlier=len(evaluations(station, number)),
        reasons=check_reasons(reasons, review_settings(station)), comment=comment,
        followup=followup)
    entry = tx.append("evaluation.recorded", body, actor=actor)
    open_if_bad(tx, body, entry.idx)
    return number


def _finished_subject(station: Station, subject: str) -> tuple[str, str]:
    if parse_proxy_number(subject):
        entry = get_proxy(station, subject)
        if entry.state is not ProxyState.DELIVERED:
            raise RuleViolation(field="subject",
                                reason=f"代办记录“{entry.proxy_no}”尚未送达，送达后才能评价")
        return entry.proxy_no, "proxy"
    case = get_case(station, subject)
    if case.state is not CaseState.FINISHED:
        raise RuleViolation(field="subject",
                            reason=f"办件“{case.case_no}”尚未办结（当前：{case.state.label}），"
                                   "办结后才能评价")
    return case.case_no, "case"


def evaluations(station: Station, subject: str) -> list[Evaluation]:
    rows = station.db.execute(
        "SELECT subject, level, channel, assess_number, at, reasons, comment FROM evaluation"
        " WHERE subject = ? ORDER BY idx", [subject.strip().upper()]).fetchall()
    return [Evaluation(subject=r[0], level=Level(r[1]), channel=Channel(r[2]),
                       assess_number=r[3], at=r[4], reasons=tuple(json.loads(r[5])),
                       comment=r[6]) for r in rows]
