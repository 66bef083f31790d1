# syntax=docker/dockerfile:1.7
# One image for every Mela service; MELA_SERVICE picks which one runs (catalog, cart, order,
# notification). Kubernetes probes /livez and /readyz, so there is no HEALTHCHECK.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/ packages/
COPY services/ services/
COPY infra/ infra/
RUN npm ci --no-audit --no-fund
RUN npx tsc --build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find packages services -name '*.tsbuildinfo' -delete

FROM node:24-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules/ node_modules/
COPY --from=build --chown=root:root /app/packages/ packages/
COPY --from=build --chown=root:root /app/services/ services/
# Code is owned by root and read-only to the runtime user; the root filesystem can be
# mounted read-only.
USER node
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--", "sh", "-c", "exec node \"services/${MELA_SERVICE:?set MELA_SERVICE to the service to run}/dist/src/main.js\""]
