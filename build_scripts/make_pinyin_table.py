"""Regenerate station_app/data/pinyin_initials.json from pypinyin's character dictionary.

    python build_scripts/make_pinyin_table.py

The app needs only the initial letters of each character's readings to find 最低生活保障 by
typing ``zdsh``; importing pypinyin itself at run time costs ~55 MB of memory and 0.2 s, so the
letters are extracted once here (pypinyin is a test/build dependency only). Characters are
grouped by their initials: ``{"b": "保宝包…", "cz": "长…"}``, first letter = commonest reading.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from pypinyin.pinyin_dict import pinyin_dict

OUT = Path(__file__).resolve().parent.parent / "station_app" / "data" / "pinyin_initials.json"


def initials(readings: str) -> str:
    letters: list[str] = []
    for reading in readings.split(","):
        plain = unicodedata.normalize("NFKD", reading)[:1].lower()
        if plain.isascii() and plain.isalpha() and plain not in letters:
            letters.append(plain)
    return "".join(letters)


def table() -> dict[str, str]:
    groups: dict[str, list[str]] = {}
    for code, readings in sorted(pinyin_dict.items()):
        if 0x3400 <= code <= 0x9FFF:
            letters = initials(readings)
            if letters:
                groups.setdefault(letters, []).append(chr(code))
    return {k: "".join(v) for k, v in sorted(groups.items())}


if __name__ == "__main__":
    OUT.write_text(json.dumps(table(), ensure_ascii=False, separators=(",", ":")),
                   encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
