import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../src/config.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { weekAt, weekOf } from '../../src/outbound/week.js';
import { testApp } from '../support/app.js';
import { expectAuthMatrix } from '../support/auth.js';
import { parseCsv } from '../support/outbound.js';
import { eventually, testPrefix, testRedis } from '../support/redis.js';

const ADMIN = 'admin-key-0123456789abcdef';
const DECIDE = 'decide-key-0123456789abcdef';
const AGENT = 'agent-key-0123456789abcdef';
const PUBLIC = 'public-key-0123456789abcdef';
const SECRET = 'customer-token-secret-0123456789-abcdef';
const KEYS: Record<Scope, string> = { public: PUBLIC, decide: DECIDE, agent: AGENT, admin: ADMIN };
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const CHANNELS = ['email', 'sms', 'direct-mail', 'outbound-call'];

/** The week under way: its contacts' decisions are recent, so responses may name them. */
const THIS_WEEK = weekOf(Date.now());
const LATER = (n: number) => weekAt(THIS_WEEK.index + n).key;

async function outboundApp(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nextbest-outbound-api-'));
  const t = await testApp({ API_KEYS: `admin:${ADMIN},decide:${DECIDE},agent:${AGENT}`, OUTBOUND_DIR: dir, ...env });
  const start = (body: unknown, key = ADMIN) => t.post('/v1/outbound/runs', body, as(key));
  const get = (path: string, key = ADMIN) => t.app.request(path, { headers: as(key) });
  const until = async (runId: string, status = 'done') => {
    let last: any;
    await eventually(
      `run ${runId} ${status}`,
      async () => {
        last = await (await get(`/v1/outbound/runs/${runId}`)).json();
        return last.status === status;
      },
      30_000,
    );
    return last;
  };
  return { t, dir, start, get, until };
}

async function expectProblem(res: Response, status: number, code: string): Promise<any> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = await res.json();
  expect(body).toMatchObject({ type: `urn:nextbest:problem:${code}`, status });
  expect(typeof body.detail).toBe('string');
  return body;
}

/** The bytes of every file in a folder, by name. */
async function folder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

describe('outbound runs over the API', () => {
  describe('a week run in the background', () => {
    let o: Awaited<ReturnType<typeof outboundApp>>;
    let started: any;
    let done: any;
    const week = THIS_WEEK.key;

    beforeAll(async () => {
      o = await outboundApp();
      const res = await o.start({ week });
      expect(res.status).toBe(202);
      started = await res.json();
      done = await o.until(week);
    });
    afterAll(async () => {
      await o?.t.services.close();
      if (o) await rm(o.dir, { recursive: true, force: true });
    });

    it('POST answers 202 with the run ID and its status; GET reports it done, with counts and the allocation', () => {
      expect(started).toEqual({ runId: week, status: expect.stringMatching(/^(queued|running)$/) });
      expect(done).toMatchObject({
        runId: week,
        week,
        status: 'done',
        phase: 'done',
        files: CHANNELS,
        rulesetVersion: o.t.services.rules.active!.version,
        error: null,
      });
      expect(done.progress.done).toBe(done.progress.total);
      expect(Object.keys(done.counts).sort()).toEqual([...CHANNELS].sort());
      expect(done.counts.email).toBeGreaterThan(0);
      expect(done.customers).toBeGreaterThan(0);
      expect(Object.keys(done.entered).length).toBeGreaterThan(0);
      expect(done.allocation.gap).toBeGreaterThanOrEqual(0);
      expect(done.allocation.gap).toBeLessThanOrEqual(0.01);
      expect(done.allocation.total).toBeLessThanOrEqual(done.allocation.bound + 1e-6);
      expect(done.allocation.capacity).toEqual({ email: null, sms: null, 'direct-mail': 2000, 'outbound-call': 400 });
      expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    });

    it("downloads a channel's contact list as CSV, one line a contact", async () => {
      const res = await o.get(`/v1/outbound/runs/${week}/files/email.csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${week}-email.csv"`);
      const text = await res.text();
      expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
      expect(text.startsWith('customerId,offerId,decisionId,sendDate,')).toBe(true);
      const [header, ...rows] = parseCsv(text);
      expect(header!.slice(-2)).toEqual(['journey', 'step']);
      expect(rows).toHaveLength(done.counts.email);
      for (const r of rows) expect(r[3]).toBe(THIS_WEEK.sendDate);
      // the file in the run's folder, as downloaded
      expect(await readFile(join(o.dir, week, 'email.csv'), 'utf8')).toBe(text);
      for (const ch of CHANNELS) expect((await o.get(`/v1/outbound/runs/${week}/files/${ch}.csv`)).status).toBe(200);
    });

    it('a POST of a week already run answers 202, status done, and writes nothing new', async () => {
      const before = await folder(join(o.dir, week));
      const record = await (await o.get(`/v1/outbound/runs/${week}`)).json();
      const res = await o.start({ week });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ runId: week, status: 'done' });
      // asked with the channels and no capacity it ran with: the same
      expect((await o.start({ week, channels: [...CHANNELS].reverse() })).status).toBe(202);
      await new Promise((r) => setTimeout(r, 200));
      expect(await folder(join(o.dir, week))).toEqual(before);
      expect(await (await o.get(`/v1/outbound/runs/${week}`)).json()).toEqual(record);
    });

    it('responses naming an outbound decision are accepted and counted', async () => {
      const [, row] = parseCsv(await (await o.get(`/v1/outbound/runs/${week}/files/email.csv`)).text());
      const [customerId, offerId, decisionId] = row!;
      const event = { customerId, offerId, decisionId, channel: 'email', eventId: `${decisionId}:click` };
      const click = await o.t.post('/v1/responses', { ...event, outcome: 'click' }, as(DECIDE));
      expect(click.status, await click.clone().text()).toBe(202);
      expect(await click.json()).toMatchObject({ accepted: 1, duplicates: 0 });
      // the click is in the customer's contact state, where next week's waves read it
      const state = await o.t.services.contacts.read(customerId!);
      expect(state.last.some((l) => l.outcome === 'click' && l.offerId === offerId && l.channel === 'email')).toBe(
        true,
      );
      // an offer the decision did not send, or another channel, is refused
      const wrong = await o.t.post(
        '/v1/responses',
        { ...event, eventId: `${decisionId}:x`, channel: 'sms', outcome: 'click' },
        as(DECIDE),
      );
      expect(wrong.status).toBeGreaterThanOrEqual(400);
    });
  });

  describe('with Redis: the run in a thread of its own, the state and the decisions where every node finds them', () => {
    let redis: Awaited<ReturnType<typeof testRedis>>;
    let o: Awaited<ReturnType<typeof outboundApp>>;
    const week = THIS_WEEK.key;
    beforeAll(async () => {
      redis = await testRedis();
      o = await outboundApp({
        PROFILE_STORE: 'redis',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: testPrefix('api'),
      });
      await o.t.services.profiles.putMany(generateProfiles({ customers: 2_000, seed: 3 }));
    });
    afterAll(async () => {
      await o?.t.services.close();
      if (o) await rm(o.dir, { recursive: true, force: true });
      await redis?.stop();
    });

    it('runs the week, lists its contacts, and takes responses that name them', async () => {
      expect((await o.start({ week })).status).toBe(202);
      const done = await o.until(week);
      expect(done.counts.email).toBeGreaterThan(0);
      expect(done.allocation.gap).toBeLessThanOrEqual(0.01);
      const [, ...rows] = parseCsv(await (await o.get(`/v1/outbound/runs/${week}/files/email.csv`)).text());
      expect(rows).toHaveLength(done.counts.email);
      const [customerId, offerId, decisionId] = rows[0]!;
      // the customer's contact state holds the contact: one impression on the send day
      const state = await o.t.services.contacts.read(customerId!);
      expect(state.runs.get(week)).toBe(THIS_WEEK.start);
      expect(state.counts.filter((c) => c.outcome === 'impression' && c.offerId === offerId)).toHaveLength(1);
      const res = await o.t.post(
        '/v1/responses',
        { customerId, offerId, decisionId, channel: 'email', outcome: 'click', eventId: `${decisionId}:click` },
        as(DECIDE),
      );
      expect(res.status, await res.clone().text()).toBe(202);
      expect(await res.json()).toMatchObject({ accepted: 1 });
      // asked again: the run that stands
      expect(await (await o.start({ week })).json()).toEqual({ runId: week, status: 'done' });
    });
  });

  describe('errors', () => {
    let o: Awaited<ReturnType<typeof outboundApp>>;
    beforeAll(async () => {
      o = await outboundApp();
    });
    afterAll(async () => {
      await o?.t.services.close();
      if (o) await rm(o.dir, { recursive: true, force: true });
    });

    it('a week that is not one: 400', async () => {
      await expectProblem(await o.start({ week: '2025-W53' }), 400, 'invalid_request');
      const body = await expectProblem(await o.start({ week: '2026-50' }), 400, 'invalid_request');
      expect(JSON.stringify(body)).toContain('/week');
      await expectProblem(await o.start({}), 400, 'invalid_request');
      await expectProblem(await o.start({ week: LATER(9), extra: true }), 400, 'invalid_request');
      await expectProblem(await o.start({ week: LATER(9), capacity: { email: -1 } }), 400, 'invalid_request');
      await expectProblem(await o.start({ week: LATER(9), capacity: { email: 1.5 } }), 400, 'invalid_request');
      expect((await o.get(`/v1/outbound/runs/${LATER(9)}`)).status).toBe(404);
    });

    it('an unknown channel: 400 naming the outbound channels', async () => {
      const body = await expectProblem(await o.start({ week: LATER(9), channels: ['fax'] }), 400, 'invalid_request');
      expect(body.detail).toContain('fax');
      expect(body.detail).toContain('email, sms, direct-mail, outbound-call');
      // an inbound channel is no outbound one
      await expectProblem(await o.start({ week: LATER(9), channels: ['web'] }), 400, 'invalid_request');
      // a capacity for a channel the run does not decide
      await expectProblem(
        await o.start({ week: LATER(9), channels: ['email'], capacity: { sms: 3 } }),
        400,
        'invalid_request',
      );
      expect((await o.get(`/v1/outbound/runs/${LATER(9)}`)).status).toBe(404);
    });

    it('a second POST of a week with another capacity or other channels: 409 run_conflict, while it runs and once done', async () => {
      const week = LATER(1);
      expect((await o.start({ week, capacity: { 'outbound-call': 10 } })).status).toBe(202);
      const running = await o.start({ week, capacity: { 'outbound-call': 20 } });
      const body = await expectProblem(running, 409, 'run_conflict');
      expect(body.detail).toContain(week);
      // the same request again: the run under way
      const same = await o.start({ week, capacity: { 'outbound-call': 10 } });
      expect(same.status).toBe(202);
      expect((await same.json()).runId).toBe(week);
      const done = await o.until(week);
      expect(done.counts['outbound-call']).toBeLessThanOrEqual(10);
      expect(done.allocation.capacity['outbound-call']).toBe(10);
      await expectProblem(await o.start({ week, capacity: { 'outbound-call': 20 } }), 409, 'run_conflict');
      // asked without capacities or channels: the week as it was run
      const plain = await o.start({ week });
      expect(plain.status).toBe(202);
      expect(await plain.json()).toEqual({ runId: week, status: 'done' });
      await expectProblem(await o.start({ week, channels: ['email'] }), 409, 'run_conflict');
    });

    it('one run at a time: another week while one runs is 409 run_conflict, and starts once it is done', async () => {
      const first = LATER(3);
      const second = LATER(4);
      expect((await o.start({ week: first })).status).toBe(202);
      const busy = await expectProblem(await o.start({ week: second }), 409, 'run_conflict');
      expect(busy.detail).toContain(first);
      expect((await o.get(`/v1/outbound/runs/${second}`)).status).toBe(404);
      await o.until(first);
      expect((await o.start({ week: second })).status).toBe(202);
      await o.until(second);
    });

    it('a run that does not exist: 404; a channel the run has no list for: 404', async () => {
      await expectProblem(await o.get(`/v1/outbound/runs/${LATER(30)}`), 404, 'not_found');
      await expectProblem(await o.get(`/v1/outbound/runs/${LATER(30)}/files/email.csv`), 404, 'not_found');
      const week = LATER(2);
      expect((await o.start({ week, channels: ['email'] })).status).toBe(202);
      const done = await o.until(week);
      expect(done.files).toEqual(['email']);
      expect((await o.get(`/v1/outbound/runs/${week}/files/email.csv`)).status).toBe(200);
      await expectProblem(await o.get(`/v1/outbound/runs/${week}/files/fax.csv`), 404, 'not_found');
      // a channel of the rule set this run did not decide
      await expectProblem(await o.get(`/v1/outbound/runs/${week}/files/sms.csv`), 404, 'not_found');
    });
  });

  describe('a stop', () => {
    it('closing the service while a run writes: the run stops moving with it (done, or resumable from its checkpoint)', async () => {
      const o = await outboundApp({ DEMO_CUSTOMERS: '20000' });
      try {
        const week = THIS_WEEK.key;
        expect((await o.start({ week })).status).toBe(202);
        const runJson = async () => readFile(join(o.dir, week, 'run.json'), 'utf8').catch(() => '');
        await eventually(
          'the run writing',
          async () => JSON.parse((await runJson()) || '{}').phase === 'write',
          30_000,
        );
        await o.t.services.close();
        const closed = await runJson();
        await new Promise((r) => setTimeout(r, 1_500));
        // nothing of the run goes on after the service has closed its stores
        expect(await runJson()).toBe(closed);
      } finally {
        await rm(o.dir, { recursive: true, force: true });
      }
    });
  });

  describe('security', () => {
    let o: Awaited<ReturnType<typeof outboundApp>>;
    beforeAll(async () => {
      o = await outboundApp({
        API_KEYS: `admin:${ADMIN},decide:${DECIDE},agent:${AGENT},public:${PUBLIC}`,
        CUSTOMER_TOKEN_SECRET: SECRET,
      });
    });
    afterAll(async () => {
      await o?.t.services.close();
      if (o) await rm(o.dir, { recursive: true, force: true });
    });

    it('every outbound route: 401 without a known key, 403 for any scope but admin', async () => {
      const week = LATER(20);
      await expectAuthMatrix(o.t, KEYS, [
        { method: 'POST', path: '/v1/outbound/runs', allowed: ['admin'], body: () => ({ week }) },
        { method: 'GET', path: `/v1/outbound/runs/${week}`, allowed: ['admin'] },
        { method: 'GET', path: `/v1/outbound/runs/${week}/files/email.csv`, allowed: ['admin'] },
      ]);
      // the admin's POST started the week: let it finish before the service stops
      await o.until(week);
    });

    it('a refused caller starts nothing', async () => {
      const week = LATER(21);
      expect((await o.start({ week }, DECIDE)).status).toBe(403);
      expect((await o.start({ week }, AGENT)).status).toBe(403);
      expect((await o.t.post('/v1/outbound/runs', { week })).status).toBe(401);
      await new Promise((r) => setTimeout(r, 100));
      await expectProblem(await o.get(`/v1/outbound/runs/${week}`), 404, 'not_found');
      expect(await readdir(o.dir)).not.toContain(week);
    });
  });
});
