"""差评整改: the open bad reviews by due day, and one review's page with its next step.

The page offers only the move the loop allows now (the next step, an appeal while none was
made, the county's decision while one waits); the services refuse anything else anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.domain.badreview import AppealKind, AppealOutcome, Step
from station_app.services.badreview import (
    ReviewRow,
    appeal_review,
    decide_appeal,
    get_review,
    list_reviews,
    move_review,
    review_dict,
    review_settings,
    step_choices,
)
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.views.dialogs import ask

# What the note of each move describes: the work done in the step being left.
NOTE_LABELS = {Step.RECTIFY: "核实情况", Step.FEEDBACK: "整改情况", Step.REVISIT: "反馈情况",
               Step.CLOSED: "回访结果"}


def ledger(ctx: AppContext) -> ft.Control:
    """Open bad reviews, overdue first; 包括已办结 shows the finished ones too."""
    assert ctx.station is not None
    table = ft.Column(key="reviews_table")
    closed = ft.Checkbox(label="包括已办结", value=False, key="reviews_closed")

    def refresh(_: Any = None) -> None:
        assert ctx.station is not None
        rows = list_reviews(ctx.station, ctx.now(), include_closed=bool(closed.value))
        table.controls = [_table(ctx, rows)] if rows else [
            ft.Text("没有待整改的差评", color=theme.MUTED, key="reviews_empty")]

    closed.on_change = ctx.guard(refresh)
    refresh()
    limits = _limits(ctx)
    return ft.Column([
        theme.title("差评整改", key="reviews_title"),
        theme.muted(f"核实 → 整改 → 反馈 → 回访 → 办结；期限：{limits}", key="reviews_limits"),
        closed, table,
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _limits(ctx: AppContext) -> str:
    assert ctx.station is not None
    s = review_settings(ctx.station)
    return (f"核实 {s.verify_wd} 个工作日，整改反馈 {s.rectify_wd} 个工作日，"
            f"回访 {s.revisit_wd} 个工作日")


def _table(ctx: AppContext, rows: list[ReviewRow]) -> ft.Control:
    def open_review(number: str) -> Callable[[Any], None]:
        return lambda _: ctx.show("review", review_no=number)

    data = [ft.DataRow(
        key=f"review_row_{r.review_no}", color=theme.OVERDUE_BG if r.overdue else None,
        on_select_change=ctx.guard(open_review(r.review_no)),
        cells=[ft.DataCell(ft.Text(v, size=theme.SMALL)) for v in (
            r.review_no, r.level.label, r.status_label, r.owner or "—",
            (r.due or "—") + (" 超期" if r.overdue else ""))]) for r in rows]
    return ft.DataTable(columns=[ft.DataColumn(ft.Text(t)) for t in (
        "差评编号", "评价", "当前环节", "责任人", "期限")], rows=data, column_spacing=16)


def detail(ctx: AppContext, review_no: str) -> ft.Control:
    """One review: the facts, the next step as a button, the appeal, the history."""
    assert ctx.station is not None
    review = get_review(ctx.station, review_no)
    view = review_dict(ctx.station, review, ctx.now())
    actions: list[ft.Control] = [
        theme.button(f"进入“{to.label}”", ctx.guard(_move(ctx, review.review_no, to)),
                     key=f"review_to_{to.value}") for to in step_choices(review)]
    if review.is_open and review.appeal is None:
        actions.append(theme.button("申诉", ctx.guard(_appeal(ctx, review.review_no)),
                                    primary=False, key="review_appeal"))
    if review.appeal_pending:
        actions.append(theme.button("录入复核结果", ctx.guard(_decide(ctx, review.review_no)),
                                    primary=False, key="review_decide"))
    due = view["due"] or "—"
    facts = [
        f"评价：{view['level_label']}（{'首评' if view['assess_number'] == 1 else '追评'}）　"
        f"事项编号：{view['subject']}",
        f"当前环节：{view['status_label']}　责任人：{view['owner'] or '—'}",
        f"本环节期限：{due}" + ("（超期）" if view["overdue"] else "")
        + ("（估算）" if view["due_estimated"] else ""),
    ]
    if view["appeal"]:
        a = view["appeal"]
        facts.append(f"申诉：{a['kind_label']}，{a['reason']}；复核：{a['outcome_label']}"
                     + (f"，{a['note']}" if a["note"] else ""))
    history = [ft.Text(f"{h['at'][:16].replace('T', ' ')}  进入{h['step_label']}  {h['owner']}"
                       f"  {h['note']}", size=theme.SMALL) for h in view["history"]]
    return ft.Column([
        theme.title(f"差评整改 {review.review_no}", key="review_title"),
        *[ft.Text(line, size=theme.BODY, key=f"review_fact_{i}",
                  color=theme.OVERDUE if i == 2 and view["overdue"] else None)
          for i, line in enumerate(facts)],
        ft.Row(actions, wrap=True, spacing=10, key="review_actions"),
        ft.Text("整改经过", size=theme.BODY, weight=ft.FontWeight.BOLD),
        ft.Column(history or [theme.muted("尚无记录")], key="review_history", spacing=2),
        theme.button("返回差评整改", ctx.guard(lambda _: ctx.show("reviews")), primary=False,
                     key="review_back"),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _move(ctx: AppContext, review_no: str, to: Step) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        fields: dict[str, ft.Control] = {
            "note": theme.field(NOTE_LABELS[to], key="dlg_review_note", width=520,
                                multiline=True),
            "owner": theme.field("下一环节责任人（不填则不变）", key="dlg_review_owner")}

        def submit(values: dict[str, Any]) -> None:
            assert ctx.station is not None
            move_review(ctx.station, review_no, to, note=str(values["note"] or ""),
                        owner=str(values["owner"] or ""))
            ctx.show("review", review_no=review_no)

        ask(ctx, f"进入“{to.label}”：{review_no}", fields, submit, key="dlg_review_step")
    return go


def _appeal(ctx: AppContext, review_no: str) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        fields: dict[str, ft.Control] = {
            "kind": theme.dropdown("申诉类型", [(k.value, k.label) for k in AppealKind],
                                   key="dlg_appeal_kind", value=AppealKind.MISRATED.value),
            "reason": theme.field("申诉理由", key="dlg_appeal_reason", width=520,
                                  multiline=True)}

        def submit(values: dict[str, Any]) -> None:
            assert ctx.station is not None
            appeal_review(ctx.station, review_no, AppealKind(values["kind"]),
                          str(values["reason"] or ""))
            ctx.show("review", review_no=review_no)

        ask(ctx, f"申诉：{review_no}", fields, submit, key="dlg_review_appeal",
            note="误评、恶意差评可申诉一次，复核期间暂停计时。")
    return go


def _decide(ctx: AppContext, review_no: str) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        fields: dict[str, ft.Control] = {
            "outcome": theme.dropdown("复核结果", [(o.value, o.label) for o in AppealOutcome],
                                      key="dlg_appeal_outcome", width=320,
                                      value=AppealOutcome.UPHELD.value),
            "note": theme.field("复核意见", key="dlg_appeal_note", width=520)}

        def submit(values: dict[str, Any]) -> None:
            assert ctx.station is not None
            decide_appeal(ctx.station, review_no, AppealOutcome(values["outcome"]),
                          str(values["note"] or ""))
            ctx.show("review", review_no=review_no)

        ask(ctx, f"申诉复核结果：{review_no}", fields, submit, key="dlg_review_decide")
    return go
