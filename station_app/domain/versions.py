"""Program versions: comparing them, and the county's minimum version (docs/upgrades.md).

A version is ``MAJOR.MINOR.PATCH`` (fewer parts mean zeros), optionally followed by a
pre-release tag (``0.3.0rc1``, ``0.3.0.dev2``), which sorts just below the plain release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from station_app.errors import InvalidInput

# This program's version. It is station_app.__version__ too (tests/store/test_upgrade.py
# checks they agree): the layers below the package root may not import the root itself.
APP_VERSION = "0.2.0"
_VERSION = re.compile(r"(\d{1,6}(?:\.\d{1,6}){0,3})((?:\.?(?:a|b|rc|dev|post)\d*)?)")
MAX_NOTICE = 200  # characters: a banner line, not a letter


def version_key(text: str) -> tuple[int, ...]:
    """A sort key for ``text``; ValueError if it is not a version."""
    match = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a program version: {text!r}")
    numbers = [int(part) for part in match.group(1).split(".")]
    numbers += [0] * (4 - len(numbers))
    return (*numbers, 0 if match.group(2) else 1)


def is_older(version: str, than: str) -> bool:
    return version_key(version) < version_key(than)


@dataclass(frozen=True, slots=True)
class AppRequirement:
    """The county's word on program versions: below ``min_version`` a station warns."""

    min_version: str
    notice: str  # the county's own words for the warning ("" for none)

    def to_content(self) -> dict[str, Any]:
        return {"min_version": self.min_version, "notice": self.notice}


def parse_app_requirement(content: Any) -> AppRequirement:
    """The ``app`` publication's content, as both the county (publishing) and the station
    (applying) check it: ``{"min_version": "0.2.0", "notice": "…"}``."""
    if not isinstance(content, dict) or not set(content) <= {"min_version", "notice"}:
        raise InvalidInput(field="content", label="最低版本要求",
                           reason="应为 JSON 对象，只含 min_version 和 notice 两项")
    min_version = content.get("min_version")
    try:
        version_key(min_version)
    except ValueError:
        raise InvalidInput(field="min_version", label="最低版本",
                           reason=f"“{min_version}”不是版本号（应如 0.2.0）") from None
    notice = content.get("notice", "")
    if not isinstance(notice, str) or len(notice) > MAX_NOTICE or "\n" in notice:
        raise InvalidInput(field="notice", label="提示语",
                           reason=f"应为一行文字，不超过 {MAX_NOTICE} 字")
    return AppRequirement(min_version=min_version.strip(), notice=notice.strip())
