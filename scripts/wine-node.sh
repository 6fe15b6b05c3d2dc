#!/usr/bin/env bash
# Runs a script under Node for Windows in the Wine harness that scripts/setup-wine.sh prepared, then
# prints what it wrote. Stdout and stderr go to files first: a pipe makes Node for Windows die with
# EBADF. Packages resolve from the script's own directory up, as always: a script inside
# .cache/wine/app gets the win32 packages installed there (koffi, and jaato-proxy once a test copied it).
#   bash scripts/wine-node.sh script.mjs [args...]      (the script's path is a Unix path)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODE_WIN_VERSION=22.22.2
WINE_DIR="${JAATO_WINE_DIR:-$ROOT/.cache/wine}"
[ -x "$WINE_DIR/node-$NODE_WIN_VERSION/node.exe" ] || { echo "wine-node: run bash scripts/setup-wine.sh first" >&2; exit 1; }
script="$(realpath "$1")"
shift
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0
(cd "$WINE_DIR/app" && env -u DISPLAY WINEPREFIX="$WINE_DIR/prefix" WINEDEBUG="${WINEDEBUG:--all}" WINEDLLOVERRIDES='mscoree,mshtml=' \
  wine "$WINE_DIR/node-$NODE_WIN_VERSION/node.exe" "Z:${script//\//\\}" "$@" >"$out/stdout" 2>"$out/stderr") || status=$?
cat "$out/stdout"
cat "$out/stderr" >&2
exit "$status"
