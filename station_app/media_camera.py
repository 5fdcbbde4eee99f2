"""Webcam capture: the only importer of OpenCV (``cv2``; tests/test_architecture.py).

Flet has no camera control, so the picture is taken here, in Python, and handed on as PNG
bytes (lossless) to the same re-encoding as a photo chosen from a file
(``station_app.media.prepare_photo``: at most ``MAX_SIDE`` px, at most 150 KB JPEG, no
metadata). A webcam photo is therefore treated exactly like a file photo.

Which camera: ``STATION_CAMERA`` (environment) is a device index (``0``, ``1`` … for a PC with
several cameras) or anything OpenCV can open: a video file, an image sequence
(``frame%03d.png``) or a stream URL (``rtsp://…`` of a network camera). Unset, it is the
default camera, index 0. A device is opened with the platform's direct backend (DirectShow on
Windows, which opens in about a second where Media Foundation can take ten; V4L2 on Linux);
anything else with whatever OpenCV picks (FFmpeg). A file source loops when it reaches its
end, so it behaves like a camera that never stops: that is how tests exercise this code
with no hardware.

One still (``capture_still``): open, let auto exposure settle (``WARM_UP_FRAMES``, longer
while the picture is still black), grab one frame, release the device. The preview
(``Camera``): the device stays open while the 拍照 dialog is, a small JPEG per ``preview``,
``still`` is the frame last previewed — what the person saw is what is stored.

Failures are typed (``station_app.errors``): no camera or a source that does not open →
``CameraNotFound``; opened but no frame (busy in another program, unplugged) →
``CameraReadFailed``; a black frame (lens covered, lights off) → ``CameraDark``; OpenCV not
installed → ``CameraUnavailable`` (``unavailable_reason`` lets a screen say so up front).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from station_app.errors import CameraDark, CameraNotFound, CameraReadFailed, CameraUnavailable
from station_app.media import MAX_SIDE

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # no "can't open camera by index" spam
try:
    import cv2
except ImportError:  # the optional dependency is missing: file photos still work
    cv2 = None

ENV_SOURCE = "STATION_CAMERA"
WARM_UP_FRAMES = 5  # auto exposure and white balance settle over the first frames
MAX_DARK_FRAMES = 30  # keep reading while black (exposure still opening up), then give up
READ_RETRIES = 3  # a device can drop the odd frame; three misses in a row is a failure
DARK_MEAN = 10.0  # mean brightness (0–255) below which a frame is black, not a photo
WANTED_SIZE = (MAX_SIDE, MAX_SIDE * 9 // 16)  # asked of the device; it picks the nearest
STILL_SIDE = 2 * MAX_SIDE  # bigger frames are shrunk first: a 4K PNG could pass 20 MB
PREVIEW_SIDE = 480
PREVIEW_QUALITY = 70
OPEN_TIMEOUT_MS = 5000  # a stream URL that does not answer

Source = int | str
_open_lock = threading.Lock()
_open_count = 0


def unavailable_reason() -> str | None:
    """Why no camera can be used on this PC at all (OpenCV missing), or ``None``."""
    if cv2 is None:
        return "本机未安装摄像头组件（OpenCV），请从文件选择照片"
    return None


def camera_source(value: str | None = None) -> Source:
    """``value`` (default: ``STATION_CAMERA``) as an OpenCV source: digits are an index."""
    text = (os.environ.get(ENV_SOURCE, "") if value is None else value).strip()
    if not text:
        return 0
    return int(text) if text.isdigit() else text


def describe(source: Source) -> str:
    return f"摄像头 {source}" if isinstance(source, int) else str(source)


def _names(source: Source) -> dict[str, str]:
    """The source as the error messages name it, in Chinese and in English."""
    return {"source": describe(source),
            "source_en": f"camera {source}" if isinstance(source, int) else str(source)}


def open_cameras() -> int:
    """How many devices this process holds open (0 once every dialog and capture is done)."""
    return _open_count


class Camera:
    """An open camera; always ``close`` it (or use ``with``), or the device stays busy."""

    def __init__(self, source: Source | None = None) -> None:
        if cv2 is None:
            raise CameraUnavailable(reason=unavailable_reason())
        self.source = camera_source() if source is None else source
        self.where = describe(self.source)
        self._names = _names(self.source)
        self._lock = threading.Lock()  # one read at a time; close waits for a read
        self._frame: Any = None
        self._capture = _open(self.source)
        _count(+1)

    def __enter__(self) -> Camera:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._capture is None

    def warm_up(self) -> None:
        """Read frames until exposure has settled: ``WARM_UP_FRAMES``, more while black."""
        for n in range(MAX_DARK_FRAMES):
            frame = self._read()
            if n + 1 >= WARM_UP_FRAMES and not _dark(frame):
                return

    def preview(self) -> bytes:
        """Read the next frame, keep it as the candidate still, return it as a small JPEG."""
        frame = self._read()
        small = _shrink(frame, PREVIEW_SIDE)
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
        if not ok:
            raise CameraReadFailed(**self._names, reason="画面无法编码",
                                   reason_en="the frame could not be encoded")
        return bytes(buf.tobytes())

    def still(self) -> bytes:
        """The frame last previewed (or a fresh one) as PNG, for ``prepare_photo``."""
        with self._lock:
            frame = self._frame
        if frame is None:
            frame = self._read()
        if _dark(frame):
            raise CameraDark(**self._names)
        ok, buf = cv2.imencode(".png", _shrink(frame, STILL_SIDE),
                               [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise CameraReadFailed(**self._names, reason="画面无法编码",
                                   reason_en="the frame could not be encoded")
        return bytes(buf.tobytes())

    def close(self) -> None:
        with self._lock:
            capture, self._capture = self._capture, None
            if capture is not None:
                capture.release()
                _count(-1)

    def _read(self) -> Any:
        with self._lock:
            if self._capture is None:
                raise CameraReadFailed(**self._names, reason="已关闭",
                                       reason_en="the camera was closed")
            for _ in range(READ_RETRIES):
                ok, frame = self._capture.read()
                if not ok and not isinstance(self.source, int):  # a file ended: loop it
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    ok, frame = self._capture.read()
                if ok and frame is not None and frame.size:
                    self._frame = frame
                    return frame
            raise CameraReadFailed(**self._names, reason="没有传回画面",
                                   reason_en="no frame came back")


def capture_still(source: Source | None = None) -> bytes:
    """Take one photo: open, warm up, grab, release. PNG bytes for ``prepare_photo``."""
    with Camera(source) as camera:
        camera.warm_up()
        return camera.still()


def _open(source: Source) -> Any:
    if isinstance(source, int):
        backend = cv2.CAP_DSHOW if sys.platform == "win32" else (
            cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY)
        capture = cv2.VideoCapture(source, backend)
        if not capture.isOpened() and backend != cv2.CAP_ANY:  # e.g. an MSMF-only device
            capture = cv2.VideoCapture(source, cv2.CAP_ANY)
    else:
        capture = cv2.VideoCapture(source, cv2.CAP_ANY,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS,
                                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, OPEN_TIMEOUT_MS])
    if not capture.isOpened():
        capture.release()
        if isinstance(source, int) or not _exists(source):
            raise CameraNotFound(**_names(source))
        raise CameraReadFailed(**_names(source), reason="无法打开（不是 OpenCV 能读的视频或图片）",
                               reason_en="cannot be opened as video or images")
    if isinstance(source, int):
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, WANTED_SIZE[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, WANTED_SIZE[1])
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the preview shows now, not a queue
    return capture


def _exists(source: str) -> bool:
    """A file, or the first of an image sequence (``frame%03d.png``)."""
    if "://" in source:
        return True  # a stream that did not open is unreadable rather than absent
    if "%" in source:
        try:
            return Path(source % 0).exists() or Path(source % 1).exists()
        except (TypeError, ValueError):
            return False
    return Path(source).exists()


def _dark(frame: Any) -> bool:
    return float(frame.mean()) < DARK_MEAN


def _shrink(frame: Any, side: int) -> Any:
    height, width = frame.shape[:2]
    if max(height, width) <= side:
        return frame
    scale = side / max(height, width)
    return cv2.resize(frame, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


def _count(delta: int) -> None:
    global _open_count
    with _open_lock:
        _open_count += delta
