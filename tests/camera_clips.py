"""A stand-in for a webcam: a short MJPEG video written with OpenCV itself, used as the
camera source through ``STATION_CAMERA`` so the real capture code runs with no hardware.

Importing this module skips the importing test module when OpenCV is missing, unless
``STATION_REQUIRE_CAMERA=1`` (CI), where a missing OpenCV is a failure instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("STATION_REQUIRE_CAMERA") == "1":
    import cv2
    import numpy as np
else:
    cv2 = pytest.importorskip(
        "cv2", exc_type=ImportError,
        reason="OpenCV (opencv-python-headless) is not installed: webcam capture is optional "
               "and untestable here (set STATION_REQUIRE_CAMERA=1 to insist)")
    import numpy as np

from tests.photos import scene


def write_clip(path: Path, *, frames: int = 12, width: int = 1280, height: int = 720,
               dark: bool = False) -> Path:
    """An MJPEG AVI of photo-like frames (a sign board with grain; frame ``n`` has a grey
    ``marker(n)`` square top left), or of black frames with sensor noise, as a covered lens
    gives."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPEG here"
    rng = np.random.default_rng(7)
    for n in range(frames):
        if dark:
            frame = rng.integers(0, 6, size=(height, width, 3), dtype=np.uint8)
        else:
            rgb = np.asarray(scene(width, height, seed=n + 1))
            frame = np.ascontiguousarray(rgb[:, :, ::-1])  # OpenCV frames are BGR
            frame[:64, :64] = marker(n)  # which frame this is, readable from any copy
        writer.write(frame)
    writer.release()
    return path


def marker(n: int) -> int:
    """The grey level of frame ``n``'s top-left square (distinct for the first six)."""
    return 20 + 40 * (n % 6)


def marker_of(image: object) -> int:
    """Which frame a Pillow image is, from the grey of its top-left square."""
    grey = image.convert("L").getpixel((8, 8))  # type: ignore[attr-defined]
    return min(range(6), key=lambda n: abs(marker(n) - grey))
