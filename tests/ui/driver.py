"""The app under test: one data folder, the real Flet app on it, and the checks most UI tests
share (who signs in, what was printed, what the log recorded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from station_app.domain.log import LogEntry
from station_app.services.demo import DEMO_USERS
from station_app.services.printing import printers
from station_app.services.station import Station
from station_app.services.users import users
from station_app.ui.app import make_main
from tests.ui.harness import FletHarness

PINS = {name: pin for name, _, pin in DEMO_USERS}
SAVED_AS_PDF = "本机没有可用的打印机，已保存为 PDF"
NO_PRINTER_CHOSEN = "未选择打印机（请在“设置”中选择），已保存为 PDF"
# 张三丰's ID number (valid check digit X), and the same number with a wrong last digit.
GOOD_ID = "11010519491231002X"
BAD_ID = "110105194912310021"

# The menu as each role sees it.
MENU_AGENT = ["首页", "代办登记", "代办台账", "办件", "七有自查"]
MENU_CLERK = ["首页", "代办台账", "收件", "办件", "差评整改", "七有自查"]
MENU_ADMIN = ["首页", "代办登记", "代办台账", "收件", "办件", "差评整改", "七有自查", "设置"]


class App:
    """The desktop app on one data folder, driven through the in-process harness."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.harnesses: list[FletHarness] = []

    async def start(self, **options: Any) -> FletHarness:
        """Open the window: ``make_main(folder, demo=True, **options)``."""
        options.setdefault("demo", True)
        h = await FletHarness.start(make_main(self.folder, **options))
        self.harnesses.append(h)
        return h

    async def sign_in(self, name: str, **options: Any) -> FletHarness:
        """Open the window and sign in as a demo user; checks the home screen got out."""
        h = await self.start(**options)
        mark = h.mark()
        await enter_pin(h, self.user_id(name), PINS[name])
        assert h.crashed() is None
        assert h.find_by_key("home_title").value == f"您好，{name}"
        assert f"您好，{name}" in h.sent_strings(since=mark)
        return h

    def user_id(self, name: str) -> str:
        with self.station() as st:
            return next(u.user_id for u in users(st) if u.name == name)

    @contextmanager
    def station(self) -> Iterator[Station]:
        """The station's services on the same folder, to check what the UI recorded."""
        with Station.open(self.folder) as st:
            yield st

    def log_size(self) -> int:
        with self.station() as st:
            return st.ledger.size()

    def entries_since(self, start: int, kind: str | None = None) -> list[LogEntry]:
        """Log entries appended at or after ``start`` (optionally of one kind)."""
        with self.station() as st:
            return [e for e in st.entries(start) if kind is None or e.kind == kind]

    def crashes(self) -> list[str]:
        """Tracebacks of handlers that escaped the app's error boundary (should be none)."""
        return [c for h in self.harnesses if (c := h.crashed()) is not None]

    def close(self) -> None:
        for h in self.harnesses:
            h.close()


async def enter_pin(h: FletHarness, user_id: str, pin: str) -> None:
    """Click your name, type the PIN, press Enter."""
    await h.click(h.find_by_key(f"signin_user_{user_id}"))
    field = h.find_by_key("signin_pin")
    await h.enter_text(field, pin)
    await h.submit(field)


async def go_to(h: FletHarness, label: str) -> None:
    """Click a menu entry by its label."""
    rail = h.find_by_key("menu")
    labels = [d.label for d in rail.destinations]
    await h.choose_menu(rail, labels.index(label))
    assert h.crashed() is None


def menu_labels(h: FletHarness) -> list[str]:
    return [d.label for d in h.find_by_key("menu").destinations]


def check_printed(h: FletHarness, app: App, *, since_entry: int, since_mark: int,
                  kind: str, subject: str) -> LogEntry:
    """The 'printed' dialog names the new document's number, the client got it, the PDF is in
    DIR/documents and the log has its ``doc.issued`` entry; returns that entry."""
    issued = [e for e in app.entries_since(since_entry, "doc.issued")
              if e.body["kind"] == kind and e.body["subject"] == subject]
    assert len(issued) == 1, f"expected one {kind} for {subject}"
    doc_no = issued[0].body["doc_no"]
    dialog = h.dialog("printed")
    assert doc_no in dialog.title.value
    where = h.find_by_key("printed_where").value
    if issued[0].body["printer"]:
        assert where == f"已送打印机“{issued[0].body['printer']}”", where
    elif printers().names:  # queues exist but none is the default or chosen in 设置
        assert where == NO_PRINTER_CHOSEN, where
    else:
        assert where == SAVED_AS_PDF, where
    assert doc_no in h.sent_strings(since=since_mark)
    pdf = app.folder / "documents" / issued[0].body["issued_on"][:4] / issued[0].body["file"]
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    return issued[0]
