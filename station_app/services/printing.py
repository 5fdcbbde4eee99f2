"""Sending a PDF to the operating system's printer.

Linux and other CUPS systems: ``lpstat`` lists the queues, ``lp`` prints. Windows: the
shell's ``print`` / ``printto`` verb of the PDF's registered application. When the PC has no
printer the caller keeps the PDF and tells the user where it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from station_app.errors import PrinterUnknown, PrintFailed

TIMEOUT = 30


@dataclass(frozen=True, slots=True)
class Printers:
    names: tuple[str, ...]
    default: str | None


def printers() -> Printers:
    if sys.platform == "win32":
        return _windows_printers()
    if shutil.which("lpstat") is None:
        return Printers((), None)
    names = tuple(line.split()[0] for line in _run(["lpstat", "-e"]).splitlines() if line.strip())
    default = None
    for line in _run(["lpstat", "-d"]).splitlines():
        if ":" in line and "no system default" not in line:
            default = line.split(":", 1)[1].strip() or None
    return Printers(names, default)


def choose_printer(requested: str | None) -> str | None:
    """The printer to use: the one asked for (which must exist), else the default, else none."""
    available = printers()
    if requested:
        if requested not in available.names:
            raise PrinterUnknown(field="printer", value=requested,
                                 available="、".join(available.names) or "（无）")
        return requested
    return available.default


def send(path: Path, printer: str, *, media_mm: tuple[float, float] | None = None) -> str:
    """Queue the PDF on ``printer``; returns the job description. Raises PrintFailed.

    ``media_mm`` asks for a custom paper size (an 80 mm roll cut to the slip's length), so a
    receipt printer does not feed an A4 page's worth of paper.
    """
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        os.startfile(str(path), "printto", f'"{printer}"')  # type: ignore[attr-defined]
        return f"已交给 Windows 打印：{printer}"
    media = ["-o", f"media=Custom.{media_mm[0]:.0f}x{media_mm[1]:.0f}mm"] if media_mm else []
    try:
        done = subprocess.run(["lp", "-d", printer, "-t", path.name, *media, str(path)],
                              capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PrintFailed(reason=str(exc)) from None
    if done.returncode != 0:
        raise PrintFailed(reason=(done.stderr or done.stdout).strip() or "lp 返回错误")
    return done.stdout.strip()


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def _windows_printers() -> Printers:  # pragma: no cover - exercised on Windows only
    names = _run(["powershell", "-NoProfile", "-Command",
                  "Get-Printer | Select-Object -ExpandProperty Name"]).splitlines()
    default = _run(["powershell", "-NoProfile", "-Command",
                    "(Get-CimInstance Win32_Printer | Where-Object Default).Name"]).strip()
    return Printers(tuple(n.strip() for n in names if n.strip()), default or None)
