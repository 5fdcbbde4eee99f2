"""The rating token on the 办结通知书's QR code (station_app/domain/rating.py): it round-trips,
has one spelling, carries no personal data, and any change to it breaks the signature."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.crypto import Signer, signature_checker
from station_app.domain.numbering import case_number
from station_app.domain.rating import (
    VALID_DAYS,
    BadRatingToken,
    make_rating_token,
    parse_rating_token,
    rating_url,
)

SIGNER, _ = Signer.generate()
CHECK = signature_checker(SIGNER.public_key)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
codes = st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=6, max_size=20)
days = st.dates(date(2020, 1, 1), date(2060, 1, 1))


@settings(max_examples=60, deadline=None)
@given(code=codes, day=days, seq=st.integers(1, 10**7), late=st.integers(0, 400))
def test_a_token_round_trips_and_verifies(code: str, day: date, seq: int, late: int) -> None:
    case_no = case_number(code, day, seq)
    token = make_rating_token(station=code, case_no=case_no, closed=day + timedelta(late),
                              sign=SIGNER.sign)
    back = parse_rating_token(token.text())
    assert back == token and back.case_no == case_no
    assert back.expires == day + timedelta(late + VALID_DAYS)
    assert CHECK(back.message(), back.signature)
    assert parse_rating_token(token.text().lower()) == token  # phones may lower-case it


@settings(max_examples=60, deadline=None)
@given(at=st.integers(0, 137), new=st.sampled_from(ALPHABET))
def test_any_changed_character_is_refused_or_fails_the_signature(at: int, new: str) -> None:
    token = make_rating_token(station="330199101201", case_no="330199101201-20250929-0017",
                              closed=date(2025, 9, 29), sign=SIGNER.sign).text()
    changed = token[:at] + new + token[at + 1:]
    if changed == token:
        return
    try:
        parsed = parse_rating_token(changed)
    except BadRatingToken:
        return
    assert not CHECK(parsed.message(), parsed.signature)


@pytest.mark.parametrize("text", ["", "!!!", "A" * 161, "AAAAAAAA", "é" * 10])
def test_garbage_is_not_a_token(text: str) -> None:
    with pytest.raises(BadRatingToken):
        parse_rating_token(text)


def test_the_url_is_upper_case_only_where_that_is_safe() -> None:
    token = make_rating_token(station="330199101201", case_no="330199101201-20250929-0017",
                              closed=date(2025, 9, 29), sign=SIGNER.sign)
    assert rating_url("https://zwfw.example.gov.cn/", token) == \
        f"HTTPS://ZWFW.EXAMPLE.GOV.CN/R/{token.text()}"
    assert rating_url("https://example.gov.cn/County", token) == \
        f"https://example.gov.cn/County/r/{token.text()}"  # a path may be case-sensitive
    assert "330199101201-20250929-0017" not in token.text()  # nothing readable, nothing personal
