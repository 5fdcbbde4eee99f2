"""The numbering rule after a recovery (docs/recovery.md, "Numbers after a recovery")."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.numbering import (
    CASE_GAP,
    PROXY_GAP,
    ReservedRange,
    next_seq,
    parse_case_number,
    parse_proxy_number,
    reserve_after_loss,
    reserved_body,
    reserved_from_body,
    reserved_range_of,
)


def test_every_day_and_year_of_the_window_is_reserved_past_the_highest_recovered():
    ranges = reserve_after_loss(last_day=date(2025, 12, 30), recovery_day=date(2026, 1, 1),
                                highest_case={"20251230": 7}, highest_proxy={"2025": 42})
    assert ranges == (
        ReservedRange("case", "20251230", 8, 600),  # 7 + 500 = 507, up to 600
        ReservedRange("case", "20251231", 1, 500),  # nothing recovered that day
        ReservedRange("case", "20260101", 1, 500),
        ReservedRange("proxy", "2025", 43, 1100),  # 42 + 1,000 = 1,042, up to 1,100
        ReservedRange("proxy", "2026", 1, 1000))


def test_the_ranges_survive_the_log_body_and_a_log_without_them_reserves_nothing():
    ranges = reserve_after_loss(last_day=date(2025, 9, 29), recovery_day=date(2025, 9, 30),
                                highest_case={"20250929": 3}, highest_proxy={})
    assert reserved_from_body({"reserved": reserved_body(ranges)}) == ranges
    assert reserved_from_body({"predecessor": {}}) == () == reserved_from_body(None)


def test_new_numbers_go_past_a_reserved_range_and_reentered_ones_do_not_move_them():
    kept = (ReservedRange("case", "20250929", 3, 600),)
    assert next_seq(2, "case", "20250929", kept) == 601
    assert next_seq(17, "case", "20250929", kept) == 601  # 0017 was re-entered from paper
    assert next_seq(601, "case", "20250929", kept) == 602
    assert next_seq(4, "case", "20250930", kept) == 5  # another day: no gap
    assert next_seq(4, "proxy", "20250929", kept) == 5  # another numbering: no gap


def test_only_a_number_inside_a_range_of_its_own_numbering_is_reserved():
    kept = (ReservedRange("case", "20250929", 3, 600), ReservedRange("proxy", "2025", 2, 1100))
    inside = parse_case_number("330199101201-20250929-0003")
    assert inside is not None and reserved_range_of(inside, "case", kept) == kept[0]
    for text in ("330199101201-20250929-0002", "330199101201-20250929-0601",
                 "330199101201-20250930-0003"):
        parsed = parse_case_number(text)
        assert parsed is not None and reserved_range_of(parsed, "case", kept) is None
    proxy = parse_proxy_number("330199101201-DB2025-00500")
    assert proxy is not None and reserved_range_of(proxy, "proxy", kept) == kept[1]
    assert reserved_range_of(proxy, "case", kept) is None


@given(highest=st.integers(0, 50_000), gap=st.sampled_from([CASE_GAP, PROXY_GAP]))
def test_a_gap_is_at_least_its_size_and_ends_on_a_hundred(highest: int, gap: int):
    [case, proxy] = reserve_after_loss(last_day=date(2025, 9, 29), recovery_day=date(2025, 9, 29),
                                       highest_case={"20250929": highest},
                                       highest_proxy={"2025": highest})
    one = case if gap == CASE_GAP else proxy
    assert one.first == highest + 1
    assert one.last - highest >= gap and one.last - highest < gap + 100 and one.last % 100 == 0
