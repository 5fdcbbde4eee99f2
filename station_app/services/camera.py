"""Webcam photos for the 七有 self-check (issue 7 item 3).

A shot (``PhotoShot``) is the camera's frame as PNG, taken for one item at a moment of the
station clock. It becomes evidence exactly like a file photo: ``prepare_shot`` runs it
through ``station_app.media.prepare_photo`` (≤ 1280 px, ≤ 150 KB JPEG, no metadata), and
``record_self_check`` accepts shots beside ``PhotoFile``s. Its ``taken_at`` is the station's
clock at the shot (a file photo's is the camera's EXIF time, when it has one).

Two ways to take one: ``take_shot`` (the command line: open, warm up, one frame, release)
and ``Viewfinder`` (the 拍照 dialog: the camera stays open for a live preview, the shot is
the frame last shown, ``close`` releases the device). Which camera: ``STATION_CAMERA``, see
``station_app.media_camera``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from station_app.domain import seven
from station_app.domain.clock import iso
from station_app.domain.seven import Photo
from station_app.media import prepare_photo
from station_app.media_camera import (
    Camera,
    Source,
    camera_source,
    capture_still,
    describe,
    unavailable_reason,
)


@dataclass(frozen=True, slots=True)
class PhotoShot:
    """A photo taken with the webcam for one item."""

    item: str
    frame: bytes  # PNG, as the camera gave it; re-encoded when prepared
    taken_at: datetime  # the station clock at the shot
    where: str = "摄像头"  # names the camera in messages
    note: str = ""


def camera_unavailable() -> str | None:
    """Why this PC cannot take webcam photos at all (OpenCV missing), else ``None``."""
    return unavailable_reason()


def take_shot(item: str, *, at: datetime, source: Source | None = None,
              note: str = "") -> PhotoShot:
    """One photo for ``item`` from the camera (``STATION_CAMERA`` unless ``source``)."""
    name = seven.parse_item(item).name  # a typo is refused before the camera is touched
    chosen = camera_source() if source is None else source
    return PhotoShot(name, capture_still(chosen), at, describe(chosen), note)


def prepare_shot(shot: PhotoShot) -> Photo:
    """The shot as it is written to the log (the same path as a file photo)."""
    ready = prepare_photo(shot.frame, where=shot.where)
    return Photo(sha256=hashlib.sha256(ready.jpeg).hexdigest(), width=ready.width,
                 height=ready.height, data=ready.jpeg, taken_at=iso(shot.taken_at),
                 note=seven.check_note(shot.note, "照片说明"))


class Viewfinder:
    """The camera held open for a preview. Blocking calls: run them off the UI loop."""

    def __init__(self, source: Source | None = None) -> None:
        self._camera = Camera(source)
        self.where = self._camera.where

    @property
    def closed(self) -> bool:
        return self._camera.closed

    def preview(self) -> bytes:
        """The next frame as a small JPEG (it becomes the frame ``shoot`` takes)."""
        return self._camera.preview()

    def shoot(self, item: str, at: datetime) -> PhotoShot:
        """The frame last previewed, for ``item``; refused if it is black."""
        return PhotoShot(seven.parse_item(item).name, self._camera.still(), at, self.where)

    def close(self) -> None:
        self._camera.close()
