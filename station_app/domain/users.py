"""The people who work the station, and what each role may do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from station_app.errors import InvalidInput, MissingField

PIN = re.compile(r"^\d{4,8}$")


class Role(StrEnum):
    AGENT = "AGENT"
    CLERK = "CLERK"
    ADMIN = "ADMIN"
    AUDITOR = "AUDITOR"

    @property
    def label(self) -> str:
        return {"AGENT": "代办员", "CLERK": "窗口人员", "ADMIN": "管理员",
                "AUDITOR": "县级核查"}[self.value]


# What each role's home screen leads with, and what it may change.
CAN_RECORD_PROXY = frozenset({Role.AGENT, Role.ADMIN})
CAN_HANDLE_CASES = frozenset({Role.CLERK, Role.ADMIN})
CAN_ADMINISTER = frozenset({Role.ADMIN})


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    user_id: str
    name: str
    role: Role
    active: bool = True


def check_new_user(name: str, role: Role | str, pin: str) -> tuple[str, Role]:
    clean = " ".join((name or "").split())
    if not clean:
        raise MissingField(field="name", label="姓名")
    if len(clean) > 30:
        raise InvalidInput(field="name", label="姓名", reason="不能超过30个字")
    chosen = role if isinstance(role, Role) else _role(role)
    check_pin(pin)
    return clean, chosen


def check_pin(pin: str) -> None:
    if not PIN.match(pin or ""):
        raise InvalidInput(field="pin", label="PIN 码", reason="应为 4–8 位数字")


def _role(text: str) -> Role:
    for role in Role:
        if text in (role.value, role.label):
            return role
    raise InvalidInput(field="role", label="角色",
                       reason="应为 " + "、".join(f"{r.value}（{r.label}）" for r in Role))
