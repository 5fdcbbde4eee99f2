"""Without OpenCV the 七有 screen still works from files; 拍照 is shown disabled and its
tooltip says why. Runs only where OpenCV is missing (the camera tests run elsewhere)."""

from __future__ import annotations

import pytest

from tests.ui.driver import App, go_to
from tests.ui.harness import ui_test


def _opencv_imports() -> bool:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


pytestmark = pytest.mark.skipif(_opencv_imports(), reason="OpenCV is installed: "
                                "tests/ui/test_seven_camera_ui.py covers the camera")


@ui_test
async def test_the_camera_button_is_disabled_and_says_why(app: App) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "七有自查")
    for code in ("SITE", "SIGN", "LEDGER"):
        button = h.find_by_key(f"seven_camera_{code}")
        assert button.disabled
        assert button.tooltip == "本机未安装摄像头组件（OpenCV），请从文件选择照片"
    assert not h.find_by_key("seven_add_SIGN").disabled  # files still work
