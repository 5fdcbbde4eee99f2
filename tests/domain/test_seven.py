"""七有: parsing the items and statuses, the 记录簿 figures from the log, the self-check body."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime

import pytest

from station_app.domain import seven
from station_app.domain.clock import CST
from station_app.domain.seven import RecordBook, Status
from station_app.errors import InvalidInput, MissingField, SelfCheckExists

AT = datetime(2025, 10, 31, 16, 0, tzinfo=CST)
ALL_MET = {name: Status.MET for name in seven.ITEM_NAMES if name != seven.RECORD_BOOK}


def test_items_and_statuses_are_known_by_name_or_code():
    assert [i.name for i in seven.ITEMS] == ["有场所", "有人员", "有项目", "有牌子", "有制度",
                                             "有公示栏", "有记录簿"]
    assert seven.parse_item("SIGN").name == "有牌子" and seven.parse_item(" 有场所 ").code == "SITE"
    assert seven.parse_status("部分达标") is Status.PARTIAL
    assert seven.parse_status("not_met") is Status.NOT_MET
    with pytest.raises(InvalidInput, match="有电脑"):
        seven.parse_item("有电脑")
    with pytest.raises(InvalidInput, match="达标、部分达标 或 不达标"):
        seven.parse_status("优秀")


def test_a_month_must_be_well_formed_and_not_in_the_future():
    today = date(2025, 10, 15)
    assert seven.parse_month("2025-10", today) == "2025-10"
    assert seven.parse_month("2025-09", today) == "2025-09"
    for bad in ("2025-11", "2025-13", "202510", "十月"):
        with pytest.raises(InvalidInput):
            seven.parse_month(bad, today)


def test_the_record_book_counts_the_month_and_who_was_entered_on_the_day():
    rows = [
        ("case.created", "2025-10-09T09:20:00.000+08:00", "2025-10-09T09:21:00.000+08:00"),
        # late the same evening: still the same day
        ("proxy.registered", "2025-10-09T10:00:00.000+08:00", "2025-10-09T23:59:00.000+08:00"),
        # 补录 the next morning: counted, but not on the day
        ("case.created", "2025-10-10T16:00:00.000+08:00", "2025-10-11T08:00:00.000+08:00"),
        # happened in September, typed in October: not this month's
        ("case.created", "2025-09-30T16:00:00.000+08:00", "2025-10-08T09:00:00.000+08:00"),
        # typed at 00:10 China time on 1 November (still 31 October in UTC): not the same day
        ("case.created", "2025-10-31T23:30:00.000+08:00", "2025-10-31T16:10:00.000+00:00"),
        ("case.moved", "2025-10-09T09:30:00.000+08:00", "2025-10-20T09:00:00.000+08:00"),
    ]
    book = seven.record_book(rows, "2025-10")
    assert (book.cases, book.proxies, book.same_day, book.total) == (3, 1, 2, 4)
    assert book.share == 0.5 and book.suggested() is Status.NOT_MET
    assert seven.record_book([], "2025-10").share is None
    assert RecordBook(cases=0, proxies=0, same_day=0).suggested() is Status.MET
    assert RecordBook(cases=10, proxies=0, same_day=7).suggested() is Status.PARTIAL
    assert RecordBook(cases=10, proxies=0, same_day=9).suggested() is Status.MET


def build(**overrides):
    args = dict(month="2025-10", statuses=ALL_MET, notes={}, photos={}, checked_by="李站长",
                at=AT, book=RecordBook(cases=4, proxies=0, same_day=4), earlier=0)
    return seven.build_self_check(**{**args, **overrides})


def test_a_self_check_answers_every_item_and_takes_the_record_book_from_the_figures():
    check = build(notes={"有场所": "  办公室 20 平方米 "}, photos={"有牌子": ["a" * 64]})
    body = check.to_body()
    assert [i["item"] for i in body["items"]] == list(seven.ITEM_NAMES)
    assert check.item("有记录簿").status is Status.MET  # suggested from 4 of 4 on the day
    assert check.item("有场所").note == "办公室 20 平方米"
    assert body["record_book"] == {"cases": 4, "proxies": 0, "same_day": 4, "total": 4}
    assert "reason" not in body and check.photos == ("a" * 64,)
    again = seven.self_check_from_body(body, 42)
    assert again.idx == 42 and again.items == check.items and again.record_book == check.record_book


def test_what_a_self_check_refuses():
    with pytest.raises(MissingField, match="有公示栏"):
        build(statuses={k: v for k, v in ALL_MET.items() if k != "有公示栏"})
    with pytest.raises(SelfCheckExists, match="2025-10"):
        build(earlier=1)
    assert build(earlier=1, reason="补充公示栏照片").reason == "补充公示栏照片"
    with pytest.raises(InvalidInput, match="最多 3 张"):
        build(photos={"有场所": [c * 64 for c in "abcd"]})
    with pytest.raises(InvalidInput, match="最多 12 张"):
        build(photos={n: [f"{n}{k}" for k in range(3)] for n in seven.ITEM_NAMES[:5]})
    with pytest.raises(InvalidInput, match="200"):
        build(notes={"有人员": "字" * 201})


def test_a_photo_body_must_hold_the_jpeg_its_hash_names():
    jpeg = b"\xff\xd8\xff\xe0" + bytes(100)
    photo = seven.Photo(sha256=hashlib.sha256(jpeg).hexdigest(), width=4, height=3, data=jpeg)
    body = photo.to_body()
    assert seven.photo_problem(body) is None and body["size"] == len(jpeg)
    assert seven.photo_problem({**body, "data": base64.b64encode(jpeg + b"x").decode()}) \
        == "照片内容与其 SHA-256 不符"
    png = b"\x89PNG" + bytes(10)
    assert seven.photo_problem({**body, "data": base64.b64encode(png).decode(),
                                "sha256": hashlib.sha256(png).hexdigest()}) == "照片内容不是 JPEG"
    assert seven.photo_problem({**body, "sha256": "xyz"}) == "照片缺少有效的 SHA-256"
    assert seven.photo_problem({**body, "data": "%%%"}) == "照片内容不是有效的 base64"
