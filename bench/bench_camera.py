"""Webcam photos for 七有 (issue 7 item 3; station_app/media_camera.py).

    python -m bench.bench_camera [--repeat 20] [--source CAMERA]

The camera is a 1280×720 MJPEG clip of photo-like frames (tests/camera_clips.py) unless
``--source`` names a real one (an index such as 0, or a URL): the figures are then the
device's. Measured: one still from the command line (open, warm-up, frame, release), one
preview frame of the 拍照 dialog (read + 480 px JPEG, done every 0.3 s off the UI loop), the
shot (PNG of the full frame) and its re-encoding into evidence (≤ 150 KB JPEG).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import datetime
from pathlib import Path

from bench.common import row, timings
from station_app.domain.clock import CST
from station_app.media_camera import Camera, camera_source, capture_still
from station_app.services.camera import PhotoShot, prepare_shot
from tests.camera_clips import write_clip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--source", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-camera-") as folder:
        source = camera_source(args.source) if args.source else str(
            write_clip(Path(folder) / "camera.avi", frames=10))
        measure(source, args.repeat)


def measure(source: int | str, repeat: int) -> None:
    stills = timings(lambda: capture_still(source), repeat)
    with Camera(source) as camera:
        camera.warm_up()
        previews = timings(camera.preview, repeat * 3)
        preview_kb = len(camera.preview()) / 1000
        shots = timings(camera.still, repeat)
        frame = camera.still()
    shot = PhotoShot("有牌子", frame, datetime.now(CST))
    prepared = timings(lambda: prepare_shot(shot), repeat)
    evidence_kb = len(prepare_shot(shot).data) / 1000
    print(f"source: {source}")
    print("| step | median | p95 | n |\n|---|---|---|---|")
    print(row("`station seven check --camera`: open, warm up, one frame, release", stills))
    print(row(f"one preview frame (read + 480 px JPEG, {preview_kb:.0f} KB)", previews))
    print(row(f"拍摄: the frame as PNG ({len(frame) / 1e6:.1f} MB)", shots))
    print(row(f"使用这张 / 保存: re-encoded to evidence ({evidence_kb:.0f} KB JPEG)", prepared))


if __name__ == "__main__":
    main()
