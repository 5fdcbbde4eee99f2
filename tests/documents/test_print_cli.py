"""``station doc print|verify|list|templates`` as a clerk runs them, through a real printer.

The printing tests send jobs to the CUPS queue ``VirtualPDF`` (cups-pdf), wait for the file
it writes to ``~/PDF``, rasterise it and scan the QR code back: what came out of the printer
must verify. Without that queue they are skipped, unless ``STATION_REQUIRE_CUPS=1`` (as in
CI), where a missing queue is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.clock import CST
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.demo import DEMO_PROFILE
from station_app.services.profile import set_profile
from station_app.services.station import create_station
from tests.cli.conftest import STATION, Result, json_of, ledger_count
from tests.conftest import SAMPLE_CATALOG, TOWN
from tests.documents.builders import case_in
from tests.documents.conftest import VILLAGE
from tests.documents.pdftools import the_qr_code

pytestmark = pytest.mark.slow

QUEUE = "VirtualPDF"
CUPS_WAIT = 30  # seconds for cups-pdf to write the job's file
VENV_BIN = str(Path(STATION).parent)


def station(*args: object, data: Path, env: dict[str, str] | None = None,
            path: str | None = None) -> Result:
    """``station --data DATA ARGS…`` as a subprocess; ``path`` replaces ``$PATH``."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("STATION_DATA", "STATION_ACTOR", "STATION_TEMPLATES")}
    environment |= {"PYTHONIOENCODING": "utf-8", "STATION_ACTOR": "clerk-li", **(env or {})}
    if path is not None:
        environment["PATH"] = path
    done = subprocess.run([STATION, "--data", str(data), *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", env=environment, timeout=60, check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def ok(*args: object, data: Path, **kw: Any) -> Any:
    result = station("--json", *args, data=data, **kw)
    assert result.returncode == 0, result.stderr
    return json_of(result)


def documents(data: Path) -> list[Path]:
    return sorted((data / "documents").rglob("*.pdf"))


def last_entry(data: Path) -> dict[str, Any]:
    with sqlite3.connect(data / "station.db") as conn:
        row = conn.execute("SELECT entry FROM ledger ORDER BY idx DESC LIMIT 1").fetchone()
    conn.close()
    return json.loads(row[0])


@pytest.fixture
def town(tmp_path: Path, applicant: PersonDetails) -> dict[str, Any]:
    """A town station folder with a received and an accepted case (built, then closed)."""
    clock = ManualClock(datetime(2025, 9, 29, 9, 0, tzinfo=CST))
    data = tmp_path / "station"
    st = create_station(data, TOWN, clock=clock, actor="clerk-li", seed=seed_builtin_calendar)
    try:
        import_catalog(st, SAMPLE_CATALOG.read_bytes())
        set_profile(st, DEMO_PROFILE, reason="开通文书")
        received = case_in(st, applicant, CaseState.RECEIVED)
        accepted = case_in(st, applicant, CaseState.ACCEPTED)
        key = st.info.public_key
    finally:
        st.close()
    return {"data": data, "received": received, "accepted": accepted, "public_key": key}


# ---------------------------------------------------------------------------- a real printer


@pytest.fixture
def cups_output() -> Path:
    """The folder cups-pdf writes ``VirtualPDF`` jobs to; skips (or fails in CI) without it."""
    lpstat = shutil.which("lpstat")
    ready = lpstat is not None and subprocess.run(
        [lpstat, "-p", QUEUE], capture_output=True, timeout=30, check=False).returncode == 0
    if not ready:
        reason = f"no CUPS queue {QUEUE!r} (`lpstat -p {QUEUE}` failed)"
        if os.environ.get("STATION_REQUIRE_CUPS") == "1":
            pytest.fail(f"{reason}, and STATION_REQUIRE_CUPS=1")
        pytest.skip(reason)
    return Path(os.environ.get("STATION_CUPS_PDF_DIR") or Path.home() / "PDF")


@pytest.fixture
def printed_jobs() -> Iterator[list[Path]]:
    """The cups-pdf files a test waited for; removed afterwards, so ~/PDF does not fill up."""
    jobs: list[Path] = []
    yield jobs
    for job in jobs:
        job.unlink(missing_ok=True)


def wait_for_job(folder: Path, before: set[Path], marker: str) -> Path:
    """The new cups-pdf file whose name carries ``marker``, once it stops growing."""
    deadline = time.monotonic() + CUPS_WAIT
    size = -1
    while time.monotonic() < deadline:
        found = [p for p in set(folder.glob("*.pdf")) - before if marker in p.name]
        if found:
            now = found[0].stat().st_size
            if now and now == size:
                return found[0]
            size = now
        time.sleep(0.3)
    seen = sorted(p.name for p in folder.glob("*.pdf")) if folder.exists() else "no folder"
    raise AssertionError(f"cups-pdf wrote no file for {marker} into {folder} within "
                         f"{CUPS_WAIT} s; it has: {seen}")


def test_a_receipt_printed_on_the_virtual_printer_scans_and_verifies(
        town: dict[str, Any], cups_output: Path, printed_jobs: list[Path]) -> None:
    data = town["data"]
    before = set(cups_output.glob("*.pdf"))

    printed = ok("doc", "print", town["received"], "--kind", "receipt", "--printer", QUEUE,
                 data=data)

    assert printed["printer"] == QUEUE and f"{QUEUE}-" in printed["job"]  # "request id is …"
    assert (printed["copy"], printed["reprint"]) == (1, False)
    saved = Path(printed["file"])
    assert saved.is_file() and documents(data) == [saved]
    paper = wait_for_job(cups_output, before, saved.name)
    printed_jobs.append(paper)
    scanned = the_qr_code(paper)  # ghostscript dropped the text, but the code survives
    assert scanned == printed["token"]
    verified = ok("doc", "verify", "--token", scanned, data=data)
    assert verified["ok"] is True and verified["record"]["doc_no"] == printed["doc_no"]
    assert verified["token"]["subject"] == town["received"]
    entry = last_entry(data)
    assert entry["kind"] == "doc.issued" and entry["actor"] == "clerk-li"
    assert (entry["body"]["output"], entry["body"]["printer"]) == ("printer", QUEUE)


def test_a_reprint_on_the_printer_is_logged_as_such(town: dict[str, Any], cups_output: Path,
                                                    printed_jobs: list[Path]) -> None:
    data = town["data"]
    first = ok("doc", "print", town["accepted"], "--kind", "accept-notice", "--no-print",
               data=data)
    before = set(cups_output.glob("*.pdf"))

    again = ok("doc", "print", town["accepted"], "--kind", "accept-notice", "--printer", QUEUE,
               data=data)

    assert (again["doc_no"], again["copy"], again["reprint"]) == (first["doc_no"], 2, True)
    paper = wait_for_job(cups_output, before, Path(again["file"]).name)
    printed_jobs.append(paper)
    assert the_qr_code(paper) == first["token"]
    entry = last_entry(data)
    assert entry["kind"] == "doc.printed"
    assert (entry["body"]["copy"], entry["body"]["reprint"], entry["body"]["printer"]) == (
        2, True, QUEUE)


# ---------------------------------------------------------------------------- no printer


def test_an_unknown_printer_is_refused_and_nothing_is_written(town: dict[str, Any]) -> None:
    data = town["data"]
    count = ledger_count(data)

    result = station("doc", "print", town["received"], "--kind", "receipt",
                     "--printer", "NoSuchPrinter", data=data)
    as_json = station("--json", "doc", "print", town["received"], "--kind", "receipt",
                      "--printer", "NoSuchPrinter", data=data)

    assert result.returncode == 1
    assert "PRINTER_UNKNOWN" in result.stderr and "NoSuchPrinter" in result.stderr
    assert "no printer named 'NoSuchPrinter'" in result.stderr
    assert as_json.returncode == 1
    assert json_of(as_json)["error"]["code"] == "PRINTER_UNKNOWN"
    assert ledger_count(data) == count
    assert documents(data) == []


def test_out_and_no_print_saves_the_pdf_where_asked(town: dict[str, Any],
                                                    tmp_path: Path) -> None:
    data = town["data"]
    out = tmp_path / "for the applicant" / "受理通知书.pdf"

    printed = ok("doc", "print", town["accepted"], "--kind", "accept-notice", "--out", out,
                 "--no-print", data=data)

    assert Path(printed["file"]) == out and out.read_bytes()[:5] == b"%PDF-"
    assert printed["printer"] == "" and printed["job"] == ""
    assert documents(data) == []  # saved only where asked
    assert ok("doc", "verify", "--pdf", out, data=data)["record"]["copy"] == 1


def test_with_no_printer_on_the_pc_the_pdf_is_saved_and_the_clerk_told_where(
        town: dict[str, Any], tmp_path: Path) -> None:
    data = town["data"]
    bare = tmp_path / "bin"  # a PATH with python and station but no lpstat or lp
    bare.mkdir()
    path = os.pathsep.join([VENV_BIN, str(bare)])
    assert shutil.which("lpstat", path=path) is None and shutil.which("lp", path=path) is None

    result = station("doc", "print", town["received"], "--kind", "receipt", data=data,
                     path=path)
    named = station("doc", "print", town["received"], "--kind", "receipt",
                    "--printer", QUEUE, data=data, path=path)

    assert result.returncode == 0, result.stderr
    [saved] = documents(data)
    assert "未送打印机（没有可用的打印机" in result.stdout
    assert f"PDF 已保存：{saved}" in result.stdout
    assert named.returncode == 1 and "PRINTER_UNKNOWN" in named.stderr
    assert "可用的打印机：（无）" in named.stderr
    assert last_entry(data)["body"]["output"] == "file"


# ---------------------------------------------------------------------------- refusals


def test_a_document_the_case_does_not_allow_is_refused(town: dict[str, Any]) -> None:
    data = town["data"]
    count = ledger_count(data)

    result = station("--json", "doc", "print", town["received"], "--kind", "finish-notice",
                     data=data)

    assert result.returncode == 1
    error = json_of(result)["error"]
    assert error["code"] == "DOCUMENT_NOT_ALLOWED" and "已收件" in error["message"]
    assert ledger_count(data) == count and documents(data) == []


@pytest.mark.parametrize(("args", "field"), [
    (("--kind", "certificate"), "kind"),
    (("--kind", "receipt"), "subject"),  # a receipt needs a case number
])
def test_bad_arguments_are_refused(town: dict[str, Any], args: tuple[str, ...],
                                   field: str) -> None:
    result = station("--json", "doc", "print", *args, data=town["data"])

    assert result.returncode == 1
    assert json_of(result)["error"]["field"] == field


def test_a_missing_template_refuses_the_print(town: dict[str, Any], tmp_path: Path) -> None:
    data = town["data"]
    templates = Path(shutil.copytree(Path(__file__).resolve().parents[2] / "templates",
                                     tmp_path / "templates"))
    (templates / "receipt.toml").unlink()
    count = ledger_count(data)

    result = station("doc", "print", town["received"], "--kind", "receipt", data=data,
                     env={"STATION_TEMPLATES": str(templates)})

    assert result.returncode == 1
    assert "TEMPLATE_MISSING" in result.stderr and "receipt.toml" in result.stderr
    assert ledger_count(data) == count and documents(data) == []


# ---------------------------------------------------------------------------- verify


def test_verify_exits_0_for_genuine_and_3_for_altered(town: dict[str, Any],
                                                      tmp_path: Path) -> None:
    data = town["data"]
    printed = ok("doc", "print", town["received"], "--kind", "receipt", "--no-print", data=data)
    token, pdf = printed["token"], Path(printed["file"])
    parts = token.split(".")
    parts[5] = parts[5][:-1] + "9"  # another case number
    altered_pdf = tmp_path / "altered.pdf"
    altered_pdf.write_bytes(pdf.read_bytes().replace(b"/Creator (station-app)",
                                                     b"/Creator (station-apq)"))

    genuine = station("doc", "verify", "--token", token, data=data)
    genuine_pdf = station("doc", "verify", "--pdf", pdf, data=data)
    forged = station("doc", "verify", "--token", ".".join(parts), data=data)
    forged_json = station("--json", "doc", "verify", "--token", ".".join(parts), data=data)
    changed = station("doc", "verify", "--pdf", altered_pdf, data=data)

    assert genuine.returncode == 0 and genuine.stdout.startswith("核验通过：真实有效：")
    assert printed["doc_no"] in genuine.stdout and "OK: genuine" in genuine.stdout
    assert genuine_pdf.returncode == 0 and "逐字节一致" in genuine_pdf.stdout
    assert forged.returncode == 3
    assert "核验失败：签名无效" in forged.stdout and "FAILED: invalid signature" in forged.stdout
    assert forged_json.returncode == 3 and json_of(forged_json)["ok"] is False
    assert changed.returncode == 3 and "内容被改动" in changed.stdout


def test_verify_needs_exactly_one_of_token_and_pdf(town: dict[str, Any]) -> None:
    neither = station("doc", "verify", data=town["data"])
    both = station("doc", "verify", "--token", "x", "--pdf", "x.pdf", data=town["data"])

    assert neither.returncode == both.returncode == 1
    assert "--token" in neither.stderr


def test_another_station_verifies_with_our_public_key(town: dict[str, Any],
                                                      tmp_path: Path) -> None:
    village = tmp_path / "village"
    create_station(village, VILLAGE, actor="agent-wang", seed=seed_builtin_calendar).close()
    printed = ok("doc", "print", town["accepted"], "--kind", "accept-notice", "--no-print",
                 data=town["data"])

    without = station("doc", "verify", "--token", printed["token"], data=village)
    with_key = station("--json", "doc", "verify", "--token", printed["token"],
                       "--public-key", town["public_key"], data=village)
    pdf = station("--json", "doc", "verify", "--pdf", printed["file"],
                  "--public-key", town["public_key"], data=village)

    assert without.returncode == 3 and "需用该站点的公钥核验" in without.stdout
    assert with_key.returncode == 0 and json_of(with_key)["ok"] is True
    assert pdf.returncode == 0 and json_of(pdf)["reason"].endswith("文件内容与核验码一致")


# ---------------------------------------------------------------------------- list, templates


def test_doc_list_shows_each_document_with_its_copies(town: dict[str, Any]) -> None:
    data = town["data"]
    receipt = ok("doc", "print", town["received"], "--kind", "receipt", "--no-print", data=data)
    ok("doc", "print", town["received"], "--kind", "receipt", "--no-print", data=data)
    notice = ok("doc", "print", town["accepted"], "--kind", "accept-notice", "--no-print",
                data=data)

    listed = ok("doc", "list", town["received"], data=data)
    everything = ok("doc", "list", data=data)
    text = station("doc", "list", town["received"].lower(), data=data)

    assert listed == [{"doc_id": receipt["doc_id"], "doc_no": receipt["doc_no"],
                       "kind": "receipt", "subject": town["received"],
                       "issued_on": listed[0]["issued_on"], "issued_by": "clerk-li",
                       "copies": 2}]
    assert [d["doc_no"] for d in everything] == [receipt["doc_no"], notice["doc_no"]]
    assert text.returncode == 0
    assert receipt["doc_no"] in text.stdout and "收件回执" in text.stdout
    assert notice["doc_no"] not in text.stdout


def test_doc_templates_checks_and_lists_all_eight_kinds(town: dict[str, Any]) -> None:
    report = ok("doc", "templates", data=town["data"])
    text = station("doc", "templates", data=town["data"])

    assert report["ok"] is True and len(report["versions"]) == 8
    assert set(report["versions"]) == {
        "proxy-slip", "proxy-done", "receipt", "accept-notice", "supplement-notice",
        "reject-notice", "finish-notice", "notice-board"}
    assert Path(report["folder"]) == Path(__file__).resolve().parents[2] / "templates"
    for kind in report["versions"]:
        assert f"{kind}  版本 2025.1  ✓" in text.stdout


def test_doc_templates_names_the_broken_field(town: dict[str, Any], tmp_path: Path) -> None:
    templates = Path(shutil.copytree(Path(__file__).resolve().parents[2] / "templates",
                                     tmp_path / "templates"))
    receipt = templates / "receipt.toml"
    receipt.write_text(receipt.read_text(encoding="utf-8").replace(
        "{applicant.cert_no}（", "{applicant.idno}（"), encoding="utf-8")

    result = station("doc", "templates", data=town["data"],
                     env={"STATION_TEMPLATES": str(templates)})

    assert result.returncode == 1
    assert "TEMPLATE_INVALID" in result.stderr
    assert "receipt.toml blocks[0].rows[3][1]" in result.stderr
    assert "{applicant.idno}" in result.stderr
