# Build the Windows bundle and the single-file station-app.exe — run this ON a Windows PC.
#
#   powershell -ExecutionPolicy Bypass -File build_scripts\build_windows.ps1 [-Bundle DIR] [-Dist DIR]
#
# Needs 64-bit Python 3.11 (py -3.11) and the network (PyPI, or the index in pip.ini) for the
# first step only. PyInstaller cannot cross-compile, so the .exe must be made on Windows.
#  1. build_scripts\wheelhouse.py build --platform windows  → dist\station-app-windows
#     (the same bundle can also be built on Linux; it is the USB stick's wheelhouse)
#  2. a throw-away venv: the app from that bundle, offline and hash-checked, plus flet-cli
#     0.82.2 and PyInstaller 6.22.3 from build_scripts\lock\pack-windows.txt (hash-pinned)
#  3. flet pack → dist\station-app.exe. flet-desktop 0.82.2's Windows wheel carries the
#     Flutter client and flet pack embeds it, so the .exe starts without any network.
# This file must stay UTF-8 with BOM (Windows PowerShell 5.1 reads it as ANSI otherwise).
param([string]$Bundle = "", [string]$Dist = "")

$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
if (-not $Bundle) { $Bundle = Join-Path $Root "dist\station-app-windows" }
if (-not $Dist) { $Dist = Join-Path $Root "dist" }

function Check([string]$What) {
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit $LASTEXITCODE)" }
}

$Py = @("py", "-3.11")
if ($env:PYTHON) { $Py = @($env:PYTHON) }
$exe = $Py[0]; $rest = @($Py | Select-Object -Skip 1)
& $exe @rest -c "import sys, struct; sys.exit(not (sys.version_info[:2] == (3, 11) and struct.calcsize('P') == 8))"
Check "64-bit Python 3.11 ($($Py -join ' '))"

if (-not (Test-Path (Join-Path $Bundle "requirements.txt"))) {
    & $exe @rest (Join-Path $Root "build_scripts\wheelhouse.py") build --platform windows --out $Bundle
    Check "wheelhouse.py build"
}

$Work = Join-Path ([System.IO.Path]::GetTempPath()) ("station-pack-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $Work | Out-Null
try {
    & $exe @rest -m venv --without-pip (Join-Path $Work "venv")
    Check "venv"
    $VPy = Join-Path $Work "venv\Scripts\python.exe"
    $PipWheel = Get-ChildItem -Path (Join-Path $Bundle "wheels") -Filter "pip-*.whl" | Select-Object -First 1

    Write-Host "== installing the app from $Bundle (offline, hash-checked)"
    $env:PIP_CONFIG_FILE = "nul"
    & $VPy (Join-Path $PipWheel.FullName "pip") --isolated install -q --no-index `
        --find-links (Join-Path $Bundle "wheels") --require-hashes --only-binary=:all: `
        -r (Join-Path $Bundle "requirements.txt")
    Check "offline install"
    Remove-Item Env:\PIP_CONFIG_FILE

    Write-Host "== installing the packaging tools (build_scripts\lock\pack-windows.txt)"
    & $VPy -m pip install -q --disable-pip-version-check --require-hashes --no-deps `
        --only-binary=:all: -r (Join-Path $Root "build_scripts\lock\pack-windows.txt")
    Check "packaging tools"
    & $VPy -m pip check
    Check "pip check"

    $Site = & $VPy -c "import pathlib, station_app; print(pathlib.Path(station_app.__file__).parent.parent)"
    # reportlab imports its barcode modules by name at run time; PyInstaller cannot see that.
    $Barcodes = (& $VPy -c "import pkgutil, reportlab.graphics.barcode as b; print(' '.join('reportlab.graphics.barcode.' + m.name for m in pkgutil.iter_modules(b.__path__)))").Split(" ")

    # The packed program is the desktop window only: leave out the web-mode server stack
    # (flet imports it only for --web), the county server's libraries and the webcam
    # component (OpenCV, numpy; the full install has it, see pack_linux.sh).
    $Excludes = @("flet_web", "fastapi", "uvicorn", "starlette", "pydantic", "pydantic_core",
                  "watchfiles", "httptools", "websockets", "psycopg", "psycopg_binary", "openpyxl",
                  "cv2", "numpy") |
        ForEach-Object { "--pyinstaller-build-args=--exclude-module=$_" }

    Write-Host "== flet pack (a few minutes)"
    Push-Location $Work
    try {
        # ';' is the --add-data separator PyInstaller has always accepted on Windows.
        & (Join-Path $Work "venv\Scripts\flet.exe") pack (Join-Path $Root "build_scripts\pack_entry.py") `
            --name station-app -y --distpath $Dist `
            --product-name "便民服务站" --file-description "便民服务站桌面程序" `
            --add-data "$Site\station_app\assets;station_app\assets" `
                       "$Site\station_app\data;station_app\data" `
                       "$Root\templates;templates" `
            --hidden-import @Barcodes @Excludes
        Check "flet pack"
    } finally { Pop-Location }
    Get-Item (Join-Path $Dist "station-app.exe") | Format-List Name, Length
} finally {
    Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
}
