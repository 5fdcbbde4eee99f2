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
import inspect
from collections.abc import Callable, Iterator
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
        """Every control reachable from the page, dialogs and overlay included."""
        seen: set[int] = set()
        stack: list[Any] = [self.page]
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

    def find_all(self, kind: type) -> list[Any]:
        return [c for c in self.controls() if isinstance(c, kind)]

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

    async def enter_text(self, control: Any, text: str) -> None:
        self.session.apply_patch(control._i, {"value": text})
        await self.session.dispatch_event(control._i, "change", text)

    async def submit(self, control: Any) -> None:
        await self.session.dispatch_event(control._i, "submit", None)

    async def click(self, control: Any) -> None:
        await self.session.dispatch_event(control._i, "click", None)

    async def select(self, control: Any, value: str) -> None:
        self.session.apply_patch(control._i, {"value": value})
        await self.session.dispatch_event(control._i, "select", value)

    async def fire(self, control: Any, event: str, data: Any = None) -> None:
        await self.session.dispatch_event(control._i, event, data)

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
