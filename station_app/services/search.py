"""Finding a service item the way clerks type: part of its name, its code, or pinyin initials.

``ylbx`` finds 城乡居民基本养老保险参保登记 (养老保险 → y l b x); initials are computed once
per item name with pypinyin, offline.
"""

from __future__ import annotations

from functools import cache

from pypinyin import Style, lazy_pinyin

from station_app.domain.catalog import Catalog, ServiceItem

# What people say at the window for what the catalog calls something longer.
ALIASES = {"低保": "最低生活保障", "五保": "特困人员", "医保": "医疗保险", "社保": "养老保险",
           "养老金": "养老保险待遇", "残疾证": "残疾人证", "建房": "乡村建设规划许可",
           "优待证": "退役军人优待证", "高龄补贴": "高龄津贴"}


@cache
def initials(text: str) -> str:
    """Lower-case pinyin initials of the Chinese in ``text`` (other characters kept as typed)."""
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")).lower()


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
    abbrev = initials(item.name)
    if name.startswith(needle) or abbrev.startswith(needle):
        return 3
    if needle in name or needle in abbrev:
        return 2
    if needle in item.code.lower() or any(needle in c.lower() for c in item.platform_codes):
        return 1
    return 0
