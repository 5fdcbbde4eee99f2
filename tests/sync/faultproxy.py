"""A Toxiproxy-like TCP proxy for the sync fault tests: asyncio, 127.0.0.1 only.

    proxy = FaultProxy(server_port).start()          # then talk to proxy.url
    proxy.set(Latency(600, jitter=300), Bandwidth(8_000))
    proxy.set(DropResponse(path=b"/add-entries", status=200, times=1))
    proxy.clear(); proxy.stop()

The proxy reads whole HTTP/1.1 messages (requests up, responses down, framed by
Content-Length) so a fault can aim at one request: ``path`` matches the request line,
``skip`` lets that many matching messages through first, ``times`` limits how many are hit.
Byte-level toxics (latency, bandwidth, slicer) shape every message in their direction.
Toxics take effect at once, on open connections too; ``stats`` counts bytes on the wire.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

UP, DOWN, BOTH = "up", "down", "both"  # up: client → server


@dataclass
class Toxic:
    direction: str = UP
    path: bytes | None = None  # substring of the request line, e.g. b"/add-entries"
    skip: int = 0
    times: int | None = None

    def hits(self, direction: str, request_line: bytes) -> bool:
        if self.direction not in (direction, BOTH) or self.times == 0:
            return False
        if self.path is not None and self.path not in request_line:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is not None:
            self.times -= 1
        return True

    def filter(self, data: bytes, link: Link) -> bytes:
        return data


@dataclass
class LimitData(Toxic):
    """Forward the first ``n`` bytes of a matching message, then close the connection."""
    n: int = 0
    reset: bool = False

    def filter(self, data: bytes, link: Link) -> bytes:
        link.end = "reset" if self.reset else "close"
        return data[:self.n]


@dataclass
class ResetPeer(LimitData):
    """TCP RST (connection reset by peer) after ``n`` bytes of a matching message."""
    reset: bool = True


@dataclass
class Hang(Toxic):
    """Swallow matching messages and keep the connection open (Toxiproxy ``timeout=0``)."""
    direction: str = BOTH

    def filter(self, data: bytes, link: Link) -> bytes:
        return b""


@dataclass
class DropResponse(Toxic):
    """The server handles the request; its answer is dropped and the connection closed."""
    direction: str = DOWN
    status: int | None = None

    def filter(self, data: bytes, link: Link) -> bytes:
        if self.status is not None and not data.startswith(b"HTTP/1.1 %d " % self.status):
            if self.times is not None:
                self.times += 1  # not the answer we were waiting for: give the hit back
            return data
        link.end = "close"
        return b""


@dataclass
class Duplicate(Toxic):
    """Deliver each matching request twice; the client sees the answer to the second."""

    def filter(self, data: bytes, link: Link) -> bytes:
        link.discard += 1
        link.requests.append(link.requests[-1])
        return data + data


@dataclass
class FlipBit(Toxic):
    """Flip one bit of a matching request's body, ``offset`` bytes into it."""
    offset: int = 0

    def filter(self, data: bytes, link: Link) -> bytes:
        at = min(data.find(b"\r\n\r\n") + 4 + self.offset, len(data) - 1)
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@dataclass
class Latency(Toxic):
    """Delay each message by ``ms`` ± ``jitter`` ms (pipelined, order kept)."""
    ms: float = 0
    jitter: float = 0
    direction: str = DOWN
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def delay(self) -> float:
        return max(0.0, self.ms + self.rng.uniform(-self.jitter, self.jitter)) / 1000


@dataclass
class Bandwidth(Toxic):
    """At most ``rate`` bytes per second."""
    rate: int = 8_000
    direction: str = BOTH


@dataclass
class Slicer(Toxic):
    """Cut messages into ``size``-byte pieces sent ``delay`` seconds apart."""
    size: int = 64
    delay: float = 0.0005
    direction: str = BOTH


@dataclass
class Link:
    """One client connection and its upstream twin."""
    requests: deque[bytes] = field(default_factory=deque)  # request lines awaiting answers
    discard: int = 0  # answers to duplicated requests the client must not see
    end: str | None = None  # "close" or "reset" once a toxic cut the connection
    due: dict[str, float] = field(default_factory=lambda: {UP: 0.0, DOWN: 0.0})


@dataclass
class Stats:
    connections: int = 0
    requests: int = 0  # HTTP requests delivered to the server: round trips
    up: int = 0  # bytes delivered to the server
    down: int = 0  # bytes delivered to the client


def message_length(buf: bytes | bytearray) -> int | None:
    """Length of the first whole HTTP message in ``buf`` (None: not all there yet)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    length = 0
    for line in bytes(buf[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    total = head_end + 4 + length
    return total if len(buf) >= total else None


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.toxics: tuple[Toxic, ...] = ()
        self.stats = Stats()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, *toxics: Toxic) -> None:
        self.toxics = toxics

    def clear(self) -> None:
        self.toxics = ()

    def start(self) -> FaultProxy:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self._loop).result(10)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.01)  # let the transports finish closing
        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _accept(self, client_r: asyncio.StreamReader,
                      client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._link(client_r, client_w)
        except asyncio.CancelledError:
            pass  # stop(): end quietly (asyncio logs a connection task that ends cancelled)
        finally:
            self._tasks.discard(task)

    async def _link(self, client_r: asyncio.StreamReader,
                    client_w: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:  # the server is down (killed): the client sees the link close
            client_w.close()
            return
        link = Link()
        pumps = [asyncio.create_task(self._pump(client_r, server_w, link, UP)),
                 asyncio.create_task(self._pump(server_r, client_w, link, DOWN))]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if link.end == "reset":  # SO_LINGER 0: close() sends RST instead of FIN
                sock = client_w.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            for writer in (client_w, server_w):
                writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    link: Link, direction: str) -> None:
        buf = bytearray()
        while link.end is None:
            chunk = await reader.read(65536)
            arrived = time.monotonic()
            buf += chunk
            while link.end is None and (size := message_length(buf) or (0 if chunk else
                                                                       len(buf))):
                message, buf = bytes(buf[:size]), buf[size:]
                await self._deliver(message, writer, link, direction, arrived)
            if not chunk:
                return

    async def _deliver(self, data: bytes, writer: asyncio.StreamWriter, link: Link,
                       direction: str, arrived: float) -> None:
        if direction == UP:
            link.requests.append(data.split(b"\r\n", 1)[0])
            line = link.requests[-1]
            self.stats.requests += 1
        else:
            line = link.requests.popleft() if link.requests else b""
            if link.discard:
                link.discard -= 1
                return
        toxics = self.toxics
        for toxic in toxics:
            if link.end is None and toxic.hits(direction, line):
                data = toxic.filter(data, link)
        await self._shape(data, writer, link, direction, arrived, toxics)

    async def _shape(self, data: bytes, writer: asyncio.StreamWriter, link: Link,
                     direction: str, arrived: float, toxics: tuple[Toxic, ...]) -> None:
        mine = [t for t in toxics if t.direction in (direction, BOTH)]
        delay = sum(t.delay() for t in mine if isinstance(t, Latency))
        link.due[direction] = max(link.due[direction], arrived + delay)
        await asyncio.sleep(max(0.0, link.due[direction] - time.monotonic()))
        slicer = next((t for t in mine if isinstance(t, Slicer)), None)
        rate = min((t.rate for t in mine if isinstance(t, Bandwidth)), default=None)
        piece = min(slicer.size if slicer else len(data) or 1, rate // 20 if rate else 1 << 30)
        for at in range(0, len(data), max(piece, 1)):
            part = data[at:at + piece]
            writer.write(part)
            await writer.drain()
            if direction == UP:
                self.stats.up += len(part)
            else:
                self.stats.down += len(part)
            pause = (len(part) / rate if rate else 0) + (slicer.delay if slicer else 0)
            if pause:
                await asyncio.sleep(pause)
