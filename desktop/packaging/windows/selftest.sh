#!/usr/bin/env bash
# The Windows bundle's --self-test under Wine + Xvfb, run as a user would: from a copy of the
# folder in a path with spaces and non-ASCII letters, logging to the Windows folder platformdirs
# gives (%LOCALAPPDATA%\cxr-pneumonia\Logs). Prints the app's one line; exit status is the app's.
# Usage: selftest.sh dist/windows/cxr-pneumonia  (the environment build.sh sets up)
set -euo pipefail

BUNDLE=$(cd "$1" && pwd)
: "${WINEPREFIX:?run through build.sh, which sets up the Wine prefix}"
COPY="$WINEPREFIX/drive_c/users/Public/João Silva/Área de Trabalho/cxr pneumonia"
rm -rf "$WINEPREFIX/drive_c/users/Public/João Silva"
mkdir -p "$(dirname "$COPY")"
cp -al "$BUNDLE" "$COPY"  # hard links: no 500 MB copy
unset CXR_LOG_DIR CXR_CONFIG_DIR
rm -f "$WINEPREFIX"/drive_c/users/*/AppData/Local/cxr-pneumonia/Logs/cxr-pneumonia.log

# A windowed exe may have no stdout: the same line is in its log file.
status=0
output=$(timeout "${CXR_SELFTEST_TIMEOUT_S:-600}" xvfb-run -a -s "-screen 0 1280x800x24" \
  wine "$COPY/cxr-pneumonia.exe" --self-test 2>&1 | cat) || status=$?
logs=("$WINEPREFIX"/drive_c/users/*/AppData/Local/cxr-pneumonia/Logs/cxr-pneumonia.log)
line=$(grep -a "self-test \(OK\|FAILED\)" <<<"$output" | tail -n 1 || true)
if [ -z "$line" ] && [ -f "${logs[0]}" ]; then
  line=$(grep -a -o "self-test \(OK\|FAILED\).*" "${logs[0]}" | tail -n 1 || true)
fi
echo "${line:-self-test FAILED: no output (exit status $status)}"
if [ "$status" -ne 0 ] || [[ "$line" != "self-test OK"* ]]; then
  printf '%s\n' "$output" | tail -n 40 >&2
  exit 1
fi
if [ ! -f "${logs[0]}" ]; then
  echo "self-test FAILED: no log file under %LOCALAPPDATA%\\cxr-pneumonia\\Logs" >&2
  exit 1
fi
