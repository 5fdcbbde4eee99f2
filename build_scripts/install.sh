#!/bin/sh
# 便民服务站 · offline installer for Linux (no network, no IT staff).
#
#   sh install.sh [TARGET]        # default: $STATION_HOME or ~/station-app
#
# Runs from the bundle built by build_scripts/wheelhouse.py (wheels/, requirements.txt,
# templates/). Needs only Python 3.11 (Debian 12 / 统信 UOS / 麒麟 ship it): the venv is made
# --without-pip and pip itself runs from the bundled pip wheel, so python3-venv/ensurepip are
# not needed. pip never touches the network: --no-index, only the bundle's wheels, and every
# file must match its sha256 in requirements.txt (--require-hashes). The station's data folder
# lives elsewhere (the user data folder), so running this again upgrades without losing data.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${1:-${STATION_HOME:-$HOME/station-app}}

say() { printf '%s\n%s\n' "$1" "$2"; }
fail() {
    printf '\n安装失败：%s\nInstallation failed: %s\n' "$1" "$2" >&2
    exit 1
}

PY=""
for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        PY=$candidate
        break
    fi
done
[ -n "$PY" ] || fail "找不到 Python 3.11。请先安装 python3.11（Debian 12、统信、麒麟的安装光盘里都有），再运行本程序。" \
    "Python 3.11 was not found. Install python3.11 (it is on the Debian 12 / UOS / Kylin media), then run this again."

PIP_WHEEL=$(ls "$HERE"/wheels/pip-*.whl 2>/dev/null | head -n 1 || true)
if [ ! -f "$HERE/requirements.txt" ] || [ -z "$PIP_WHEEL" ] || [ ! -d "$HERE/templates" ]; then
    fail "安装包不完整（缺少 wheels/、requirements.txt 或 templates/）。请把 U 盘上的整个文件夹重新拷贝过来。" \
        "the bundle is incomplete (wheels/, requirements.txt or templates/ missing). Copy the whole folder from the USB stick again."
fi

say "正在安装便民服务站到 $TARGET（不需要网络）……" "Installing station-app into $TARGET (no network needed)..."
VENV="$TARGET/venv"
mkdir -p "$TARGET/bin" || fail "无法创建目录 $TARGET（没有写入权限？）。" "cannot create $TARGET (no write permission?)."
rm -rf "$VENV"
"$PY" -m venv --without-pip "$VENV" \
    || fail "无法创建 Python 环境（venv）。" "could not create the Python virtual environment (venv)."

# PIP_CONFIG_FILE=/dev/null + --isolated: no pip.conf or PIP_* variable can add an index.
if ! PIP_CONFIG_FILE=/dev/null PIP_NO_INPUT=1 "$VENV/bin/python" "$PIP_WHEEL/pip" --isolated \
        install --no-index --find-links "$HERE/wheels" --require-hashes --only-binary=:all: \
        --no-cache-dir --disable-pip-version-check --progress-bar off -q \
        -r "$HERE/requirements.txt"; then
    rm -rf "$VENV"
    fail "从安装包安装失败：文件可能已损坏或不是本机用的版本。请重新拷贝 U 盘上的文件夹。" \
        "installing from the bundle failed: a file may be damaged or built for another system. Copy the folder from the USB stick again."
fi

rm -rf "$TARGET/templates"
cp -R "$HERE/templates" "$TARGET/templates"

# Launchers: the wheel carries the document templates too, but the launchers point the app at
# the readable copy beside the install (unless STATION_TEMPLATES is already set), the one an
# administrator sees and may adjust.
for name in station station-app county; do
    cat > "$TARGET/bin/$name" <<EOF
#!/bin/sh
# written by the 便民服务站 installer
: "\${STATION_TEMPLATES:=$TARGET/templates}"
export STATION_TEMPLATES
exec "$VENV/bin/$name" "\$@"
EOF
    chmod +x "$TARGET/bin/$name"
done

"$TARGET/bin/station" --version >/dev/null 2>&1 \
    || fail "安装后无法运行 station 命令。" "the installed station command does not run."

# A menu entry (and a desktop icon where there is a desktop folder) for the window.
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
mkdir -p "$APPS" 2>/dev/null && cat > "$APPS/station-app.desktop" <<EOF || true
[Desktop Entry]
Type=Application
Name=便民服务站
Name[en]=Public-service station
Comment=代办、办件台账（离线）
Exec="$TARGET/bin/station-app"
Terminal=false
Categories=Office;
EOF
DESKTOP=$(xdg-user-dir DESKTOP 2>/dev/null || true)
if [ -n "$DESKTOP" ] && [ "$DESKTOP" != "$HOME" ] && [ -d "$DESKTOP" ]; then
    cp "$APPS/station-app.desktop" "$DESKTOP/" 2>/dev/null \
        && chmod +x "$DESKTOP/station-app.desktop" 2>/dev/null || true
fi

say "安装完成。启动窗口：$TARGET/bin/station-app    命令行：$TARGET/bin/station --help" \
    "Done. Start the window: $TARGET/bin/station-app    command line: $TARGET/bin/station --help"
