import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { BootError, buildServices, createApp } from './boot.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { guardServer, httpServerOptions } from './ops/http-server.js';
import { createLogger, listenProblem, startBanner } from './ops/startup.js';

/** after the listener closes: in-flight requests, then the flush of buffered writes */
const SHUTDOWN_GRACE_MS = 10_000;
/** how long requests still arriving are waited for; the flush may take 5 s more (Redis away) */
const SHUTDOWN_ARRIVAL_MS = 4_000;

/** What a worker sends the primary when it cannot start. */
const START_FAILED = 'nextbest:start-failed';
/** How long a worker that could not start waits for the primary to stop it. */
const START_FAILED_WAIT_MS = 5_000;

/** A start that cannot go on: one line on stderr, exit 1. */
function fail(message: string): never {
  process.stderr.write(`nextbest: ${message}\n`);
  process.exit(1);
}

/**
 * The same for a worker: its line goes to the primary, which prints the first one and exits
 * (the workers, disconnected, exit with it): one line, not one a worker.
 */
function failStart(message: string): void {
  if (!cluster.isWorker || !process.send) fail(message);
  // a send that fails finds the primary gone: it has printed another worker's line, and this
  // worker, disconnected, exits
  process.send({ type: START_FAILED, message }, undefined, undefined, () => {});
  setTimeout(() => fail(message), START_FAILED_WAIT_MS);
}

/** A start error as one line: what the boot says, a system call's message (the file, the socket), a stack only for the unforeseen. */
function startProblem(err: unknown): string {
  if (err instanceof BootError) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') return `cannot start: ${e.message}`;
  return `cannot start: ${e?.stack ?? String(err)}`;
}

/** Listens; the promise fails with the listener's error (port in use, no permission, no such address). */
function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function primary(config: Config): void {
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, pid: true });
  for (let i = 0; i < config.workers; i++) cluster.fork();
  let stopping = false;
  let announced = false;
  cluster.on('listening', (_worker, address) => {
    if (announced) return;
    announced = true;
    log.info(startBanner(address.address ?? config.HOST, address.port));
  });
  cluster.on('message', (_worker, message: { type?: unknown; message?: unknown }) => {
    if (stopping || message?.type !== START_FAILED) return;
    stopping = true;
    fail(String(message.message));
  });
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    // a worker that dies at boot would die again: stop instead of looping
    if (code !== 0 && !worker.exitedAfterDisconnect) fail(`worker ${worker.process.pid} exited with code ${code}`);
  });
  process.on('SIGTERM', () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  });
}

async function worker(config: Config): Promise<void> {
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, pid: config.workers > 1 });
  if (!config.API_KEYS)
    log.warn('API_KEYS is unset: every route is open; set scope:key pairs before exposing the service');
  if (config.workers > 1 && config.PROFILE_STORE === 'memory') {
    log.warn(
      'WORKERS > 1 with the memory store: each worker keeps its own contact state, learning and report tallies, so caps, suppressions and reports are per worker; use PROFILE_STORE=redis to share them',
    );
  }
  const services = await buildServices(config, log);
  const app = createApp(services);
  const timeouts = {
    headersMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  };
  const server = createAdaptorServer({ fetch: app.fetch, serverOptions: httpServerOptions(timeouts) }) as Server;
  const http = guardServer(server, timeouts, { onProblem: (code) => services.metrics.problems.slot(code).n++ });
  let address: AddressInfo;
  try {
    address = await listen(server, config.PORT, config.HOST);
  } catch (err) {
    // what the boot took from the spool goes back to it
    await Promise.race([services.close().catch(() => false), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS))]);
    throw new BootError(listenProblem(err as NodeJS.ErrnoException, config.HOST, config.PORT));
  }
  // past the start, a failed accept (too many open files) is logged, and the listener goes on
  server.on('error', (err) => log.error({ err }, 'the listener failed'));
  log.info(
    { port: address.port, rulesetVersion: services.rules.active?.version, store: services.profiles.kind },
    'nextbest is serving',
  );
  // with several workers the primary says it, once
  if (!cluster.isWorker) log.info(startBanner(address.address, address.port));
  let stopping = false;
  const close = () => {
    setTimeout(() => {
      log.error('in-flight work or buffered writes did not finish within the grace period; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // no new connections; in-flight requests finish, idle connections close once quiet, and
    // requests still arriving after SHUTDOWN_ARRIVAL_MS are answered 408: the rest of the
    // grace period is for writing out what requests left buffered
    http.close({ arrivalMs: SHUTDOWN_ARRIVAL_MS }).then(() =>
      services.close().then(
        (complete) => process.exit(complete ? 0 : 1),
        (err: unknown) => {
          log.error({ err }, 'could not flush buffered writes at shutdown');
          process.exit(1);
        },
      ),
    );
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // /readyz answers 503 from now on, and every answer closes its connection (keep-alive
    // clients move to other nodes)
    services.readiness.draining = true;
    http.drain();
    log.info({ delayMs: config.SHUTDOWN_DELAY_MS }, 'SIGTERM: draining');
    // the balancer gets SHUTDOWN_DELAY_MS to see the 503 and stop sending; without a delay the
    // listener closes at once, before any client is sent off to open a new connection
    if (config.SHUTDOWN_DELAY_MS > 0) setTimeout(close, config.SHUTDOWN_DELAY_MS);
    else close();
  };
  // a second signal changes nothing: the flush it would cut short is what the first one started
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
if (config.workers > 1 && cluster.isPrimary) primary(config);
else worker(config).catch((err: unknown) => failStart(startProblem(err)));
