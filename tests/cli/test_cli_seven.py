"""``station seven``: the 七有 self-check as an admin or a script runs it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from station_app.domain.clock import CST
from tests.cli.conftest import json_of, ledger_count, ok_json, run
from tests.photos import write_photo

MONTH = datetime.now(CST).strftime("%Y-%m")
ITEMS = ("有场所=达标:办公室20平方米", "有人员=达标", "有项目=达标", "SIGN=MET",
         "有制度=部分达标:首问负责制未上墙", "有公示栏=达标")


def item_args(*specs: str) -> list[str]:
    return [arg for spec in specs for arg in ("--item", spec)]


def test_check_and_show_with_photos(initialised: Path, tmp_path: Path):
    sign = write_photo(tmp_path / "sign.jpg")
    board = write_photo(tmp_path / "board.png", "PNG", seed=3)
    made = ok_json("seven", "check", "--month", MONTH, *item_args(*ITEMS),
                   "--photo", f"有牌子={sign}", "--photo", f"有公示栏={board}", data=initialised)
    assert made["ok"] and made["month"] == MONTH and made["not_met"] == ["有制度"]
    items = {i["item"]: i for i in made["items"]}
    assert items["有场所"]["note"] == "办公室20平方米" and items["有牌子"]["status"] == "达标"
    assert items["有记录簿"]["status"] == "达标"  # nothing entered yet: an empty book is kept
    (photo,) = items["有牌子"]["photos"]
    assert photo["stored"] and 0 < photo["bytes"] <= 150_000 and photo["width"] == 1280

    shown = ok_json("seven", "show", data=initialised)["check"]
    assert shown["idx"] == made["idx"] and shown["items"] == made["items"]
    text = run("seven", "show", "--month", MONTH, data=initialised)
    assert text.returncode == 0 and "有制度" in text.stdout and "部分达标" in text.stdout
    assert "未达标：有制度" in text.stdout

    again = run("--json", "seven", "check", "--month", MONTH, *item_args(*ITEMS),
                data=initialised)
    assert again.returncode == 1 and json_of(again)["error"]["code"] == "SEVEN_CHECK_EXISTS"
    fixed = ok_json("seven", "check", "--month", MONTH, *item_args(*ITEMS[:4]),
                    "--item", "有制度=达标", "--item", "有公示栏=达标", "--reason", "制度已上墙",
                    data=initialised)
    assert fixed["not_met"] == [] and fixed["corrections"] == 1 and fixed["reason"] == "制度已上墙"


def test_bad_input_prints_a_clear_message_and_writes_nothing(initialised: Path, tmp_path: Path):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("这不是照片", encoding="utf-8")
    size = ledger_count(initialised)
    for args, code, words in [
        (["--photo", f"有牌子={not_an_image}"], "PHOTO_INVALID", "不是 JPEG 或 PNG"),
        (["--photo", f"有牌子={tmp_path / 'missing.jpg'}"], "PHOTO_INVALID", "文件不存在"),
        (["--photo", f"有电脑={write_photo(tmp_path / 'ok.jpg')}"], "INPUT_INVALID", "有电脑"),
        (["--item", "有电脑=达标"], "INPUT_INVALID", "有电脑"),
        (["--photo", "有牌子"], "INPUT_INVALID", "项目=文件"),
    ]:
        result = run("--json", "seven", "check", "--month", MONTH, *item_args(*ITEMS), *args,
                     data=initialised)
        assert result.returncode == 1, args
        assert json_of(result)["error"]["code"] == code, (args, result.stdout)
        assert words in result.stderr and "Error:" in result.stderr
    missing = run("seven", "check", "--month", MONTH, "--item", "有场所=达标", data=initialised)
    assert missing.returncode == 1 and "有人员" in missing.stderr
    assert ledger_count(initialised) == size
    assert ok_json("seven", "show", data=initialised) == {"check": None}


def test_help_is_bilingual_and_items_are_listed(initialised: Path):
    helped = run("seven", "check", "--help")
    assert helped.returncode == 0 and "七有" in helped.stdout and "photo" in helped.stdout
    rows = ok_json("seven", "items", data=initialised)
    assert [r["item"] for r in rows][-1] == "有记录簿" and rows[0]["code"] == "SITE"
