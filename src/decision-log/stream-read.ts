import {
  closeRedis,
  connectRedis,
  describeTarget,
  type RedisClient,
  RedisKeys,
  type RedisTarget,
  whenReady,
} from '../redis/index.js';

/** Stream entries read per round trip. */
const PAGE = 1_000;
/** A retried stream write may repeat a record: one is yielded once among the last this many decisions. */
const DEDUP_WINDOW = 100_000;

/**
 * The decision log's Redis stream `key`, by entry ID (its time), each decision once, as record
 * lines; `from` and `to` are UTC days (YYYY-MM-DD), both included.
 */
export async function* streamRecords(
  client: RedisClient,
  key: string,
  from: string | undefined,
  to: string | undefined,
): AsyncGenerator<string> {
  const end = to ? String(Date.parse(to) + 86_400_000 - 1) : '+';
  let start = from ? String(Date.parse(from)) : '-';
  // the decisions of the last window or two: a repeat stands near its first
  let seen = new Set<string>();
  let before = new Set<string>();
  for (;;) {
    const entries = await client.xrange(key, start, end, 'COUNT', PAGE);
    for (const [id, fields] of entries) {
      const json = fields[fields.indexOf('record') + 1];
      if (!json) continue;
      let decisionId: string;
      try {
        decisionId = (JSON.parse(json) as { decisionId?: string }).decisionId ?? id;
      } catch {
        continue;
      }
      if (seen.has(decisionId) || before.has(decisionId)) continue;
      if (seen.size >= DEDUP_WINDOW) [before, seen] = [seen, new Set()];
      seen.add(decisionId);
      yield json;
    }
    if (entries.length < PAGE) return;
    start = `(${entries.at(-1)![0]}`;
  }
}

/** Redis could not be reached. */
export class UnreachableError extends Error {}

const CONNECT_WAIT_MS = 5_000;

/** The decision log's records from the Redis stream under `prefix`, on a connection of their own. */
export async function* redisLogRecords(
  target: RedisTarget,
  prefix: string,
  from: string | undefined,
  to: string | undefined,
): AsyncGenerator<string> {
  const client = connectRedis(target, { name: 'log-reader', commandTimeout: 30_000 });
  try {
    if (!(await whenReady(client, CONNECT_WAIT_MS)))
      throw new UnreachableError(`cannot reach Redis at ${describeTarget(target)}`);
    yield* streamRecords(client, new RedisKeys(prefix).decisions, from, to);
  } finally {
    await closeRedis(client);
  }
}
