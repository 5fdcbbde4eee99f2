"""Bodies the county will not read: too large for any valid request (413, refused before it
is read when the length is declared) or cut off by a client that went away (no traceback
in the log, nothing stored). The server keeps serving after both."""

from __future__ import annotations

import logging
import socket
from urllib.parse import quote, urlsplit

import httpx
import pytest

from station_app.services.station import Station
from sync.county.app import MAX_BODY
from sync.county.service import County
from tests.sync.conftest import RunningServer


def entries_path(st: Station) -> str:
    return f"/v1/logs/{quote(st.info.origin, safe='')}/add-entries"


def test_a_body_larger_than_any_request_is_refused_and_nothing_is_stored(
        village: Station, county: County, county_server: RunningServer):
    url = county_server.url + entries_path(village)
    declared = httpx.post(url, content=b"\0" * (MAX_BODY + 1), timeout=30)

    def chunks():  # no length declared: read until the limit, then refused
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"\0" * 65536

    streamed = httpx.post(url, content=chunks(), timeout=30)

    assert (declared.status_code, declared.json()) == (413, {"error": "too-large"})
    assert streamed.status_code == 413
    with county.db.read() as tx:
        assert tx.entries(village.info.origin) == []
    assert httpx.get(county_server.url + "/v1/keys", timeout=10).status_code == 200


def test_a_request_cut_off_mid_body_leaves_no_traceback(
        village: Station, county: County, county_server: RunningServer,
        caplog: pytest.LogCaptureFixture):
    host, port = urlsplit(county_server.url).hostname, urlsplit(county_server.url).port
    caplog.set_level(logging.ERROR)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"POST {entries_path(village)} HTTP/1.1\r\nHost: {host}\r\n"
                     f"Content-Length: 100000\r\n\r\n".encode() + b"VSP1" + b"\0" * 1000)
    assert httpx.get(county_server.url + "/v1/keys", timeout=10).status_code == 200
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    with county.db.read() as tx:
        assert tx.entries(village.info.origin) == []
