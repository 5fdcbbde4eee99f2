"""The county's HTTP API (Starlette): a thin shell over ``County``; see docs/sync.md.

Handlers read the body (bounded), run the service call in a worker thread (the database
calls block) and turn its ``Reply`` into JSON. A failure inside the service rolls its
transaction back and answers 503, so no receipt ever goes out for something not stored.

``serve`` runs it in one process, or in several (``county serve --workers N``): checking a
package is Python work under the GIL, so each further core needs a process of its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sync.county.rating import MAX_FORM_BYTES, Page, RatingDesk
from sync.county.read_api import ROUTES as AUDIT_ROUTES
from sync.county.read_api import ReadApi
from sync.county.read_api import Request as AuditRequest
from sync.county.service import COLLECTIONS, County, Reply
from sync.protocol import PACKAGE_RAW_BYTES

App = Starlette  # what ``create_app`` makes, for callers that should not import starlette

# A package holds ≤ 4 MiB of entries before compression; zstd and HPKE add little to that.
MAX_BODY = PACKAGE_RAW_BYTES + 512 * 1024
log = logging.getLogger("county")


async def _call(fn: Callable[[], Reply]) -> Response:
    try:
        reply = await run_in_threadpool(fn)
    except Exception:  # the transaction rolled back: nothing was stored or signed
        log.exception("request failed")
        return JSONResponse({"error": "unavailable"}, status_code=503)
    return Response(reply.json(), status_code=reply.status,
                    media_type="application/json; charset=utf-8")


async def _body(request: Request) -> bytes | Response:
    """The request body, or the answer when there is none to use: larger than any valid
    request (413), or cut off by a client that went away (a dropped link: no traceback)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return _too_large()
    data = b""
    try:
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_BODY:
                return _too_large()
    except ClientDisconnect:
        return JSONResponse({"error": "malformed", "reason": "request cut short"},
                            status_code=400)
    return data


def _too_large() -> Response:
    return JSONResponse({"error": "too-large"}, status_code=413)


def _origin(request: Request) -> str:
    return unquote(request.path_params["origin"])


class CountyApi:
    """One method per route; each is a line of request parsing around a ``County`` call."""

    def __init__(self, county: County) -> None:
        self.county = county

    async def keys(self, request: Request) -> Response:
        return await _call(self.county.keyset)

    async def enroll(self, request: Request) -> Response:
        data = await _body(request)
        if isinstance(data, Response):
            return data
        return await _call(lambda: self.county.enroll(data))

    async def checkpoint(self, request: Request) -> Response:
        origin = _origin(request)
        return await _call(lambda: self.county.status(origin))

    async def add_checkpoint(self, request: Request) -> Response:
        data, origin = await _body(request), _origin(request)
        clock = request.headers.get("x-station-time")
        if isinstance(data, Response):
            return data
        return await _call(lambda: self.county.add_checkpoint(origin, data, clock))

    async def add_entries(self, request: Request) -> Response:
        data, origin = await _body(request), _origin(request)
        if isinstance(data, Response):
            return data
        return await _call(lambda: self.county.add_entries(origin, data))

    async def fill(self, request: Request) -> Response:
        log, start = _origin(request), request.query_params.get("start", "0")
        auth = {"origin": request.headers.get("x-station-origin", ""),
                "time": request.headers.get("x-station-time", ""),
                "signature": request.headers.get("x-fill-signature", "")}
        return await _call(lambda: self.county.fill(log, start, auth))

    async def publications(self, request: Request) -> Response:
        since = {c: int(v) for c in COLLECTIONS
                 if (v := request.query_params.get(c, "0")).isdigit()}
        return await _call(lambda: self.county.publications(since))

    async def station(self, request: Request) -> Response:
        code = request.path_params["code"]
        return await _call(lambda: self.county.certificate(code))

    async def relay(self, request: Request) -> Response:
        data = await _body(request)
        if isinstance(data, Response):
            return data
        return await _call(lambda: self.county.relay(data))

    async def relay_inbox(self, request: Request) -> Response:
        code, after = request.path_params["code"], request.query_params.get("after", "0")
        auth = {"origin": request.headers.get("x-station-origin", ""),
                "time": request.headers.get("x-station-time", ""),
                "signature": request.headers.get("x-relay-signature", "")}
        return await _call(lambda: self.county.relay_inbox(code, after, auth))


def create_app(county: County, folder: Path | None = None) -> Starlette:
    """The API; ``folder`` (the county folder) gives the auditors' API its thresholds and
    spot-check draws (sync/county/read_api.py)."""
    api = CountyApi(county)
    return Starlette(routes=[
        *_audit_routes(ReadApi(county, folder)),
        Route("/v1/keys", api.keys),
        Route("/v1/enroll", api.enroll, methods=["POST"]),
        Route("/v1/logs/{origin:path}/checkpoint", api.checkpoint),
        Route("/v1/logs/{origin:path}/add-checkpoint", api.add_checkpoint, methods=["POST"]),
        Route("/v1/logs/{origin:path}/add-entries", api.add_entries, methods=["POST"]),
        Route("/v1/logs/{origin:path}/entries", api.fill),
        Route("/v1/publications", api.publications),
        Route("/v1/stations/{code}", api.station),
        Route("/v1/relay", api.relay, methods=["POST"]),
        Route("/v1/relay/{code}", api.relay_inbox),
        *_rating_routes(county),
    ])


def _rating_routes(county: County) -> list[Route]:
    """The public rating page behind the 办结通知书's QR code (sync/county/rating.py);
    ``/R/`` too, because the printed URL is upper case to keep the QR code small."""
    desk = RatingDesk(county)

    async def page(result: Callable[[], Page]) -> Response:
        try:
            done = await run_in_threadpool(result)
        except Exception:
            log.exception("rating page failed")
            return HTMLResponse("<!DOCTYPE html><meta charset=\"utf-8\"><p>服务暂时不可用，"
                                "请稍后再试。</p>", status_code=503)
        return HTMLResponse(done.html, status_code=done.status,
                            headers={"cache-control": "no-store"})

    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        return await page(lambda: desk.show(token))

    async def submit(request: Request) -> Response:
        token, data = request.path_params["token"], await _small_body(request)
        if data is None:
            return await page(lambda: desk.submit(token, b"x" * (MAX_FORM_BYTES + 1)))
        return await page(lambda: desk.submit(token, data))

    return [Route(f"/{r}/{{token}}", show, methods=["GET"]) for r in "rR"] + \
        [Route(f"/{r}/{{token}}", submit, methods=["POST"]) for r in "rR"]


async def _small_body(request: Request) -> bytes | None:
    """A form's bytes, or None when larger than any form the page makes (or cut off)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    data = b""
    try:
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_FORM_BYTES:
                return None
    except ClientDisconnect:
        return None
    return data


def _audit_routes(api: ReadApi) -> list[Route]:
    """The county auditors' read API (sync/county/read_api.py), framework-free there."""

    def endpoint(name: str) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            data = await _body(request) if request.method == "POST" else b""
            if isinstance(data, Response):
                return data
            query = request.url.query
            ask = AuditRequest(
                method=request.method, path=request.url.path + (f"?{query}" if query else ""),
                query=dict(request.query_params), path_params=dict(request.path_params),
                authorization=request.headers.get("authorization", ""),
                client=request.client.host if request.client else "-", body=data)
            try:
                status, answer = await run_in_threadpool(api.answer, name, ask)
            except Exception:  # the database failed: nothing was changed
                log.exception("audit request failed")
                return JSONResponse({"error": "unavailable"}, status_code=503)
            return JSONResponse(answer, status_code=status)

        return handle

    return [Route(path, endpoint(name), methods=list(methods))
            for path, name, methods in AUDIT_ROUTES]


def serve(make_app: Callable[[], Starlette], *, host: str, port: int, workers: int = 1,
          log_level: str = "info") -> None:
    """Run the API until SIGINT/SIGTERM. ``make_app`` builds it in each process, with
    connections of its own; with several workers it must be picklable (a module-level
    function or a ``functools.partial`` of one)."""
    if workers == 1:
        _run(make_app(), host, port, log_level)
        return
    # Each worker listens on a socket of its own with SO_REUSEPORT, so the kernel spreads
    # new connections evenly. One shared socket (uvicorn's --workers) lets whichever
    # process wakes first accept a whole burst: 400 stations syncing at once left one
    # worker with two thirds of the work and the other idle.
    held = _listener(host, port)  # bound, never listening: the port is ours, or fail now
    context = multiprocessing.get_context("spawn")  # no inherited threads or connections
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    procs = [context.Process(target=_worker, args=(make_app, host, port, log_level),
                             name=f"county-worker-{i}") for i in range(workers)]
    for proc in procs:
        proc.start()
    try:
        # A worker that dies takes the server down with it (exit 1), for the service
        # manager to restart: never a county quietly running on fewer cores.
        while not stop.wait(0.5):
            if any(not proc.is_alive() for proc in procs):
                log.error("a worker process exited; stopping the server")
                raise SystemExit(1)
    finally:
        _stop_all(procs)
        held.close()


def _worker(make_app: Callable[[], Starlette], host: str, port: int, log_level: str) -> None:
    sock = _listener(host, port)
    try:
        _run(make_app(), host, port, log_level, [sock])
    finally:
        sock.close()


def _run(app: Starlette, host: str, port: int, log_level: str,
         sockets: list[socket.socket] | None = None) -> None:
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                           lifespan="off"))
    server.run(sockets=sockets)


def _listener(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _stop_all(procs: list[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM (uvicorn finishes the requests in flight), then SIGKILL; bounded."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=15)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
