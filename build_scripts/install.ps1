# 便民服务站 · offline installer for Windows (no network, no IT staff).
#
#   双击 install.bat，或 / or:  powershell -ExecutionPolicy Bypass -File install.ps1 [-Target DIR]
#
# Runs from the bundle built by build_scripts/wheelhouse.py --platform windows (wheels\,
# requirements.txt, templates\). Needs Python 3.11 (64-bit): found with the py launcher or on
# PATH; if it is missing and the bundle carries python-3.11.*-amd64.exe, that installer runs
# silently for the current user first. pip never touches the network: --no-index, only the
# bundle's wheels, each checked against its sha256 (--require-hashes). The station's data
# folder lives elsewhere, so running this again upgrades without losing data.
# This file must stay UTF-8 *with* BOM: Windows PowerShell 5.1 reads it as GBK otherwise.
param([string]$Target = (Join-Path $env:LOCALAPPDATA "StationApp"))

$ErrorActionPreference = "Stop"
try { [Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { }
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path

function Say([string]$Zh, [string]$En) { Write-Host $Zh; Write-Host $En }
function Fail([string]$Zh, [string]$En) {
    Write-Host ""
    Write-Host "安装失败：$Zh" -ForegroundColor Red
    Write-Host "Installation failed: $En" -ForegroundColor Red
    exit 1
}

function Test-Python311([string[]]$Command) {
    try {
        $exe = $Command[0]; $rest = @($Command | Select-Object -Skip 1)
        & $exe @rest -c "import sys, struct; sys.exit(not (sys.version_info[:2] == (3, 11) and struct.calcsize('P') == 8))" 2>$null
        return ($LASTEXITCODE -eq 0)
    } catch { return $false }
}

# The leading comma keeps a one-element answer an array (PowerShell unrolls returns).
function Find-Python311 {
    if ($env:PYTHON -and (Test-Python311 @($env:PYTHON))) { return ,@($env:PYTHON) }
    if ((Get-Command py -ErrorAction SilentlyContinue) -and (Test-Python311 @("py", "-3.11"))) {
        return ,@("py", "-3.11")
    }
    foreach ($candidate in @("python", (Join-Path $env:LOCALAPPDATA "Programs\Python\Python311\python.exe"),
                             "C:\Program Files\Python311\python.exe")) {
        if ((Get-Command $candidate -ErrorAction SilentlyContinue) -and (Test-Python311 @($candidate))) {
            return ,@($candidate)
        }
    }
    return $null
}

$Python = Find-Python311
if (-not $Python) {
    $Installer = Get-ChildItem -Path $Here -Filter "python-3.11*-amd64.exe" -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($Installer) {
        Say "正在安装 Python 3.11（只为当前用户，约需 1 分钟）……" "Installing Python 3.11 for this user (about a minute)..."
        $p = Start-Process -FilePath $Installer.FullName -Wait -PassThru `
            -ArgumentList "/quiet", "InstallAllUsers=0", "PrependPath=0", "Include_test=0", "Include_launcher=1"
        if ($p.ExitCode -ne 0) { Fail "Python 3.11 安装程序出错（代码 $($p.ExitCode)）。" "the Python 3.11 installer failed (code $($p.ExitCode))." }
        $Python = Find-Python311
    }
}
if (-not $Python) {
    Fail "找不到 64 位 Python 3.11。请把 python-3.11.x-amd64.exe 放在本文件夹里再运行，或先安装它。" `
         "64-bit Python 3.11 was not found. Put python-3.11.x-amd64.exe in this folder and run again, or install it first."
}

$Requirements = Join-Path $Here "requirements.txt"
$PipWheel = Get-ChildItem -Path (Join-Path $Here "wheels") -Filter "pip-*.whl" -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not (Test-Path $Requirements) -or -not $PipWheel -or -not (Test-Path (Join-Path $Here "templates"))) {
    Fail "安装包不完整（缺少 wheels、requirements.txt 或 templates）。请把 U 盘上的整个文件夹重新拷贝过来。" `
         "the bundle is incomplete (wheels, requirements.txt or templates missing). Copy the whole folder from the USB stick again."
}

Say "正在安装便民服务站到 $Target（不需要网络）……" "Installing station-app into $Target (no network needed)..."
$Venv = Join-Path $Target "venv"
$Bin = Join-Path $Target "bin"
New-Item -ItemType Directory -Force -Path $Bin | Out-Null
if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
$exe = $Python[0]; $rest = @($Python | Select-Object -Skip 1)
& $exe @rest -m venv --without-pip $Venv
if ($LASTEXITCODE -ne 0) { Fail "无法创建 Python 环境（venv）。" "could not create the Python virtual environment (venv)." }

# PIP_CONFIG_FILE=nul + --isolated: no pip.ini or PIP_* variable can add an index.
$env:PIP_CONFIG_FILE = "nul"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
& $VenvPython (Join-Path $PipWheel.FullName "pip") --isolated install --no-index `
    --find-links (Join-Path $Here "wheels") --require-hashes --only-binary=:all: `
    --no-cache-dir --disable-pip-version-check --progress-bar off -q -r $Requirements
if ($LASTEXITCODE -ne 0) {
    Remove-Item -Recurse -Force $Venv -ErrorAction SilentlyContinue
    Fail "从安装包安装失败：文件可能已损坏或不是本机用的版本。请重新拷贝 U 盘上的文件夹。" `
         "installing from the bundle failed: a file may be damaged or built for another system. Copy the folder from the USB stick again."
}

$Templates = Join-Path $Target "templates"
if (Test-Path $Templates) { Remove-Item -Recurse -Force $Templates }
Copy-Item -Recurse (Join-Path $Here "templates") $Templates

# Launchers: point the app at the readable copy of the templates beside the install (the
# wheel carries them too).
foreach ($name in @("station", "station-app", "county")) {
    $lines = @(
        "@echo off",
        "if not defined STATION_TEMPLATES set `"STATION_TEMPLATES=$Templates`"",
        "`"$Venv\Scripts\$name.exe`" %*"
    )
    Set-Content -Path (Join-Path $Bin "$name.cmd") -Value $lines -Encoding Default  # ANSI = the code page cmd.exe reads (GBK on Chinese Windows)
}

& (Join-Path $Bin "station.cmd") --version | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "安装后无法运行 station 命令。" "the installed station command does not run." }

# A desktop shortcut for the window (minimised console behind it).
try {
    $shell = New-Object -ComObject WScript.Shell
    $link = $shell.CreateShortcut((Join-Path ([Environment]::GetFolderPath("Desktop")) "便民服务站.lnk"))
    $link.TargetPath = Join-Path $Bin "station-app.cmd"
    $link.WorkingDirectory = $Target
    $link.WindowStyle = 7
    $link.Save()
} catch { }

Say "安装完成。桌面上有“便民服务站”图标；命令行：$Bin\station.cmd --help" `
    "Done. There is a 便民服务站 icon on the desktop; command line: $Bin\station.cmd --help"
