"""Checking a document offline: the QR code read off the page, the token in it, the PDF file.

The station checks a token against its key and its own record; anyone else checks it with the
station's public key. A changed character, a token of another station, a PDF whose bytes or
embedded content were altered: each fails, with a reason a clerk can read out.
"""

from __future__ import annotations

import base64
import re
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from station_app.documents.render import render_pdf
from station_app.domain.documents import DocKind, parse_token
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.domain.templates import DocumentSpec, FilledBlock
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.clock import ManualClock
from station_app.services.doc_verify import DocCheck, verify_pdf, verify_token
from station_app.services.documents import CONTENT_PREFIX, Issued, issue_document
from station_app.services.station import Station, create_station
from tests.conftest import TOWN
from tests.documents.builders import MASKED_ID, case_in
from tests.documents.pdftools import page_text, the_qr_code

K = DocKind
FORGED = "签名无效：核验码被改动或伪造"
MALFORMED = "不是本系统的文书核验码（格式不对，可能被改动）"


def issue(station: Station, kind: DocKind, subject: str = "", **kw: object) -> Issued:
    return issue_document(station, kind, subject, print_it=False, **kw)  # type: ignore[arg-type]


@pytest.fixture
def receipt(station: Station, applicant: PersonDetails) -> Issued:
    """A 收件回执 on the 80 mm roll (its default paper)."""
    return issue(station, K.RECEIPT, case_in(station, applicant, CaseState.RECEIVED))


@pytest.fixture
def notice(station: Station, applicant: PersonDetails) -> Issued:
    """A 受理通知书 on A4 (its default paper)."""
    return issue(station, K.ACCEPT_NOTICE, case_in(station, applicant, CaseState.ACCEPTED))


def fails(check: DocCheck, reason: str) -> bool:
    return not check.ok and reason in check.reason and bool(check.reason_en)


# ---------------------------------------------------------------------------- the QR code


@pytest.mark.parametrize("which", ["receipt", "notice"])
def test_the_qr_code_read_off_the_page_verifies(station: Station, which: str,
                                                request: pytest.FixtureRequest) -> None:
    issued: Issued = request.getfixturevalue(which)

    scanned = the_qr_code(issued.path)
    check = verify_token(station, scanned)

    assert scanned == issued.token
    assert check.ok, check.reason
    assert check.reason.startswith(f"真实有效：{issued.doc_no}，{issued.kind.label}")
    assert f"办件 {issued.subject}" in check.reason and "2025年09月29日出具" in check.reason
    assert check.record["doc_no"] == issued.doc_no and check.record["copies"] == 1
    assert check.as_dict()["token"]["kind"] == issued.kind.value


def test_what_the_token_says_is_what_the_paper_says(station: Station, notice: Issued) -> None:
    token = parse_token(the_qr_code(notice.path))
    text = page_text(notice.path)

    assert token.station == station.info.code == "330199101000"
    assert token.kind is K.ACCEPT_NOTICE and K.ACCEPT_NOTICE.label in text
    assert token.subject == notice.subject and token.subject in text
    assert f"{token.issued.year}年{token.issued.month}月{token.issued.day}日" in text
    assert token.doc_id == notice.doc_id and notice.doc_no in text
    assert MASKED_ID in text


def test_a_reprint_carries_the_same_token_and_counts_its_copies(station: Station,
                                                                 receipt: Issued) -> None:
    again = issue(station, K.RECEIPT, receipt.subject)

    assert the_qr_code(again.path) == receipt.token
    check = verify_token(station, receipt.token)
    assert check.ok and check.record["copies"] == 2 and "已打印 2 份" in check.reason


# ---------------------------------------------------------------------------- tampering


def _field(index: int, change: Callable[[str], str]) -> Callable[[str], str]:
    def alter(token: str) -> str:
        parts = token.split(".")
        parts[index] = change(parts[index])
        return ".".join(parts)
    return alter


def _flip(at: int) -> Callable[[str], str]:
    """Change the character at ``at`` to another one of the same alphabet (hex stays hex)."""
    def flip(text: str) -> str:
        i = at % len(text)
        ch = text[i]
        hexdigits = "0123456789abcdef"
        other = hexdigits[(hexdigits.index(ch) + 1) % 16] if ch in hexdigits else \
            "B" if ch == "A" else "A"
        return text[:i] + other + text[i + 1:]
    return flip


TAMPERING = {  # token field: 0 VSS1, 1 station, 2 doc id, 3 kind, 4 day, 5 subject, 6 digest, 7 sig
    "one hex digit of the content digest": (_field(6, _flip(5)), FORGED),
    "the first character of the signature": (_field(7, _flip(0)), FORGED),
    "the case number": (_field(5, lambda s: s[:-1] + ("2" if s[-1] != "2" else "3")), FORGED),
    "the kind, to another kind": (_field(3, lambda _: "finish-notice"), FORGED),
    "the kind, to no kind at all": (_field(3, lambda _: "certificate"), MALFORMED),
    "the date of issue": (_field(4, lambda _: "20250930"), FORGED),
    "the document id": (_field(2, _flip(0)), FORGED),
    "a character cut off": (lambda t: t[:-1], MALFORMED),
    "not a token at all": (lambda _: "https://example.com/?id=1", MALFORMED),
}


@pytest.mark.parametrize("what", list(TAMPERING))
def test_an_altered_token_fails_with_a_reason(station: Station, receipt: Issued,
                                              what: str) -> None:
    alter, reason = TAMPERING[what]
    altered = alter(receipt.token)
    assert altered != receipt.token

    check = verify_token(station, altered)

    assert fails(check, reason), check.reason


def test_every_single_character_of_the_signature_matters(station: Station,
                                                         receipt: Issued) -> None:
    head, _, signature = receipt.token.rpartition(".")
    for at in range(len(signature)):
        altered = f"{head}.{_flip(at)(signature)}"
        assert not verify_token(station, altered).ok, f"signature character {at} is ignored"


def test_no_other_last_character_of_the_signature_verifies(station: Station,
                                                           receipt: Issued) -> None:
    """86 base64 characters hold 516 bits for a 512-bit signature: the last character has
    unused bits, so a lax decoder would accept several spellings of the same signature."""
    alphabet = string.ascii_letters + string.digits + "-_"
    head = receipt.token[:-1]

    passing = [ch for ch in alphabet if verify_token(station, head + ch).ok]

    assert passing == [receipt.token[-1]]


# ---------------------------------------------------------------------------- other stations

VILLAGE_CODE = "330199101201"


def test_a_token_of_another_station_needs_that_stations_key(
        station: Station, other_station: Station, receipt: Issued) -> None:
    theirs = issue(other_station, K.NOTICE_BOARD).token

    refused = verify_token(station, theirs)
    with_key = verify_token(station, theirs, public_key=other_station.signer.public_key)
    wrong_key = verify_token(station, theirs, public_key=station.signer.public_key)

    assert fails(refused, f"该核验码由站点 {VILLAGE_CODE} 出具，需用该站点的公钥核验")
    assert with_key.ok and "本机没有该文书的记录，只核验了签名" in with_key.reason
    assert fails(wrong_key, FORGED)
    # and the other way round: our receipt checked on their PC, with our public key
    assert verify_token(other_station, receipt.token,
                        public_key=station.signer.public_key).ok
    assert not verify_token(other_station, receipt.token).ok


def test_an_impostor_with_the_same_station_code_cannot_sign_for_us(
        station: Station, tmp_path: Path, clock: ManualClock, applicant: PersonDetails) -> None:
    impostor = create_station(tmp_path / "impostor", TOWN, clock=clock, actor="x",
                              seed=seed_builtin_calendar)
    try:
        forged = issue(impostor, K.NOTICE_BOARD).token
    finally:
        impostor.close()

    assert parse_token(forged).station == station.info.code
    assert fails(verify_token(station, forged), FORGED)


# ---------------------------------------------------------------------------- PDF files


def content_stream(data: bytes) -> tuple[int, int]:
    """Where the first page's content stream lies in the file: (start, end) of its bytes."""
    number = int(re.search(rb"/Contents (\d+) 0 R", data)[1])  # type: ignore[index]
    start = data.index(b"\n%d 0 obj" % number)
    begin = data.index(b"stream\n", start) + len(b"stream\n")
    return begin, data.index(b"endstream", begin)


def flip_byte(data: bytes, at: int) -> bytes:
    altered = bytearray(data)
    altered[at] ^= 0x01
    return bytes(altered)


def test_the_saved_pdf_verifies_byte_for_byte(station: Station, notice: Issued) -> None:
    check = verify_pdf(station, notice.path)

    assert check.ok, check.reason
    assert check.reason.endswith("与第 1 份打印件逐字节一致")
    assert check.record["copy"] == 1 and check.record["doc_no"] == notice.doc_no


def test_each_printed_copy_verifies_as_itself(station: Station, receipt: Issued) -> None:
    again = issue(station, K.RECEIPT, receipt.subject)

    assert verify_pdf(station, receipt.path).record["copy"] == 1
    assert verify_pdf(station, again.path).record["copy"] == 2


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_one_flipped_byte_in_the_content_stream_fails(station: Station, notice: Issued,
                                                      tmp_path: Path, where: str) -> None:
    data = notice.path.read_bytes()
    begin, end = content_stream(data)
    at = {"start": begin + 10, "middle": (begin + end) // 2, "end": end - 3}[where]
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(flip_byte(data, at))

    check = verify_pdf(station, altered)

    assert fails(check, "文件与本站打印记录不一致：内容被改动"), check.reason


def test_a_pdf_without_a_token_fails(station: Station, tmp_path: Path) -> None:
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(render_pdf(DocumentSpec(title="通知", paper="a4", token="", blocks=(
        FilledBlock(type="paragraph", text="这不是本站出具的文书"),)), metadata={}))
    not_pdf = tmp_path / "note.pdf"
    not_pdf.write_text("随便写的文字", encoding="utf-8")

    for path in (plain, not_pdf):
        assert fails(verify_pdf(station, path), "文件中没有核验码，不是本系统出具的文书")


def test_a_pdf_with_an_altered_token_fails(station: Station, receipt: Issued,
                                           tmp_path: Path) -> None:
    data = receipt.path.read_bytes()
    token = receipt.token.encode()
    altered_token = _field(5, lambda s: s[:-1] + "9")(receipt.token).encode()
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(data.replace(token, altered_token))

    assert fails(verify_pdf(station, altered), FORGED)


# ---------------------------------------------------------------------------- public key only


def embedded(data: bytes) -> tuple[bytes, bytes]:
    found = re.search(rb"/Subject \((" + re.escape(CONTENT_PREFIX.encode()) +
                      rb"[A-Za-z0-9+/=]+)\)", data)
    assert found
    return found[1], base64.b64decode(found[1][len(CONTENT_PREFIX):])


def test_elsewhere_the_public_key_checks_content_and_page_text(
        station: Station, other_station: Station, notice: Issued) -> None:
    check = verify_pdf(other_station, notice.path, public_key=station.signer.public_key)

    assert check.ok, check.reason
    assert check.reason.endswith("文件内容与核验码一致")
    assert check.record == {"doc_no": notice.doc_no}


def test_elsewhere_altered_embedded_content_fails(station: Station, other_station: Station,
                                                  notice: Issued, tmp_path: Path) -> None:
    data = notice.path.read_bytes()
    field, content = embedded(data)
    changed = content.replace("临时救助申请".encode(), "最低生活保障申请".encode())
    assert changed != content
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(data.replace(
        field, CONTENT_PREFIX.encode() + base64.b64encode(changed)))

    check = verify_pdf(other_station, altered, public_key=station.signer.public_key)

    assert fails(check, "文件内容与核验码不符：内容被改动"), check.reason


def test_elsewhere_a_genuine_code_on_another_page_fails(station: Station,
                                                        other_station: Station,
                                                        notice: Issued, tmp_path: Path) -> None:
    """A forger copies the token and the embedded content onto a page of their own."""
    data = notice.path.read_bytes()
    field, _ = embedded(data)
    page = DocumentSpec(title="受理通知书", paper="a4", token=notice.token, blocks=(
        FilledBlock(type="paragraph", text="受理通知书：准予办理，无需再来"),
        FilledBlock(type="qr", text="扫码核验")))
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(render_pdf(page, metadata={"subject": field.decode(),
                                                  "keywords": notice.token}))

    check = verify_pdf(other_station, forged, public_key=station.signer.public_key)

    assert the_qr_code(forged) == notice.token  # the code itself scans as genuine
    assert fails(check, f"页面文字与核验码不符（找不到“{notice.doc_no}”）"), check.reason
    assert fails(verify_pdf(station, forged), "文件与本站打印记录不一致")  # and at home too


def test_elsewhere_a_flipped_byte_that_garbles_the_page_fails(
        station: Station, other_station: Station, notice: Issued, tmp_path: Path) -> None:
    data = notice.path.read_bytes()
    begin, _ = content_stream(data)
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(flip_byte(data, begin + 10))

    check = verify_pdf(other_station, altered, public_key=station.signer.public_key)

    assert fails(check, "页面文字与核验码不符"), check.reason
