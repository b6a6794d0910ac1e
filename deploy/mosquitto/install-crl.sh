#!/bin/sh
# Installs a fleet CRL for Mosquitto and makes the broker reload it.
#
#   install-crl.sh TARGET_CRL PID_FILE
#
# Run by each Vigil verifier replica after it reissued its CRL
# (broker.crlReloadCommand: ["/usr/local/lib/vigil/install-crl.sh",
# "/etc/mosquitto/vigil/crl.pem", "/run/mosquitto/mosquitto.pid"]), with
# VIGIL_CRL_FILE naming the replica's new CRL. Several replicas hand over
# their CRLs; each is built from the shared store, and its cRLNumber never
# goes back in time, so the one with the larger cRLNumber is the newer: an
# older one arriving late is not installed. Replicas on other hosts copy
# their CRL to the broker host first (e.g. scp, then run this over ssh).
#
# Mosquitto reads `crlfile` at start and on SIGHUP only.
set -eu
src=${VIGIL_CRL_FILE:?VIGIL_CRL_FILE must name the new CRL}
target=${1:?usage: install-crl.sh TARGET_CRL PID_FILE}
pidfile=${2:?usage: install-crl.sh TARGET_CRL PID_FILE}

# cRLNumber as 40 upper-case hex digits, so that string order is numeric order.
number() {
  n=$(openssl crl -in "$1" -noout -crlnumber 2>/dev/null | sed -n 's/^crlNumber=0x//p' | tr 'a-f' 'A-F')
  [ -n "$n" ] || return 1
  printf '%040s' "$n" | tr ' ' 0
}

new=$(number "$src") || { echo "install-crl: $src is not a CRL with a cRLNumber" >&2; exit 2; }
(
  # One installer at a time (replicas on this host).
  flock 9
  if old=$(number "$target" 2>/dev/null); then
    newest=$(printf '%s\n%s\n' "$old" "$new" | sort | tail -n 1)
    if [ "$new" = "$old" ] || [ "$newest" != "$new" ]; then exit 0; fi
  fi
  tmp="$target.$$.tmp"
  cp "$src" "$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$target"
  kill -HUP "$(cat "$pidfile")"
) 9>"$target.lock"
