"""站点详情: one station's KPIs with their definitions, its findings with evidence, its 七有
state and spot-check draw, the cases behind a figure — and 申请查看 for a case's personal
data, which asks a reason and sends the request to the station (logged at both ends)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.errors import InvalidInput
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.views.county_overview import rag_chip, shown
from station_app.ui.views.dialogs import ask, reason_fields

MIN_REASON = 4  # as the server asks (sync/county/read_api.py)


def build(ctx: AppContext, dash: Any, data: dict[str, Any],
          cases: dict[str, Any] | None) -> ft.Control:
    code = data["station"]
    parts: list[ft.Control] = [
        ft.Row([theme.button("返回总览", ctx.guard(_go(dash, "county_overview")), primary=False,
                             key="county_station_back", icon=ft.Icons.ARROW_BACK),
                theme.title(f"{data.get('station_name', '')}（{code}）",
                            key="county_station_title"),
                rag_chip(data["rag"]["status"], key="county_station_rag")], wrap=True),
        theme.muted(f"统计月份 {data.get('month')} · 账本 {data.get('entries')} 条 · "
                    f"校验{'通过' if data.get('verified') else '不通过'}"
                    + (" · 已吊销" if data.get("revoked") else "")
                    + ("；" + "；".join(data["rag"]["reasons"]) if data["rag"]["reasons"]
                       else ""), key="county_station_summary"),
        _section("考核指标（点击“办件”查看计入该指标的办件）"), _kpis(ctx, dash, data),
    ]
    if cases is not None:
        parts += [_section(f"计入“{cases['kpi']['name']}”的办件"), _cases(ctx, dash, code,
                                                                         cases)]
    parts += [_section(f"问题（{len(data.get('findings', []))}）"), _findings(data),
              _section("七有自查"), _seven(data.get("seven") or {}),
              _section("调阅抽查"), _spotcheck(data.get("spotcheck")),
              _section("申请查看个人信息的记录"),
              _requests(ctx, dash, data.get("unmask_requests", []))]
    return ft.Column(parts, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True,
                     key="county_station")


def _go(dash: Any, name: str, **params: Any) -> Callable[[Any], Any]:
    async def go(_: Any) -> None:
        await dash.show(name, **params)
    return go


def _section(text: str) -> ft.Control:
    return ft.Text(text, size=theme.BODY, weight=ft.FontWeight.BOLD)


def _kpis(ctx: AppContext, dash: Any, data: dict[str, Any]) -> ft.Control:
    code = data["station"]
    rows = []
    for k in data.get("kpis", []):
        d = k.get("definition", {})
        text = f"分子：{d.get('numerator', '')}\n分母：{d.get('denominator', '')}" + (
            f"\n说明：{d['note']}" if d.get("note") else "")
        rows.append(ft.DataRow(cells=[
            ft.DataCell(ft.Text(k["name"], size=theme.SMALL)),
            ft.DataCell(ft.Text(shown(k, k["code"]), size=theme.SMALL,
                                key=f"county_kpi_{k['code']}")),
            ft.DataCell(ft.Text(f"{k['numerator']}/{k['denominator']}", size=theme.SMALL)),
            ft.DataCell(ft.Text(text, size=12, color=theme.MUTED, width=560)),
            ft.DataCell(ft.TextButton("办件", key=f"county_cases_{k['code']}",
                                      on_click=ctx.guard(_go(dash, "county_station", code=code,
                                                             kpi=k["code"])))),
        ]))
    return ft.DataTable(key="county_kpis", rows=rows, column_spacing=14,
                        data_row_max_height=72,
                        columns=[ft.DataColumn(ft.Text(t)) for t in
                                 ("指标", "数值", "分子/分母", "定义", "")])


def _cases(ctx: AppContext, dash: Any, code: str, cases: dict[str, Any]) -> ft.Control:
    rows = cases.get("rows", [])
    if not rows:
        return theme.muted("没有办件计入这一指标", key="county_cases_empty")

    def mark(value: Any) -> str:
        return {True: "是", False: "否"}.get(value, "—")

    return ft.DataTable(key="county_cases", column_spacing=14, columns=[
        ft.DataColumn(ft.Text(t)) for t in ("编号", "事项", "申请人", "收件", "办结", "状态",
                                            "期限", "按时", "评价", "计入分子", "")],
        rows=[ft.DataRow(key=f"county_case_{r['number']}", cells=[
            ft.DataCell(ft.Text(r["number"], size=12)),
            ft.DataCell(ft.Text(r.get("item_name") or "—", size=12)),
            ft.DataCell(ft.Text("＊＊＊", size=12, color=theme.MUTED,
                                tooltip=r.get("applicant_masked"))),
            ft.DataCell(ft.Text(_day(r.get("received")), size=12)),
            ft.DataCell(ft.Text(_day(r.get("closed")), size=12)),
            ft.DataCell(ft.Text(r.get("state_label") or "—", size=12)),
            ft.DataCell(ft.Text(_day(r.get("deadline")), size=12)),
            ft.DataCell(ft.Text(mark(r.get("on_time")), size=12)),
            ft.DataCell(ft.Text(r.get("evaluation_label") or "—", size=12)),
            ft.DataCell(ft.Text(mark(r.get("in_numerator")), size=12)),
            ft.DataCell(ft.TextButton("申请查看", key=f"county_unmask_{r['number']}",
                                      on_click=ctx.guard(_unmask(ctx, dash, code,
                                                                 r["number"])))
                        if r.get("kind") == "case" else ft.Text("")),
        ]) for r in rows])


def _unmask(ctx: AppContext, dash: Any, code: str, case_no: str) -> Callable[[Any], None]:
    """Ask the reason, then send the request: the county keeps it, the station's log will
    record who asked and why. The personal data itself stays on the station."""
    def go(_: Any) -> None:
        def submit(values: dict[str, Any]) -> Callable[[], Any]:
            reason = str(values.get("reason") or "").strip()
            if len(reason) < MIN_REASON:
                raise InvalidInput(field="reason", label="查看事由",
                                   reason=f"请写明事由（至少 {MIN_REASON} 个字）")

            async def send(_: Any = None) -> None:
                done = await ctx.in_thread(lambda: dash.session.client.unmask(
                    code, case_no, reason))
                ctx.toast(f"已向站点 {code} 发出查看申请（编号 {done['id'][:8]}），"
                          "站点同步后会记入其账本并答复")
                await dash.show("county_station", code=code)

            return ctx.guard(send)

        ask(ctx, f"申请查看办件 {case_no} 的个人信息",
            reason_fields("查看事由（县级和站点都会记录）"), submit, key="dlg_county_unmask",
            ok="发出申请",
            note="申请会转交站点，站点同步时记录并自动答复；答复加密保存，"
                 "只有您本人可在下方“申请查看个人信息的记录”中查看，每次查看都会记录。")
    return go


def _day(text: Any) -> str:
    return str(text)[:16].replace("T", " ") if text else "—"


def _findings(data: dict[str, Any]) -> ft.Control:
    findings = data.get("findings", [])
    if not findings:
        return theme.muted("没有发现问题", key="county_findings_empty")
    return ft.Column([ft.Container(ft.Column([
        ft.Row([rag_chip("red" if f["severity"] == "RED" else "amber"),
                ft.Text(f"{f['label']}（{f['code']}）", size=theme.BODY,
                        weight=ft.FontWeight.BOLD)]),
        ft.Text(f["message"], size=theme.SMALL, selectable=True),
        ft.Text("证据：" + json.dumps(f.get("evidence", {}), ensure_ascii=False)
                + (f"；账本第 {', '.join(map(str, f['entries']))} 条" if f.get("entries")
                   else "") + (f"；编号 {'、'.join(f['numbers'])}" if f.get("numbers") else ""),
                size=12, color=theme.MUTED, selectable=True),
    ], spacing=4), padding=10, border=ft.Border.all(1, "#dddddd"), border_radius=6,
        key=f"county_finding_{i}") for i, f in enumerate(findings)], spacing=8,
        key="county_findings")


def _seven(seven: dict[str, Any]) -> ft.Control:
    latest = seven.get("latest")
    if not latest:
        return theme.muted("还没有七有自查记录", key="county_seven")
    not_met = "、".join(f"{i['item']}（{i['status']}）" for i in seven.get("not_met", []))
    missing = "、".join(seven.get("months_missing", []))
    return ft.Text(
        f"最近一次：{latest.get('month')} 月自查（{str(latest.get('at', ''))[:16]}）；"
        f"未达标：{not_met or '无'}；照片 {seven.get('photos_verified', 0)} 张核验通过、"
        f"{seven.get('photos_failed', 0)} 张缺失或不符；未自查月份：{missing or '无'}",
        size=theme.SMALL, key="county_seven", selectable=True)


def _spotcheck(draw: dict[str, Any] | None) -> ft.Control:
    if not draw or not draw.get("station"):
        return theme.muted("本月还没有抽取调阅办件（county spotcheck draw）",
                           key="county_spotcheck")
    mine = draw["station"]
    return ft.Text(f"种子 {draw.get('seed')}：抽中 {len(mine.get('drawn', []))}/"
                   f"{mine.get('population', 0)} 件 — {'、'.join(mine.get('drawn', [])) or '无'}",
                   size=theme.SMALL, key="county_spotcheck")


STATES = {"pending": "待站点答复", "answered": "已答复", "expired": "已过期"}


def _requests(ctx: AppContext, dash: Any, rows: list[dict[str, Any]]) -> ft.Control:
    """Each request with its answer's state; 查看 only on the signed-in auditor's own
    answered requests (the server refuses anyone else, and logs every reading)."""
    if not rows:
        return theme.muted("没有记录", key="county_requests")
    return ft.Column([ft.Row([
        ft.Text(f"{r['at'][:16].replace('T', ' ')} {r['auditor']} 申请查看 "
                f"{r['case']}：{r['reason']}", size=theme.SMALL),
        ft.Text(STATES.get(r.get("state", ""), "—"), size=theme.SMALL, color=theme.MUTED,
                key=f"county_request_state_{r['id']}"),
        *([ft.TextButton("查看", key=f"county_request_view_{r['id']}",
                         on_click=ctx.guard(_view(ctx, dash, r["id"])))]
          if r.get("state") == "answered" and r.get("mine") else [])],
        wrap=True) for r in rows], key="county_requests", spacing=4)


def _view(ctx: AppContext, dash: Any, request_id: str) -> Callable[[Any], Any]:
    """Open the station's answer in a dialog; the county logs this reading."""
    async def go(_: Any) -> None:
        answer = await ctx.in_thread(lambda: dash.session.client.unmask_answer(request_id))
        ctx.page.show_dialog(ft.AlertDialog(
            key="county_unmasked",
            title=ft.Text(f"办件 {answer['case']} 的个人信息"),
            content=ft.Column([
                ft.Text(_answer_text(answer), size=theme.BODY, selectable=True,
                        key="county_unmasked_text"),
                theme.muted("本次查看已由县级服务器记录（审核人员、时间）；"
                            f"答复保留至 {str(answer.get('expires_at', ''))[:16]}",
                            key="county_unmasked_note")], tight=True),
            actions=[ft.TextButton("关闭", on_click=lambda _: ctx.page.pop_dialog(),
                                   key="county_unmasked_close")]))
    return go


def _answer_text(answer: dict[str, Any]) -> str:
    if answer.get("status") == "not-found":
        return "站点答复：站点没有这个办件"
    f = answer.get("fields", {})
    return (f"姓名：{f.get('name') or '—'}\n证件号码：{f.get('cert_no') or '—'}\n"
            f"电话：{f.get('phone') or '—'}\n地址：{f.get('address') or '—'}")
