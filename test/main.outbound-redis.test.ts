import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProfiles } from '../src/offline/demo/index.js';
import { exited, run, startService } from './support/process.js';
import { testPrefix, testRedis } from './support/redis.js';

const CUSTOMERS = 3_000;
const WEEK = '2026-W50';

interface Run {
  status: string;
  counts: Record<string, number>;
  files: string[];
  allocation: { gap: number } | null;
}

async function until(base: string, week: string): Promise<Run> {
  for (let i = 0; i < 600; i++) {
    const r = (await (await fetch(`${base}/v1/outbound/runs/${week}`)).json()) as Run;
    if (r.status === 'done' || r.status === 'failed') return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`week ${week} did not finish`);
}

describe('an outbound run on a Redis-backed service, in a thread of its own', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  const nodes: { child: ChildProcess; base: string; output: () => string }[] = [];
  const prefix = testPrefix('outbound');

  beforeAll(async () => {
    redis = await testRedis();
    const dir = mkdtempSync(join(tmpdir(), 'nextbest-outbound-redis-'));
    const file = join(dir, 'profiles.ndjson');
    writeFileSync(
      file,
      `${generateProfiles({ customers: CUSTOMERS, seed: 5 })
        .map((p) => JSON.stringify(p))
        .join('\n')}\n`,
    );
    const imported = await run(['bin/nextbest.js', 'profiles', 'import', file, '--redis', redis.url], {
      REDIS_KEY_PREFIX: prefix,
    });
    expect(imported.code, imported.stderr).toBe(0);
    for (const name of ['a', 'b'])
      nodes.push(
        await startService({
          PROFILE_STORE: 'redis',
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: prefix,
          REDIS_DEADLINE_MS: '200',
          OUTBOUND_DIR: join(dir, `runs-${name}`),
          LOG_LEVEL: 'warn',
        }),
      );
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) {
      n.child.kill('SIGTERM');
      await exited(n.child);
    }
    await redis?.stop();
  });

  it('decides the week while decisions keep answering, and every node sees its record', async () => {
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const post = await fetch(`${a.base}/v1/outbound/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ week: WEEK, capacity: { 'outbound-call': 5 } }),
    });
    expect(post.status).toBe(202);
    // decisions during the run: answered, from the profiles in Redis
    let answered = 0;
    for (let i = 1; i <= 50; i++) {
      const res = await fetch(`${a.base}/v1/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: `C${String(i).padStart(7, '0')}`, channel: 'web' }),
      });
      const body = (await res.json()) as { profile: { found: boolean } };
      if (res.status === 200 && body.profile.found) answered++;
    }
    expect(answered).toBe(50);
    const done = await until(a.base, WEEK);
    expect(done.status, a.output()).toBe('done');
    expect(done.counts.email).toBeGreaterThan(0);
    expect(done.allocation!.gap).toBeLessThanOrEqual(0.01);

    const csv = await (await fetch(`${a.base}/v1/outbound/runs/${WEEK}/files/email.csv`)).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^customerId,offerId,decisionId,sendDate,subject,body,ctaLabel,ctaUrl,journey,step$/);
    expect(lines).toHaveLength(done.counts.email! + 1);

    // the record is in Redis: the other node reports it, and asking it for the week sends nothing again
    expect((await until(b.base, WEEK)).counts).toEqual(done.counts);
    const again = await fetch(`${b.base}/v1/outbound/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ week: WEEK, capacity: { 'outbound-call': 5 } }),
    });
    expect(await again.json()).toEqual({ runId: WEEK, status: 'done' });

    // a response to an emailed offer names a decision every node knows
    const [customerId, offerId, decisionId] = lines[1]!.split(',');
    const response = await fetch(`${b.base}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId, offerId, decisionId, outcome: 'click', channel: 'email', eventId: 'e1' }),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    expect(((await response.json()) as { accepted: number }).accepted).toBe(1);
  }, 120_000);
});
