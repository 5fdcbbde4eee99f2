"""Reading a PDF back the way a person or a scanner would: poppler for text, fonts and pages,
zbar for the QR code.

These are system tools (``poppler-utils``, ``zbar-tools``). Without them the tests that need
them are skipped with the reason, except where ``STATION_REQUIRE_CUPS=1`` is set (CI, which
installs them together with CUPS): there a missing tool is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 30


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        reason = f"`{tool}` is not installed (apt-get install poppler-utils zbar-tools)"
        if os.environ.get("STATION_REQUIRE_CUPS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _run(*argv: str | Path, data: bytes | None = None) -> str:
    done = subprocess.run([need(str(argv[0])), *map(str, argv[1:])], input=data,
                          capture_output=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, f"{argv[0]} failed: {done.stderr.decode(errors='replace')}"
    return done.stdout.decode("utf-8", "replace")


def pdf_text(pdf: Path | bytes) -> str:
    """The page text as ``pdftotext`` extracts it (what a search or a screen reader gets)."""
    if isinstance(pdf, bytes):
        return _run("pdftotext", "-", "-", data=pdf)
    return _run("pdftotext", pdf, "-")


def flat(text: str) -> str:
    """Text without any whitespace: table cells and wrapped lines break words at random."""
    return "".join(text.split())


def page_text(pdf: Path | bytes) -> str:
    return flat(pdf_text(pdf))


@dataclass(frozen=True, slots=True)
class Font:
    name: str
    type: str
    emb: bool
    sub: bool
    uni: bool


def pdf_fonts(pdf: Path) -> list[Font]:
    """Every row of ``pdffonts``: name, type and the emb/sub/uni flags."""
    lines = _run("pdffonts", pdf).splitlines()
    assert lines[0].split()[:2] == ["name", "type"] and lines[1].startswith("---"), lines[:2]
    fonts = []
    for line in lines[2:]:
        flags = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        assert flags, f"unexpected pdffonts row: {line!r}"
        name, kind = line.split()[:2]
        fonts.append(Font(name, kind, *(flag == "yes" for flag in flags.groups())))
    return fonts


@dataclass(frozen=True, slots=True)
class PdfInfo:
    pages: int
    width: float
    height: float


def pdf_info(pdf: Path) -> PdfInfo:
    out = _run("pdfinfo", pdf)
    pages = int(re.search(r"^Pages:\s+(\d+)", out, re.M)[1])  # type: ignore[index]
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)
    assert size, out
    return PdfInfo(pages, float(size[1]), float(size[2]))


def qr_codes(pdf: Path, dpi: int = 150) -> list[str]:
    """Rasterise every page (``pdftoppm``) and decode the QR codes on it (``zbarimg``)."""
    need("zbarimg")
    with tempfile.TemporaryDirectory() as tmp:
        _run("pdftoppm", "-r", str(dpi), "-png", pdf, Path(tmp) / "page")
        pages = sorted(Path(tmp).glob("page*.png"))
        assert pages, f"pdftoppm made no image of {pdf}"
        # zbarimg exits 4 when it finds nothing and chats about dbus on stderr: ignore both
        done = subprocess.run(["zbarimg", "-q", "--raw", *map(str, pages)],
                              capture_output=True, timeout=TIMEOUT, check=False)
    return [line for line in done.stdout.decode().splitlines() if line]


def the_qr_code(pdf: Path) -> str:
    codes = qr_codes(pdf)
    assert len(codes) == 1, f"expected one QR code on {pdf.name}, found {codes}"
    return codes[0]
