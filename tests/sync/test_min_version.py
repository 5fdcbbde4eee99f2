"""The county's minimum program version (the ``app`` collection, docs/upgrades.md): published
from a checked file, signed and versioned like every publication, applied by the station
over real HTTP, and shown as a warning when this program is older."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.versions import APP_VERSION
from station_app.errors import FileInvalid, InvalidInput
from station_app.services.appversion import APP_ENTRY, app_update_warning
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.publish import publish_file
from sync.county.service import County
from sync.downlink import apply_publications
from sync.session import run_sync
from tests.sync.cli_helpers import station as station_cli
from tests.sync.test_downlink import ManInTheMiddle, outcomes, stored

NEWER = "9.0.0"  # a version no build of this program has
NOTICE = "2027 年起旧版本不再接收同步，请在 3 月底前升级"


def app_file(folder: Path, value: Any, name: str = "app.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_newer_minimum_version_reaches_the_station_and_warns(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path) -> None:
    assert app_update_warning(village) is None
    done = publish_file(county, "app", app_file(tmp_path, {"min_version": NEWER,
                                                            "notice": NOTICE}))
    assert done["summary"] == f"最低版本要求：{NEWER}（{NOTICE}）"

    report = run_sync(village, transport)

    assert outcomes(report.publications) == [("app", 1, "applied")]
    warning = app_update_warning(village)
    assert warning is not None
    assert (warning.ours, warning.min_version, warning.notice) == (APP_VERSION, NEWER, NOTICE)
    assert NEWER in warning.text and APP_VERSION in warning.text and NOTICE in warning.text
    # The log cites the county decision, as for every publication.
    entry = [e for e in village.entries() if e.kind == APP_ENTRY][-1]
    assert entry.body["min_version"] == NEWER
    assert entry.body["publication"]["version"] == 1


def test_a_minimum_this_program_meets_gives_no_warning(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path) -> None:
    publish_file(county, "app", app_file(tmp_path, {"min_version": NEWER}))
    run_sync(village, transport)
    assert app_update_warning(village) is not None
    publish_file(county, "app", app_file(tmp_path, {"min_version": APP_VERSION}))
    report = run_sync(village, transport)
    assert outcomes(report.publications) == [("app", 2, "applied")]
    assert app_update_warning(village) is None
    assert app_update_warning(village, version="0.1.0") is not None  # an older build would


def test_an_older_or_forged_requirement_is_refused(
        village: Station, county: County, transport: HttpTransport,
        county_server: Any, tmp_path: Path) -> None:
    publish_file(county, "app", app_file(tmp_path, {"min_version": NEWER}))
    run_sync(village, transport)
    version_1 = stored(county, "app")
    publish_file(county, "app", app_file(tmp_path, {"min_version": APP_VERSION}))
    run_sync(village, transport)
    size = village.ledger.size()
    tampered = copy.deepcopy(stored(county, "app"))
    tampered["doc"]["content"]["min_version"] = NEWER
    tampered["doc"]["version"] = 3

    with ManInTheMiddle(county_server.url, [version_1, tampered]) as attacker:
        report = run_sync(village, attacker)

    assert outcomes(report.publications) == [("app", 1, "rollback"),
                                              ("app", 3, "bad-signature")]
    assert "不接受旧版本" in report.publications[0].detail
    assert app_update_warning(village) is None  # still the version-2 requirement
    assert village.ledger.size() == size
    assert village.sync_state.publication_version("app") == 2


def test_an_unsigned_document_changes_nothing(village: Station, county: County,
                                              tmp_path: Path) -> None:
    publish_file(county, "app", app_file(tmp_path, {"min_version": NEWER}))
    unsigned = {"doc": stored(county, "app")["doc"]}
    assert outcomes(apply_publications(village, [unsigned])) == [("app", 1, "bad-signature")]
    assert app_update_warning(village) is None


@pytest.mark.parametrize(("value", "field"), [
    ({"min_version": "最新版"}, "min_version"),
    ({"min_version": "0.3.0", "notice": "第一行\n第二行"}, "notice"),
    ({"min_version": "0.3.0", "force": True}, "content"),
    (["0.3.0"], "content"),
])
def test_a_bad_requirement_file_publishes_nothing(county: County, tmp_path: Path,
                                                  value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        publish_file(county, "app", app_file(tmp_path, value))
    assert caught.value.field == field
    assert not [d for d in county.publications({}).body["publications"]
                if d["doc"]["collection"] == "app"]


def test_a_file_that_is_not_json_is_named(county: County, tmp_path: Path) -> None:
    path = tmp_path / "app.json"
    path.write_text("min_version = 0.3.0", encoding="utf-8")
    with pytest.raises(FileInvalid) as caught:
        publish_file(county, "app", path)
    assert "app.json" in caught.value.text and "JSON" in caught.value.text


def test_station_sync_prints_the_warning(village: Station, county: County,
                                         tmp_path: Path) -> None:
    # The command runs on the real clock, the county on the test's: a long validity.
    publish_file(county, "app", app_file(tmp_path, {"min_version": NEWER, "notice": NOTICE}),
                 days=3650)
    done = station_cli(village.folder, "sync")
    assert done.returncode == 0, done.stderr
    assert f"县级要求使用 {NEWER} 或更高版本的程序，本机是 {APP_VERSION} 版" in done.stdout
    assert NOTICE in done.stdout
    status = station_cli(village.folder, "--json", "sync", "status")
    assert json.loads(status.stdout)["app_update"]["min_version"] == NEWER
