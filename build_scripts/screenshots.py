"""Screenshots of the main screens, taken from the real desktop client at 1366×768.

    .venv/bin/python build_scripts/screenshots.py            # → docs/screens/*.png

Runs the app on a fresh demo station under a private Xvfb (needs Xvfb, xdotool, ImageMagick,
xclip: see .ci/run), signs in as each demo user with the keyboard and clicks through the menu.
The menu's positions are computed from the app's own menu table, so a new entry does not
shift the pictures; other clicks use coordinates measured at 1366×768. Look at every picture
after a layout change.

The demo station is enrolled with a county server run by this script on 127.0.0.1 (its own
keys and database in the work folder), so the status bar and 设置 › 县级服务器 (sync.png)
show a station that syncs.
"""

from __future__ import annotations

import argparse
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
from station_app.services.demo import DEMO_USERS, ensure_demo  # noqa: E402
from station_app.services.station import Station  # noqa: E402
from station_app.ui.app import MENU  # noqa: E402
from sync.county.keys import init_keys  # noqa: E402
from sync.county.service import County  # noqa: E402
from sync.county.store import CountyDb  # noqa: E402
from tests.e2e.desktop import (  # noqa: E402
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


@contextmanager
def county_for(station_folder: Path, work: Path) -> Iterator[None]:
    """A county server on 127.0.0.1 with the demo station enrolled (the app syncs at start)."""
    _, online = init_keys(work / "county", "county/330199", datetime.now(CST).isoformat())
    db = CountyDb(str(work / "county" / "county.db"))
    county = County(db, online, lambda: datetime.now(CST))
    server = serve(county)
    try:
        with Station.open(station_folder) as st:
            enroll_station(st, county, server.url)
        yield
    finally:
        server.stop()
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (debugging)")
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
            with county_for(work / "station", work):
                app = DesktopApp(screen, work / "station", work / "station-app.log")
                app.wait_window()
                tour(app, args.out, work)
        finally:
            if app is not None:
                app.stop()
            screen.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
