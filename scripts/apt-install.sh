# Sourced by setup.sh and setup-wine.sh. `apt_install LABEL PACKAGE...` installs those of the Debian
# packages that are not installed yet (as root, or through sudo), without starting their services.
apt_install() {
  local label="$1"
  shift
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "$label: installing Debian packages: ${missing[*]}"
  local SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Lists updated within the hour (by the other script, a minute ago) are used as they are.
  find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | grep -q . || $SUDO apt-get update -qq
  # Installing apache2 (or squid) starts the system service, apache2 on port 80. The lab runs its own
  # instances and neither needs nor should disturb those: a policy-rc.d that refuses (exit 101) keeps
  # them from starting. One already there is the machine's own and stays; ours is removed afterwards.
  local POLICY=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# jaato-proxy setup: no service starts during this install\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    ours=1
    # Expanded now: the trap runs after this function's locals are gone.
    trap "$SUDO rm -f $POLICY" EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$ours" ]; then
    $SUDO rm -f "$POLICY"
    trap - EXIT
  fi
}
