"""``county audit`` and ``county spotcheck draw`` as an officer runs them, on a county that
received a station's log through ``county serve``."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from station_app.domain.clock import CST
from sync.county.store import CountyDb
from tests.conftest import SAMPLE_CATALOG
from tests.documents.pdftools import pdf_text
from tests.sync.cli_helpers import county, county_serving, init_county, init_station, ok_json
from tests.sync.cli_helpers import station as station_cli

KPIS = ("on_time_rate", "on_site_rate", "evaluation_rate", "satisfaction_rate",
        "bad_review_fixed_rate", "avg_visits", "proxy_reported_in_3wd_rate", "overdue_now")
CODE = "330199101201"


def synced_station(tmp_path: Path) -> tuple[Path, Path]:
    data, st = tmp_path / "county", tmp_path / "station"
    init_county(data)
    init_station(st, CODE)
    with county_serving(data) as url:
        ticket = ok_json(county(data, "enroll", "--station", CODE, "--json"))
        ok_json(station_cli(st, "enroll", "--server", url, "--code", ticket["code"], "--json"))
        ok_json(station_cli(st, "catalog", "import", SAMPLE_CATALOG, "--json"))
        ok_json(station_cli(st, "case", "add", "--item", "LOCAL-MZ-004", "--name", "张三丰",
                            "--id-no", "11010519491231002X", "--all-materials", "--json"))
        ok_json(station_cli(st, "sync", "--json"))
    return data, st


def test_audit_json_gives_each_station_its_root_entries_flags_and_kpis(tmp_path: Path):
    data, _ = synced_station(tmp_path)
    month = datetime.now(CST).strftime("%Y-%m")

    result = ok_json(county(data, "audit", "--month", month, "--json"))

    (row,) = result["stations"]
    assert row["station"] == CODE and row["entries"] > 5 and len(row["root"]) == 44
    assert row["verified"] is True and row["flags"] == [] and row["status"] == "green"
    assert set(KPIS) <= set(row)
    assert row["on_time_rate"] is None  # nothing finished yet: null, not 0
    assert row["overdue_now"] == 0 and row["kpis"]["overdue_now"]["denominator"] == 1
    assert result["county"]["on_time_rate"]["value"] is None
    text = county(data, "audit", "--month", month)
    assert text.returncode == 0 and CODE in text.stdout and "按时办结率" in text.stdout


def test_audit_refuses_a_malformed_month_and_names_it(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    for args in (["--month", "2025-13"], ["--month", "2025-10", "--from", "2025-10-01"],
                 ["--from", "2025-10-01"]):
        done = county(data, "audit", *args)
        assert done.returncode == 1 and "统计" in done.stderr, args


def test_the_spot_check_draw_is_kept_and_the_same_seed_draws_the_same(tmp_path: Path):
    data, _ = synced_station(tmp_path)
    month = datetime.now(CST).strftime("%Y-%m")

    one = ok_json(county(data, "spotcheck", "draw", "--month", month, "--seed", "s1", "--json"))
    two = ok_json(county(data, "spotcheck", "draw", "--month", month, "--seed", "s1", "--json"))
    free = ok_json(county(data, "spotcheck", "draw", "--month", month, "--json"))

    assert one["digest"] == two["digest"] and one["file"] == two["file"]
    kept = json.loads(Path(one["file"]).read_text(encoding="utf-8"))
    assert kept["seed"] == "s1" and kept["stations"][0]["station"] == CODE
    assert kept["stations"][0]["population"] == 1 and len(kept["stations"][0]["drawn"]) == 1
    assert free["seed"] and free["seed"] != "s1"  # a fresh seed, recorded with its draw


def test_report_writes_the_workbook_the_pdf_and_a_csv_and_refuses_other_files(
        tmp_path: Path):
    data, _ = synced_station(tmp_path)
    month = datetime.now(CST).strftime("%Y-%m")
    out = tmp_path / "out"
    out.mkdir()

    for name in ("county.xlsx", "county.pdf", "stations.csv"):
        done = ok_json(county(data, "report", "--month", month, "--out", out / name, "--json"))
        assert done["stations"] == 1 and Path(done["file"]).stat().st_size > 300
    town = ok_json(county(data, "report", "--month", month, "--town", "330199101000",
                          "--out", out / "town.pdf", "--json"))

    sheets = load_workbook(out / "county.xlsx").sheetnames
    assert sheets[:5] == ["概览", "站点", "乡镇", "问题", "指标定义"] and "趋势" in sheets
    assert "县级便民服务站点月度审计报告" in pdf_text(out / "county.pdf")
    assert CODE in (out / "stations.csv").read_text(encoding="utf-8-sig")
    assert town["stations"] == 1
    refused = county(data, "report", "--month", month, "--out", out / "county.docx")
    assert refused.returncode == 1 and "EXPORT_FAILED" in refused.stderr
    assert not (out / "county.docx").exists()


def test_kpis_gives_the_fast_table_and_refreshes_only_what_grew(tmp_path: Path):
    data, _ = synced_station(tmp_path)
    month = datetime.now(CST).strftime("%Y-%m")

    first = ok_json(county(data, "kpis", "--month", month, "--json"))
    again = ok_json(county(data, "kpis", "--month", month, "--json"))

    assert first["refreshed"] == 1 and again["refreshed"] == 0
    row = first["stations"][CODE]
    assert row["on_time_rate"]["value"] is None and row["overdue_now"]["denominator"] == 1
    assert first["county"] == again["county"]
    assert CODE in county(data, "kpis", "--month", month).stdout


def test_serve_keeps_the_facts_current_so_kpis_has_nothing_left_to_fold(tmp_path: Path):
    data, st = tmp_path / "county", tmp_path / "station"
    init_county(data)
    init_station(st, CODE)
    with county_serving(data, extra=("--facts-every", "0.2")) as url:
        ticket = ok_json(county(data, "enroll", "--station", CODE, "--json"))
        ok_json(station_cli(st, "enroll", "--server", url, "--code", ticket["code"], "--json"))
        ok_json(station_cli(st, "sync", "--json"))
        size = ok_json(station_cli(st, "sync", "status", "--json"))["acknowledged"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and facts_size(data) != size:
            time.sleep(0.1)
        assert facts_size(data) == size
    assert ok_json(county(data, "kpis", "--json"))["refreshed"] == 0


def facts_size(data: Path) -> int | None:
    db = CountyDb(str(data / "county.db"))
    try:
        with db.read() as tx:
            return next(iter(tx.fact_sizes().values()), None)
    finally:
        db.close()
