import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { ConfigError, loadRedisEnv, type RedisEnv } from '../config.js';
import { Metrics } from '../ops/metrics.js';
import { importProfileLines, type Profile, RedisProfileStore } from '../profiles/index.js';
import { connectRedis, describeTarget, type RedisClient, RedisHealth, RedisKeys, whenReady } from '../redis/index.js';
import { runBuild } from './build.js';
import { type Io, parseFlags, UsageError, withUsage } from './io.js';

const USAGE = `usage:
  nextbest profiles import FILE [--redis URL] [--cluster HOST:PORT,...] [--json]
      loads NDJSON profiles (FILE, or - for stdin) into Redis; REDIS_URL, REDIS_CLUSTER_NODES
      and REDIS_KEY_PREFIX apply when the flags are absent`;

/** Batches written at once: parsing the next overlaps the round trips of these. */
const IN_FLIGHT = 4;
const CONNECT_WAIT_MS = 5_000;
/** A batch that takes longer than this means Redis is stuck, not slow. */
const WRITE_DEADLINE_MS = 30_000;

function options(args: string[]) {
  const { values, positionals } = parseFlags(
    'profiles import',
    args,
    { redis: { type: 'string' }, cluster: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? 'profiles import: name the NDJSON file (or - for stdin)'
        : 'profiles import: one file at a time',
    );
  let env: RedisEnv;
  try {
    env = loadRedisEnv({
      ...process.env,
      ...(values.redis !== undefined && { REDIS_URL: values.redis, REDIS_CLUSTER_NODES: '' }),
      ...(values.cluster !== undefined && { REDIS_CLUSTER_NODES: values.cluster }),
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  return { file: positionals[0]!, json: values.json === true, env };
}

/** Keeps up to IN_FLIGHT batches writing; the first failure stops the import. */
function pipelined(write: (profiles: Profile[]) => Promise<void>) {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  return {
    async put(profiles: Profile[]) {
      if (failure !== undefined) throw failure;
      const p = write(profiles).catch((err: unknown) => void (failure ??= err));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    },
    async drain() {
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
    },
  };
}

/** Opening first turns a missing file into an error here, not a late stream event. */
async function openInput(file: string): Promise<NodeJS.ReadableStream> {
  if (file === '-') return process.stdin;
  return (await open(file, 'r')).createReadStream({ encoding: 'utf8' });
}

async function importFile(
  file: string,
  input: NodeJS.ReadableStream,
  json: boolean,
  client: RedisClient,
  prefix: string,
  io: Io,
): Promise<number> {
  const metrics = new Metrics({ defaultMetrics: false });
  const lane = {
    client,
    health: new RedisHealth(client, 'write', WRITE_DEADLINE_MS, metrics, pino({ level: 'silent' })),
  };
  const store = new RedisProfileStore(lane, lane, new RedisKeys(prefix), metrics);
  const writes = pipelined((p) => store.putMany(p));
  const started = performance.now();
  const report = await importProfileLines(createInterface({ input, crlfDelay: Infinity }), (p) => writes.put(p));
  await writes.drain();
  const seconds = (performance.now() - started) / 1e3;
  const rate = Math.round(report.imported / Math.max(seconds, 1e-6));
  if (json) {
    io.stdout.write(`${JSON.stringify({ ...report, seconds: Number(seconds.toFixed(3)), profilesPerSecond: rate })}\n`);
  } else {
    for (const r of report.rejected)
      for (const e of r.errors) io.stderr.write(`${file}:${r.line}: ${e.path} ${e.message}\n`);
    if (report.rejectedLines > report.rejected.length)
      io.stderr.write(`… and ${report.rejectedLines - report.rejected.length} more rejected lines\n`);
    io.stdout.write(
      `imported ${report.imported} profiles in ${seconds.toFixed(2)} s (${rate} profiles/s); ${report.rejectedLines} lines rejected\n`,
    );
  }
  return report.rejectedLines > 0 ? 1 : 0;
}

/** `nextbest profiles build`, and `nextbest profiles import`. */
export function runProfiles(args: string[], io: Io): Promise<number> {
  return args[0] === 'build' ? runBuild(args.slice(1), io) : runImport(args, io);
}

/** `nextbest profiles import`: streams NDJSON profiles into Redis with pipelined writes. */
const runImport = withUsage(USAGE, async ([sub, ...rest], io) => {
  if (sub !== 'import')
    throw new UsageError(sub === undefined ? 'profiles: name a subcommand' : `profiles: unknown subcommand "${sub}"`);
  const { file, json, env } = options(rest);
  let input: NodeJS.ReadableStream;
  try {
    input = await openInput(file);
  } catch (err) {
    io.stderr.write(`profiles import: cannot read ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const where = describeTarget({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES });
  const client = connectRedis(
    { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES },
    { name: 'import', commandTimeout: WRITE_DEADLINE_MS },
  );
  // the first connection error ends the wait: an import has nobody to serve meanwhile
  const failed = new Promise<string>((resolve) => client.once('error', (err: Error) => resolve(err.message)));
  const ready = whenReady(client, CONNECT_WAIT_MS).then((ok) =>
    ok ? undefined : `no answer within ${CONNECT_WAIT_MS} ms`,
  );
  client.on('error', () => {});
  try {
    const unreachable = await Promise.race([ready, failed]);
    if (unreachable !== undefined) {
      io.stderr.write(`profiles import: cannot reach Redis at ${where}: ${unreachable}\n`);
      return 1;
    }
    return await importFile(file, input, json, client, env.REDIS_KEY_PREFIX, io);
  } catch (err) {
    io.stderr.write(`profiles import: ${(err as Error).message}; lines before the failure may have been written\n`);
    return 1;
  } finally {
    client.disconnect();
    if (input !== process.stdin) (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
  }
});
