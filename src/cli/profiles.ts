import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { ConfigError, loadRedisEnv, type RedisEnv } from '../config.js';
import { Metrics } from '../ops/metrics.js';
import { importProfileLines, type Profile, RedisProfileStore } from '../profiles/index.js';
import { connectRedis, describeTarget, type RedisClient, RedisHealth, RedisKeys, whenReady } from '../redis/index.js';
import { type CommandSpec, command, flags } from './command.js';
import { num, perSecond, seconds } from './format.js';
import { type Input, listRejected, openInput } from './input.js';
import { type Io, UsageError } from './io.js';
import { progress } from './progress.js';

export const PROFILES_IMPORT = {
  name: 'profiles import',
  summary: 'load NDJSON profiles into Redis',
  description:
    'Loads NDJSON profiles into Redis with pipelined writes. Bad lines are listed by number and skipped; the ' +
    'exit code is 1 when there was any. REDIS_URL, REDIS_CLUSTER_NODES and REDIS_KEY_PREFIX apply when the ' +
    'flags are absent.',
  arguments: [{ name: 'FILE', help: 'the NDJSON profiles; - for stdin' }],
  options: {
    redis: { type: 'string', value: 'URL', default: 'REDIS_URL', help: 'the Redis server to load into' },
    cluster: {
      type: 'string',
      value: 'HOST:PORT,...',
      default: 'REDIS_CLUSTER_NODES',
      help: 'the Redis Cluster nodes to load into, instead of one server',
    },
    json: { type: 'boolean', help: 'the report as one JSON document' },
  },
  examples: [
    'profiles import profiles.ndjson --redis redis://localhost:6379',
    'demo-data | nextbest profiles import - --cluster 10.0.0.1:6379,10.0.0.2:6379',
  ],
} as const satisfies CommandSpec;

/** Batches written at once: parsing the next overlaps the round trips of these. */
const IN_FLIGHT = 4;
const CONNECT_WAIT_MS = 5_000;
/** A batch that takes longer than this means Redis is stuck, not slow. */
const WRITE_DEADLINE_MS = 30_000;

function options(args: string[]) {
  const { values, positionals } = flags(PROFILES_IMPORT, args);
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

async function importFile(input: Input, json: boolean, client: RedisClient, prefix: string, io: Io): Promise<number> {
  const metrics = new Metrics({ defaultMetrics: false });
  const lane = {
    client,
    health: new RedisHealth(client, 'write', WRITE_DEADLINE_MS, metrics, pino({ level: 'silent' })),
  };
  const store = new RedisProfileStore(lane, lane, new RedisKeys(prefix), metrics);
  const writes = pipelined((p) => store.putMany(p));
  const started = performance.now();
  const p = progress(io);
  p.step(`importing ${basename(input.name)}`, input.size, 'bytes');
  let report: Awaited<ReturnType<typeof importProfileLines>>;
  try {
    p.watch(input.stream); // before readline starts the stream flowing
    report = await importProfileLines(createInterface({ input: input.stream, crlfDelay: Infinity }), (pr) =>
      writes.put(pr),
    );
    await writes.drain();
  } finally {
    p.done();
  }
  const elapsed = performance.now() - started;
  const rate = Math.round(report.imported / Math.max(elapsed / 1e3, 1e-6));
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ ...report, seconds: Number((elapsed / 1e3).toFixed(3)), profilesPerSecond: rate })}\n`,
    );
  } else {
    listRejected(input.name, report.rejectedLines, report.rejected, io);
    io.stdout.write(
      `imported ${num(report.imported)} profiles in ${seconds(elapsed)} (${perSecond(report.imported, elapsed)} profiles/s); ${num(report.rejectedLines)} lines rejected\n`,
    );
  }
  return report.rejectedLines > 0 ? 1 : 0;
}

/** `nextbest profiles import`: streams NDJSON profiles into Redis with pipelined writes. */
export const runImport = command(PROFILES_IMPORT, async (args, io) => {
  const { file, json, env } = options(args);
  let input: Input;
  try {
    input = await openInput(file, { encoding: 'utf8' });
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
    return await importFile(input, json, client, env.REDIS_KEY_PREFIX, io);
  } catch (err) {
    io.stderr.write(`profiles import: ${(err as Error).message}; lines before the failure may have been written\n`);
    return 1;
  } finally {
    client.disconnect();
    input.close();
  }
});
