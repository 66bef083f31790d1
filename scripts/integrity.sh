#!/usr/bin/env bash
# Sourced: mela_check_integrity FILE SRI — succeeds when FILE's digest is the Subresource
# Integrity string SRI (`sha512-<base64>`, as the npm registry's `dist.integrity` gives it);
# otherwise says what it found and fails. Node computes the digest: npm (which fetched the
# file) always brings one.
mela_check_integrity() {
  local file="$1" expected="$2" actual
  actual="$(node -e '
    const [file, algorithm] = process.argv.slice(1);
    const hash = require("node:crypto").createHash(algorithm);
    hash.update(require("node:fs").readFileSync(file));
    process.stdout.write(`${algorithm}-${hash.digest("base64")}`);
  ' "$file" "${expected%%-*}")" || return 1
  if [ "$actual" != "$expected" ]; then
    echo "[mela] integrity check failed for $(basename "$file"): expected $expected, got $actual" >&2
    return 1
  fi
}
