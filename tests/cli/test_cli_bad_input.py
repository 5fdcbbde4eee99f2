"""Bad input: a clear bilingual message, exit code 1, and not one byte written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import (
    SAMPLE_CATALOG,
    VALID_ID,
    Result,
    add_case,
    file_sha256,
    json_of,
    ledger_count,
    ok_json,
    run,
)

pytestmark = pytest.mark.slow

WRONG_CHECK_ID = VALID_ID[:-1] + "1"  # 11010519491231002X with a wrong check character


def assert_refused(result: Result, code: str) -> None:
    """Exit 1; the Chinese message with the code in brackets, then the English line."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    chinese, english = result.stderr.strip().splitlines()[-2:]
    assert chinese.startswith(f"错误 [{code}]：")
    assert english.startswith("Error: ")
    assert "Traceback" not in result.stderr


def refused_with_json(args: list[object], data: Path, code: str) -> dict[str, object]:
    """Run a bad command with ``--json``: the same stderr lines, and the error as JSON."""
    result = run("--json", *args, data=data)
    assert_refused(result, code)
    error = json_of(result)
    assert error["ok"] is False and error["error"]["code"] == code
    assert error["error"]["message"] and error["error"]["message_en"]
    return error["error"]


def test_in_text_mode_an_error_goes_to_stderr_only(initialised: Path) -> None:
    result = run("case", "add", "--item", "NO-SUCH-ITEM", "--name", "张三丰", "--id-no",
                 VALID_ID, data=initialised)

    assert_refused(result, "ITEM_UNKNOWN")
    assert result.stdout == ""
    assert "事项目录中没有“NO-SUCH-ITEM”" in result.stderr
    assert "Error: no service item 'NO-SUCH-ITEM' in the catalog" in result.stderr


# ---------------------------------------------------------------------------- cases


@pytest.mark.parametrize(("args", "code"), [
    (["--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no", WRONG_CHECK_ID],
     "ID_NUMBER_INVALID"),
    (["--item", "NO-SUCH-ITEM", "--name", "张三丰", "--id-no", VALID_ID], "ITEM_UNKNOWN"),
    (["--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no", VALID_ID, "--phone", "1381234"],
     "MOBILE_INVALID"),
    (["--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no", VALID_ID, "--at", "2025-02-30"],
     "DATE_INVALID"),
    (["--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no", VALID_ID, "--at", "2999-01-01"],
     "INPUT_INVALID"),
    (["--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no", VALID_ID, "--cert-type", "999"],
     "CERT_TYPE_INVALID"),
    (["--item", "LOCAL-MZ-004", "--name", "张三丰", "--id-no", VALID_ID, "--material", "户口簿:x"],
     "INPUT_INVALID"),
], ids=["id-checksum", "unknown-item", "phone", "impossible-date", "future-date", "cert-type",
        "material-count"])
def test_a_refused_case_writes_nothing(initialised: Path, args: list[str], code: str) -> None:
    before = ledger_count(initialised)

    refused_with_json(["case", "add", *args], initialised, code)

    assert ledger_count(initialised) == before


def test_the_id_checksum_message_says_what_is_wrong(initialised: Path) -> None:
    error = refused_with_json(["case", "add", "--item", "LOCAL-MZ-004", "--name", "张三丰",
                               "--id-no", WRONG_CHECK_ID], initialised, "ID_NUMBER_INVALID")

    assert "身份证号码有误" in str(error["message"])
    assert "X" in str(error["message"])  # names the check character it should have been


def test_a_refused_case_does_not_use_up_a_case_number(initialised: Path) -> None:
    run("case", "add", "--item", "NO-SUCH-ITEM", "--name", "张三丰", "--id-no", VALID_ID,
        data=initialised)

    assert add_case(initialised)["case_no"].endswith("-0001")


FINISH = ["--to", "FINISHED", "--outcome", "APPROVED"]


@pytest.mark.parametrize(("path", "target"), [
    ([], "FINISHED"),  # a received case cannot skip acceptance
    ([], "IN_PROGRESS"),
    ([["--to", "ACCEPTED"]], "SUPPLEMENT"),  # too late to ask for more once accepted
    ([["--to", "ACCEPTED"], FINISH], "IN_PROGRESS"),  # finished is final
    ([["--to", "VOID", "--reason", "重复录入"]], "RECEIVED"),  # so is void
], ids=["received-to-finished", "received-to-in-progress", "accepted-to-supplement",
        "finished-to-in-progress", "void-to-received"])
def test_an_illegal_transition_is_refused(initialised: Path, path: list[list[str]],
                                          target: str) -> None:
    case_no = add_case(initialised, item="LOCAL-SB-001")["case_no"]
    for step in path:
        ok_json("case", "move", case_no, *step, data=initialised)
    before = ledger_count(initialised)

    error = refused_with_json(["case", "move", case_no, "--to", target, "--outcome", "APPROVED"],
                              initialised, "TRANSITION_ILLEGAL")

    assert case_no in str(error["message"]) and target in str(error["message_en"])
    assert ledger_count(initialised) == before


def test_an_unknown_state_name_lists_the_valid_ones(initialised: Path) -> None:
    case_no = add_case(initialised)["case_no"]

    error = refused_with_json(["case", "move", case_no, "--to", "DONE"], initialised,
                              "INPUT_INVALID")

    assert "ACCEPTED（已受理）" in str(error["message"])


def test_a_move_dated_before_the_previous_step_is_refused(initialised: Path) -> None:
    case_no = add_case(initialised, "--at", "2025-06-02T10:00")["case_no"]
    before = ledger_count(initialised)

    error = refused_with_json(["case", "move", case_no, "--to", "ACCEPTED",
                               "--at", "2025-06-02T09:00"], initialised, "INPUT_INVALID")

    assert error["field"] == "at"
    assert ledger_count(initialised) == before


def test_an_unknown_case_number_is_not_found(initialised: Path) -> None:
    refused_with_json(["case", "show", "330110001000-20250101-0001"], initialised,
                      "CASE_NOT_FOUND")
    refused_with_json(["case", "move", "330110001000-20250101-0001", "--to", "ACCEPTED"],
                      initialised, "CASE_NOT_FOUND")


# ---------------------------------------------------------------------------- catalog files


def _catalog_with(**changes: object) -> str:
    data = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    data["version"] = "2026.1-changed"
    for key, value in changes.items():
        if key == "first_item_extra":
            data["items"][0]["proxy_alowed"] = value  # a typo of proxy_allowed
        else:
            data[key] = value
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(("content", "place"), [
    ('{"format": "vss-catalog/1", "items": [', "第 1 行"),
    ("事项目录\n", "第 1 行第 1 列"),
    (_catalog_with(first_item_extra=True), "proxy_alowed"),
    (_catalog_with(publisher="县政务服务管理局"), "publisher"),
    (_catalog_with(format="vss-catalog/2"), "vss-catalog/1"),
], ids=["truncated-json", "not-json", "unknown-item-field", "unknown-top-field", "format-tag"])
def test_a_malformed_catalog_file_is_refused(initialised: Path, tmp_path: Path, content: str,
                                            place: str) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text(content, encoding="utf-8")
    before = ledger_count(initialised)

    error = refused_with_json(["catalog", "import", bad], initialised, "CATALOG_FILE_INVALID")

    assert place in str(error["message"])  # says where the problem is
    assert ledger_count(initialised) == before
    assert ok_json("catalog", "list", data=initialised)["version"] == "2025.4-sample"


def test_a_missing_catalog_file_is_refused(initialised: Path, tmp_path: Path) -> None:
    before = ledger_count(initialised)

    refused_with_json(["catalog", "import", tmp_path / "nowhere.json"], initialised,
                      "FILE_INVALID")

    assert ledger_count(initialised) == before


# ---------------------------------------------------------------------------- data folders


def _stamp_application_id(data: Path) -> None:
    with sqlite3.connect(data / "station.db") as conn:
        conn.execute("PRAGMA application_id = 1094861636")  # "ABCD": somebody else's file
    conn.close()


def _add_newer_migration(data: Path) -> None:
    with sqlite3.connect(data / "station.db") as conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('station', 'm999_from_the_future', '2030-01-01 00:00:00')")
    conn.close()


def _change_format_tag(data: Path) -> None:
    with sqlite3.connect(data / "station.db") as conn:
        conn.execute("UPDATE meta SET value = 'vss-station/2' WHERE key = 'format'")
    conn.close()


@pytest.mark.parametrize("make_foreign", [_stamp_application_id, _add_newer_migration,
                                          _change_format_tag],
                         ids=["application-id", "newer-migration", "format-tag"])
def test_a_data_folder_of_another_version_is_refused(initialised: Path, make_foreign) -> None:
    make_foreign(initialised)
    db = initialised / "station.db"
    before = file_sha256(db)

    refused_with_json(["case", "add", "--item", "LOCAL-MZ-004", "--name", "张三丰",
                       "--id-no", VALID_ID], initialised, "DATA_FOLDER_VERSION")
    assert_refused(run("ledger", "verify", data=initialised), "DATA_FOLDER_VERSION")

    assert file_sha256(db) == before


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    data = tmp_path / "other-app"
    data.mkdir()
    with sqlite3.connect(data / "station.db") as conn:
        conn.execute("PRAGMA application_id = 1094861636")
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('not a station')")
    conn.close()
    before = file_sha256(data / "station.db")

    refused_with_json(["case", "list"], data, "DATA_FOLDER_VERSION")

    assert file_sha256(data / "station.db") == before


def test_a_missing_data_folder_is_refused_and_not_created(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-station-here"

    for args in (["case", "list"], ["catalog", "import", SAMPLE_CATALOG], ["ledger", "verify"]):
        error = refused_with_json(args, nowhere, "DATA_FOLDER_MISSING")
        assert "station init" in str(error["message"])

    assert not nowhere.exists()


def test_a_bad_station_code_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "s"

    refused_with_json(["init", "--name", "示例镇", "--code", "33-01", "--region", "330110001",
                       "--level", "town"], data, "STATION_CODE_INVALID")

    assert not data.exists()


# ---------------------------------------------------------------------------- ledger files


def test_verifying_a_missing_export_file_is_an_error_not_a_crash(initialised: Path,
                                                                 tmp_path: Path) -> None:
    refused_with_json(["ledger", "verify", "--file", tmp_path / "nowhere.jsonl"], initialised,
                      "FILE_INVALID")


def test_verifying_a_file_that_is_no_export_is_refused(initialised: Path,
                                                       tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"hello": "world"}\n', encoding="utf-8")

    refused_with_json(["ledger", "verify", "--file", bogus], initialised, "FILE_INVALID")


def test_exporting_into_a_missing_folder_is_an_error_and_leaves_nothing(
        initialised: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "ledger.jsonl"
    before = ledger_count(initialised)

    refused_with_json(["ledger", "export", target], initialised, "INPUT_INVALID")

    assert not target.parent.exists()
    assert ledger_count(initialised) == before


def test_exporting_onto_a_folder_is_an_error_and_leaves_nothing(initialised: Path,
                                                                tmp_path: Path) -> None:
    target = tmp_path / "a-folder"
    target.mkdir()

    refused_with_json(["ledger", "export", target], initialised, "INPUT_INVALID")

    assert list(tmp_path.glob("a-folder*")) == [target]
    assert list(target.iterdir()) == []
