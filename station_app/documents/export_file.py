"""Where an export may be written, and writing it whole or not at all.

Shared by the PDF report (``audit_report``) and the county's workbook and CSV exports
(``sync.county.exports``): the same refusals, checked before any work, and the same
temp-file-fsync-rename so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from station_app.errors import ExportFailed


def export_target(path: Path, suffix: str) -> Path:
    """Refuse before any work: a wrong suffix, a missing folder, a folder as the target."""
    def refuse(reason: str, reason_en: str) -> ExportFailed:
        return ExportFailed(path=str(path), reason=reason, reason_en=reason_en)

    if path.suffix.lower() != suffix:
        raise refuse(f"文件名应以 {suffix} 结尾", f"the file name must end in {suffix}")
    if path.is_dir():
        raise refuse("这是一个文件夹", "it is a folder")
    if not path.parent.is_dir():
        raise refuse(f"文件夹“{path.parent}”不存在", f"folder {path.parent} does not exist")
    return path


def write_whole(path: Path, data: bytes) -> None:
    """Temp file beside the target, fsync, rename; on failure nothing is left behind."""
    tmp = None
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        raise ExportFailed(path=str(path), reason=f"无法写入（{reason}）",
                           reason_en=f"cannot write ({reason})") from None
