"""Issuing documents through the service: what the paper says, how it is numbered, what the
log records, and which documents a case's state does not allow.

Documents are rendered with ``print_it=False`` (saved, not printed) and read back with
``pdftotext``, as an applicant or an inspector would read them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.clock import CST
from station_app.domain.documents import DocKind
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import (
    DocumentNotAllowed,
    InvalidInput,
    MissingField,
    PersonErased,
    PrinterUnknown,
    StationError,
)
from station_app.services.cases import get_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.demo import DEMO_PROFILE
from station_app.services.doc_templates import load_templates
from station_app.services.doc_verify import verify_token
from station_app.services.documents import (
    CONTENT_PREFIX,
    Issued,
    issue_document,
    notice_board_outdated,
)
from station_app.services.people import erase_person, open_person
from station_app.services.profile import add_agent, set_profile
from station_app.services.proxy import get_proxy, list_proxies, move_proxy
from station_app.services.station import Station
from station_app.store.queries import CaseFilter, ProxyFilter, documents_about, search_cases
from tests.documents.builders import (
    AGENT,
    DECISION_DUE,
    FULL_ADDRESS,
    FULL_ID,
    FULL_PHONE,
    ITEM_NAME,
    LEGAL_DUE,
    MASKED_ID,
    MASKED_PHONE,
    PROMISED_DUE,
    REJECTION,
    case_in,
    proxy_entry,
    subject_for,
)
from tests.documents.pdftools import page_text, pdf_info

K = DocKind


@pytest.fixture
def town(station: Station) -> Station:
    """The conftest town station with its public profile filled in (phones, appeal bodies)."""
    set_profile(station, DEMO_PROFILE, reason="开通文书")
    return station


def issue(station: Station, kind: DocKind, subject: str = "", **kw: Any) -> Issued:
    return issue_document(station, kind, subject, print_it=False, **kw)


def last_entry(station: Station) -> Any:
    return next(station.entries(station.ledger.size() - 1))


def embedded_content(path: Path) -> dict[str, Any]:
    """The document's content as embedded in the PDF (what the token's digest covers)."""
    prefix = re.escape(CONTENT_PREFIX.encode())
    found = re.search(rb"/Subject \(" + prefix + rb"([A-Za-z0-9+/=]+)\)",
                      path.read_bytes())
    assert found, f"no embedded content in {path.name}"
    return json.loads(base64.b64decode(found[1]))


def no_documents(station: Station) -> bool:
    folder = station.folder / "documents"
    return not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


# ---------------------------------------------------------------------------- every kind

EXPECTED = {  # besides the title, the 文书编号 and the subject's number
    K.RECEIPT: (ITEM_NAME, "张三丰", MASKED_ID, MASKED_PHONE, DECISION_DUE, "居民身份证",
                "困难情况说明", "窗口收件"),
    K.ACCEPT_NOTICE: (ITEM_NAME, "张三丰：", MASKED_ID, "clerk-li", PROMISED_DUE, LEGAL_DUE,
                      "10个工作日", "15个工作日"),
    K.SUPPLEMENT_NOTICE: (ITEM_NAME, "张三丰：", "户口簿：复印件不清晰", "申请表：未签名",
                          "第1次告知"),
    K.REJECT_NOTICE: (ITEM_NAME, "张三丰：", REJECTION["reason"], REJECTION["legal_basis"],
                      "示范县人民政府申请行政复议", "示范县人民法院提起行政诉讼"),
    K.FINISH_NOTICE: (ITEM_NAME, "张三丰：", "准予办理（出证办结）", "临时救助金发放通知",
                      PROMISED_DUE),
    K.PROXY_SLIP: (ITEM_NAME, "张三丰", MASKED_ID, MASKED_PHONE, AGENT, "东坑村3组",
                   "2025年10月10日前报送", "2025年10月23日前告知", "全程免费"),
    K.PROXY_DONE: (ITEM_NAME, "张三丰", AGENT, "已办结，救助金已发放"),
    K.NOTICE_BOARD: (AGENT, "13905710011", "东坑村", ITEM_NAME, "残疾人证新办",
                     "全程免费代办承诺", "0000-6801000"),
}
PREFIX = {K.RECEIPT: "收", K.ACCEPT_NOTICE: "受", K.SUPPLEMENT_NOTICE: "补",
          K.REJECT_NOTICE: "不受", K.FINISH_NOTICE: "结", K.PROXY_SLIP: "代",
          K.PROXY_DONE: "代结", K.NOTICE_BOARD: "公"}
NEVER = (FULL_ID, FULL_PHONE, FULL_ADDRESS, "东坑村3组12号")


@pytest.mark.parametrize("kind", list(DocKind), ids=[k.value for k in DocKind])
def test_every_kind_renders_what_it_must_say(town: Station, applicant: PersonDetails,
                                             kind: DocKind) -> None:
    subject = subject_for(town, kind, applicant)

    issued = issue(town, kind, subject)

    assert issued.doc_no == f"青石镇{PREFIX[kind]}〔2025〕1号"
    assert (issued.kind, issued.subject, issued.copy, issued.reprint) == (kind, subject, 1, False)
    assert (issued.printer, issued.job) == ("", "")
    assert issued.path.parent == town.folder / "documents" / "2025"
    text = page_text(issued.path)
    assert kind.label in text and issued.doc_no in text
    assert subject in text  # case or proxy number ("" for the notice board)
    assert "2025年9月29日" in text  # the date of issue, which the token carries too
    for expected in EXPECTED[kind]:
        assert expected in text, f"{expected!r} missing from the {kind.value}"
    for secret in NEVER:
        assert secret not in text, f"{secret!r} printed in full on the {kind.value}"


@pytest.mark.parametrize("kind", [K.RECEIPT, K.PROXY_SLIP, K.ACCEPT_NOTICE])
def test_full_personal_data_is_nowhere_in_the_file(town: Station, applicant: PersonDetails,
                                                   kind: DocKind) -> None:
    issued = issue(town, kind, subject_for(town, kind, applicant))
    raw = issued.path.read_bytes()
    content = embedded_content(issued.path)

    masked = {"name": "张三丰", "cert_type": "居民身份证", "cert_no": MASKED_ID,
              "phone": MASKED_PHONE, "address": "青石镇东坑村****"}
    # only what the document prints is embedded, each value as printed (masked)
    assert content["applicant"]["cert_no"] == MASKED_ID
    assert content["applicant"].items() <= masked.items()
    assert "address" not in content["applicant"]  # none of these three prints the address
    dumped = json.dumps(content, ensure_ascii=False)
    for secret in NEVER:
        assert secret not in dumped and secret.encode() not in raw


def test_the_notice_board_never_shows_any_applicant(town: Station,
                                                    applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.ACCEPTED)
    proxy_no = proxy_entry(town, applicant, result_back=False)
    add_agent(town, name=AGENT, role="村级代办员", phone="13905710011", village="东坑村")

    issued = issue(town, K.NOTICE_BOARD)

    text = page_text(issued.path)
    content = embedded_content(issued.path)
    assert issued.subject == "" and AGENT in text
    for private in ("张三丰", "张*丰", MASKED_ID, "110***", FULL_ID, MASKED_PHONE, case_no,
                    proxy_no):
        assert private not in text
        assert private not in json.dumps(content, ensure_ascii=False)
    assert "applicant" not in content


def test_the_notice_board_on_the_wall_goes_out_of_date_when_what_it_shows_changes(
        town: Station) -> None:
    assert notice_board_outdated(town) is None  # never printed
    add_agent(town, name=AGENT, role="村级代办员", phone="13905710011", village="东坑村")
    issue(town, K.NOTICE_BOARD)
    assert notice_board_outdated(town) is False
    add_agent(town, name="陈建国", role="村级代办员", phone="13905710022", village="西溪村")
    assert notice_board_outdated(town) is True
    reprinted = issue(town, K.NOTICE_BOARD)
    assert notice_board_outdated(town) is False and "陈建国" in page_text(reprinted.path)
    issue(town, K.NOTICE_BOARD)  # a reprint of the same board changes nothing
    assert notice_board_outdated(town) is False


def test_a_notice_can_go_on_the_roll_and_a_receipt_on_a4(town: Station,
                                                         applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.ACCEPTED)

    notice = issue(town, K.ACCEPT_NOTICE, case_no, paper="roll80")
    receipt = issue(town, K.RECEIPT, case_no, paper="a4")

    assert pdf_info(notice.path).width == pytest.approx(226.77, abs=0.01)
    assert pdf_info(receipt.path).width == pytest.approx(595.28, abs=0.01)
    assert load_templates(K.RECEIPT).body.paper == "roll80"  # the default is the other one


def test_the_notice_board_is_a4_only(town: Station) -> None:
    size = town.ledger.size()

    with pytest.raises(InvalidInput, match="a4"):
        issue(town, K.NOTICE_BOARD, paper="roll80")

    assert town.ledger.size() == size and no_documents(town)


# ---------------------------------------------------------------------------- numbers


def test_numbers_run_per_kind_and_per_year(town: Station, applicant: PersonDetails,
                                           clock: ManualClock) -> None:
    first = case_in(town, applicant, CaseState.ACCEPTED)
    second = case_in(town, applicant, CaseState.RECEIVED)

    numbers = [issue(town, K.RECEIPT, first).doc_no, issue(town, K.RECEIPT, second).doc_no,
               issue(town, K.ACCEPT_NOTICE, first).doc_no]
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=CST))
    numbers.append(issue(town, K.RECEIPT, case_in(town, applicant, CaseState.RECEIVED)).doc_no)

    assert numbers == ["青石镇收〔2025〕1号", "青石镇收〔2025〕2号", "青石镇受〔2025〕1号",
                       "青石镇收〔2026〕1号"]
    for number in numbers:
        assert re.fullmatch(r"青石镇(收|受)〔20\d\d〕[1-9]\d*号", number)


def test_the_short_name_comes_from_the_station_profile(town: Station,
                                                       applicant: PersonDetails) -> None:
    set_profile(town, {"short_name": "青石镇便民中心"}, reason="文书简称")

    issued = issue(town, K.RECEIPT, case_in(town, applicant, CaseState.RECEIVED))

    assert issued.doc_no == "青石镇便民中心收〔2025〕1号"


def test_issuing_the_same_document_again_is_a_reprint(town: Station,
                                                      applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.RECEIVED)
    first = issue(town, K.RECEIPT, case_no)
    size = town.ledger.size()

    again = issue(town, K.RECEIPT, case_no)

    assert (again.doc_no, again.doc_id, again.token) == (first.doc_no, first.doc_id, first.token)
    assert (again.copy, again.reprint) == (2, True)
    assert again.path != first.path and first.path.is_file()
    text, original = page_text(again.path), page_text(first.path)
    assert "补打" in text and "第2份" in text
    assert "补打" not in original and "第1份" in original
    assert town.ledger.size() == size + 1
    entry = last_entry(town)
    assert entry.kind == "doc.printed" and entry.actor == "clerk-li"
    assert entry.body["reprint"] is True and entry.body["copy"] == 2
    assert entry.body["doc_id"] == first.doc_id
    assert entry.body["pdf_sha256"] == hashlib.sha256(again.path.read_bytes()).hexdigest()
    [record] = documents_about(town.db, case_no)
    assert (record.doc_no, record.copies) == (first.doc_no, 2)


def test_a_reprint_on_another_day_keeps_the_date_of_issue(town: Station, clock: ManualClock,
                                                          applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.RECEIVED)
    first = issue(town, K.RECEIPT, case_no)
    clock.set(datetime(2025, 9, 30, 15, 30, tzinfo=CST))

    again = issue(town, K.RECEIPT, case_no)

    assert again.token == first.token
    text = page_text(again.path)
    assert "2025年9月29日" in text and "2025-09-3015:30" in text  # issued, and printed


def test_changed_facts_make_a_new_document_with_a_new_number(town: Station,
                                                             applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.SUPPLEMENT)
    first = issue(town, K.SUPPLEMENT_NOTICE, case_no)
    move_case(town, case_no, CaseState.RECEIVED)
    move_case(town, case_no, CaseState.SUPPLEMENT,
              details={"missing": [{"name": "银行卡复印件", "reason": "缺少"}]})

    second = issue(town, K.SUPPLEMENT_NOTICE, case_no)

    assert (first.doc_no, second.doc_no) == ("青石镇补〔2025〕1号", "青石镇补〔2025〕2号")
    assert second.doc_id != first.doc_id and second.token != first.token
    assert (second.copy, second.reprint) == (1, False)
    text = page_text(second.path)
    assert "银行卡复印件：缺少" in text and "第2次告知" in text and "补打" not in text
    assert last_entry(town).kind == "doc.issued"


def test_a_new_agent_on_the_notice_board_is_a_new_notice(town: Station) -> None:
    add_agent(town, name=AGENT, role="村级代办员", phone="13905710011", village="东坑村")
    first = issue(town, K.NOTICE_BOARD)
    add_agent(town, name="陈建国", role="村级代办员", phone="13905710022", village="西溪村")

    second = issue(town, K.NOTICE_BOARD)

    assert (first.doc_no, second.doc_no) == ("青石镇公〔2025〕1号", "青石镇公〔2025〕2号")
    assert "陈建国" in page_text(second.path) and "陈建国" not in page_text(first.path)


# ---------------------------------------------------------------------------- the log


def test_every_issue_appends_one_doc_issued_entry(town: Station,
                                                  applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.ACCEPTED)
    size = town.ledger.size()

    issued = issue(town, K.ACCEPT_NOTICE, case_no)

    assert town.ledger.size() == size + 1
    entry = last_entry(town)
    body = entry.body
    assert entry.kind == "doc.issued" and entry.actor == "clerk-li"
    assert body["pdf_sha256"] == hashlib.sha256(issued.path.read_bytes()).hexdigest()
    assert body["pdf_sha256"] == issued.pdf_sha256
    assert (body["doc_no"], body["kind"], body["subject"]) == (
        issued.doc_no, "accept-notice", case_no)
    assert (body["copy"], body["reprint"], body["output"], body["printer"]) == (
        1, False, "file", "")
    assert (body["file"], body["issued_on"], body["seq"]) == (issued.path.name, "2025-09-29", 1)
    assert {body["template"][part] for part in ("header", "body", "footer")} == {"2025.1"}
    assert len(body["template"]["sha256"]) == 64
    assert issued.token.split(".")[6] == body["content_sha256"][:24]
    assert FULL_ID not in json.dumps(body) and "张三丰" not in json.dumps(body,
                                                                        ensure_ascii=False)


def test_the_actor_is_whoever_is_at_the_window(town: Station, applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.RECEIVED)
    town.actor = "clerk-wang"

    issued = issue(town, K.RECEIPT, case_no)

    assert last_entry(town).actor == "clerk-wang"
    assert "经办：clerk-wang" in page_text(issued.path)


# ---------------------------------------------------------------------------- refusals

REFUSALS = [  # (kind, the subject's state, the reason the message must give)
    (K.FINISH_NOTICE, CaseState.IN_PROGRESS, "只有已办结的办件才出具办结通知书"),
    (K.FINISH_NOTICE, CaseState.ACCEPTED, "只有已办结的办件才出具办结通知书"),
    (K.FINISH_NOTICE, CaseState.WITHDRAWN, "只有已办结的办件才出具办结通知书"),
    (K.REJECT_NOTICE, CaseState.RECEIVED, "只有不予受理的办件才出具不予受理通知书"),
    (K.REJECT_NOTICE, CaseState.FINISHED, "只有不予受理的办件才出具不予受理通知书"),
    (K.SUPPLEMENT_NOTICE, CaseState.ACCEPTED, "没有要求补正材料"),
    (K.ACCEPT_NOTICE, CaseState.RECEIVED, "尚未受理"),
    (K.ACCEPT_NOTICE, CaseState.REJECTED, "尚未受理"),
    (K.RECEIPT, CaseState.DRAFT, "尚未收件"),
    (K.RECEIPT, CaseState.VOID, "作废"),
    (K.ACCEPT_NOTICE, CaseState.VOID, "作废"),
    (K.SUPPLEMENT_NOTICE, CaseState.VOID, "作废"),
    (K.REJECT_NOTICE, CaseState.VOID, "作废"),
    (K.FINISH_NOTICE, CaseState.VOID, "作废"),
    (K.PROXY_DONE, ProxyState.REGISTERED, "结果尚未取回"),
    (K.PROXY_DONE, ProxyState.SUBMITTED, "结果尚未取回"),
]


def _subject_in(station: Station, person: PersonDetails, state: CaseState | ProxyState) -> str:
    if isinstance(state, CaseState):
        return case_in(station, person, state)
    proxy_no = proxy_entry(station, person, result_back=False)
    if state is ProxyState.SUBMITTED:
        move_proxy(station, proxy_no, ProxyState.SUBMITTED)
    return proxy_no


@pytest.mark.parametrize(("kind", "state", "reason"), REFUSALS,
                         ids=[f"{k.value}-{s.value}" for k, s, _ in REFUSALS])
def test_a_document_the_state_does_not_allow_is_refused_and_nothing_is_written(
        town: Station, applicant: PersonDetails, kind: DocKind, state: CaseState | ProxyState,
        reason: str) -> None:
    subject = _subject_in(town, applicant, state)
    size = town.ledger.size()

    with pytest.raises(DocumentNotAllowed) as caught:
        issue(town, kind, subject)

    error = caught.value
    assert error.code == "DOCUMENT_NOT_ALLOWED" and error.field == "kind"
    assert reason in error.text
    assert subject in error.text and state.label in error.text and kind.label in error.text
    assert kind.value in error.text_en and state.value in error.text_en
    assert town.ledger.size() == size
    assert no_documents(town)
    assert documents_about(town.db, subject) == []


def test_an_erased_persons_case_gets_no_document(town: Station,
                                                 applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.RECEIVED)
    issued = issue(town, K.RECEIPT, case_no)
    erase_person(town, get_case(town, case_no).applicant, reason="本人申请删除个人信息")
    size = town.ledger.size()

    with pytest.raises(PersonErased):  # not even a reprint of what was issued before
        issue(town, K.RECEIPT, case_no)
    move_case(town, case_no, CaseState.ACCEPTED)  # the case itself goes on
    with pytest.raises(PersonErased):  # but nothing new is addressed to the erased person
        issue(town, K.ACCEPT_NOTICE, case_no)

    assert town.ledger.size() == size + 1  # the move, and nothing else
    assert sorted(p.name for p in (town.folder / "documents").rglob("*.pdf")) == [
        issued.path.name]


def test_an_unknown_printer_is_refused_before_anything_is_written(
        town: Station, applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.RECEIVED)
    size = town.ledger.size()

    with pytest.raises(PrinterUnknown) as caught:
        issue_document(town, K.RECEIPT, case_no, printer="NoSuchPrinter")

    assert caught.value.code == "PRINTER_UNKNOWN" and "NoSuchPrinter" in caught.value.text
    assert town.ledger.size() == size and no_documents(town)


# ---------------------------------------------------------------------------- demo station


def _allowed(kind: DocKind, case: Any) -> bool:
    """The rules as a table: what a clerk may print for a case in each situation."""
    if case.state in (CaseState.DRAFT, CaseState.VOID):
        return False
    return {K.RECEIPT: True, K.ACCEPT_NOTICE: case.accepted_at is not None,
            K.SUPPLEMENT_NOTICE: case.supplements > 0,
            K.REJECT_NOTICE: case.state is CaseState.REJECTED,
            K.FINISH_NOTICE: case.state is CaseState.FINISHED}[kind]


@pytest.fixture
def demo_cases(demo: Station) -> list[Any]:
    """One demo case in each state (the demo makes at least one of each)."""
    rows = search_cases(demo.db, CaseFilter(limit=1000))
    by_state = {row.state: row.case_no for row in rows}
    assert set(by_state) == {s.value for s in CaseState}
    return [get_case(demo, case_no) for case_no in by_state.values()]


CASE_KINDS = [k for k in DocKind if k.subject == "case"]


def test_demo_cases_get_exactly_the_documents_their_state_allows(
        demo: Station, demo_cases: list[Any]) -> None:
    rendered = set()
    for case in demo_cases:
        person = open_person(demo, case.applicant)
        for kind in CASE_KINDS:
            if not _allowed(kind, case):
                with pytest.raises(DocumentNotAllowed):
                    issue(demo, kind, case.case_no)
                continue
            issued = issue(demo, kind, case.case_no)
            rendered.add(kind)
            text = page_text(issued.path)
            assert case.case_no in text and case.item.name in text and issued.doc_no in text
            assert person.name in text
            assert person.cert_no not in text and person.phone not in text
            if kind in (K.RECEIPT, K.ACCEPT_NOTICE):
                assert f"{person.cert_no[:3]}{'*' * 11}{person.cert_no[-4:]}" in text
    assert rendered == set(CASE_KINDS)
    assert documents_about(demo.db, None) and all(d.copies == 1
                                                  for d in documents_about(demo.db, None))


def test_demo_proxy_entries_get_a_slip_and_once_back_a_done_slip(demo: Station) -> None:
    by_state = {row.state: row.proxy_no for row in list_proxies(demo, ProxyFilter(limit=1000))}
    done = {"RESULT_RECEIVED", "DELIVERED"}
    assert done & set(by_state) and set(by_state) - done, by_state  # some back, some not
    for state, proxy_no in by_state.items():
        entry = get_proxy(demo, proxy_no)
        slip = issue(demo, K.PROXY_SLIP, proxy_no)
        assert proxy_no in page_text(slip.path) and entry.item.name in page_text(slip.path)
        if state in done:
            done_slip = issue(demo, K.PROXY_DONE, proxy_no)
            assert entry.result in page_text(done_slip.path)
        else:
            with pytest.raises(DocumentNotAllowed, match="结果尚未取回"):
                issue(demo, K.PROXY_DONE, proxy_no)


def test_a_refusal_is_a_station_error_with_both_languages(town: Station,
                                                          applicant: PersonDetails) -> None:
    case_no = case_in(town, applicant, CaseState.ACCEPTED)

    with pytest.raises(StationError) as caught:
        issue(town, K.FINISH_NOTICE, case_no)

    assert caught.value.as_dict() == {
        "code": "DOCUMENT_NOT_ALLOWED", "field": "kind",
        "message": f"办件“{case_no}”当前为“已受理”，不能出具办结通知书："
                   "只有已办结的办件才出具办结通知书",
        "message_en": f"case {case_no} is ACCEPTED; a finish-notice cannot be issued for it"}


def test_a_receipt_printed_again_after_the_case_moved_on_is_still_a_reprint(
    town: Station, applicant: PersonDetails
) -> None:
    case_no = case_in(town, applicant, CaseState.RECEIVED)
    first = issue(town, K.RECEIPT, case_no)
    move_case(town, case_no, CaseState.ACCEPTED)  # the state is not printed on a receipt

    again = issue(town, K.RECEIPT, case_no)

    assert (again.doc_no, again.copy, again.reprint) == (first.doc_no, 2, True)
    assert verify_token(town, again.token).ok


def test_a_refusal_is_not_printed_until_the_appeal_bodies_are_known(
    station: Station, applicant: PersonDetails
) -> None:
    case_no = case_in(station, applicant, CaseState.REJECTED)  # an empty station profile
    size = station.ledger.size()

    with pytest.raises(MissingField) as caught:
        issue(station, K.REJECT_NOTICE, case_no)

    assert caught.value.field == "review_organ" and "行政复议机关" in caught.value.text
    assert station.ledger.size() == size and no_documents(station)
    set_profile(station, {"review_organ": "示范县人民政府", "court": "示范县人民法院"})
    assert "示范县人民政府" in page_text(issue(station, K.REJECT_NOTICE, case_no).path)
