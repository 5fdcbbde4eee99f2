"""办件编号 and 代办序号: unique across stations offline, gap-free within one."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.numbering import (
    ParsedNumber,
    case_number,
    check_station_code,
    parse_case_number,
    parse_proxy_number,
    proxy_number,
    sequence_gaps,
)
from station_app.errors import InvalidInput, InvalidStationCode

stations = st.from_regex(r"[0-9A-Z]{6,20}", fullmatch=True)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
seqs = st.integers(min_value=1, max_value=10**7)


# ---------------------------------------------------------------- formats


def test_a_case_number_is_station_day_and_a_four_digit_daily_sequence() -> None:
    assert case_number("330110001001", date(2025, 9, 30), 7) == "330110001001-20250930-0007"
    assert case_number("330110001001", date(2025, 1, 2), 12345) == "330110001001-20250102-12345"


def test_a_proxy_number_is_station_year_and_a_five_digit_yearly_sequence() -> None:
    assert proxy_number("330110001001", 2025, 42) == "330110001001-DB2025-00042"
    assert proxy_number("330110001001", 2026, 123456) == "330110001001-DB2026-123456"


# ---------------------------------------------------------------- parsing


@given(stations, days, seqs)
def test_a_case_number_parses_back_to_its_parts(station: str, day: date, seq: int) -> None:
    text = case_number(station, day, seq)
    assert parse_case_number(text) == ParsedNumber(station, f"{day:%Y%m%d}", seq)
    assert parse_case_number(f"  {text.lower()} ") == ParsedNumber(station, f"{day:%Y%m%d}", seq)
    assert parse_proxy_number(text) is None


@given(stations, st.integers(min_value=2000, max_value=2099), seqs)
def test_a_proxy_number_parses_back_to_its_parts(station: str, year: int, seq: int) -> None:
    text = proxy_number(station, year, seq)
    assert parse_proxy_number(text) == ParsedNumber(station, str(year), seq)
    assert parse_proxy_number(text.lower()) == ParsedNumber(station, str(year), seq)
    assert parse_case_number(text) is None


@pytest.mark.parametrize(
    "text",
    ["", None, "330110001001", "330110001001-20250930-007", "330110001001-2025093-0007",
     "33011-20250930-0007", "330110001001-20250930-", "330110001001_20250930_0007",
     "330110001001-20250930-0007-1", "33011000100!-20250930-0007",
     "330110001001-DB2025-00042"],
)
def test_text_that_is_not_a_case_number_parses_to_nothing(text: str) -> None:
    assert parse_case_number(text) is None


@pytest.mark.parametrize(
    "text",
    ["", "330110001001-DB2025-0042", "330110001001-DB25-00042", "330110001001-2025-00042",
     "330110001001-DB2025-", "330110001001-20250930-0007"],
)
def test_text_that_is_not_a_proxy_number_parses_to_nothing(text: str) -> None:
    assert parse_proxy_number(text) is None


# ---------------------------------------------------------------- gaps


def test_missing_numbers_are_the_gaps_up_to_the_highest() -> None:
    assert sequence_gaps([1, 2, 4, 7]) == [3, 5, 6]
    assert sequence_gaps([7, 1, 4, 2, 4]) == [3, 5, 6]
    assert sequence_gaps([3]) == [1, 2]
    assert sequence_gaps([1, 2, 3]) == []
    assert sequence_gaps([]) == []


@given(st.lists(st.integers(min_value=1, max_value=300), max_size=60))
def test_gaps_and_present_numbers_together_cover_one_to_the_highest(seqs: list[int]) -> None:
    gaps = sequence_gaps(seqs)
    assert gaps == sorted(gaps)
    assert not set(gaps) & set(seqs)
    assert set(gaps) | set(seqs) == set(range(1, max(seqs, default=0) + 1))


# ---------------------------------------------------------------- station codes


@pytest.mark.parametrize(
    ("typed", "code"),
    [("330110001001", "330110001001"), (" 330110001001 ", "330110001001"),
     ("qsz001", "QSZ001"), ("A" * 20, "A" * 20)],
)
def test_a_station_code_is_6_to_20_digits_or_capital_letters(typed: str, code: str) -> None:
    assert check_station_code(typed) == code


@pytest.mark.parametrize(
    "typed", ["", None, "12345", "A" * 21, "3301-1000", "3301 10001", "青石镇001", "330110_001"]
)
def test_other_station_codes_are_refused(typed: str) -> None:
    with pytest.raises(InvalidStationCode) as caught:
        check_station_code(typed)
    assert caught.value.field == "code"
    assert caught.value.code == "STATION_CODE_INVALID"
    assert isinstance(caught.value, InvalidInput)


@given(stations)
def test_every_well_formed_station_code_is_accepted_unchanged(code: str) -> None:
    assert check_station_code(code) == code
