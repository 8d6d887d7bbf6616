// The nextbest service on the embedded default, as a forked child of bench/run.js (or bench/ab.js):
// this tree's build, or the one in BENCH_DIST (another commit's dist/, built in its own worktree).
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { reportWhenListening } from './child.js';

const dist = process.env.BENCH_DIST
  ? pathToFileURL(`${process.env.BENCH_DIST}/`)
  : new URL('../dist/', import.meta.url);
const { buildServices, createApp } = await import(new URL('boot.js', dist).href);
const { loadConfig } = await import(new URL('config.js', dist).href);

const config = loadConfig(process.env);
const log = pino({ level: config.LOG_LEVEL });
const app = createApp(await buildServices(config, log));
reportWhenListening(serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }));
