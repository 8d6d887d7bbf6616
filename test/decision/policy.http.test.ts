import { beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.js';
import { priorPropensity } from '../../src/learning/model.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;
interface Answer {
  decisionId: string;
  arm: string;
  offers: { offerId: string; group: string }[];
  explanation?: { offerId: string; eligible: boolean; selected: boolean; suppressedBy: string | null }[];
}
interface Quiet {
  customerId: string;
  /** eligible on both channels and not a sales offer (the develop group cap stays out of the way) */
  offerId: string;
  /** a develop offer is eligible on the call-center: the one cap that counts call-center contacts */
  salesOnCall: boolean;
}

const WEB_TIP = 'a web tip 3 times a week';
const DEMO = { customers: 2_000, seed: 42 };
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

// The shipped rules and the memory store, through the HTTP API in process.
describe('contact policy through the API', () => {
  let t: App;
  let pool: Quiet[];
  const ask = async (customerId: string, channel = 'web', extra: object = {}): Promise<Answer> => {
    const res = await t.post('/v1/decisions', { customerId, channel, ...extra });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer;
    expect(body.arm).toBe('champion');
    return body;
  };
  const shows = (a: Answer, offerId: string) => a.offers.some((o) => o.offerId === offerId);
  const why = async (customerId: string, offerId: string, channel = 'web') =>
    (await ask(customerId, channel, { explain: true })).explanation!.find((e) => e.offerId === offerId);
  const respond = async (events: object[]) => {
    const res = await t.post('/v1/responses', { events });
    expect(await res.json()).toMatchObject({ accepted: events.length, buffered: 0 });
  };
  const take = (fits = (_: Quiet) => true): Quiet => {
    const i = pool.findIndex(fits);
    if (i < 0) throw new Error('no customer left in the pool that fits');
    return pool.splice(i, 1)[0]!;
  };
  // the memory store behind the service, for what the API does not show
  const version = (customerId: string) =>
    (t.services.responses['store'].read(customerId) as { version: number }).version;

  beforeAll(async () => {
    t = await testApp({ DEMO_CUSTOMERS: String(DEMO.customers), DEMO_SEED: String(DEMO.seed) });
    // champion customers of the app's own demo population whose eligible offers all fit in one
    // answer on both channels: every offer contact policy allows is then shown, whatever the ranking
    const ruleset = t.services.rules.active!;
    const eligible = (p: ReturnType<typeof generateProfiles>[number], channel: string) =>
      decide(
        ruleset,
        { request: { customerId: p.customerId, channel }, profile: p, degraded: false },
        priorPropensity,
      ).ranked.map((s) => s.offer);
    pool = [];
    for (const p of generateProfiles(DEMO)) {
      if (t.services.decisions.arms.of(p.customerId) !== 'champion') continue;
      const web = eligible(p, 'web');
      const call = eligible(p, 'call-center');
      if (web.length > 3 || call.length > 3) continue;
      const offer = web.find((o) => o.group !== 'develop' && call.some((c) => c.id === o.id));
      if (offer)
        pool.push({
          customerId: p.customerId,
          offerId: offer.id,
          salesOnCall: call.some((o) => o.group === 'develop'),
        });
      if (pool.length === 9) break;
    }
    expect(pool.length).toBe(9);
  });

  it('a reject rests the offer: the next decision leaves it out and explain says why', async () => {
    const { customerId } = take();
    const first = await ask(customerId);
    const top = first.offers[0]!.offerId;
    expect(shows(await ask(customerId), top)).toBe(true);
    await respond([{ customerId, offerId: top, outcome: 'reject', channel: 'web', decisionId: first.decisionId }]);
    expect(shows(await ask(customerId), top)).toBe(false);
    expect(shows(await ask(customerId, 'call-center'), top)).toBe(false); // the rule counts every channel
    expect(await why(customerId, top)).toMatchObject({
      eligible: true,
      selected: false,
      suppressedBy: "30 days' rest after a reject",
    });
  });

  it('an accept stops the offer', async () => {
    const { customerId } = take();
    const top = (await ask(customerId, 'call-center')).offers[0]!.offerId;
    await respond([{ customerId, offerId: top, outcome: 'accept', channel: 'call-center' }]);
    expect(shows(await ask(customerId, 'call-center'), top)).toBe(false);
    expect(shows(await ask(customerId), top)).toBe(false);
    expect((await why(customerId, top, 'call-center'))?.suppressedBy).toBe('stop after accept');
  });

  it('three web impressions within the week cap the offer on web, not on the call-center', async () => {
    const { customerId, offerId } = take();
    const impression = (days: number) => ({
      customerId,
      offerId,
      outcome: 'impression',
      channel: 'web',
      at: daysAgo(days),
    });
    await respond([impression(6), impression(2)]);
    expect((await why(customerId, offerId))?.selected).toBe(true); // two: still shown
    await respond([impression(1)]);
    expect(shows(await ask(customerId), offerId)).toBe(false);
    expect((await why(customerId, offerId))?.suppressedBy).toBe(WEB_TIP);
    expect(shows(await ask(customerId, 'call-center'), offerId)).toBe(true);
  });

  it('an impression older than the week does not count', async () => {
    const { customerId, offerId } = take();
    const impression = (days: number) => ({
      customerId,
      offerId,
      outcome: 'impression',
      channel: 'web',
      at: daysAgo(days),
    });
    await respond([impression(8), impression(9), impression(10), impression(2), impression(1)]);
    expect((await why(customerId, offerId))?.selected).toBe(true);
  });

  it('without reported impressions, the offers decisions presented are held: the 4th decision in a row leaves it out', async () => {
    const { customerId, offerId } = take();
    for (let i = 1; i <= 3; i++) expect(shows(await ask(customerId), offerId), `decision ${i}`).toBe(true);
    expect(shows(await ask(customerId), offerId)).toBe(false);
    expect((await why(customerId, offerId))?.suppressedBy).toBe(WEB_TIP);
  });

  it("an impression reported with its decisionId replaces that decision's hold, not adds to it", async () => {
    const { customerId, offerId } = take();
    const first = await ask(customerId);
    expect(shows(first, offerId)).toBe(true);
    expect(shows(await ask(customerId), offerId)).toBe(true);
    await respond([{ customerId, offerId, outcome: 'impression', channel: 'web', decisionId: first.decisionId }]);
    expect(shows(await ask(customerId), offerId)).toBe(true); // 1 impression + 1 hold before it
    expect(shows(await ask(customerId), offerId)).toBe(false); // 1 impression + 2 holds
  });

  it('explain decisions reserve nothing', async () => {
    const { customerId, offerId } = take();
    for (let i = 0; i < 6; i++) expect((await why(customerId, offerId))?.selected).toBe(true);
    expect(version(customerId)).toBe(0);
    expect(shows(await ask(customerId), offerId)).toBe(true);
    expect(version(customerId)).toBe(1); // the normal decision did reserve
  });

  it('a decision that presents nothing a cap counts writes nothing', async () => {
    const { customerId } = take((q) => !q.salesOnCall);
    const answer = await ask(customerId, 'call-center');
    expect(answer.offers.length).toBeGreaterThan(0);
    expect(version(customerId)).toBe(0);
    await ask(customerId); // on web the tip cap counts every offer
    expect(version(customerId)).toBe(1);
  });
});
