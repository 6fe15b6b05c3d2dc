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

source scripts/apt-install.sh
apt_install setup "${PACKAGES[@]}"

# No dependency needs its install script (koffi's binary is its @koromix/koffi-<platform> package).
echo "setup: npm ci"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The Windows half of the tests (SSPI under Wine): its own script, cached in .cache/wine.
bash scripts/setup-wine.sh
