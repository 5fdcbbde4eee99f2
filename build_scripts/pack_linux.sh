#!/bin/sh
# A single-file Linux executable of the desktop window (flet pack + PyInstaller).
#
#   sh build_scripts/pack_linux.sh [BUNDLE] [DISTDIR]     # → DISTDIR/station-app (~76 MB)
#
# BUNDLE is the Linux wheelhouse (default dist/station-app-linux; built first if missing).
# The app and its runtime are installed from it offline and hash-checked, so the executable
# holds exactly the locked wheels; the packaging tools (flet-cli 0.82.2, PyInstaller 6.22.3)
# come from build_scripts/lock/pack-linux.txt, also pinned by hash (PyPI or your pip index).
# flet 0.82.2's flet-desktop-light wheel carries the Flutter client, and flet pack puts it in
# the executable: nothing is downloaded when the program starts (it unpacks the client into
# ~/.flet/client on first start). The CJK font is bundled with the app's assets.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=${1:-$ROOT/dist/station-app-linux}
DIST=${2:-$ROOT/dist}
PY=${PYTHON:-python3}

if [ ! -f "$BUNDLE/requirements.txt" ]; then
    "$PY" "$ROOT/build_scripts/wheelhouse.py" build --platform linux --out "$BUNDLE"
fi
BUNDLE=$(cd "$BUNDLE" && pwd)
mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/station-pack.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
"$PY" -m venv --without-pip "$WORK/venv"
VPY="$WORK/venv/bin/python"
PIP_WHEEL=$(ls "$BUNDLE"/wheels/pip-*.whl | head -n 1)

echo "== installing the app from $BUNDLE (offline, hash-checked)"
PIP_CONFIG_FILE=/dev/null "$VPY" "$PIP_WHEEL/pip" --isolated install -q --no-compile --no-index \
    --find-links "$BUNDLE/wheels" --require-hashes --only-binary=:all: \
    -r "$BUNDLE/requirements.txt"
echo "== installing the packaging tools (build_scripts/lock/pack-linux.txt)"
"$VPY" -m pip install -q --no-compile --disable-pip-version-check --require-hashes --no-deps \
    --only-binary=:all: -r "$ROOT/build_scripts/lock/pack-linux.txt"
"$VPY" -m pip check

SITE=$("$VPY" -c 'import pathlib, station_app; print(pathlib.Path(station_app.__file__).parent.parent)')
# reportlab imports its barcode modules by name at run time; PyInstaller cannot see that.
BARCODES=$("$VPY" -c 'import pkgutil, reportlab.graphics.barcode as b
print(" ".join("reportlab.graphics.barcode." + m.name for m in pkgutil.iter_modules(b.__path__)))')

# The packed program is the desktop window only: leave out the web-mode server stack (flet
# imports it only for --web) and the county server's libraries: 87 MB → 76 MB. The webcam
# component (OpenCV, numpy: ~60 MB more) is left out too; the full install from the
# wheelhouse has it, and without it the program takes 七有 photos from files.
EXCLUDES=""
for module in flet_web fastapi uvicorn starlette pydantic pydantic_core watchfiles httptools \
        uvloop websockets psycopg psycopg_binary openpyxl cv2 numpy; do
    EXCLUDES="$EXCLUDES --pyinstaller-build-args=--exclude-module=$module"
done

echo "== flet pack (about a minute)"
cd "$WORK"
# shellcheck disable=SC2086  # BARCODES and EXCLUDES are lists of words
"$WORK/venv/bin/flet" pack "$ROOT/build_scripts/pack_entry.py" --name station-app -y \
    --distpath "$DIST" \
    --add-data "$SITE/station_app/assets:station_app/assets" \
    "$SITE/station_app/data:station_app/data" "$ROOT/templates:templates" \
    --hidden-import $BARCODES $EXCLUDES
ls -l "$DIST/station-app"
