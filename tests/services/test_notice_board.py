"""The 公示栏 poster regenerated when what it publishes changes (docs/notice-board.md).

Real station, real PDFs read back with pdftotext: each change (an agent, the published items,
the station's details) renders a new version, saved and recorded with its digest and what
changed; printing it is the first paper copy, not a 补打; bad choices write nothing.
"""

from __future__ import annotations

import hashlib

import pytest

from station_app.domain.documents import DocKind
from station_app.errors import InvalidInput, MissingField
from station_app.services.catalog import current_catalog
from station_app.services.documents import issue_document
from station_app.services.notice_board import (
    BoardState,
    board_state,
    current_poster_file,
    poster_versions,
    refresh_notice_board,
    set_published_items,
)
from station_app.services.notice_items import published_codes, published_items
from station_app.services.profile import add_agent, set_profile
from station_app.services.station import Station
from tests.documents.pdftools import page_text

AGENT = "周志强"


def entries_after(station: Station, size: int) -> list[tuple[str, dict]]:
    return [(e.kind, e.body) for e in station.entries(size)]


def test_nothing_is_regenerated_before_the_first_poster_is_made(station: Station) -> None:
    add_agent(station, name=AGENT, role="村级代办员", phone="13905710044", village="石桥村")
    assert board_state(station) is BoardState.NEVER
    assert refresh_notice_board(station) is None and poster_versions(station) == []


def test_a_change_renders_a_new_version_that_is_recorded_and_then_printed_as_the_first_copy(
        station: Station) -> None:
    first = issue_document(station, DocKind.NOTICE_BOARD, print_it=False)
    (v1,) = poster_versions(station)
    assert (v1.version, v1.origin, v1.doc_id, v1.changed) == (1, "issued", first.doc_id,
                                                              {"first": True})
    assert board_state(station) is BoardState.CURRENT

    add_agent(station, name=AGENT, role="村级代办员", phone="13905710044", village="石桥村")
    assert board_state(station) is BoardState.OUTDATED
    size = station.ledger.size()
    poster = refresh_notice_board(station)
    assert poster is not None and poster.doc_no != first.doc_no and not poster.printer
    kinds = [k for k, _ in entries_after(station, size)]
    assert kinds == ["doc.issued", "notice.regenerated"]  # one transaction, nothing else
    _, body = entries_after(station, size)[-1]
    assert body["version"] == 2 and body["origin"] == "regenerated"
    assert body["changed"] == {"agents": {"added": [f"{AGENT}（村级代办员，石桥村）"],
                                          "removed": []}}
    saved = current_poster_file(station)
    assert saved == poster.path and body["pdf_sha256"] == \
        hashlib.sha256(saved.read_bytes()).hexdigest()
    assert AGENT in page_text(saved) and "13905710044" in page_text(saved)
    assert board_state(station) is BoardState.TO_PRINT
    assert BoardState.TO_PRINT.label == "公示栏已更新，请打印张贴"
    assert refresh_notice_board(station) is None  # unchanged: no new version

    printed = issue_document(station, DocKind.NOTICE_BOARD, print_it=False)
    assert printed.doc_no == poster.doc_no and printed.copy == 2 and not printed.reprint
    assert "补打" not in page_text(printed.path)
    assert board_state(station) is BoardState.CURRENT
    assert [v.version for v in poster_versions(station)] == [1, 2]
    reprint = issue_document(station, DocKind.NOTICE_BOARD, print_it=False)
    assert reprint.reprint and "补打" in page_text(reprint.path)  # now it is a 补打


def test_the_station_chooses_the_items_it_publishes_and_the_poster_follows(
        station: Station) -> None:
    issue_document(station, DocKind.NOTICE_BOARD, print_it=False)
    every = [i.code for i in current_catalog(station).proxy_items()]
    assert published_codes(station) is None and \
        [i.code for i in published_items(station)] == every
    keep = [every[2], every[0]]  # any order given: the catalog's order kept

    poster = set_published_items(station, keep, reason="只公示常办事项")
    assert published_codes(station) == [every[0], every[2]]
    assert poster is not None
    text = page_text(poster.path)
    names = {i.code: i.name for i in current_catalog(station).items}
    assert names[every[0]] in text and names[every[2]] in text
    assert names[every[1]] not in text
    latest = poster_versions(station)[-1]
    assert latest.changed == {"items": {"added": [], "removed": [
        c for c in every if c not in keep]}}
    assert latest.change_text.startswith("事项 −")

    size = station.ledger.size()
    with pytest.raises(InvalidInput, match="不在事项目录中或不可代办"):
        set_published_items(station, ["NO-SUCH-ITEM"])
    with pytest.raises(MissingField):
        set_published_items(station, ["  "])
    assert station.ledger.size() == size  # refused: nothing written

    back = set_published_items(station, None, reason="恢复全部")
    assert back is not None and published_codes(station) is None
    assert poster_versions(station)[-1].changed["items"]["added"] == \
        [c for c in every if c not in keep]


def test_station_details_changes_are_named_and_the_versions_survive_a_rebuild(
        station: Station) -> None:
    issue_document(station, DocKind.NOTICE_BOARD, print_it=False)
    set_profile(station, {"phone": "0571-88001234"}, reason="换号")
    assert refresh_notice_board(station) is not None
    assert poster_versions(station)[-1].changed == {"station": ["phone"]}
    set_published_items(station, [current_catalog(station).proxy_items()[0].code])
    before = (poster_versions(station), published_codes(station))
    station.rebuild()
    assert (poster_versions(station), published_codes(station)) == before
