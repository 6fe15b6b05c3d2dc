#!/usr/bin/env bash
# Installs what the project needs on Debian 12 / Ubuntu: the Kerberos and Squid packages the lab runs
# (and libkrb5-dev, which the `kerberos` addon builds against), then the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(krb5-kdc krb5-admin-server krb5-user libkrb5-dev squid openssl curl git)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The kerberos addon's installer would first try to download a prebuilt binary from GitHub; build it
# here against libkrb5-dev instead (also set in .npmrc).
export npm_config_build_from_source=true
echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
