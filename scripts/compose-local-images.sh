#!/usr/bin/env bash
# Local stand-ins for the stack's base images, for machines that reach no image
# registry (CI here): a Debian bookworm root filesystem made with debootstrap
# from Debian's archive and `docker import`ed, then node, Synapse, PostgreSQL
# and Tor images built on it. Real deployments use the official images named in
# docker-compose.yml; docker-compose.local.yml points the stack at these.
#
#   scripts/compose-local-images.sh          build what is missing (cached by tag)
#   scripts/compose-local-images.sh --force  rebuild all of them
set -euo pipefail
cd "$(dirname "$0")/.."

force=""
[ "${1:-}" = "--force" ] && force=1
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
say() { echo "[local-images $(date +%H:%M:%S)] $*"; }
have() { [ -z "$force" ] && docker image inspect "$1" >/dev/null 2>&1; }

base=pursuance-local/debian:bookworm
if have "$base"; then
  say "$base: cached"
else
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  root="$(mktemp -d /tmp/pursuance-rootfs.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  say "$base: debootstrap bookworm from $mirror (a few minutes)…"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >/tmp/pursuance-debootstrap.log 2>&1 ||
    { tail -20 /tmp/pursuance-debootstrap.log >&2; exit 1; }
  # apt inside the images: the same archive, no recommends, no docs.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" >"$root/etc/apt/sources.list"
  printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/90norecommends"
  # This machine's trust store: where HTTPS goes through an inspecting proxy, its CA (in the
  # host's bundle) is what lets pip and npm inside the images reach PyPI and the npm registry.
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$base" >/dev/null
  rm -rf "$root"
  trap - EXIT
  say "$base: imported"
fi

build() { # tag, dockerfile, context
  if have "$1"; then say "$1: cached"; return; fi
  say "$1: building…"
  docker build --network host -q -t "$1" -f "$2" --build-arg "BASE=$base" "$3" >/dev/null
  say "$1: built"
}

# Node: the host's own Node 20 and npm, copied in (no registry serves node:20 here).
node_ctx="$(mktemp -d /tmp/pursuance-node.XXXXXX)"
cp "$(command -v node)" "$node_ctx/node"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
cp -r "$npm_dir" "$node_ctx/npm"
build pursuance-local/node:20 docker/local/node.Dockerfile "$node_ctx"
rm -rf "$node_ctx"

# Synapse: the version the tests pin (scripts/synapse-requirements.txt), from PyPI.
syn_ctx="$(mktemp -d /tmp/pursuance-synapse.XXXXXX)"
cp scripts/synapse-requirements.txt "$syn_ctx/requirements.txt"
cp docker/local/synapse-start.sh "$syn_ctx/"
build pursuance-local/synapse docker/local/synapse.Dockerfile "$syn_ctx"
rm -rf "$syn_ctx"
build pursuance-local/postgres docker/local/postgres.Dockerfile docker/local
say "done"
