"""The county's 差评整改 limits (the ``badreview`` collection, docs/sync.md): published from a
checked file, signed and versioned like every publication, applied by the station over real
HTTP; bad reviews opened afterwards run on the county's working days (the station's own
calendar), the county audit flags them overdue by that same deadline, and the station can
no longer change the limits itself."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.audit import FindingCode, Period, parse_thresholds
from station_app.domain.badreview import SETTINGS, Settings
from station_app.domain.clock import CST
from station_app.domain.evaluations import Channel, Level
from station_app.domain.people import PersonDetails
from station_app.errors import FileInvalid, InvalidInput, MissingField, ReviewSettingsByCounty
from station_app.services.badreview import (
    county_settings_version,
    get_review,
    list_reviews,
    review_settings,
    set_review_settings,
)
from station_app.services.clock import ManualClock
from station_app.services.evaluations import record_evaluation
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import audit_county
from sync.county.publish import publish_file
from sync.county.service import County
from sync.downlink import apply_publications
from sync.session import run_sync
from tests.services.test_badreview_service import finished, rate_bad
from tests.services.test_rebuild import projection_dump
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import init_county, ok_json
from tests.sync.cli_helpers import station as station_cli
from tests.sync.test_downlink import outcomes, stored

COUNTY_RULES = {"verify_wd": 2, "rectify_wd": 3, "revisit_wd": 4,
                "reasons": ["服务态度差", "等候时间长", "其他"]}


def settings_file(folder: Path, value: Any, name: str = "badreview.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), CST)


def overdue_at(county: County, st: Station, moment: datetime) -> dict[str, str]:
    """The county audit's BAD_REVIEW_OVERDUE findings for ``st``: review number → due day."""
    result = audit_county(county.db, period=Period.month("2025-10"), now=moment,
                          thresholds=parse_thresholds(None), station=st.info.code)
    (audit,) = [a for a in result.stations if a.origin == st.info.origin]
    return {f.evidence["review_no"]: f.evidence["due"] for f in audit.findings
            if f.code is FindingCode.BAD_REVIEW_OVERDUE}


def test_county_limits_reach_the_station_and_the_audit_counts_by_them(
        village: Station, county: County, county_clock: ManualClock, transport: HttpTransport,
        applicant: PersonDetails, tmp_path: Path) -> None:
    clock: ManualClock = village.clock  # type: ignore[assignment]
    early = finished(village, applicant)
    rate_bad(village, early)  # Mon 29 Sep, the station's default: 核实 within 1 working day
    done = publish_file(county, "badreview", settings_file(tmp_path, COUNTY_RULES))
    assert (done["collection"], done["version"]) == ("badreview", 1)
    assert done["summary"].startswith("差评整改期限：核实 2、整改反馈 3、回访 4 个工作日")

    report = run_sync(village, transport)

    assert outcomes(report.publications) == [("badreview", 1, "applied")]
    assert review_settings(village) == Settings(
        verify_wd=2, rectify_wd=3, revisit_wd=4, reasons=("服务态度差", "等候时间长", "其他"))
    entry = [e for e in village.entries() if e.kind == SETTINGS][-1]
    assert entry.body["publication"]["version"] == 1  # the log cites the county decision
    # Tue 30 Sep: 2 working days after it skip the National Day holiday (1–8 Oct).
    clock.set(at(date(2025, 9, 30), 10))
    late = finished(village, applicant)
    record_evaluation(village, late, Level.DISSATISFIED, Channel.SMS, reasons=("等候时间长",))
    assert get_review(village, early).settings.verify_wd == 1  # a running loop keeps its own
    assert get_review(village, late).settings.verify_wd == 2
    dues = {r.subject: r.due for r in list_reviews(village, at(date(2025, 9, 30), 11))}
    assert dues == {early: "2025-09-30", late: "2025-10-10"}

    clock.set(at(date(2025, 10, 10), 17))
    county_clock.set(at(date(2025, 10, 10), 17))
    run_sync(village, transport)

    assert overdue_at(county, village, at(date(2025, 10, 10), 18)) == {
        f"{early}-P1": "2025-09-30"}
    assert overdue_at(county, village, at(date(2025, 10, 11), 9)) == {
        f"{early}-P1": "2025-09-30", f"{late}-P1": "2025-10-10"}
    station_overdue = {r.review_no for r in list_reviews(village, at(date(2025, 10, 11), 9),
                                                         overdue_only=True)}
    assert station_overdue == {f"{early}-P1", f"{late}-P1"}


def test_an_older_version_is_refused(village: Station, county: County,
                                     transport: HttpTransport, tmp_path: Path) -> None:
    publish_file(county, "badreview", settings_file(tmp_path, COUNTY_RULES))
    run_sync(village, transport)
    version_1 = stored(county, "badreview")
    publish_file(county, "badreview", settings_file(tmp_path, {"rectify_wd": 10}))
    run_sync(village, transport)
    size = village.ledger.size()

    assert outcomes(apply_publications(village, [version_1])) == [
        ("badreview", 1, "rollback")]
    assert village.ledger.size() == size
    # version 2 named only the 整改 limit: the rest are the cn_standards.md defaults
    assert review_settings(village) == Settings(rectify_wd=10)
    assert county_settings_version(village) == 2


def test_an_unsigned_document_changes_nothing(village: Station, county: County,
                                              tmp_path: Path) -> None:
    publish_file(county, "badreview", settings_file(tmp_path, COUNTY_RULES))
    unsigned = {"doc": stored(county, "badreview")["doc"]}
    assert outcomes(apply_publications(village, [unsigned])) == [
        ("badreview", 1, "bad-signature")]
    assert review_settings(village) == Settings()


@pytest.mark.parametrize(("value", "error", "field", "text"), [
    ({"verify_wd": 6}, InvalidInput, "verify_wd", "核实期限填写有误：应为 1–5 个工作日"),
    ({"rectify_wd": 0}, InvalidInput, "rectify_wd", "应为 1–15 个工作日"),
    ({"revisit_wd": 16}, InvalidInput, "revisit_wd", "应为 1–15 个工作日"),
    ({"rectify_wd": "5"}, InvalidInput, "rectify_wd", "应为整数（工作日）"),
    ({"verify_wd": True}, InvalidInput, "verify_wd", "应为整数（工作日）"),
    ({"verify_wd": 1, "options": ["其他"]}, InvalidInput, "options", "没有“options”这一项"),
    ({"reasons": "服务态度差"}, InvalidInput, "reasons", "应为文字列表"),
    ({"reasons": []}, MissingField, "reasons", "差评原因选项"),
    ([1, 5, 5], InvalidInput, "content", "应为 JSON 对象"),
])
def test_a_bad_settings_file_publishes_nothing(county: County, tmp_path: Path, value: Any,
                                               error: type[Exception], field: str,
                                               text: str) -> None:
    with pytest.raises(error) as caught:
        publish_file(county, "badreview", settings_file(tmp_path, value))
    assert caught.value.field == field  # type: ignore[attr-defined]
    assert text in caught.value.text  # type: ignore[attr-defined]
    assert not [d for d in county.publications({}).body["publications"]
                if d["doc"]["collection"] == "badreview"]


def test_a_file_that_is_not_json_is_named(county: County, tmp_path: Path) -> None:
    path = tmp_path / "badreview.json"
    path.write_text("verify_wd = 2", encoding="utf-8")
    with pytest.raises(FileInvalid) as caught:
        publish_file(county, "badreview", path)
    assert "badreview.json" in caught.value.text and "JSON" in caught.value.text


def test_the_station_cannot_change_the_county_limits(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path) -> None:
    set_review_settings(village, {"verify_wd": 3}, reason="本站自定")  # its own, for now
    assert county_settings_version(village) == 0
    publish_file(county, "badreview", settings_file(tmp_path, COUNTY_RULES))
    run_sync(village, transport)  # the county's settings replace the station's
    size, tables = village.ledger.size(), projection_dump(village)

    for stricter_or_not in ({"verify_wd": 1}, {"rectify_wd": 15}, {"reasons": ["其他"]}):
        with pytest.raises(ReviewSettingsByCounty) as caught:
            set_review_settings(village, stricter_or_not)
        assert caught.value.text.startswith("差评整改期限和原因选项由县级统一发布（第 1 版），"
                                            "本站不能修改")
    assert village.ledger.size() == size and projection_dump(village) == tables
    village.projector.rebuild(village.entries())  # the rule comes from the log itself
    assert county_settings_version(village) == 1
    assert projection_dump(village) == tables


def test_the_commands_publish_and_refuse(village: Station, county: County,
                                         transport: HttpTransport, tmp_path: Path) -> None:
    data = tmp_path / "county-cli"
    init_county(data)
    bad = county_cli(data, "publish", "badreview",
                     settings_file(tmp_path, {"rectify_wd": 30}, "bad.json"))
    assert bad.returncode == 1 and "整改反馈期限填写有误：应为 1–15 个工作日" in bad.stderr
    good = ok_json(county_cli(data, "--json", "publish", "badreview",
                              settings_file(tmp_path, COUNTY_RULES)))
    assert (good["collection"], good["version"]) == ("badreview", 1)  # the first: bad sent none

    publish_file(county, "badreview", settings_file(tmp_path, COUNTY_RULES))
    run_sync(village, transport)
    shown = ok_json(station_cli(village.folder, "--json", "review", "settings"))
    assert (shown["verify_wd"], shown["county_version"]) == (2, 1)
    text = station_cli(village.folder, "review", "settings")
    assert "核实 2 个工作日" in text.stdout and "（县级发布第 1 版）" in text.stdout
    refused = station_cli(village.folder, "--json", "review", "settings", "--verify-wd", "1")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "REVIEW_SETTINGS_BY_COUNTY"
