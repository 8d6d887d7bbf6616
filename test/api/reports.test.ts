import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rng, seededRng } from '../../src/math/random.js';
import { testApp } from '../support/app.js';
import { eventually, testPrefix, testRedis } from '../support/redis.js';

type App = Awaited<ReturnType<typeof testApp>>;
type Group = 'control' | 'treatment';
type Outcome = 'impression' | 'click' | 'accept' | 'reject' | 'complaint';
type Counts = {
  decisions: number;
  impressions: number;
  clicks: number;
  accepts: number;
  rejects: number;
  complaints: number;
  unattributed: number;
};
type Row = Record<Group, Counts>;
interface Segment {
  lifecyclePhase: string;
  valueSegment: string;
}
interface Decided {
  decisionId: string;
  customerId: string;
  channel: string;
  arm: string;
  profile: { lifecyclePhase: string | null; valueSegment: string | null };
  offers: { offerId: string }[];
}

const DECIDE = 'decide-key-0123456789';
const ADMIN = 'admin-key-0123456789';
const FIELD: Record<Outcome, Exclude<keyof Counts, 'decisions'>> = {
  impression: 'impressions',
  click: 'clicks',
  accept: 'accepts',
  reject: 'rejects',
  complaint: 'complaints',
};
const zero = (): Counts => ({
  decisions: 0,
  impressions: 0,
  clicks: 0,
  accepts: 0,
  rejects: 0,
  complaints: 0,
  unattributed: 0,
});

/** The control split as the README defines it, so a warehouse could recompute it: SHA-256 of "control:<experiment>\n<id>", 6 bytes / 2^48. */
const inControl = (customerId: string, experiment = '2026-h2', share = 0.05) =>
  parseInt(createHash('sha256').update(`control:${experiment}\n${customerId}`, 'utf8').digest('hex').slice(0, 12), 16) /
    2 ** 48 <
  share;

const segmentOf = (d: Decided): Segment => ({
  lifecyclePhase: d.profile.lifecyclePhase ?? 'unknown',
  valueSegment: d.profile.valueSegment ?? 'unknown',
});
const groupOf = (arm: string): Group => (arm === 'control' ? 'control' : 'treatment');

/** What the report must say, tallied from what the test sent. */
class Ledger {
  readonly offers = new Map<string, Row>();
  readonly segments = new Map<string, Row>();
  readonly offerSegments = new Map<string, Row>();

  private add(rows: Map<string, Row>, key: string, group: Group, field: keyof Counts): void {
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { control: zero(), treatment: zero() }));
    row[group][field]++;
  }

  decided(d: Decided): void {
    const s = segmentOf(d);
    const group = groupOf(d.arm);
    this.add(this.segments, `${s.lifecyclePhase}|${s.valueSegment}|${d.channel}`, group, 'decisions');
    for (const o of d.offers) {
      this.add(this.offers, `${o.offerId}|${d.channel}`, group, 'decisions');
      this.add(
        this.offerSegments,
        `${o.offerId}|${s.lifecyclePhase}|${s.valueSegment}|${d.channel}`,
        group,
        'decisions',
      );
    }
  }

  /**
   * An outcome that names its decision counts for the segment and arm of the decision; one that
   * names none for the customer's segment and arm when it arrives, and as unattributed.
   */
  outcome(offerId: string, channel: string, s: Segment, arm: string, outcome: Outcome, attributed = true): void {
    const group = groupOf(arm);
    const keys: [Map<string, Row>, string][] = [
      [this.segments, `${s.lifecyclePhase}|${s.valueSegment}|${channel}`],
      [this.offers, `${offerId}|${channel}`],
      [this.offerSegments, `${offerId}|${s.lifecyclePhase}|${s.valueSegment}|${channel}`],
    ];
    for (const [rows, key] of keys) {
      this.add(rows, key, group, FIELD[outcome]);
      if (!attributed) this.add(rows, key, group, 'unattributed');
    }
  }

  total(group: Group, field: keyof Counts): number {
    return [...this.offers.values()].reduce((n, row) => n + row[group][field], 0);
  }
}

type Tallies = Counts & { acceptanceRate: number | null; clickThroughRate: number | null };
type ReportRow = Partial<Segment> & {
  offerId?: string;
  channel: string;
  control: Tallies;
  treatment: Tallies;
  champion: Tallies;
  challenger: Tallies;
};
const counts = ({ decisions, impressions, clicks, accepts, rejects, complaints, unattributed }: Tallies): Counts => ({
  decisions,
  impressions,
  clicks,
  accepts,
  rejects,
  complaints,
  unattributed,
});

/** A report section as {key → control and treatment counts}, after checking each row's own arithmetic. */
function rowsOf(rows: ReportRow[], key: (r: ReportRow) => string): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const r of rows) {
    for (const arm of ['control', 'treatment', 'champion', 'challenger'] as const) {
      const t = r[arm];
      if (t.impressions === 0) {
        expect(t.acceptanceRate, `${key(r)} ${arm}`).toBeNull();
        expect(t.clickThroughRate, `${key(r)} ${arm}`).toBeNull();
      } else {
        expect(t.acceptanceRate, `${key(r)} ${arm}`).toBeCloseTo(t.accepts / t.impressions, 6);
        expect(t.clickThroughRate, `${key(r)} ${arm}`).toBeCloseTo(t.clicks / t.impressions, 6);
      }
    }
    expect(r.champion, key(r)).toEqual(r.treatment); // no challenger is configured
    expect(counts(r.challenger)).toEqual(zero());
    out.set(key(r), { control: counts(r.control), treatment: counts(r.treatment) });
  }
  return out;
}

async function report(t: App, headers: Record<string, string> = {}) {
  const res = await t.app.request('/v1/reports/offers', { headers });
  expect(res.status).toBe(200);
  const body = await res.json();
  return {
    body,
    offers: rowsOf(body.offers, (r) => `${r.offerId}|${r.channel}`),
    segments: rowsOf(body.segments, (r) => `${r.lifecyclePhase}|${r.valueSegment}|${r.channel}`),
    offerSegments: rowsOf(body.offerSegments, (r) => `${r.offerId}|${r.lifecyclePhase}|${r.valueSegment}|${r.channel}`),
  };
}

const matches = (got: Awaited<ReturnType<typeof report>>, want: Ledger) => {
  expect(got.offers).toEqual(want.offers);
  expect(got.segments).toEqual(want.segments);
  expect(got.offerSegments).toEqual(want.offerSegments);
};

/** Prometheus samples of one metric as {"label=value,…" → count}, the labels sorted by name. */
async function samples(t: App, metric: string): Promise<Map<string, number>> {
  const text = await (await t.app.request('/metrics')).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${metric}\\{([^}]*)\\} (\\d+)$`).exec(line);
    if (!m) continue;
    const labels = [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => `${k}=${v}`).sort();
    out.set(labels.join(','), Number(m[2]));
  }
  return out;
}

/** The samples the ledger implies: every non-zero count, with control or treatment as the arm. */
function expectedSamples(rows: Map<string, Row>, labels: (key: string) => string[]): Map<string, number> {
  const out = new Map<string, number>();
  const outcomes: [keyof Counts, string][] = [
    ['decisions', 'decision'],
    ['impressions', 'impression'],
    ['clicks', 'click'],
    ['accepts', 'accept'],
    ['rejects', 'reject'],
    ['complaints', 'complaint'],
  ];
  for (const [key, row] of rows) {
    for (const group of ['control', 'treatment'] as const) {
      for (const [field, outcome] of outcomes) {
        if (row[group][field] > 0)
          out.set([...labels(key), `arm=${group}`, `outcome=${outcome}`].sort().join(','), row[group][field]);
      }
    }
  }
  return out;
}

/**
 * Outcomes for a decision's offers: each shown offer gets an impression most of the time, then a
 * click, accept, reject or complaint now and then; sometimes an accept arrives without an impression
 * (reported from another touchpoint), which must leave the rate null when nothing else was seen.
 */
function outcomesFor(d: Decided, rng: Rng): { offerId: string; outcome: Outcome }[] {
  const out: { offerId: string; outcome: Outcome }[] = [];
  for (const { offerId } of d.offers) {
    const shown = rng() < 0.8;
    if (shown) out.push({ offerId, outcome: 'impression' });
    if (shown && rng() < 0.4) out.push({ offerId, outcome: 'click' });
    const r = rng();
    if (r < 0.25) out.push({ offerId, outcome: 'accept' });
    else if (r < 0.45) out.push({ offerId, outcome: 'reject' });
    else if (r < 0.5) out.push({ offerId, outcome: 'complaint' });
  }
  return out;
}

describe('GET /v1/reports/offers', () => {
  describe('happy: the shipped rules, in memory', () => {
    let t: App;
    const ledger = new Ledger();
    const rng = seededRng(7);
    let control: string[];
    let treatment: string[];
    beforeAll(async () => {
      t = await testApp();
    });

    it('starts empty, and explain previews count for nothing', async () => {
      const arms = new Map<string, string>();
      for (let i = 1; i <= 400; i++) {
        const customerId = `C${String(i).padStart(7, '0')}`;
        const d = await (await t.post('/v1/decisions', { customerId, channel: 'web', explain: true })).json();
        arms.set(customerId, d.arm);
        expect(d.arm === 'control', customerId).toBe(inControl(customerId));
      }
      control = [...arms].filter(([, arm]) => arm === 'control').map(([id]) => id);
      treatment = [...arms].filter(([, arm]) => arm === 'champion').map(([id]) => id);
      expect(control.length).toBeGreaterThanOrEqual(8);
      expect(control.length + treatment.length).toBe(400);
      const empty = await report(t);
      expect(empty.body).toMatchObject({ offers: [], segments: [], offerSegments: [] });
      expect(Date.parse(empty.body.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('counts decisions and outcomes per offer, per segment and per both, control apart from treatment', async () => {
      const customers = [...control.slice(0, 8), ...treatment.slice(0, 24), 'X-unknown-1'];
      const decided: Decided[] = [];
      for (const customerId of customers) {
        for (const body of [
          { channel: 'web' },
          { channel: 'call-center', context: { intent: 'cancel' } },
          { channel: 'call-center' },
        ]) {
          const d: Decided = await (await t.post('/v1/decisions', { customerId, ...body })).json();
          ledger.decided(d);
          decided.push(d);
          await t.post('/v1/decisions', { customerId, ...body, explain: true }); // a preview in between changes nothing
        }
      }
      expect(decided.filter((d) => d.arm === 'control' && d.offers.length > 0).length).toBeGreaterThan(0);

      // a customer whose phase changes after the decisions: outcomes naming a decision count for the
      // phase it was decided in, outcomes without one for the new phase
      const mover = treatment[0]!;
      const profile = await (await t.app.request(`/v1/profiles/${mover}`)).json();
      const moved = { ...profile, lifecyclePhase: profile.lifecyclePhase === 'regain' ? 'retain' : 'regain' };
      expect(
        (
          await t.app.request(`/v1/profiles/${mover}`, {
            method: 'PUT',
            body: JSON.stringify(moved),
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(200);

      let n = 0;
      for (const d of decided) {
        const now =
          d.customerId === mover
            ? { lifecyclePhase: moved.lifecyclePhase, valueSegment: moved.valueSegment }
            : segmentOf(d);
        const named = d.customerId === mover ? {} : { decisionId: d.decisionId };
        const events = outcomesFor(d, rng).map((e) => ({
          ...e,
          customerId: d.customerId,
          channel: d.channel,
          ...named,
          eventId: `e${n++}`,
        }));
        if (!events.length) continue;
        expect(await (await t.post('/v1/responses', { events })).json()).toEqual({
          accepted: events.length,
          duplicates: 0,
          buffered: 0,
        });
        for (const e of events) ledger.outcome(e.offerId, d.channel, now, d.arm, e.outcome, d.customerId !== mover);
        // sent again (a client retry): duplicates, counted once
        expect(await (await t.post('/v1/responses', { events })).json()).toEqual({
          accepted: 0,
          duplicates: events.length,
          buffered: 0,
        });
      }
      const moverDecision = decided.find((d) => d.customerId === mover && d.offers.length > 0)!;
      const late = {
        customerId: mover,
        offerId: moverDecision.offers[0]!.offerId,
        outcome: 'click',
        channel: moverDecision.channel,
        decisionId: moverDecision.decisionId,
        eventId: 'mover-late',
      };
      expect((await t.post('/v1/responses', late)).status).toBe(202);
      ledger.outcome(late.offerId, late.channel, segmentOf(moverDecision), moverDecision.arm, 'click');
      // an accept reported from elsewhere for an offer no decision presented: a row without impressions, its rate null
      const customer = decided.find((d) => d.arm !== 'control' && d.customerId !== mover && d.profile.lifecyclePhase)!;
      const unseen = t.services.rules
        .active!.byChannel.get('call-center')!
        .map((o) => o.id)
        .find((id) => !ledger.offers.has(`${id}|call-center`))!;
      expect(unseen).toBeDefined();
      await t.post('/v1/responses', {
        customerId: customer.customerId,
        offerId: unseen,
        outcome: 'accept',
        channel: 'call-center',
        eventId: 'elsewhere',
      });
      ledger.outcome(unseen, 'call-center', segmentOf(customer), customer.arm, 'accept', false);

      for (const group of ['control', 'treatment'] as const) {
        for (const field of ['decisions', 'impressions', 'clicks', 'accepts', 'rejects', 'complaints'] as const)
          expect(ledger.total(group, field), `${group} ${field}`).toBeGreaterThan(0);
      }

      const got = await report(t);
      matches(got, ledger);
      expect(got.segments.has('unknown|unknown|web')).toBe(true);
      expect(
        got.body.offers.find((r: ReportRow) => r.offerId === unseen && r.channel === 'call-center').treatment,
      ).toEqual({
        ...zero(),
        accepts: 1,
        unattributed: 1,
        acceptanceRate: null,
        clickThroughRate: null,
      });
      const rates = [...got.offers.values()].flatMap((r) => [r.control, r.treatment]);
      expect(rates.some((c) => c.impressions > 0 && c.accepts > 0 && c.accepts < c.impressions)).toBe(true);
    });

    it('/metrics holds the same counts as the report', async () => {
      expect(await samples(t, 'nextbest_offer_outcomes_total')).toEqual(
        expectedSamples(ledger.offers, (key) => {
          const [offer, channel] = key.split('|');
          return [`offer=${offer}`, `channel=${channel}`];
        }),
      );
      // the unknown customers' row: "unknown" in the report, whatever the label says in /metrics
      const segments = await samples(t, 'nextbest_segment_outcomes_total');
      const named = new Map([...segments].map(([k, v]) => [k.replace(/=_(,|$)/g, '=unknown$1'), v]));
      expect(named).toEqual(
        expectedSamples(ledger.segments, (key) =>
          key.split('|').map((v, i) => `${['lifecycle_phase', 'value_segment', 'channel'][i]}=${v}`),
        ),
      );
    });
  });

  describe('security', () => {
    let t: App;
    beforeAll(async () => {
      t = await testApp({ API_KEYS: `decide:${DECIDE},admin:${ADMIN}` });
    });
    const get = (key?: string) =>
      t.app.request('/v1/reports/offers', { headers: key ? { authorization: `Bearer ${key}` } : {} });

    it('is for admin keys only', async () => {
      const none = await get();
      expect(none.status).toBe(401);
      const decide = await get(DECIDE);
      expect(decide.status).toBe(403);
      expect((await decide.json()).type).toBe('urn:nextbest:problem:forbidden');
      const admin = await get(ADMIN);
      expect(admin.status).toBe(200);
      expect(await admin.json()).toMatchObject({ offers: [], segments: [], offerSegments: [] });
    });
  });

  describe('with Redis: two nodes, one report', () => {
    let redis: Awaited<ReturnType<typeof testRedis>>;
    let a: App;
    let b: App;
    beforeAll(async () => {
      redis = await testRedis();
      const env = {
        PROFILE_STORE: 'redis',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: testPrefix('reports'),
        DECISION_LOG_MAXLEN: '0',
      };
      [a, b] = await Promise.all([testApp(env), testApp(env)]);
    });
    afterAll(async () => {
      await a?.services.close();
      await b?.services.close();
      await redis?.stop();
    });

    it('adds up what both nodes decided and recorded, in the report of either', async () => {
      const ids = Array.from({ length: 400 }, (_, i) => `K${i}`);
      const customers = [
        ...ids.filter((id) => inControl(id)).slice(0, 4),
        ...ids.filter((id) => !inControl(id)).slice(0, 12),
      ];
      expect(customers).toHaveLength(16);
      const segments = [
        ['loyalty', 'middle'],
        ['retain', 'top'],
        ['new', 'super'],
        ['regain', 'bottom'],
      ] as const;
      for (const [i, customerId] of customers.entries()) {
        const [lifecyclePhase, valueSegment] = segments[i % segments.length]!;
        const profile = {
          customerId,
          lifecyclePhase,
          valueSegment,
          clv: 900,
          churnScore: 0.5,
          tenureDays: 400,
          productsHeld: ['mobile', 'broadband'],
          consents: ['web', 'call-center'],
        };
        const put = await a.app.request(`/v1/profiles/${customerId}`, {
          method: 'PUT',
          body: JSON.stringify(profile),
          headers: { 'content-type': 'application/json' },
        });
        expect(put.status).toBe(200);
      }
      const ledger = new Ledger();
      const rng = seededRng(11);
      let n = 0;
      for (const [i, customerId] of customers.entries()) {
        for (const channel of ['web', 'call-center']) {
          const [decider, recorder] = (i + n) % 2 ? [a, b] : [b, a]; // outcomes often reach the other node
          const d: Decided = await (await decider.post('/v1/decisions', { customerId, channel })).json();
          expect(d.profile.lifecyclePhase).not.toBeNull();
          expect(d.arm === 'control').toBe(inControl(customerId));
          ledger.decided(d);
          const events = outcomesFor(d, rng).map((e) => ({
            ...e,
            customerId,
            channel,
            decisionId: d.decisionId,
            eventId: `e${n++}`,
          }));
          if (!events.length) continue;
          expect((await recorder.post('/v1/responses', { events })).status).toBe(202);
          for (const e of events) ledger.outcome(e.offerId, channel, segmentOf(d), d.arm, e.outcome);
        }
      }
      expect(ledger.total('control', 'decisions')).toBeGreaterThan(0);
      expect(ledger.total('treatment', 'impressions')).toBeGreaterThan(0);
      // each node writes its counts once a second: wait until both reports hold everything
      for (const node of [a, b]) {
        await eventually(
          "the report holds both nodes' counts",
          async () => {
            try {
              matches(await report(node), ledger);
              return true;
            } catch {
              return false;
            }
          },
          5_000,
        );
      }
    });
  });
});
