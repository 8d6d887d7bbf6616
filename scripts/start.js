#!/usr/bin/env node
// npm start: serves the build in dist/ (the one `npm ci` made), compiling first only when dist/
// is missing or older than src/, package.json or a tsconfig. Then runs dist/main.js in this
// process: signals, exit codes and node:cluster's workers are the service's own.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { build, buildState, tscPath } from './build-state.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// a worker of node:cluster runs this file too: the primary has built
if (cluster.isPrimary) {
  const { reason, missing } = buildState(ROOT);
  if (reason) {
    if (!tscPath(ROOT)) {
      process.stderr.write(
        `nextbest: cannot start: ${reason} and TypeScript is not installed: install the dev dependencies (npm ci), or copy a built dist/\n`,
      );
      process.exit(1);
    }
    process.stderr.write(`nextbest: building, ${reason}\n`);
    const code = build(ROOT, { full: missing });
    if (code !== 0) {
      process.stderr.write('nextbest: the build failed (see above): not starting\n');
      process.exit(code);
    }
  }
}
await import(new URL('../dist/main.js', import.meta.url).href);
