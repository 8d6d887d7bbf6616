#!/usr/bin/env node
// npm run dev: tsc --watch compiles src/ to dist/ on every change (only what changed), and
// node --watch restarts the service on every new output, or a change to web/. The rule set is
// the service's own to watch (RULES_WATCH). Ctrl+C stops both.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build, buildState, TSC_ARGS, tscPath } from './build-state.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const tsc = tscPath(ROOT);
if (!tsc) {
  process.stderr.write('nextbest: npm run dev needs TypeScript: install the dev dependencies (npm ci)\n');
  process.exit(1);
}
// the service needs a dist/ to start from: outputs missing are built first (errors or not: the
// watch shows them); a dist/ only out of date starts at once and restarts when tsc has caught up
const { reason, missing } = buildState(ROOT);
if (missing) {
  process.stderr.write(`nextbest: building, ${reason}\n`);
  build(ROOT, { full: true });
}

/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
let stopping = false;
const stop = (/** @type {number} */ code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
};
const start = (/** @type {string[]} */ args) => {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  child.on('exit', (code) => stop(code ?? 1));
  children.push(child);
};

start([tsc, ...TSC_ARGS, '--watch', '--preserveWatchOutput']);
// --watch-path watches these folders rather than the files imported: the worker threads' code
// and the web pages too
start(['--watch-path=dist', '--watch-path=web', '--watch-preserve-output', 'dist/main.js']);
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
