#!/bin/sh
# Run Synapse as the official image does in "run" mode.
set -e
config="${SYNAPSE_CONFIG_PATH:-/data/homeserver.yaml}"
chown -R synapse:synapse /data
exec setpriv --reuid=991 --regid=991 --init-groups /opt/synapse/bin/python -m synapse.app.homeserver --config-path "$config"
