"""The station's public profile (hours, phones, the bodies that hear appeals) and its agents.

Both feed the documents: every notice names where to complain and where to appeal, and the
公示栏 lists the agents. Changes are log entries like everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from station_app.domain.identity import validate_mobile
from station_app.domain.numbering import check_station_code
from station_app.errors import InvalidInput, InvalidStationCode, MissingField, NotFound
from station_app.services.station import Station

PROFILE_FIELDS = {
    "short_name": "文书简称（如 青石镇）",
    "address": "地址",
    "hours": "服务时间",
    "phone": "咨询电话",
    "complaint_tel": "监督投诉电话",
    "review_organ": "行政复议机关",
    "court": "行政诉讼管辖法院",
    "printer": "默认打印机",
    # A village station hands proxy entries over to this town centre through the county
    # (docs/sync.md, relay); a town centre leaves it empty.
    "town_centre": "所属乡镇便民服务中心编码（村站填写）",
}
DEFAULTS = {"complaint_tel": "12345", "hours": "工作日 8:30–12:00，14:00–17:30"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    agent_id: str
    name: str
    role: str
    phone: str
    village: str
    active: bool


def profile(station: Station) -> dict[str, str]:
    """Every profile field, with sensible defaults where the station set nothing yet."""
    short = _short_name(station.info.name)
    values = {key: station.projector.setting(f"profile.{key}") for key in PROFILE_FIELDS}
    return {key: values[key] or DEFAULTS.get(key, short if key == "short_name" else "")
            for key in PROFILE_FIELDS}


def set_profile(station: Station, changes: dict[str, str], *, reason: str = "") -> dict[str, str]:
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput(field=unknown[0], label="站点信息",
                           reason=f"没有“{unknown[0]}”这一项，可设置：{'、'.join(PROFILE_FIELDS)}")
    clean = {k: " ".join(str(v).split()) for k, v in changes.items()}
    if not clean:
        raise MissingField(field="fields", label="要修改的站点信息")
    if clean.get("town_centre"):
        clean["town_centre"] = _town_centre(station, clean["town_centre"])
    with station.transaction() as tx:
        tx.append("station.profile_set", {"fields": clean, "reason": reason.strip()})
    return profile(station)


def agents(station: Station, *, include_inactive: bool = False) -> list[Agent]:
    rows = station.db.execute(
        "SELECT agent_id, name, role, phone, village, active FROM agent"
        + ("" if include_inactive else " WHERE active = 1") + " ORDER BY idx").fetchall()
    return [Agent(agent_id=r[0], name=r[1], role=r[2], phone=r[3], village=r[4],
                  active=bool(r[5])) for r in rows]


def add_agent(station: Station, *, name: str, role: str, phone: str, village: str) -> Agent:
    """A village agent for the public notice: work phone, role and the villages they cover."""
    if not name.strip():
        raise MissingField(field="name", label="代办员姓名")
    agent = Agent(agent_id=station.new_id()[:8], name=name.strip(),
                  role=role.strip() or "代办员", phone=_work_phone(phone),
                  village=village.strip(), active=True)
    _record(station, agent, "")
    return agent


def remove_agent(station: Station, agent_id: str, *, reason: str) -> None:
    found = [a for a in agents(station) if a.agent_id == agent_id]
    if not found:
        raise NotFound(field="agent", value=agent_id)
    if not reason.strip():
        raise MissingField(field="reason", label="停止公示的原因")
    old = found[0]
    _record(station, Agent(agent_id=old.agent_id, name=old.name, role=old.role,
                           phone=old.phone, village=old.village, active=False), reason)


def _record(station: Station, agent: Agent, reason: str) -> None:
    with station.transaction() as tx:
        tx.append("agent.set", {"agent_id": agent.agent_id, "name": agent.name,
                                "role": agent.role, "phone": agent.phone,
                                "village": agent.village, "active": agent.active,
                                "reason": reason.strip()})


def _town_centre(station: Station, code: str) -> str:
    try:
        value = check_station_code(code)
    except InvalidStationCode as error:
        error.field = "town_centre"
        raise
    if value == station.info.code:
        raise InvalidInput(field="town_centre", label="所属乡镇便民服务中心编码",
                           reason="不能是本站自己的编码")
    return value


def _work_phone(text: str) -> str:
    """A mobile number, or a landline such as 0571-88881234 (a station's office phone)."""
    value = "".join((text or "").split())
    if not value:
        return ""
    if re.fullmatch(r"0\d{2,3}-?\d{7,8}", value):
        return value
    return validate_mobile(value)


def _short_name(name: str) -> str:
    for marker in ("街道", "社区", "镇", "乡", "村"):
        at = name.find(marker)
        if at > 0:
            return name[: at + len(marker)]
    return name[:4]
