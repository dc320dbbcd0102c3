#!/usr/bin/env bash
# The Windows installer of a built bundle, made with Debian's NSIS (makensis runs natively on
# Linux; no Wine): dist/windows/cxr-pneumonia-setup-VERSION.exe beside the bundle folder.
# What it does on Windows: installer.nsi. Prints the installer's path.
# Usage: installer.sh dist/windows/cxr-pneumonia ICON.ico
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUNDLE=$(cd "$1" && pwd)
ICON=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$ROOT/desktop/__init__.py")
OUT=$(dirname "$BUNDLE")/cxr-pneumonia-setup-$VERSION.exe
command -v makensis >/dev/null || { echo "install Debian's nsis (makensis)" >&2; exit 1; }
rm -f "$OUT"
makensis -V2 -INPUTCHARSET UTF8 -DVERSION="$VERSION" -DSOURCE="$BUNDLE" -DOUTFILE="$OUT" \
  -DICON="$ICON" "$HERE/installer.nsi" >&2
echo "$OUT"
