"""Sizes and colours: big targets and legible text for people who are not computer specialists."""

from __future__ import annotations

import flet as ft

FONT_FAMILY = "cjk"
FONT_ASSET = "fonts/wqy-microhei.ttc"
BODY = 16
SMALL = 14
TITLE = 22
BUTTON_HEIGHT = 48
FIELD_WIDTH = 320

PRIMARY = "#1d5fa8"
OVERDUE = "#c62828"
DUE_SOON = "#b26a00"
OK = "#2e7d32"
MUTED = "#5f6368"
OVERDUE_BG = "#fdecea"
DUE_SOON_BG = "#fff4e0"


def theme() -> ft.Theme:
    return ft.Theme(font_family=FONT_FAMILY, color_scheme_seed=PRIMARY)


def title(text: str, key: str | None = None) -> ft.Text:
    return ft.Text(text, size=TITLE, weight=ft.FontWeight.BOLD, key=key)


def muted(text: str, key: str | None = None) -> ft.Text:
    return ft.Text(text, size=SMALL, color=MUTED, key=key)


def button(text: str, on_click: object, *, key: str | None = None, primary: bool = True,
           icon: str | None = None, disabled: bool = False) -> ft.Control:
    kind = ft.FilledButton if primary else ft.OutlinedButton
    return kind(text, icon=icon, on_click=on_click, key=key, height=BUTTON_HEIGHT,
                disabled=disabled)


def field(label: str, *, key: str, width: int = FIELD_WIDTH, password: bool = False,
          hint: str = "", value: str = "", multiline: bool = False,
          autofocus: bool = False) -> ft.TextField:
    return ft.TextField(label=label, key=key, width=width, password=password, hint_text=hint,
                        value=value, multiline=multiline, autofocus=autofocus,
                        text_size=BODY, dense=False)


def dropdown(label: str, options: list[tuple[str, str]], *, key: str, value: str | None = None,
             width: int = FIELD_WIDTH) -> ft.Dropdown:
    return ft.Dropdown(label=label, key=key, width=width, value=value,
                       options=[ft.DropdownOption(key=k, text=t) for k, t in options])
