// nextbest as node:cluster workers sharing one port, as WORKERS=N runs it: a forked child of bench/run.js.
// The workers listen on port 0, which node:cluster turns into one shared port; the primary reports it.
import cluster from 'node:cluster';
import { reportWhenListening } from './child.js';

if (cluster.isPrimary) {
  const n = Number(process.env.BENCH_WORKERS || 2);
  let ready = 0;
  for (let i = 0; i < n; i++) {
    cluster.fork().on('message', (m) => {
      if (++ready === n)
        process.send?.({ port: m.port, pids: Object.values(cluster.workers).map((w) => w.process.pid) });
    });
  }
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('exit', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
  });
} else {
  const { serve } = await import('@hono/node-server');
  const { pino } = await import('pino');
  const { buildServices, createApp } = await import('../dist/boot.js');
  const { loadConfig } = await import('../dist/config.js');
  const config = loadConfig(process.env);
  const app = createApp(await buildServices(config, pino({ level: config.LOG_LEVEL })));
  reportWhenListening(serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }));
}
