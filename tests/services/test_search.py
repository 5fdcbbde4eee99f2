"""Finding a service item by name, code or pinyin initials, as clerks type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypinyin import Style, pinyin

from station_app.domain.catalog import parse_catalog
from station_app.services.search import TABLE, find_items, initials
from tests.conftest import SAMPLE_CATALOG

CATALOG = parse_catalog(json.loads(Path(SAMPLE_CATALOG).read_text(encoding="utf-8")))


def names(query: str, **kw: bool) -> list[str]:
    return [item.name for item in find_items(CATALOG, query, **kw)]


@pytest.mark.parametrize(("query", "first"), [
    ("zdsh", "最低生活保障申请"),          # initials from the start
    ("ylbx", "城乡居民基本养老保险参保登记"),  # initials in the middle
    ("低保", "最低生活保障申请"),          # what people say for 最低生活保障
    ("救助", "特困人员救助供养申请"),      # part of the name
    ("LOCAL-MZ-004", "临时救助申请"),     # the local code
    ("  cjr ", "残疾人证新办"),           # spaces ignored
])
def test_clerks_find_items_the_way_they_type(query: str, first: str):
    assert names(query)[0] == first


def test_nothing_matching_finds_nothing_and_blank_finds_everything():
    assert names("xyzxyz") == []
    assert len(names("")) == len(CATALOG.items)


def test_proxy_only_leaves_out_items_agents_may_not_carry():
    assert "居民身份证换领（有效期满）" in names("身份证")
    assert "居民身份证换领（有效期满）" not in names("身份证", proxy_only=True)


def test_a_character_with_two_readings_matches_either_initial():
    assert "z" in initials("长")[0] and "c" in initials("长")[0]


def test_the_bundled_table_agrees_with_pypinyin():
    """The table is extracted from pypinyin at build time; spot-check it has not drifted."""
    assert TABLE.stat().st_size < 200_000
    sample = "城乡居民基本养老医疗保险参保登记缴费残疾人证补贴最低生活保障特困供养临时救助"
    for ch in sample:
        expected = {reading[0][0] for reading in
                    [pinyin(ch, style=Style.FIRST_LETTER, heteronym=True)[0]]}
        assert expected <= set(initials(ch)[0]), ch
