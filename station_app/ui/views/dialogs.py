"""Dialogs that ask for what a move needs: a reason, the missing materials, the result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import flet as ft

from station_app.domain.cases import Outcome
from station_app.domain.catalog import ServiceItem
from station_app.domain.evaluations import Channel, Level
from station_app.ui import theme
from station_app.ui.context import AppContext

FollowUp = Callable[[], Awaitable[Any]]
Submit = Callable[[dict[str, Any]], FollowUp | None]


def ask(ctx: AppContext, title: str, fields: dict[str, ft.Control], submit: Submit, *,
        key: str, ok: str = "确定", note: str = "") -> None:
    """A modal form. OK runs ``submit`` with the values (errors show next to their field and
    keep the dialog open); on success the dialog closes, then any follow-up (e.g. printing
    the notice the move calls for) runs."""

    def close(_: Any = None) -> None:
        # Close this dialog, not page.pop_dialog(): that closes the newest one, which is the
        # error bar if a refused first try is still showing one.
        dialog.open = False
        dialog.update()

    async def confirm(_: Any) -> None:
        values = {name: getattr(c, "value", None) for name, c in fields.items()}
        follow_up = submit(values)
        close()
        if follow_up is not None:
            await follow_up()

    body: list[ft.Control] = [theme.muted(note)] if note else []
    body += list(fields.values())
    dialog = ft.AlertDialog(
        modal=True, key=key, title=ft.Text(title, size=theme.TITLE),
        content=ft.Column(body, tight=True, spacing=12, scroll=ft.ScrollMode.AUTO, width=560),
        actions=[ft.TextButton("取消", on_click=close, key=f"{key}_cancel"),
                 ft.FilledButton(ok, on_click=ctx.guard(confirm, fields), key=f"{key}_ok")])
    ctx.page.show_dialog(dialog)


def reason_fields(label: str = "原因") -> dict[str, ft.Control]:
    return {"reason": theme.field(label, key="dlg_reason", width=520, multiline=True)}


def reject_fields() -> dict[str, ft.Control]:
    return {"reason": theme.field("不予受理的具体理由", key="dlg_reason", width=520,
                                  multiline=True),
            "legal_basis": theme.field("法律依据", key="dlg_legal_basis", width=520,
                                       value="《中华人民共和国行政许可法》第三十二条")}


def supplement_fields(item: ServiceItem) -> dict[str, ft.Control]:
    """一次性告知: tick every missing material at once, each with a reason."""
    fields: dict[str, ft.Control] = {}
    for i, m in enumerate(item.materials):
        fields[f"missing_{i}"] = ft.Checkbox(label=m.name, value=False, key=f"dlg_missing_{i}")
        fields[f"reason_{i}"] = theme.field("原因", key=f"dlg_missing_reason_{i}", width=320,
                                            value="未提交")
    fields["other"] = theme.field("其他需补正的材料（可选）", key="dlg_missing_other", width=520)
    fields["missing"] = ft.Text("", color=theme.OVERDUE, key="dlg_missing_error")
    fields["supplement_due"] = theme.field("补正期限（YYYY-MM-DD，可不填）",
                                           key="dlg_supplement_due", width=320)
    return fields


def missing_list(item: ServiceItem, values: dict[str, Any]) -> list[dict[str, str]]:
    out = [{"name": m.name, "reason": str(values.get(f"reason_{i}") or "未提交")}
           for i, m in enumerate(item.materials) if values.get(f"missing_{i}")]
    other = str(values.get("other") or "").strip()
    if other:
        out.append({"name": other, "reason": "需补充"})
    return out


def finish_fields(item: ServiceItem) -> dict[str, ft.Control]:
    return {
        "outcome": theme.dropdown("办结结果", [(o.value, o.label) for o in Outcome],
                                  key="dlg_outcome", value=Outcome.APPROVED.value, width=320),
        "cert_name": theme.field("结果证照名称（可选）", key="dlg_cert_name",
                                 value=item.result_name),
        "cert_no": theme.field("证照编号（可选）", key="dlg_cert_no"),
        "delivery": theme.dropdown("送达方式", [(v, v) for v in ("窗口领取", "邮寄送达",
                                                                  "代办员送达", "电子送达")],
                                   key="dlg_delivery", value="窗口领取"),
    }


def evaluation_fields(channel: Channel = Channel.WINDOW_DEVICE,
                      reasons: Sequence[str] = ()) -> dict[str, ft.Control]:
    """Level, channel, the station's 差评 reason options as ticks, and a comment."""
    fields: dict[str, ft.Control] = {
        "level": theme.dropdown("满意度", [(lv.value, lv.label) for lv in Level],
                                key="dlg_level", value=Level.VERY_SATISFIED.value),
        "channel": theme.dropdown("评价渠道", [(c.value, c.label) for c in Channel],
                                  key="dlg_channel", value=channel.value),
    }
    if reasons:
        fields["reasons_label"] = theme.muted("差评原因（不满意时勾选，可多选）")
    for i, reason in enumerate(reasons):
        fields[f"reason_{i}"] = ft.Checkbox(label=reason, value=False, key=f"dlg_reason_{i}")
    fields["comment"] = theme.field("原因或意见（不满意时原因和文字至少填一项）",
                                    key="dlg_comment", width=520, multiline=True)
    return fields


def chosen_reasons(reasons: Sequence[str], values: dict[str, Any]) -> list[str]:
    return [r for i, r in enumerate(reasons) if values.get(f"reason_{i}")]
