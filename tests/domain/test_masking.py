"""Display masking (GB/T 35273 §7.2): what a screen or a printed form may show."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.identity import CertType
from station_app.domain.masking import (
    mask_address,
    mask_certificate,
    mask_id_number,
    mask_mobile,
    mask_name,
)


def revealed(masked: str) -> int:
    return sum(ch != "*" for ch in masked)


# ---------------------------------------------------------------- ID numbers


def test_id_number_shows_first_three_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_id_number("110105199001011234") == "110***********1234"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("", ""),
        ("1", "*"),
        ("12", "*2"),
        ("1234", "1**4"),
        ("1234567", "1****67"),
        ("1234567890", "12*****890"),
        ("12345678901234", "123*******1234"),  # from 14 characters on, 3 + 4 is at most half
        ("110105491231002", "110********1002"),  # an old 15-digit number
    ],
)
def test_short_id_numbers_never_show_more_than_half(text: str, masked: str) -> None:
    assert mask_id_number(text) == masked
    assert revealed(masked) <= len(text) // 2


def test_id_number_mask_handles_none() -> None:
    assert mask_id_number(None) == ""


id_numbers = st.text(alphabet="0123456789X", min_size=18, max_size=18)


@given(id_numbers)
def test_id_mask_keeps_length_and_shows_at_most_seven_original_characters(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    shown = [i for i, ch in enumerate(masked) if ch != "*"]
    assert len(shown) <= 7
    assert all(masked[i] == number[i] for i in shown)


@given(st.text(max_size=40))
def test_id_mask_of_any_text_keeps_length_and_shows_at_most_half(text: str) -> None:
    masked = mask_id_number(text)
    assert len(masked) == len(text)
    assert revealed(masked) <= max(len(text) // 2, text.count("*"))


# ---------------------------------------------------------------- mobiles


def test_mobile_shows_first_three_and_last_four() -> None:
    assert mask_mobile("13812341234") == "138****1234"


def test_mobile_typed_with_prefix_is_masked_in_its_normal_form() -> None:
    assert mask_mobile("+86 138-1234-1234") == "138****1234"


@pytest.mark.parametrize(
    ("text", "masked"),
    [("", ""), (None, ""), ("110", "**0"), ("0571-88888888", "057*******888")],
)
def test_non_mobiles_are_masked_as_typed_showing_at_most_half(
    text: str | None, masked: str
) -> None:
    assert mask_mobile(text) == masked


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobile_mask_keeps_length_and_the_two_ends(number: str) -> None:
    masked = mask_mobile(number)
    assert len(masked) == 11
    assert masked == number[:3] + "****" + number[7:]


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("", ""),
        ("张", "*"),
        ("张三", "张*"),
        ("张晓明", "张*明"),
        ("欧阳晓锋", "欧**锋"),
        (" 李四 ", "李*"),
        ("Anna", "A**a"),
        ("阿卜杜·热合曼", "阿*****曼"),
    ],
)
def test_name_keeps_the_family_name_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_name_mask_handles_none() -> None:
    assert mask_name(None) == ""


# ---------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("浙江省衢州市衢江区莲花镇芝溪村3组12号", "浙江省衢州市衢江区莲花镇芝溪村****"),
        ("深圳市南山区粤海街道科技园社区科苑路15号", "深圳市南山区粤海街道科技园社区****"),
        ("安徽省泾县泾川镇城东居委会幸福巷8号", "安徽省泾县泾川镇城东居委会****"),
        ("莲花镇第三村民小组5号", "莲花镇第三村****"),  # the first marker wins
        ("四川省广安市广安区浓洄街道北辰路88号", "四川省广安市****"),
        ("幸福路8号", "幸福****"),  # short and without a marker: at most half
        ("", ""),
        (None, ""),
    ],
)
def test_address_is_cut_at_the_village(address: str | None, masked: str) -> None:
    assert mask_address(address) == masked


@given(st.text(max_size=60))
def test_address_mask_never_fails_and_always_hides_something(address: str) -> None:
    masked = mask_address(address)
    if address.strip():
        assert masked.endswith("****")
        assert address.strip().startswith(masked[:-4])
    else:
        assert masked == ""


# ---------------------------------------------------------------- certificates


@pytest.mark.parametrize(
    ("cert", "number", "masked"),
    [
        (CertType.RESIDENT_ID, "11010519491231002X", "110***********002X"),
        (CertType.FOREIGN_PERMANENT_RESIDENT_ID, "911560198506150012", "911***********0012"),
        ("111", "11010519491231002X", "110***********002X"),
        (CertType.PASSPORT, "E12345678", "E1*****78"),
        (CertType.HK_MACAO_TRAVEL_PERMIT, "H1234567", "H1****67"),
        (CertType.OTHER, "A123", "A**3"),  # short: still never more than half
    ],
)
def test_certificate_mask_follows_the_type(
    cert: CertType | str, number: str, masked: str
) -> None:
    assert mask_certificate(cert, number) == masked


def test_certificate_mask_tolerates_unknown_types_and_missing_numbers() -> None:
    assert mask_certificate("not-a-type", "E12345678") == "E1*****78"
    assert mask_certificate(None, None) == ""


@given(st.sampled_from(list(CertType)), st.text(max_size=40))
def test_certificate_mask_keeps_length_and_shows_at_most_half(
    cert: CertType, number: str
) -> None:
    masked = mask_certificate(cert, number)
    assert len(masked) == len(number)
    assert revealed(masked) <= max(len(number) // 2, number.count("*"))
