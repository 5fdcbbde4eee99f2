"""``station seven check --camera ITEM``: one webcam photo per item, taken by the real
OpenCV code from the source ``STATION_CAMERA`` names (here a video file); no camera is a
clear bilingual error and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.camera_clips import write_clip  # skips this module without OpenCV
from tests.cli.conftest import json_of, ledger_count, ok_json, run
from tests.cli.test_cli_seven import ITEMS, MONTH, item_args


def test_check_with_a_webcam_photo(initialised: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STATION_CAMERA", str(write_clip(tmp_path / "camera.avi", frames=6)))
    made = ok_json("seven", "check", "--month", MONTH, *item_args(*ITEMS),
                   "--camera", "有牌子", "--camera", "BOARD", data=initialised)
    items = {i["item"]: i for i in made["items"]}
    for name in ("有牌子", "有公示栏"):
        (photo,) = items[name]["photos"]
        assert photo["stored"] and 0 < photo["bytes"] <= 150_000
        assert (photo["width"], photo["height"]) == (1280, 720)
        assert photo["taken_at"].startswith(MONTH)  # the station's clock at the shot


def test_no_camera_is_a_clear_error_and_writes_nothing(initialised: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STATION_CAMERA", "9")
    size = ledger_count(initialised)
    result = run("--json", "seven", "check", "--month", MONTH, *item_args(*ITEMS),
                 "--camera", "有牌子", data=initialised)
    assert result.returncode == 1
    assert json_of(result)["error"]["code"] == "CAMERA_NOT_FOUND"
    assert "没有找到可用的摄像头（摄像头 9）" in result.stderr
    assert "no camera found (camera 9)" in result.stderr
    assert ledger_count(initialised) == size
