"""The service-item catalog: the shipped sample, the rules an item obeys, lookups and the file."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import fields
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.catalog import (
    FORMAT,
    CaseType,
    Catalog,
    Material,
    ServiceItem,
    catalog_to_dict,
    item_from_dict,
    item_to_dict,
    parse_catalog,
)
from station_app.domain.timelimits import TimeLimit, TimeUnit
from station_app.errors import CatalogFileInvalid, InvalidInput, UnknownItem


def working_days(amount: int) -> TimeLimit:
    return TimeLimit(amount=amount, unit=TimeUnit.WORKING_DAYS)


ID_CARD = Material(name="居民身份证", originals=1, copies=1)


def make_item(**changes: Any) -> ServiceItem:
    values: dict[str, Any] = {
        "code": "LOCAL-CL-001",
        "name": "残疾人证新办",
        "department": "示例县残疾人联合会",
        "case_type": CaseType.PROMISED,
        "legal_limit": working_days(20),
        "promised_limit": working_days(15),
        "materials": (ID_CARD, Material(name="残疾评定表", originals=1)),
        "result_name": "中华人民共和国残疾人证",
    }
    values.update(changes)
    return ServiceItem(**values)


def load_sample() -> dict[str, Any]:
    text = resources.files("station_app").joinpath("data/sample_catalog.json").read_text("utf-8")
    return json.loads(text)


# ---------------------------------------------------------------- the shipped sample


def test_sample_catalog_parses_with_enough_items():
    catalog = parse_catalog(load_sample())

    assert catalog.version == "2025.4-sample"
    assert catalog.issued_by == "示例县政务服务管理局"
    assert len(catalog.items) >= 18
    assert all(item.code.startswith("LOCAL-") for item in catalog.items)


def test_sample_mixes_immediate_and_promised_items_and_one_that_needs_the_person():
    catalog = parse_catalog(load_sample())

    case_types = {item.case_type for item in catalog.items}
    assert {CaseType.IMMEDIATE, CaseType.PROMISED} <= case_types
    not_by_proxy = [item.name for item in catalog.items if not item.proxy_allowed]
    assert not_by_proxy == ["居民身份证换领（有效期满）"]
    assert len(catalog.proxy_items()) == len(catalog.items) - 1


def test_sample_platform_codes_are_only_obvious_placeholders():
    catalog = parse_catalog(load_sample())

    with_codes = [item for item in catalog.items if item.platform_codes]
    assert len(with_codes) == 2
    assert all(code.startswith("SAMPLE-") for item in with_codes for code in item.platform_codes)


def test_sample_lists_materials_with_original_and_copy_counts():
    item = parse_catalog(load_sample()).resolve("残疾人证新办")

    assert item.result_name == "中华人民共和国残疾人证"
    id_card = next(material for material in item.materials if material.name == "居民身份证")
    assert (id_card.originals, id_card.copies, id_card.required) == (1, 1, True)


def test_sample_survives_a_round_trip():
    catalog = parse_catalog(load_sample())

    assert parse_catalog(catalog_to_dict(catalog)) == catalog


# ---------------------------------------------------------------- CaseType


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IMMEDIATE", CaseType.IMMEDIATE),
        ("即办件", CaseType.IMMEDIATE),
        ("1", CaseType.IMMEDIATE),
        ("PROMISED", CaseType.PROMISED),
        (" 承诺件 ", CaseType.PROMISED),
        ("2", CaseType.PROMISED),
        ("其他", CaseType.OTHER),
        ("9", CaseType.OTHER),
    ],
)
def test_case_type_accepts_name_label_and_platform_code(text, expected):
    assert CaseType.parse(text) is expected


def test_case_type_labels_and_codes_follow_gbt_39046_a6():
    assert [(t.label, t.platform_code) for t in CaseType] == [
        ("即办件", "1"),
        ("承诺件", "2"),
        ("其他", "9"),
    ]


def test_unknown_case_type_is_refused_with_the_choices():
    with pytest.raises(InvalidInput) as caught:
        CaseType.parse("加急件")

    assert caught.value.field == "case_type"
    assert "即办件、承诺件 或 其他" in caught.value.text


# ---------------------------------------------------------------- rules of an item


def test_promise_longer_than_the_legal_limit_is_refused():
    with pytest.raises(InvalidInput) as caught:
        make_item(legal_limit=working_days(20), promised_limit=working_days(25))

    assert caught.value.field == "promised_limit"
    assert "25个工作日" in caught.value.text and "20个工作日" in caught.value.text


def test_promise_equal_to_the_legal_limit_is_fine():
    assert make_item(promised_limit=working_days(20)).promised_limit.amount == 20


def test_limits_in_different_units_are_not_compared():
    # 48 hours against 1 working day depends on the holiday calendar and the start time.
    item = make_item(
        legal_limit=working_days(1), promised_limit=TimeLimit(amount=48, unit=TimeUnit.HOURS)
    )

    assert item.promised_limit.unit is TimeUnit.HOURS


def test_immediate_item_must_promise_zero():
    with pytest.raises(InvalidInput) as caught:
        make_item(case_type=CaseType.IMMEDIATE, promised_limit=working_days(1))

    assert caught.value.field == "promised_limit"
    assert "即办件" in caught.value.text


def test_promised_item_must_promise_some_time():
    with pytest.raises(InvalidInput) as caught:
        make_item(case_type=CaseType.PROMISED, promised_limit=working_days(0))

    assert caught.value.field == "promised_limit"


@pytest.mark.parametrize("code", ["", "local-cl-001", "A" * 33, "CL 001", "残联-001"])
def test_local_code_is_1_to_32_digits_capitals_or_dashes(code):
    with pytest.raises(InvalidInput) as caught:
        make_item(code=code)

    assert caught.value.field == "code"


@pytest.mark.parametrize(
    ("field", "value"),
    [("catalog_code", "11 22"), ("task_code", "X" * 65), ("handle_item_code", "1234/01")],
)
def test_platform_codes_are_refused_outside_their_alphabet_and_length(field, value):
    with pytest.raises(InvalidInput) as caught:
        make_item(**{field: value})

    assert caught.value.field == field


def test_platform_codes_are_opaque_and_may_use_lower_case():
    item = make_item(task_code="12441500196720244T3442199806003", handle_item_code="abc-01")

    assert item.platform_codes == ("abc-01", "12441500196720244T3442199806003")


def test_item_type_and_level_use_the_gbt_39046_code_lists():
    item = make_item(item_type="05", level="6")
    assert (item.item_type_label, item.level_label) == ("行政给付", "村（社区）级")
    assert make_item(item_type="11").item_type_label == "扩展事项类型11"

    with pytest.raises(InvalidInput) as caught:
        make_item(level="8")
    assert caught.value.field == "level"


@pytest.mark.parametrize("name", ["", "   ", "残疾人证新办 ", "残疾人证\n新办", "办" * 201])
def test_item_name_is_one_trimmed_line_of_at_most_200_characters(name):
    with pytest.raises(InvalidInput) as caught:
        make_item(name=name)

    assert caught.value.field == "name"


def test_the_same_material_twice_is_refused():
    with pytest.raises(InvalidInput) as caught:
        make_item(materials=(ID_CARD, Material(name="居民身份证", copies=2)))

    assert caught.value.field == "materials[1].name"


@pytest.mark.parametrize("copies", [-1, True])
def test_material_counts_are_whole_numbers_from_zero(copies):
    with pytest.raises(InvalidInput) as caught:
        Material(name="居民户口簿", copies=copies)

    assert caught.value.field == "copies"


# ---------------------------------------------------------------- lookups

PENSION = make_item(
    code="LOCAL-SB-001",
    name="城乡居民基本养老保险参保登记",
    department="示例镇人力资源和社会保障服务所",
    case_type=CaseType.IMMEDIATE,
    legal_limit=working_days(5),
    promised_limit=working_days(0),
    catalog_code="SAMPLE-0001",
    task_code="SAMPLE-000001",
)
PENSION_CLAIM = make_item(
    code="LOCAL-SB-002",
    name="城乡居民基本养老保险待遇申领",
    department="示例县社会保险事业管理中心",
    task_code="SAMPLE-000002",
    handle_item_code="SAMPLE-000002-01",
)
ID_RENEWAL = make_item(
    code="LOCAL-GA-001",
    name="居民身份证换领（有效期满）",
    department="示例县公安局示例派出所",
    proxy_allowed=False,
    charges_fee=True,
)
CATALOG = Catalog(version="2025.3", items=(PENSION, PENSION_CLAIM, ID_RENEWAL))


def test_item_finds_by_exact_local_code():
    assert CATALOG.item("LOCAL-SB-002") is PENSION_CLAIM


def test_unknown_code_raises_unknown_item_naming_the_code():
    with pytest.raises(UnknownItem) as caught:
        CATALOG.item("LOCAL-SB-099")

    assert caught.value.code == "ITEM_UNKNOWN"
    assert caught.value.params == {"value": "LOCAL-SB-099"}
    assert "LOCAL-SB-099" in caught.value.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LOCAL-SB-001", PENSION),
        (" local-sb-001 ", PENSION),
        ("SAMPLE-000002-01", PENSION_CLAIM),
        ("SAMPLE-000002", PENSION_CLAIM),
        ("SAMPLE-0001", PENSION),
        ("居民身份证换领（有效期满）", ID_RENEWAL),
    ],
    ids=["local", "local-lower-case", "handle-item", "task", "catalog", "name"],
)
def test_resolve_accepts_local_code_platform_code_or_exact_name(text, expected):
    assert CATALOG.resolve(text) is expected


def test_resolve_prefers_the_local_code_over_a_platform_code():
    clash = make_item(code="LOCAL-X-001", name="另一事项", task_code="LOCAL-SB-001")
    catalog = Catalog(version="1", items=(clash, PENSION))

    assert catalog.resolve("LOCAL-SB-001") is PENSION


@pytest.mark.parametrize("text", ["养老保险", "", "SAMPLE-999999"])
def test_resolve_does_not_guess(text):
    with pytest.raises(UnknownItem):
        CATALOG.resolve(text)


def test_resolve_refuses_a_name_shared_by_two_items():
    village = make_item(code="LOCAL-CL-002", level="6")
    catalog = Catalog(version="1", items=(make_item(), village))

    with pytest.raises(InvalidInput) as caught:
        catalog.resolve("残疾人证新办")

    assert "LOCAL-CL-001" in caught.value.text and "LOCAL-CL-002" in caught.value.text


def test_search_matches_part_of_a_name_in_catalog_order():
    assert CATALOG.search("养老保险") == (PENSION, PENSION_CLAIM)


def test_search_matches_part_of_any_code_ignoring_case():
    assert CATALOG.search("ga-0") == (ID_RENEWAL,)
    assert CATALOG.search("000002-01") == (PENSION_CLAIM,)


def test_blank_search_lists_everything_and_a_miss_lists_nothing():
    assert CATALOG.search("  ") == CATALOG.items
    assert CATALOG.search("宅基地") == ()


def test_proxy_items_leave_out_what_the_person_must_do_in_person():
    assert CATALOG.proxy_items() == (PENSION, PENSION_CLAIM)


def test_catalog_refuses_two_items_with_one_code():
    with pytest.raises(InvalidInput) as caught:
        Catalog(version="1", items=(PENSION, PENSION))

    assert caught.value.field == "items[1].code"


# ---------------------------------------------------------------- the file


def item_doc() -> dict[str, Any]:
    return {
        "code": "LOCAL-CL-001",
        "name": "残疾人证新办",
        "department": "示例县残疾人联合会",
        "case_type": "PROMISED",
        "legal_limit": {"amount": 20, "unit": "WORKING_DAYS"},
        "promised_limit": {"amount": 15, "unit": "WORKING_DAYS"},
        "materials": [
            {"name": "居民身份证", "originals": 1, "copies": 1},
            {"name": "残疾评定表", "originals": 1, "copies": 0},
        ],
    }


def catalog_doc() -> dict[str, Any]:
    return {"format": FORMAT, "version": "2025.3", "items": [item_doc()]}


Change = Callable[[dict[str, Any]], None]


def put(path: tuple[str | int, ...], value: object) -> Change:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def drop(path: tuple[str | int, ...]) -> Change:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


def add_second_copy_of_first_item(doc: dict[str, Any]) -> None:
    doc["items"].append(copy.deepcopy(doc["items"][0]))


ITEM0 = ("items", 0)
BAD_FILES = [
    (drop(("format",)), "format"),
    (put(("format",), "vss-catalog/2"), "format"),
    (put(("version",), ""), "version"),
    (put(("colour",), "red"), "colour"),
    (put(("items",), {}), "items"),
    (put(ITEM0, "残疾人证新办"), "items[0]"),
    (put((*ITEM0, "nmae"), "残疾人证新办"), "items[0].nmae"),
    (drop((*ITEM0, "name")), "items[0].name"),
    (put((*ITEM0, "name"), 42), "items[0].name"),
    (put((*ITEM0, "code"), "local-cl-001"), "items[0].code"),
    (put((*ITEM0, "case_type"), "加急件"), "items[0].case_type"),
    (put((*ITEM0, "case_type"), 2), "items[0].case_type"),
    (put((*ITEM0, "case_type"), "IMMEDIATE"), "items[0].promised_limit"),
    (put((*ITEM0, "level"), "8"), "items[0].level"),
    (put((*ITEM0, "task_code"), "11 22"), "items[0].task_code"),
    (put((*ITEM0, "max_visits"), -1), "items[0].max_visits"),
    (put((*ITEM0, "proxy_allowed"), "是"), "items[0].proxy_allowed"),
    (put((*ITEM0, "legal_limit"), 20), "items[0].legal_limit"),
    (put((*ITEM0, "legal_limit", "unit"), "周"), "items[0].legal_limit.unit"),
    (put((*ITEM0, "legal_limit", "amount"), 2.5), "items[0].legal_limit.amount"),
    (put((*ITEM0, "legal_limit", "days"), 20), "items[0].legal_limit.days"),
    (put((*ITEM0, "promised_limit", "amount"), 25), "items[0].promised_limit"),
    (put((*ITEM0, "materials"), "居民身份证"), "items[0].materials"),
    (put((*ITEM0, "materials", 1), "残疾评定表"), "items[0].materials[1]"),
    (put((*ITEM0, "materials", 1, "copies"), -1), "items[0].materials[1].copies"),
    (put((*ITEM0, "materials", 1, "copies"), "1"), "items[0].materials[1].copies"),
    (put((*ITEM0, "materials", 1, "copies"), True), "items[0].materials[1].copies"),
    (put((*ITEM0, "materials", 1, "copy"), 1), "items[0].materials[1].copy"),
    (put((*ITEM0, "materials", 1, "required"), 1), "items[0].materials[1].required"),
    (put((*ITEM0, "materials", 1, "name"), "居民身份证"), "items[0].materials[1].name"),
    (add_second_copy_of_first_item, "items[1].code"),
]


@pytest.mark.parametrize(("change", "where"), BAD_FILES, ids=[w for _, w in BAD_FILES])
def test_every_file_error_names_its_place(change, where):
    doc = catalog_doc()
    change(doc)

    with pytest.raises(CatalogFileInvalid) as caught:
        parse_catalog(doc)

    assert caught.value.code == "CATALOG_FILE_INVALID"
    assert caught.value.params["where"] == where
    assert where in caught.value.text


@pytest.mark.parametrize("data", [[], "vss-catalog/1", None])
def test_a_file_that_is_not_an_object_is_refused(data):
    with pytest.raises(CatalogFileInvalid) as caught:
        parse_catalog(data)

    assert caught.value.params == {"where": "文件", "reason": "应为对象（{…}）"}


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (
            put((*ITEM0, "materials", 1, "copies"), -1),
            "items[0].materials[1].copies",
            "应为不小于0的整数",
        ),
        (put((*ITEM0, "proxy_allowed"), "是"), "items[0].proxy_allowed", "应为 true 或 false"),
        (drop((*ITEM0, "department")), "items[0].department", "缺少必填字段"),
        (put((*ITEM0, "nmae"), "x"), "items[0].nmae", "不认识的字段，是否应为“name”？"),
        (
            add_second_copy_of_first_item,
            "items[1].code",
            "本地编码“LOCAL-CL-001”与 items[0] 重复，本地编码应唯一",
        ),
    ],
)
def test_reasons_say_what_was_expected(change, where, reason):
    doc = catalog_doc()
    change(doc)

    with pytest.raises(CatalogFileInvalid) as caught:
        parse_catalog(doc)

    assert caught.value.params == {"where": where, "reason": reason}


def test_wrong_format_tag_says_which_format_is_expected():
    doc = catalog_doc() | {"format": "vss-calendar/1"}

    with pytest.raises(CatalogFileInvalid) as caught:
        parse_catalog(doc)

    assert FORMAT in caught.value.params["reason"]


def test_optional_fields_take_their_defaults():
    doc = catalog_doc()
    del doc["items"][0]["materials"]

    catalog = parse_catalog(doc)
    item = catalog.items[0]

    assert catalog.issued_by == ""
    assert (item.item_type, item.level, item.max_visits) == ("20", "5", 1)
    assert (item.proxy_allowed, item.charges_fee, item.materials) == (True, False, ())
    assert item.task_code == "" and item.legal_basis == ""


def test_units_and_case_types_may_be_written_as_labels_or_platform_codes():
    doc = catalog_doc()
    entry = doc["items"][0]
    entry["case_type"] = "承诺件"
    entry["legal_limit"]["unit"] = "工作日"
    entry["promised_limit"]["unit"] = "1"

    assert parse_catalog(doc) == parse_catalog(catalog_doc())


def test_a_material_with_only_a_name_is_one_required_item_with_no_counts():
    doc = catalog_doc()
    doc["items"][0]["materials"] = [{"name": "近期免冠彩色照片（电子版）"}]

    material = parse_catalog(doc).items[0].materials[0]

    assert material == Material(name="近期免冠彩色照片（电子版）", required=True)


def test_item_snapshot_errors_name_the_place_inside_the_item():
    entry = item_doc()
    entry["materials"][0]["originals"] = -1

    with pytest.raises(CatalogFileInvalid) as caught:
        item_from_dict(entry)

    assert caught.value.params["where"] == "materials[0].originals"


def test_item_snapshot_writes_every_field():
    # A snapshot that left out defaults would change meaning if a default ever changed.
    written = item_to_dict(make_item())

    assert set(written) == {field.name for field in fields(ServiceItem)}
    assert written["legal_limit"] == {"amount": 20, "unit": "WORKING_DAYS", "note": ""}


# ---------------------------------------------------------------- round trip

LINE = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda text: text == text.strip())
FREE_TEXT = st.text(max_size=30)
PLATFORM_CODE = st.one_of(st.just(""), st.from_regex(r"[0-9A-Za-z-]{1,64}", fullmatch=True))

materials = st.builds(
    Material,
    name=LINE,
    originals=st.integers(0, 5),
    copies=st.integers(0, 5),
    required=st.booleans(),
    issuer=FREE_TEXT,
    note=FREE_TEXT,
)


def time_limits(minimum: int = 0) -> st.SearchStrategy[TimeLimit]:
    return st.builds(
        TimeLimit,
        amount=st.integers(minimum, 400),
        unit=st.sampled_from(TimeUnit),
        note=FREE_TEXT,
    )


@st.composite
def service_items(draw: st.DrawFn) -> ServiceItem:
    case_type = draw(st.sampled_from(CaseType))
    legal = draw(time_limits(minimum=1 if case_type is CaseType.PROMISED else 0))
    unit = draw(st.sampled_from(TimeUnit))
    ceiling = legal.amount if unit is legal.unit else 400
    if case_type is CaseType.IMMEDIATE:
        amount = 0
    else:
        amount = draw(st.integers(1 if case_type is CaseType.PROMISED else 0, ceiling))
    return ServiceItem(
        code=draw(st.from_regex(r"[0-9A-Z-]{1,32}", fullmatch=True)),
        name=draw(LINE),
        department=draw(LINE),
        case_type=case_type,
        legal_limit=legal,
        promised_limit=TimeLimit(amount=amount, unit=unit, note=draw(FREE_TEXT)),
        catalog_code=draw(PLATFORM_CODE),
        task_code=draw(PLATFORM_CODE),
        handle_item_code=draw(PLATFORM_CODE),
        item_type=draw(st.from_regex(r"[0-9]{2}", fullmatch=True)),
        level=draw(st.sampled_from("1234567")),
        materials=tuple(draw(st.lists(materials, max_size=4, unique_by=lambda m: m.name))),
        max_visits=draw(st.integers(0, 3)),
        proxy_allowed=draw(st.booleans()),
        charges_fee=draw(st.booleans()),
        result_name=draw(FREE_TEXT),
        place=draw(FREE_TEXT),
        hours=draw(FREE_TEXT),
        consult_tel=draw(FREE_TEXT),
        complaint_tel=draw(FREE_TEXT),
        legal_basis=draw(FREE_TEXT),
    )


@given(service_items())
def test_any_item_survives_a_snapshot(item):
    assert item_from_dict(item_to_dict(item)) == item


@given(
    version=LINE,
    issued_by=FREE_TEXT,
    items=st.lists(service_items(), max_size=4, unique_by=lambda item: item.code),
)
def test_any_catalog_survives_a_trip_through_json_text(version, issued_by, items):
    catalog = Catalog(version=version, issued_by=issued_by, items=tuple(items))
    text = json.dumps(catalog_to_dict(catalog), ensure_ascii=False)

    assert parse_catalog(json.loads(text)) == catalog
