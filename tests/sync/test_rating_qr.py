"""The evaluation QR code on the 办结通知书, end to end (docs/evaluation-qr.md).

A case is finished at 东坑村 (enrolled with the real county server on 127.0.0.1); the
办结通知书 is rendered to PDF and its codes are read back from the rasterised page with
zbarimg; the rating page is fetched and a 不满意 rating posted over loopback with httpx; the
station syncs and has the evaluation (channel 二维码) and an open 差评整改 loop; the county's
KPIs for the station equal the station's own. Bad input gets a clear 4xx page and stores
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from station_app.domain.audit import Period
from station_app.domain.audit.kpi import compute_kpis
from station_app.domain.audit.records import fold_station_log
from station_app.domain.clock import iso
from station_app.domain.documents import DocKind
from station_app.domain.evaluations import Channel, Level
from station_app.domain.people import PersonDetails
from station_app.domain.rating import VALID_DAYS, parse_rating_token
from station_app.domain.states import CaseState
from station_app.services.badreview import list_reviews
from station_app.services.clock import ManualClock
from station_app.services.documents import issue_document
from station_app.services.evaluations import evaluations, record_evaluation
from station_app.services.qr_ratings import qr_ratings
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.kpis import kpi_table, refresh_facts
from sync.county.service import County
from sync.session import run_sync
from tests.documents.builders import FULL_ADDRESS, FULL_ID, FULL_PHONE, ITEM_NAME, case_in
from tests.documents.pdftools import qr_codes
from tests.sync.conftest import RunningServer

TOKEN_PREFIX = "VSS1."  # the document's own verification code


@pytest.fixture
def web(county_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        yield client


def finished_case(village: Station, applicant: PersonDetails, county_clock: ManualClock
                  ) -> str:
    case_no = case_in(village, applicant, CaseState.FINISHED)
    county_clock.set(max(county_clock.now(), village.clock.now() + timedelta(minutes=5)))
    return case_no


def rating_url_on_paper(village: Station, case_no: str) -> str:
    """Render the 办结通知书 and read its codes back the way a phone would."""
    issued = issue_document(village, DocKind.FINISH_NOTICE, case_no, print_it=False)
    codes = qr_codes(issued.path, dpi=200)
    assert len(codes) == 2 and sum(c.startswith(TOKEN_PREFIX) for c in codes) == 1, codes
    (url,) = [c for c in codes if not c.startswith(TOKEN_PREFIX)]
    return url


def stored(county: County, station: str, case_no: str) -> tuple[int, int]:
    """(ratings kept for the case, messages queued for the station)."""
    with county.db.read() as tx:
        return tx.qr_ratings(station, case_no), len(tx.relay_for(station, 0, 1000))


def rate(web: httpx.Client, url: str, **form: str | list[str]) -> httpx.Response:
    return web.post(url, data={"assess": "1", **form})


def test_a_bad_rating_made_by_scanning_the_notice_reaches_the_station_and_the_county_kpis(
        village: Station, county: County, county_clock: ManualClock,
        county_server: RunningServer, transport: HttpTransport, web: httpx.Client,
        applicant: PersonDetails) -> None:
    case_no = finished_case(village, applicant, county_clock)
    url = rating_url_on_paper(village, case_no)
    assert url.startswith(county_server.url.upper() + "/R/")
    token = parse_rating_token(url.rsplit("/", 1)[1])
    assert (token.station, token.case_no) == (village.info.code, case_no)
    assert len(url) < 200  # a version 8 code at most: small enough for the notice

    early = web.get(url)  # the county learns the item from the station's log
    assert early.status_code == 200 and "事项信息尚未同步到县级" in early.text
    run_sync(village, transport)
    page = web.get(url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    text = page.text
    assert ITEM_NAME in text and case_no in text and village.info.name in text
    for level in Level:
        assert level.label in text
    for personal in (applicant.name, FULL_ID, FULL_PHONE, FULL_ADDRESS, "110***", "138****"):
        assert personal not in text

    done = rate(web, url, level="DISSATISFIED", reasons="服务态度差", comment="窗口无人")
    assert done.status_code == 200 and "评价已提交" in done.text
    assert stored(county, village.info.code, case_no) == (1, 1)
    assert evaluations(village, case_no) == []  # not there until the station syncs

    rated_at = county_clock.now()
    village.clock.set(rated_at + timedelta(hours=1))  # type: ignore[attr-defined]
    report = run_sync(village, transport)
    assert report.relay_received == 1 and not report.relay_refused
    (made,) = evaluations(village, case_no)
    assert made.channel is Channel.QR and made.level is Level.DISSATISFIED
    assert made.reasons == ("服务态度差",) and made.comment == "窗口无人"
    assert made.at == iso(rated_at)  # the county's receipt time, not the sync's
    (loop,) = list_reviews(village, village.clock.now())
    assert loop.subject == case_no and loop.level is Level.DISSATISFIED
    (taken,) = qr_ratings(village)
    assert taken.outcome == "recorded" and taken.case_no == case_no
    received = [e for e in village.entries() if e.kind == "rating.received"][0].body
    assert village.ledger.entry(received["evaluation_idx"]) is not None
    assert [e for e in village.entries(received["evaluation_idx"])][0].kind == \
        "evaluation.recorded"
    village.rebuild()  # a projection like any other: rebuilt from the log alone
    assert qr_ratings(village) == [taken] and evaluations(village, case_no) == [made]

    assert run_sync(village, transport).relay_received == 0  # nothing twice
    assert len(evaluations(village, case_no)) == 1
    refresh_facts(county.db, now=county_clock.now())
    day = county_clock.now().date()
    period = Period(date(day.year, day.month, 1), day)
    county_kpis = kpi_table(county.db, period=period, now=county_clock.now(),
                            station=village.info.code).stations[village.info.code]
    own = compute_kpis(fold_station_log(village.info.code, village.entries()).records, period,
                       village.projector.calendar(), county_clock.now())
    for code in ("evaluation_rate", "satisfaction_rate"):  # 满意度评议率, 群众满意率
        assert (county_kpis[code].numerator, county_kpis[code].denominator) == \
            (own[code].numerator, own[code].denominator), code
    assert county_kpis["evaluation_rate"].value == 1.0
    assert county_kpis["satisfaction_rate"].value == 0.0


def test_a_followup_is_offered_after_the_first_rating_and_a_second_first_rating_is_refused(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, web: httpx.Client, applicant: PersonDetails) -> None:
    case_no = finished_case(village, applicant, county_clock)
    url = rating_url_on_paper(village, case_no)
    assert rate(web, url, level="SATISFIED").status_code == 200

    again = rate(web, url, level="VERY_SATISFIED")  # a second 首评 (e.g. a stale form)
    assert again.status_code == 409 and "已经评价过" in again.text
    assert stored(county, village.info.code, case_no) == (1, 1)
    page = web.get(url)
    assert "请对本次服务作出追评" in page.text and 'name="assess" value="2"' in page.text
    assert web.post(url, data={"assess": "2", "level": "VERY_SATISFIED"}).status_code == 200

    run_sync(village, transport)
    assert [(e.assess_number, e.level, e.channel) for e in evaluations(village, case_no)] == \
        [(1, Level.SATISFIED, Channel.QR), (2, Level.VERY_SATISFIED, Channel.QR)]


def test_a_rating_the_station_refuses_is_recorded_as_refused_and_does_not_stop_the_sync(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, web: httpx.Client, applicant: PersonDetails) -> None:
    case_no = finished_case(village, applicant, county_clock)
    url = rating_url_on_paper(village, case_no)
    # The applicant already rated at the window; the county cannot know that.
    record_evaluation(village, case_no, Level.SATISFIED, Channel.WINDOW_DEVICE)
    assert rate(web, url, level="BASIC").status_code == 200

    report = run_sync(village, transport)
    assert not report.relay_refused  # taken in, and noted as refused: never blocks the queue
    (refused,) = qr_ratings(village, refused_only=True)
    assert refused.case_no == case_no and refused.level is Level.BASIC
    assert "已经有首次评价" in refused.reason
    assert [e.channel for e in evaluations(village, case_no)] == [Channel.WINDOW_DEVICE]
    (logged,) = [e.body for e in village.entries() if e.kind == "rating.received"]
    assert (logged["outcome"], logged["evaluation_idx"]) == ("refused", None)
    assert logged["reason"] == refused.reason  # the county reads why, from the log


@pytest.mark.parametrize("form, status, words", [
    ({"level": "GREAT"}, 400, "请选择满意程度"),
    ({"level": "DISSATISFIED"}, 400, "差评的原因或文字说明"),
    ({"level": "SATISFIED", "reasons": "不认识的原因"}, 400, "差评原因无法识别"),
    ({"level": "SATISFIED", "comment": "好" * 501}, 400, "500"),
    ({"level": "SATISFIED", "extra": "x"}, 400, "无法识别"),
    ({"level": "SATISFIED", "assess": "2"}, 409, "已经评价过"),
])
def test_bad_input_gets_a_clear_page_and_stores_nothing(
        village: Station, county: County, county_clock: ManualClock, web: httpx.Client,
        applicant: PersonDetails, form: dict[str, str], status: int, words: str) -> None:
    case_no = finished_case(village, applicant, county_clock)
    url = rating_url_on_paper(village, case_no)
    answer = web.post(url, data={"assess": "1", **form})
    assert answer.status_code == status and words in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert stored(county, village.info.code, case_no) == (0, 0)


def test_forged_expired_and_oversized_requests_are_refused(
        village: Station, county: County, county_clock: ManualClock, web: httpx.Client,
        applicant: PersonDetails) -> None:
    case_no = finished_case(village, applicant, county_clock)
    url = rating_url_on_paper(village, case_no)
    base, token = url.rsplit("/", 1)
    # Another case number under the same signature, and a flipped signature character.
    other = case_no[:-1] + ("2" if case_no[-1] != "2" else "3")
    forged = parse_rating_token(token)
    relabelled = type(forged)(station=forged.station, case_no=other, expires=forged.expires,
                              signature=forged.signature).text()
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (relabelled, flipped, "NOTATOKEN", "A" * 300):
        for answer in (web.get(f"{base}/{bad}"), rate(web, f"{base}/{bad}", level="SATISFIED")):
            assert answer.status_code == 404 and "二维码无效" in answer.text
    big = web.post(url, content=b"level=SATISFIED&comment=" + b"x" * 10_000,
                   headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413 and "太长" in big.text

    county_clock.set(county_clock.now() + timedelta(days=VALID_DAYS + 1))
    late = rate(web, url, level="SATISFIED")
    assert late.status_code == 410 and "已过评价期限" in late.text
    assert stored(county, village.info.code, case_no) == (0, 0)


def test_too_many_requests_for_one_code_are_slowed_down(
        village: Station, county: County, county_clock: ManualClock, web: httpx.Client,
        applicant: PersonDetails) -> None:
    case_no = finished_case(village, applicant, county_clock)
    url = rating_url_on_paper(village, case_no)
    statuses = [web.get(url).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_a_station_not_enrolled_prints_no_rating_code(
        station: Station, applicant: PersonDetails) -> None:
    case_no = case_in(station, applicant, CaseState.FINISHED)
    issued = issue_document(station, DocKind.FINISH_NOTICE, case_no, print_it=False)
    (only,) = qr_codes(issued.path, dpi=200)
    assert only.startswith(TOKEN_PREFIX)
