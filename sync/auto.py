"""Sync by itself: a background scheduler for the desktop app (and a future ``--watch``).

One worker thread per open data folder runs the sync sessions (``sync.session.run_sync``)
on its own connection to the station database, never the caller's. It syncs

* when it starts (the app opened),
* every ``Timing.period`` seconds,
* ``Timing.debounce`` seconds after the log last grew (it looks every ``Timing.watch``
  seconds, or at once when told with ``changed()``),
* when a person asks (``sync_now()``, the 立即同步 button),

and while the county cannot be reached it waits longer after each failure (exponential
backoff with jitter, ``Timing.first_retry`` → ``Timing.max_retry``), so a hundred stations
coming back online do not all knock at once. A ``HistoryConflict`` stops automatic sync:
the station's log and what the county acknowledged disagree, and a person has to look.

Whoever shows the state reads ``status`` (an immutable ``SyncStatus``) or passes a
``listener``, called from the worker thread after every change. Enrollment (``enroll``)
runs in the worker too, so it never overlaps a session. Sessions on one folder never
overlap within a process either (two windows, or a window and a CLI in one process).

Time is injectable: ``Ticker`` gives the monotonic clock and the waiting, ``random`` the
jitter, the station ``clock`` the wall-clock times shown to people.
"""

from __future__ import annotations

import logging
import math
import random as _random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from station_app.domain.clock import CST
from station_app.errors import (
    CountyUnreachable,
    HistoryConflict,
    InvalidInput,
    MissingField,
    StationError,
)
from station_app.services.clock import Clock, SystemClock
from station_app.services.recovery import RecoveryReport
from station_app.services.station import Station
from sync.client import AuditClient as AuditClient  # the county dashboard's client: the UI
from sync.client import HttpTransport  # reaches the county only through this module
from sync.downlink import LABELS, stale_publications
from sync.protocol import ProtocolError, normalize_code, parse_enroll_text
from sync.recover import recover
from sync.relay_station import RelayTransport
from sync.session import run_sync
from sync.station import Enrollment, SyncReport, acknowledged, enroll, enrollment

logger = logging.getLogger(__name__)
CODE_LENGTH = 26  # 128 bits in base32, without the dashes (sync.county.service.new_ticket)


class Phase(StrEnum):
    NOT_ENROLLED = "not-enrolled"
    IDLE = "idle"  # enrolled, no session yet since the scheduler started
    SYNCING = "syncing"
    OFFLINE = "offline"  # the county cannot be reached; retrying with backoff
    SYNCED = "synced"
    CONFLICT = "conflict"  # HistoryConflict: automatic sync stopped, a person must look
    REFUSED = "refused"  # the county refused (e.g. revoked) or a fault: retried slowly


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncStatus:
    """What the scheduler knows, at one moment; a new object on every change."""

    phase: Phase
    county: str = ""
    server: str = ""
    local_size: int = 0  # entries in the station's log
    acknowledged: int = 0  # entries the county has receipted
    receipt_time: datetime | None = None  # the newest receipt's county time
    done: int = 0  # progress of the running session, in entries
    total: int = 0
    error: str = ""  # the last failure, in Chinese
    error_code: str = ""
    next_try: datetime | None = None  # wall clock of the next automatic attempt
    failures: int = 0  # failed sessions in a row
    notices: tuple[str, ...] = ()  # after a good session: what someone should look at

    @property
    def unsynced(self) -> int:
        return max(0, self.local_size - self.acknowledged)

    @property
    def needs_person(self) -> bool:
        return self.phase in (Phase.CONFLICT, Phase.REFUSED)


@dataclass(frozen=True, slots=True)
class Timing:
    period: float = 300.0  # a session every five minutes while all is well
    watch: float = 5.0  # how often the worker looks for new log entries
    debounce: float = 15.0  # quiet time after the last new entry before syncing
    first_retry: float = 5.0
    max_retry: float = 900.0
    jitter: float = 0.25  # a retry waits between 75 % and 100 % of its backoff

    def retry_delay(self, failures: int, rnd: float) -> float:
        """Seconds to wait after ``failures`` failed sessions in a row (``rnd`` in [0, 1))."""
        backoff = min(self.max_retry, self.first_retry * 2.0 ** max(0, failures - 1))
        return backoff * (1.0 - self.jitter * rnd)


class Ticker(Protocol):
    """The monotonic clock and the waiting, so tests can run the schedule by hand."""

    def monotonic(self) -> float: ...

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        """Wait on ``condition`` (held by the caller) for at most ``timeout`` seconds."""
        ...


class RealTime:
    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        condition.wait(timeout)


class ClosableTransport(RelayTransport, Protocol):
    def close(self) -> None: ...


Listener = Callable[[SyncStatus], None]
Connect = Callable[[str], ClosableTransport]

_FOLDER_LOCKS: dict[Path, threading.Lock] = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


def _folder_lock(folder: Path) -> threading.Lock:
    """One lock per data folder in this process: two schedulers never sync it at once."""
    with _FOLDER_LOCKS_GUARD:
        return _FOLDER_LOCKS.setdefault(folder.resolve(), threading.Lock())


# ------------------------------------------------------------------- the summary


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """The enrollment and sync figures, for the 设置 page and the home screen."""

    enrolled: bool
    county: str = ""
    server: str = ""
    keyset_version: int = 0
    local_size: int = 0
    acknowledged: int = 0
    receipt_time: datetime | None = None
    publications: tuple[tuple[str, int, str, str], ...] = ()  # collection, version, …

    @property
    def unsynced(self) -> int:
        return max(0, self.local_size - self.acknowledged)


def summary(station: Station) -> SyncSummary:
    """Read on the caller's own connection (a quick read, no network)."""
    link = enrollment(station)
    receipt = station.sync_state.latest_receipt()
    common: dict[str, Any] = {
        "local_size": station.ledger.size(), "acknowledged": receipt.size if receipt else 0,
        "receipt_time": county_time(receipt.county_time) if receipt else None}
    if link is None:
        return SyncSummary(False, **common)
    return SyncSummary(True, link.county, link.server, link.keys.version,
                       publications=tuple(station.sync_state.publications()), **common)


def notices(station: Station, report: SyncReport) -> tuple[str, ...]:
    """What a good session still asks a person to look at: county publications refused
    (a rollback or a forgery), publications the county stopped renewing (a freeze), and
    relayed messages refused or not delivered."""
    found = [a.detail for a in report.publications if a.warning]
    found += [f"县级发布的{LABELS.get(c, c)}第 {v} 版已于 {e[:10]} 过期，县级未续发，请联系县级"
              for c, v, e in stale_publications(station)]
    if report.relay_refused:
        found.append(f"拒收了 {report.relay_refused} 件站间转办消息（详见本机账本）")
    if report.relay_failed:
        found.append(f"{report.relay_failed} 件站间转办消息未能发出，将在下次同步时重试")
    return tuple(found)


def county_time(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, CST)


def check_enrollment_input(server: str, code: str) -> tuple[str, str, str | None]:
    """The server address and the code as typed (or the whole text of the county's QR code,
    from a scanner), checked before anything is sent: (server, code, station it is for)."""
    server = (server or "").strip()
    if not server:
        raise MissingField(field="server", label="县级服务器地址")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(field="server", label="县级服务器地址",
                           reason="应以 http:// 或 https:// 开头，如 http://10.33.1.5:8443")
    if not (code or "").strip():
        raise MissingField(field="code", label="注册码")
    try:
        meant_for, code = parse_enroll_text(code)
    except ProtocolError:
        raise InvalidInput(field="code", label="注册码",
                           reason="扫描的二维码不是县级注册码") from None
    if len(normalize_code(code)) != CODE_LENGTH:
        raise InvalidInput(field="code", label="注册码",
                           reason=f"应为 {CODE_LENGTH} 位字母和数字（短横线可有可无）")
    return server.rstrip("/"), code, meant_for


# ------------------------------------------------------------------- the scheduler


@dataclass
class _Schedule:
    """The worker's own bookkeeping (touched by the worker thread only)."""

    last_run: float | None = None  # when the last successful session ended
    retry_at: float = math.inf
    seen_size: int = -1
    changed_at: float = -math.inf  # when the log was last seen to grow
    next_look: float = 0.0


@dataclass(frozen=True, slots=True)
class _EnrollJob:
    server: str
    code: str
    meant_for: str | None  # the station a scanned QR code names
    actor: str
    result: Future[Enrollment]


@dataclass
class _Requests:
    """What other threads ask of the worker (guarded by the scheduler's condition)."""

    stopping: bool = False
    sync_now: bool = False
    look_now: bool = False
    enrollments: deque[_EnrollJob] = field(default_factory=deque)


class AutoSync:
    def __init__(self, folder: Path, *, clock: Clock | None = None,
                 listener: Listener | None = None, timing: Timing | None = None,
                 ticker: Ticker | None = None, random: Callable[[], float] = _random.random,
                 connect: Connect = HttpTransport) -> None:
        self.folder = Path(folder)
        self.clock = clock or SystemClock()
        self.listener = listener
        self.timing = timing or Timing()
        self.ticker = ticker or RealTime()
        self.random = random
        self.connect = connect
        self._cv = threading.Condition()
        self._asked = _Requests()
        self._plan = _Schedule()
        self._status = SyncStatus(phase=Phase.IDLE)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # the first look is done
        self._lock = _folder_lock(self.folder)

    # ------------------------------------------------------------ for other threads

    @property
    def status(self) -> SyncStatus:
        with self._cv:
            return self._status

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, wait: float = 5.0) -> None:
        """Start the worker; its first session runs at once (if the station is enrolled).

        Returns once the worker has read the station's state (at most ``wait`` seconds), so
        ``status`` says "not enrolled" or shows the last receipt from the first moment.
        """
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"auto-sync {self.folder.name}")
        self._thread.start()
        self._ready.wait(wait)

    def stop(self, timeout: float | None = 35.0) -> None:
        """Ask the worker to finish (a session under way completes first); wait for it
        at most ``timeout`` seconds (0: do not wait, e.g. from the UI loop)."""
        with self._cv:
            self._asked.stopping = True
            self._cv.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and timeout != 0:
            thread.join(timeout)

    def sync_now(self) -> None:
        """A person asked (立即同步): sync at once, whatever the backoff says."""
        self._ask(sync_now=True)

    def changed(self) -> None:
        """The log may have grown: look now rather than at the next ``watch``."""
        self._ask(look_now=True)

    def enroll(self, server: str, code: str, *, actor: str = "system") -> Future[Enrollment]:
        """Enroll with the county (in the worker); a sync follows at once when it succeeds.

        Bad input raises here (``InvalidInput`` naming the field); the rest arrives through
        the future: ``EnrollRefused``, ``CountyUnreachable``, ``AlreadyEnrolled``,
        ``SyncRefused``, or ``InvalidInput`` for a QR code naming another station.
        """
        job = _EnrollJob(*check_enrollment_input(server, code), actor=actor, result=Future())
        with self._cv:
            if self._asked.stopping or not self.running:
                job.result.set_exception(RuntimeError("the sync worker is not running"))
                return job.result
            self._asked.enrollments.append(job)
            self._cv.notify_all()
        return job.result

    def _ask(self, **what: bool) -> None:
        with self._cv:
            for name, value in what.items():
                setattr(self._asked, name, value)
            self._cv.notify_all()

    # ------------------------------------------------------------ the worker

    def _run(self) -> None:
        try:
            station = Station.open(self.folder, clock=self.clock)
        except StationError as error:
            logger.error("auto-sync cannot open %s: %s", self.folder, error.text_en)
            self._publish(phase=Phase.REFUSED, error=error.text, error_code=error.code)
            self._ready.set()
            return
        try:
            self._guarded(self._look, station)
            self._ready.set()
            while (job := self._next_job()) is not None:
                self._guarded(job, station)
        finally:
            station.close()
            self._cancel_jobs()
            self._ready.set()

    def _guarded(self, job: Callable[[Station], None], station: Station) -> None:
        try:
            job(station)
        except Exception:  # a fault must not end automatic sync for good
            logger.exception("auto-sync job failed")
            self._plan.next_look = self.ticker.monotonic() + self.timing.watch
            self._failed(Phase.REFUSED, "同步程序内部错误，已记录", "INTERNAL",
                         self.timing.max_retry)

    def _next_job(self) -> Callable[[Station], None] | None:
        with self._cv:
            while True:
                asked = self._asked
                if asked.stopping:
                    return None
                if asked.enrollments:
                    job = asked.enrollments.popleft()
                    return lambda station: self._enroll(station, job)
                now = self.ticker.monotonic()
                if asked.sync_now or now >= self._due():
                    asked.sync_now = False
                    return self._session
                if asked.look_now or now >= self._plan.next_look:
                    asked.look_now = False
                    return self._look
                self.ticker.wait(self._cv, max(0.0, min(self._due(), self._plan.next_look) - now))

    def _due(self) -> float:
        """When the next session is due (monotonic), by the phase we are in."""
        plan, status, timing = self._plan, self._status, self.timing
        if status.phase in (Phase.NOT_ENROLLED, Phase.CONFLICT):
            return math.inf
        if status.phase in (Phase.OFFLINE, Phase.REFUSED):
            return plan.retry_at
        if plan.last_run is None:
            return -math.inf  # the first session since start (or enrollment): now
        due = plan.last_run + timing.period
        if status.local_size > status.acknowledged:
            due = min(due, plan.changed_at + timing.debounce)
        return due

    def _cancel_jobs(self) -> None:
        with self._cv:
            self._asked.stopping = True
            jobs, self._asked.enrollments = list(self._asked.enrollments), deque()
        for job in jobs:  # whoever waits learns that the worker is gone
            job.result.set_exception(RuntimeError("the sync worker stopped"))

    # ------------------------------------------------------------ looking

    def _look(self, station: Station) -> None:
        """Notice new entries (and an enrollment made elsewhere, e.g. from the CLI)."""
        now = self.ticker.monotonic()
        size = self._note_size(station.ledger.size())
        if self._status.phase in (Phase.NOT_ENROLLED, Phase.IDLE):
            self._refresh(station)
        else:
            self._publish(local_size=size)
        enrolled = self._status.phase is not Phase.NOT_ENROLLED
        self._plan.next_look = now + (self.timing.watch if enrolled else self.timing.period)

    def _note_size(self, size: int) -> int:
        """Remember when the log last grew: sessions wait for it to be quiet (debounce)."""
        if size != self._plan.seen_size:
            self._plan.seen_size, self._plan.changed_at = size, self.ticker.monotonic()
        return size

    def _refresh(self, station: Station) -> None:
        """Re-read the enrollment; a station enrolled meanwhile is due a session at once."""
        link = enrollment(station)
        if link is None:
            self._publish(phase=Phase.NOT_ENROLLED, county="", server="",
                          **self._figures(station))
            return
        if self._status.phase is Phase.NOT_ENROLLED:
            self._plan.last_run = None
            self._publish(phase=Phase.IDLE)
        self._publish(county=link.county, server=link.server, **self._figures(station))

    def _figures(self, station: Station) -> dict[str, object]:
        receipt = station.sync_state.latest_receipt()
        return {"local_size": station.ledger.size(),
                "acknowledged": receipt.size if receipt else 0,
                "receipt_time": county_time(receipt.county_time) if receipt else None}

    # ------------------------------------------------------------ a session

    def _session(self, station: Station) -> None:
        link = enrollment(station)
        if link is None:
            self._refresh(station)
            return
        ack, size = acknowledged(station), station.ledger.size()
        self._publish(phase=Phase.SYNCING, county=link.county, server=link.server,
                      local_size=size, acknowledged=ack, done=0, total=size - ack,
                      next_try=None)
        try:
            with self._lock:
                transport = self.connect(link.server)
                try:
                    report = run_sync(station, transport, self._progress)
                finally:
                    transport.close()
        except HistoryConflict as error:
            logger.warning("auto-sync stopped: %s", error.text_en)
            self._failed(Phase.CONFLICT, error.text, error.code, math.inf)
        except CountyUnreachable as error:
            delay = self.timing.retry_delay(self._status.failures + 1, self.random())
            self._failed(Phase.OFFLINE, error.text, error.code, delay)
        except StationError as error:  # refused (revoked, bad receipt …): slowly, and say so
            logger.warning("auto-sync refused: %s", error.text_en)
            self._failed(Phase.REFUSED, error.text, error.code, self.timing.max_retry)
        else:
            self._plan.last_run = self.ticker.monotonic()
            self._note_size(station.ledger.size())
            self._publish(phase=Phase.SYNCED, error="", error_code="", failures=0,
                          next_try=None, done=0, total=0, notices=notices(station, report),
                          **self._figures(station))

    def _progress(self, done: int, total: int) -> None:
        self._publish(done=done, total=total)

    def _failed(self, phase: Phase, error: str, code: str, delay: float) -> None:
        self._plan.retry_at = self.ticker.monotonic() + delay
        next_try = None if math.isinf(delay) else self.clock.now() + timedelta(seconds=delay)
        self._publish(phase=phase, error=error, error_code=code, next_try=next_try,
                      failures=self._status.failures + 1, done=0, total=0)

    def _enroll(self, station: Station, job: _EnrollJob) -> None:
        if not job.result.set_running_or_notify_cancel():
            return
        try:
            if job.meant_for not in (None, station.info.code):
                raise InvalidInput(field="code", label="注册码", reason=(
                    f"这是发给站点 {job.meant_for} 的注册码，本站是 {station.info.code}"))
            with self._lock:
                transport = self.connect(job.server)
                station.actor = job.actor
                try:
                    found = enroll(station, transport, job.code)
                finally:
                    station.actor = "system"
                    transport.close()
        except BaseException as exc:  # the person who typed the code is told, next to it
            job.result.set_exception(exc)
            return
        self._look(station)  # enrolled: IDLE, and the first session is due at once
        job.result.set_result(found)

    # ------------------------------------------------------------ telling

    def _publish(self, **changes: object) -> None:
        with self._cv:
            old = self._status
            new = replace(old, **changes)  # type: ignore[arg-type]
            if new == old:
                return
            self._status = new
        if self.listener is not None:
            try:
                self.listener(new)
            except Exception:  # whoever listens must not stop the worker
                logger.exception("auto-sync listener failed")


def recover_replacement(folder: Path, server: str, code: str | None, *,
                        station_code: str | None, clock: Clock,
                        keys_from: Path | None = None) -> RecoveryReport:
    """``station recover`` for the app's first-run screen (ui/views/restore.py), which
    reaches the county only through this module; blocking: call it on a worker thread."""
    with HttpTransport(server) as transport:
        return recover(folder, transport, code, clock=clock, actor="system",
                       station_code=station_code, keys_from=keys_from)
