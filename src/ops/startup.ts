import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { type LevelWithSilent, type Logger, pino } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty is loaded when a log is pretty only: JSON logs (production) do not pay its load. */
const require = createRequire(import.meta.url);

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set; else lines for a person on a terminal, JSON lines elsewhere (files, pipes, collectors). */
export function logFormat(format: LogFormat | undefined, isTTY = process.stdout.isTTY === true): LogFormat {
  return format ?? (isTTY ? 'pretty' : 'json');
}

/**
 * The service's logger: JSON lines, or pino-pretty's lines (local time, one line an entry)
 * written synchronously, so the lines before an exit are not lost. `pid` keeps the process
 * id in pretty lines, where several workers write.
 */
export function createLogger(options: {
  level: LevelWithSilent;
  format?: LogFormat | undefined;
  pid?: boolean;
  isTTY?: boolean;
}): Logger {
  const base = { level: options.level, base: { pid: process.pid } };
  if (logFormat(options.format, options.isTTY) === 'json') return pino(base);
  const pretty = (require('pino-pretty') as typeof PinoPretty)({
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: options.pid ? 'hostname' : 'pid,hostname',
  });
  return pino(base, pretty);
}

/** The pages a person opens, at the address the listener is bound to: localhost for every interface. */
export function serviceUrls(host: string, port: number) {
  const any = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
  const name = any ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host;
  const origin = `http://${name}:${port}`;
  return {
    api: `${origin}/v1`,
    docs: `${origin}/docs`,
    shop: `${origin}/demo/web`,
    agent: `${origin}/demo/agent`,
  };
}

/** The start's line for a person: where the API, its docs and the demo pages are. */
export function startBanner(host: string, port: number): string {
  const u = serviceUrls(host, port);
  return `open ${u.shop} (demo shop and its widget), ${u.agent} (agent panel), ${u.docs} (API docs); the API is at ${u.api}`;
}

/** What a failed listen means, and what to do about it, in one line. */
export function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): string {
  const where = host === '0.0.0.0' || host === '::' ? '' : ` on ${host}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} is in use${where}: stop the other process or set PORT to a free port`;
    case 'EACCES':
      return `no permission to listen on port ${port}${where} (EACCES): set PORT to 1024 or above, or give the process the right to bind low ports`;
    case 'EADDRNOTAVAIL':
      return `HOST ${host} is not an address of this machine (EADDRNOTAVAIL): set HOST to one of its addresses, or 0.0.0.0 for all`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return `HOST ${host} does not resolve (${err.code}): set HOST to an address or a name this machine resolves, or 0.0.0.0 for all`;
    default:
      return `cannot listen on ${host}:${port}: ${err.message}`;
  }
}
