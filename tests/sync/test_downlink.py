"""What the county publishes reaches an enrolled station over real HTTP and changes what it
does; a rollback, a forged or foreign document and an expired one change nothing and are
reported."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.canonical import canonical_json
from station_app.domain.clock import CST, iso
from station_app.domain.documents import DocKind
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.services.calendar import current_calendar
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.catalog import current_catalog
from station_app.services.clock import ManualClock
from station_app.services.doc_templates import BUNDLED, check_all, published_templates
from station_app.services.doc_verify import verify_token
from station_app.services.documents import issue_document
from station_app.services.station import Station
from station_app.store.queries import CaseFilter, search_cases
from sync.client import HttpTransport
from sync.county.keys import init_keys
from sync.county.publish import publish_file
from sync.county.service import County
from sync.downlink import (
    Applied,
    apply_publications,
    fetch_publications,
    revoked,
    stale_publications,
)
from sync.protocol import PUBLICATION_PURPOSE, publication_doc, sha256_hex, sign_doc
from sync.session import run_sync
from tests.cli.conftest import run as station_cli
from tests.conftest import SAMPLE_CATALOG
from tests.documents.builders import case_in
from tests.documents.pdftools import page_text
from tests.sync.conftest import TOWN, TOWN_CODE, RunningServer, enroll_station, make_station

NEW_ITEM = "LOCAL-MZ-009"
OLD_WORDING = "本回执只证明本中心已收到上述材料"
NEW_WORDING = "县级新措辞：本回执仅证明本中心已收到上述材料"
YEAR_2027 = {"format": "vss-holidays/1", "years": [{"year": 2027, "source": "县政府通知", "days": [
    {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"},
    {"date": "2027-01-04", "kind": "HOLIDAY", "name": "元旦调休"},
    {"date": "2027-01-09", "kind": "WORKDAY", "name": "元旦调休上班"},
]}]}


class ManInTheMiddle(HttpTransport):
    """The real county for everything, except that its publications answer is replaced
    (what an attacker on the line, or a stale mirror, would serve)."""

    def __init__(self, server: str, served: list[Any]) -> None:
        super().__init__(server)
        self.served = served

    def publications(self, versions: Mapping[str, int]) -> tuple[int, Mapping[str, Any]]:
        return 200, {"publications": self.served}


def catalog_file(folder: Path, version: str, *codes: str) -> Path:
    """The sample catalog under another version, with extra items copied from 临时救助申请."""
    data = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    data["version"] = version
    template = next(i for i in data["items"] if i["code"] == "LOCAL-MZ-004")
    for n, code in enumerate(codes):
        data["items"].append({**template, "code": code, "name": f"县级新增事项{n + 1}",
                              "catalog_code": f"NEW-{n:04d}", "task_code": f"NEW-{n:06d}"})
    path = folder / f"catalog-{version}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def stored(county: County, collection: str) -> dict[str, Any]:
    """The newest signed publication of ``collection`` as the county serves it."""
    return next(d for d in county.publications({}).body["publications"]
                if d["doc"]["collection"] == collection)


def outcomes(applied: list[Applied]) -> list[tuple[str, int, str]]:
    return [(a.collection, a.version, a.outcome) for a in applied]


def entries_of(st: Station, kind: str) -> list[Any]:
    return [e for e in st.entries() if e.kind == kind]


def snapshot(st: Station) -> tuple[Any, ...]:
    """What a refused publication must leave alone."""
    return (st.ledger.size(), st.sync_state.publication_versions(),
            current_catalog(st).version, len(current_catalog(st).items),
            published_templates(st))


# ------------------------------------------------------------------------ each collection


def test_a_published_catalog_reaches_the_station(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path) -> None:
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM), days=30)

    report = run_sync(village, transport)

    assert outcomes(report.publications) == [("catalog", 1, "applied")]
    assert report.publications[0].detail == "已应用县级发布的事项目录（第 1 版）"
    catalog = current_catalog(village)
    assert catalog.version == "2026.1" and catalog.item(NEW_ITEM).name == "县级新增事项1"
    # The log cites the county decision it acted on.
    newest = entries_of(village, "catalog.imported")[-1]
    signed = stored(county, "catalog")
    assert newest.body["publication"] == {"collection": "catalog", "version": 1,
                                          "digest": sha256_hex(canonical_json(signed["doc"]))}
    assert village.sync_state.publication_versions() == {"catalog": 1}
    assert report.as_dict()["publications"] == [
        {"collection": "catalog", "version": 1, "outcome": "applied",
         "detail": "已应用县级发布的事项目录（第 1 版）"}]


def test_a_second_sync_applies_nothing_new(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path) -> None:
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM))
    assert outcomes(run_sync(village, transport).publications) == [("catalog", 1, "applied")]
    size = village.ledger.size()

    again = run_sync(village, transport)

    assert again.publications == [] and village.ledger.size() == size
    assert again.sent_entries == 0  # the catalog entry went up in the first session already
    with county.db.read() as tx:
        assert tx.station(village.info.origin).size == size  # type: ignore[union-attr]


def test_a_published_holiday_year_moves_an_open_deadline(
        village: Station, county: County, transport: HttpTransport, clock: ManualClock,
        county_clock: ManualClock, applicant: PersonDetails, tmp_path: Path) -> None:
    county_clock.set(datetime(2026, 12, 28, 9, tzinfo=CST))
    clock.set(datetime(2026, 12, 28, 10, tzinfo=CST))
    case = add_case(village, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))  # 10 WD
    move_case(village, case.case_no, CaseState.ACCEPTED)
    [row] = search_cases(village.db, CaseFilter())
    assert (row.deadline, row.estimated) == ("2027-01-11", True)  # weekends only
    holidays = tmp_path / "2027.json"
    holidays.write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    publish_file(county, "calendar", holidays)

    assert outcomes(run_sync(village, transport).publications) == [("calendar", 1, "applied")]

    # Jan 1 and 4 are off, Saturday Jan 9 is worked: the tenth working day is Jan 12.
    [row] = search_cases(village.db, CaseFilter())
    assert (row.deadline, row.estimated) == ("2027-01-12", False)
    assert current_calendar(village).knows(2027)
    [entry] = [e for e in entries_of(village, "calendar.year_set") if e.body["year"] == 2027]
    assert entry.body["source"] == "县政府通知"
    assert entry.body["publication"]["version"] == 1


@pytest.fixture
def new_templates(tmp_path: Path) -> Path:
    """The shipped templates, with the receipt reworded as the county's version 2026.1."""
    folder = Path(shutil.copytree(BUNDLED, tmp_path / "county-templates"))
    receipt = folder / "receipt.toml"
    text = receipt.read_text(encoding="utf-8")
    assert OLD_WORDING in text
    receipt.write_text(text.replace(OLD_WORDING, NEW_WORDING).replace(
        'version = "2025.1"', 'version = "2026.1"'), encoding="utf-8")
    return folder


def test_published_templates_change_what_the_station_prints(
        village: Station, county: County, transport: HttpTransport, clock: ManualClock,
        applicant: PersonDetails, new_templates: Path, tmp_path: Path) -> None:
    publish_file(county, "templates", new_templates)
    assert outcomes(run_sync(village, transport).publications) == [("templates", 1, "applied")]

    issued = issue_document(village, DocKind.RECEIPT, case_in(village, applicant,
                                                              CaseState.RECEIVED),
                            print_it=False)

    text = page_text(issued.path)
    assert "".join(NEW_WORDING.split()) in text and OLD_WORDING not in text
    assert entries_of(village, "doc.issued")[-1].body["template"]["publication"] == 1
    # The log holds the exact wording in force, and the settings page the version.
    published = {e.body["name"]: e.body for e in entries_of(village, "template.published")}
    assert published["receipt"]["toml"] == (new_templates / "receipt.toml").read_text(
        encoding="utf-8")
    assert published["receipt"]["version"] == "2026.1" and len(published) == 10
    assert check_all(published=published_templates(village))["receipt"] == "2026.1"
    # A station without published templates still prints the bundled wording.
    other = make_station(tmp_path / "other", TOWN, clock)
    plain = issue_document(other, DocKind.RECEIPT, case_in(other, applicant, CaseState.RECEIVED),
                           print_it=False)
    assert OLD_WORDING in page_text(plain.path)
    assert "publication" not in entries_of(other, "doc.issued")[-1].body["template"]
    other.close()


def test_a_newer_template_set_replaces_the_older_one_whole(
        village: Station, county: County, transport: HttpTransport,
        new_templates: Path) -> None:
    publish_file(county, "templates", new_templates)
    run_sync(village, transport)
    publish_file(county, "templates", new_templates / "_footer.toml")

    assert outcomes(run_sync(village, transport).publications) == [("templates", 2, "applied")]

    published = published_templates(village)
    assert published is not None and sorted(published.files) == ["_footer"]
    assert check_all(published=published)["receipt"] == "2025.1"  # bundled again


def test_a_revoked_station_becomes_known_to_the_others(
        village: Station, county: County, transport: HttpTransport,
        county_server: RunningServer, clock: ManualClock, applicant: PersonDetails,
        tmp_path: Path) -> None:
    town = make_station(tmp_path / "town", TOWN, clock)
    enroll_station(town, county, county_server.url)
    before = issue_document(town, DocKind.RECEIPT, case_in(town, applicant, CaseState.RECEIVED),
                            print_it=False)
    county.revoke(TOWN_CODE)

    assert outcomes(run_sync(village, transport).publications) == [("revocations", 1, "applied")]

    found = revoked(village, town.info.origin)
    assert found is not None and (found.station, found.size) == (TOWN_CODE, 0)
    assert revoked(village, village.info.origin) is None
    # What the revoked key signs afterwards is refused; what it signed before still holds.
    clock.advance(days=1)
    after = issue_document(town, DocKind.RECEIPT, case_in(town, applicant, CaseState.RECEIVED),
                           print_it=False)
    town_key = town.signer.public_key
    assert verify_token(village, before.token, town_key).ok
    refused = verify_token(village, after.token, town_key)
    assert not refused.ok and "吊销" in refused.reason
    town.close()


# ----------------------------------------------------------------------------- refusals


def test_an_older_publication_is_refused_as_a_rollback(
        village: Station, county: County, transport: HttpTransport,
        county_server: RunningServer, tmp_path: Path) -> None:
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM))
    run_sync(village, transport)
    version_1 = stored(county, "catalog")
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.2", NEW_ITEM, "LOCAL-MZ-010"))
    run_sync(village, transport)
    before = snapshot(village)
    # Validly signed by the county's own key, but not newer: a replay of version 1, and a
    # second "version 2" that was never published (another digest).
    forged = publication_doc(county=county.keys.county, collection="catalog", version=2,
                             issued=iso(datetime(2026, 1, 1, tzinfo=CST)),
                             expires=iso(datetime(2027, 1, 1, tzinfo=CST)),
                             content=version_1["doc"]["content"])
    forged_2 = sign_doc(forged, purpose=PUBLICATION_PURPOSE, kid=county.keys.cosigner_kid,
                        sign=county.keys.cosigner.sign)

    with ManInTheMiddle(county_server.url, [version_1, forged_2]) as attacker:
        report = run_sync(village, attacker)

    assert outcomes(report.publications) == [("catalog", 1, "rollback"),
                                              ("catalog", 2, "rollback")]
    assert report.publications[0].warning
    assert "本机已应用第 2 版" in report.publications[0].detail
    assert snapshot(village) == before
    assert current_catalog(village).version == "2026.2"


def test_a_tampered_or_foreign_signature_is_refused(
        village: Station, county: County, county_server: RunningServer, tmp_path: Path) -> None:
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM))
    tampered = json.loads(json.dumps(stored(county, "catalog")))
    tampered["doc"]["content"]["issued_by"] = "冒名的发布单位"
    # A county with the same name but other keys (the one this station did not enroll with).
    _, impostor = init_keys(tmp_path / "impostor", county.keys.county, "2025-09-29")
    foreign = sign_doc(stored(county, "catalog")["doc"], purpose=PUBLICATION_PURPOSE,
                       kid=impostor.cosigner_kid, sign=impostor.cosigner.sign)
    before = snapshot(village)

    with ManInTheMiddle(county_server.url, [tampered, foreign]) as attacker:
        report = run_sync(village, attacker)

    assert outcomes(report.publications) == [("catalog", 1, "bad-signature")] * 2
    assert "签名无效" in report.publications[0].detail
    assert snapshot(village) == before


def test_a_document_for_another_county_is_refused(
        village: Station, county: County, county_server: RunningServer) -> None:
    doc = publication_doc(county="county/330200", collection="calendar", version=1,
                          issued="2025-09-29T08:00:00.000+08:00",
                          expires="2026-09-29T08:00:00.000+08:00", content=YEAR_2027)
    signed = sign_doc(doc, purpose=PUBLICATION_PURPOSE, kid=county.keys.cosigner_kid,
                      sign=county.keys.cosigner.sign)
    before = snapshot(village)

    with ManInTheMiddle(county_server.url, [signed]) as attacker:
        report = run_sync(village, attacker)

    assert outcomes(report.publications) == [("calendar", 1, "wrong-county")]
    assert "county/330200" in report.publications[0].detail
    assert snapshot(village) == before and not current_calendar(village).knows(2027)


def test_an_expired_publication_is_not_applied_and_is_reported(
        village: Station, county: County, transport: HttpTransport, clock: ManualClock,
        county_clock: ManualClock, tmp_path: Path) -> None:
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM), days=1)
    clock.advance(days=2)
    before = snapshot(village)

    report = run_sync(village, transport)

    assert outcomes(report.publications) == [("catalog", 1, "expired")]
    assert "过期" in report.publications[0].detail and report.publications[0].warning
    assert snapshot(village) == before
    # Renewed by the county, it goes through; once it runs out the station says so.
    county_clock.advance(days=2)
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM), days=1)
    assert outcomes(run_sync(village, transport).publications) == [("catalog", 2, "applied")]
    assert stale_publications(village) == []
    clock.advance(days=2)
    assert [(c, v) for c, v, _ in stale_publications(village)] == [("catalog", 2)]


def test_content_the_station_cannot_use_is_refused(
        village: Station, county: County, transport: HttpTransport) -> None:
    broken = 'version = "9"\n[[blocks]]\ntype = "hologram"\n'  # e.g. from a newer program
    county.publish("templates", {"templates": [{"name": "receipt", "version": "9",
                                                "toml": broken}]})
    before = snapshot(village)

    report = run_sync(village, transport)

    assert outcomes(report.publications) == [("templates", 1, "invalid")]
    assert "receipt.toml blocks[0].type" in report.publications[0].detail
    assert snapshot(village) == before and published_templates(village) is None


# ------------------------------------------------------------------------ repeats, rebuild


def test_the_same_document_applied_twice_changes_nothing(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path) -> None:
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM))
    docs = fetch_publications(village, transport)
    assert outcomes(apply_publications(village, docs)) == [("catalog", 1, "applied")]
    size = village.ledger.size()

    [again] = apply_publications(village, docs)  # a USB reply imported a second time

    assert (again.outcome, again.warning) == ("already", False)
    assert village.ledger.size() == size


PROJECTED = ("catalog_item", "holiday_year", "holiday_day", "published_template",
             "revoked_station", "cases", "setting")


def dump(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(folder / "station.db") as conn:
        found = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in PROJECTED}
        found["sync_publication"] = conn.execute(
            "SELECT * FROM sync_publication ORDER BY collection").fetchall()
    conn.close()
    return found


def test_ledger_rebuild_keeps_what_was_applied(
        village: Station, county: County, transport: HttpTransport,
        county_server: RunningServer, clock: ManualClock, new_templates: Path,
        tmp_path: Path) -> None:
    town = make_station(tmp_path / "town", TOWN, clock)
    enroll_station(town, county, county_server.url)
    county.revoke(TOWN_CODE)
    town.close()
    holidays = tmp_path / "2027.json"
    holidays.write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    publish_file(county, "calendar", holidays)
    publish_file(county, "catalog", catalog_file(tmp_path, "2026.1", NEW_ITEM))
    publish_file(county, "templates", new_templates)
    assert len(run_sync(village, transport).publications) == 4
    village.close()
    before = dump(village.folder)
    assert len(before["published_template"]) == 10 and len(before["revoked_station"]) == 1

    result = station_cli("ledger", "rebuild", data=village.folder)

    assert result.returncode == 0, result.stderr
    assert dump(village.folder) == before
    # What the officer checks is what is in force: the county's receipt template.
    checked = station_cli("--json", "doc", "templates", data=village.folder)
    report = json.loads(checked.stdout)
    assert checked.returncode == 0 and report["publication"] == 1
    assert report["versions"]["receipt"] == "2026.1" and "县级" in report["origin"]
    reopened = Station.open(village.folder)
    assert current_catalog(reopened).item(NEW_ITEM) and current_calendar(reopened).knows(2027)
    reopened.close()

