#!/usr/bin/env bash
# Install the Debian packages given as arguments when they are missing (chromium for the browser
# test, fonts-noto-cjk for Chinese in charts and screenshots). Used by `make test`, `make serve`
# and .ci/run, so a fresh machine needs no manual step. Needs root or sudo when something is missing.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "debian-deps: ${missing[*]} missing and no apt-get here: install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "debian-deps: run as root or install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "debian-deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
