import { describe, expect, it } from 'vitest';
import { clipPair, formatDiff } from '../../src/cli/rules.js';
import { diffConditions, diffJson, diffNamed, diffRuleSets } from '../../src/offline/rules-diff.js';
import { loadRuleSet, type RuleSetSource } from '../../src/rules/load.js';
import type { Condition } from '../../src/rules/schema.js';
import { SHIPPED_RULES } from '../support/rules.js';

const leaf = (fact: string, operator: string, value: unknown) => ({ fact, operator, value }) as Condition;

describe('diffJson: field by field', () => {
  it('finds changed, added and removed keys in nested objects', () => {
    const a = {
      value: 120,
      propensity: { web: 0.04, 'call-center': 0.2 },
      treatments: { web: { title: 'Old', body: 'b' } },
    };
    const b = { value: 150, propensity: { web: 0.06, sms: 0.1 }, treatments: { web: { title: 'New', body: 'b' } } };
    expect(diffJson(a, b)).toEqual([
      { path: '/value', op: 'changed', old: 120, new: 150 },
      { path: '/propensity/web', op: 'changed', old: 0.04, new: 0.06 },
      { path: '/propensity/call-center', op: 'removed', old: 0.2 },
      { path: '/propensity/sms', op: 'added', new: 0.1 },
      { path: '/treatments/web/title', op: 'changed', old: 'Old', new: 'New' },
    ]);
  });

  it('ignores key order and $schema, and reports nothing for equal values', () => {
    expect(diffJson({ a: 1, b: { c: [1, 2] }, $schema: 'x' }, { b: { c: [1, 2] }, a: 1, $schema: 'y' })).toEqual([]);
  });

  it('escapes / and ~ in keys as a JSON pointer does', () => {
    expect(diffJson({ 'a/b': { 'c~d': 1 } }, { 'a/b': { 'c~d': 2 } })).toEqual([
      { path: '/a~1b/c~0d', op: 'changed', old: 1, new: 2 },
    ]);
  });

  it('changes an array of scalars as a whole', () => {
    expect(diffJson({ channels: ['web', 'call-center'] }, { channels: ['web', 'call-center', 'sms'] })).toEqual([
      { path: '/channels', op: 'changed', old: ['web', 'call-center'], new: ['web', 'call-center', 'sms'] },
    ]);
  });

  it('aligns arrays of objects: an inserted item is one addition, not a shift', () => {
    const a = [{ id: 1 }, { id: 2 }, { id: 3 }];
    expect(diffJson(a, [{ id: 1 }, { id: 9 }, { id: 2 }, { id: 3 }])).toEqual([
      { path: '/1', op: 'added', new: { id: 9 } },
    ]);
    expect(diffJson(a, [{ id: 1 }, { id: 3 }])).toEqual([{ path: '/1', op: 'removed', old: { id: 2 } }]);
    expect(diffJson(a, [{ id: 1 }, { id: 2, x: true }, { id: 3 }])).toEqual([{ path: '/1/x', op: 'added', new: true }]);
    expect(diffJson([], [{ id: 1 }])).toEqual([{ path: '/0', op: 'added', new: { id: 1 } }]);
  });

  it('shows a value whose type changed whole', () => {
    expect(diffJson({ when: { channel: 'web' } }, { when: { channel: ['web', 'sms'] } })).toEqual([
      { path: '/when/channel', op: 'changed', old: 'web', new: ['web', 'sms'] },
    ]);
    expect(diffJson({ a: { b: 1 } }, { a: 5 })).toEqual([{ path: '/a', op: 'changed', old: { b: 1 }, new: 5 }]);
  });
});

describe('diffConditions: eligibility', () => {
  const conditions = [
    leaf('channel', 'equal', 'web'),
    leaf('lifecyclePhase', 'equal', 'loyalty'),
    leaf('clv', 'greaterThan', 500),
  ];
  const base = { all: conditions } as Condition;

  it('reports a condition added, removed or edited within all/any by position', () => {
    const added = {
      all: [
        leaf('channel', 'equal', 'web'),
        leaf('lifecyclePhase', 'equal', 'loyalty'),
        leaf('churnScore', 'greaterThan', 0.5),
        leaf('clv', 'greaterThan', 500),
      ],
    } as Condition;
    expect(diffConditions(base, added, '/eligibility')).toEqual([
      { path: '/eligibility/all/2', op: 'added', new: leaf('churnScore', 'greaterThan', 0.5) },
    ]);
    const removed = { all: [leaf('channel', 'equal', 'web'), leaf('clv', 'greaterThan', 500)] } as Condition;
    expect(diffConditions(base, removed, '/eligibility')).toEqual([
      { path: '/eligibility/all/1', op: 'removed', old: leaf('lifecyclePhase', 'equal', 'loyalty') },
    ]);
    const edited = {
      all: [
        leaf('channel', 'equal', 'web'),
        leaf('lifecyclePhase', 'in', ['loyalty', 'retain']),
        leaf('clv', 'greaterThanInclusive', 800),
      ],
    } as Condition;
    expect(diffConditions(base, edited, '/eligibility')).toEqual([
      { path: '/eligibility/all/1/operator', op: 'changed', old: 'equal', new: 'in' },
      { path: '/eligibility/all/1/value', op: 'changed', old: 'loyalty', new: ['loyalty', 'retain'] },
      { path: '/eligibility/all/2/operator', op: 'changed', old: 'greaterThan', new: 'greaterThanInclusive' },
      { path: '/eligibility/all/2/value', op: 'changed', old: 500, new: 800 },
    ]);
  });

  it('a condition on another fact in the same place is a removal and an addition', () => {
    const other = {
      all: [leaf('channel', 'equal', 'web'), leaf('npsScore', 'lessThan', 7), leaf('clv', 'greaterThan', 500)],
    } as Condition;
    expect(diffConditions(base, other).map((c) => `${c.op} ${c.path}`)).toEqual(['removed /all/1', 'added /all/1']);
  });

  it('goes into nested any and not', () => {
    const a = {
      all: [
        leaf('channel', 'equal', 'web'),
        { any: [leaf('clv', 'greaterThan', 500), leaf('valueSegment', 'equal', 'top')] },
        { not: leaf('productsHeld', 'contains', 'fibre') },
      ],
    } as Condition;
    const b = {
      all: [
        leaf('channel', 'equal', 'web'),
        { any: [leaf('clv', 'greaterThan', 400), leaf('valueSegment', 'equal', 'top')] },
        { not: leaf('productsHeld', 'contains', 'tv') },
      ],
    } as Condition;
    expect(diffConditions(a, b)).toEqual([
      { path: '/all/1/any/0/value', op: 'changed', old: 500, new: 400 },
      { path: '/all/2/not/value', op: 'changed', old: 'fibre', new: 'tv' },
    ]);
  });

  it('shows the whole tree when its structure changed', () => {
    const any = { any: conditions } as Condition;
    expect(diffConditions(base, any, '/eligibility')).toEqual([
      { path: '/eligibility', op: 'changed', old: base, new: any },
    ]);
    const a = { all: [leaf('clv', 'greaterThan', 1)] } as Condition;
    const b = { all: [{ any: [leaf('clv', 'greaterThan', 1), leaf('npsScore', 'greaterThan', 8)] }] } as Condition;
    expect(diffConditions(a, b).map((c) => `${c.op} ${c.path}`)).toEqual(['removed /all/0', 'added /all/0']);
  });
});

describe('diffNamed: weights, levers, policy rules by name', () => {
  it('matches by name, a repeated name by occurrence', () => {
    type Entry = { name: string; groups?: Record<string, number>; offers?: Record<string, number>; when?: object };
    const a: Entry[] = [
      { name: 'x', groups: { save: 2 } },
      { name: 'y', offers: { o: 1 } },
      { name: 'x', groups: { care: 1 } },
    ];
    const b: Entry[] = [
      { name: 'y', offers: { o: 1.5 }, when: { channel: 'web' } },
      { name: 'x', groups: { save: 2 } },
      { name: 'z', groups: { end: 1 } },
    ];
    expect(diffNamed(a, b)).toEqual({
      added: [{ name: 'z', entry: { groups: { end: 1 } } }],
      removed: [{ name: 'x (2)', entry: { groups: { care: 1 } } }],
      changed: [
        {
          name: 'y',
          changes: [
            { path: '/offers/o', op: 'changed', old: 1, new: 1.5 },
            { path: '/when', op: 'added', new: { channel: 'web' } },
          ],
        },
      ],
    });
  });
});

describe('diffRuleSets', () => {
  const load = async (): Promise<RuleSetSource> => {
    const r = await loadRuleSet(SHIPPED_RULES);
    if (!r.ok) throw new Error('shipped rules invalid');
    return structuredClone(r.source);
  };

  it('finds nothing between a rule set and itself', async () => {
    const a = await load();
    const d = diffRuleSets(a, a);
    expect(d).toMatchObject({ identical: true, differences: 0, manifest: [], contactPolicy: { order: null } });
    expect(formatDiff(d, 'x', 'x')).toContain('no differences\n');
  });

  it('reports learning settings, holdMinutes, controlGroup and a new rule order', async () => {
    const a = await load();
    const b = await load();
    const m = b.manifest as { controlGroup?: { share: number } };
    m.controlGroup!.share = 0.1;
    (b.arbitration.learning as { exploration: string }).exploration = 'none';
    const policy = b.contactPolicy as { holdMinutes: number; rules: unknown[] };
    policy.holdMinutes = 45;
    policy.rules.reverse();
    const d = diffRuleSets(a, { ...b, hash: 'other' });
    expect(d.manifest).toEqual([{ path: '/controlGroup/share', op: 'changed', old: 0.05, new: 0.1 }]);
    expect(d.arbitration.learning).toEqual([
      { path: '/learning/exploration', op: 'changed', old: 'thompson', new: 'none' },
    ]);
    expect(d.contactPolicy.settings).toEqual([{ path: '/holdMinutes', op: 'changed', old: 30, new: 45 }]);
    expect(d.contactPolicy.order?.new).toEqual([...a.contactPolicy.rules].reverse().map((r) => r.name));
    expect(d.contactPolicy.rules).toEqual({ added: [], removed: [], changed: [] });
    expect(d.differences).toBe(4);
    const text = formatDiff(d, 'a', 'b');
    expect(text).toMatch(/^ {2}\/controlGroup\/share {2}0\.05 → 0\.1$/m);
    expect(text).toMatch(/^ {2}rule order {2}/m);
    expect(text).toMatch(/^4 differences$/m);
  });
});

describe('diffRuleSets: journeys and the outbound block', () => {
  const load = async (): Promise<RuleSetSource> => {
    const r = await loadRuleSet(SHIPPED_RULES);
    if (!r.ok) throw new Error('shipped rules invalid');
    return structuredClone(r.source);
  };
  type Mutable = { id: string; name: string; steps: Record<string, unknown>[] };

  it('lists journeys added, removed and changed, steps matched by id', async () => {
    const a = await load();
    const b = await load();
    const journeys = b.journeys as unknown as Mutable[];
    const winback = journeys.find((j) => j.id === 'winback')!;
    winback.steps[1]!.week = 9;
    const reminder = { id: 'reminder', after: 'exit-survey', noResponseDays: 7, channel: 'sms', bestOf: ['winback'] };
    winback.steps.splice(1, 0, reminder);
    const copy = { ...structuredClone(winback), id: 'winback-2', name: 'Win back, again' };
    const edited = [...journeys.filter((j) => j.id !== 'loyalty'), copy] as unknown as RuleSetSource['journeys'];
    const outbound = b.manifest.outbound!.channels['direct-mail'] as { budgetPerRun: number };
    outbound.budgetPerRun = 3000;
    const d = diffRuleSets(a, { ...b, journeys: edited, hash: 'other' });
    expect(d.journeys).toEqual({
      added: [{ id: 'winback-2', name: 'Win back, again' }],
      removed: [{ id: 'loyalty', name: 'Loyalty: a year of care' }],
      changed: [
        {
          id: 'winback',
          name: 'Win back former customers',
          changes: [
            { path: '/steps/1', op: 'added', new: reminder },
            { path: '/steps/2/week', op: 'changed', old: 8, new: 9 },
          ],
        },
      ],
    });
    expect(d.manifest).toEqual([
      { path: '/outbound/channels/direct-mail/budgetPerRun', op: 'changed', old: 2500, new: 3000 },
    ]);
    expect(d.differences).toBe(5);
  });

  it('shows a journey entry edited condition by condition', async () => {
    const a = await load();
    const b = await load();
    const antiChurn = b.journeys.find((j) => j.id === 'anti-churn')!;
    const entry = antiChurn.entry as { all: { value: unknown }[] };
    entry.all[1]!.value = 0.4;
    const d = diffRuleSets(a, { ...b, hash: 'other' });
    expect(d.journeys.changed).toEqual([
      {
        id: 'anti-churn',
        name: 'Multi-wave anti-churn',
        changes: [{ path: '/entry/all/1/value', op: 'changed', old: 0.3, new: 0.4 }],
      },
    ]);
  });
});

describe('clipPair: long values cut to the part that changed', () => {
  it('keeps short values whole', () => {
    expect(clipPair('"a"', '"b"')).toEqual(['"a"', '"b"']);
  });

  it('shows the differing middle of long strings with a little context', () => {
    const start = 'If you have a quote from another provider, tell me the price';
    const [from, to] = clipPair(
      JSON.stringify(`${start} and keep everything.`),
      JSON.stringify(`${start} and keep it all.`),
    );
    expect(from).toBe('…ce and keep everything."');
    expect(to).toBe('…ce and keep it all."');
  });
});

describe('diffJson with keys named like Object.prototype members', () => {
  it('treats them as plain keys', () => {
    expect(diffJson({ context: { toString: 'a' } }, { context: {} })).toEqual([
      { path: '/context/toString', op: 'removed', old: 'a' },
    ]);
    expect(diffJson({ context: {} }, { context: { valueOf: 1 } })).toEqual([
      { path: '/context/valueOf', op: 'added', new: 1 },
    ]);
  });
});
