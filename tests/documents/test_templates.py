"""Document templates: the shipped ones pass, a broken one is refused naming file and field.

A county officer edits ``templates/*.toml``; a mistake must be caught before anything is
printed, with a message that says which file and which field (``receipt.toml
blocks[0].rows[3][1]``), never a traceback or a half-filled paper.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.documents import DocKind, context_schema
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.domain.templates import (
    FilledBlock,
    Template,
    check_template,
    fill_document,
    fill_text,
)
from station_app.errors import TemplateInvalid, TemplateMissing
from station_app.services.doc_templates import BUNDLED, check_all, load_templates
from station_app.services.documents import issue_document
from station_app.services.station import Station
from tests.documents.builders import case_in

SHIPPED = Path(__file__).resolve().parents[2] / "templates"
KINDS = [k.value for k in DocKind]


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the shipped templates, to break one file at a time."""
    return Path(shutil.copytree(SHIPPED, tmp_path / "templates"))


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{name} no longer contains exactly one {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ---------------------------------------------------------------------------- shipped


def test_the_program_reads_the_templates_folder_of_the_project() -> None:
    assert BUNDLED == SHIPPED
    assert sorted(p.stem for p in SHIPPED.glob("*.toml")) == sorted(
        ["_footer", "_header", *KINDS])


def test_every_shipped_template_passes_the_check() -> None:
    versions = check_all(SHIPPED)

    assert sorted(versions) == sorted(KINDS)
    assert all(v == "2025.1" for v in versions.values()), versions


@pytest.mark.parametrize("kind", list(DocKind), ids=KINDS)
def test_each_template_names_its_own_kind_and_a_number_prefix(kind: DocKind) -> None:
    raw = tomllib.loads((SHIPPED / f"{kind.value}.toml").read_text(encoding="utf-8"))
    body = load_templates(kind, SHIPPED).body

    assert raw["kind"] == kind.value
    assert body.title == kind.label
    assert body.number_prefix and body.paper in body.papers


def test_number_prefixes_differ_so_numbers_of_two_kinds_never_collide() -> None:
    prefixes = [load_templates(kind, SHIPPED).body.number_prefix for kind in DocKind]

    assert len(set(prefixes)) == len(prefixes), prefixes


def test_receipts_default_to_the_roll_and_notices_to_a4() -> None:
    paper = {kind: load_templates(kind, SHIPPED).body for kind in DocKind}

    for kind in (DocKind.RECEIPT, DocKind.PROXY_SLIP, DocKind.PROXY_DONE):
        assert paper[kind].paper == "roll80" and "a4" in paper[kind].papers
    for kind in (DocKind.ACCEPT_NOTICE, DocKind.SUPPLEMENT_NOTICE, DocKind.REJECT_NOTICE,
                 DocKind.FINISH_NOTICE):
        assert paper[kind].paper == "a4" and "roll80" in paper[kind].papers
    assert paper[DocKind.NOTICE_BOARD].papers == ("a4",)  # a wall poster, never a slip


# ---------------------------------------------------------------------------- broken


@dataclass(frozen=True)
class Breakage:
    what: str
    file: str
    old: str
    new: str
    where: str  # the field path the error must name
    reason: str  # and a word of the reason


BREAKAGES = [
    Breakage("unknown block type", "receipt.toml", 'type = "table"', 'type = "chart"',
             "receipt.toml blocks[1].type", "chart"),
    Breakage("unknown placeholder", "receipt.toml", '"{applicant.cert_no}（',
             '"{applicant.idno}（', "receipt.toml blocks[0].rows[3][1]", "{applicant.idno}"),
    Breakage("the notice board asks for an applicant's name", "notice-board.toml",
             'text = "服务时间：', 'text = "申请人：{applicant.name}\\n服务时间：',
             "notice-board.toml blocks[0].text", "{applicant.name}"),
    Breakage("a receipt asks for the result certificate", "receipt.toml",
             '["承诺时限", "{item.promised_limit}"]', '["承诺时限", "{result.cert_no}"]',
             "receipt.toml blocks[0].rows[8][1]", "{result.cert_no}"),
    Breakage("the shared header asks for personal data", "_header.toml",
             'text = "{station.name}"', 'text = "{applicant.name}"',
             "_header.toml blocks[0].text", "{applicant.name}"),
    Breakage("a table column asks for a field the list has not", "receipt.toml",
             '["原件", "{originals}", 1]', '["原件", "{price}", 1]',
             "receipt.toml blocks[1].columns[1][1]", "{price}"),
    Breakage("a list over a source the kind has not", "supplement-notice.toml",
             'source = "missing"', 'source = "agents"',
             "supplement-notice.toml blocks[2].source", "agents"),
    Breakage("unbalanced braces", "finish-notice.toml", '"{result.outcome}"',
             '"{result.outcome"', "finish-notice.toml blocks[2].rows[0][1]", "花括号"),
    Breakage("bad paper", "accept-notice.toml", 'paper = "a4"', 'paper = "a5"',
             "accept-notice.toml paper", "a5"),
    Breakage("bad paper in the choices", "accept-notice.toml", 'papers = ["a4", "roll80"]',
             'papers = ["a4", "letter"]', "accept-notice.toml papers[1]", "roll80"),
    Breakage("missing version", "receipt.toml", 'version = "2025.1"\n', "",
             "receipt.toml version", "非空"),
    Breakage("a version with spaces", "receipt.toml", 'version = "2025.1"', 'version = "2025 秋"',
             "receipt.toml version", "2025.1"),
    Breakage("TOML syntax error", "receipt.toml", 'title = "收件回执"', 'title = "收件回执',
             "receipt.toml", "TOML"),
    Breakage("unknown top-level key", "receipt.toml", 'version = "2025.1"',
             'version = "2025.1"\ncolour = "red"', "receipt.toml colour", "number_prefix"),
    Breakage("unknown key in a block", "receipt.toml", 'type = "signature"',
             'type = "signature"\ncolor = "red"', "receipt.toml blocks[3].color", "lines"),
    Breakage("a block without its text", "_header.toml", 'type = "title"\ntext = "{doc.title}"',
             'type = "title"', "_header.toml blocks[1].text", "非空"),
    Breakage("wrong kind", "receipt.toml", 'kind = "receipt"', 'kind = "accept-notice"',
             "receipt.toml kind", "receipt"),
    Breakage("font size out of range", "_footer.toml", 'type = "qr"',
             'type = "qr"\nsize = 99', "_footer.toml blocks[2].size", "5–40"),
]


@pytest.mark.parametrize("broken", BREAKAGES, ids=[b.what for b in BREAKAGES])
def test_a_broken_template_is_refused_naming_the_file_and_the_field(
        templates: Path, broken: Breakage) -> None:
    edit(templates, broken.file, broken.old, broken.new)

    with pytest.raises(TemplateInvalid) as caught:
        check_all(templates)

    error = caught.value
    assert error.params["where"] == broken.where
    assert broken.reason in error.params["reason"]
    assert error.text.startswith(f"文书模板有误：{broken.where} ")
    assert broken.where in error.text_en
    assert error.as_dict()["code"] == "TEMPLATE_INVALID"


def test_not_utf8_is_refused_as_such(templates: Path) -> None:
    (templates / "receipt.toml").write_bytes("title = '收件回执'".encode("gbk"))

    with pytest.raises(TemplateInvalid, match=r"receipt\.toml.*UTF-8"):
        load_templates(DocKind.RECEIPT, templates)


def test_a_broken_template_refuses_the_document_before_anything_is_written(
        station: Station, applicant: PersonDetails, templates: Path) -> None:
    case_no = case_in(station, applicant, CaseState.RECEIVED)
    edit(templates, "receipt.toml", '"{applicant.cert_no}（', '"{applicant.idno}（')
    size = station.ledger.size()

    with pytest.raises(TemplateInvalid, match=r"receipt\.toml blocks\[0\]\.rows\[3\]\[1\]"):
        issue_document(station, DocKind.RECEIPT, case_no, print_it=False, templates=templates)

    assert station.ledger.size() == size
    assert not (station.folder / "documents").exists()


# ---------------------------------------------------------------------------- missing


@pytest.mark.parametrize("name", ["receipt", "_header", "_footer"])
def test_a_missing_template_file_is_named_with_the_folder(templates: Path, name: str) -> None:
    (templates / f"{name}.toml").unlink()

    with pytest.raises(TemplateMissing) as caught:
        load_templates(DocKind.RECEIPT, templates)

    assert caught.value.params == {"value": f"{name}.toml", "path": str(templates)}
    assert caught.value.text == f"找不到文书模板“{name}.toml”（模板目录：{templates}）"


def test_station_templates_points_the_program_at_another_folder(
        station: Station, applicant: PersonDetails, templates: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case_no = case_in(station, applicant, CaseState.ACCEPTED)
    (templates / "accept-notice.toml").unlink()
    monkeypatch.setenv("STATION_TEMPLATES", str(templates))
    size = station.ledger.size()

    with pytest.raises(TemplateMissing, match="accept-notice.toml"):
        issue_document(station, DocKind.ACCEPT_NOTICE, case_no, print_it=False)
    with pytest.raises(TemplateMissing, match="accept-notice.toml"):  # and as a parameter
        issue_document(station, DocKind.ACCEPT_NOTICE, case_no, print_it=False,
                       templates=templates)

    assert station.ledger.size() == size
    assert not (station.folder / "documents").exists()
    monkeypatch.delenv("STATION_TEMPLATES")
    assert issue_document(station, DocKind.ACCEPT_NOTICE, case_no, print_it=False).copy == 1


# ---------------------------------------------------------------------------- filling

CONTEXT = {"station": {"name": "青石镇便民服务中心", "phone": "0000-6801000"},
           "doc": {"no": "青石镇收〔2025〕7号", "title": "收件回执"},
           "case": {"case_no": "330199101000-20250929-0001"}}


def test_fill_text_replaces_each_placeholder_with_its_value() -> None:
    assert fill_text("{station.name}　{doc.no}", CONTEXT) == \
        "青石镇便民服务中心　青石镇收〔2025〕7号"
    assert fill_text("办件编号：{case.case_no}。", CONTEXT) == \
        "办件编号：330199101000-20250929-0001。"
    assert fill_text("没有占位符的文字", CONTEXT) == "没有占位符的文字"


def test_fill_text_leaves_a_blank_where_the_context_has_no_value() -> None:
    assert fill_text("地址：{station.address}", CONTEXT) == "地址："
    assert fill_text("{applicant.name}：", {}) == "："


def _template(name: str, kind: DocKind | None, data: dict[str, Any]) -> Template:
    return check_template(name, {"version": "1", **data}, context_schema(kind))


def test_fill_document_joins_header_body_and_footer_into_resolved_text() -> None:
    header = _template("_header", None, {"blocks": [
        {"type": "paragraph", "text": "{station.name}", "align": "center"},
        {"type": "title", "text": "{doc.title}"}]})
    body = _template("receipt", DocKind.RECEIPT, {"title": "收件回执", "blocks": [
        {"type": "fields",
         "rows": [["办件编号", "{case.case_no}"], ["申请人", "{applicant.name}"]]},
        {"type": "table", "text": "已收材料", "source": "materials",
         "columns": [["材料名称", "{name}", 5], ["原件", "{originals}", 1]], "empty": "（无）"},
        {"type": "spacer", "height_mm": 4}]})
    footer = _template("_footer", None, {"blocks": [{"type": "qr", "text": "编号 {doc.no}"},
                                                    {"type": "rule"}]})
    context = {**CONTEXT, "applicant": {"name": "张三丰"}}
    lists = {"materials": [{"name": "居民身份证", "originals": "1"},
                           {"name": "户口簿", "originals": "0"}]}

    spec = fill_document([header, body, footer], context, lists, paper="roll80", token="T")

    assert (spec.title, spec.paper, spec.token) == ("收件回执", "roll80", "T")
    assert [b.type for b in spec.blocks] == ["paragraph", "title", "fields", "table", "spacer",
                                             "qr", "rule"]
    assert spec.blocks[0] == FilledBlock(type="paragraph", text="青石镇便民服务中心",
                                         align="center")
    assert spec.blocks[2].rows == (("办件编号", "330199101000-20250929-0001"),
                                   ("申请人", "张三丰"))
    table = spec.blocks[3]
    assert table.headers == ("材料名称", "原件") and table.widths == (5.0, 1.0)
    assert table.cells == (("居民身份证", "1"), ("户口簿", "0")) and table.items == ()
    assert spec.blocks[4].height_mm == 4.0
    assert spec.blocks[5].text == "编号 青石镇收〔2025〕7号"


def test_fill_document_prints_the_empty_text_for_an_empty_list() -> None:
    body = _template("supplement-notice", DocKind.SUPPLEMENT_NOTICE, {"blocks": [
        {"type": "list", "source": "missing", "item": "{name}：{reason}", "empty": "（无）"},
        {"type": "table", "source": "materials", "columns": [["材料", "{name}", 1]],
         "empty": "（未收取纸质材料）"}]})

    empty = fill_document([body], CONTEXT, {}, paper="a4", token="T")
    full = fill_document([body], CONTEXT, {"missing": [{"name": "户口簿", "reason": "未签名"}]},
                         paper="a4", token="T")

    assert empty.blocks[0].items == ("（无）",) and empty.blocks[1].items == ("（未收取纸质材料）",)
    assert empty.blocks[1].cells == ()
    assert full.blocks[0].items == ("户口簿：未签名",)
