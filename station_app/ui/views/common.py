"""Pieces several screens share: the deadline-coloured case table, person fields, the
materials checklist, the item picker and the timeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import flet as ft

from station_app.domain.cases import ReceivedMaterial
from station_app.domain.catalog import ServiceItem
from station_app.domain.clock import parse_day
from station_app.domain.identity import CertType, validate_certificate
from station_app.domain.people import PersonDetails, validate_person
from station_app.domain.states import CaseState
from station_app.errors import InvalidDate, StationError
from station_app.services.cases import CaseRow
from station_app.services.dashboard import urgency
from station_app.services.search import find_items
from station_app.ui import theme
from station_app.ui.context import AppContext

URGENCY = {"OVERDUE": ("已超期", theme.OVERDUE, theme.OVERDUE_BG),
           "DUE_SOON": ("临近期限", theme.DUE_SOON, theme.DUE_SOON_BG)}


def estimate_banner(missing: Sequence[int]) -> ft.Control | None:
    if not missing:
        return None
    years = "、".join(f"{y} 年" for y in missing)
    text = f"注意：尚未导入 {years}放假安排：跨入该年的期限按周末估算，请在“设置”中导入"
    return ft.Container(key="estimate_banner", bgcolor=theme.DUE_SOON_BG, padding=12,
                        border_radius=6,
                        content=ft.Text(text, size=theme.BODY, color=theme.DUE_SOON))


def case_rows_table(ctx: AppContext, rows: list[CaseRow], now: datetime, *,
                    key: str) -> ft.Control:
    if not rows:
        return ft.Text("没有符合条件的办件", size=theme.BODY, color=theme.MUTED, key=f"{key}_empty")

    def open_case(case_no: str) -> Callable[[Any], None]:
        return lambda _: ctx.show("case", case_no=case_no)

    table_rows = []
    for r in rows:
        mark = URGENCY.get(urgency(r, now)) if CaseState(r.state).is_open else None
        # No deadline while paused, or while waiting: for the applicant's 补正, or (a 登记
        # draft) for the case to be received at all.
        waiting = "待申请人补正" if r.state == CaseState.SUPPLEMENT.value else "—"
        deadline = (r.deadline or {"PAUSED": "计时暂停", "WAITING": waiting}.get(
            r.deadline_kind, "—"))[:16].replace("T", " ")
        if r.estimated and r.deadline:
            deadline += "（估算）"
        cells = [r.case_no, CaseState(r.state).label, r.item_name, r.applicant_name,
                 deadline + (f" · {mark[0]}" if mark else "")]
        table_rows.append(ft.DataRow(
            cells=[ft.DataCell(ft.Text(c, size=theme.SMALL,
                                       color=mark[1] if mark and i == 4 else None))
                   for i, c in enumerate(cells)],
            color=mark[2] if mark else None, key=f"row_{r.case_no}",
            on_select_change=ctx.guard(open_case(r.case_no))))
    return ft.DataTable(key=key, columns=[ft.DataColumn(ft.Text(t)) for t in
                                          ("办件编号", "状态", "事项", "申请人", "期限")],
                        rows=table_rows, show_checkbox_column=False, column_spacing=18)


class PersonForm:
    """Name, certificate, phone and address; the ID is checked as it is typed."""

    def __init__(self, ctx: AppContext, prefix: str, title: str = "申请人") -> None:
        self.ctx = ctx
        self.fields: dict[str, ft.Control] = {
            "name": theme.field(f"{title}姓名", key=f"{prefix}_name", width=200),
            "cert_type": theme.dropdown("证件类型", [(c.value, c.label) for c in CertType],
                                        key=f"{prefix}_cert_type", value="111", width=220),
            "cert_no": theme.field("证件号码", key=f"{prefix}_cert_no", width=300),
            "phone": theme.field("手机号码", key=f"{prefix}_phone", width=200),
            "address": theme.field("住址", key=f"{prefix}_address", width=420),
        }
        self.fields["cert_no"].on_change = ctx.guard(self._check_as_typed, self.fields)

    def _check_as_typed(self, _: Any) -> None:
        """Complete numbers are checked at once; an error shows under the field while typing."""
        number = (self.fields["cert_no"].value or "").strip()
        kind = self.fields["cert_type"].value or "111"
        if len(number) >= 18 or (kind not in ("111", "112", "553") and number):
            validate_certificate(CertType(kind), number)

    def details(self) -> PersonDetails:
        f = self.fields
        return validate_person(name=f["name"].value or "", cert_no=f["cert_no"].value or "",
                               cert_type=f["cert_type"].value or "111",
                               phone=f["phone"].value or "", address=f["address"].value or "",
                               today=self.ctx.now().date())

    def fill(self, details: PersonDetails) -> None:
        f = self.fields
        f["name"].value, f["cert_type"].value = details.name, details.cert_type.value
        f["cert_no"].value, f["phone"].value = details.cert_no, details.phone
        f["address"].value = details.address

    def controls(self) -> list[ft.Control]:
        f = self.fields
        return [ft.Row([f["name"], f["cert_type"], f["cert_no"]], wrap=True),
                ft.Row([f["phone"], f["address"]], wrap=True)]


class MaterialsChecklist:
    """The item's required materials as checkboxes with original and copy counts."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.column = ft.Column(key=f"{prefix}_materials", spacing=4)
        self.boxes: list[tuple[ft.Checkbox, Any]] = []

    def show(self, item: ServiceItem | None) -> None:
        self.boxes = []
        self.column.controls = []
        if item is None:
            return
        for i, m in enumerate(item.materials):
            counts = f"原件 {m.originals} 份 · 复印件 {m.copies} 份"
            box = ft.Checkbox(label=f"{m.name}（{counts}{'' if m.required else '，非必需'}）",
                              value=m.required, key=f"{self.prefix}_material_{i}")
            self.boxes.append((box, m))
            self.column.controls.append(box)
        if not item.materials:
            self.column.controls.append(theme.muted("该事项不需要纸质材料"))

    def received(self) -> tuple[ReceivedMaterial, ...]:
        return tuple(ReceivedMaterial(name=m.name, originals=m.originals, copies=m.copies)
                     for box, m in self.boxes if box.value)


class ItemPicker:
    """Search the catalog by name, code or pinyin initials (ylbx → 养老保险 …)."""

    def __init__(self, ctx: AppContext, prefix: str, on_pick: Callable[[ServiceItem], None],
                 *, proxy_only: bool = False) -> None:
        self.ctx, self.on_pick, self.proxy_only = ctx, on_pick, proxy_only
        self.query = theme.field("查找事项（名称、编码或拼音首字母，如 zdsh）",
                                 key=f"{prefix}_item_query", width=460, autofocus=True)
        self.results = ft.Column(key=f"{prefix}_item_results", spacing=4)
        self.chosen = ft.Text("尚未选择事项", size=theme.BODY, key=f"{prefix}_item_chosen")
        self.item: ServiceItem | None = None
        self.prefix = prefix
        self.query.on_change = ctx.guard(self._search)
        self.query.on_submit = ctx.guard(self._pick_first)
        self._search(None)

    def _matches(self) -> list[ServiceItem]:
        assert self.ctx.station is not None
        catalog = self.ctx.station.projector.catalog()
        return find_items(catalog, self.query.value or "", proxy_only=self.proxy_only, limit=8)

    def _search(self, _: Any) -> None:
        self.results.controls = [
            ft.TextButton(f"{item.name}（{item.case_type.label}，{item.promised_limit.label}）",
                          key=f"{self.prefix}_pick_{item.code}",
                          on_click=self.ctx.guard(self._pick(item)))
            for item in self._matches()]

    def _pick(self, item: ServiceItem) -> Callable[[Any], None]:
        def pick(_: Any) -> None:
            self.item = item
            self.chosen.value = f"已选：{item.name}（{item.code}）"
            self.on_pick(item)
        return pick

    def _pick_first(self, _: Any) -> None:
        found = self._matches()
        if found:
            self._pick(found[0])(None)

    def controls(self) -> list[ft.Control]:
        return [self.query, self.results, self.chosen]


def timeline(entries: list[dict[str, Any]], names: dict[str, str], *, key: str) -> ft.Control:
    lines = []
    for t in entries:
        target = t.get("to") or ""
        label = CaseState(target).label if target in CaseState.__members__ else target
        note = t.get("note") or ""
        details = t.get("details") or {}
        extra = "；".join(str(v) for k, v in details.items() if k in ("reason", "result"))
        when = str(t.get("at") or "")[:16].replace("T", " ")
        entered = str(t.get("entered_at") or "")[:16].replace("T", " ")
        late = f"（{entered} 补录）" if entered[:10] != when[:10] else ""
        who = names.get(t.get("actor") or "", t.get("actor") or "")
        lines.append(ft.Text(f"{when}{late}  {label or t['kind']}  {who}  {note} {extra}",
                             size=theme.SMALL))
    return ft.Column(lines, key=key, spacing=2)


def require(value: Any, error: StationError) -> Any:
    if not value:
        raise error
    return value


def day_or_blank(text: str | None, field: str = "", label: str = "日期") -> str:
    """An ISO date typed in a filter box, or "" when it is empty; errors name the box."""
    if not (text or "").strip():
        return ""
    try:
        return parse_day(text or "", label).isoformat()
    except InvalidDate as error:
        error.field = field or error.field  # so the message lands under the right box
        raise
