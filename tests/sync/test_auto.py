"""Sync by itself: the background scheduler against the real county server on 127.0.0.1.

The scheduler's monotonic time is moved by hand (``HandTime``), so "15 seconds later" is a
step of the test, not a wait; the network, the databases and the county are real.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from station_app.errors import EnrollRefused, InvalidInput, MissingField
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync.auto import AutoSync, Phase, SyncStatus, Timing
from sync.client import HttpTransport
from sync.county.publish import publish_file
from sync.county.service import County
from sync.protocol import enroll_qr_text
from sync.station import acknowledged, enrollment, sync_once
from tests.conftest import SAMPLE_CATALOG
from tests.sync.conftest import VILLAGE, RunningServer, make_station, serve

TIMING = Timing(period=300, watch=5, debounce=15, first_retry=5, max_retry=40, jitter=0.25)
HALF = 0.5  # the "random" jitter draw: every retry waits 87.5 % of its backoff
WAIT = 30.0  # real seconds any step may take at most before the test fails


class HandTime:
    """The scheduler's monotonic clock, moved only by the test; waiting is real but short,
    so requests and ``stop()`` still get through while time stands still."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self.now = 1000.0
        self._moves = 0  # how often the test moved time (or asked to settle)
        self._read = -1  # the move the worker's latest reading belongs to
        self._idle = -1  # the move the worker had read when it last went to sleep

    def monotonic(self) -> float:
        with self._cv:
            self._read = self._moves
            return self.now

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        with self._cv:
            self._idle = self._read
            self._cv.notify_all()
        condition.wait(0.01)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, then return once the worker has done all that fell due."""
        with self._cv:
            self.now += seconds
        self.settle()

    def settle(self) -> None:
        """Return once the worker has read the time after this call and gone back to sleep:
        everything due by now, and every request made before, has been handled."""
        with self._cv:
            self._moves += 1
            target = self._moves
            if not self._cv.wait_for(lambda: self._idle >= target, WAIT):
                raise AssertionError("the sync worker did not settle")


class Recorder:
    """Every status the scheduler announced, in order."""

    def __init__(self) -> None:
        self.seen: list[SyncStatus] = []
        self._lock = threading.Lock()

    def __call__(self, status: SyncStatus) -> None:
        with self._lock:
            self.seen.append(status)

    def phases(self) -> list[Phase]:
        with self._lock:
            out = [s.phase for s in self.seen]
        return [p for i, p in enumerate(out) if i == 0 or out[i - 1] != p]

    def sessions(self) -> int:
        return self.phases().count(Phase.SYNCING)


class Meter:
    """Counts the transports (one per session) open at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = self.most = self.opened = 0

    def connect(self, server: str) -> HttpTransport:
        meter = self

        class Metered(HttpTransport):
            def close(self) -> None:
                with meter.lock:
                    meter.open -= 1
                super().close()

        transport = Metered(server)
        with self.lock:
            self.open += 1
            self.opened += 1
            self.most = max(self.most, self.open)
        return transport


@pytest.fixture
def hand() -> HandTime:
    return HandTime()


@pytest.fixture
def running(clock: ManualClock, hand: HandTime) -> Iterator[Callable[..., AutoSync]]:
    """Start schedulers on a data folder; all are stopped when the test ends."""
    started: list[AutoSync] = []

    def start(folder: Path, **options: object) -> AutoSync:
        options = {"clock": clock, "timing": TIMING, "ticker": hand, "random": lambda: HALF,
                   **options}
        auto = AutoSync(folder, **options)  # type: ignore[arg-type]
        started.append(auto)
        auto.start()
        return auto

    yield start
    for auto in started:
        auto.stop()


def append_notes(st: Station, n: int) -> None:
    with st.transaction() as tx:
        for i in range(n):
            tx.append("test.note", {"n": i})


def county_size(county: County, st: Station) -> int:
    with county.db.read() as tx:
        return len(tx.entries(st.info.origin))


def test_it_syncs_as_soon_as_it_starts(village: Station, county: County, hand: HandTime,
                                       running: Callable[..., AutoSync]):
    seen = Recorder()
    auto = running(village.folder, listener=seen)
    hand.settle()

    status = auto.status
    assert status.phase is Phase.SYNCED and status.county == "county/330199"
    assert status.acknowledged == status.local_size == village.ledger.size()
    assert status.unsynced == 0 and status.receipt_time is not None
    assert county_size(county, village) == village.ledger.size() == acknowledged(village)
    assert seen.phases() == [Phase.IDLE, Phase.SYNCING, Phase.SYNCED]
    assert seen.seen[-2].done == seen.seen[-2].total == village.ledger.size()  # progress


def test_new_entries_go_up_once_the_log_has_been_quiet_for_a_while(
        village: Station, county: County, hand: HandTime, running: Callable[..., AutoSync]):
    seen = Recorder()
    auto = running(village.folder, listener=seen)
    hand.settle()
    before = village.ledger.size()

    append_notes(village, 3)
    hand.advance(TIMING.watch)  # the worker notices the new entries …
    assert auto.status.unsynced == 3 and county_size(county, village) == before
    append_notes(village, 2)
    auto.changed()  # … or is told (the app does so after each change)
    hand.settle()
    hand.advance(TIMING.debounce - 1)
    assert auto.status.unsynced == 5 and seen.sessions() == 1  # still typing: wait
    hand.advance(1)
    assert auto.status.phase is Phase.SYNCED and auto.status.unsynced == 0
    assert county_size(county, village) == before + 5 == auto.status.acknowledged
    assert seen.sessions() == 2


def test_it_syncs_every_period_even_when_nothing_is_new(
        village: Station, hand: HandTime, running: Callable[..., AutoSync]):
    seen = Recorder()
    running(village.folder, listener=seen)
    hand.settle()
    hand.advance(TIMING.period - 1)
    assert seen.sessions() == 1
    hand.advance(1)
    assert seen.sessions() == 2 and seen.phases()[-1] is Phase.SYNCED


def test_it_backs_off_while_the_county_is_down_and_catches_up_when_it_returns(
        village: Station, county: County, county_server: RunningServer, clock: ManualClock,
        hand: HandTime, running: Callable[..., AutoSync]):
    auto = running(village.folder)
    hand.settle()
    county_server.stop()
    append_notes(village, 4)
    auto.sync_now()
    hand.settle()

    delays = []
    for _ in range(6):
        status = auto.status
        assert status.phase is Phase.OFFLINE and status.error_code == "SYNC_UNREACHABLE"
        assert status.next_try is not None and "记录已安全保存在本机" in status.error
        delay = (status.next_try - clock.now()).total_seconds()
        delays.append(delay)
        hand.advance(delay - 0.5)
        assert auto.status.failures == status.failures  # not before its time
        hand.advance(0.5)
        assert auto.status.failures == status.failures + 1
    # 5 s doubling up to 40 s, each 87.5 % of its backoff (the jitter draw is 0.5)
    assert delays == [4.375, 8.75, 17.5, 35.0, 35.0, 35.0]

    back = serve(county, port=urlsplit(county_server.url).port)
    try:
        hand.advance(35.0)
        status = auto.status
        assert status.phase is Phase.SYNCED and status.failures == 0 and status.error == ""
        assert county_size(county, village) == village.ledger.size() == status.acknowledged
    finally:
        back.stop()


def test_a_person_can_sync_now_whatever_the_backoff_says(
        village: Station, county: County, county_server: RunningServer, hand: HandTime,
        running: Callable[..., AutoSync]):
    auto = running(village.folder)
    hand.settle()
    county_server.stop()
    auto.sync_now()
    hand.settle()
    assert auto.status.phase is Phase.OFFLINE

    back = serve(county, port=urlsplit(county_server.url).port)
    try:
        append_notes(village, 1)
        auto.sync_now()  # 立即同步: no waiting for the retry time
        hand.settle()
        assert auto.status.phase is Phase.SYNCED
        assert county_size(county, village) == village.ledger.size()
    finally:
        back.stop()


def test_a_history_conflict_stops_automatic_sync(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path,
        hand: HandTime, running: Callable[..., AutoSync]):
    sync_once(village, transport)
    backup = tmp_path / "backup"
    shutil.copytree(village.folder, backup)  # the PC restored from yesterday's copy …
    append_notes(village, 3)
    sync_once(village, transport)  # … after today's entries had reached the county
    with Station.open(backup) as restored:  # … and written on before syncing: a fork (an
        append_notes(restored, 1)  # untouched older copy is filled, tests/sync/test_recovery)

    seen = Recorder()
    auto = running(backup, listener=seen)
    hand.settle()
    status = auto.status
    assert status.phase is Phase.CONFLICT and status.needs_person
    assert status.error_code == "SYNC_HISTORY_CONFLICT" and "联系县级管理员" in status.error
    assert status.next_try is None

    with Station.open(backup) as restored:
        append_notes(restored, 1)
    auto.changed()
    hand.advance(TIMING.period + TIMING.max_retry + TIMING.debounce)
    assert seen.sessions() == 1 and auto.status.phase is Phase.CONFLICT  # no more tries
    assert county_size(county, village) == village.ledger.size()  # the county kept its copy


def test_two_schedulers_on_one_folder_never_sync_at_the_same_time(
        village: Station, county: County):
    meter, records = Meter(), [Recorder(), Recorder()]
    autos = [AutoSync(village.folder, listener=r, connect=meter.connect) for r in records]
    try:
        for auto in autos:  # both want their first session at once
            auto.start()
        for round_ in range(1, 4):
            wait_until(lambda n=round_: all(r.phases().count(Phase.SYNCED) == n
                                            for r in records))
            threads = [threading.Thread(target=a.sync_now) for a in autos]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        wait_until(lambda: all(r.phases().count(Phase.SYNCED) == 4 for r in records))
    finally:
        for auto in autos:
            auto.stop()
    assert meter.opened == 8 and meter.most == 1
    assert county_size(county, village) == village.ledger.size()


def test_a_station_enrolls_through_the_scheduler_and_syncs_right_away(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        hand: HandTime, running: Callable[..., AutoSync]):
    st = make_station(tmp_path / "village", VILLAGE, clock)
    try:
        auto = running(st.folder)
        hand.settle()
        assert auto.status.phase is Phase.NOT_ENROLLED
        size = st.ledger.size()

        with pytest.raises(MissingField) as missing:
            auto.enroll(county_server.url, "  ")
        assert missing.value.field == "code"
        with pytest.raises(InvalidInput) as bad_url:
            auto.enroll("10.0.0.5:8443", "ABCD")
        assert bad_url.value.field == "server"

        county.new_ticket(st.info.code)
        wrong = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"
        with pytest.raises(EnrollRefused):
            auto.enroll(county_server.url, wrong).result(WAIT)
        assert enrollment(st) is None and st.ledger.size() == size  # nothing written
        hand.settle()
        assert auto.status.phase is Phase.NOT_ENROLLED

        ticket = county.new_ticket(st.info.code)
        with pytest.raises(InvalidInput, match="这是发给站点 330199101299 的注册码"):
            auto.enroll(county_server.url,  # another station's QR code, scanned
                        enroll_qr_text("330199101299", ticket.code)).result(WAIT)
        link = auto.enroll(county_server.url, enroll_qr_text(st.info.code, ticket.code),
                           actor="admin-li").result(WAIT)
        assert link.county == "county/330199"
        hand.settle()
        assert auto.status.phase is Phase.SYNCED
        assert county_size(county, st) == st.ledger.size() == size + 1
        enrolled = list(st.entries(size))[0]
        assert (enrolled.kind, enrolled.actor) == ("sync.enrolled", "admin-li")
    finally:
        st.close()


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for real worker threads to reach a state."""
    done = threading.Event()
    for _ in range(int(WAIT / 0.02)):
        if condition():
            return
        done.wait(0.02)
    raise AssertionError("timed out waiting for the schedulers")


def test_a_publication_the_county_stopped_renewing_is_flagged_after_a_good_session(
        village: Station, county: County, clock: ManualClock, hand: HandTime,
        running: Callable[..., AutoSync]):
    publish_file(county, "catalog", SAMPLE_CATALOG, days=2)
    seen = Recorder()
    auto = running(village.folder, listener=seen)
    hand.settle()
    assert auto.status.phase is Phase.SYNCED and auto.status.notices == ()

    clock.advance(days=3)  # the county never sends a newer version (a freeze)
    auto.sync_now()
    hand.settle()
    assert auto.status.phase is Phase.SYNCED
    assert len(auto.status.notices) == 1
    assert "事项目录第 1 版已于" in auto.status.notices[0]
    assert "过期" in auto.status.notices[0]
