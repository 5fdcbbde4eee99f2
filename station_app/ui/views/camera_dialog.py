"""拍照: taking a 七有 evidence photo with the webcam (issue 7 item 3).

Flet has no camera control, so the camera is driven in Python (``station_app.services.
camera``) and the dialog shows what it sees: a frame about every ``PREVIEW_EVERY`` seconds,
read and encoded in a worker thread (``ctx.in_thread``) so the window stays responsive, shown
as JPEG bytes in an ``ft.Image`` (Flet 0.82 takes bytes or base64 text as ``src``).

拍摄 freezes the frame on screen and takes exactly that one; 重拍 goes back to the live
picture; 使用这张 checks the shot the way a chosen file is checked (re-encoded within the same
limits) and hands it to the form; 取消 drops it. However the dialog closes, the preview loop
ends and releases the camera, so another program (or the next dialog) can have it; a dialog
left open for ``LIVE_LIMIT`` closes by itself for the same reason.

Without OpenCV the 拍照 button is shown disabled, its tooltip saying why; with no camera, a
busy one or a covered lens, the dialog says so in its status line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.errors import StationError
from station_app.services.camera import (
    PhotoShot,
    Viewfinder,
    camera_unavailable,
    prepare_shot,
)
from station_app.ui import theme
from station_app.ui.context import AppContext

PREVIEW_EVERY = 0.3  # seconds between frames: live enough to aim, light on two cores
VIEW_SIZE = (480, 270)
LIVE_LIMIT = 300.0  # seconds: a dialog left open closes and frees the camera for others
Use = Callable[[PhotoShot], None]


def camera_button(ctx: AppContext, item: str, code: str, on_use: Use) -> ft.Control:
    """The 拍照 button of one item; disabled, with the reason as tooltip, without OpenCV."""
    reason = camera_unavailable()

    def start(_: Any) -> None:
        CameraDialog(ctx, item, on_use).open()

    button = theme.button("拍照", ctx.guard(start), key=f"seven_camera_{code}", primary=False,
                          icon=ft.Icons.PHOTO_CAMERA, disabled=reason is not None)
    button.tooltip = reason or "用摄像头拍一张照片"
    return button


class CameraDialog:
    def __init__(self, ctx: AppContext, item: str, on_use: Use) -> None:
        self.ctx, self.item, self.on_use = ctx, item, on_use
        self.finder: Viewfinder | None = None
        self.shot: PhotoShot | None = None
        self.running = True
        self.frozen = False
        self.reading = asyncio.Lock()  # 拍摄 waits for a frame being read: it takes that one
        self.view = ft.Container(
            ft.Text("正在打开摄像头…", color=ft.Colors.WHITE, key="camera_opening"),
            width=VIEW_SIZE[0], height=VIEW_SIZE[1], bgcolor=ft.Colors.BLACK,
            alignment=ft.Alignment.CENTER, key="camera_frame")
        self.status = ft.Text("", size=theme.SMALL, color=theme.OVERDUE, key="camera_status")
        fields = {"camera": self.status}
        self.shoot_button = ft.FilledButton("拍摄", on_click=ctx.guard(self.shoot, fields),
                                            disabled=True, key="camera_shoot")
        self.retake_button = ft.OutlinedButton("重拍", on_click=ctx.guard(self.retake, fields),
                                               visible=False, key="camera_retake")
        self.use_button = ft.FilledButton("使用这张", on_click=ctx.guard(self.use, fields),
                                          visible=False, key="camera_use")
        self.dialog = ft.AlertDialog(
            modal=True, key="camera_dialog", title=ft.Text(f"拍照：{item}", size=theme.TITLE),
            content=ft.Column([self.view, self.status], tight=True, spacing=8),
            actions=[ft.TextButton("取消", on_click=ctx.guard(self.close), key="camera_cancel"),
                     self.retake_button, self.shoot_button, self.use_button],
            on_dismiss=lambda _: self._stop())

    def open(self) -> None:
        self.ctx.page.show_dialog(self.dialog)
        self.ctx.run(self.preview)

    async def preview(self) -> None:
        """The live picture, until the dialog closes; then the camera is released."""
        try:
            self.finder = await self.ctx.in_thread(Viewfinder)
            opened = time.monotonic()
            while self.running and self.dialog.open:
                if time.monotonic() - opened > LIVE_LIMIT:
                    self.close()
                    self.ctx.toast("拍照窗口已自动关闭，以免一直占用摄像头；需要时请重新点“拍照”")
                    break
                async with self.reading:
                    if not self.frozen and self.running:
                        self._show(await self.ctx.in_thread(self.finder.preview))
                await asyncio.sleep(PREVIEW_EVERY)
        except StationError as error:  # no camera, busy, unplugged mid-preview
            self.shoot_button.disabled = True
            self._refresh(error.text)
        except Exception:  # the boundary for this task: logged, never a traceback
            self.ctx.internal_error()
        finally:
            if self.finder is not None:
                self.finder.close()  # here, not in a thread: it must happen even if cancelled

    async def shoot(self, _: Any) -> None:
        finder = self.finder
        if finder is None:
            return
        async with self.reading:  # after a frame in flight is shown, so that is the one taken
            self.frozen = True
            try:
                self.shot = await self.ctx.in_thread(
                    lambda: finder.shoot(self.item, self.ctx.now()))
            except StationError as error:  # e.g. a black frame: stay live, say why
                self.frozen = False
                error.field = "camera"
                raise
        self._buttons(taken=True)

    def retake(self, _: Any) -> None:
        self.shot, self.frozen = None, False
        self._buttons(taken=False)

    async def use(self, _: Any) -> None:
        shot = self.shot
        if shot is None:
            return
        try:
            await self.ctx.in_thread(lambda: prepare_shot(shot))  # refused here, not at 保存
        except StationError as error:
            error.field = "camera"
            raise
        self.on_use(shot)
        self.close()

    def close(self, _: Any = None) -> None:
        self._stop()
        self.dialog.open = False  # this dialog, not whichever is newest
        self.dialog.update()

    def _stop(self) -> None:
        self.running = False  # the preview loop ends and releases the camera

    def _show(self, jpeg: bytes) -> None:
        if not isinstance(self.view.content, ft.Image):  # the first frame: ready to shoot
            self.shoot_button.disabled = False
            self.view.content = ft.Image(src=jpeg, width=VIEW_SIZE[0], height=VIEW_SIZE[1],
                                         fit=ft.BoxFit.CONTAIN, gapless_playback=True,
                                         key="camera_view")
        else:
            self.view.content.src = jpeg
        self._refresh(None)

    def _buttons(self, *, taken: bool) -> None:
        self.shoot_button.visible = not taken
        self.retake_button.visible = self.use_button.visible = taken
        self.status.value = "已拍摄：满意请点“使用这张”，否则“重拍”" if taken else ""
        self.status.color = theme.MUTED if taken else theme.OVERDUE

    def _refresh(self, error: str | None) -> None:
        if not self.running:
            return  # closed meanwhile: nothing on screen to update
        if error is not None:
            self.status.value, self.status.color = error, theme.OVERDUE
        self.dialog.update()
