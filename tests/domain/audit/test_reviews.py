"""An open 差评整改 loop past its step's working-day due day is flagged; closed, under
appeal or still within its days, it is not."""

from __future__ import annotations

from datetime import timedelta

from station_app.domain import badreview
from station_app.domain.audit import FindingCode
from station_app.domain.audit.reviews import overdue_reviews
from tests.domain.audit.test_facts import loop
from tests.domain.audit.test_kpi import SEEDED, at

OPENED = at("2025-11-03", "10:00")  # a Monday: 核实 is due the next working day, 4 Nov


def opened(at_moment=OPENED) -> badreview.BadReview:
    return badreview.fold([(badreview.OPENED, badreview.opened_body(
        subject="330199101201-20251103-0001", subject_kind="case", level="DISSATISFIED",
        assess_number=1, evaluation_idx=0, owner="王晓梅", at=at_moment,
        settings=badreview.Settings()), "clerk")])


def test_a_loop_left_in_verification_past_its_day_is_flagged_with_its_due_day():
    (flag,) = overdue_reviews("330199101201", [opened()], SEEDED, OPENED + timedelta(days=2))
    assert flag.code is FindingCode.BAD_REVIEW_OVERDUE
    assert flag.evidence["due"] == "2025-11-04" and flag.evidence["step"] == "VERIFY"
    assert flag.numbers == ("330199101201-20251103-0001",)


def test_within_its_day_closed_or_overturned_it_is_not():
    assert overdue_reviews("330199101201", [opened()], SEEDED, OPENED + timedelta(days=1)) == []
    late = OPENED + timedelta(days=30)
    closed = loop("330199101201-20251103-0001", "case", OPENED)
    overturned = loop("330199101201-20251103-0002", "case", OPENED, overturn=True)
    assert overdue_reviews("330199101201", [closed, overturned], SEEDED, late) == []
