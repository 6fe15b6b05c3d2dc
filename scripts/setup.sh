#!/usr/bin/env bash
# Installs what the project needs on Debian 12 / Ubuntu: the Kerberos, Squid and Apache packages the lab
# runs, Heimdal's GSSAPI library beside MIT's (the tests run with both), then the npm dependencies.
# Nothing is compiled: Negotiate calls the system's GSSAPI through koffi, whose binary comes from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(krb5-kdc krb5-admin-server krb5-user libgssapi-krb5-2 libgssapi3-heimdal squid apache2 libapache2-mod-auth-gssapi openssl curl git)
PACKAGES+=(dbus libglib2.0-bin dconf-gsettings-backend gsettings-desktop-schemas dnsmasq-base) # GNOME settings (a private D-Bus session) and WPAD (dnsmasq) tests
# The AD lab (lab/ad.ts): a Samba AD DC in a network namespace, faketime for its clock-skew test.
PACKAGES+=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind ldb-tools faketime iproute2)
# NTLM: GSSAPI's NTLMSSP mechanism (MIT's GSSAPI loads it from /etc/gss/mech.d); the AD lab's Squid checks
# NTLM with winbind's ntlm_auth, and util-linux's unshare gives Squid the lab's own winbindd socket.
PACKAGES+=(gss-ntlmssp util-linux)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Installing apache2 (or squid) starts the system service, apache2 on port 80. The lab runs its own
  # instances and neither needs nor should disturb those: a policy-rc.d that refuses (exit 101) keeps
  # them from starting. One already there is the machine's own and stays; ours is removed afterwards.
  POLICY=/usr/sbin/policy-rc.d
  ours=""
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# jaato-proxy setup: no service starts during this install\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    ours=1
    trap '$SUDO rm -f "$POLICY"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$ours" ]; then
    $SUDO rm -f "$POLICY"
    trap - EXIT
  fi
fi

# No dependency needs its install script (koffi's binary is its @koromix/koffi-<platform> package).
echo "setup: npm ci"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The Windows half of the tests (SSPI under Wine): its own script, cached in .cache/wine.
bash scripts/setup-wine.sh
