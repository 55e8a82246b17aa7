#!/usr/bin/env bash
# The README's install-and-demo command for machines whose Node.js is older
# than 22.13: provides Node 22 from the npm registry, installs, runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
npm ci --no-audit --no-fund
exec npm run demo -- "$@"
