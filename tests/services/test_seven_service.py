"""七有自查 on a real station: photos re-encoded into the log, the 记录簿 from the ledger,
refusals that write nothing."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from station_app.domain import seven
from station_app.domain.people import PersonDetails
from station_app.domain.seven import Status
from station_app.errors import (
    InvalidInput,
    MissingField,
    PhotoInvalid,
    PhotoTooLarge,
    SelfCheckExists,
)
from station_app.media import MAX_INPUT_BYTES, MAX_OUTPUT_BYTES, MAX_SIDE
from station_app.services.cases import CaseRequest, add_case
from station_app.services.clock import ManualClock
from station_app.services.seven import (
    PhotoFile,
    check_dict,
    latest_self_check,
    photo_bytes,
    record_self_check,
)
from station_app.services.station import Station
from tests.photos import write_photo

MET = {name: "达标" for name in seven.ITEM_NAMES if name != seven.RECORD_BOOK}


def test_a_self_check_with_photos_writes_them_reencoded_and_references_them_by_hash(
        station: Station, tmp_path: Path):
    sign = write_photo(tmp_path / "sign.jpg", "JPEG", width=4000, height=3000)
    board = write_photo(tmp_path / "board.png", "PNG", seed=2)
    before = station.ledger.size()

    check = record_self_check(
        station, month="2025-09", statuses={**MET, "有公示栏": "部分达标"},
        notes={"BOARD": "公示内容未更新到九月"},
        photos=[PhotoFile("有牌子", sign), PhotoFile("BOARD", board, "门口公示栏")])

    kinds = [e.kind for e in station.entries(before)]
    assert kinds == [seven.PHOTO, seven.PHOTO, seven.CHECKED]
    photos = [e for e in station.entries(before) if e.kind == seven.PHOTO]
    for entry in photos:
        data = base64.b64decode(entry.body["data"])
        assert hashlib.sha256(data).hexdigest() == entry.body["sha256"]
        assert seven.photo_problem(entry.body) is None and entry.body["mime"] == "image/jpeg"
        assert len(data) <= MAX_OUTPUT_BYTES and len(entry.encode()) < 1.4 * MAX_OUTPUT_BYTES
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG" and max(im.size) <= MAX_SIDE
            assert im.size == (entry.body["width"], entry.body["height"])
            assert not im.getexif()  # no metadata travels
    assert photos[0].body["width"] == MAX_SIDE and photos[0].body["height"] == 960
    assert photos[1].body["note"] == "门口公示栏"
    assert check.item("有牌子").photos == (photos[0].body["sha256"],)
    assert check.item("有公示栏").status is Status.PARTIAL
    assert check.item("有公示栏").note == "公示内容未更新到九月"
    assert photo_bytes(station, photos[1].body["sha256"]) == base64.b64decode(
        photos[1].body["data"])
    assert latest_self_check(station) == check == latest_self_check(station, "2025-09")
    view = check_dict(station, check)
    assert view["not_met"] == ["有公示栏"] and view["items"][3]["photos"][0]["stored"]


def test_the_record_book_comes_from_the_ledger(station: Station, clock: ManualClock,
                                               applicant: PersonDetails):
    add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    clock.advance(days=1)
    late = clock.now().replace(day=clock.now().day - 1)  # 补录: yesterday's case typed today
    add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant, at=late))
    check = record_self_check(station, month="2025-09", statuses=MET)
    assert check.record_book.to_body() == {"cases": 2, "proxies": 0, "same_day": 1, "total": 2}
    assert check.item("有记录簿").status is Status.NOT_MET  # 50 % on the day
    assert record_self_check(station, month="2025-09", statuses={**MET, "有记录簿": "部分达标"},
                             reason="记录簿按实际情况改为部分达标").item("有记录簿").status \
        is Status.PARTIAL


def test_the_same_photo_is_stored_once_and_a_correction_needs_a_reason(
        station: Station, tmp_path: Path):
    sign = write_photo(tmp_path / "sign.jpg")
    first = record_self_check(station, month="2025-09", statuses=MET,
                              photos=[PhotoFile("有牌子", sign)])
    size = station.ledger.size()
    with pytest.raises(SelfCheckExists):
        record_self_check(station, month="2025-09", statuses=MET,
                          photos=[PhotoFile("有牌子", sign)])
    assert station.ledger.size() == size
    second = record_self_check(station, month="2025-09", statuses=MET, reason="补拍场所照片",
                               photos=[PhotoFile("有牌子", sign), PhotoFile("有场所", sign)])
    assert station.ledger.size() == size + 1  # the photo was already in the log
    assert second.item("有场所").photos == first.item("有牌子").photos
    assert latest_self_check(station, "2025-09").idx == second.idx
    assert check_dict(station, second)["corrections"] == 1 and second.reason == "补拍场所照片"


@pytest.mark.parametrize("make,error,words", [
    (lambda p: p.write_bytes(b"%PDF-1.4 not a photo"), PhotoInvalid, "不是 JPEG 或 PNG"),
    (lambda p: Image.new("RGB", (40, 30)).save(p, "GIF"), PhotoInvalid, "只接受 JPEG 或 PNG"),
    (lambda p: p.write_bytes(write_photo(p).read_bytes()[:5000]), PhotoInvalid, "损坏"),
    (lambda p: p.write_bytes(b"\xff" * (MAX_INPUT_BYTES + 1)), PhotoTooLarge, "太大"),
    (lambda p: None, PhotoInvalid, "文件不存在"),
])
def test_a_bad_photo_is_refused_and_nothing_is_written(station: Station, tmp_path: Path,
                                                       make, error, words):
    path = tmp_path / "photo.jpg"
    make(path)
    size = station.ledger.size()
    with pytest.raises(error) as caught:
        record_self_check(station, month="2025-09", statuses=MET,
                          photos=[PhotoFile("有牌子", path)])
    assert words in caught.value.text and str(path) in caught.value.text
    assert station.ledger.size() == size and latest_self_check(station) is None


def test_bad_requests_are_refused_and_nothing_is_written(station: Station, tmp_path: Path):
    size = station.ledger.size()
    good = write_photo(tmp_path / "ok.jpg")
    for call, error in [
        (dict(statuses={**MET, "有电脑": "达标"}), InvalidInput),
        (dict(statuses={**MET, "有场所": "很好"}), InvalidInput),
        (dict(statuses={k: v for k, v in MET.items() if k != "有制度"},
              photos=[PhotoFile("有牌子", good)]), MissingField),
        (dict(statuses=MET, photos=[PhotoFile("有电脑", good)]), InvalidInput),
        (dict(statuses=MET, month="2025-10"), InvalidInput),  # not yet: today is 29 Sept
    ]:
        with pytest.raises(error):
            record_self_check(station, **{"month": "2025-09", **call})
    assert station.ledger.size() == size
