import { beforeAll, describe, expect, it } from 'vitest';
import { type ContactState, DAY_MS, EMPTY_CONTACTS } from '../../src/contacts/state.js';
import { suppressedBy } from '../../src/decision/policy.js';
import { compilePolicy, type RuleSet } from '../../src/rules/index.js';
import { ContactPolicy } from '../../src/rules/schema.js';
import { shippedRuleSet } from '../support/rules.js';

const NOW = Date.UTC(2026, 5, 10, 12);
const QUIET = 'quiet for 30 days after a save';

/** A customer who accepted `offerId` on the call-center `days` ago. */
const acceptedAgo = (offerId: string, days: number): ContactState => ({
  ...EMPTY_CONTACTS,
  version: 1,
  last: [{ outcome: 'accept', channel: 'call-center', offerId, at: NOW - days * DAY_MS }],
});

describe('suppressAfter with "of": only outcomes of those offers start it', () => {
  let rs: RuleSet;
  beforeAll(async () => {
    rs = await shippedRuleSet();
  });
  const offer = (id: string) => rs.offers.find((o) => o.id === id)!;
  const suppressed = (policy: RuleSet['policy'], state: ContactState, channel = 'email') =>
    suppressedBy(policy, offer('care-vip-invitation'), channel, state, [], NOW);

  it('a save accepted 10 days ago quiets the care offers, on every channel; 40 days ago it is over', () => {
    expect(suppressed(rs.policy, acceptedAgo('save-loyalty-discount', 10))).toBe(QUIET);
    expect(suppressed(rs.policy, acceptedAgo('save-loyalty-discount', 10), 'web')).toBe(QUIET);
    expect(suppressed(rs.policy, acceptedAgo('save-loyalty-discount', 40))).toBeNull();
  });

  it('an accept of another offer does not start it; without "of" the same rule would', () => {
    const care = acceptedAgo('care-loyalty-data-gift', 10);
    expect(suppressed(rs.policy, care)).toBeNull();
    const rules = rs.source.contactPolicy.rules.map((r) => {
      if (r.name !== QUIET || r.type !== 'suppressAfter') return r;
      const { of: _, ...rest } = r;
      return rest;
    });
    const withoutOf = compilePolicy(
      ContactPolicy.parse({ ...rs.source.contactPolicy, rules }),
      rs.offers.map((o) => ({ id: o.id, group: o.group, channels: Object.keys(o.treatments) })),
      [...rs.byChannel.keys()],
    );
    expect(suppressed(withoutOf, care)).toBe(QUIET);
  });

  it('"of" with offers and groups: an offer must be in both', () => {
    const policy = compilePolicy(
      ContactPolicy.parse({
        rules: [
          {
            type: 'suppressAfter',
            name: 'after the discount',
            outcome: 'accept',
            of: { offers: ['save-loyalty-discount', 'care-loyalty-data-gift'], groups: ['save'] },
            scope: 'all',
            days: 30,
          },
        ],
      }),
      rs.offers.map((o) => ({ id: o.id, group: o.group, channels: Object.keys(o.treatments) })),
      [...rs.byChannel.keys()],
    );
    expect(suppressed(policy, acceptedAgo('save-loyalty-discount', 1))).toBe('after the discount');
    expect(suppressed(policy, acceptedAgo('care-loyalty-data-gift', 1))).toBeNull();
    expect(suppressed(policy, acceptedAgo('save-plan-right-size', 1))).toBeNull();
  });
});
