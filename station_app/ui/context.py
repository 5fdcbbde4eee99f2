"""What every screen shares: the open station, who is signed in, navigation, and the one error
boundary every event handler goes through.

The boundary (``AppContext.guard``) turns a ``StationError`` into its Chinese message, shown
next to the field it names when the screen registered that field, otherwise in a bar at the
bottom of the window. Anything else is written to ``DIR/logs/ui-errors.log`` and the user
sees "系统内部错误，已记录（编号 …）" — never a traceback. Long work (printing, rendering)
runs off the UI loop in a thread with its own database connection; so does sync, in the
background scheduler (``sync.auto``) started when the station is opened, whose changes reach
the screen through ``page.run_task`` (Flet's way to touch the page from another thread).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import flet as ft

from station_app.domain.users import User
from station_app.errors import StationError
from station_app.services.clock import Clock, SystemClock
from station_app.services.station import Station
from station_app.ui import theme
from sync.auto import AutoSync, Phase, SyncStatus, Timing

T = TypeVar("T")
Handler = Callable[[Any], Any]
SyncView = Callable[[SyncStatus], None]
LOCK_AFTER_SECONDS = 5 * 60
# Checks shared with the command line name their field after what they check (an ID number,
# a mobile number); on screen that is the 证件号码 or 电话 field.
FIELD_ALIASES = {"id_no": "cert_no", "mobile": "phone"}


class AppContext:
    def __init__(self, page: ft.Page, folder: Path, *, clock: Clock | None = None,
                 demo: bool = False, lock_after: float = LOCK_AFTER_SECONDS,
                 sync_timing: Timing | None = None) -> None:
        self.page = page
        self.folder = Path(folder)
        self.clock = clock or SystemClock()
        self.demo = demo
        self.lock_after = lock_after
        self.station: Station | None = None
        self.user: User | None = None
        self.last_active = time.monotonic()
        self.show: Callable[..., None] = lambda *a, **k: None  # set by the shell
        self.on_lock: Callable[[], None] = lambda: None
        self.logger = _error_log(self.folder)
        self.sync_timing = sync_timing
        self.sync: AutoSync | None = None
        self._sync_views: dict[str, SyncView] = {}  # slot → what shows the sync state there
        self._sync_pending = False
        # The county-auditor role (views/county_dashboard.py): the server to offer on its
        # sign-in screen (``station-app --county URL``), the shell's way to open that screen,
        # and the signed-in auditor's session (its token lives only in memory, there).
        self.county_server = ""
        self.open_county: Callable[[str], None] = lambda server: None
        self.county: Any = None

    # ------------------------------------------------------------------ the station

    def open(self) -> Station:
        self.station = Station.open(self.folder, clock=self.clock, actor=self.actor)
        self.start_sync()
        return self.station

    @property
    def actor(self) -> str:
        return self.user.user_id if self.user else "system"

    def sign_in(self, user: User) -> None:
        self.user = user
        if self.station is not None:
            self.station.actor = user.user_id
        self.touch()

    def now(self) -> datetime:
        return self.clock.now()

    # ------------------------------------------------------------------ the boundary

    def guard(self, handler: Handler, fields: Mapping[str, ft.Control] | None = None) -> Handler:
        """Wrap an event handler so no exception reaches Flet (and so the user)."""

        async def wrapped(event: Any = None) -> None:
            self.touch()
            for control in (fields or {}).values():
                _set_error(control, None)
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except StationError as error:
                self.report(error, fields)
            except Exception:  # the boundary: log it, never show the user a traceback
                self.internal_error()
            if self.sync is not None:
                self.sync.changed()  # the log may have grown: sync it soon

        return wrapped

    def report(self, error: StationError, fields: Mapping[str, ft.Control] | None = None) -> None:
        name = error.field or ""
        control = (fields or {}).get(name) or (fields or {}).get(FIELD_ALIASES.get(name, ""))
        if control is not None:
            _set_error(control, error.text)
        else:
            self.toast(error.text, error=True)

    def internal_error(self) -> str:
        ref = uuid.uuid4().hex[:8]
        self.logger.error("internal error %s\n%s", ref, traceback.format_exc())
        self.toast(f"系统内部错误，已记录（编号 {ref}），请联系技术支持", error=True)
        return ref

    def toast(self, message: str, *, error: bool = False) -> None:
        bar = ft.SnackBar(ft.Text(message, size=theme.BODY, key="toast_text"),
                          bgcolor=theme.OVERDUE if error else None, duration=6000, key="toast")
        self.page.show_dialog(bar)

    # ------------------------------------------------------------------ background work

    async def background(self, work: Callable[[Station], T]) -> T:
        """Run ``work`` in a worker thread on its own connection to the station database."""
        folder, clock, actor = self.folder, self.clock, self.actor

        def run() -> T:
            with Station.open(folder, clock=clock, actor=actor) as own:
                return work(own)

        return await asyncio.to_thread(run)

    async def in_thread(self, work: Callable[[], T]) -> T:
        """Run blocking work that needs no station (the county dashboard's HTTP calls) in a
        worker thread, so the window stays responsive."""
        return await asyncio.to_thread(work)

    def release_log(self) -> None:
        """Close the error log's file (it reopens on the next error): restoring moves the
        data folder's ``logs/``, and Windows cannot move a folder with a file open in it."""
        for handler in self.logger.handlers:
            handler.close()

    def run(self, job: Callable[[], Awaitable[None]]) -> None:
        self.page.run_task(job)

    # ------------------------------------------------------------------ sync

    def start_sync(self) -> None:
        """Start the background scheduler (once): it syncs now, then by itself."""
        if self.sync is None:
            self.sync = AutoSync(self.folder, clock=self.clock, listener=self._sync_changed,
                                 timing=self.sync_timing)
            self.sync.start()

    def sync_status(self) -> SyncStatus:
        return self.sync.status if self.sync else SyncStatus(phase=Phase.NOT_ENROLLED)

    def show_sync(self, slot: str, view: SyncView | None) -> None:
        """Keep ``view`` up to date with each later change of the sync state ("bar": the
        status bar; "screen": the screen in the body, replaced with it)."""
        if view is None:
            self._sync_views.pop(slot, None)
        else:
            self._sync_views[slot] = view

    def close(self) -> None:
        if self.sync is not None:
            self.sync.stop(timeout=0)  # a session under way finishes on its own thread
        if self.county is not None:  # the auditor's connection (and token) go with the window
            self.county.close()
            self.county = None

    def _sync_changed(self, _: SyncStatus) -> None:
        """Called on the scheduler's thread: hand over to the page's loop."""
        if self._sync_pending:
            return  # a hand-over is queued; it will read the newest state
        try:
            if self.page.loop.is_closed():
                raise RuntimeError("the window is gone")
            self._sync_pending = True
            self.page.run_task(self._sync_arrived)
        except AttributeError:  # a browser tab between connections: it gets the next change
            self._sync_pending = False
        except RuntimeError:  # the window (session) is gone: nobody to tell any more
            self._sync_pending = False
            self.close()

    async def _sync_arrived(self) -> None:
        self._sync_pending = False  # before reading: a later change queues another hand-over
        status = self.sync_status()
        for view in list(self._sync_views.values()):
            try:
                view(status)
            except Exception:  # a view's fault must not stop the others from updating
                self.logger.error("sync view failed\n%s", traceback.format_exc())
        self.page.update()

    # ------------------------------------------------------------------ inactivity lock

    def touch(self) -> None:
        self.last_active = time.monotonic()

    def idle_for(self) -> float:
        return time.monotonic() - self.last_active

    async def watch_idle(self, every: float = 10.0) -> None:
        while True:
            await asyncio.sleep(every)
            if self.user is not None and self.idle_for() > self.lock_after:
                self.lock()

    def lock(self) -> None:
        self.on_lock()


def _set_error(control: ft.Control, text: str | None) -> None:
    if isinstance(control, ft.Dropdown):
        control.error_text = text
    elif isinstance(control, ft.Text):  # a plain line that holds the message (in a dialog)
        control.value = text or ""
    elif hasattr(control, "error"):
        control.error = text


def _error_log(folder: Path) -> logging.Logger:
    logger = logging.getLogger(f"station_app.ui.{folder}")
    if not logger.handlers:
        try:
            (folder / "logs").mkdir(parents=True, exist_ok=True)
            logger.addHandler(logging.FileHandler(folder / "logs" / "ui-errors.log",
                                                  encoding="utf-8"))
        except OSError:
            logger.addHandler(logging.NullHandler())
        logger.propagate = False
    return logger
