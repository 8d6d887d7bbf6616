import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, ROOT, startService } from './support/process.js';
import { atRisk } from './support/profiles.js';
import { testPrefix, testRedis } from './support/redis.js';

/** One request on a connection of its own, so node:cluster hands each to the next worker. */
function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { method, agent: false, headers: { 'content-type': 'application/json', connection: 'close' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const CUSTOMER = 'W-1';
const PROFILE = atRisk(CUSTOMER, { clv: 2400, annualRevenue: 800 });

describe('WORKERS=2 with Redis: every worker gives the same answer', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let rules: string;
  let service: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    redis = await testRedis();
    // without exploration and without a control group a decision is a function of the shared state
    rules = mkdtempSync(join(tmpdir(), 'nextbest-workers-'));
    cpSync(join(ROOT, 'rules'), rules, { recursive: true });
    const arbitration = JSON.parse(readFileSync(join(rules, 'arbitration.json'), 'utf8'));
    arbitration.learning.exploration = 'none';
    writeFileSync(join(rules, 'arbitration.json'), JSON.stringify(arbitration));
    const manifest = JSON.parse(readFileSync(join(rules, 'manifest.json'), 'utf8'));
    delete manifest.controlGroup;
    writeFileSync(join(rules, 'manifest.json'), JSON.stringify(manifest));
    // a generous deadline: this test is about shared state, and a read past the 15 ms default on a
    // loaded machine would answer degraded (history unavailable) instead
    service = await startService({
      WORKERS: '2',
      PROFILE_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: testPrefix('workers'),
      RULES_DIR: rules,
      LOG_LEVEL: 'info',
      REDIS_DEADLINE_MS: '2000',
    });
    const deadline = Date.now() + 15_000;
    while ((service.output().match(/nextbest is serving/g) ?? []).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
  });

  afterAll(async () => {
    service?.child.kill('SIGTERM');
    if (service) await exited(service.child);
    await redis?.stop();
    rmSync(rules, { recursive: true, force: true });
  });

  it('a profile written through one worker, and a reject posted to one, hold on both', async () => {
    expect((await call(service.base, 'PUT', `/v1/profiles/${CUSTOMER}`, PROFILE)).status).toBe(200);
    const decideOnce = async () =>
      JSON.parse(
        (
          await call(service.base, 'POST', '/v1/decisions', {
            customerId: CUSTOMER,
            channel: 'call-center',
            context: { intent: 'cancel' },
          })
        ).text,
      );

    const first = await Promise.all(Array.from({ length: 12 }, decideOnce));
    const answers = new Set(first.map((d) => JSON.stringify(d.offers.map((o: { offerId: string }) => o.offerId))));
    expect(first.map((d) => [d.profile.found, d.profile.lifecyclePhase, d.degraded])).toEqual(
      first.map(() => [true, 'retain', false]),
    );
    expect(answers.size).toBe(1);
    const top = first[0].offers[0].offerId as string;
    expect(first[0].offers[0].group).toBe('save');

    // the customer turns the top offer down: every worker must stop offering it
    const reject = {
      customerId: CUSTOMER,
      offerId: top,
      outcome: 'reject',
      channel: 'call-center',
      decisionId: first[0].decisionId,
      eventId: 'w-reject-1',
      at: new Date().toISOString(),
    };
    expect((await call(service.base, 'POST', '/v1/responses', reject)).status).toBe(202);
    // the same event again, sent to the other worker, is a duplicate there too
    const again = JSON.parse((await call(service.base, 'POST', '/v1/responses', reject)).text);
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });

    // an odd total, so the two workers' counts cannot be equal
    const after = await Promise.all(Array.from({ length: 13 }, decideOnce));
    expect(after.map((d) => d.degraded)).toEqual(after.map(() => false));
    expect(after.every((d) => !d.offers.some((o: { offerId: string }) => o.offerId === top))).toBe(true);
    expect(new Set(after.map((d) => JSON.stringify(d.offers.map((o: { offerId: string }) => o.offerId)))).size).toBe(1);

    // both workers decided: each one's /metrics counts only its own decisions
    const counts = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const text = (await call(service.base, 'GET', '/metrics')).text;
      counts.add(
        [...text.matchAll(/^nextbest_decisions_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0),
      );
    }
    expect(counts.size).toBe(2);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect([...counts].reduce((a, b) => a + b, 0)).toBe(25);
  });
});
