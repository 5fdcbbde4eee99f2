"""``station evaluate`` and ``station review``: the 差评整改 loop as a clerk or a script sees it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from station_app.domain.clock import CST
from station_app.domain.evaluations import Channel, Level
from station_app.domain.people import validate_person
from station_app.domain.states import CaseState
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.evaluations import record_evaluation
from station_app.services.station import StationSetup, create_station
from tests.cli.conftest import SAMPLE_CATALOG, json_of, ledger_count, ok_json, run
from tests.cli.test_cli_users_and_evaluations import finished_case


def bad_review(data: Path) -> tuple[str, str]:
    case = finished_case(data)
    rated = ok_json("evaluate", case, "--level", "非常不满意", "--channel", "电话",
                    "--reason", "办事效率低", "--comment", "跑了三趟", data=data)
    assert rated["reasons"] == ["办事效率低"] and rated["comment"] == "跑了三趟"
    return case, rated["bad_review"]


def test_a_bad_review_goes_round_the_loop(initialised: Path):
    case, number = bad_review(initialised)
    assert number == f"{case}-P1"
    [row] = ok_json("review", "list", data=initialised)
    assert (row["review_no"], row["step"], row["status_label"]) == (number, "VERIFY", "核实")
    assert row["due"] and row["overdue"] is False

    moved = ok_json("review", "step", number, "--to", "整改", "--note", "已电话核实，情况属实",
                    "--owner", "李主任", data=initialised)
    assert (moved["step"], moved["owner"], moved["next"]) == ("RECTIFY", "李主任", "FEEDBACK")
    steps = (("反馈", "已整改并告知申请人"), ("回访", "已回访"), ("办结", "申请人表示满意"))
    for to, note in steps:
        ok_json("review", "step", case, "--to", to, "--note", note, data=initialised)  # by case
    shown = ok_json("review", "show", number, data=initialised)
    assert shown["step"] == "CLOSED" and shown["due"] is None
    assert [h["step_label"] for h in shown["history"]] == ["整改", "反馈", "回访", "办结"]
    assert ok_json("review", "list", data=initialised) == []
    assert len(ok_json("review", "list", "--all", data=initialised)) == 1
    text = run("review", "show", number, data=initialised)
    assert text.returncode == 0 and "当前环节：已办结" in text.stdout


def test_an_appeal_and_its_decision(initialised: Path):
    case, number = bad_review(initialised)
    appealed = ok_json("review", "appeal", number, "--kind", "恶意差评", "--reason",
                       "同一人对所有办件均给差评", data=initialised)
    assert appealed["appeal"]["outcome"] is None and appealed["due"] is None
    blocked = run("review", "step", number, "--to", "整改", "--note", "x", data=initialised)
    assert blocked.returncode == 1 and "申诉复核" in blocked.stderr
    done = ok_json("review", "decide", number, "--outcome", "overturned", "--note", "经复核属实",
                   data=initialised)
    assert done["status_label"] == "已办结（差评撤销）" and done["step"] == "CLOSED"


def test_bad_input_is_refused_in_chinese_and_english_and_nothing_is_written(
    initialised: Path,
):
    case, number = bad_review(initialised)
    other = finished_case(initialised)
    open_case = json_of(run("--json", "case", "add", "--item", "LOCAL-WJ-001", "--name", "李四",
                            "--id-no", "11010519491231002X", data=initialised))["case_no"]
    attempts = [
        (("evaluate", open_case, "--level", "满意"), "尚未办结"),
        (("evaluate", case, "--level", "满意"), "已经有首次评价"),
        (("evaluate", other, "--level", "不满意"), "差评的原因或文字说明"),
        (("evaluate", other, "--level", "不满意", "--reason", "太慢"), "不在可选项中"),
        (("review", "step", number, "--to", "回访", "--note", "x"),
         "当前为“核实”，不能变更为“回访”"),
        (("review", "step", number, "--to", "整改"), "必须填写核实情况"),
        (("review", "step", number, "--to", "完成", "--note", "x"), "整改环节"),
        (("review", "appeal", number), "请填写申诉理由"),
        (("review", "decide", number, "--outcome", "UPHELD"), "没有待复核的申诉"),
        (("review", "show", "330110001000-20250101-0009"), "没有编号为"),
        (("review", "settings", "--rectify-wd", "30"), "应为 1–15 个工作日"),
    ]
    before = ledger_count(initialised)
    for args, text in attempts:
        done = run(*args, data=initialised)
        assert done.returncode == 1, args
        assert text in done.stderr, (args, done.stderr)
        assert "Error:" in done.stderr
        assert ledger_count(initialised) == before, args
    refused = json_of(run("--json", "review", "step", number, "--to", "反馈", "--note", "x",
                          data=initialised))
    assert refused["ok"] is False and refused["error"]["code"] == "TRANSITION_ILLEGAL"


def test_settings_are_shown_and_changed(initialised: Path):
    assert ok_json("review", "settings", data=initialised)["rectify_wd"] == 5
    changed = ok_json("review", "settings", "--rectify-wd", "15", "--option", "服务态度差",
                      "--option", "其他", "--reason", "县通知", data=initialised)
    assert changed["rectify_wd"] == 15 and changed["reasons"] == ["服务态度差", "其他"]
    case = finished_case(initialised)
    refused = run("evaluate", case, "--level", "不满意", "--reason", "办事效率低", data=initialised)
    assert refused.returncode == 1 and "不在可选项中" in refused.stderr


def test_overdue_reviews_are_listed(tmp_path: Path):
    """Made in the past on a manual clock, listed by the CLI today: long overdue."""
    clock = ManualClock(datetime(2025, 9, 30, 10, 0, tzinfo=CST))
    data = tmp_path / "station"
    with create_station(data, StationSetup(name="青石镇便民服务中心", code="330199101000",
                                           region="330199101000", level="town"),
                        clock=clock, seed=seed_builtin_calendar) as st:
        import_catalog(st, SAMPLE_CATALOG.read_bytes())
        person = validate_person(name="张三丰", cert_no="11010519491231002X")
        numbers = []
        for _ in range(2):
            case_no = add_case(st, CaseRequest(item="LOCAL-WJ-001", applicant=person)).case_no
            move_case(st, case_no, CaseState.ACCEPTED)
            move_case(st, case_no, CaseState.FINISHED, details={"outcome": "APPROVED"})
            record_evaluation(st, case_no, Level.DISSATISFIED, Channel.WINDOW_DEVICE,
                              comment="态度差")
            numbers.append(case_no)
        record_evaluation(st, numbers[1], Level.SATISFIED, Channel.PHONE, followup=True)
    overdue = ok_json("review", "list", "--overdue", data=data)
    assert [r["subject"] for r in overdue] == numbers
    assert all(r["overdue"] and r["due"] == "2025-10-09" for r in overdue)
    listed = run("review", "list", "--overdue", data=data)
    assert "超期" in listed.stdout and "核实" in listed.stdout
