"""The layering rules, read from the code itself so they cannot quietly rot.

    domain ← store ← services ← ui / cli        (arrows point at what may be imported)
    crypto is a leaf recipe layer usable by store and services; documents (the PDF renderer)
    sits beside the store and sees only the domain; sync never imports the UI.

    sync.protocol is pure like the domain: the station client, the county server and the
    USB path share it. The county server (sync.county) reuses the domain, the crypto recipes
    and the log verifier, never the station's store or services: it has its own database.

And one importer per library: each third-party I/O library lives in exactly one place.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("station_app", "sync")
STDLIB = set(sys.stdlib_module_names)

# Which internal packages each layer may import (by dotted prefix).
LAYER_RULES = {
    "station_app.domain": ("station_app.domain", "station_app.errors"),
    "station_app.crypto": ("station_app.crypto", "station_app.errors"),
    "station_app.store": ("station_app.store", "station_app.domain", "station_app.crypto",
                          "station_app.errors"),
    "station_app.documents": ("station_app.documents", "station_app.domain",
                              "station_app.errors"),
    # media (photo re-encoding) is a leaf recipe like crypto, used by the services alone
    "station_app.media": ("station_app.media", "station_app.errors"),
    # the webcam (OpenCV) hands its frames to media's re-encoding, nothing else
    "station_app.media_camera": ("station_app.media", "station_app.errors"),
    "station_app.services": ("station_app.services", "station_app.store", "station_app.domain",
                             "station_app.crypto", "station_app.documents", "station_app.errors",
                             "station_app.media"),
    # the UI sees services and the domain, never the store, SQL or crypto; of sync, only the
    # background scheduler (sync.auto: status, enrollment, 立即同步), which runs its sessions
    # on its own thread and connection, so the UI never talks to the county itself
    "station_app.ui": ("station_app.ui", "station_app.services", "station_app.domain",
                       "station_app.errors", "sync.auto"),
    "sync.protocol": ("station_app.domain", "station_app.errors"),
    # The relay envelope is a wire format like sync.protocol, pure too: the county routes
    # envelopes (checking who signed them) and the stations seal and open them.
    "sync.relay": ("sync.relay", "sync.protocol", "station_app.domain", "station_app.errors"),
    "sync.county": ("sync.county", "sync.protocol", "sync.relay", "sync.codec",
                    "station_app.domain", "station_app.crypto", "station_app.errors",
                    "station_app.documents"),
    "sync": ("sync", "station_app.domain", "station_app.crypto", "station_app.store",
             "station_app.services", "station_app.errors"),
}
# Third-party (and sensitive stdlib) libraries, and the only places allowed to import them.
LIBRARY_HOMES = {
    "sqlite_utils": ("station_app.store",),
    "sqlite3": ("station_app.store", "sync.county.store"),  # the county's own database
    "psycopg": ("sync.county.store",),
    "starlette": ("sync.county.app",),
    "uvicorn": ("sync.county.app",),  # the web API and the processes that serve it
    "zstandard": ("sync.codec",),
    "flet": ("station_app.ui",),
    "reportlab": ("station_app.documents",),  # the renderer and the audit report
    "openpyxl": ("sync.county.exports",),
    "httpx": ("sync.client",),
    "cryptography": ("station_app.crypto",),
    "chinese_calendar": ("station_app.services.calendar_seed",),
    "click": ("station_app.cli", "sync.county.cli"),
    "PIL": ("station_app.media",),  # evidence photos (Pillow; reportlab uses it on its own)
    "cv2": ("station_app.media_camera",),  # webcam capture (opencv-python-headless)
    "numpy": (),  # comes with OpenCV; its frames are used through their own methods
    "pypinyin": (),  # build time only (build_scripts/make_pinyin_table.py)
}
# Stdlib modules the pure domain must not touch: I/O, clocks, randomness, processes.
DOMAIN_FORBIDDEN_STDLIB = {"os", "sqlite3", "socket", "subprocess", "random", "secrets", "time",
                           "uuid", "pathlib", "shutil", "threading", "asyncio", "urllib"}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(p for p in parts if p != "__init__")
            found.append((name, path))
    return found


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = module.split(".")[: -node.level]
                names.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                names.add(node.module)
    return names


MODULES = modules()


def _layer_of(module: str) -> str | None:
    """The most specific layer a module belongs to (sync.county before sync)."""
    matches = [layer for layer in LAYER_RULES
               if module == layer or module.startswith(layer + ".")]
    return max(matches, key=len, default=None)


def test_the_layout_exists():
    for folder in ("station_app", "sync", "templates", "tests", "build_scripts"):
        assert (ROOT / folder).is_dir(), folder
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "README.md").is_file()
    assert len(MODULES) > 20


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_each_module_imports_only_what_its_layer_allows(module: str, path: Path):
    for name in imports_of(path, module):
        top = name.split(".")[0]
        home = LIBRARY_HOMES.get(top)
        if home is not None:
            assert module.startswith(home), f"{module} imports {name}; only {home} may"
        layer = _layer_of(module)
        if layer is not None and top in PACKAGES:
            assert name.startswith(LAYER_RULES[layer]), f"{module} ({layer}) imports {name}"
        if module.startswith("station_app.domain"):
            assert top in STDLIB or top == "station_app", f"domain module {module} imports {name}"
            assert top not in DOMAIN_FORBIDDEN_STDLIB, f"domain module {module} uses {name}"
        if module.startswith("sync"):
            assert not name.startswith(("station_app.ui", "station_app.cli")), (module, name)


def test_the_domain_never_reads_the_clock():
    for module, path in MODULES:
        if module.startswith("station_app.domain"):
            text = path.read_text(encoding="utf-8")
            for call in ("datetime.now(", "date.today(", "datetime.utcnow(", "time.time("):
                assert call not in text, f"{module} calls {call}"
