import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFacts } from '../../src/decision/facts.js';
import { compileCondition } from '../../src/rules/compile.js';
import { reachablePhases, reachableSegments } from '../../src/rules/phases.js';
import { evaluateReference } from '../../src/rules/reference.js';
import { Condition, TopCondition } from '../../src/rules/schema.js';
import { conditionArb, profileArb, requestArb } from '../support/arbitraries.js';
import { shippedRuleSet } from '../support/rules.js';

// The compiled predicates must agree with json-rules-engine, the reference, on every input.
describe('compiled eligibility equals json-rules-engine', () => {
  it('for random profiles × every shipped offer', async () => {
    const ruleset = await shippedRuleSet();
    await fc.assert(
      fc.asyncProperty(profileArb, requestArb(['web', 'call-center']), async (profile, request) => {
        const facts = buildFacts(profile, request);
        for (const offer of ruleset.offers) {
          const reference = await evaluateReference(offer.source.eligibility, facts, 'jsonpath');
          expect(offer.eligible(facts), offer.id).toBe(reference.eligible);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('for random conditions over random facts', async () => {
    await fc.assert(
      fc.asyncProperty(
        conditionArb,
        profileArb,
        requestArb(['web', 'call-center']),
        async (condition, profile, request) => {
          expect(Condition.safeParse(condition).success).toBe(true);
          const top = TopCondition.parse({ all: [condition] });
          const facts = buildFacts(profile, request);
          const reference = await evaluateReference(top, facts, 'jsonpath');
          expect(compileCondition(top)(facts)).toBe(reference.eligible);
          // explain's engine, which reads paths without JSONPath, traces the same answer
          const service = await evaluateReference(top, facts);
          expect(service).toEqual(reference);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('agrees on the edge cases of the operators', async () => {
    const cases: [TopCondition, Record<string, unknown>, boolean][] = [
      [{ all: [{ fact: 'churnScore', operator: 'greaterThan', value: 0.5 }] }, {}, false],
      [
        { all: [{ fact: 'attributes', path: '$.n', operator: 'lessThan', value: 10 }] },
        { attributes: { n: '5' } },
        true,
      ],
      [{ all: [{ fact: 'productsHeld', operator: 'doesNotContain', value: 'tv' }] }, {}, false],
      [{ all: [{ fact: 'channel', path: '$.x', operator: 'equal', value: 'web' }] }, { channel: 'web' }, true],
      [{ all: [] }, {}, true],
      [{ not: { fact: 'npsScore', operator: 'equal', value: null } }, {}, true],
      [
        { all: [{ fact: 'attributes', path: '$.e.length', operator: 'equal', value: 0 }] },
        { attributes: { e: '' } },
        false,
      ],
      [
        { all: [{ fact: 'attributes', path: '$.e.length', operator: 'equal', value: 2 }] },
        { attributes: { e: 'ab' } },
        true,
      ],
    ];
    for (const [condition, facts, expected] of cases) {
      expect((await evaluateReference(condition, facts, 'jsonpath')).eligible).toBe(expected);
      expect(compileCondition(condition)(facts)).toBe(expected);
    }
  });

  it('the phase and segment index never drops an eligible offer (random conditions and profiles)', async () => {
    fc.assert(
      fc.property(conditionArb, profileArb, requestArb(['web', 'call-center']), (condition, profile, request) => {
        const top = TopCondition.parse({ all: [condition] });
        const phases = reachablePhases(top);
        const segments = reachableSegments(top);
        if (!compileCondition(top)(buildFacts(profile, request))) return;
        if (phases) expect(phases.has(profile.lifecyclePhase)).toBe(true);
        if (segments) expect(segments.has(profile.valueSegment)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    const ruleset = await shippedRuleSet();
    fc.assert(
      fc.property(profileArb, requestArb(['web', 'call-center']), (profile, request) => {
        const facts = buildFacts(profile, request);
        const all = ruleset.byChannel.get(request.channel)!.filter((o) => o.eligible(facts));
        const indexed = ruleset.byChannelPhase
          .get(request.channel)!
          .get(profile.lifecyclePhase)!
          .filter((o) => o.eligible(facts));
        expect(indexed).toEqual(all);
        const cell = ruleset.byChannelCell
          .get(request.channel)!
          .get(profile.lifecyclePhase)!
          .get(profile.valueSegment)!
          .filter((o) => o.eligible(facts));
        expect(cell).toEqual(all);
      }),
      { numRuns: 2000 },
    );
  });
});
