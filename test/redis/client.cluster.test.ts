import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';
import { run } from '../support/process.js';
import { eventually, RedisCluster } from '../support/redis.js';

type Node = Awaited<ReturnType<typeof testApp>>;
const PASSWORD = 'cluster-secret-42';
const id = (n: number) => `C${String(n).padStart(7, '0')}`;

// A 3-master Redis Cluster of real redis-servers behind a password: slots, pipelined import, a master killed while serving.
describe('Redis Cluster', () => {
  let cluster: RedisCluster;
  let node: Node;
  const file = join(tmpdir(), `nextbest-cluster-${process.pid}.ndjson`);
  const decide = async (customerId: string) => {
    const started = performance.now();
    const res = await node.post('/v1/decisions', { customerId, channel: 'call-center' });
    return { status: res.status, body: await res.json(), ms: performance.now() - started };
  };

  beforeAll(async () => {
    cluster = await RedisCluster.start(3, PASSWORD);
    expect((await run(['bin/nextbest.js', 'demo-data', '--customers', '3000', '--out', file])).code).toBe(0);
    // a roomier read deadline than the default: this test is about which customers a dead
    // master affects, and other test files load the same two cores meanwhile
    // the password reaches every node from REDIS_URL
    node = await testApp({
      PROFILE_STORE: 'redis',
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:1`,
      REDIS_CLUSTER_NODES: cluster.seeds,
      PROFILE_CACHE_TTL_MS: '500',
      REDIS_DEADLINE_MS: '100',
    });
  });
  afterAll(async () => {
    await node?.services.close();
    await cluster?.stop();
    await rm(file, { force: true });
  });

  it('imports with --cluster, spreading customers over every master', async () => {
    const refused = await run(['bin/nextbest.js', 'profiles', 'import', file, '--cluster', cluster.seeds]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot reach Redis at cluster 127\.0\.0\.1:\d+/);
    const r = await run(['bin/nextbest.js', 'profiles', 'import', file, '--cluster', cluster.seeds, '--json'], {
      REDIS_URL: `redis://:${PASSWORD}@localhost`,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 3000, rejectedLines: 0 });
    for (const n of cluster.nodes) {
      const c = n.client();
      expect(await c.dbsize()).toBeGreaterThan(500); // ~1000 each
      c.disconnect();
    }
  });

  it("keeps one customer's profile, history and dedup marks in one slot", async () => {
    const c = cluster.nodes[0]!.client();
    const slots = await Promise.all(
      ['nb:{C0000042}:profile', 'nb:{C0000042}:events', 'nb:{C0000042}:seen'].map((k) => c.cluster('KEYSLOT', k)),
    );
    c.disconnect();
    expect(new Set(slots).size).toBe(1);
    const res = await node.post('/v1/responses', {
      customerId: 'C0000042',
      offerId: 'service-app-download',
      outcome: 'accept',
      channel: 'web',
      eventId: 'e-1',
    });
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, buffered: 0 });
    expect((await decide('C0000042')).body.profile.found).toBe(true);
    // its report tally: the hash, its batch markers and its tally marks share the {kpis} slot
    const master = (await cluster.nodeFor('nb:{kpis}')).client();
    try {
      await eventually(
        'the accept tallied, its event marked',
        async () => (await master.zcard('nb:{kpis}:tallied')) === 1,
      );
      const accepts = Object.entries(await master.hgetall('nb:{kpis}')).filter(([f]) => f.endsWith('|accept'));
      expect(accepts.map(([, n]) => n)).toEqual(['1', '1']); // the offer's row and the segment's
    } finally {
      master.disconnect();
    }
  });

  it('a master killed while serving: no errors, its customers from cache or fallback, the rest untouched; back when it returns', async () => {
    const victim = await cluster.nodeFor('nb:{C0000001}:profile');
    const owners = await Promise.all(
      Array.from({ length: 300 }, (_, i) => cluster.nodeFor(`nb:{${id(i + 1)}}:profile`)),
    );
    const onVictim = owners.flatMap((o, i) => (o === victim ? [id(i + 1)] : []));
    const elsewhere = owners.flatMap((o, i) => (o !== victim ? [id(i + 1)] : []));
    const warm = onVictim.slice(0, 20);
    const cold = onVictim.slice(20, 60);
    for (const c of [...warm, ...elsewhere.slice(0, 40)]) expect((await decide(c)).body.profile.found).toBe(true);
    await cluster.nodes.find((n) => n === victim)!.save();

    await victim.kill();
    await new Promise((r) => setTimeout(r, 600)); // past the cache TTL
    // one at a time, as a quiet node would see them, then many at once
    const one: Awaited<ReturnType<typeof decide>>[] = [];
    for (const c of cold.slice(0, 5)) {
      one.push(await decide(c));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(one.map((d) => d.body.degraded)).toEqual([true, true, true, true, true]);
    expect(Math.max(...one.map((d) => d.ms))).toBeLessThan(250);
    const during = await Promise.all(
      [...warm, ...cold, ...elsewhere.slice(40, 120)].map(async (c) => ({ c, ...(await decide(c)) })),
    );
    expect(during.filter((d) => d.status !== 200)).toEqual([]);
    // a redirection to the dead master or a reconnect does not hold a decision past its deadline
    expect(Math.max(...during.map((d) => d.ms))).toBeLessThan(250);
    for (const d of during) {
      if (warm.includes(d.c)) expect(d.body.profile.found, d.c).toBe(true);
      else if (cold.includes(d.c)) expect(d.body, d.c).toMatchObject({ degraded: true, profile: { found: false } });
      else expect(d.body, d.c).toMatchObject({ degraded: false, profile: { found: true } });
    }

    await victim.restart();
    await eventually(
      'customers of the restarted master are personalised again',
      async () => {
        const all = await Promise.all(cold.slice(0, 10).map(decide));
        return all.every((d) => d.body.profile.found && !d.body.degraded);
      },
      20_000,
    );
  });
});
