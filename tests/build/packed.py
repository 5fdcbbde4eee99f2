"""Running the offline bundle's products the way a village PC would: no network, a fresh home
folder, and for the packed executable no system fonts at all (only the one it carries).

Shared by tests/build and bench/bench_install.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.desktop import DesktopApp, Screen

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / "build_scripts" / "wheelhouse.py"
PACK_LINUX = ROOT / "build_scripts" / "pack_linux.sh"
DEAD = "http://127.0.0.1:9"  # the discard port: any attempt to reach the network fails at once
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a PC without network: pip and HTTP clients point at a dead port.

    Every PIP_* variable of this machine is dropped (e.g. PIP_FIND_LINKS to a local mirror) and
    the index is a dead address, so an install works only from the bundle itself.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("PIP_", "STATION_")) and k.lower() not in (
               "http_proxy", "https_proxy", "all_proxy", "no_proxy", "display")}
    path = os.pathsep.join([str(BASE_PYTHON.parent), "/usr/local/bin", "/usr/bin", "/bin"])
    env.update({"HOME": str(home), "PATH": path, "PIP_INDEX_URL": DEAD + "/",
                "http_proxy": DEAD, "https_proxy": DEAD, "HTTP_PROXY": DEAD,
                "HTTPS_PROXY": DEAD, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


def empty_fontconfig(folder: Path) -> Path:
    """A fontconfig file that lists no font folders: the system's CJK fonts are invisible."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><cachedir>{folder / 'fc-cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    return conf


class PackedApp(DesktopApp):
    """The single-file executable (``--data FOLDER --demo``) on ``screen``, offline."""

    def __init__(self, screen: Screen, exe: Path, folder: Path, home: Path, log: Path) -> None:
        self.screen, self.log = screen, log
        env = offline_env(home, DISPLAY=screen.display,
                          FONTCONFIG_FILE=str(empty_fontconfig(home.parent / "fontconfig")))
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(exe), "--data", str(folder), "--demo"], env=env, cwd=home,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.window = ""
