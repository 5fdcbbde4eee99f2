"""The 公示栏 poster's versions: what a version publishes, and what changed since the last.

A version's ``published`` summary names what the poster shows in a form small enough for the
log: the station's printed details, the agents (name, role, village) and the items' codes.
All of it is public by design (it hangs on the wall); no villager appears on the poster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from station_app.domain.catalog import ServiceItem
from station_app.errors import InvalidInput, MissingField

ITEMS_SET = "notice.items_set"
REGENERATED = "notice.regenerated"
MAX_CODES = 500


def published_summary(station: Mapping[str, str], agents: Sequence[Mapping[str, str]],
                      items: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return {"station": dict(sorted(station.items())),
            "agents": [f"{a['name']}（{a['role']}，{a['village'] or '—'}）" for a in agents],
            "items": [i["code"] for i in items]}


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """What differs between two summaries; ``{"first": True}`` for the first version."""
    if before is None:
        return {"first": True}
    out: dict[str, Any] = {}
    old_station, new_station = before.get("station", {}), after["station"]
    fields = sorted(k for k in {*old_station, *new_station}
                    if old_station.get(k) != new_station.get(k))
    if fields:
        out["station"] = fields
    for part in ("agents", "items"):
        added = [x for x in after[part] if x not in before.get(part, [])]
        removed = [x for x in before.get(part, []) if x not in after[part]]
        if added or removed:
            out[part] = {"added": added, "removed": removed}
    return out


def items_body(codes: Sequence[str] | None, proxy_items: Sequence[ServiceItem],
               reason: str) -> dict[str, Any]:
    """The body of a ``notice.items_set`` entry: which 可代办事项 the poster lists (None: all
    of them, the default, so a new catalog's items appear without a choice being made)."""
    if codes is None:
        return {"items": None, "reason": reason.strip()}
    clean = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not clean:
        raise MissingField(field="items", label="公示的事项（至少选择一项）")
    if len(clean) > MAX_CODES:
        raise InvalidInput(field="items", label="公示的事项", reason=f"不能超过{MAX_CODES}项")
    known = {i.code for i in proxy_items}
    unknown = [c for c in clean if c not in known]
    if unknown:
        raise InvalidInput(field="items", label="公示的事项",
                           reason=f"“{'、'.join(unknown[:5])}”不在事项目录中或不可代办")
    order = [i.code for i in proxy_items]  # the catalog's order, whatever order was given
    return {"items": sorted(clean, key=order.index), "reason": reason.strip()}


def describe(changed: Mapping[str, Any]) -> str:
    """A line for people: 代办员 +周志强; 事项 −LOCAL-MZ-002; 站点信息 phone."""
    if changed.get("first"):
        return "首次公示"
    parts = []
    names = {"agents": "代办员", "items": "事项"}
    for part, label in names.items():
        if part in changed:
            diff = changed[part]
            signs = [f"+{x}" for x in diff["added"]] + [f"−{x}" for x in diff["removed"]]
            parts.append(f"{label} {'、'.join(signs)}")
    if "station" in changed:
        parts.append("站点信息 " + "、".join(changed["station"]))
    return "；".join(parts) or "无变化"
