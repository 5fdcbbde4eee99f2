"""Receiving cases and moving them through the work, against a real station database."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from station_app.domain.cases import Channel
from station_app.domain.clock import CST
from station_app.domain.people import PersonDetails, validate_person
from station_app.domain.states import CaseState
from station_app.errors import (
    CaseNotFound,
    IllegalTransition,
    InvalidIdNumber,
    InvalidInput,
    TransitionDetailRequired,
    UnknownItem,
)
from station_app.services.cases import CaseRequest, add_case, get_case, list_cases, move_case
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.people import find_people
from station_app.services.station import Station
from station_app.store.queries import CaseFilter

FIVE_DAY_ITEM = {
    "format": "vss-catalog/1", "version": "test-1", "issued_by": "测试",
    "items": [{"code": "T-5WD", "name": "五个工作日的承诺件", "department": "社会事务办",
               "case_type": "PROMISED", "legal_limit": {"amount": 20},
               "promised_limit": {"amount": 5}}],
}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


def receive(station: Station, person: PersonDetails, item: str = "LOCAL-MZ-004") -> str:
    return add_case(station, CaseRequest(item=item, applicant=person)).case_no


def test_case_numbers_are_station_day_and_a_gapless_daily_sequence(
    station: Station, applicant: PersonDetails, clock: ManualClock
):
    first = receive(station, applicant)
    second = receive(station, applicant)
    clock.advance(days=1)
    next_day = receive(station, applicant)
    assert (first, second) == ("330199101000-20250929-0001", "330199101000-20250929-0002")
    assert next_day == "330199101000-20250930-0001"


def test_a_walk_in_case_counts_one_visit_and_a_proxy_case_none(
    station: Station, applicant: PersonDetails
):
    walk_in = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    proxied = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant,
                                            channel=Channel.PROXY, agent="王丽华",
                                            proxy_no="330199101201-DB2025-00001"))
    assert (walk_in.visits, proxied.visits) == (1, 0)
    assert proxied.proxy_no == "330199101201-DB2025-00001"


def test_accepted_on_30_september_with_5_working_days_is_due_14_october(
    station: Station, applicant: PersonDetails, clock: ManualClock
):
    import_catalog(station, json.dumps(FIVE_DAY_ITEM).encode())
    case_no = receive(station, applicant, item="T-5WD")
    clock.set(at("2025-09-30"))
    move_case(station, case_no, CaseState.ACCEPTED)
    [row] = list_cases(station, CaseFilter())
    assert (row.deadline, row.deadline_kind, row.estimated) == ("2025-10-14", "PROMISED", False)


def test_the_clock_stops_during_a_special_procedure(
    station: Station, applicant: PersonDetails, clock: ManualClock
):
    import_catalog(station, json.dumps(FIVE_DAY_ITEM).encode())
    case_no = receive(station, applicant, item="T-5WD")
    clock.set(at("2025-09-30"))
    move_case(station, case_no, CaseState.ACCEPTED)
    move_case(station, case_no, CaseState.IN_PROGRESS)
    clock.set(at("2025-10-09"))
    move_case(station, case_no, CaseState.SUSPENDED, details={"reason": "现场勘验"})
    [row] = list_cases(station, CaseFilter())
    assert (row.deadline, row.deadline_kind) == (None, "PAUSED")
    clock.set(at("2025-10-13"))  # Fri 10, Sat 11 (调休上班) and Mon 13 were paused
    move_case(station, case_no, CaseState.IN_PROGRESS)
    [row] = list_cases(station, CaseFilter())
    assert row.deadline == "2025-10-17"


def test_a_late_entry_keeps_both_clocks(station: Station, applicant: PersonDetails,
                                        clock: ManualClock):
    clock.set(at("2025-10-09", 16))
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant,
                                         at=at("2025-09-29", 9)))
    entry = [e for e in station.entries() if e.kind == "case.created"][-1]
    assert case.received_at == at("2025-09-29", 9)
    assert entry.body["at"].startswith("2025-09-29T09:00")
    assert entry.t_wall.startswith("2025-10-09T16:00")  # the device time cannot be back-dated


def test_a_service_time_in_the_future_is_refused(station: Station, applicant: PersonDetails,
                                                 clock: ManualClock):
    size = station.ledger.size()
    with pytest.raises(InvalidInput) as caught:
        add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant,
                                      at=clock.now() + timedelta(days=2)))
    assert caught.value.field == "at"
    assert station.ledger.size() == size


def test_overdue_lists_only_open_cases_past_their_deadline(
    station: Station, applicant: PersonDetails, clock: ManualClock
):
    late = receive(station, applicant)  # 临时救助: 10 working days promised
    done = receive(station, applicant)
    for case_no in (late, done):
        move_case(station, case_no, CaseState.ACCEPTED)
    move_case(station, done, CaseState.IN_PROGRESS)
    move_case(station, done, CaseState.FINISHED, details={"outcome": "APPROVED"})
    clock.set(at("2025-11-03"))
    overdue = list_cases(station, CaseFilter(overdue_at=int(clock.now().timestamp())))
    assert [r.case_no for r in overdue] == [late]
    assert [r.on_time for r in list_cases(station, CaseFilter(states=("FINISHED",)))] == [True]


@pytest.mark.parametrize(("attempt", "error"), [
    (lambda st, p: add_case(st, CaseRequest(item="NO-SUCH", applicant=p)), UnknownItem),
    (lambda st, p: move_case(st, "330199101000-20250929-0001", CaseState.FINISHED),
     IllegalTransition),
    (lambda st, p: move_case(st, "330199101000-20250929-0001", CaseState.REJECTED,
                             details={"reason": "不符合条件"}), TransitionDetailRequired),
    (lambda st, p: move_case(st, "330199101000-20250929-9999", CaseState.ACCEPTED),
     CaseNotFound),
    (lambda st, p: add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=p,
                                            proxy_no="DB-1")), InvalidInput),
])
def test_refused_requests_write_nothing(station: Station, applicant: PersonDetails, attempt,
                                        error):
    receive(station, applicant)
    size = station.ledger.size()
    with pytest.raises(error) as caught:
        attempt(station, applicant)
    assert caught.value.text  # a Chinese sentence for the person at the window
    assert station.ledger.size() == size
    assert get_case(station, "330199101000-20250929-0001").state is CaseState.RECEIVED


def test_a_wrong_id_checksum_is_refused_before_reaching_the_station():
    with pytest.raises(InvalidIdNumber) as caught:
        validate_person(name="李四", cert_no="110105194912310021")
    assert "校验码" in caught.value.text


def test_applicants_are_found_by_full_name_or_id_number_only(
    station: Station, applicant: PersonDetails
):
    case_no = receive(station, applicant)
    for text in ("张三丰", "11010519491231002x"):
        people = find_people(station, text)
        assert [r.case_no for r in list_cases(station, CaseFilter(applicants=tuple(people)))] \
            == [case_no]
    assert find_people(station, "张三") == []  # no partial matches on personal data


def test_the_same_person_is_recorded_once(station: Station, applicant: PersonDetails):
    receive(station, applicant)
    receive(station, applicant)
    kinds = [e.kind for e in station.entries()]
    assert kinds.count("person.recorded") == 1


def test_text_search_and_item_filter(station: Station, applicant: PersonDetails):
    a = receive(station, applicant, item="LOCAL-MZ-004")
    b = receive(station, applicant, item="LOCAL-WJ-001")
    assert [r.case_no for r in list_cases(station, CaseFilter(text="临时救助"))] == [a]
    assert [r.case_no for r in list_cases(station, CaseFilter(item_code="LOCAL-WJ-001"))] == [b]
    assert [r.case_no for r in list_cases(station, CaseFilter(text=b[-9:]))] == [b]


def test_received_dates_filter_is_inclusive(station: Station, applicant: PersonDetails,
                                            clock: ManualClock):
    first = receive(station, applicant)
    clock.set(datetime(2025, 9, 30, 17, 59, tzinfo=CST))
    second = receive(station, applicant)
    got = list_cases(station, CaseFilter(received_from="2025-09-30", received_to="2025-09-30"))
    assert [r.case_no for r in got] == [second]
    got = list_cases(station, CaseFilter(received_to="2025-09-29"))
    assert [r.case_no for r in got] == [first]
