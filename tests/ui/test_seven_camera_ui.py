"""拍照 in the 七有 self-check: the admin opens the camera dialog, sees a live picture, takes
one, retakes, uses it; the photo is saved with the self-check as the frame that was on
screen, and the camera is released whenever the dialog closes. The camera is a video file
(``STATION_CAMERA``) read by the real OpenCV capture code."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from station_app.domain import seven
from station_app.media import MAX_OUTPUT_BYTES
from station_app.media_camera import open_cameras
from station_app.services.seven import photo_bytes
from station_app.ui.views import camera_dialog
from tests.camera_clips import marker_of, write_clip  # skips this module without OpenCV
from tests.ui.driver import App, go_to
from tests.ui.harness import FletHarness, ui_test


async def wait_for(h: FletHarness, ready: Any, what: str, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if ready():
            return
        await h.settle(0.05, rounds=1)
    raise AssertionError(f"waited {seconds} s for {what}")


def shown(h: FletHarness) -> bytes:
    return h.find_by_key("camera_view").src


@ui_test
async def test_the_admin_takes_a_photo_with_the_webcam(app: App, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATION_CAMERA", str(write_clip(tmp_path / "camera.avi", frames=4)))
    h = await app.sign_in("李站长")
    await go_to(h, "七有自查")
    button = h.find_by_key("seven_camera_SIGN")
    assert not button.disabled and button.tooltip == "用摄像头拍一张照片"

    await h.click(button)
    assert h.has_dialog("camera_dialog")
    await wait_for(h, lambda: h.has_key("camera_view"), "the first frame")
    assert open_cameras() == 1
    first = shown(h)
    await wait_for(h, lambda: shown(h) != first, "the live picture to move on")
    assert not h.find_by_key("camera_shoot").disabled

    await h.click(h.find_by_key("camera_shoot"))  # freezes what is on screen and takes it
    assert h.find_by_key("camera_use").visible and not h.find_by_key("camera_shoot").visible
    frozen = shown(h)
    await h.settle(0.05, rounds=12)
    assert shown(h) == frozen  # no new frames once taken

    await h.click(h.find_by_key("camera_retake"))
    await wait_for(h, lambda: shown(h) != frozen, "the live picture again")
    await h.click(h.find_by_key("camera_shoot"))
    taken = marker_of(Image.open(io.BytesIO(shown(h))))
    await h.click(h.find_by_key("camera_use"))
    assert not h.has_dialog("camera_dialog")
    await wait_for(h, lambda: open_cameras() == 0, "the camera to be released")
    assert h.find_by_key("seven_added_SIGN").value.startswith("已添加：拍照 ")

    before = app.log_size()
    for item in seven.ITEMS[:-1]:
        await h.select(h.find_by_key(f"seven_status_{item.code}"), "达标")
    await h.click(h.find_by_key("seven_save"))
    photo, checked = app.entries_since(before)
    assert (photo.kind, checked.kind) == (seven.PHOTO, seven.CHECKED)
    assert photo.body["size"] <= MAX_OUTPUT_BYTES and photo.body["width"] == 1280
    with app.station() as st:
        stored = Image.open(io.BytesIO(photo_bytes(st, photo.body["sha256"])))
    assert marker_of(stored) == taken  # the evidence is the frame the admin saw
    assert checked.body["items"][3]["photos"] == [photo.body["sha256"]]
    assert h.find_by_key("seven_count_SIGN").value == "1"
    assert len(h.keys("seven_thumb_")) == 1


@ui_test
async def test_no_camera_or_cancel_leaves_nothing_behind(app: App, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATION_CAMERA", "9")  # no such device
    h = await app.sign_in("李站长")
    await go_to(h, "七有自查")
    await h.click(h.find_by_key("seven_camera_BOARD"))
    await wait_for(h, lambda: h.find_by_key("camera_status").value, "the error")
    assert "没有找到可用的摄像头（摄像头 9）" in h.find_by_key("camera_status").value
    assert h.find_by_key("camera_shoot").disabled and open_cameras() == 0
    await h.click(h.find_by_key("camera_cancel"))
    assert not h.has_dialog("camera_dialog")

    # a working camera, cancelled while live: released, nothing added
    monkeypatch.setenv("STATION_CAMERA", str(write_clip(tmp_path / "camera.avi", frames=2)))
    await h.click(h.find_by_key("seven_camera_BOARD"))
    await wait_for(h, lambda: h.has_key("camera_view"), "the first frame")
    await h.click(h.find_by_key("camera_cancel"))
    await wait_for(h, lambda: open_cameras() == 0, "the camera to be released")
    assert h.find_by_key("seven_added_BOARD").value == ""


@ui_test
async def test_a_dialog_left_open_closes_and_frees_the_camera(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATION_CAMERA", str(write_clip(tmp_path / "camera.avi", frames=2)))
    monkeypatch.setattr(camera_dialog, "LIVE_LIMIT", 1.0)  # five minutes in the app
    h = await app.sign_in("李站长")
    await go_to(h, "七有自查")
    await h.click(h.find_by_key("seven_camera_SITE"))
    await wait_for(h, lambda: h.has_key("camera_view"), "the first frame")
    await wait_for(h, lambda: not h.has_dialog("camera_dialog"), "the dialog to close")
    await wait_for(h, lambda: open_cameras() == 0, "the camera to be released")
    assert any("拍照窗口已自动关闭" in t for t in h.toasts())
