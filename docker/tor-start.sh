#!/bin/sh
# Tor publishing the relay as an onion service. Started as root to put the onion
# key in place, then Tor drops to debian-tor itself (User in the torrc).
#
# The key: `pursuance init-deploy` makes it in deploy/tor/ (mounted at /config),
# so the address is known before the first start and invites carry it; it is
# copied into the tor volume at every start (deploy/ is the original: keep it
# backed up). Deployments from before have no such file: Tor keeps the key it
# made in the volume (relay/), and the address stays what it was.
#
# Tor takes an IP address, not a name, as an onion service's target: resolve the
# relay's container address at start.
set -e
target="${RELAY_HOST:-relay}"
ip="$(getent hosts "$target" | awk '{print $1; exit}')"
[ -n "$ip" ] || { echo "cannot resolve $target" >&2; exit 1; }
hs=/var/lib/tor/relay
mkdir -p "$hs"
if [ -f /config/hs_ed25519_secret_key ] && ! cmp -s /config/hs_ed25519_secret_key "$hs/hs_ed25519_secret_key"; then
  # A different key than the volume's: Tor derives the rest (public key, hostname) from it.
  rm -f "$hs/hs_ed25519_public_key" "$hs/hostname"
  cp /config/hs_ed25519_secret_key "$hs/hs_ed25519_secret_key"
fi
chown -R debian-tor:debian-tor /var/lib/tor
chmod 700 /var/lib/tor "$hs"
[ ! -f "$hs/hs_ed25519_secret_key" ] || chmod 600 "$hs/hs_ed25519_secret_key"
cat >/tmp/torrc <<CONF
User debian-tor
DataDirectory /var/lib/tor
HiddenServiceDir $hs
HiddenServicePort 80 $ip:${RELAY_PORT:-7717}
SocksPort 0.0.0.0:9050
CONF
exec tor -f /tmp/torrc
