"""The county's HTTP API (Starlette): a thin shell over ``County``; see docs/sync.md.

Handlers read the body (bounded), run the service call in a worker thread (the database
calls block) and turn its ``Reply`` into JSON. A failure inside the service rolls its
transaction back and answers 503, so no receipt ever goes out for something not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sync.county.service import COLLECTIONS, County, Reply
from sync.protocol import PACKAGE_RAW_BYTES

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


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than any valid request."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return None
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
        return _too_large() if data is None else await _call(lambda: self.county.enroll(data))

    async def checkpoint(self, request: Request) -> Response:
        origin = _origin(request)
        return await _call(lambda: self.county.status(origin))

    async def add_checkpoint(self, request: Request) -> Response:
        data, origin = await _body(request), _origin(request)
        clock = request.headers.get("x-station-time")
        if data is None:
            return _too_large()
        return await _call(lambda: self.county.add_checkpoint(origin, data, clock))

    async def add_entries(self, request: Request) -> Response:
        data, origin = await _body(request), _origin(request)
        if data is None:
            return _too_large()
        return await _call(lambda: self.county.add_entries(origin, data))

    async def publications(self, request: Request) -> Response:
        since = {c: int(v) for c in COLLECTIONS
                 if (v := request.query_params.get(c, "0")).isdigit()}
        return await _call(lambda: self.county.publications(since))

    async def station(self, request: Request) -> Response:
        code = request.path_params["code"]
        return await _call(lambda: self.county.certificate(code))

    async def relay(self, request: Request) -> Response:
        data = await _body(request)
        return _too_large() if data is None else await _call(lambda: self.county.relay(data))

    async def relay_inbox(self, request: Request) -> Response:
        code, after = request.path_params["code"], request.query_params.get("after", "0")
        auth = {"origin": request.headers.get("x-station-origin", ""),
                "time": request.headers.get("x-station-time", ""),
                "signature": request.headers.get("x-relay-signature", "")}
        return await _call(lambda: self.county.relay_inbox(code, after, auth))


def create_app(county: County) -> Starlette:
    api = CountyApi(county)
    return Starlette(routes=[
        Route("/v1/keys", api.keys),
        Route("/v1/enroll", api.enroll, methods=["POST"]),
        Route("/v1/logs/{origin:path}/checkpoint", api.checkpoint),
        Route("/v1/logs/{origin:path}/add-checkpoint", api.add_checkpoint, methods=["POST"]),
        Route("/v1/logs/{origin:path}/add-entries", api.add_entries, methods=["POST"]),
        Route("/v1/publications", api.publications),
        Route("/v1/stations/{code}", api.station),
        Route("/v1/relay", api.relay, methods=["POST"]),
        Route("/v1/relay/{code}", api.relay_inbox),
    ])
