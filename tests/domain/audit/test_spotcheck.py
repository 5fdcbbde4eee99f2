"""The monthly spot check: reproducible for a seed, weighted toward flags, recorded as JSON."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.audit.findings import FindingCode, finding
from station_app.domain.audit.settings import AuditThresholds
from station_app.domain.audit.spotcheck import (
    CHECKLIST,
    draw_spot_check,
    month_candidates,
    prefill_checklist,
)
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.canonical import parse_canonical
from station_app.domain.documents import DocKind
from station_app.domain.evaluations import Level
from station_app.domain.states import CaseState
from station_app.errors import InvalidInput
from station_app.services.calendar_seed import chinese_calendar_years
from tests.domain.audit.logbook import IMMEDIATE, StationLog, at

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
T = AuditThresholds()


def numbers(station: str, count: int) -> list[str]:
    return [f"{station}-202511{(i % 28) + 1:02d}-{i:04d}" for i in range(1, count + 1)]


CANDIDATES = {"330199101201": numbers("330199101201", 40),
              "330199101202": numbers("330199101202", 40),
              "330199101203": numbers("330199101203", 3)}
RED = finding("330199101202", FindingCode.BACKDATED, "倒签",
              numbers=[CANDIDATES["330199101202"][7]])
AMBER = finding("330199101203", FindingCode.LATE_ENTRY, "补录")


def test_the_same_seed_draws_the_same_cases_and_another_seed_other_cases():
    one = draw_spot_check(seed="2025-12-01 县审计", month="2025-11", candidates=CANDIDATES,
                          findings=[RED, AMBER], thresholds=T)
    again = draw_spot_check(seed="2025-12-01 县审计", month="2025-11", candidates=CANDIDATES,
                            findings=[AMBER, RED], thresholds=T)
    other = draw_spot_check(seed="another seed", month="2025-11", candidates=CANDIDATES,
                            findings=[RED, AMBER], thresholds=T)
    assert one == again and one.to_json() == again.to_json() and one.digest == again.digest
    assert one.drawn() != other.drawn()


def test_the_draw_is_pinned_so_every_python_and_platform_gives_these_cases():
    draw = draw_spot_check(seed="2025-12-01 县审计", month="2025-11", candidates=CANDIDATES,
                           findings=[RED, AMBER], thresholds=T)
    assert {s: [n[-4:] for n in drawn] for s, drawn in draw.drawn().items()} == PINNED


# SHA-256 tickets: no floating point and no ``random``, so these never change.
PINNED = {"330199101201": ["0033", "0023"],
          "330199101202": ["0032", "0009", "0037", "0012", "0015", "0021"],
          "330199101203": ["0001", "0002", "0003"]}


def test_quotas_follow_the_station_s_status_and_small_stations_give_what_they_have():
    draw = draw_spot_check(seed="s", month="2025-11", candidates=CANDIDATES,
                           findings=[RED, AMBER], thresholds=T)
    by_station = {s.station: s for s in draw.stations}
    assert [(s.status, s.quota, len(s.drawn)) for s in draw.stations] == [
        ("green", 2, 2), ("red", 6, 6), ("amber", 4, 3)]
    assert by_station["330199101202"].weights == {CANDIDATES["330199101202"][7]: 5}
    assert by_station["330199101203"].drawn == tuple(CANDIDATES["330199101203"])


def test_flagged_cases_are_drawn_more_often():
    flagged = CANDIDATES["330199101202"][7]
    hits = Counter()
    for k in range(300):
        draw = draw_spot_check(seed=f"seed-{k}", month="2025-11", candidates=CANDIDATES,
                               findings=[RED], thresholds=T)
        hits.update(draw.drawn()["330199101202"])
    others = [hits[n] for n in CANDIDATES["330199101202"] if n != flagged]
    # 6 of 40 drawn: an ordinary case about 15 % of the time, the flagged one far more often
    assert hits[flagged] > 2 * max(others)


@given(st.permutations(CANDIDATES["330199101201"]))
def test_the_order_candidates_are_listed_in_does_not_matter(order):
    listed = {**CANDIDATES, "330199101201": order}
    a = draw_spot_check(seed="s", month="2025-11", candidates=listed, thresholds=T)
    b = draw_spot_check(seed="s", month="2025-11", candidates=CANDIDATES, thresholds=T)
    assert a.to_json() == b.to_json()


def test_the_draw_record_is_canonical_json_with_everything_needed_to_redo_it():
    draw = draw_spot_check(seed="s", month="2025-11", candidates=CANDIDATES,
                           findings=[RED], thresholds=T)
    data = parse_canonical(draw.to_json())
    assert data["seed"] == "s" and data["month"] == "2025-11"
    assert data["method"] == "vss-spotcheck/1"
    assert data["quotas"] == {"green": 2, "amber": 4, "red": 6}
    assert data["stations"][1]["population"] == 40
    assert json.loads(draw.to_json()) == draw.to_dict()


@pytest.mark.parametrize(("seed", "month"), [("", "2025-11"), ("  ", "2025-11"),
                                             ("s", "2025/11"), ("s", "2025-00")])
def test_a_draw_needs_a_seed_and_a_month(seed, month):
    with pytest.raises(InvalidInput):
        draw_spot_check(seed=seed, month=month, candidates=CANDIDATES, thresholds=T)


# ---------------------------------------------------------------- candidates and checklist


def test_candidates_are_the_cases_received_in_the_month():
    log = StationLog(at("2025-12-01"))
    inside = log.receive(served=at("2025-11-30", "16:00"))
    log.receive(served=at("2025-10-31", "16:00"))
    assert month_candidates(log.cases(), "2025-11") == [inside]


def test_the_checklist_is_answered_from_the_records_where_they_can():
    log = StationLog(at("2025-11-03", "09:00"))
    case_no = log.receive(item=IMMEDIATE)
    log.finish(case_no)
    log.evaluate(case_no, Level.SATISFIED)
    case = log.case(case_no)
    printed = {DocKind.RECEIPT.value, DocKind.ACCEPT_NOTICE.value, DocKind.FINISH_NOTICE.value}
    answers = prefill_checklist(case, printed=printed, evaluations=log.evaluations, cal=SEEDED,
                                now=at("2025-12-01"))
    assert [a.code for a in answers] == [i.code for i in CHECKLIST]
    assert [a.system for a in answers] == [None, True, True, True]
    assert "居民身份证" in answers[0].detail

    unprinted = prefill_checklist(case, printed={DocKind.RECEIPT.value}, evaluations=[],
                                  cal=SEEDED, now=at("2025-12-01"))
    assert [a.system for a in unprinted] == [None, False, True, False]
    assert "办结通知书" in unprinted[1].detail and "受理通知书" in unprinted[1].detail


def test_an_overdue_open_case_fails_its_deadline_item():
    log = StationLog(at("2025-11-03", "09:00"))
    case_no = log.receive()
    log.move(case_no, CaseState.ACCEPTED)
    case = log.case(case_no)
    answers = prefill_checklist(case, printed=set(), evaluations=[], cal=SEEDED,
                                now=at("2025-11-20"))
    deadline = answers[2]
    assert deadline.system is False and "承诺办结期限" in deadline.detail
    assert answers[3].system is None  # not finished: no evaluation expected yet
