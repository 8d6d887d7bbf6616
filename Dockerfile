# syntax=docker/dockerfile:1
# nextbest: build with the dev dependencies, run with the production ones only.
# The build steps are .ci/run's: npm ci (whose prepare script compiles), then the compiled dist/.

# --- build: compile TypeScript ---
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

# --- run: production dependencies, the compiled service, the shipped rules and front ends ---
FROM node:24-slim
# tini is PID 1: it forwards SIGTERM to node (graceful shutdown) and reaps orphans
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY rules ./rules
COPY web ./web
# the one folder the service writes: the decision log of the memory store, and with Redis the spool
# of what a stop could not write (SPOOL_DIR); mount a volume to keep them
RUN mkdir -p data/decisions && chown -R node:node data
VOLUME ["/app/data"]
# the image's unprivileged user; the files stay root's, so the service cannot rewrite itself
USER node
EXPOSE 8080
# alive, not ready: a node waiting for Redis or draining is not restarted for it (/readyz is for the balancer)
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# V8's semi-spaces at 32 MB, as npm start gives them (docs/operations.md, "Starting")
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
