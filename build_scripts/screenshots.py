"""Screenshots of the main screens, taken from the real desktop client at 1366×768.

    .venv/bin/python build_scripts/screenshots.py            # → docs/screens/*.png

Runs the app on a fresh demo station under a private Xvfb (needs Xvfb, xdotool, ImageMagick,
xclip: see .ci/run), signs in as each demo user with the keyboard and clicks through the menu.
The menu's positions are computed from the app's own menu table, so a new entry does not
shift the pictures; other clicks use coordinates measured at 1366×768. Look at every picture
after a layout change.

The demo station is enrolled with a county server run by this script on 127.0.0.1 (its own
keys and database in the work folder), so the status bar and 设置 › 县级服务器 (sync.png)
show a station that syncs. Last, a county auditor signs in from the sign-in screen with a
token the script makes (county-overview.png, county-station.png; ``--only-county`` takes
just those two). A new PC's first run comes after (``--only-first-run`` takes just these):
the set-up screen (first-run.png), 从备份恢复 of the demo station's backup on a fake U盘
(restore-done.png) and 更换电脑恢复 with a replacement code from the county
(recovery-report.png).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station_app.domain.clock import CST  # noqa: E402
from station_app.domain.users import Role  # noqa: E402
from station_app.services.backup import backup_station  # noqa: E402
from station_app.services.demo import DEMO_USERS, ensure_demo  # noqa: E402
from station_app.services.station import Station  # noqa: E402
from station_app.ui.app import MENU  # noqa: E402
from sync.client import HttpTransport  # noqa: E402
from sync.county.keys import init_keys  # noqa: E402
from sync.county.service import County  # noqa: E402
from sync.county.store import CountyDb  # noqa: E402
from sync.station import sync_once  # noqa: E402
from tests.e2e.desktop import (  # noqa: E402
    STATION_APP,
    DesktopApp,
    Screen,
    missing_tools,
    sign_in_by_keyboard,
)
from tests.sync.conftest import enroll_station, serve  # noqa: E402

RAIL_X, RAIL_TOP, RAIL_STEP = 48, 92, 64  # centre of the first menu entry, entry height
LOGOUT = (1329, 28)  # 退出登录, top right
HOME_FIRST_ROW = (260, 453)  # first row of the clerk's 待办 table on 首页
BODY = (800, 450)  # the middle of the screen's body, for the mouse wheel
SYNC_SECTION_WHEEL = 5  # wheel steps from the top of 设置 to 县级服务器（同步）


class Tour:
    def __init__(self, app: DesktopApp, out: Path, work: Path) -> None:
        self.app, self.out, self.work = app, out, work
        self.last = app.wait_drawn(work / "start.png")
        self.role: Role | None = None

    def save(self, name: str) -> None:
        target = self.out / f"{name}.png"
        target.write_bytes(self.last.read_bytes())
        print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")

    def settle(self, share: float = 0.02) -> None:
        """Wait for the screen to change after an action, then for it to finish drawing."""
        self.last = self.app.wait_change(self.last, self.work / f"{time.monotonic_ns()}.png",
                                         share=share)

    def sign_in(self, role: Role) -> None:
        index = next(i for i, (_, r, _) in enumerate(DEMO_USERS) if r is role)
        sign_in_by_keyboard(self.app, index, len(DEMO_USERS), DEMO_USERS[index][2])
        self.role = role
        self.settle(0.10)

    def sign_out(self) -> None:
        self.app.click(*LOGOUT)
        self.settle(0.05)

    def open(self, screen: str) -> None:
        assert self.role is not None
        menu = [m[0] for m in MENU if m[3] is None or self.role in m[3]]
        self.app.click(RAIL_X, RAIL_TOP + RAIL_STEP * menu.index(screen))
        self.settle()


def tour(app: DesktopApp, out: Path, work: Path) -> None:
    t = Tour(app, out, work)
    t.save("signin")
    t.sign_in(Role.CLERK)
    t.save("home-clerk")
    t.app.click(*HOME_FIRST_ROW)
    t.settle()
    t.save("case")
    for screen, name in (("proxy_list", "proxy-ledger"), ("receive", "receive"),
                         ("worklist", "worklist"), ("reviews", "reviews"), ("seven", "seven")):
        t.open(screen)
        t.save(name)
    t.sign_out()
    t.sign_in(Role.AGENT)
    t.open("proxy_new")
    app.type_ascii("zdsh")  # the item search has the focus; Return picks the first match
    app.keys("Return")
    t.settle()
    t.save("proxy-new")
    t.sign_out()
    t.sign_in(Role.ADMIN)
    t.open("settings")
    t.save("settings")
    t.app.screen.run("xdotool", "mousemove", *map(str, BODY), "click", "--repeat",
                     str(SYNC_SECTION_WHEEL), "--delay", "120", "5")
    t.settle(0.05)
    t.save("sync")


COUNTY_BUTTON = (420, 572)  # 县级审核登录, under the demo hint on the sign-in card
FIRST_DETAIL = (1203, 297)  # 详情 in the first row of the county overview


def county_tour(app: DesktopApp, out: Path, work: Path, url: str, token: str) -> None:
    """The county-auditor role (docs/dashboard.md): from the station's sign-in screen."""
    t = Tour(app, out, work)
    t.app.click(*COUNTY_BUTTON)
    t.settle()
    t.app.paste(url)  # the address field has the focus
    t.app.keys("Tab")
    t.app.paste(token)
    t.app.keys("Return")
    t.settle(0.10)
    t.save("county-overview")
    t.app.click(*FIRST_DETAIL)
    t.settle()
    t.save("county-station")


# The first-run screens (views/signin.py setup_wizard, views/restore.py), at 1366×768
SETUP_RESTORE = (407, 671)  # 从备份恢复, under the set-up form
SETUP_RECOVER = (603, 671)  # 更换电脑恢复（县级批准）
RESTORE_PASS = (600, 465)  # the passphrase field (the U盘's newest backup is picked)
RECOVER_SERVER = (600, 240)  # 县级服务器地址; Tab goes on to the code, then the station code
RECOVER_GO = (400, 634)  # 开始恢复
SHOTS_PASS = "dongkeng 2026 backup"


class FirstRunApp(DesktopApp):
    """``station-app --data FOLDER`` on a new PC's empty folder (no --demo), with
    ``$STATION_REMOVABLE_DIRS`` naming the fake U盘."""

    def __init__(self, screen: Screen, folder: Path, log: Path, usb: Path) -> None:
        self.screen, self.log = screen, log
        env = {**screen.env, "STATION_REMOVABLE_DIRS": str(usb)}
        with log.open("ab") as out:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [STATION_APP, "--data", str(folder)], env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.window = ""


def first_run_tour(screen: Screen, out: Path, work: Path, county: County, url: str) -> None:
    """从备份恢复 on one new PC, 更换电脑恢复 on another (the demo station is 'lost')."""
    usb = work / "usb"
    usb.mkdir(exist_ok=True)
    with Station.open(work / "station") as st:
        backup_station(st, usb, SHOTS_PASS)
        with HttpTransport(url) as transport:
            sync_once(st, transport)
        code = st.info.code
    app = FirstRunApp(screen, work / "pc-restore", work / "first-run.log", usb)
    try:
        app.wait_window()
        t = Tour(app, out, work)
        t.save("first-run")
        app.click(*SETUP_RESTORE)
        t.settle()
        app.click(*RESTORE_PASS)
        app.type_ascii(SHOTS_PASS)
        app.keys("Return")
        t.last = finished(app, work / "pc-restore", work / "restore-done.png")
        t.save("restore-done")
    finally:
        app.stop()
    ticket = county.new_ticket(code, replaces=True)  # `county enroll --station … --replaces`
    app = FirstRunApp(screen, work / "pc-recover", work / "first-run.log", usb)
    try:
        app.wait_window()
        t = Tour(app, out, work)
        app.click(*SETUP_RECOVER)
        t.settle()
        app.click(*RECOVER_SERVER)
        app.paste(url)
        app.keys("Tab")
        app.paste(ticket.code)
        app.keys("Tab")
        app.paste(code)
        time.sleep(1)
        t.last = app.screenshot(work / "recover-form.png")
        t.save("recover-form")
        app.click(*RECOVER_GO)
        t.last = finished(app, work / "pc-recover", work / "recovery-report.png")
        t.save("recovery-report")
    finally:
        app.stop()


def finished(app: DesktopApp, folder: Path, shot: Path, timeout: float = 90) -> Path:
    """The screenshot once the restore or recovery moved its folder into place (the
    report is drawn right after)."""
    deadline = time.monotonic() + timeout
    while not (folder / "station.db").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing was restored into {folder} in {timeout:.0f} s")
        time.sleep(0.25)
    time.sleep(2)
    return app.screenshot(shot)


def add_auditor(county: County) -> str:
    from sync.county.read_api import new_token, token_hash

    token = new_token()
    with county.db.write() as tx:
        tx.add_auditor("screens", token_hash(token), None, datetime.now(CST).isoformat())
    return token


@contextmanager
def county_for(station_folder: Path, work: Path) -> Iterator[tuple[County, str]]:
    """A county server on 127.0.0.1 with the demo station enrolled (the app syncs at start)."""
    _, online = init_keys(work / "county", "county/330199", datetime.now(CST).isoformat())
    db = CountyDb(str(work / "county" / "county.db"))
    county = County(db, online, lambda: datetime.now(CST))
    server = serve(county)
    try:
        with Station.open(station_folder) as st:
            enroll_station(st, county, server.url)
        yield county, server.url
    finally:
        server.stop()
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (debugging)")
    parser.add_argument("--only-county", action="store_true",
                        help="only the county auditor's screens (county-*.png)")
    parser.add_argument("--only-first-run", action="store_true",
                        help="only a new PC's first-run screens (first-run.png, "
                             "restore-done.png, recovery-report.png)")
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        print("missing tools: " + ", ".join(missing), file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screens-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ensure_demo(work / "station", cases=args.cases, seed=args.seed)
        screen = Screen(work / "xvfb.log")
        app = None
        try:
            with county_for(work / "station", work) as (county, url):
                if not args.only_first_run:
                    app = DesktopApp(screen, work / "station", work / "station-app.log")
                    app.wait_window()
                    if not args.only_county:
                        tour(app, args.out, work)
                        app.click(*LOGOUT)
                        time.sleep(2)
                    county_tour(app, args.out, work, url, add_auditor(county))
                    app.stop()
                if not args.only_county:
                    first_run_tour(screen, args.out, work, county, url)
        finally:
            if app is not None:
                app.stop()
            screen.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
