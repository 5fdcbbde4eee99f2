"""Canonical JSON (the float-free subset of RFC 8785 / JCS), checked against ``rfc8785``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.canonical import (
    MAX_SAFE_INTEGER,
    NotCanonical,
    _is_plain,
    _sorted_bytes,
    canonical_json,
    parse_canonical,
)

# Characters that make canonical JSON interesting: control characters (escaped, some with
# short forms), the two characters JSON always escapes, DEL and the line separators (never
# escaped in JCS), Chinese, the top of the BMP (sorts *after* astral characters in UTF-16),
# and astral characters such as emoji and CJK Extension B.
SPECIAL = "\x00\x01\x08\t\n\x0c\r\x1f \"\\/\x7f\u2028\u2029中文\ue000\uffff\U0001f600\U00020000"

text = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.sampled_from([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER])
    | text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
    max_leaves=25,
)


# ---------------------------------------------------------------- agreement with rfc8785


@given(json_values)
def test_output_is_byte_for_byte_what_the_rfc8785_reference_writes(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.dictionaries(text, scalars, min_size=2, max_size=8))
def test_object_keys_are_ordered_as_the_reference_orders_them(value: dict[str, Any]) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)
    assert list(json.loads(canonical_json(value))) == list(json.loads(rfc8785.dumps(value)))


@given(json_values)
def test_parsing_canonical_bytes_gives_the_value_back(value: Any) -> None:
    data = canonical_json(value)
    assert parse_canonical(data) == value
    assert canonical_json(parse_canonical(data)) == data


@given(json_values)
def test_the_fast_check_answers_as_the_exact_writer_whenever_it_answers(value: Any) -> None:
    """parse_canonical trusts json's C encoder only on bytes where it must agree."""
    data = canonical_json(value)
    if _is_plain(data):
        assert _sorted_bytes(value) == data
    for other in (json.dumps(value, ensure_ascii=False, sort_keys=True).encode(),
                  json.dumps(value, ensure_ascii=True, sort_keys=True,
                             separators=(",", ":")).encode()):
        if other != data:
            with pytest.raises(NotCanonical):
                parse_canonical(other)


def test_keys_sort_by_utf16_code_units_so_emoji_come_before_private_use_characters() -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+E000 although its code point is larger.
    value = {"\ue000": 1, "\U0001f600": 2, "b": 3, "a": 4, "中": 5}
    assert canonical_json(value) == '{"a":4,"b":3,"中":5,"\U0001f600":2,"\ue000":1}'.encode()
    assert canonical_json(value) == rfc8785.dumps(value)


def test_strings_use_only_the_escapes_json_requires() -> None:
    value = ["\x00\x08\t\n\x0c\r\x1f", '"\\', "/\x7f\u2028中文\U0001f600"]
    expected = '["\\u0000\\b\\t\\n\\f\\r\\u001f","\\"\\\\","/\x7f\u2028中文\U0001f600"]'
    assert canonical_json(value) == expected.encode("utf-8")


def test_a_log_entry_shaped_value_has_no_whitespace_and_sorted_keys() -> None:
    value = {"v": 1, "idx": 17, "kind": "case.moved", "beacon": None, "ok": True,
             "body": {"to": "ACCEPTED", "at": "2025-09-30T10:15:02.123+08:00", "n": -3}}
    assert canonical_json(value) == (
        b'{"beacon":null,"body":{"at":"2025-09-30T10:15:02.123+08:00","n":-3,"to":"ACCEPTED"},'
        b'"idx":17,"kind":"case.moved","ok":true,"v":1}'
    )


def test_the_safe_integer_bounds_are_accepted() -> None:
    assert canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == \
        b"[9007199254740991,-9007199254740991]"


def test_tuples_are_written_as_arrays() -> None:
    assert canonical_json({"a": (1, "x", None)}) == b'{"a":[1,"x",null]}'


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.5,
        float("nan"),
        float("inf"),
        [1, 2.0],
        {"a": {"b": -0.0}},
        2**53,
        -(2**53),
        [10**20],
        {1: "a"},
        {("a",): 1},
        {None: 1},
        b"bytes",
        bytearray(b"x"),
        ["a", b"b"],
        "\ud800",
        "ok\udfffok",
        {"\ud83d": 1},
        ["\udc00"],
        {1, 2},
        object(),
    ],
    ids=repr,
)
def test_values_outside_the_canonical_subset_are_refused(value: object) -> None:
    with pytest.raises(NotCanonical):
        canonical_json(value)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_is_refused_even_a_whole_number(value: float) -> None:
    with pytest.raises(NotCanonical):
        canonical_json({"amount": value})


@given(st.integers(min_value=MAX_SAFE_INTEGER + 1) | st.integers(max_value=-MAX_SAFE_INTEGER - 1))
def test_integers_beyond_the_safe_range_are_refused(value: int) -> None:
    with pytest.raises(NotCanonical):
        canonical_json([value])


def test_not_canonical_is_a_value_error() -> None:
    assert issubclass(NotCanonical, ValueError)


# ---------------------------------------------------------------- parse_canonical


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',  # insignificant whitespace
        b' {"a":1}',
        b'{"a":1}\n',
        b'[1, 2]',
        b'{"b":1,"a":2}',  # keys not sorted
        b'{"\xee\x80\x80":1,"\xf0\x9f\x98\x80":2}',  # sorted by code point, not UTF-16
        b'"\\u4e2d"',  # non-ASCII escaped instead of written as UTF-8
        b'"\\u0041"',  # an ASCII letter escaped
        b'"\\/"',  # an unnecessary escape
        b'"\\u001F"',  # upper-case hex
        b'"\\u0008"',  # the long form of \b
        b'{"a":1,"a":1}',  # duplicate key
        b"1.0",
        b"1e3",
        b"-0",
        b"01",
        b"9007199254740992",
        b"NaN",
        b"Infinity",
        b'"\\ud800"',  # lone surrogate
        b"\xef\xbb\xbf1",  # byte order mark
        b'"\xff"',  # not UTF-8
        b"",
        b"[",
        b"TRUE",
    ],
    ids=repr,
)
def test_bytes_that_are_not_canonical_are_refused(data: bytes) -> None:
    with pytest.raises(NotCanonical):
        parse_canonical(data)


def test_canonical_bytes_are_accepted_as_they_are() -> None:
    data = '{"a":[1,true,null],"中":"文\\n","😀":{}}'.encode()
    assert parse_canonical(data) == {"a": [1, True, None], "中": "文\n", "😀": {}}


@given(json_values)
def test_pretty_printed_json_is_refused_unless_it_is_a_bare_scalar(value: Any) -> None:
    pretty = json.dumps(value, indent=1, ensure_ascii=False).encode("utf-8")
    if pretty == canonical_json(value):
        assert parse_canonical(pretty) == value
    else:
        with pytest.raises(NotCanonical):
            parse_canonical(pretty)


@pytest.mark.parametrize("depth", [600, 5000])
def test_absurdly_nested_input_is_refused_not_crashed_on(depth: int) -> None:
    with pytest.raises(NotCanonical):
        parse_canonical(b"[" * depth + b"]" * depth)
