// The bench's own redis-server: started on a free port with nothing saved, loaded with the same
// generated population the memory store makes, and read for what the decisions cost it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { cpuSeconds } from './cpu.js';

const CLI = fileURLToPath(new URL('../bin/nextbest.js', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server (no persistence) and waits for it to answer; `pin(pid)` places it. */
export async function startRedis(pin) {
  const dir = mkdtempSync(join(tmpdir(), 'nextbest-bench-redis-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  let client;
  const stop = () => {
    client?.disconnect();
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop); // whatever way the bench leaves, this server goes too
  const failed = new Promise((_, reject) => {
    child.once('error', (err) =>
      reject(
        new Error(
          `redis-server could not start (${err.message}): install it (Debian: apt-get install -y redis-server; macOS: brew install redis), or run BENCH_STORE=memory`,
        ),
      ),
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  client.on('error', () => {});
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const ready = (async () => {
    for (;;) {
      try {
        if (client.status === 'wait') await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`redis-server did not answer within 10 s: ${err.message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  await Promise.race([ready, failed]);
  pin?.(child.pid);
  return { url, port, pid: child.pid, client, stop };
}

/**
 * Writes the demo population of `customers` (the memory store's, same seed) into Redis with
 * `nextbest profiles import`: this tree's command, or `cli` (another build's bin/nextbest.js).
 */
export function importPopulation(redis, customers, cli = CLI) {
  const dir = mkdtempSync(join(tmpdir(), 'nextbest-bench-profiles-'));
  try {
    const file = join(dir, 'profiles.ndjson');
    execFileSync(process.execPath, [cli, 'demo-data', '--customers', String(customers), '--out', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    execFileSync(process.execPath, [cli, 'profiles', 'import', file, '--redis', redis.url], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Calls per command so far (INFO commandstats), commands sent from scripts included. */
function commandCalls(info) {
  const calls = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
}

/** What Redis has done so far: its CPU seconds (from /proc, as the servers'), and its commands. */
export async function redisCounters(redis) {
  const info = await redis.client.info('commandstats');
  return { cpuSeconds: cpuSeconds(redis.pid), calls: commandCalls(info) };
}

/** The difference between two readings, per decision: CPU µs and commands, by command. */
export function redisPerDecision(after, before, decisions) {
  const calls = {};
  let commands = 0;
  for (const [name, n] of Object.entries(after.calls)) {
    const d = n - (before.calls[name] ?? 0);
    if (d <= 0 || name === 'info') continue;
    calls[name] = d / decisions;
    commands += d;
  }
  const cpu = after.cpuSeconds === null ? null : ((after.cpuSeconds - before.cpuSeconds) * 1e6) / decisions;
  return { cpuUsPerDecision: cpu, commandsPerDecision: commands / decisions, calls };
}

/** Up to `most` keys matching `pattern` (after the key prefix). */
async function sampleKeys(redis, pattern, most) {
  const prefix = process.env.REDIS_KEY_PREFIX ?? 'nb:';
  const keys = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.client.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0' && keys.length < most);
  return keys.slice(0, most);
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Mean fields in a customer's contact state, over a sample of up to `most` customers (how much a decision reads). */
export async function contactFields(redis, most = 500) {
  const keys = await sampleKeys(redis, '{*}:contacts', most);
  return mean(await Promise.all(keys.map((k) => redis.client.hlen(k))));
}

/** What Redis holds per customer and per decision, in bytes (MEMORY USAGE over samples), for the capacity arithmetic. */
export async function keyBytes(redis, most = 200) {
  const usage = async (pattern) =>
    mean(await Promise.all((await sampleKeys(redis, pattern, most)).map((k) => redis.client.memory('USAGE', k))));
  const prefix = process.env.REDIS_KEY_PREFIX ?? 'nb:';
  const streamLength = await redis.client.xlen(`${prefix}decisions`);
  const stream = streamLength ? Number(await redis.client.memory('USAGE', `${prefix}decisions`)) / streamLength : null;
  return {
    profile: await usage('{*}:profile'),
    contacts: await usage('{*}:contacts'),
    decision: await usage('decision:*'),
    streamEntry: stream,
  };
}
