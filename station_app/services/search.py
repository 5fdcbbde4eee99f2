"""Finding a service item the way clerks type: part of its name, its code, or pinyin initials.

``ylbx`` finds 城乡居民基本养老保险参保登记 (养老保险 → y l b x). The initials of every
character's readings come from ``data/pinyin_initials.json`` (extracted from pypinyin by
build_scripts/make_pinyin_table.py: pypinyin itself would cost 55 MB of memory at run time).
A character with several readings (长 zhǎng/cháng) matches any of their initials.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from station_app.domain.catalog import Catalog, ServiceItem

TABLE = Path(__file__).resolve().parent.parent / "data" / "pinyin_initials.json"

# What people say at the window for what the catalog calls something longer.
ALIASES = {"低保": "最低生活保障", "五保": "特困人员", "医保": "医疗保险", "社保": "养老保险",
           "养老金": "养老保险待遇", "残疾证": "残疾人证", "建房": "乡村建设规划许可",
           "优待证": "退役军人优待证", "高龄补贴": "高龄津贴"}


@cache
def _letters() -> dict[str, str]:
    groups: dict[str, str] = json.loads(TABLE.read_text(encoding="utf-8"))
    return {ch: letters for letters, chars in groups.items() for ch in chars}


@cache
def initials(text: str) -> tuple[str, ...]:
    """For each character, the letters it may start with (Latin letters and digits as typed)."""
    table = _letters()
    return tuple(table.get(ch, ch.lower()) for ch in text if not ch.isspace())


def _initials_match(text: str, needle: str) -> int:
    """3 if ``needle`` spells the start of ``text`` by initials, 2 if somewhere inside, else 0."""
    letters = initials(text)
    for start in range(len(letters) - len(needle) + 1):
        if all(ch in letters[start + i] for i, ch in enumerate(needle)):
            return 3 if start == 0 else 2
    return 0


def find_items(catalog: Catalog, query: str, *, proxy_only: bool = False,
               limit: int = 30) -> list[ServiceItem]:
    """Items matching ``query`` by name, code or initials; best matches first."""
    items = catalog.proxy_items() if proxy_only else catalog.items
    needle = "".join(query.split()).lower()
    if not needle:
        return list(items[:limit])
    needles = [needle] + [v for k, v in ALIASES.items() if k in needle]
    scored = []
    for item in items:
        score = max(_score(item, n) for n in needles)
        if score:
            scored.append((score, item.code, item))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [item for _, _, item in scored[:limit]]


def _score(item: ServiceItem, needle: str) -> int:
    name = item.name.lower()
    if name.startswith(needle):
        return 3
    by_initials = _initials_match(item.name, needle) if needle.isascii() else 0
    if by_initials or needle in name:
        return by_initials or 2
    if needle in item.code.lower() or any(needle in c.lower() for c in item.platform_codes):
        return 1
    return 0
