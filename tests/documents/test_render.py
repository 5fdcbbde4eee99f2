"""The PDF renderer: identical bytes for identical documents, embedded subset CJK fonts,
Chinese text (rare characters too) that survives extraction, and an 80 mm roll cut to fit.

The golden files in ``tests/golden/`` pin the exact bytes (reportlab writes with
``invariant=1``). When a layout change is intended, regenerate them and commit the new files::

    STATION_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/documents/test_render.py
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from station_app.documents.render import render_pdf
from station_app.domain.templates import DocumentSpec, FilledBlock
from tests.documents.pdftools import page_text, pdf_fonts, pdf_info, pdf_text, the_qr_code

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
REGENERATE = os.environ.get("STATION_REGENERATE_GOLDEN") == "1"
TOKEN = ("VSS1.330199101000.0123456789ab.receipt.20250929.330199101000-20250929-0001."
         "0123456789abcdef01234567."
         "Zm9yIHRoZSBnb2xkZW4gZmlsZSBvbmx5OiBub3QgYSByZWFsIHNpZ25hdHVyZSBvZiBhbnkgc3RhdGlvbiEhIQ")
METADATA = {"author": "青石镇便民服务中心", "subject": "golden", "keywords": TOKEN}
RARE = "䶮"  # U+4DAE, CJK Extension A: not in WenQuanYi Micro Hei, drawn by the fallback font
A4_WIDTH, A4_HEIGHT = 595.276, 841.89
ROLL_WIDTH = 80 / 25.4 * 72  # 226.77 pt


def receipt(paper: str, *, materials: int = 2, name: str = f"王{RARE}") -> DocumentSpec:
    """A fixed receipt written out by hand: every block type, no template, no station."""
    rows = tuple((f"材料{i}", "1", "1") for i in range(1, materials + 1))
    return DocumentSpec(title="收件回执", paper=paper, token=TOKEN, blocks=(
        FilledBlock(type="paragraph", text="青石镇便民服务中心", align="center"),
        FilledBlock(type="title", text="收件回执"),
        FilledBlock(type="paragraph", text="青石镇收〔2025〕1号", align="center"),
        FilledBlock(type="fields", rows=(
            ("办件编号", "330199101000-20250929-0001"), ("申请事项", "临时救助申请"),
            ("申请人", name), ("证件号码", "110***********002X（居民身份证）"),
            ("联系电话", "138****1234"))),
        FilledBlock(type="table", text="已收材料", headers=("材料名称", "原件", "复印件"),
                    widths=(5.0, 1.0, 1.2), cells=rows),
        FilledBlock(type="list", text="需要补正的材料", items=("户口簿：复印件不清晰",
                                                               "申请表：未签名")),
        FilledBlock(type="paragraph", text="　　本中心将于2025年10月13日前一次性告知需要补正的"
                                           "全部内容（A&B <b>不是标记</b>）。"),
        FilledBlock(type="signature", items=("申请人签收：__________", "签收时间：______年")),
        FilledBlock(type="spacer", height_mm=2),
        FilledBlock(type="rule"),
        FilledBlock(type="qr", text="扫码核验本文书真伪（编号 青石镇收〔2025〕1号）"),
    ))


def render(spec: DocumentSpec, tmp_path: Path, name: str = "out.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(render_pdf(spec, metadata=METADATA))
    return path


# ---------------------------------------------------------------------------- golden


@pytest.mark.parametrize("paper", ["a4", "roll80"])
def test_rendering_matches_the_golden_file(paper: str, tmp_path: Path) -> None:
    golden = GOLDEN / f"receipt-{paper}.pdf"
    pdf = render_pdf(receipt(paper), metadata=METADATA)
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(pdf)
    how = ("to accept the current rendering (after looking at it), regenerate with\n"
           "    STATION_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest "
           "tests/documents/test_render.py\nand commit tests/golden/")
    assert golden.is_file(), f"golden file {golden} is missing; {how}"
    expected = golden.read_bytes()
    if pdf != expected:
        actual = tmp_path / golden.name
        actual.write_bytes(pdf)
        pytest.fail(f"{golden.name} drifted: now {len(pdf)} bytes (sha256 "
                    f"{hashlib.sha256(pdf).hexdigest()[:16]}…), golden {len(expected)} bytes "
                    f"(sha256 {hashlib.sha256(expected).hexdigest()[:16]}…).\n"
                    f"The new rendering is at {actual} (compare with pdftoppm or diffpdf); {how}")


def test_the_golden_files_read_as_the_receipt_they_pin() -> None:
    for paper in ("a4", "roll80"):
        golden = GOLDEN / f"receipt-{paper}.pdf"
        assert golden.is_file(), f"{golden} is missing (see test_rendering_matches_the_golden_file)"
        assert "330199101000-20250929-0001" in page_text(golden)
        assert the_qr_code(golden) == TOKEN


def test_rendering_twice_gives_identical_bytes() -> None:
    first = render_pdf(receipt("roll80"), metadata=METADATA)
    render_pdf(receipt("a4", materials=30, name="李四"), metadata={})  # anything in between
    again = render_pdf(receipt("roll80"), metadata=METADATA)

    assert first == again
    assert render_pdf(receipt("roll80", name="王五"), metadata=METADATA) != first


def test_metadata_carries_the_token_and_no_clock() -> None:
    pdf = render_pdf(receipt("a4"), metadata=METADATA)

    assert f"/Keywords ({TOKEN})".encode() in pdf
    assert b"/Subject (golden)" in pdf
    assert b"/CreationDate (D:20000101000000+00'00')" in pdf  # invariant: not today's date


# ---------------------------------------------------------------------------- fonts


@pytest.mark.parametrize("paper", ["a4", "roll80"])
def test_every_font_is_an_embedded_subset(paper: str, tmp_path: Path) -> None:
    fonts = pdf_fonts(render(receipt(paper), tmp_path))

    assert fonts, "pdffonts lists no font at all"
    for font in fonts:
        assert (font.emb, font.sub, font.uni) == (True, True, True), font
        assert font.name[:7].isupper() and font.name[6] == "+", f"not a subset name: {font}"
    names = {font.name.split("+", 1)[1] for font in fonts}
    assert any(n.startswith("WenQuanYiMicroHei") for n in names), names
    assert "DroidSansFallback" in names, names  # the rare character needed it
    assert not any("Helvetica" in n or "Times" in n or "Courier" in n for n in names)


def test_the_fallback_font_is_only_embedded_when_a_character_needs_it(tmp_path: Path) -> None:
    fonts = pdf_fonts(render(receipt("a4", name="张三丰"), tmp_path))

    assert [f.name.split("+", 1)[1] for f in fonts if "Droid" in f.name] == []
    assert all(f.emb and f.sub for f in fonts)


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize("paper", ["a4", "roll80"])
def test_chinese_text_round_trips_through_pdftotext(paper: str, tmp_path: Path) -> None:
    path = render(receipt(paper), tmp_path)
    text = page_text(path)

    assert 0x3400 <= ord(RARE) <= 0x4DBF
    for expected in ("青石镇便民服务中心", "收件回执", "青石镇收〔2025〕1号",
                     "330199101000-20250929-0001", "临时救助申请", f"王{RARE}",
                     "110***********002X（居民身份证）", "138****1234", "户口簿：复印件不清晰",
                     "2025年10月13日", "扫码核验本文书真伪"):
        assert expected in text, f"{expected!r} not in the extracted text of the {paper} page"


def test_template_text_is_printed_literally_never_as_markup(tmp_path: Path) -> None:
    text = page_text(render(receipt("a4"), tmp_path))

    assert "A&B<b>不是标记</b>" in text


def test_the_qr_code_on_the_page_decodes_to_the_token(tmp_path: Path) -> None:
    for paper in ("a4", "roll80"):
        assert the_qr_code(render(receipt(paper), tmp_path, f"{paper}.pdf")) == TOKEN


# ---------------------------------------------------------------------------- paper


def test_a4_is_a4(tmp_path: Path) -> None:
    info = pdf_info(render(receipt("a4"), tmp_path))

    assert info.pages == 1
    assert info.width == pytest.approx(A4_WIDTH, abs=0.01)
    assert info.height == pytest.approx(A4_HEIGHT, abs=0.01)


def test_the_roll_is_one_page_cut_to_the_length_of_its_content(tmp_path: Path) -> None:
    short = pdf_info(render(receipt("roll80"), tmp_path, "short.pdf"))
    long_path = render(receipt("roll80", materials=90), tmp_path, "long.pdf")
    long = pdf_info(long_path)

    assert short.pages == long.pages == 1
    assert short.width == long.width == pytest.approx(ROLL_WIDTH, abs=0.01)
    assert short.height < A4_HEIGHT < long.height  # a long receipt is longer than A4
    text = page_text(long_path)
    assert "材料1" in text and "材料90" in text and "扫码核验本文书真伪" in text
    assert the_qr_code(long_path) == TOKEN  # the code at the very end is still on the page


def test_the_same_long_content_on_a4_breaks_across_pages(tmp_path: Path) -> None:
    path = render(receipt("a4", materials=90), tmp_path)

    assert pdf_info(path).pages > 1
    assert "材料90" in page_text(path)
    assert "材料90" not in pdf_text(path).split("\f")[0]  # not crammed onto the first page
