"""Drive the real Flet session in-process: no Flutter client, no window, no network.

It does what Flet's socket server does when a client registers — creates a ``Session`` on a
connection, runs the app's ``main(page)`` — and then plays the client: typing is a props
patch plus a ``change`` event, clicking is a ``click`` event, both dispatched through Flet's
own event path (auto-update, diff, patch). Every outgoing message is msgpack-encoded exactly
as the socket server does, because Flet records its diff snapshots while encoding; the
encoded bytes also let a test assert that a change really reached the client.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flet as ft
import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page, context
from flet.messaging.connection import Connection
from flet.messaging.protocol import (
    ClientAction,
    ClientMessage,
    RegisterClientResponseBody,
    configure_encode_object_for_msgpack,
)
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub


class RecordingConnection(Connection):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=2)
        self.pubsubhub = PubSubHub(loop=loop, executor=self.executor)
        self.page_url = "http://127.0.0.1/test"
        self.messages: list[ClientMessage] = []
        self.wire: list[bytes] = []
        self._encode = configure_encode_object_for_msgpack(BaseControl)

    def send_message(self, message: ClientMessage) -> None:
        self.wire.append(msgpack.packb([message.action, message.body], default=self._encode))
        self.messages.append(message)


class FletHarness:
    def __init__(self, session: Session, conn: RecordingConnection) -> None:
        self.session = session
        self.conn = conn
        self.page: ft.Page = session.page

    @classmethod
    async def start(cls, main: Callable[[ft.Page], Any], *, width: int = 1366,
                    height: int = 768) -> FletHarness:
        conn = RecordingConnection(asyncio.get_running_loop())
        session = Session(conn)
        session.apply_page_patch({"route": "/", "width": width, "height": height,
                                  "platform": "linux", "web": False})
        conn.send_message(ClientMessage(ClientAction.REGISTER_CLIENT, RegisterClientResponseBody(
            session_id=session.id, page_patch=session.get_page_patch(), error="")))
        _context_page.set(session.page)
        context.reset_auto_update()
        result = main(session.page)
        if inspect.isawaitable(result):
            await result
        await session.after_event(session.page)
        return cls(session, conn)

    def close(self) -> None:
        self.conn.executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ finding

    def controls(self) -> Iterator[BaseControl]:
        """Every control reachable from the page, the overlay and the open dialogs."""
        seen: set[int] = set()
        stack: list[Any] = [self.page, self.page._overlay, self.open_dialogs()]
        while stack:
            node = stack.pop()
            if isinstance(node, BaseControl):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                yield node
                stack.extend(_children(node))
            elif isinstance(node, list | tuple):
                stack.extend(node)

    def find_by_key(self, key: str) -> Any:
        found = [c for c in self.controls() if _key(c) == key]
        if not found:
            raise AssertionError(f"no control with key {key!r}")
        return found[0]

    def has_key(self, key: str) -> bool:
        return any(_key(c) == key for c in self.controls())

    def keys(self, prefix: str = "") -> list[str]:
        """The keys on screen that start with ``prefix``, sorted."""
        return sorted(k for c in self.controls() if (k := _key(c)) and k.startswith(prefix))

    def find_all(self, kind: type) -> list[Any]:
        return [c for c in self.controls() if isinstance(c, kind)]

    def open_dialogs(self) -> list[Any]:
        """Dialogs and snack bars on screen, oldest first."""
        return [d for d in self.page._dialogs.controls if d.open]

    def dialog(self, key: str) -> Any:
        """The newest open dialog with this key."""
        for d in reversed(self.open_dialogs()):
            if _key(d) == key:
                return d
        raise AssertionError(f"no open dialog {key!r}; open: "
                             f"{[_key(d) for d in self.open_dialogs()]}")

    def has_dialog(self, key: str) -> bool:
        return any(_key(d) == key for d in self.open_dialogs())

    def toasts(self) -> list[str]:
        """The messages of the snack bars on screen (the newest last)."""
        return [d.content.value for d in self.open_dialogs()
                if isinstance(d, ft.SnackBar) and isinstance(d.content, ft.Text)]

    async def close_dialogs(self) -> None:
        """What the user does by pressing Esc / waiting for the bars to go."""
        for d in self.open_dialogs():
            d.open = False
        self.page._dialogs.update()
        await self._client_dismisses()

    def texts(self) -> list[str]:
        """All visible strings: Text values, labels, button captions, field values, errors."""
        out: list[str] = []
        for c in self.controls():
            for attr in ("value", "label", "content", "text", "error", "error_text", "hint_text"):
                v = getattr(c, attr, None)
                if isinstance(v, str) and v:
                    out.append(v)
        return out

    def page_text(self) -> str:
        return "\n".join(self.texts())

    # ------------------------------------------------------------------ acting

    # Every action first checks that the control was sent to the client: Flet silently
    # ignores events for controls it never indexed, and a user cannot touch what is not shown.

    async def enter_text(self, control: Any, text: str) -> None:
        self._patch(control, {"value": text})
        await self._event(control, "change", text)

    async def submit(self, control: Any) -> None:
        await self._event(control, "submit", None)

    async def click(self, control: Any) -> None:
        await self._event(control, "click", None)

    async def select(self, control: Any, value: str) -> None:
        self._patch(control, {"value": value})
        await self._event(control, "select", value)

    async def tick(self, checkbox: Any, value: bool = True) -> None:
        self._patch(checkbox, {"value": value})
        await self._event(checkbox, "change", str(value).lower())

    async def choose_menu(self, rail: Any, index: int) -> None:
        """Click a NavigationRail destination."""
        self._patch(rail, {"selected_index": index})
        await self._event(rail, "change", str(index))

    async def fire(self, control: Any, event: str, data: Any = None) -> None:
        await self._event(control, event, data)

    def _patch(self, control: Any, patch: dict[str, Any]) -> None:
        self._require_on_client(control)
        self.session.apply_patch(control._i, patch)

    async def _event(self, control: Any, event: str, data: Any) -> None:
        self._require_on_client(control)
        await self.session.dispatch_event(control._i, event, data)
        await self._client_dismisses()

    def _require_on_client(self, control: Any) -> None:
        if self.session.index.get(control._i) is not control:
            raise AssertionError(f"{type(control).__name__} {_key(control)!r} is not on the "
                                 "client (never sent, or removed)")

    async def _client_dismisses(self) -> None:
        """A closed dialog is dismissed by the client, which tells the server (on_dismiss)."""
        for d in list(self.page._dialogs.controls):
            if not d.open and self.session.index.get(d._i) is d:
                await self.session.dispatch_event(d._i, "dismiss", None)

    async def settle(self, seconds: float = 0.05, rounds: int = 40) -> None:
        """Let background work (threads, tasks) finish and its updates go out."""
        for _ in range(rounds):
            await asyncio.sleep(seconds)

    # ------------------------------------------------------------------ checking

    def crashed(self) -> str | None:
        """The traceback text if a handler escaped the app's error boundary."""
        for m in self.conn.messages:
            if m.action == ClientAction.SESSION_CRASHED:
                return str(m.body)
        return None

    def mark(self) -> int:
        return len(self.conn.wire)

    def sent_strings(self, since: int = 0) -> str:
        """Every string sent to the client after ``since``, joined: proof a change got out."""
        out: list[str] = []
        for blob in self.conn.wire[since:]:
            _strings(msgpack.unpackb(blob, raw=False, strict_map_key=False), out)
        return "\n".join(out)


def ui_test(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an ``async def`` test on a fresh event loop (no pytest plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def _key(control: Any) -> str | None:
    key = getattr(control, "key", None)
    return getattr(key, "value", key) if key is not None else None


def _children(node: BaseControl) -> list[Any]:
    out: list[Any] = []
    for name in getattr(node, "__dataclass_fields__", {}):
        if name.startswith("_") or name in ("parent", "page"):
            continue
        try:
            value = getattr(node, name)
        except Exception:  # some properties need a live client
            continue
        if isinstance(value, BaseControl | list | tuple):
            out.append(value)
    return out


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out)
