"""End-to-end fixtures: the real app served in web mode, driven through the real Flutter web
client in Chromium (Playwright), plus the helpers every flow uses.

Flutter draws on a canvas; there is no DOM to click until the accessibility (semantics) tree is
switched on, which ``open_app`` does. After that a TextField is an ``<input>`` named after its
label, a button is ``role=button`` named after its caption, and a modal dialog hides the page
below it from the tree (close it before asserting on the page again).

Chromium missing → the web tests skip, unless ``STATION_REQUIRE_E2E=1`` (CI), then they fail.
On a failed test a screenshot and the semantics text land in ``tests/e2e/artifacts/``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from station_app.services.demo import ensure_demo
from tests.e2e.desktop import stop_group

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = E2E_DIR / "artifacts"
BIN = Path(sys.executable).parent
STATION_APP = str(BIN / "station-app") if (BIN / "station-app").exists() else "station-app"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                 "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}
DEMO_SEED = 20262
DEMO_CASES = 20
START_TIMEOUT = 60.0  # seconds for the server to answer
UI = 15_000  # ms: a screen or a dialog appearing (Flutter compiles wasm on first load)
PRINTING = 30_000  # ms: rendering the PDF in a worker thread, then the "printed" dialog
DOC_NO = r"〔\d{4}〕\d+号"  # 青石镇代〔2026〕1号


def require(what: str, present: bool, env: str) -> None:
    """Skip when a tool is missing, or fail when ``env`` says this machine must have it."""
    if present:
        return
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is missing, but {env}=1 says these tests must run here")
    pytest.skip(f"{what} is missing (set {env}=1 to make this a failure)")


# --------------------------------------------------------------------------- the station


@pytest.fixture(scope="session")
def e2e_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo station, built once; every module works on its own copy."""
    folder = tmp_path_factory.mktemp("e2e-demo") / "station"
    ensure_demo(folder, cases=DEMO_CASES, seed=DEMO_SEED)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebApp:
    """``station-app --web`` on a copy of the demo station, as a process group of its own."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.folder, self.log = folder, log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> WebApp:
        if self.running:
            return self
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env["FLET_FORCE_WEB_SERVER"] = "true"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [STATION_APP, "--data", str(self.folder), "--demo", "--web",
                 "--port", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"station-app exited ({self.proc.returncode}):\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(self.url, timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"station-app did not answer within {START_TIMEOUT:.0f} s:\n"
                           + self.log_tail())

    def stop(self) -> None:
        """Terminate the whole process group (uvicorn workers included), then reap it."""
        proc, self.proc = self.proc, None
        stop_group(proc)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def _web_server(e2e_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    work = tmp_path_factory.mktemp("e2e-web")
    folder = work / "station"
    shutil.copytree(e2e_demo, folder)
    server = WebApp(folder, work / "station-app.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def web_app(_web_server: WebApp) -> WebApp:
    """The module's server, running (a test may stop it to read the folder afterwards)."""
    return _web_server.start()


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: while Playwright's sync API is running, its event loop
    # counts as running in this thread, and later tests' asyncio.run() would refuse to start.
    require(f"Chromium ({CHROMIUM}; apt-get install chromium)", os.path.exists(CHROMIUM),
            "STATION_REQUIRE_E2E")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(UI)
    tab = context.new_page()
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            save_artifacts(tab, request.node.name)
        context.close()


def save_artifacts(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
    try:
        page.screenshot(path=f"{stem}.png")
        host = page.locator("flt-semantics-host")
        if host.count():
            Path(f"{stem}.txt").write_text(host.inner_text(timeout=2000), encoding="utf-8")
    except Exception as error:  # the page may be gone; the test's own error matters more
        Path(f"{stem}.err").write_text(repr(error), encoding="utf-8")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)  # read by the page fixture's teardown
    return report


# --------------------------------------------------------------------------- helpers


def open_app(page: Page, url: str) -> None:
    """Load the app and switch Flutter's semantics tree on, so widgets become DOM nodes."""
    page.goto(url)
    page.wait_for_selector("flutter-view, flt-glass-pane", state="attached", timeout=60_000)
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    page.wait_for_selector("flt-semantics", state="attached", timeout=60_000)


# The value of the element Flutter types into, if that is ``box`` or Flutter's own editing
# element (an autofocused field is edited there, not in its semantics <input>); else null.
FOCUSED_VALUE = """box => {
    const active = document.activeElement;
    const ours = active === box || (active && active.closest("flt-text-editing-host"));
    return ours ? active.value : null;
}"""


def flet_fill(page: Page, label: str, text: str, *, exact: bool = False,
              attempts: int = 4) -> None:
    """Type into the TextField labelled ``label`` so that Flutter (and so Python) gets it.

    A bare ``fill`` can be lost: Flutter attaches to the ``<input>`` a moment after it gets
    focus, and an unfocused input's DOM value is stale. So: focus, fill, blur, refocus (Flutter
    rewrites the DOM value from its own state) and compare; try again if it did not stick.
    """
    box = page.get_by_role("textbox", name=label, exact=exact)
    for _ in range(attempts):
        box.click()
        page.wait_for_timeout(250)
        if box.evaluate(FOCUSED_VALUE) is None:
            page.wait_for_timeout(500)  # the tree was being rebuilt; try again
            continue
        page.keyboard.press("Control+a")
        box.fill(text)
        page.keyboard.press("Tab")
        page.wait_for_timeout(150)
        box.click()
        page.wait_for_timeout(250)
        if box.evaluate(FOCUSED_VALUE) == text:
            return
    raise AssertionError(f"Flutter did not accept {text!r} in the field {label!r}")


def sign_in(page: Page, who: str, pin: str) -> None:
    """On the sign-in screen: click the button ``who`` (e.g. 王丽华（代办员）), type the PIN."""
    page.get_by_role("button", name=who).click()
    expect(page.get_by_text(f"使用人：{who}")).to_be_visible()
    flet_fill(page, "PIN 码", pin)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"您好，{who.split('（')[0]}")).to_be_visible()


def nav(page: Page, label: str) -> None:
    """Click an entry of the menu on the left (its name is "label Tab n of m")."""
    page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}(\s|$)")).click()


def pick_item(page: Page, query: str, name: str) -> None:
    """Find a catalog item by name, code or pinyin initials and click it."""
    flet_fill(page, "查找事项", query)
    page.get_by_role("button", name=name).first.click()
    expect(page.get_by_text(f"已选：{name}")).to_be_visible()


def expect_printed(page: Page, kind: str) -> str:
    """Wait for the "printed" dialog of a ``kind`` document, close it, return its number."""
    title = page.get_by_text(re.compile(rf"^{re.escape(kind)}.*{DOC_NO}"))
    expect(title).to_be_visible(timeout=PRINTING)
    number = re.search(rf"\S*{DOC_NO}", title.inner_text())
    assert number is not None
    page.get_by_role("alertdialog").get_by_role("button", name="关闭").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    return number.group(0)
