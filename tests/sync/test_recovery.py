"""Recovery from a lost PC, and filling a copy restored from an older backup (issue 8,
docs/recovery.md): end to end through the real county server on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from station_app.crypto.kem import KemKey
from station_app.domain.audit import Period, parse_thresholds
from station_app.domain.clock import CST
from station_app.domain.documents import DocKind
from station_app.domain.log import decode_entry
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.errors import (
    CaseNotFound,
    EnrollRefused,
    HistoryConflict,
    RecoveryFolderNotEmpty,
    RecoveryRefused,
    ReplaceRefused,
    SyncRefused,
)
from station_app.services.cases import (
    CaseRequest,
    add_case,
    case_timeline,
    get_case,
    move_case,
)
from station_app.services.clock import ManualClock
from station_app.services.doc_verify import verify_token
from station_app.services.documents import issue_document
from station_app.services.ledger import verify_folder
from station_app.services.people import open_person
from station_app.services.proxy import ProxyRequest, register_proxy
from station_app.services.recovery import succession_of, verify_epochs
from station_app.services.station import Station
from station_app.store.keyfile import keys_path
from station_app.store.schema import PROJECTION_TABLES
from sync.client import HttpTransport
from sync.county.audit import audit_county
from sync.county.kpis import kpi_table, refresh_facts
from sync.county.service import County
from sync.protocol import b64, enroll_qr_text, enrollment_mac_key, mac
from sync.recover import PENDING_FILE, recover
from sync.station import acknowledged, sync_once
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import init_county, ok_json
from tests.sync.cli_helpers import station as station_cli
from tests.sync.conftest import VILLAGE, VILLAGE_CODE, RunningServer, enroll_station, make_station


def receive(st: Station, person: PersonDetails) -> str:
    return add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=person)).case_no


def proxy(st: Station, person: PersonDetails) -> str:
    return register_proxy(st, ProxyRequest(item="LOCAL-MZ-004", villager=person,
                                           agent="王丽华")).proxy_no


def tables(st: Station) -> dict[str, list[tuple]]:
    return {t: sorted(map(tuple, st.db.execute(f"SELECT * FROM {t}").fetchall()), key=repr)
            for t in PROJECTION_TABLES}


@dataclass
class Lost:
    """The lost PC as the test knows it: what reached the county, and what did not."""

    station: Station
    cases: list[str]
    proxies: list[str]
    acknowledged: int
    unsynced_case: str
    token: str  # a 收件回执 issued on the lost PC (its QR code's text)


@pytest.fixture
def lost(tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
         applicant: PersonDetails) -> Iterator[Lost]:
    """Station A syncs twice with cases, then makes more entries that never sync."""
    st = make_station(tmp_path / "lost", VILLAGE, clock)
    enroll_station(st, county, county_server.url)
    with HttpTransport(county_server.url) as t:
        first = receive(st, applicant)
        token = issue_document(st, DocKind.RECEIPT, first, print_it=False).token
        sync_once(st, t)
        clock.advance(hours=1)
        second = receive(st, applicant)
        move_case(st, first, CaseState.ACCEPTED)
        entry = proxy(st, applicant)
        sync_once(st, t)
    acked = acknowledged(st)
    clock.advance(hours=1)
    unsynced = receive(st, applicant)  # made on the lost PC, never synced
    assert st.ledger.size() > acked
    yield Lost(st, [first, second], [entry], acked, unsynced, token)
    st.close()


def replace(county: County, url: str, folder: Path, clock: ManualClock, **kw: object):
    ticket = county.new_ticket(VILLAGE_CODE, replaces=True)
    with HttpTransport(url) as t:
        return recover(folder, t, enroll_qr_text(VILLAGE_CODE, ticket.code), clock=clock,
                       actor="clerk-wang", **kw)  # type: ignore[arg-type]


def test_a_replacement_pc_recovers_the_acknowledged_history_and_carries_on(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    old = lost.station
    old_origin = old.info.origin
    clock.advance(hours=2)  # the PC is gone; the county approves a replacement
    report = replace(county, county_server.url, tmp_path / "new", clock)

    assert report.predecessor == old_origin and report.origin != old_origin
    assert report.acknowledged == report.recovered == lost.acknowledged
    assert (report.highest_case, report.highest_proxy) == (lost.cases[-1], lost.proxies[-1])
    assert (report.persons, report.persons_unrecoverable) == (1, 1)  # its key was on the PC
    assert "无法恢复" in report.text() and "补录" in report.text()

    with Station.open(tmp_path / "new", clock=clock, actor="clerk-wang") as new:
        assert new.info.origin == report.origin and new.info.code == VILLAGE_CODE
        body = succession_of(new)
        assert body is not None and body["predecessor"]["origin"] == old_origin
        assert body["predecessor"]["size"] == lost.acknowledged
        assert body["unrecoverable_after"] == report.county_time
        assert get_case(new, lost.cases[0]).state is CaseState.ACCEPTED
        paper = verify_token(new, lost.token)  # issued on the lost PC, under its key
        assert paper.ok and paper.record is not None, paper.reason
        with pytest.raises(CaseNotFound):
            get_case(new, lost.unsynced_case)  # reported unrecoverable, not silently there
        # Numbers continue past the range kept for 补录 (tests/sync/test_recovery_numbering.py:
        # highest recovered + 500 / + 1,000, rounded up to a hundred); a case runs on across
        # epochs.
        again = receive(new, applicant)
        assert again.rsplit("-", 1)[1] == "0601" and lost.cases[-1].endswith("-0002")
        assert proxy(new, applicant).endswith("-01101") and lost.proxies[-1].endswith("-00001")
        move_case(new, lost.cases[0], CaseState.FINISHED, details={"outcome": "APPROVED"})
        timeline = case_timeline(new, lost.cases[0])
        assert [t["kind"] for t in timeline] == ["case.created", "case.moved", "case.moved"]
        assert all(t["entered_at"] for t in timeline)  # read back from both epochs
        before = tables(new)
        new.rebuild()
        assert tables(new) == before  # projections replay old epoch + new epoch

        with HttpTransport(county_server.url) as t:
            sync_once(new, t)  # the new epoch syncs; the county checked the link
        assert acknowledged(new) == new.ledger.size()
        assert verify_folder(tmp_path / "new").ok
        assert [c.ok for c in verify_epochs(new)] == [True]

    # The lost PC turns up and syncs: refused, and what it sent is quarantined.
    with HttpTransport(county_server.url) as t, pytest.raises(SyncRefused):
        sync_once(old, t)
    with county.db.read() as tx:
        assert tx.quarantined(old_origin)
        assert tx.station(old_origin).revoked_size == lost.acknowledged  # type: ignore[union-attr]

    audit = audit_county(county.db, period=Period.month("2025-09"),
                         now=datetime(2025, 10, 1, 9, 0, tzinfo=CST),
                         thresholds=parse_thresholds(None), station=VILLAGE_CODE)
    [one] = audit.stations
    codes = [f.code.value for f in one.findings]
    assert one.origin == report.origin and one.verified
    assert "RECOVERED_AFTER_LOSS" in codes and "QUARANTINED" in codes
    assert not {"HISTORY_REWRITTEN", "NUMBER_GAP", "LOG_GAP", "DUPLICATE_NUMBER",
                "LOG_INVALID", "MALFORMED_ENTRY"} & set(codes)
    [loss] = [f for f in one.findings if f.code.value == "RECOVERED_AFTER_LOSS"]
    assert loss.evidence["predecessor"] == old_origin
    assert loss.evidence["acknowledged"] == lost.acknowledged
    assert one.entries == lost.acknowledged + acknowledged_size(county, report.origin)
    # The KPI facts count the history once, as the audit does (not the lost log again).
    refresh_facts(county.db, now=datetime(2025, 10, 1, 9, 0, tzinfo=CST))
    table = kpi_table(county.db, period=Period.month("2025-09"),
                      now=datetime(2025, 10, 1, 9, 0, tzinfo=CST), station=VILLAGE_CODE)
    figures = {c: (r.numerator, r.denominator) for c, r in one.kpis.items()}
    assert {c: (r.numerator, r.denominator)
            for c, r in table.stations[VILLAGE_CODE].items()} == figures
    assert figures["on_site_rate"][1] == 1  # the case accepted on the lost PC, once


def acknowledged_size(county: County, origin: str) -> int:
    with county.db.read() as tx:
        return tx.station(origin).receipt_size  # type: ignore[union-attr]


def test_the_lost_pcs_person_keys_come_back_from_a_restored_folder(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    restored = tmp_path / "restored"  # a copy of the lost PC from its last backup
    copy_folder(lost.station, restored)
    report = replace(county, county_server.url, tmp_path / "new", clock, keys_from=restored)
    assert (report.persons, report.persons_unrecoverable, report.keys_imported) == (1, 0, 1)
    with Station.open(tmp_path / "new", clock=clock) as new:
        [person] = [r[0] for r in new.db.execute("SELECT person FROM person")]
        assert open_person(new, person).name == applicant.name


def copy_folder(st: Station, to: Path) -> None:
    """A backup as a clerk's tool makes one: the database through SQLite's backup API, and
    the key file."""
    to.mkdir(parents=True)
    target = sqlite3.connect(to / "station.db")
    st.db.conn.backup(target)
    target.close()
    keys_path(to).parent.mkdir()
    keys_path(to).write_bytes(keys_path(st.folder).read_bytes())


# ------------------------------------------------------------------- older copy


def test_a_copy_restored_from_an_older_backup_is_filled_from_the_county(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    original = lost.station
    with HttpTransport(county_server.url) as t:
        sync_once(original, t)
        backup = tmp_path / "backup"
        copy_folder(original, backup)
        clock.advance(hours=1)
        newer = receive(original, applicant)
        sync_once(original, t)
        with Station.open(backup, clock=clock) as copy:
            behind = copy.ledger.size()
            report = sync_once(copy, t)  # a prefix of what the county holds: filled
            assert report.filled == original.ledger.size() - behind
            assert copy.ledger.size() == original.ledger.size() == acknowledged(copy)
            assert [r[1] for r in copy.ledger.rows()] == [r[1] for r in original.ledger.rows()]
            assert copy.ledger.head_note() == original.ledger.head_note()
            assert get_case(copy, newer).case_no == newer
            assert tables(copy) == tables(original)
            after = receive(copy, applicant)  # and it carries on, numbering included
            assert after.rsplit("-", 1)[1] == f"{int(newer.rsplit('-', 1)[1]) + 1:04d}"
            sync_once(copy, t)
            assert verify_folder(backup).ok


def test_a_forked_older_copy_is_still_refused_and_nothing_is_written(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    original = lost.station
    with HttpTransport(county_server.url) as t:
        sync_once(original, t)
        copy_folder(original, tmp_path / "backup")
        receive(original, applicant)
        receive(original, applicant)
        sync_once(original, t)
        with Station.open(tmp_path / "backup", clock=clock) as copy:
            receive(copy, applicant)  # written on the old copy: a real fork now
            size, head = copy.ledger.size(), copy.ledger.head_note()
            with pytest.raises(HistoryConflict):
                sync_once(copy, t)
            assert (copy.ledger.size(), copy.ledger.head_note()) == (size, head)


# ------------------------------------------------------------------- bad input


def test_replacement_codes_that_are_used_forged_or_expired_are_refused(
        tmp_path: Path, clock: ManualClock, county: County, county_clock: ManualClock,
        county_server: RunningServer, lost: Lost):
    ticket = county.new_ticket(VILLAGE_CODE, replaces=True)
    text = enroll_qr_text(VILLAGE_CODE, ticket.code)
    with HttpTransport(county_server.url) as t:
        forged = enroll_qr_text(VILLAGE_CODE, "AAAA-" + ticket.code[5:])
        with pytest.raises(EnrollRefused):
            recover(tmp_path / "a", t, forged, clock=clock, actor="x")
        assert not (tmp_path / "a").exists()
        recover(tmp_path / "b", t, text, clock=clock, actor="x")
        with pytest.raises(EnrollRefused):  # used
            recover(tmp_path / "c", t, text, clock=clock, actor="x")
        assert not (tmp_path / "c").exists()
        late = county.new_ticket(VILLAGE_CODE, replaces=True)
        county_clock.advance(hours=73)
        with pytest.raises(EnrollRefused):  # expired
            recover(tmp_path / "d", t, enroll_qr_text(VILLAGE_CODE, late.code), clock=clock,
                    actor="x")
        plain = county.new_ticket(VILLAGE_CODE)  # an ordinary code cannot recover …
        with pytest.raises(EnrollRefused):
            recover(tmp_path / "e", t, enroll_qr_text(VILLAGE_CODE, plain.code),
                    clock=clock, actor="x")
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()


def test_an_ordinary_enroll_cannot_use_a_replacement_code(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost):
    from sync.station import enroll

    ticket = county.new_ticket(VILLAGE_CODE, replaces=True)
    other = make_station(tmp_path / "other", VILLAGE, clock)
    with HttpTransport(county_server.url) as t, pytest.raises(EnrollRefused):
        enroll(other, t, ticket.code)
    other.close()


def test_a_station_with_nothing_acknowledged_cannot_be_replaced(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer):
    st = make_station(tmp_path / "s", VILLAGE, clock)
    enroll_station(st, county, county_server.url)
    st.close()
    with pytest.raises(ReplaceRefused):
        county.new_ticket(VILLAGE_CODE, replaces=True)


def test_recovering_into_a_folder_that_holds_anything_is_refused(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost):
    ticket = county.new_ticket(VILLAGE_CODE, replaces=True)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    with HttpTransport(county_server.url) as t, pytest.raises(RecoveryFolderNotEmpty):
        recover(busy, t, enroll_qr_text(VILLAGE_CODE, ticket.code), clock=clock, actor="x")
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    with HttpTransport(county_server.url) as t, pytest.raises(RecoveryFolderNotEmpty):
        recover(lost.station.folder, t, enroll_qr_text(VILLAGE_CODE, ticket.code),
                clock=clock, actor="x")


def test_county_data_that_does_not_match_its_receipt_is_refused_and_nothing_written(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost):
    origin = lost.station.info.origin
    with county.db.write() as tx:  # a stored entry altered at the county
        idx, data, _ = tx.entries(origin, 3, 4)[0]
        changed = data.replace(b'"actor":"clerk-li"', b'"actor":"clerk-xx"')
        assert changed != data
        tx.run("UPDATE entry SET entry = ? WHERE origin = ? AND idx = ?", [changed, origin, idx])
    new = tmp_path / "new"
    with pytest.raises(RecoveryRefused):
        replace(county, county_server.url, new, clock)
    assert not (new / "station.db").exists()
    assert (new / PENDING_FILE).exists()  # enrolled: a rerun resumes once the data is fixed
    with county.db.write() as tx:
        tx.run("UPDATE entry SET entry = ? WHERE origin = ? AND idx = ?", [data, origin, idx])
    with HttpTransport(county_server.url) as t:
        report = recover(new, t, None, clock=clock, actor="x")  # resumed, no code needed
    assert report.acknowledged == lost.acknowledged
    assert not (new / PENDING_FILE).exists()


def test_an_older_copy_is_not_filled_from_tampered_county_data(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    original = lost.station
    with HttpTransport(county_server.url) as t:
        sync_once(original, t)
        copy_folder(original, tmp_path / "backup")
        receive(original, applicant)
        sync_once(original, t)
        last = original.ledger.size() - 1
        with county.db.write() as tx:
            data = tx.entries(original.info.origin, last, last + 1)[0][1]
            tx.run("UPDATE entry SET entry = ? WHERE origin = ? AND idx = ?",
                   [data.replace(b"clerk-li", b"clerk-xx"), original.info.origin, last])
        with Station.open(tmp_path / "backup", clock=clock) as copy:
            size = copy.ledger.size()
            with pytest.raises(HistoryConflict):
                sync_once(copy, t)
            assert copy.ledger.size() == size
            assert decode_entry(copy.ledger.entry(size - 1) or b"").idx == size - 1


# ------------------------------------------------------------------------- CLI


def test_station_recover_on_the_command_line_prints_the_report(
        tmp_path: Path, county: County, county_server: RunningServer, lost: Lost):
    ticket = county.new_ticket(VILLAGE_CODE, replaces=True)
    data = tmp_path / "new"
    typed = station_cli(data, "recover", "--server", county_server.url, "--code", ticket.code)
    assert typed.returncode == 1 and "--station" in typed.stderr and not data.exists()

    done = ok_json(station_cli(data, "recover", "--server", county_server.url, "--code",
                               ticket.code, "--station", VILLAGE_CODE, "--json"))
    assert done["acknowledged"] == lost.acknowledged and done["predecessor"] == ticket.replaces
    assert done["highest_case"] == lost.cases[-1] and done["persons_unrecoverable"] == 1
    status = ok_json(station_cli(data, "sync", "status", "--json"))
    assert status["enrolled"] and status["county"] == "county/330199"
    again = station_cli(data, "recover", "--server", county_server.url, "--code", ticket.code,
                        "--station", VILLAGE_CODE)
    assert again.returncode == 1 and "SYNC_RECOVERY_FOLDER_NOT_EMPTY" in again.stderr


def test_county_enroll_replaces_refuses_a_station_it_does_not_know(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    done = county_cli(data, "enroll", "--station", VILLAGE_CODE, "--replaces")
    assert done.returncode == 1 and "COUNTY_STATION_UNKNOWN" in done.stderr
    assert not (data / "enroll").exists()


def test_a_second_loss_recovers_both_earlier_epochs_as_one_history(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    first = replace(county, county_server.url, tmp_path / "b", clock)
    with Station.open(tmp_path / "b", clock=clock) as b, \
            HttpTransport(county_server.url) as t:
        made_on_b = receive(b, applicant)
        move_case(b, lost.cases[1], CaseState.ACCEPTED)
        sync_once(b, t)
        b_size = acknowledged(b)
    clock.advance(days=1)  # the replacement is lost too
    second = replace(county, county_server.url, tmp_path / "c", clock)
    assert second.predecessor == first.origin
    assert second.recovered == lost.acknowledged + b_size
    assert len(second.epochs) == 2 and second.epochs[0] == lost.station.info.origin
    with Station.open(tmp_path / "c", clock=clock) as c:
        assert [e.ok for e in verify_epochs(c)] == [True, True]
        assert get_case(c, made_on_b).case_no == made_on_b
        assert get_case(c, lost.cases[1]).state is CaseState.ACCEPTED  # spans A and B
        # 代办序号 run per year: on from the one issued on A, two PCs ago, past the range
        # kept for 补录 (highest 00001 + 1,000, rounded up to a hundred)
        assert proxy(c, applicant).endswith("-01101")
        before = tables(c)
        c.rebuild()
        assert tables(c) == before
        with HttpTransport(county_server.url) as t:
            sync_once(c, t)
    audit = audit_county(county.db, period=Period.month("2025-09"),
                         now=datetime(2025, 10, 1, 9, 0, tzinfo=CST),
                         thresholds=parse_thresholds(None), station=VILLAGE_CODE)
    [one] = audit.stations
    codes = [f.code.value for f in one.findings]
    assert codes.count("RECOVERED_AFTER_LOSS") == 2 and one.verified
    assert not {"HISTORY_REWRITTEN", "NUMBER_GAP", "LOG_GAP", "DUPLICATE_NUMBER"} & set(codes)


def test_a_replacement_log_that_does_not_name_the_lost_log_is_refused(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost):
    """A device enrolled as successor but whose log does not start by naming the lost
    log's acknowledged root (here: an ordinary new station) cannot upload it."""
    fake = make_station(tmp_path / "fake", VILLAGE, clock)
    ticket = county.new_ticket(VILLAGE_CODE, replaces=True)
    request = {"format": "vss-enroll/1", "station": VILLAGE_CODE, "origin": fake.info.origin,
               "log_public": b64(fake.signer.public_key),
               "kem_public": b64(KemKey.generate()[0].public_key), "name": "",
               "t_wall": "2025-09-29T12:00:00.000+08:00", "successor": True}
    secret = enrollment_mac_key(ticket.code)
    with HttpTransport(county_server.url) as t:
        status, reply = t.enroll(json.dumps({"request": request,
                                             "mac": mac(secret, request)}).encode())
        assert status == 200 and reply["replaces"]["origin"] == lost.station.info.origin
        with fake.transaction():
            for key in ("keyset", "certificate"):
                fake.sync_state.put_json(key, reply[key])
            fake.sync_state.put("server", county_server.url)
            fake.sync_state.put("root", reply["keyset"]["doc"]["root"])
        with pytest.raises(HistoryConflict):
            sync_once(fake, t)
    with county.db.read() as tx:
        assert [e[2] for e in tx.evidence(fake.info.origin)] == ["mismatch"]
        assert tx.station(fake.info.origin).receipt_size == 0  # type: ignore[union-attr]
    fake.close()


def test_a_person_erased_after_the_backup_stays_erased_in_the_filled_copy(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    from station_app.services.people import erase_person

    original = lost.station
    with HttpTransport(county_server.url) as t:
        sync_once(original, t)
        backup = tmp_path / "backup"
        copy_folder(original, backup)
        person = get_case(original, lost.cases[0]).applicant
        erase_person(original, person, reason="本人申请删除")
        sync_once(original, t)
        with Station.open(backup, clock=clock) as copy:
            assert copy.vault.key(person) is not None  # the backup brought the key back
            sync_once(copy, t)
            assert copy.vault.key(person) is None  # the filled erasure takes it away again
            assert tables(copy) == tables(original)
