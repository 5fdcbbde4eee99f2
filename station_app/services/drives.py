"""Removable drives (U盘) mounted on this PC, for the one-click backup.

Linux: mounts under ``/media/<user>/`` or ``/run/media/<user>/`` (where desktops mount
sticks), and any mount whose block device says ``removable`` in ``/sys/block``. Windows:
drive letters of type ``DRIVE_REMOVABLE``. macOS: ``/Volumes/*``. ``$STATION_REMOVABLE_DIRS``
(folders separated by the path separator) replaces the search, for tests and for PCs whose
drive is mounted somewhere unusual.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REMOVABLE_ENV = "STATION_REMOVABLE_DIRS"
DRIVE_REMOVABLE = 2  # GetDriveTypeW


@dataclass(frozen=True, slots=True)
class Drive:
    path: Path
    label: str
    free: int  # bytes

    @property
    def title(self) -> str:
        return f"{self.label}（{self.path}，可用 {self.free / 1e9:.1f} GB）"


def removable_drives() -> list[Drive]:
    configured = os.environ.get(REMOVABLE_ENV)
    if configured is not None:
        paths = [Path(p) for p in configured.split(os.pathsep) if p]
    elif sys.platform == "win32":
        paths = _windows()
    elif sys.platform == "darwin":
        paths = [p for p in Path("/Volumes").glob("*") if not p.is_symlink()]
    else:
        paths = _linux()
    return [_drive(p) for p in paths if p.is_dir() and os.access(p, os.W_OK)]


def _drive(path: Path) -> Drive:
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        free = 0
    return Drive(path, path.name or str(path), free)


def _linux() -> list[Path]:
    try:
        lines = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found: list[Path] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        device, mount = fields[0], _unescape(fields[1])
        if mount.startswith(("/media/", "/run/media/")) or _removable_device(device):
            if mount not in ("/", "/boot") and Path(mount) not in found:
                found.append(Path(mount))
    return found


def _unescape(text: str) -> str:
    """/proc/mounts writes a space as \\040 (and tab, newline, backslash likewise)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


def _removable_device(device: str) -> bool:
    if not device.startswith("/dev/"):
        return False
    node = Path("/sys/class/block") / Path(device).name
    try:
        real = node.resolve(strict=True)
    except OSError:
        return False
    for folder in (real, real.parent):  # the disk itself, or the disk of a partition
        flag = folder / "removable"
        if flag.is_file():
            return flag.read_text().strip() == "1"
    return False


def _windows() -> list[Path]:  # pragma: no cover - Windows only
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    mask = kernel.GetLogicalDrives()
    letters = [chr(ord("A") + i) for i in range(26) if mask >> i & 1]
    return [Path(f"{c}:\\") for c in letters if kernel.GetDriveTypeW(f"{c}:\\") == DRIVE_REMOVABLE]
