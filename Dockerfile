# One image for every Mela service; MELA_SERVICE picks which one runs (catalog, cart, order,
# notification); the schema Job runs packages/schema's mela-migrate from it. Kubernetes probes
# /livez and /readyz, so there is no HEALTHCHECK.
#
# BASE is the Node.js 24 image to build on: the official one by default; `npm run image` passes
# one it makes from Debian's packages and Node.js from the npm registry, where no container
# registry can be reached. A build behind a TLS-intercepting proxy passes that proxy's CA bundle
# as the build secret `ca` (docker build --secret id=ca,src=…); it is never part of an image.
ARG BASE=node:24-bookworm-slim

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/ packages/
COPY services/ services/
COPY infra/ infra/
COPY scripts/image-files.js scripts/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && npm ci --no-audit --no-fund --loglevel=error
# The services' code and the schema package (the migration Job's mela-migrate); each builds only
# the packages its code imports, not its tests' helpers.
RUN npx tsc --build services/catalog/storefront services/catalog services/cart services/order \
      services/notification packages/schema
# Only what the services run: their compiled code and the workspace packages they import
# (declaration files, sources and tests stay behind), and only those packages' runtime
# dependencies — not the tooling's (Kubernetes client, dashboards SDK, load and bench tools).
RUN node scripts/image-files.js /out
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && cd /out && npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && rm package-lock.json

FROM ${BASE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# Code is owned by root and read-only to the runtime user; the root filesystem can be
# mounted read-only.
COPY --from=build --chown=root:root /out/ ./
USER node
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--", "sh", "-c", "exec node \"services/${MELA_SERVICE:?set MELA_SERVICE to the service to run}/dist/src/main.js\""]
