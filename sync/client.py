"""The HTTP transport to the county server (the only importer of ``httpx``).

One keep-alive connection per sync. Timeouts fit the link: a package is ≲ 32 KiB, which
takes ~5 s at 64 kbit/s, so a 30 s read timeout means the link is gone, not slow. Any
network failure becomes ``CountyUnreachable``: the records stay safe on the station and the
next attempt resumes from the county's cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from station_app.errors import CountyUnreachable

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = "station-app-sync/1"


class HttpTransport:
    def __init__(self, server: str, *, timeout: httpx.Timeout | float = TIMEOUT) -> None:
        """``timeout``: seconds for every phase, or an ``httpx.Timeout`` per phase."""
        self.server = server.rstrip("/")
        self._client = httpx.Client(base_url=self.server, timeout=timeout,
                                    headers={"user-agent": USER_AGENT}, follow_redirects=False,
                                    trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, *, body: bytes | None = None,
              headers: Mapping[str, str] | None = None,
              params: Mapping[str, Any] | None = None) -> tuple[int, Mapping[str, Any]]:
        try:
            response = self._client.request(method, path, content=body, headers=headers,
                                            params=params)
        except httpx.HTTPError as exc:
            raise CountyUnreachable(server=self.server, reason=_why(exc)) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code >= 500 or (response.status_code == 404 and not answer):
            raise CountyUnreachable(server=self.server,
                                    reason=f"服务器返回 {response.status_code}")
        return response.status_code, answer

    @staticmethod
    def _log(origin: str) -> str:
        return "/v1/logs/" + quote(origin, safe="")

    def enroll(self, body: bytes) -> tuple[int, Mapping[str, Any]]:
        return self._send("POST", "/v1/enroll", body=body,
                          headers={"content-type": "application/json"})

    def keys(self) -> tuple[int, Mapping[str, Any]]:
        return self._send("GET", "/v1/keys")

    def status(self, origin: str) -> tuple[int, Mapping[str, Any]]:
        return self._send("GET", self._log(origin) + "/checkpoint")

    def add_checkpoint(self, origin: str, body: bytes, station_time: str
                       ) -> tuple[int, Mapping[str, Any]]:
        return self._send("POST", self._log(origin) + "/add-checkpoint", body=body,
                          headers={"content-type": "text/plain; charset=utf-8",
                                   "x-station-time": station_time})

    def add_entries(self, origin: str, body: bytes) -> tuple[int, Mapping[str, Any]]:
        return self._send("POST", self._log(origin) + "/add-entries", body=body,
                          headers={"content-type": "application/octet-stream"})

    def publications(self, versions: Mapping[str, int]) -> tuple[int, Mapping[str, Any]]:
        return self._send("GET", "/v1/publications", params=dict(versions))

    def certificate(self, station: str) -> tuple[int, Mapping[str, Any]]:
        return self._send("GET", f"/v1/stations/{quote(station, safe='')}")

    def relay_send(self, body: bytes) -> tuple[int, Mapping[str, Any]]:
        return self._send("POST", "/v1/relay", body=body,
                          headers={"content-type": "application/json"})

    def relay_fetch(self, station: str, after: int, auth: Mapping[str, str]
                    ) -> tuple[int, Mapping[str, Any]]:
        """``auth``: the signed request headers (x-station-origin, -time, x-relay-signature)."""
        return self._send("GET", f"/v1/relay/{quote(station, safe='')}",
                          params={"after": after}, headers=auth)


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "连接超时"
    if isinstance(exc, httpx.ConnectError):
        return "无法建立连接"
    return "网络中断"
