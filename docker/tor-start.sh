#!/bin/sh
# Tor takes an IP address, not a name, as an onion service's target: resolve the
# relay's container address at start. The onion address lands in the tor volume
# (relay/hostname); keep that volume, or the address changes.
set -e
target="${RELAY_HOST:-relay}"
ip="$(getent hosts "$target" | awk '{print $1; exit}')"
[ -n "$ip" ] || { echo "cannot resolve $target" >&2; exit 1; }
cat >/tmp/torrc <<CONF
DataDirectory /var/lib/tor
HiddenServiceDir /var/lib/tor/relay
HiddenServicePort 80 $ip:${RELAY_PORT:-7717}
SocksPort 0.0.0.0:9050
CONF
exec tor -f /tmp/torrc
