#!/usr/bin/env bash
# Re-derive every published wire vector in Python, independently of the
# TypeScript (scripts/vectors/check_vectors.py; see test/vectors/README.md).
#
#   scripts/vectors/check.sh [messages.json]
#
# Creates the venv $VECTORS_VENV (default .vectors-venv/ in the repo) with
# pip install -r scripts/vectors/requirements.txt on first use, and again only
# when that file changes; concurrent runs are serialised with flock. Exits 0
# when every field matches, 1 naming the first mismatching field, 2 when the
# environment cannot be set up.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
req="$here/requirements.txt"
venv="${VECTORS_VENV:-$repo/.vectors-venv}"
python="${VECTORS_PYTHON:-python3}"

die() { echo "check.sh: $*" >&2; exit 2; }

want="$(sha256sum "$req" | cut -d' ' -f1)"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null || true)" != "$want" ]] || ! "$venv/bin/python" -c 'import nacl, cryptography' 2>/dev/null; then
  command -v "$python" >/dev/null || die "$python not found (set VECTORS_PYTHON)"
  echo "check.sh: installing $(grep -cv '^\s*\(#\|$\)' "$req") pinned packages into $venv" >&2
  rm -f "$venv/.requirements.sha256"
  [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" || die "cannot create a venv with $python (python3-venv missing?)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2 || die "pip install -r $req failed"
  echo "$want" >"$venv/.requirements.sha256"
fi
exec 9>&-
exec "$venv/bin/python" "$here/check_vectors.py" "$@"
