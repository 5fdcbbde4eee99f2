"""The county audit's monthly PDF report, rendered to real files and read back with poppler.

The data is ``CountyAudit.to_dict()`` of the small hand-built audit in
``tests/sync/audit_sample.py`` plus three months of trend, exactly what the county passes.
No golden hash: the report prints the KPI definitions of the domain, so any wording change
there would break it; instead the bytes are compared across two renders and a fresh process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from station_app.documents.audit_report import COUNTY_TITLE, render_audit_report
from station_app.domain.audit import KPI_DEFINITIONS
from station_app.errors import ExportFailed, InvalidInput
from tests.documents.pdftools import need, page_text, pdf_fonts, pdf_info
from tests.sync.audit_sample import CENTRE, DONGKENG, FORMULA, small_audit, trend_data

ROOT = Path(__file__).resolve().parents[2]
GENERATED = "2025-12-01 10:30"
A4_WIDTH, A4_HEIGHT = 595.276, 841.89


def report_data(*, trend: bool = True) -> dict[str, Any]:
    data = small_audit().to_dict()
    if trend:
        data["trend"] = trend_data()
    return data


def render(tmp_path: Path, name: str = "report.pdf", **kw: Any) -> Path:
    path = tmp_path / name
    data = kw.pop("data", None) or report_data()
    render_audit_report(data, path, generated_at=GENERATED, **kw)
    return path


def test_the_county_report_reads_in_chinese(tmp_path: Path):
    pdf = render(tmp_path)
    text = page_text(pdf)
    assert COUNTY_TITLE in text
    assert "2025-11-01至2025-11-30" in text and GENERATED.replace(" ", "") in text
    for name in ("青石镇便民服务中心", "东坑村便民服务站", "西岭村便民服务站"):
        assert name in text
    for d in KPI_DEFINITIONS:
        assert d.name in text
    assert "66.7%" in text  # 按时办结率 of the county: 4 of 6
    assert "无数据" in text  # 差评整改率 has nothing behind it
    assert "各乡镇按时办结率" in text and "主要指标月度趋势" in text
    assert pdf_info(pdf).width == pytest.approx(A4_WIDTH, abs=0.5)
    assert pdf_info(pdf).height == pytest.approx(A4_HEIGHT, abs=0.5)


def test_only_red_findings_are_listed(tmp_path: Path):
    text = page_text(render(tmp_path))
    assert "五、红色问题" in text and "编号缺号" in text
    assert "330199101201-20251105-0003" in text
    assert "HYPERLINK" not in text  # the amber finding's message is not in the red list


def test_every_font_is_the_embedded_cjk_font(tmp_path: Path):
    fonts = pdf_fonts(render(tmp_path))
    assert fonts and all(f.emb and f.sub for f in fonts), fonts
    assert {f.name.split("+", 1)[1] for f in fonts} <= {"WenQuanYiMicroHei-0",
                                                         "DroidSansFallbackFull"}


def test_a_town_report_has_only_its_stations(tmp_path: Path):
    text = page_text(render(tmp_path, scope=CENTRE))
    assert "青石镇便民服务站点月度审计报告" in text and CENTRE in text
    assert "东坑村便民服务站" in text and "西岭村" not in text
    assert "各站点按时办结率" in text
    assert "50.0%" in text  # the town's 按时办结率: 1 of 2 (东坑村 has no finished cases)
    assert "红色1个、黄色0个、绿色1个" in text


def test_without_a_trend_the_report_says_so(tmp_path: Path):
    text = page_text(render(tmp_path, data=report_data(trend=False)))
    assert "未提供往月数据" in text


def test_the_same_data_gives_the_same_bytes(tmp_path: Path):
    first, second = render(tmp_path, "a.pdf"), render(tmp_path, "b.pdf")
    assert first.read_bytes() == second.read_bytes()


def test_the_bytes_do_not_depend_on_the_process(tmp_path: Path):
    """A fresh interpreter (fonts registered anew, nothing rendered before) writes the
    same file as this one, which has rendered other PDFs already."""
    here = render(tmp_path, "here.pdf")
    there = tmp_path / "there.pdf"
    script = ("import sys; from pathlib import Path; "
              "from tests.documents.test_audit_report import render; "
              "render(Path(sys.argv[1]), 'there.pdf')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=ROOT,
                   env=env, timeout=120)
    assert there.read_bytes() == here.read_bytes()


def test_the_first_page_rasterises(tmp_path: Path):
    """The picture a person sees (also how ``docs/audit-report.png`` was made)."""
    pdf = render(tmp_path)
    subprocess.run([need("pdftoppm"), "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    png = (tmp_path / "page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert abs(width - 496) <= 1 and abs(height - 702) <= 1  # A4 at 60 dpi


# --------------------------------------------------------------------------- refusals


def test_an_unknown_town_is_refused_and_nothing_written(tmp_path: Path):
    with pytest.raises(InvalidInput) as caught:
        render(tmp_path, scope="330199999000")
    assert caught.value.field == "scope" and "330199999000" in caught.value.text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["report.xlsx", "report", "no-folder/report.pdf"])
def test_a_bad_target_is_refused_and_nothing_written(tmp_path: Path, name: str):
    with pytest.raises(ExportFailed) as caught:
        render(tmp_path, name)
    assert caught.value.code == "EXPORT_FAILED"
    assert list(tmp_path.iterdir()) == []


def test_a_station_of_another_town_is_not_in_its_report(tmp_path: Path):
    data = report_data()
    text = page_text(render(tmp_path, data=data, scope="330199102000"))
    assert "西岭村便民服务站" in text and DONGKENG not in text
    assert FORMULA not in text
