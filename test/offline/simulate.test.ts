import { describe, expect, it } from 'vitest';
import { parseContext } from '../../src/cli/simulate.js';
import { generateProfiles } from '../../src/offline/demo/profiles.js';
import { simulate } from '../../src/offline/simulate.js';
import { shippedRuleSet } from '../support/rules.js';

describe('simulate (in process)', () => {
  it('an empty population gives zeros, not NaN', async () => {
    const rules = await shippedRuleSet();
    const report = simulate({ rules, baseline: rules, channels: ['web'] }, []);
    const ch = report.channels[0]!;
    expect(ch).toMatchObject({ customers: 0, rules: { noOffer: { customers: 0, share: 0 }, topOffers: [] } });
    expect(ch.shift).toEqual({ changed: { customers: 0, share: 0 }, offers: [], flows: [] });
    expect(JSON.stringify(report)).not.toContain('"share":null'); // NaN would serialize as null
  });

  it('is reproducible: the same population gives the same report', async () => {
    const rules = await shippedRuleSet();
    const profiles = generateProfiles({ customers: 500, seed: 3 });
    const settings = { rules, channels: rules.manifest.channels, context: { intent: 'billing' } };
    expect(simulate(settings, profiles)).toEqual(simulate(settings, profiles));
  });

  it('a channel the baseline does not declare counts as no offer there', async () => {
    const rules = await shippedRuleSet();
    const webOnly = { ...rules, version: 'web-only', manifest: { ...rules.manifest, channels: ['web'] } };
    const profiles = generateProfiles({ customers: 200, seed: 5 });
    const ch = simulate({ rules, baseline: webOnly, channels: ['call-center'] }, profiles).channels[0]!;
    expect(ch.baselineDeclaresChannel).toBe(false);
    expect(ch.baseline!.noOffer).toEqual({ customers: 200, share: 1 });
    expect(ch.shift!.flows.every((f) => f.from === null)).toBe(true);
  });

  it('decides with the placement given, as the service does for weights that name one', async () => {
    const rules = await shippedRuleSet();
    const profiles = generateProfiles({ customers: 500, seed: 9 });
    const plain = simulate({ rules, channels: ['web'] }, profiles).channels[0]!;
    const home = simulate({ rules, channels: ['web'], placement: 'account-home' }, profiles);
    expect(home.placement).toBe('account-home');
    const service = (mix: typeof plain.rules) =>
      mix.topOffers.filter((o) => o.offerId?.startsWith('service-')).reduce((n, o) => n + o.customers, 0);
    // the shipped "Account home page: service tips first" weight lifts service offers there
    expect(service(home.channels[0]!.rules)).toBeGreaterThan(service(plain.rules));
  });

  it('--context values: numbers and true/false are parsed, the rest stays text', () => {
    expect(
      parseContext([
        'intent=cancel',
        'n=3',
        'ratio=-0.5',
        'vip=true',
        'late=false',
        'code=007x',
        'zip=007',
        'big=1e3',
        'empty=',
      ]),
    ).toEqual({
      intent: 'cancel',
      n: 3,
      ratio: -0.5,
      vip: true,
      late: false,
      code: '007x',
      zip: '007',
      big: '1e3',
      empty: '',
    });
    expect(() => parseContext(['a=1', 'a=2'])).toThrow(/given twice/);
    expect(() => parseContext(['constructor=x'])).toThrow(/KEY=VALUE/);
  });
});
