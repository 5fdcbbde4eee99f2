"""The county server on PostgreSQL: the same store, service and HTTP API as on SQLite.

Each test gets a schema of its own in the ``test`` database on 127.0.0.1 (``search_path``
in the URL), dropped afterwards. Without a reachable PostgreSQL the tests skip, unless
``STATION_REQUIRE_PG=1`` (as in ``.ci/run``), where they fail instead.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_app.domain.audit import Period, parse_thresholds
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.errors import CountyDatabaseUnavailable, EnrollRefused, HistoryConflict
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import audit_county
from sync.county.keys import init_keys
from sync.county.kpis import kpi_table, refresh_facts
from sync.county.service import County
from sync.county.store import CountyDb
from sync.station import acknowledged, checkpoint_request, enroll, sync_once
from tests.sync.cli_helpers import (
    county,
    county_serving,
    init_county,
    init_station,
    ok_json,
    station,
)
from tests.sync.conftest import (
    COUNTY_NAME,
    SMALL,
    VILLAGE,
    VILLAGE_CODE,
    enroll_station,
    free_port,
    make_station,
    serve,
)
from tests.sync.pg import fresh_schema


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


@pytest.fixture
def pg_county(tmp_path: Path, pg_url: str, county_clock: ManualClock) -> Iterator[County]:
    _, online = init_keys(tmp_path / "county", COUNTY_NAME, county_clock.now().isoformat())
    db = CountyDb(pg_url)
    yield County(db, online, county_clock.now)
    db.close()


@pytest.fixture
def pg_village(tmp_path: Path, clock: ManualClock, pg_county: County
               ) -> Iterator[tuple[Station, HttpTransport]]:
    running = serve(pg_county)
    st = make_station(tmp_path / "village", VILLAGE, clock)
    try:
        enroll_station(st, pg_county, running.url)
        with HttpTransport(running.url) as transport:
            yield st, transport
    finally:
        st.close()
        running.stop()


def append_notes(st: Station, n: int) -> None:
    with st.transaction() as tx:
        for i in range(n):
            tx.append("test.note", {"n": i})


def test_a_full_http_sync_lands_in_postgres(pg_village: tuple[Station, HttpTransport],
                                            pg_county: County):
    st, transport = pg_village
    append_notes(st, 300)  # more than one package

    first = sync_once(st, transport, limits=SMALL)
    again = sync_once(st, transport)

    assert first.receipt is not None and first.receipt.size == st.ledger.size()
    assert first.packages == 2 and again.sent_entries == 0
    assert again.receipt is not None and again.receipt.note() == first.receipt.note()
    with pg_county.db.read() as tx:
        stored = tx.entries(st.info.origin)
        row = tx.station(st.info.origin)
    assert [(i, e) for i, e, _ in stored] == [(i, e) for i, e, _ in st.ledger.rows()]
    assert isinstance(stored[0][1], bytes)  # BYTEA comes back as bytes
    assert row is not None and row.size == row.receipt_size == st.ledger.size()
    assert acknowledged(st) == st.ledger.size()


def test_a_forked_history_is_kept_as_evidence_in_postgres(
        pg_village: tuple[Station, HttpTransport], pg_county: County, clock: ManualClock,
        tmp_path: Path):
    """A copy of the station's folder writes its own entries after the copy: the county
    refuses the second history and keeps the request (a BYTEA body) as evidence."""
    st, transport = pg_village
    first = sync_once(st, transport).receipt
    assert first is not None
    st.close()
    shutil.copytree(st.folder, tmp_path / "copy")
    with Station.open(st.folder, clock=clock) as original, \
            Station.open(tmp_path / "copy", clock=clock) as copy:
        append_notes(original, 2)
        clock.advance(seconds=1)  # the same notes a second later: another history
        append_notes(copy, 2)
        sync_once(original, transport)
        with pytest.raises(HistoryConflict):  # the county refuses the copy's checkpoint
            sync_once(copy, transport)
        # …and every time it is sent again, the county keeps it as evidence.
        reply = pg_county.add_checkpoint(copy.info.origin,
                                         checkpoint_request(copy, first.size).encode())
        origin, size = original.info.origin, original.ledger.size()

    assert reply.status == 422 and reply.body["error"] == "inconsistent"

    with pg_county.db.read() as tx:
        evidence = tx.evidence(origin)
        row = tx.station(origin)
    assert [e[2] for e in evidence] == ["fork", "fork"]
    assert isinstance(evidence[0][5], bytes) and b"old " in evidence[0][5]
    assert row is not None and row.committed_size == row.receipt_size == size


def test_a_revoked_station_is_quarantined_in_postgres(
        pg_village: tuple[Station, HttpTransport], pg_county: County):
    st, transport = pg_village
    sync_once(st, transport)
    pg_county.revoke(st.info.code, "设备丢失")
    append_notes(st, 2)

    reply = pg_county.add_checkpoint(st.info.origin, checkpoint_request(st, 0).encode())

    assert reply.status == 403 and reply.body["error"] == "revoked"
    with pg_county.db.read() as tx:
        quarantined = tx.quarantined(st.info.origin)
    assert [q[2] for q in quarantined] == ["checkpoint"]
    assert isinstance(quarantined[0][4], bytes) and quarantined[0][4].startswith(b"old 0\n")


def test_one_enrollment_code_enrolls_one_device_even_when_two_race(
        tmp_path: Path, clock: ManualClock, pg_county: County):
    """Two PCs claim the same code at the same moment: the ticket row is locked, so exactly
    one wins (SQLite gets this from BEGIN IMMEDIATE, PostgreSQL from SELECT … FOR UPDATE)."""
    running = serve(pg_county)
    ticket = pg_county.new_ticket(VILLAGE_CODE)
    outcomes: list[str] = []

    def claim(folder: Path) -> None:
        with make_station(folder, VILLAGE, clock) as st:  # each PC its own keys
            try:
                enroll_station_with(st, running.url, ticket.code)
                outcomes.append("enrolled")
            except EnrollRefused:
                outcomes.append("refused")

    try:
        threads = [threading.Thread(target=claim, args=(tmp_path / f"pc{i}",))
                   for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        running.stop()
    assert sorted(outcomes) == ["enrolled", "refused"]
    with pg_county.db.read() as tx:
        assert len(tx.stations(VILLAGE_CODE)) == 1


def enroll_station_with(st: Station, url: str, code: str) -> None:
    with HttpTransport(url) as transport:
        enroll(st, transport, code)


def test_an_unreachable_database_is_a_clear_error():
    with pytest.raises(CountyDatabaseUnavailable) as caught:
        CountyDb(f"postgresql://postgres:secret@127.0.0.1:{free_port()}/test")
    assert "secret" not in caught.value.text and "127.0.0.1" in caught.value.text


def test_county_init_and_serve_on_postgres_through_the_command_lines(tmp_path: Path,
                                                                     pg_url: str):
    data, village = tmp_path / "county", tmp_path / "village"
    made = init_county(data, db=pg_url)
    init_station(village)
    ticket = ok_json(county(data, "enroll", "--station", "330199101201", "--json"))

    with county_serving(data, db=pg_url) as url:
        ok_json(station(village, "enroll", "--server", url, "--code", ticket["code"],
                        "--json"))
        synced = ok_json(station(village, "sync", "--json"))

    assert made["db"].startswith("postgresql://") and not (data / "county.db").exists()
    rows = ok_json(county(data, "status", "--json"))
    assert rows[0]["size"] == rows[0]["receipt_size"] == synced["acknowledged"] > 1
    again = county(tmp_path / "second", "init", "--name", "别的县", "--code", "330100",
                   "--db", pg_url)
    assert again.returncode == 1 and "COUNTY_EXISTS" in again.stderr  # a used database
    assert not (tmp_path / "second").exists()


def test_one_relayed_message_arriving_twice_at_once_is_stored_once(pg_county: County):
    """Both copies go through one INSERT … ON CONFLICT DO NOTHING: neither collides on the
    unique index (which would be a 503), and exactly one is told it stored the message."""
    barrier = threading.Barrier(2)
    stored: list[bool] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        with pg_county.db.write() as tx:
            stored.append(tx.add_relay("330199101000", "vss/330199101201/0a1b2c3d", "m-1",
                                       "{}", "2025-09-29T08:00:00+08:00"))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(stored) == [False, True]
    with pg_county.db.read() as tx:
        assert len(tx.relay_for("330199101000", 0, 10)) == 1


def test_the_kpi_table_from_facts_is_the_same_on_postgres(
        pg_village: tuple[Station, HttpTransport], pg_county: County, clock: ManualClock,
        applicant: PersonDetails):
    st, transport = pg_village
    for _ in range(3):
        clock.advance(minutes=20)
        case = add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
        move_case(st, case.case_no, CaseState.ACCEPTED)
        move_case(st, case.case_no, CaseState.FINISHED, details={"outcome": "APPROVED"})
    sync_once(st, transport)
    period, now = Period.month("2025-09"), clock.now()

    assert refresh_facts(pg_county.db, now=now) == 1
    table = kpi_table(pg_county.db, period=period, now=now).stations[st.info.code]
    full = audit_county(pg_county.db, period=period, now=now,
                        thresholds=parse_thresholds(None)).stations[0].kpis
    assert {c: (r.numerator, r.denominator) for c, r in table.items()} == \
        {c: (r.numerator, r.denominator) for c, r in full.items()}
    assert table["on_site_rate"].value == 1.0 and table["on_time_rate"].denominator == 3
