"""Lay out a filled document as a PDF with reportlab (it and ``audit_report`` are the only
modules that import reportlab).

A4 pages for notices, an 80 mm roll for receipts (the page is exactly as tall as its content).
The bundled fonts are embedded as subsets, so the paper reads the same on any printer and any
PC: WenQuanYi Micro Hei for Latin, digits and common Chinese, and Droid Sans Fallback for
rarer characters it lacks (CJK Extension A turns up in rural names), chosen glyph by glyph.
``invariant=1`` makes the bytes depend on the content alone, so the same document renders to
the same file (tests keep golden copies).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from functools import cache
from itertools import groupby
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from station_app.domain.templates import DocumentSpec, FilledBlock

FONT = "StationCJK"
FALLBACK = "StationCJKExt"
FONTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
DEFAULT_FONTS = (FONTS_DIR / "wqy-microhei.ttc", FONTS_DIR / "DroidSansFallbackFull.ttf")
ROLL_WIDTH = 80 * mm
FRAME_PADDING = 6  # points, on each side of reportlab's default frame
_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


@cache
def _register(primary: str, fallback: str) -> frozenset[int]:
    """Register both fonts once per process; returns the code points the primary covers."""
    main = TTFont(FONT, primary, subfontIndex=0) if primary.endswith(".ttc") \
        else TTFont(FONT, primary)
    pdfmetrics.registerFont(main)
    pdfmetrics.registerFont(TTFont(FALLBACK, fallback))
    return frozenset(main.face.charToGlyph)


class _Geometry:
    def __init__(self, paper: str, covered: frozenset[int]) -> None:
        self.covered = covered
        self.roll = paper == "roll80"
        self.margin = 4 * mm if self.roll else 18 * mm
        page = ROLL_WIDTH if self.roll else A4[0]
        self.width = page - 2 * self.margin - 2 * FRAME_PADDING
        self.body = 8.5 if self.roll else 11.0
        self.qr = 30 * mm if self.roll else 26 * mm


def render_pdf(spec: DocumentSpec, *, metadata: dict[str, str],
               fonts: tuple[Path, Path] = DEFAULT_FONTS) -> bytes:
    """The PDF bytes of ``spec``; ``metadata`` fills the PDF's author, subject and keywords."""
    geo = _Geometry(spec.paper, _register(str(fonts[0]), str(fonts[1])))
    story = [f for block in spec.blocks for f in _flowables(block, geo, spec.token)]
    pagesize = A4 if not geo.roll else (ROLL_WIDTH, _height(story, geo))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=pagesize, leftMargin=geo.margin, rightMargin=geo.margin,
        topMargin=geo.margin, bottomMargin=geo.margin, title=spec.title,
        author=metadata.get("author", ""), subject=metadata.get("subject", ""),
        keywords=metadata.get("keywords", ""), creator="station-app", invariant=1,
        initialFontName=FONT)  # so no unembedded Helvetica is declared on the page
    doc.build(story)
    return buf.getvalue()


def _height(story: Sequence[Flowable], geo: _Geometry) -> float:
    """The roll is cut to fit: the sum of every flowable's wrapped height plus margins."""
    total = 2 * geo.margin + 2 * FRAME_PADDING + 6  # and a little slack for rounding
    for flowable in story:
        _, h = flowable.wrap(geo.width, 10_000)
        total += h + flowable.getSpaceBefore() + flowable.getSpaceAfter()
    return total


def _style(geo: _Geometry, size: float = 0, align: str = "left", leading: float = 1.45,
           before: float = 0, after: float = 0) -> ParagraphStyle:
    points = size or geo.body
    return ParagraphStyle("s", fontName=FONT, fontSize=points, leading=points * leading,
                          alignment=_ALIGN.get(align, TA_LEFT), wordWrap="CJK",
                          spaceBefore=before, spaceAfter=after)


def _p(geo: _Geometry, text: str, style: ParagraphStyle) -> Paragraph:
    # Leading ideographic spaces (the usual two-character indent of Chinese prose) would be
    # collapsed by the paragraph parser; turn them into a first-line indent instead.
    body = text.lstrip("\u3000")
    indent = len(text) - len(body)
    if indent:
        style = ParagraphStyle("indented", parent=style,
                               firstLineIndent=indent * style.fontSize)
    return Paragraph(_markup(body, geo.covered), style)


def _markup(text: str, covered: frozenset[int]) -> str:
    """Escaped paragraph markup; runs the primary font lacks are set in the fallback font."""
    out: list[str] = []
    run: list[str] = []
    fallback = False
    for ch in text:
        needs = ch not in "\n " and ord(ch) not in covered
        if needs != fallback and run:
            out.append(_run("".join(run), fallback))
            run = []
        fallback = needs
        run.append(ch)
    if run:
        out.append(_run("".join(run), fallback))
    return "".join(out).replace("\n", "<br/>")


def _run(text: str, fallback: bool) -> str:
    return f'<font name="{FALLBACK}">{escape(text)}</font>' if fallback else escape(text)


def _flowables(block: FilledBlock, geo: _Geometry, token: str) -> list[Flowable]:
    kind = block.type
    if kind == "title":
        size = block.size or (13 if geo.roll else 18)
        return [_p(geo, block.text, _style(geo, size, block.align, 1.3, after=size * 0.4))]
    if kind == "paragraph":
        return [_p(geo, block.text, _style(geo, block.size, block.align, after=geo.body * 0.4))]
    if kind == "fields":
        return [_fields(block, geo)]
    if kind == "table":
        return _table(block, geo)
    if kind == "list":
        return _list(block, geo)
    if kind == "signature":
        style = _style(geo, block.size, leading=2.2)
        return [_p(geo, line, style) for line in block.items]
    if kind == "qr":
        return _qr(token, block, geo)
    if kind == "rating-qr":  # the evaluation code: its URL travels in the block's items
        return _qr(block.items[0], block, geo)
    if kind == "spacer":
        return [Spacer(1, block.height_mm * mm)]
    return [HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceBefore=3,
                       spaceAfter=3)]


def _fields(block: FilledBlock, geo: _Geometry) -> Table:
    style = _style(geo, block.size)
    label_w = geo.width * (0.3 if geo.roll else 0.24)
    rows = [[_p(geo, label, style), _p(geo, value, style)] for label, value in block.rows]
    table = Table(rows, colWidths=[label_w, geo.width - label_w], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("FONTNAME", (0, 0), (-1, -1), FONT),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                               ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5)]))
    return table


def _table(block: FilledBlock, geo: _Geometry) -> list[Flowable]:
    style = _style(geo, block.size or geo.body - 0.5, leading=1.25)
    out: list[Flowable] = []
    if block.text:
        out.append(_p(geo, block.text, _style(geo, block.size, before=3, after=2)))
    if not block.cells:
        return out + [_p(geo, item, style) for item in block.items]
    total = sum(block.widths)
    widths = [geo.width * w / total for w in block.widths]
    rows = [[_p(geo, h, style) for h in block.headers]]
    rows += [[_p(geo, cell, style) for cell in row] for row in block.cells]
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                               ("FONTNAME", (0, 0), (-1, -1), FONT),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return out + [table, Spacer(1, 2)]


def _list(block: FilledBlock, geo: _Geometry) -> list[Flowable]:
    out: list[Flowable] = []
    if block.text:
        out.append(_p(geo, block.text, _style(geo, block.size, before=3, after=2)))
    style = _style(geo, block.size)
    numbered = len(block.items) > 1
    out += [_p(geo, f"{i}. {item}" if numbered else item, style)
            for i, item in enumerate(block.items, start=1)]
    return out


class _QrCode(Flowable):
    """A QR code drawn as one filled path of row runs.

    reportlab's widget encodes the data twice per page and draws each run as its own shape
    (~70 ms for a receipt); encoding once and filling one path takes a tenth of that.
    """

    BORDER = 4  # quiet-zone modules, as the QR standard asks

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(data)
        code.make()
        self.modules = [[bool(m) for m in row] for row in code.modules]
        self.width = self.height = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        box = self.width / (len(self.modules) + 2 * self.BORDER)
        path = self.canv.beginPath()
        for r, row in enumerate(self.modules):
            c = 0
            for dark, run in groupby(row):
                count = len(list(run))
                if dark:
                    path.rect((c + self.BORDER) * box,
                              self.height - (r + self.BORDER + 1) * box, count * box, box)
                c += count
        self.canv.drawPath(path, stroke=0, fill=1)


def _qr(token: str, block: FilledBlock, geo: _Geometry) -> list[Flowable]:
    """The verification code with its caption: stacked on a roll, side by side on A4."""
    code = _QrCode(token, geo.qr)
    caption = _style(geo, block.size or geo.body - 2.5, "center" if geo.roll else "left")
    if geo.roll:
        code.hAlign = "CENTER"
        return [Spacer(1, 2 * mm), code, *([_p(geo, block.text, caption)] if block.text else [])]
    text = _p(geo, block.text, caption) if block.text else Spacer(1, 1)
    side = Table([[code, text]], colWidths=[geo.qr + 4 * mm, geo.width - geo.qr - 4 * mm],
                 hAlign="LEFT")
    side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                              ("FONTNAME", (0, 0), (-1, -1), FONT),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [Spacer(1, 1 * mm), side]


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """``text`` as a QR code in a PNG (black on white, the standard four-module quiet zone).

    For codes shown on a screen or printed by hand (the county's enrollment code); a tiny
    stdlib PNG writer keeps Pillow out of the dependencies.
    """
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    border = _QrCode.BORDER
    size = len(code.modules) + 2 * border
    light = [False] * size
    grid = [light] * border + [[False] * border + [bool(m) for m in row] + [False] * border
                               for row in code.modules] + [light] * border
    rows = b"".join(
        (b"\x00" + bytes(0 if dark else 255 for dark in row for _ in range(scale))) * scale
        for row in grid)
    side = size * scale
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows, 9)) + _png_chunk(b"IEND", b""))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
