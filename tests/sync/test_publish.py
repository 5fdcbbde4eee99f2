"""The county publishes checked files as signed, versioned documents; bad files publish
nothing and say what is wrong, in Chinese and English."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from station_app.crypto import signature_checker
from station_app.domain.catalog import parse_catalog
from station_app.errors import (
    CalendarFileInvalid,
    CatalogFileInvalid,
    FileInvalid,
    InvalidInput,
    StationError,
    TemplateInvalid,
)
from station_app.services.doc_templates import BUNDLED
from station_app.services.station import Station
from sync.county.publish import publish_file
from sync.county.service import County
from sync.protocol import PUBLICATION_PURPOSE, open_doc, parse_publication
from tests.conftest import SAMPLE_CATALOG
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import init_county, ok_json

YEAR_2027 = {"format": "vss-holidays/1", "years": [{"year": 2027, "source": "测试用安排", "days": [
    {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"},
    {"date": "2027-01-04", "kind": "HOLIDAY", "name": "元旦调休"},
    {"date": "2027-01-09", "kind": "WORKDAY", "name": "元旦调休上班"},
]}]}


def latest(county: County, collection: str) -> dict[str, Any] | None:
    """The newest stored publication of ``collection``, opened with the cosigner key."""
    docs = [d for d in county.publications({}).body["publications"]
            if d["doc"]["collection"] == collection]
    if not docs:
        return None
    keys = {county.keys.cosigner_kid: signature_checker(county.keys.cosigner.public_key)}
    return open_doc(docs[0], purpose=PUBLICATION_PURPOSE, keys=keys)


def versions(county: County) -> dict[str, int]:
    return {d["doc"]["collection"]: d["doc"]["version"]
            for d in county.publications({}).body["publications"]}


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """An editable copy of the shipped templates (with their README)."""
    return Path(shutil.copytree(BUNDLED, tmp_path / "templates"))


# ------------------------------------------------------------------------------ catalog


def test_a_catalog_file_becomes_version_1_then_2(county: County) -> None:
    first = publish_file(county, "catalog", SAMPLE_CATALOG, days=30)
    second = publish_file(county, "catalog", SAMPLE_CATALOG)

    assert (first["version"], second["version"]) == (1, 2)
    assert first["summary"] == "事项目录 2025.4-sample，共 20 项"
    assert first["summary_en"] == "catalog 2025.4-sample, 20 items"
    assert first["issued"] == "2025-09-29T08:00:00.000+08:00"  # the county's clock
    assert first["expires"] == "2025-10-29T08:00:00.000+08:00"  # 30 days later
    doc = latest(county, "catalog")
    assert doc is not None
    pub = parse_publication(doc)
    assert (pub.county, pub.version) == ("county/330199", 2)
    assert parse_catalog(pub.content).item("LOCAL-MZ-004").name == "临时救助申请"


def test_a_catalog_with_a_typo_is_refused_with_its_place_and_nothing_is_published(
        county: County, tmp_path: Path) -> None:
    data = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    data["items"][3]["materials"][0]["copise"] = 1
    bad = write_json(tmp_path / "catalog.json", data)

    with pytest.raises(CatalogFileInvalid) as caught:
        publish_file(county, "catalog", bad)

    assert "items[3].materials[0]" in caught.value.text
    assert caught.value.text_en.startswith("catalog file is invalid: items[3].materials[0]")
    assert versions(county) == {}


def test_a_catalog_that_is_not_json_names_the_line(county: County, tmp_path: Path) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text('{"format": "vss-catalog/1",\n  "items": [}', encoding="utf-8")
    with pytest.raises(CatalogFileInvalid, match="第 2 行"):
        publish_file(county, "catalog", bad)
    assert versions(county) == {}


def test_a_missing_file_is_named(county: County, tmp_path: Path) -> None:
    with pytest.raises(FileInvalid) as caught:
        publish_file(county, "catalog", tmp_path / "nowhere.json")
    assert "nowhere.json" in caught.value.text and "找不到" in caught.value.text
    assert versions(county) == {}


# ----------------------------------------------------------------------------- calendar


def test_a_holiday_file_is_published_as_the_station_format(county: County,
                                                           tmp_path: Path) -> None:
    summary = publish_file(county, "calendar", write_json(tmp_path / "2027.json", YEAR_2027))
    assert summary["summary"] == "节假日安排：2027 年"
    doc = latest(county, "calendar")
    assert doc is not None and doc["content"] == YEAR_2027


def test_a_csv_holiday_file_from_excel_is_accepted(county: County, tmp_path: Path) -> None:
    csv = tmp_path / "2027.csv"
    csv.write_text("日期,类型,名称,来源\n2027/1/1,休,元旦,国办发明电\n", encoding="utf-8-sig")
    publish_file(county, "calendar", csv)
    doc = latest(county, "calendar")
    assert doc is not None
    assert doc["content"]["years"] == [{"year": 2027, "source": "国办发明电", "days": [
        {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"}]}]


def test_a_holiday_file_with_a_wrong_date_is_refused(county: County, tmp_path: Path) -> None:
    bad = copy.deepcopy(YEAR_2027)
    bad["years"][0]["days"][1]["date"] = "2027-02-30"
    with pytest.raises(CalendarFileInvalid, match=r"years\[0\]\.days\[1\]\.date"):
        publish_file(county, "calendar", write_json(tmp_path / "bad.json", bad))
    assert versions(county) == {}


# ---------------------------------------------------------------------------- templates


def test_a_template_folder_is_published_whole_without_its_readme(county: County,
                                                                 templates: Path) -> None:
    publish_file(county, "templates", templates)
    doc = latest(county, "templates")
    assert doc is not None
    published = {t["name"]: t for t in doc["content"]["templates"]}
    assert sorted(published) == sorted(p.stem for p in BUNDLED.glob("*.toml"))
    assert published["receipt"]["toml"] == (BUNDLED / "receipt.toml").read_text(encoding="utf-8")
    assert published["receipt"]["version"] == "2025.1"


def test_one_template_file_can_be_published_alone(county: County, templates: Path) -> None:
    summary = publish_file(county, "templates", templates / "receipt.toml")
    assert summary["summary"] == "文书模板：receipt 2025.1"


def test_a_broken_template_is_refused_with_the_file_and_field_named(
        county: County, templates: Path) -> None:
    receipt = templates / "receipt.toml"
    receipt.write_text(receipt.read_text(encoding="utf-8").replace(
        "{case.case_no}", "{case.number}", 1), encoding="utf-8")

    with pytest.raises(TemplateInvalid) as caught:
        publish_file(county, "templates", templates)

    assert caught.value.params["where"] == "receipt.toml blocks[0].rows[0][1]"
    assert "{case.number}" in caught.value.text
    assert caught.value.text_en.startswith("document template is invalid: receipt.toml")
    assert versions(county) == {}


def test_a_template_for_no_known_document_is_refused(county: County, templates: Path) -> None:
    shutil.copy(templates / "receipt.toml", templates / "receipt-old.toml")
    with pytest.raises(TemplateInvalid, match="receipt-old.toml"):
        publish_file(county, "templates", templates)
    assert versions(county) == {}


def test_an_empty_folder_is_refused(county: County, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileInvalid, match="没有 .toml"):
        publish_file(county, "templates", tmp_path / "empty")


def test_a_toml_syntax_error_is_named(county: County, templates: Path) -> None:
    (templates / "_footer.toml").write_text('version = "2026.1\n', encoding="utf-8")
    with pytest.raises(TemplateInvalid, match=r"_footer\.toml TOML 格式错误"):
        publish_file(county, "templates", templates)


# -------------------------------------------------------------------------- revocations


def test_revoking_a_station_republishes_the_revocation_list(county: County,
                                                            village: Station) -> None:
    assert latest(county, "revocations") is None
    [origin] = county.revoke(village.info.code)

    doc = latest(county, "revocations")
    assert doc is not None and doc["version"] == 1
    [entry] = doc["content"]["revoked"]
    assert entry["origin"] == origin == village.info.origin
    assert (entry["station"], entry["reason"]) == (village.info.code, "revoked")
    assert entry["revoked_at"] == "2025-09-29T08:00:00.000+08:00"


def test_the_revocation_list_is_renewed_with_a_dash_and_never_read_from_a_file(
        county: County, tmp_path: Path) -> None:
    renewed = publish_file(county, "revocations", "-", days=10)
    assert renewed["summary"] == "吊销名单，共 0 个站点密钥"
    assert versions(county) == {"revocations": 1}
    with pytest.raises(InvalidInput, match="自动生成"):
        publish_file(county, "revocations", write_json(tmp_path / "list.json", {}))
    assert versions(county) == {"revocations": 1}


# ------------------------------------------------------------------------------ options


@pytest.mark.parametrize(("collection", "days", "field"), [
    ("rules", 30, "collection"), ("catalog", 0, "days"), ("catalog", 5000, "days")])
def test_an_unknown_collection_or_validity_is_refused(
        county: County, collection: str, days: int, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        publish_file(county, collection, SAMPLE_CATALOG, days=days)
    assert caught.value.field == field
    assert versions(county) == {}


def test_every_refusal_is_a_station_error_with_both_languages(county: County,
                                                              tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(StationError) as caught:
        publish_file(county, "catalog", bad)
    assert caught.value.code == "CATALOG_FILE_INVALID"
    assert caught.value.text and caught.value.text_en != caught.value.text


# ---------------------------------------------------------------------------- the CLI


def test_county_publish_prints_the_version_and_what_went_out(tmp_path: Path) -> None:
    data = tmp_path / "county"
    init_county(data)

    done = ok_json(county_cli(data, "publish", "catalog", SAMPLE_CATALOG, "--days", "30",
                              "--json"))

    assert (done["ok"], done["collection"], done["version"]) == (True, "catalog", 1)
    assert done["summary"] == "事项目录 2025.4-sample，共 20 项"
    text = county_cli(data, "publish", "catalog", SAMPLE_CATALOG)
    assert text.returncode == 0 and "catalog 第 2 版" in text.stdout


def test_county_publish_refuses_a_broken_template_in_both_languages(
        tmp_path: Path, templates: Path) -> None:
    data = tmp_path / "county"
    init_county(data)
    receipt = templates / "receipt.toml"
    receipt.write_text(receipt.read_text(encoding="utf-8").replace(
        "{case.case_no}", "{case.number}", 1), encoding="utf-8")

    refused = county_cli(data, "publish", "templates", templates)

    assert refused.returncode == 1 and refused.stdout == ""
    assert "文书模板有误：receipt.toml blocks[0].rows[0][1]" in refused.stderr
    assert "document template is invalid: receipt.toml blocks[0].rows[0][1]" in refused.stderr
    published = ok_json(county_cli(data, "publish", "templates", BUNDLED, "--json"))
    assert published["version"] == 1  # the refused one took no version
