"""Where a station keeps its data when nobody says otherwise."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def default_data_dir() -> Path:
    """``$STATION_DATA``, else the per-user application data folder of this PC."""
    configured = os.environ.get("STATION_DATA")
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "station-app" / "data"
