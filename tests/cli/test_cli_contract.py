"""The ``station`` command line as the issue describes it, run as a real subprocess."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    ALL_CASE_STATES,
    DEMO_CASES,
    DEMO_CODE,
    SAMPLE_CATALOG,
    TOWN_CODE,
    VALID_ID,
    add_case,
    file_sha256,
    json_of,
    ledger_count,
    ok_json,
    run,
)

CST = timezone(timedelta(hours=8))
OTHER_ID = "330199198001010017"
THIRD_ID = "330199196203150027"

pytestmark = pytest.mark.slow


def today_cst() -> str:
    return datetime.now(CST).strftime("%Y%m%d")


def last_entry_kind(data: Path) -> str:
    with sqlite3.connect(data / "station.db") as conn:
        entry = conn.execute("SELECT entry FROM ledger ORDER BY idx DESC LIMIT 1").fetchone()[0]
    conn.close()
    return json.loads(entry)["kind"]


# ---------------------------------------------------------------------------- init


def test_init_prints_the_station_and_creates_the_folder(tmp_path: Path) -> None:
    data = tmp_path / "new" / "station"

    result = run("init", "--name", "桃源村便民服务站", "--code", "330110001201",
                 "--region", "330110001201", "--level", "village", data=data)

    assert result.returncode == 0, result.stderr
    assert "桃源村便民服务站" in result.stdout and "330110001201" in result.stdout
    assert (data / "station.db").is_file()
    report = ok_json("ledger", "verify", data=data)
    assert report["ok"] is True and report["station"] == "330110001201"
    assert report["entries"] == ledger_count(data) >= 1


def test_init_with_json_reports_the_station_key(tmp_path: Path) -> None:
    created = ok_json("init", "--name", "青石镇便民服务中心", "--code", TOWN_CODE,
                      "--region", "330110001", "--level", "town", data=tmp_path / "s")

    assert created["ok"] is True
    assert created["station"] == TOWN_CODE
    assert created["origin"].startswith(f"vss/{TOWN_CODE}/")
    assert created["public_key"]


def test_second_init_is_refused_and_changes_nothing(initialised: Path) -> None:
    db = initialised / "station.db"
    before_bytes, before_count = file_sha256(db), ledger_count(initialised)

    again = run("init", "--name", "另一个站", "--code", "330110001999", "--region", "330110001",
                "--level", "town", data=initialised)

    assert again.returncode == 1
    assert "[STATION_EXISTS]" in again.stderr
    assert "示例镇便民服务中心" in again.stderr  # names the station already there
    assert "Error:" in again.stderr
    assert file_sha256(db) == before_bytes
    assert ledger_count(initialised) == before_count


# ---------------------------------------------------------------------------- demo


def test_demo_has_cases_in_every_state_and_a_sound_ledger(
        demo_run: tuple[Path, dict[str, Any]]) -> None:
    demo_station, summary = demo_run
    cases = ok_json("case", "list", "--limit", 1000, data=demo_station)

    assert summary["station"] == DEMO_CODE
    assert summary["cases_added"] == len(cases) == DEMO_CASES
    assert summary["entries"] == ledger_count(demo_station)
    assert {c["state"] for c in cases} == set(ALL_CASE_STATES)
    for case in cases:
        assert {"case_no", "state", "item", "deadline"} <= case.keys()
        assert case["case_no"].startswith(f"{DEMO_CODE}-")

    report = ok_json("ledger", "verify", data=demo_station)
    assert report["ok"] is True
    assert report["station"] == DEMO_CODE
    assert report["entries"] == ledger_count(demo_station)
    assert re.fullmatch(r"[0-9a-f]{64}", report["root"])


def test_demo_text_output_summarises_what_was_added(tmp_path: Path) -> None:
    result = run("demo", "--cases", 4, "--seed", 1, data=tmp_path / "demo")

    assert result.returncode == 0, result.stderr
    assert f"（{DEMO_CODE}）" in result.stdout
    assert "本次新增办件" in result.stdout


def test_demo_with_the_same_seed_tells_the_same_story(tmp_path: Path) -> None:
    def story(folder: str) -> list[tuple[str, str, str]]:
        summary = ok_json("demo", "--cases", 8, "--seed", 42, data=tmp_path / folder)
        assert summary["station"] == DEMO_CODE
        cases = ok_json("case", "list", "--order", "number", data=tmp_path / folder)
        assert len(cases) == summary["cases_added"]
        return [(c["case_no"], c["state"], c["item"]) for c in cases]

    assert story("first") == story("second")


# ---------------------------------------------------------------------------- catalog


def test_catalog_import_then_list(tmp_path: Path) -> None:
    data = tmp_path / "s"
    assert run("init", "--name", "示例镇", "--code", TOWN_CODE, "--region", "330110001",
               "--level", "town", data=data).returncode == 0
    before = ledger_count(data)

    imported = ok_json("catalog", "import", SAMPLE_CATALOG, data=data)

    sample = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    assert imported == {"ok": True, "version": sample["version"],
                        "items": len(sample["items"]), "changed": True}
    assert ledger_count(data) == before + 1
    listed = ok_json("catalog", "list", data=data)
    assert listed["version"] == sample["version"]
    assert [i["code"] for i in listed["items"]] == [i["code"] for i in sample["items"]]
    found = ok_json("catalog", "list", "--q", "最低生活保障", data=data)
    assert [i["code"] for i in found["items"]] == ["LOCAL-MZ-002"]


def test_reimporting_the_same_catalog_reports_unchanged(initialised: Path) -> None:
    before = ledger_count(initialised)

    text = run("catalog", "import", SAMPLE_CATALOG, data=initialised)
    again = ok_json("catalog", "import", SAMPLE_CATALOG, data=initialised)

    assert text.returncode == 0 and "未作改动" in text.stdout
    assert again["changed"] is False
    assert ledger_count(initialised) == before


# ---------------------------------------------------------------------------- cases


def test_case_add_numbers_the_case_by_station_and_day(initialised: Path) -> None:
    first = add_case(initialised, "--all-materials")
    second = add_case(initialised, item="LOCAL-SB-001", name="李秀英", id_no=OTHER_ID)

    assert first["case_no"] == f"{TOWN_CODE}-{today_cst()}-0001"
    assert second["case_no"] == f"{TOWN_CODE}-{today_cst()}-0002"
    assert first["state"] == "RECEIVED" and first["item"] == "LOCAL-MZ-004"
    assert first["deadline"]  # a received case already has a decision deadline
    # Personal data is masked in every view; the full number never appears.
    assert first["applicant"]["name"] == "张*丰"
    assert VALID_ID not in json.dumps(first)
    assert {m["name"] for m in first["materials"]} >= {"临时救助申请书"}


def test_case_goes_from_received_to_finished_and_the_timeline_shows_each_step(
        initialised: Path) -> None:
    case_no = add_case(initialised, "--all-materials")["case_no"]

    ok_json("case", "move", case_no, "--to", "ACCEPTED", data=initialised)
    ok_json("case", "move", case_no, "--to", "IN_PROGRESS", "--note", "已转民政办审核",
            data=initialised)
    no_outcome = run("case", "move", case_no, "--to", "FINISHED", data=initialised)
    assert no_outcome.returncode == 1 and "[TRANSITION_DETAIL_REQUIRED]" in no_outcome.stderr
    assert "Error: moving to FINISHED requires the outcome" in no_outcome.stderr
    finished = ok_json("case", "move", case_no, "--to", "FINISHED", "--outcome", "APPROVED",
                       "--cert-name", "救助金发放通知", data=initialised)
    assert finished["state"] == "FINISHED"

    shown = ok_json("case", "show", case_no, data=initialised)
    assert shown["state"] == "FINISHED"
    assert shown["closed_at"] and shown["allowed_moves"] == []
    assert shown["details"]["outcome"] == "APPROVED"
    assert [t["to"] for t in shown["timeline"]] == ["RECEIVED", "ACCEPTED", "IN_PROGRESS",
                                                     "FINISHED"]
    assert shown["timeline"][2]["note"] == "已转民政办审核"
    text = run("case", "show", case_no, data=initialised).stdout
    assert all(label in text for label in ("已收件", "已受理", "办理中", "已办结"))


def test_supplement_lists_every_missing_material(initialised: Path) -> None:
    case_no = add_case(initialised)["case_no"]
    no_list = run("case", "move", case_no, "--to", "SUPPLEMENT", data=initialised)
    assert no_list.returncode == 1 and "[TRANSITION_DETAIL_REQUIRED]" in no_list.stderr

    moved = ok_json("case", "move", case_no, "--to", "SUPPLEMENT",
                    "--missing", "居民户口簿:复印件不清晰", "--missing", "临时救助申请书",
                    data=initialised)

    assert moved["state"] == "SUPPLEMENT"
    assert moved["missing"] == [{"name": "居民户口簿", "reason": "复印件不清晰"},
                                {"name": "临时救助申请书", "reason": "未提交"}]
    back = ok_json("case", "move", case_no, "--to", "RECEIVED", data=initialised)
    assert back["state"] == "RECEIVED" and back["supplements"] == 1


def test_reject_needs_a_reason_and_a_legal_basis(initialised: Path) -> None:
    case_no = add_case(initialised)["case_no"]
    before = ledger_count(initialised)

    bare = run("--json", "case", "move", case_no, "--to", "REJECTED", data=initialised)
    reason_only = run("case", "move", case_no, "--to", "REJECTED", "--reason", "户籍不在本镇",
                      data=initialised)

    assert bare.returncode == 1 and json_of(bare)["error"]["field"] == "reason"
    assert reason_only.returncode == 1 and "法律依据" in reason_only.stderr
    assert ledger_count(initialised) == before

    rejected = ok_json("case", "move", case_no, "--to", "REJECTED", "--reason", "户籍不在本镇",
                       "--legal-basis", "《行政许可法》第三十二条", data=initialised)
    assert rejected["state"] == "REJECTED"
    assert rejected["details"]["legal_basis"] == "《行政许可法》第三十二条"
    assert ledger_count(initialised) == before + 1


def test_case_list_filters(initialised: Path) -> None:
    now = datetime.now(CST)
    long_ago = (now - timedelta(days=60)).replace(hour=9, minute=0, second=0, microsecond=0)
    # Received and accepted two months ago, still open: overdue.
    overdue = add_case(initialised, "--at", long_ago.isoformat())["case_no"]
    ok_json("case", "move", overdue, "--to", "ACCEPTED",
            "--at", (long_ago + timedelta(hours=1)).isoformat(), data=initialised)
    # Just as old, but voided since: closed cases are never overdue.
    voided = add_case(initialised, "--at", long_ago.isoformat(), name="李秀英",
                      id_no=OTHER_ID)["case_no"]
    ok_json("case", "move", voided, "--to", "VOID", "--reason", "重复录入", data=initialised)
    # Received today: open, not yet due.
    fresh = add_case(initialised, item="LOCAL-MZ-002", name="王建国", id_no=THIRD_ID)["case_no"]
    # Decided on the spot (即办件).
    done = add_case(initialised, item="LOCAL-SB-001")["case_no"]
    ok_json("case", "move", done, "--to", "ACCEPTED", data=initialised)
    ok_json("case", "move", done, "--to", "FINISHED", "--outcome", "APPROVED", data=initialised)

    def numbers(*filters: object) -> set[str]:
        return {c["case_no"] for c in ok_json("case", "list", *filters, data=initialised)}

    assert numbers() == {overdue, voided, fresh, done}
    assert numbers("--state", "ACCEPTED") == {overdue}
    assert numbers("--state", "RECEIVED", "--state", "FINISHED") == {fresh, done}
    assert numbers("--state", "已作废") == {voided}  # the Chinese label works too
    assert numbers("--item", "LOCAL-SB-001") == {done}
    assert numbers("--item", "local-mz-004") == {overdue, voided}
    assert numbers("--q", "最低生活保障") == {fresh}
    assert numbers("--q", fresh[-9:]) == {fresh}
    assert numbers("--overdue") == {overdue}
    assert numbers("--applicant", "张三丰") == {overdue, done}
    assert numbers("--applicant", VALID_ID) == {overdue, done}
    assert numbers("--applicant", "张三") == set()  # exact names only, never partial
    assert numbers("--applicant", "张三丰", "--state", "FINISHED") == {done}


def test_case_add_and_list_in_text_mode(initialised: Path) -> None:
    added = run("case", "add", "--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no",
                VALID_ID, data=initialised)
    listed = run("case", "list", data=initialised)

    case_no = f"{TOWN_CODE}-{today_cst()}-0001"
    assert added.returncode == 0, added.stderr
    assert case_no in added.stdout
    assert "临时救助申请" in added.stdout and "已收件" in added.stdout
    assert listed.returncode == 0
    assert case_no in listed.stdout and "张*丰" in listed.stdout
    assert "共 1 件，显示 1 件" in listed.stdout


def test_json_before_and_after_the_command_give_the_same_output(initialised: Path) -> None:
    case_no = add_case(initialised)["case_no"]

    for command in (["case", "show", case_no], ["catalog", "list"], ["ledger", "verify"],
                    ["case", "show", "NO-SUCH-CASE"]):
        before = run("--json", *command, data=initialised)
        after = run(*command, "--json", data=initialised)
        assert before == after
        json_of(before)  # and it is JSON


# ---------------------------------------------------------------------------- proxy


def test_proxy_entry_from_registration_to_delivery(initialised: Path) -> None:
    entry = ok_json("proxy", "add", "--item", "LOCAL-MZ-002", "--name", "王建国", "--id-no",
                    THIRD_ID, "--agent", "王丽华", "--agent-phone", "13905710011",
                    "--group", "东坑村3组", "--all-materials", "--fee", "0.00", data=initialised)
    proxy_no = entry["proxy_no"]

    assert re.fullmatch(rf"{TOWN_CODE}-DB\d{{4}}-00001", proxy_no)
    assert entry["state"] == "REGISTERED" and entry["fee"] == 0
    assert entry["villager"]["name"] == "王*国" and entry["submit_due"]

    case_no = add_case(initialised, "--agent", "王丽华", "--proxy", proxy_no,
                       item="LOCAL-MZ-002", name="王建国", id_no=THIRD_ID)["case_no"]
    ok_json("proxy", "move", proxy_no, "--to", "SUBMITTED", "--case-no", case_no,
            data=initialised)
    ok_json("proxy", "move", proxy_no, "--to", "IN_PROGRESS", data=initialised)
    no_result = run("proxy", "move", proxy_no, "--to", "RESULT_RECEIVED", data=initialised)
    assert no_result.returncode == 1 and "[TRANSITION_DETAIL_REQUIRED]" in no_result.stderr
    ok_json("proxy", "move", proxy_no, "--to", "RESULT_RECEIVED", "--result", "已批准",
            data=initialised)
    ok_json("proxy", "move", proxy_no, "--to", "DELIVERED", "--delivery", "代办员上门送达",
            data=initialised)

    shown = ok_json("proxy", "show", proxy_no, data=initialised)
    assert shown["state"] == "DELIVERED" and shown["case_no"] == case_no
    assert shown["result"] == "已批准"
    assert [h["to"] for h in shown["history"]] == ["REGISTERED", "SUBMITTED", "IN_PROGRESS",
                                                   "RESULT_RECEIVED", "DELIVERED"]
    listed = ok_json("proxy", "list", "--state", "DELIVERED", data=initialised)
    assert [r["proxy_no"] for r in listed] == [proxy_no]
    assert ok_json("proxy", "list", "--state", "REGISTERED", data=initialised) == []
    assert ok_json("case", "list", "--q", proxy_no, data=initialised)[0]["case_no"] == case_no
    text = run("proxy", "show", proxy_no, data=initialised).stdout
    assert "全程免费" in text and "已送达" in text


def test_a_proxy_fee_is_refused_and_nothing_is_written(initialised: Path) -> None:
    before = ledger_count(initialised)

    charged = run("--json", "proxy", "add", "--item", "LOCAL-MZ-002", "--name", "王建国",
                  "--id-no", THIRD_ID, "--agent", "王丽华", "--fee", "5", data=initialised)

    assert charged.returncode == 1
    assert json_of(charged)["error"]["code"] == "PROXY_FEE_FORBIDDEN"
    assert "[PROXY_FEE_FORBIDDEN]" in charged.stderr and "Error:" in charged.stderr
    assert ledger_count(initialised) == before
    assert ok_json("proxy", "list", data=initialised) == []


def test_an_item_outside_the_proxy_scope_is_refused(initialised: Path) -> None:
    before = ledger_count(initialised)

    refused = run("proxy", "add", "--item", "LOCAL-GA-001", "--name", "王建国",
                  "--id-no", THIRD_ID, "--agent", "王丽华", data=initialised)

    assert refused.returncode == 1 and "[ITEM_PROXY_NOT_ALLOWED]" in refused.stderr
    assert ledger_count(initialised) == before


# ---------------------------------------------------------------------------- people


def test_erasing_a_person_masks_them_everywhere_and_the_ledger_still_verifies(
        initialised: Path) -> None:
    case_no = add_case(initialised)["case_no"]
    person = ok_json("case", "show", case_no, data=initialised)["applicant_id"]
    entries = ledger_count(initialised)

    erased = ok_json("person", "erase", person, "--reason", "本人申请删除（个人信息保护法）",
                     data=initialised)

    assert erased == {"ok": True, "person": person}
    applicant = ok_json("case", "show", case_no, data=initialised)["applicant"]
    assert applicant["erased"] is True and applicant["name"] == "（已删除）"
    assert "（已删除）" in run("case", "show", case_no, data=initialised).stdout
    assert ok_json("person", "find", "张三丰", data=initialised) == []
    report = ok_json("ledger", "verify", data=initialised)
    assert report["ok"] is True and report["entries"] == entries + 1
    refused = run("person", "unmask", person, "--reason", "核对", data=initialised)
    assert refused.returncode == 1 and "[PERSON_ERASED]" in refused.stderr


def test_unmasking_needs_a_reason_and_is_logged(initialised: Path) -> None:
    case_no = add_case(initialised)["case_no"]
    person = ok_json("case", "show", case_no, data=initialised)["applicant_id"]
    before = ledger_count(initialised)
    found = ok_json("person", "find", VALID_ID, data=initialised)
    assert found == [{"person": person, "name": "张*丰", "cert_type": "111",
                      "cert_no": found[0]["cert_no"], "phone": "138****1234", "address": "",
                      "erased": False}]
    assert found[0]["cert_no"] != VALID_ID  # finding shows masked details only

    no_reason = run("person", "unmask", person, data=initialised)
    blank_reason = run("person", "unmask", person, "--reason", "  ", data=initialised)

    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    assert blank_reason.returncode == 1 and "[FIELD_REQUIRED]" in blank_reason.stderr
    assert ledger_count(initialised) == before

    shown = ok_json("person", "unmask", person, "--reason", "核对申请人身份", data=initialised)

    assert shown["name"] == "张三丰" and shown["cert_no"] == VALID_ID
    assert ledger_count(initialised) == before + 1
    assert last_entry_kind(initialised) == "person.unmasked"


# ---------------------------------------------------------------------------- ledger


def test_ledger_verify_text_names_the_count_and_root(initialised: Path) -> None:
    report = ok_json("ledger", "verify", data=initialised)

    text = run("ledger", "verify", data=initialised)

    assert text.returncode == 0
    assert f"{report['entries']} entries" in text.stdout
    assert report["root"] in text.stdout


def test_ledger_export_is_verifiable_on_its_own(initialised: Path, tmp_path: Path) -> None:
    add_case(initialised)
    export = tmp_path / "out" / "ledger.jsonl"
    export.parent.mkdir()

    written = ok_json("ledger", "export", export, data=initialised)

    lines = export.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "vss-ledger-export/1"
    assert header["station"] == TOWN_CODE
    assert header["entries"] == written["entries"] == ledger_count(initialised)
    # header, the entries, then one signed checkpoint per size (the head last)
    assert len(lines) == 1 + 2 * header["entries"]
    assert "checkpoint" in json.loads(lines[-1])

    checked = ok_json("ledger", "verify", "--file", export, data=initialised)
    assert checked["ok"] is True and checked["station"] == TOWN_CODE
    assert checked["root"] == written["root"] == ok_json("ledger", "verify",
                                                         data=initialised)["root"]
