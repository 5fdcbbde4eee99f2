"""User-facing errors: stable unique codes, Chinese messages, documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

from station_app.errors import StationError, all_error_classes

README = Path(__file__).resolve().parent.parent / "README.md"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_code_is_unique_and_shouty():
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[A-Z][A-Z_]+", code) for code in codes)


def test_every_message_is_chinese_and_has_an_english_twin():
    for cls in all_error_classes():
        assert CJK.search(cls.message), cls.__name__
        assert cls.message_en and not CJK.search(cls.message_en), cls.__name__


def test_messages_fill_in_their_parameters():
    from station_app.errors import IllegalTransition

    error = IllegalTransition(what="办件", what_en="case", number="X-1", current="已收件",
                              current_en="RECEIVED", target="已办结", target_en="FINISHED")
    assert error.text == "办件“X-1”当前为“已收件”，不能变更为“已办结”"
    assert error.as_dict()["code"] == "TRANSITION_ILLEGAL"
    assert isinstance(error, StationError)


def test_the_readme_error_table_lists_exactly_the_codes():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == {cls.code for cls in all_error_classes()}
