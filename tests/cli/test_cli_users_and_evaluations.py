"""``station user`` and ``station evaluate``: the CLI twins of the app's people and ratings."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import json_of, ledger_count, run


def finished_case(data: Path) -> str:
    case = json_of(run("--json", "case", "add", "--item", "LOCAL-WJ-001", "--name", "张三",
                       "--id-no", "11010519491231002X", data=data))["case_no"]
    run("case", "move", case, "--to", "ACCEPTED", data=data)
    run("case", "move", case, "--to", "FINISHED", "--outcome", "APPROVED", data=data)
    return case


def test_users_are_added_with_a_role_and_listed(initialised: Path):
    added = json_of(run("--json", "user", "add", "--name", "王晓梅", "--role", "CLERK",
                        "--pin", "123456", data=initialised))
    listed = json_of(run("--json", "user", "list", data=initialised))
    assert added["ok"] and added["role"] == "CLERK"
    assert [u["name"] for u in listed] == ["王晓梅"]


def test_a_short_pin_is_refused_and_nothing_is_written(initialised: Path):
    before = ledger_count(initialised)
    done = run("user", "add", "--name", "王晓梅", "--role", "CLERK", "--pin", "12",
               data=initialised)
    assert done.returncode == 1 and "PIN" in done.stderr
    assert ledger_count(initialised) == before


def test_an_evaluation_then_a_followup(initialised: Path):
    case = finished_case(initialised)
    first = json_of(run("--json", "evaluate", case, "--level", "满意", data=initialised))
    again = run("evaluate", case, "--level", "非常满意", data=initialised)
    follow = json_of(run("--json", "evaluate", case, "--level", "非常满意", "--followup",
                         data=initialised))
    assert (first["level"], first["assess_number"]) == ("SATISFIED", 1)
    assert again.returncode == 1 and "追评" in again.stderr
    assert follow["assess_number"] == 2 and follow["all"] == ["SATISFIED", "VERY_SATISFIED"]


def test_a_bad_review_needs_a_reason_and_an_unfinished_case_cannot_be_rated(
    initialised: Path,
):
    case = finished_case(initialised)
    open_case = json_of(run("--json", "case", "add", "--item", "LOCAL-WJ-001", "--name", "李四",
                            "--id-no", "11010519491231002X", data=initialised))["case_no"]
    before = ledger_count(initialised)
    no_reason = run("evaluate", case, "--level", "不满意", data=initialised)
    unfinished = run("evaluate", open_case, "--level", "满意", data=initialised)
    assert no_reason.returncode == 1 and "差评" in no_reason.stderr
    assert unfinished.returncode == 1 and "尚未办结" in unfinished.stderr
    assert ledger_count(initialised) == before
    rated = json_of(run("--json", "evaluate", case, "--level", "不满意", "--reason", "等候时间长",
                        data=initialised))
    assert rated["level"] == "DISSATISFIED"
