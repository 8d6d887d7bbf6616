import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFacts } from '../../src/decision/facts.js';
import { Profile } from '../../src/profiles/schema.js';
import { compileOutbound, loadRuleSet, type RuleSet } from '../../src/rules/index.js';
import { formatIssue } from '../../src/rules/positions.js';
import { Manifest } from '../../src/rules/schema.js';
import { rulesCopy, shippedRuleSet } from '../support/rules.js';

describe('compiled journeys and outbound channels', () => {
  let rs: RuleSet;
  beforeAll(async () => {
    rs = await shippedRuleSet();
  });

  it('outbound channels with their consent, capacity a run and cost', () => {
    expect([...rs.outbound.channels]).toEqual([
      ['email', { consent: 'email', capacity: undefined, costPerContact: undefined }],
      ['sms', { consent: 'sms', capacity: undefined, costPerContact: undefined }],
      ['direct-mail', { consent: undefined, capacity: 2000, costPerContact: 1.25 }],
      ['outbound-call', { consent: 'call-center', capacity: 400, costPerContact: undefined }],
    ]);
    expect(rs.outbound.maxContactsPerRun).toBe(1);
  });

  it('a capacity and a budget together: the smaller; no outbound block: no channels, one contact a run', () => {
    const outbound = (channel: object) =>
      compileOutbound(Manifest.parse({ version: '1', channels: ['web'], outbound: { channels: { letter: channel } } }));
    const capacity = (channel: object) => outbound(channel).channels.get('letter')!.capacity;
    expect(capacity({ capacityPerRun: 10, budgetPerRun: 100, costPerContact: 2 })).toBe(10);
    expect(capacity({ capacityPerRun: 100, budgetPerRun: 100, costPerContact: 3 })).toBe(33);
    const none = compileOutbound(Manifest.parse({ version: '1', channels: ['web'] }));
    expect([...none.channels]).toEqual([]);
    expect(none.maxContactsPerRun).toBe(1);
  });

  it('journeys in file-name order, steps as written, the offers whose accept ends them', () => {
    expect(rs.journeys.map((j) => j.id)).toEqual(['anti-churn', 'loyalty', 'onboarding', 'winback']);
    const antiChurn = rs.journeys[0]!;
    expect(antiChurn).toMatchObject({
      name: 'Multi-wave anti-churn',
      lengthWeeks: 12,
      reenterAfterWeeks: 26,
      exitOnPhaseChange: true,
      exitOnAccept: true,
    });
    expect(antiChurn.steps[1]).toEqual({
      id: 'wave-2-call',
      channel: 'outbound-call',
      week: undefined,
      every: undefined,
      after: 'wave-1',
      noResponseDays: 14,
      offer: undefined,
      groups: new Set(['anti-churn', 'save']),
      segments: new Set(['super', 'top']),
    });
    // bestOf: the offers of its groups with a treatment for the step's channel
    expect(antiChurn.offerIds).toEqual(
      new Set([
        'anti-churn-early-renewal',
        'anti-churn-speed-boost',
        'anti-churn-vip-retention-gift',
        'save-loyalty-discount',
      ]),
    );
    const winback = rs.journeys[3]!;
    expect(winback.reenterAfterWeeks).toBeUndefined();
    expect(winback.steps[0]).toMatchObject({ week: 0, every: undefined, offer: 'end-exit-survey', groups: undefined });
    expect(winback.offerIds).toEqual(new Set(['end-exit-survey', 'winback-come-back-offer', 'winback-vip-return']));
    expect(rs.journeys[1]!.steps[0]).toMatchObject({ week: 2, every: 13 });
  });

  it('entry is a predicate over the profile facts', () => {
    const profile = (churnScore: number) =>
      Profile.parse({ customerId: 'C1', valueSegment: 'top', lifecyclePhase: 'retain', clv: 100, churnScore });
    const enters = (churnScore: number) =>
      rs.journeys[0]!.entry(buildFacts(profile(churnScore), { customerId: 'C1', channel: '' }));
    expect(enters(0.5)).toBe(true);
    expect(enters(0.1)).toBe(false);
  });

  it('channel indexes, control and policy cover the outbound channels too', () => {
    expect([...rs.byChannel.keys()]).toEqual(['web', 'call-center', 'email', 'sms', 'direct-mail', 'outbound-call']);
    expect(rs.byChannel.get('outbound-call')!.map((o) => o.id)).toContain('save-loyalty-discount');
    expect(
      rs.byChannelCell
        .get('direct-mail')!
        .get('regain')!
        .get('top')!
        .map((o) => o.id),
    ).toEqual(['winback-come-back-offer', 'winback-vip-return']);
    expect(rs.fallbackByChannel.get('email')!.map((o) => o.id)).toEqual([
      'service-app-download',
      'service-coverage-check',
      'service-ebill-autopay',
    ]);
    // a channel the control group's offers do not name gets none
    expect(rs.control.get('email')!.offers).toBe('none');
    expect(rs.control.get('call-center')!.offers).toBe('random');
    expect(
      rs.policy.rulesFor
        .get('email')!
        .get('care-vip-invitation')!
        .map((r) => r.name),
    ).toEqual([
      'quiet for 90 days after a complaint',
      'stop after accept',
      "30 days' rest after a reject",
      'quiet for 30 days after a save',
      '2 outbound contacts a week',
    ]);
    const quiet = rs.policy.rules.find((r) => r.name === 'quiet for 30 days after a save');
    expect(quiet).toMatchObject({ type: 'suppressAfter', of: { offers: undefined, groups: new Set(['save']) } });
  });
});

describe('journey lint', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const warningsOf = async (edit: Parameters<typeof rulesCopy>[0], after?: (dir: string) => Promise<void>) => {
    const dir = await rulesCopy(edit);
    dirs.push(dir);
    await after?.(dir);
    const r = await loadRuleSet(dir);
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    return r.warnings.map(formatIssue);
  };

  it('a step whose offer can never be eligible in the journey phase', async () => {
    const warnings = await warningsOf({
      'journeys/onboarding.json': (j) => (j.steps[0].offer = 'care-vip-invitation'),
      'journeys/loyalty.json': (j) => (j.steps[2].bestOf = ['winback']),
    });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^journeys\/loyalty\.json:\d+:\d+: warning: no offer of group "winback" on channel "email" can be eligible for this step's customers \(lifecycle phase "loyalty", value segment "middle"\): step "monthly-email" is never sent$/,
      ),
      expect.stringMatching(
        /^journeys\/onboarding\.json:\d+:\d+: warning: offer "care-vip-invitation" can never be eligible for this step's customers \(lifecycle phase "new"\): step "welcome" is never sent$/,
      ),
    ]);
  });

  it('a phase change that does not end the journey: no judgement on phases', async () => {
    const warnings = await warningsOf({
      'journeys/onboarding.json': (j) => {
        j.steps[0].offer = 'care-vip-invitation';
        j.exits = { phaseChange: false };
      },
    });
    expect(warnings).toEqual([]);
  });

  it('a step on a channel of no capacity', async () => {
    const warnings = await warningsOf({
      'manifest.json': (m) => (m.outbound.channels['direct-mail'].budgetPerRun = 1),
    });
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(
      /^journeys\/anti-churn\.json:\d+:\d+: warning: channel "direct-mail" has a capacity of 0 contacts a run in manifest\.json: step "wave-3-after-call" is never sent$/,
    );
  });

  it('an outbound channel no journey step sends on, at its name in the manifest', async () => {
    const warnings = await warningsOf({}, (dir) => rm(join(dir, 'journeys'), { recursive: true }));
    expect(warnings.map((w) => w.replace(/:\d+:\d+:/, ''))).toEqual([
      'manifest.json warning: outbound channel "email" is used by no journey step',
      'manifest.json warning: outbound channel "sms" is used by no journey step',
      'manifest.json warning: outbound channel "direct-mail" is used by no journey step',
      'manifest.json warning: outbound channel "outbound-call" is used by no journey step',
    ]);
  });
});
