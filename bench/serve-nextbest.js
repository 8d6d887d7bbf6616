// The nextbest service on the embedded default, as a forked child of bench/run.js.
import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { buildServices, createApp } from '../dist/boot.js';
import { loadConfig } from '../dist/config.js';
import { reportWhenListening } from './child.js';

const config = loadConfig(process.env);
const log = pino({ level: config.LOG_LEVEL });
const app = createApp(await buildServices(config, log));
reportWhenListening(serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }));
