"""Personal data is sealed in the log, masked on screen, unmasked on record, erasable."""

from __future__ import annotations

import json

import pytest

from station_app.domain.documents import DocKind
from station_app.domain.people import ERASED_LABEL, PersonDetails
from station_app.domain.states import CaseState
from station_app.errors import MissingField, PersonErased
from station_app.services.cases import CaseRequest, add_case, get_case, move_case
from station_app.services.doc_context import gather
from station_app.services.ledger import verify_folder
from station_app.services.people import erase_person, find_people, open_about, unmask
from station_app.services.station import Station
from station_app.store.queries import masked_person
from tests.services.test_rebuild import projection_dump

SECRETS = ("张三丰", "11010519491231002X", "13812341234", "东坑村3组12号")


def database_bytes(station: Station) -> bytes:
    station.db.execute("PRAGMA wal_checkpoint(FULL)")
    folder = station.folder
    return b"".join(p.read_bytes() for p in folder.glob("station.db*"))


def test_no_personal_value_is_stored_in_clear_anywhere_in_the_database(
    station: Station, applicant: PersonDetails
):
    add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    raw = database_bytes(station)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
    log_text = b"".join(e.encode() for e in station.entries())
    assert "张".encode() not in log_text.replace("张*丰".encode(), b"")


def test_screens_get_masked_values(station: Station, applicant: PersonDetails):
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    shown = masked_person(station.db, case.applicant)
    assert shown == {"name": "张*丰", "cert_type": "111", "cert_no": "110***********002X",
                     "phone": "138****1234", "address": "青石镇东坑村****", "erased": False}


def test_unmasking_needs_a_reason_and_is_itself_logged(station: Station,
                                                       applicant: PersonDetails):
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    with pytest.raises(MissingField):
        unmask(station, case.applicant, reason=" ")
    shown = unmask(station, case.applicant, reason="申请人来电核对身份")
    assert shown.details == applicant
    last = list(station.entries())[-1]
    assert (last.kind, last.actor) == ("person.unmasked", "clerk-li")
    assert last.body["reason"] == "申请人来电核对身份"
    assert "张三丰" not in json.dumps(last.body, ensure_ascii=False)


def test_erasing_a_person_keeps_the_log_valid_and_their_data_unreadable(
    station: Station, applicant: PersonDetails
):
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    before = verify_folder(station.folder)
    erase_person(station, case.applicant, reason="本人依《个人信息保护法》第四十七条申请删除")
    after = verify_folder(station.folder)
    assert before.ok and after.ok
    assert after.entries == before.entries + 1  # the erasure itself is on record
    with pytest.raises(PersonErased):
        unmask(station, case.applicant, reason="核对")
    assert masked_person(station.db, case.applicant)["name"] == ERASED_LABEL
    assert find_people(station, "张三丰") == []
    assert get_case(station, case.case_no).applicant == case.applicant  # the case remains


def test_rebuilding_after_an_erasure_still_shows_the_person_erased(
    station: Station, applicant: PersonDetails
):
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    erase_person(station, case.applicant, reason="依法删除")
    before = projection_dump(station)
    station.rebuild()
    assert projection_dump(station) == before
    assert masked_person(station.db, case.applicant)["erased"] is True


DISABILITY_CARD = "11010519491231002X42"  # 残疾人证号: the holder's ID number and two digits


def test_a_licence_number_issued_to_the_applicant_is_sealed_in_the_log_and_printed_whole(
    station: Station, applicant: PersonDetails
):
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    move_case(station, case.case_no, CaseState.ACCEPTED)
    move_case(station, case.case_no, CaseState.FINISHED,
              details={"outcome": "APPROVED", "cert_name": "残疾人证", "cert_no": DISABILITY_CARD})
    finished = list(station.entries())[-1].body["details"]
    assert "cert_no" not in finished and finished["cert_no_masked"] == "110*************2X42"
    assert DISABILITY_CARD.encode() not in database_bytes(station)
    notice = gather(station, DocKind.FINISH_NOTICE, case.case_no)
    assert notice.groups["result"]["cert_no"] == DISABILITY_CARD

    erase_person(station, case.applicant, reason="依法删除")
    assert open_about(station, case.applicant, "cert_no", finished["cert_no_sealed"]) is None
