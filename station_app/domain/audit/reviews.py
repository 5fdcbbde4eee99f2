"""差评整改 seen from the county: loops whose current step is past its working-day deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from station_app.domain.audit.findings import Finding, FindingCode, finding
from station_app.domain.badreview import BadReview, due, is_overdue
from station_app.domain.calendar import HolidayCalendar


def overdue_reviews(station: str, reviews: Iterable[BadReview], cal: HolidayCalendar,
                    now: datetime) -> list[Finding]:
    """One amber finding per open loop past its step's due day (on the station's calendar,
    as the station itself counts it); loops under appeal have no running deadline."""
    out = []
    for review in reviews:
        if not is_overdue(review, cal, now):
            continue
        day = due(review, cal)
        assert day is not None
        out.append(finding(
            station, FindingCode.BAD_REVIEW_OVERDUE,
            f"差评整改“{review.review_no}”的{review.step.label}环节应于 {day.day.isoformat()} "
            f"前完成，已超期", numbers=[review.subject],
            evidence={"review_no": review.review_no, "step": review.step.value,
                      "due": day.day.isoformat(), "owner": review.owner}))
    return out
