#!/usr/bin/env bash
# Entry point of `npm start`, `npm test` and `npm run deps`: makes sure Node 24 and the
# workspace's packages are installed and built, then hands over to the CLI (packages/cli).
# Idempotent and quick when everything is already in place.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/node-env.sh

lock_stamp=node_modules/.mela-lock.sha256
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$lock_sum" ]; then
  echo "[mela] installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$lock_stamp"
fi

echo "[mela] building (tsc --build)" >&2
npm run --silent build

# Local-mode secrets, made once per checkout (each added when missing): the dev JWT secret, the
# dev-token switch, the key signing anonymous clients' ids for the rate limiter.
mkdir -p .mela
(umask 077 && touch .mela/local.env)
random_secret() { node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))'; }
grep -q '^AUTH_JWT_SECRET=' .mela/local.env || echo "AUTH_JWT_SECRET=$(random_secret)" >> .mela/local.env
grep -q '^AUTH_DEV_TOKENS=' .mela/local.env || echo 'AUTH_DEV_TOKENS=true' >> .mela/local.env
grep -q '^RATE_LIMIT_CLIENT_SECRET=' .mela/local.env ||
  echo "RATE_LIMIT_CLIENT_SECRET=$(random_secret)" >> .mela/local.env

case "${1:-}" in
  dev-token) shift; set -a; source .mela/local.env; set +a; exec node packages/platform/dist/src/dev-token.cli.js "$@" ;;
  # kafkajs 2.2.4 (the bench's comparison) trips a harmless TimeoutNegativeWarning on Node 24
  # (tulios/kafkajs#1751).
  *) exec node --disable-warning=TimeoutNegativeWarning packages/cli/dist/src/cli.js "$@" ;;
esac
