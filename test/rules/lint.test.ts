import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildFacts } from '../../src/decision/facts.js';
import type { DecisionRequest } from '../../src/decision/types.js';
import { Profile } from '../../src/profiles/schema.js';
import { compileCondition } from '../../src/rules/compile.js';
import { canonicalCondition, neverHolds } from '../../src/rules/lint.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { formatIssue } from '../../src/rules/positions.js';
import {
  type Condition,
  type FactName,
  type LeafCondition,
  OPERATORS,
  type TopCondition,
} from '../../src/rules/schema.js';
import { conditionArb, profileArb, requestArb } from '../support/arbitraries.js';
import { run } from '../support/process.js';
import { SHIPPED_RULES } from '../support/rules.js';

/** What the shipped rules are warned about today: look-alike offers and single-channel offers, both deliberate. */
/** The shipped rules lint clean: every warning a test sees is one it caused. */
const SHIPPED_WARNINGS: string[] = [];

/** 1-based "line:col" where `needle` starts in `text`. */
function positionOf(text: string, needle: string): string {
  const offset = text.indexOf(needle);
  if (offset < 0) throw new Error(`${needle} not found`);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const all = (...leaves: string[]) => `{\n    "all": [\n      ${leaves.join(',\n      ')}\n    ]\n  }`;

describe('lint warnings of a rule set', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-lint-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const read = (file: string) => readFile(join(dir, file), 'utf8');
  const edit = async (file: string, change: (text: string) => string) => {
    const text = change(await read(file));
    await writeFile(join(dir, file), text);
    return text;
  };
  /** Replaces the offer's eligibility with `body` and returns the new file text. */
  const setEligibility = (file: string, body: string) =>
    edit(file, (t) => {
      const changed = t.replace(
        /"eligibility": [\s\S]*?\n {2}\},\n {2}"treatments"/,
        `"eligibility": ${body},\n  "treatments"`,
      );
      if (changed === t) throw new Error(`no eligibility replaced in ${file}`);
      return changed;
    });
  /** Warnings beyond the shipped ones. */
  const warnings = async () => {
    const r = await loadRuleSet(dir);
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    return r.warnings.map(formatIssue).filter((w) => !SHIPPED_WARNINGS.includes(w));
  };
  const OFFER = 'offers/service-app-download.json';
  const never = (reason: string) => `warning: offer "service-app-download" can never be eligible: ${reason}`;

  it('has nothing to say about the shipped rules', async () => {
    const r = await loadRuleSet(dir);
    expect(r.ok).toBe(true);
    expect(r.warnings.map(formatIssue)).toEqual(SHIPPED_WARNINGS);
    expect(r.warnings.every((w) => w.severity === 'warning')).toBe(true);
  });

  it('two equals on the same fact: at the later one', async () => {
    const later = '{ "fact": "lifecyclePhase", "operator": "equal", "value": "loyalty" }';
    const text = await setEligibility(
      OFFER,
      all(
        '{ "fact": "lifecyclePhase", "operator": "equal", "value": "new" }',
        '{ "fact": "clv", "operator": "greaterThan", "value": 5 }',
        later,
      ),
    );
    expect(positionOf(text, later)).toBe('14:7');
    expect(await warnings()).toEqual([
      `${OFFER}:14:7: ${never('lifecyclePhase must equal "new" and "loyalty" at once')}`,
    ]);
  });

  it('an equal outside an in list, in lists that do not meet, notIn and notEqual excluding all that is allowed', async () => {
    const cases: [string[], string][] = [
      [
        [
          '{ "fact": "valueSegment", "operator": "in", "value": ["super", "top"] }',
          '{ "fact": "valueSegment", "operator": "equal", "value": "middle" }',
        ],
        'valueSegment must be one of ["super", "top"] and equal "middle" at once',
      ],
      [
        [
          '{ "fact": "context", "path": "$.intent", "operator": "in", "value": ["cancel", "billing"] }',
          '{ "fact": "context", "path": "$.intent", "operator": "in", "value": ["moving", "upgrade"] }',
        ],
        'context $.intent must be one of ["cancel", "billing"] and one of ["moving", "upgrade"] at once',
      ],
      [
        [
          '{ "fact": "placement", "operator": "in", "value": ["home", "checkout"] }',
          '{ "fact": "clv", "operator": "lessThan", "value": 10 }',
          '{ "fact": "placement", "operator": "notEqual", "value": "home" }',
          '{ "fact": "placement", "operator": "notIn", "value": ["checkout", "cart"] }',
        ],
        'placement must be one of ["home", "checkout"], not equal "home" and not be one of ["checkout", "cart"] at once',
      ],
      [
        [
          '{ "fact": "lifecyclePhase", "operator": "notIn", "value": ["new", "loyalty"] }',
          '{ "fact": "lifecyclePhase", "operator": "notEqual", "value": "retain" }',
          '{ "fact": "lifecyclePhase", "operator": "notEqual", "value": "regain" }',
        ],
        'lifecyclePhase must not be one of ["new", "loyalty"], not equal "retain" and "regain" at once, and it is always one of "new", "loyalty", "retain" or "regain"',
      ],
    ];
    for (const [leaves, reason] of cases) {
      const text = await setEligibility(OFFER, all(...leaves));
      expect(await warnings()).toEqual([`${OFFER}:${positionOf(text, leaves.at(-1)!)}: ${never(reason)}`]);
    }
  });

  it('empty numeric ranges, with json-rules-engine type semantics', async () => {
    const cases: [string[], string][] = [
      [
        [
          '{ "fact": "tenureDays", "operator": "greaterThan", "value": 5 }',
          '{ "fact": "tenureDays", "operator": "lessThan", "value": 3 }',
        ],
        'tenureDays must be greater than 5 and less than 3 at once',
      ],
      [
        [
          '{ "fact": "attributes", "path": "$.dataUsagePct", "operator": "greaterThanInclusive", "value": 5 }',
          '{ "fact": "attributes", "path": "$.dataUsagePct", "operator": "lessThan", "value": 5 }',
        ],
        'attributes $.dataUsagePct must be at least 5 and less than 5 at once',
      ],
      [
        [
          '{ "fact": "npsScore", "operator": "greaterThan", "value": 6 }',
          '{ "fact": "npsScore", "operator": "lessThan", "value": 7 }',
        ],
        'npsScore must be greater than 6 and less than 7 at once, and it is a whole number from 0 to 10, or absent',
      ],
      [
        ['{ "fact": "churnScore", "operator": "greaterThan", "value": 50 }'],
        'churnScore must be greater than 50, but it is a number from 0 to 1',
      ],
      [
        ['{ "fact": "clv", "operator": "equal", "value": "1000" }'],
        'clv must equal "1000", but it is a number of at least 0',
      ],
      [
        [
          '{ "fact": "attributes", "path": "$.paymentLate", "operator": "equal", "value": true }',
          '{ "fact": "attributes", "path": "$.paymentLate", "operator": "greaterThan", "value": 0 }',
        ],
        'attributes $.paymentLate must equal true and be greater than 0 at once',
      ],
      [
        ['{ "fact": "attributes", "operator": "greaterThan", "value": 0 }'],
        'attributes must be greater than 0, but it is an object (read one of its values with "path")',
      ],
      [
        [
          '{ "fact": "productsHeld", "operator": "contains", "value": "tv" }',
          '{ "fact": "productsHeld", "operator": "doesNotContain", "value": "tv" }',
        ],
        'productsHeld must contain "tv" and not contain "tv" at once',
      ],
    ];
    for (const [leaves, reason] of cases) {
      const text = await setEligibility(OFFER, all(...leaves));
      expect(await warnings()).toEqual([`${OFFER}:${positionOf(text, leaves.at(-1)!)}: ${never(reason)}`]);
    }
  });

  it('a phase, segment or channel that does not exist is an error, with the name meant', async () => {
    const errors = async () => {
      const r = await loadRuleSet(dir);
      return r.ok ? [] : r.errors.map(formatIssue);
    };
    const phase = '{ "fact": "lifecyclePhase", "operator": "equal", "value": "gold" }';
    let text = await setEligibility(OFFER, all(phase));
    expect(await errors()).toEqual([
      `${OFFER}:${positionOf(text, '"gold"')}: "gold" is not a lifecycle phase: lifecyclePhase is "new", "loyalty", "retain" or "regain"`,
    ]);
    const segment = '{ "fact": "valueSegment", "operator": "in", "value": ["Super", "platinum"] }';
    text = await setEligibility(OFFER, all(segment));
    expect(await errors()).toEqual([
      `${OFFER}:${positionOf(text, '"Super"')}: "Super" is not a value segment: valueSegment is "super", "top", "middle" or "bottom"; did you mean "super"?`,
      `${OFFER}:${positionOf(text, '"platinum"')}: "platinum" is not a value segment: valueSegment is "super", "top", "middle" or "bottom"`,
    ]);
    const channel = '{ "not": { "fact": "channel", "operator": "notIn", "value": ["callcenter"] } }';
    text = await setEligibility(OFFER, all(channel));
    expect(await errors()).toEqual([
      `${OFFER}:${positionOf(text, '"callcenter"')}: "callcenter" is not a channel of this rule set: channel is "web", "call-center", "email", "sms", "direct-mail" or "outbound-call"; did you mean "call-center"?`,
    ]);
  });

  it('a channel the offer has no treatment for; still warned that the treatment is missing', async () => {
    const channel = '{ "fact": "channel", "operator": "equal", "value": "call-center" }';
    // a web-only tip first: no call-center treatment
    await edit('offers/service-help-centre.json', (t) => {
      const offer = JSON.parse(t);
      delete offer.treatments['call-center'];
      delete offer.propensity['call-center'];
      return JSON.stringify(offer, null, 2);
    });
    await edit('offers/service-help-centre.json', (t) =>
      t.replace('"value": "regain"\n      }', `"value": "regain"\n      },\n      ${channel}`),
    );
    const text = await read('offers/service-help-centre.json');
    expect(await warnings()).toEqual([
      `offers/service-help-centre.json:${positionOf(text, channel)}: warning: offer "service-help-centre" can never be eligible: channel must equal "call-center", but the offer has treatments only for "web"`,
      `offers/service-help-centre.json:${positionOf(text, '"treatments"')}: warning: offer "service-help-centre" has no treatment for channel "call-center", so it is never shown there`,
    ]);
  });

  it('an any only when every branch clashes, positioned at the any; a not is never judged', async () => {
    const any =
      '{ "any": [{ "fact": "lifecyclePhase", "operator": "equal", "value": "loyalty" }, { "fact": "lifecyclePhase", "operator": "in", "value": ["retain"] }] }';
    const text = await setEligibility(
      OFFER,
      all('{ "fact": "lifecyclePhase", "operator": "equal", "value": "new" }', any),
    );
    expect(await warnings()).toEqual([
      `${OFFER}:${positionOf(text, any)}: ${never('none of the 2 "any" conditions can hold (lifecyclePhase must equal "new" and "loyalty" at once; lifecyclePhase must equal "new" and be one of ["retain"] at once)')}`,
    ]);
    await setEligibility(
      OFFER,
      all('{ "fact": "lifecyclePhase", "operator": "equal", "value": "new" }', any.replace('"retain"', '"new"')),
    );
    expect(await warnings()).toEqual([]);
    await setEligibility(
      OFFER,
      all(
        '{ "not": { "fact": "lifecyclePhase", "operator": "in", "value": ["new", "loyalty", "retain", "regain"] } }',
        '{ "not": { "fact": "valueSegment", "operator": "in", "value": [] } }',
      ),
    );
    expect(await warnings()).toEqual([]);
  });

  it('identical eligibility sharing a channel, however written: on the second offer, naming the first', async () => {
    const a = '{ "fact": "valueSegment", "operator": "in", "value": ["super", "top"] }';
    const b = '{ "fact": "lifecyclePhase", "operator": "equal", "value": "loyalty" }';
    await setEligibility('offers/care-vip-invitation.json', all(a, b));
    const text = await setEligibility(
      OFFER,
      all(
        '{ "value": "loyalty", "operator": "equal", "fact": "lifecyclePhase" }',
        '{ "fact": "valueSegment", "operator": "in", "value": ["top", "super"] }',
      ),
    );
    expect(await warnings()).toEqual([
      `${OFFER}:${positionOf(text, '"eligibility"')}: warning: offer "service-app-download" has the same eligibility as offer "care-vip-invitation" on channels "web", "call-center" and "email"`,
    ]);
    expect(positionOf(text, '"eligibility"')).toBe('10:3');
    // on channels that do not meet, the same eligibility is fine
    await edit('offers/care-vip-invitation.json', (t) => {
      const offer = JSON.parse(t);
      delete offer.treatments.web;
      delete offer.propensity.web;
      delete offer.treatments.email;
      delete offer.propensity.email;
      return JSON.stringify(offer, null, 2);
    });
    await edit(OFFER, (t) => {
      const offer = JSON.parse(t);
      delete offer.treatments['call-center'];
      delete offer.propensity['call-center'];
      return JSON.stringify(offer, null, 2);
    });
    expect((await warnings()).filter((w) => w.includes('same eligibility'))).toEqual([]);
  });

  it('a treatment missing for a declared channel, at the treatments key, unless the eligibility rules the channel out', async () => {
    const text = await edit(OFFER, (t) => {
      const offer = JSON.parse(t);
      delete offer.treatments.web;
      delete offer.propensity.web;
      return JSON.stringify(offer, null, 2);
    });
    expect(await warnings()).toEqual([
      `${OFFER}:${positionOf(text, '"treatments"')}: warning: offer "service-app-download" has no treatment for channel "web", so it is never shown there`,
    ]);
    // save-price-match (shipped) has no web treatment either, but its eligibility asks for call-center
    expect((await loadRuleSet(dir)).warnings.map((w) => w.message).join('\n')).not.toContain(
      '"save-price-match" has no treatment',
    );
  });

  it('a contact-policy rule that governs no offer, at the rule', async () => {
    const rule =
      '{ "type": "frequencyCap", "name": "price match on the web", "offers": ["save-price-match"], "channel": "web", "counts": "impression", "max": 1, "windowDays": 7 }';
    const text = await edit('contact-policy.json', (t) => t.replace('"rules": [', `"rules": [\n    ${rule},`));
    expect(positionOf(text, rule)).toBe('9:5');
    expect(await warnings()).toEqual([
      'contact-policy.json:9:5: warning: policy rule "price match on the web" governs no offer: there is no offer named "save-price-match" with a treatment for channel "web"',
    ]);
  });

  it('no lint while the rule set has errors', async () => {
    await setEligibility(
      OFFER,
      all(
        '{ "fact": "lifecyclePhase", "operator": "equal", "value": "gold" }',
        '{ "fact": "salary", "operator": "equal", "value": 1 }',
      ),
    );
    const r = await loadRuleSet(dir);
    expect(r.ok).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  // runs dist/: npm test builds first
  it('nextbest rules validate: warnings exit 0 unless past --max-warnings; paths as given; a file checks its set', async () => {
    const later = '{ "fact": "lifecyclePhase", "operator": "equal", "value": "loyalty" }';
    const text = await setEligibility(
      OFFER,
      all('{ "fact": "lifecyclePhase", "operator": "equal", "value": "new" }', later),
    );
    const r = await run(['bin/nextbest.js', 'rules', 'validate', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${join(dir, OFFER)}:${positionOf(text, later)}: warning: offer "service-app-download" can never be eligible: lifecyclePhase must equal "new" and "loyalty" at once`,
    );
    expect(r.stdout).toMatch(/valid, version .*, 37 offers, 4 journeys, 1 warning\n/);
    const strict = await run(['bin/nextbest.js', 'rules', 'validate', dir, '--max-warnings', '0']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('valid, but 1 warning, more than --max-warnings 0');
    expect((await run(['bin/nextbest.js', 'rules', 'validate', dir, '--max-warnings', '1'])).code).toBe(0);
    const j = await run(['bin/nextbest.js', 'rules', 'validate', dir, '--json']);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out.valid).toBe(true);
    expect(out.warnings).toContainEqual(
      expect.objectContaining({
        file: OFFER,
        severity: 'warning',
        line: Number(positionOf(text, later).split(':')[0]),
      }),
    );
    // one offer file: its rule set is checked, and its issues named by the path given
    const one = await run(['bin/nextbest.js', 'rules', 'validate', join(dir, OFFER)]);
    expect(one.code).toBe(0);
    expect(one.stderr).toContain(`belongs to the rule set in ${dir}: checking the whole set`);
    expect(one.stdout).toContain(`${join(dir, OFFER)}:${positionOf(text, later)}: warning:`);
  });
});

describe('never eligible: sound', () => {
  const CHANNELS = ['web', 'call-center'];

  it('does not judge satisfiable conditions, with not, any, paths and attributes', () => {
    const satisfiable: (Condition | TopCondition)[] = [
      { all: [] },
      {
        any: [
          { fact: 'lifecyclePhase', operator: 'equal', value: 'gold' },
          { fact: 'lifecyclePhase', operator: 'equal', value: 'new' },
        ],
      },
      {
        not: {
          all: [
            { fact: 'lifecyclePhase', operator: 'equal', value: 'new' },
            { fact: 'lifecyclePhase', operator: 'equal', value: 'loyalty' },
          ],
        },
      },
      {
        all: [
          { fact: 'lifecyclePhase', operator: 'equal', value: 'new' },
          { not: { fact: 'lifecyclePhase', operator: 'equal', value: 'new' } },
        ],
      },
      {
        all: [
          { fact: 'attributes', path: '$.contractMonthsLeft', operator: 'greaterThan', value: 5 },
          { fact: 'attributes', path: '$.contractMonthsLeft', operator: 'equal', value: '7' },
        ],
      },
      {
        all: [
          { fact: 'attributes', path: '$.a', operator: 'equal', value: 1 },
          { fact: 'attributes', path: '$.b', operator: 'equal', value: 2 },
        ],
      },
      {
        all: [
          { fact: 'attributes', path: '$.x', operator: 'greaterThanInclusive', value: 5 },
          { fact: 'attributes', path: '$.x', operator: 'lessThanInclusive', value: 5 },
          { fact: 'attributes', path: '$.x', operator: 'notEqual', value: 5 },
        ],
      },
      {
        all: [
          { fact: 'lifecyclePhase', operator: 'equal', value: 'new' },
          { fact: 'lifecyclePhase', path: '$.length', operator: 'equal', value: 'loyalty' },
        ],
      },
      { all: [{ fact: 'npsScore', operator: 'notIn', value: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }] },
      {
        all: [
          { fact: 'npsScore', operator: 'greaterThanInclusive', value: 9 },
          { fact: 'npsScore', operator: 'notEqual', value: 9 },
        ],
      },
      { all: [{ fact: 'productsHeld', operator: 'greaterThan', value: 3 }] },
      {
        all: [
          { fact: 'productsHeld', operator: 'doesNotContain', value: 'tv' },
          { fact: 'productsHeld', operator: 'contains', value: 'fibre' },
        ],
      },
      { all: [{ fact: 'customerId', operator: 'lessThan', value: 10 }] },
      {
        all: [
          { fact: 'channel', operator: 'in', value: ['sms', 'web'] },
          { fact: 'channelConsent', operator: 'equal', value: false },
        ],
      },
      {
        all: [
          { fact: 'context', path: '$.intent', operator: 'notIn', value: ['cancel'] },
          { fact: 'context', path: '$.intent', operator: 'notEqual', value: 'billing' },
        ],
      },
      {
        all: [
          { fact: 'tenureDays', operator: 'greaterThan', value: 3 },
          { fact: 'tenureDays', operator: 'lessThan', value: 5 },
        ],
      },
      {
        all: [
          { fact: 'lifecyclePhase', operator: 'in', value: ['new', 'loyalty'] },
          {
            any: [
              { fact: 'lifecyclePhase', operator: 'equal', value: 'retain' },
              { fact: 'lifecyclePhase', operator: 'notEqual', value: 'new' },
            ],
          },
        ],
      },
    ];
    for (const c of satisfiable) expect(neverHolds(c, CHANNELS), JSON.stringify(c)).toBeUndefined();
  });

  it('ignores key order and the order inside all, any and in lists when comparing eligibility', () => {
    const a: TopCondition = {
      all: [
        { fact: 'clv', operator: 'greaterThan', value: 1 },
        {
          any: [
            { fact: 'valueSegment', operator: 'in', value: ['top', 'super'] },
            { fact: 'tenureDays', operator: 'lessThan', value: 3 },
          ],
        },
      ],
    };
    const b = JSON.parse(
      '{"all":[{"any":[{"operator":"lessThan","fact":"tenureDays","value":3},{"fact":"valueSegment","value":["super","top"],"operator":"in"}]},{"value":1,"fact":"clv","operator":"greaterThan"}]}',
    ) as TopCondition;
    expect(canonicalCondition(a)).toBe(canonicalCondition(b));
    expect(canonicalCondition(a)).not.toBe(canonicalCondition({ any: a.all }));
  });

  /** Moves a random profile and request toward satisfying some leaves, so that near misses are tried too. */
  function steer(
    profile: Profile,
    request: DecisionRequest,
    leaves: readonly LeafCondition[],
    picks: readonly boolean[],
  ): [Profile, DecisionRequest] {
    let p: Record<string, unknown> = { ...profile, attributes: { ...profile.attributes } };
    const r: { -readonly [K in keyof DecisionRequest]: DecisionRequest[K] } = {
      ...request,
      context: { ...request.context },
    };
    leaves.forEach((leaf, i) => {
      if (!picks[i]) return;
      const v = leaf.value;
      const target = Array.isArray(v)
        ? v[0]
        : typeof v !== 'number'
          ? v
          : leaf.operator.startsWith('greater')
            ? v + (leaf.operator.endsWith('Inclusive') ? 0 : 1)
            : v - (leaf.operator.endsWith('Inclusive') ? 0 : 1);
      if (
        target === undefined ||
        leaf.operator === 'notEqual' ||
        leaf.operator === 'notIn' ||
        leaf.operator === 'doesNotContain'
      )
        return;
      const key = leaf.path?.split('.')[1];
      if (leaf.fact === 'channel' && typeof target === 'string' && CHANNELS.includes(target)) r.channel = target;
      else if (leaf.fact === 'placement' && typeof target === 'string') r.placement = target;
      else if (leaf.fact === 'context' && key && target !== null) r.context = { ...r.context, [key]: target as string };
      else if (leaf.fact === 'attributes' && key && target !== null)
        p.attributes = { ...(p.attributes as object), [key]: target };
      else if (leaf.fact === 'productsHeld' || leaf.fact === 'consents')
        p[leaf.fact] = [...(p[leaf.fact] as string[]), target];
      else if (leaf.path === undefined) {
        const next = { ...p, [leaf.fact]: target };
        if (Profile.safeParse(next).success) p = next;
      }
    });
    const parsed = Profile.safeParse(p);
    return [parsed.success ? parsed.data : profile, r];
  }

  const leavesOf = (c: Condition): LeafCondition[] =>
    'all' in c ? c.all.flatMap(leavesOf) : 'any' in c ? c.any.flatMap(leavesOf) : 'not' in c ? leavesOf(c.not) : [c];

  /** Leaves on few facts with few values, where clashes with the profile's domains are frequent. */
  const POOL = [
    'new',
    'loyalty',
    'retain',
    'regain',
    'super',
    'top',
    'web',
    'call-center',
    'sms',
    true,
    false,
    0,
    1,
    9,
    10,
    0.5,
    '5',
    null,
  ] as const;
  const tightLeaf: fc.Arbitrary<Condition> = fc
    .record({
      at: fc.constantFrom<{ fact: FactName; path?: string }>(
        ...(
          [
            'lifecyclePhase',
            'valueSegment',
            'channel',
            'channelConsent',
            'npsScore',
            'tenureDays',
            'churnScore',
            'productCount',
            'productsHeld',
          ] as const
        ).map((fact) => ({ fact })),
        { fact: 'attributes', path: '$.contractMonthsLeft' },
        { fact: 'context', path: '$.intent' },
      ),
      operator: fc.constantFrom(...OPERATORS),
      scalar: fc.constantFrom(...POOL),
      list: fc.subarray([...POOL], { maxLength: 5 }),
      number: fc.constantFrom(0, 0.5, 1, 5, 9, 10, 11),
    })
    .map(
      ({ at, operator, scalar, list, number }): Condition => ({
        ...at,
        operator,
        value: operator === 'in' || operator === 'notIn' ? list : operator.includes('Than') ? number : scalar,
      }),
    );
  const tightCondition = fc.letrec<{ node: Condition }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      tightLeaf,
      fc.array(tie('node'), { minLength: 1, maxLength: 5 }).map((all) => ({ all })),
      fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
      tie('node').map((not) => ({ not })),
    ),
  })).node;

  it.each([
    ['random condition trees', conditionArb],
    ['condition trees on facts with known domains', tightCondition],
  ])(
    'whenever it says "can never be eligible", no profile and request makes the compiled condition true: %s',
    (_, arb) => {
      let judged = 0;
      const sample = fc.record({
        profile: profileArb,
        request: requestArb(CHANNELS),
        picks: fc.array(fc.boolean(), { maxLength: 16 }),
      });
      fc.assert(
        fc.property(arb, fc.array(sample, { minLength: 10, maxLength: 40 }), (condition, samples) => {
          if (!neverHolds(condition, CHANNELS)) return;
          judged++;
          const holds = compileCondition(condition);
          const leaves = leavesOf(condition);
          for (const { profile, request, picks } of samples) {
            for (const [p, r] of [[profile, request], steer(profile, request, leaves, picks)] as const) {
              expect(holds(buildFacts(p, r)), JSON.stringify({ condition, p, r })).toBe(false);
            }
          }
        }),
        { numRuns: 3000 },
      );
      expect(judged).toBeGreaterThan(100);
    },
  );
});
