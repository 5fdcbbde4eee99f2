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

from station_app.errors import AuditRefused, AuditUnreachable, CountyUnreachable

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

    def fill(self, log: str, start: int, auth: Mapping[str, str]
             ) -> tuple[int, Mapping[str, Any]]:
        """Acknowledged entries of ``log`` from ``start`` (docs/recovery.md); ``auth``: the
        signed request headers (x-station-origin, -time, x-fill-signature)."""
        return self._send("GET", self._log(log) + "/entries", params={"start": start},
                          headers=auth)

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


class AuditClient:
    """The county dashboard's calls (county-auditor role, docs/dashboard.md): JSON GETs and
    the unmask request, with the auditor's bearer token. Blocking: the UI runs them in a
    worker thread. A network failure is ``AuditUnreachable``; a refusal ``AuditRefused``
    with the server's Chinese detail."""

    def __init__(self, server: str, token: str, *, timeout: float = 30.0) -> None:
        self.server = server.strip().rstrip("/")
        if not self.server.startswith(("http://", "https://")):
            raise AuditUnreachable(server=server, reason="地址应以 http:// 或 https:// 开头")
        self._client = httpx.Client(base_url=self.server, timeout=httpx.Timeout(
            timeout, connect=10.0), headers={"user-agent": USER_AGENT,
                                             "authorization": f"Bearer {token.strip()}"},
            follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AuditClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._call("GET", path, params={k: v for k, v in params.items()
                                               if v is not None})

    def whoami(self) -> dict[str, Any]:
        return self.get("/v1/audit/whoami")

    def overview(self, month: str | None = None) -> dict[str, Any]:
        return self.get("/v1/audit/overview", month=month)

    def trend(self, months: int = 6, town: str | None = None) -> dict[str, Any]:
        return self.get("/v1/audit/trend", months=months, town=town)

    def station(self, code: str, month: str | None = None) -> dict[str, Any]:
        return self.get(f"/v1/audit/station/{quote(code, safe='')}", month=month)

    def cases(self, code: str, kpi: str, month: str | None = None) -> dict[str, Any]:
        return self.get(f"/v1/audit/station/{quote(code, safe='')}/cases", kpi=kpi,
                        month=month)

    def unmask(self, station: str, case: str, reason: str) -> dict[str, Any]:
        return self._call("POST", "/v1/audit/unmask",
                          json={"station": station, "case": case, "reason": reason})

    def unmask_answer(self, request_id: str) -> dict[str, Any]:
        """The station's answer to this auditor's own request (each reading is logged)."""
        return self.get(f"/v1/audit/unmask/{quote(request_id, safe='')}")

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AuditUnreachable(server=self.server, reason=_why(exc)) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code >= 500:
            raise AuditUnreachable(server=self.server,
                                   reason=f"服务器返回 {response.status_code}")
        if response.status_code != 200:
            raise AuditRefused(reason=_refusal(response.status_code, answer))
        return answer


_REFUSALS = {401: "审核令牌无效或已停用", 403: "无权查看", 404: "没有找到",
             410: "已过期", 429: "请求太频繁，请稍后再试"}


def _refusal(status: int, answer: Mapping[str, Any]) -> str:
    detail = answer.get("detail")
    if isinstance(detail, str) and detail and status != 401:
        return detail
    return _REFUSALS.get(status, f"服务器返回 {status}")


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "连接超时"
    if isinstance(exc, httpx.ConnectError):
        return "无法建立连接"
    return "网络中断"
