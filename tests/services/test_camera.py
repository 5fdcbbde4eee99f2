"""Webcam photos for 七有: the real OpenCV capture code on a video file standing in for the
camera (``STATION_CAMERA``), the frame re-encoded like a file photo and stored as evidence;
a missing, unreadable or covered camera is a clear error and writes nothing."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from station_app.domain import seven
from station_app.errors import (
    CameraDark,
    CameraNotFound,
    CameraReadFailed,
    CameraUnavailable,
    InvalidInput,
)
from station_app.media import MAX_OUTPUT_BYTES, MAX_SIDE
from station_app.media_camera import camera_source, open_cameras
from station_app.services.camera import (
    Viewfinder,
    prepare_shot,
    take_shot,
)
from station_app.services.clock import ManualClock
from station_app.services.seven import record_self_check
from station_app.services.station import Station
from tests.camera_clips import marker_of, write_clip  # skips this module when OpenCV is missing

MET = {name: "达标" for name in seven.ITEM_NAMES if name != seven.RECORD_BOOK}


def test_a_webcam_shot_is_stored_as_evidence_like_a_file_photo(
        station: Station, clock: ManualClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STATION_CAMERA", str(write_clip(tmp_path / "camera.avi")))
    before = station.ledger.size()

    shot = take_shot("SIGN", at=clock.now())
    assert open_cameras() == 0  # released as soon as the frame is in
    assert shot.item == "有牌子" and shot.frame.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(shot.frame)) as frame:
        assert frame.size == (1280, 720)  # the camera's full frame goes to the re-encoder
    check = record_self_check(station, month="2025-09", statuses=MET, photos=[shot])

    entries = list(station.entries(before))
    assert [e.kind for e in entries] == [seven.PHOTO, seven.CHECKED]
    body = entries[0].body
    data = base64.b64decode(body["data"])
    assert seven.photo_problem(body) is None and body["mime"] == "image/jpeg"
    assert hashlib.sha256(data).hexdigest() == body["sha256"]
    assert len(data) <= MAX_OUTPUT_BYTES
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and max(im.size) <= MAX_SIDE and not im.getexif()
        assert im.size == (body["width"], body["height"]) == (1280, 720)
        red, green, blue = im.convert("RGB").getpixel((640, 360))  # the sign board: red
        assert red > 120 and green < 90 and blue < 90
    assert body["taken_at"] == "2025-09-29T09:00:00.000+08:00"  # the station's clock
    assert check.item("有牌子").photos == (body["sha256"],)
    # the same frame prepared again is the same evidence (deterministic re-encoding)
    assert prepare_shot(shot).sha256 == body["sha256"]


def test_the_viewfinder_previews_and_shoots_the_frame_last_shown(
        clock: ManualClock, tmp_path: Path):
    source = str(write_clip(tmp_path / "camera.avi", frames=3))
    finder = Viewfinder(source)
    try:
        assert open_cameras() == 1
        previews = [finder.preview() for _ in range(7)]  # past the clip's end: it loops
        with Image.open(io.BytesIO(previews[-1])) as im:
            assert im.format == "JPEG" and im.size == (480, 270)
        shot = finder.shoot("有公示栏", clock.now())
    finally:
        finder.close()
    assert finder.closed and open_cameras() == 0
    # frames 0 1 2 0 1 2 0: the shot is the frame last previewed, at full size
    assert [marker_of(Image.open(io.BytesIO(p))) for p in previews] == [0, 1, 2, 0, 1, 2, 0]
    with Image.open(io.BytesIO(shot.frame)) as still:
        assert still.size == (1280, 720) and marker_of(still) == 0
    assert shot.item == "有公示栏"


def test_no_camera_is_a_clear_error_and_writes_nothing(
        station: Station, clock: ManualClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch):
    before = station.ledger.size()
    for source in ("9", str(tmp_path / "no-such-camera.avi")):
        monkeypatch.setenv("STATION_CAMERA", source)
        with pytest.raises(CameraNotFound) as caught:
            take_shot("有牌子", at=clock.now())
        assert "没有找到可用的摄像头" in caught.value.text
        assert caught.value.code == "CAMERA_NOT_FOUND"
    assert camera_source("9") == 9 and camera_source(" ") == 0
    assert station.ledger.size() == before and open_cameras() == 0


def test_an_unreadable_source_or_a_covered_lens_is_a_clear_error(
        clock: ManualClock, tmp_path: Path):
    garbage = tmp_path / "camera.avi"
    garbage.write_bytes(b"this is not a video" * 100)
    with pytest.raises(CameraReadFailed) as caught:
        take_shot("有牌子", at=clock.now(), source=str(garbage))
    assert "可能正被其他程序占用" in caught.value.text and caught.value.code == \
        "CAMERA_READ_FAILED"

    covered = write_clip(tmp_path / "covered.avi", frames=4, width=320, height=240, dark=True)
    with pytest.raises(CameraDark) as dark:
        take_shot("有牌子", at=clock.now(), source=str(covered))
    assert "画面全黑" in dark.value.text and isinstance(dark.value, CameraUnavailable)

    with pytest.raises(InvalidInput):  # a typo in the item: refused before the camera opens
        take_shot("有电脑", at=clock.now(), source=str(garbage))
    assert open_cameras() == 0
