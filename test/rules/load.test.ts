import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../src/rules/load.js';
import { formatIssue } from '../../src/rules/positions.js';
import { FACT_NAMES } from '../../src/rules/schema.js';
import { SHIPPED_RULES } from '../support/rules.js';

const FACTS = FACT_NAMES.map((f) => `"${f}"`).join(', ');

describe('loading a rule set', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-rules-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const edit = async (file: string, change: (text: string) => string) =>
    writeFile(join(dir, file), change(await readFile(join(dir, file), 'utf8')));
  const messages = async () => {
    const r = await loadRuleSet(dir);
    return r.ok ? [] : r.errors.map(formatIssue);
  };

  it('loads the shipped rules with a version made of manifest version and content hash', async () => {
    const r = await loadRuleSet(dir);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.source.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports a JSON syntax error at its line and column', async () => {
    await writeFile(join(dir, 'contact-policy.json'), '{\n  "channels": {\n    "web": { "maxOffers": 4, }\n  }\n}\n');
    // at the comma that should not be there, not where the parser stumbled
    expect(await messages()).toEqual([
      'contact-policy.json:3:28: invalid JSON: a comma before "}" is not allowed in JSON: remove it',
    ]);
  });

  it('reports a schema error at the offending value', async () => {
    await writeFile(join(dir, 'contact-policy.json'), '{\n  "channels": {\n    "web": { "maxOffers": 0 }\n  }\n}\n');
    expect(await messages()).toEqual([
      'contact-policy.json:3:27: channels.web.maxOffers: Too small: expected number to be >=1',
    ]);
  });

  it('reports an unknown fact, an unknown operator and a JSONPath beyond dotted paths, each with a position', async () => {
    const offer = JSON.parse(await readFile(join(dir, 'offers/service-app-download.json'), 'utf8'));
    offer.eligibility = {
      all: [
        { fact: 'salary', operator: 'equal', value: 1 },
        { fact: 'clv', operator: 'matches', value: 1 },
        { fact: 'context', path: '$..intent', operator: 'equal', value: 'x' },
      ],
    };
    await writeFile(join(dir, 'offers/service-app-download.json'), JSON.stringify(offer, null, 2));
    const errors = await messages();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    for (const e of errors) expect(e).toMatch(/^offers\/service-app-download\.json:\d+:\d+: eligibility/);
  });

  it('points into nested conditions at the very value, with a suggestion for a misspelt name', async () => {
    const offer = JSON.parse(await readFile(join(dir, 'offers/service-app-download.json'), 'utf8'));
    offer.eligibility = {
      all: [
        {
          any: [
            { fact: 'clv', operator: 'greaterThan', value: 5 },
            { not: { fact: 'lifecylePhase', operator: 'equal', value: 'new' } },
          ],
        },
        { fact: 'clv', operator: 'lesThan', value: 9 },
      ],
    };
    await writeFile(join(dir, 'offers/service-app-download.json'), JSON.stringify(offer, null, 2));
    const text = await readFile(join(dir, 'offers/service-app-download.json'), 'utf8');
    const pos = (needle: string) => {
      const before = text.slice(0, text.indexOf(needle)).split('\n');
      return `${before.length}:${before.at(-1)!.length + 1}`;
    };
    const errors = await messages();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(
      `offers/service-app-download.json:${pos('"lifecylePhase"')}: eligibility.all.0.any.1.not.fact: "lifecylePhase" is not one of ${FACTS}; did you mean "lifecyclePhase"?`,
    );
    expect(errors[1]).toMatch(
      new RegExp(
        `^offers/service-app-download\\.json:${pos('"lesThan"')}: eligibility\\.all\\.1\\.operator: "lesThan" is not one of .*; did you mean "lessThan"\\?$`,
      ),
    );
  });

  it('refuses __proto__ keys anywhere', async () => {
    await edit('offers/service-app-download.json', (t) =>
      t.replace('"propensity": {', '"propensity": { "__proto__": { "x": 1 },'),
    );
    expect((await messages()).join('\n')).toMatch(/forbidden property name/);
  });

  it('checks references between files', async () => {
    await edit('arbitration.json', (t) =>
      t.replace('"levers": [', '"levers": [ { "name": "ghost", "offers": { "no-such-offer": 2 } },'),
    );
    expect((await messages()).join('\n')).toMatch(/arbitration\.json:\d+:\d+: unknown offer "no-such-offer"/);
  });

  it('requires the offer id to match its file name', async () => {
    await edit('offers/service-app-download.json', (t) => t.replace('"id": "service-app-download"', '"id": "renamed"'));
    expect((await messages()).join('\n')).toMatch(/id "renamed" must match the file name/);
  });

  it('refuses a treatment for an undeclared channel', async () => {
    await edit('manifest.json', (t) => t.replace('"call-center"', '"phone"'));
    expect((await messages()).join('\n')).toMatch(/channel "call-center" is not declared/);
  });

  it('refuses a channel named after a prototype property', async () => {
    await edit('manifest.json', (t) => t.replace('"call-center"', '"call-center", "constructor"'));
    expect((await messages()).join('\n')).toMatch(/manifest\.json:\d+:\d+: channels\.2: a forbidden channel name/);
  });

  it('counts a tab as one column and accepts a byte-order mark', async () => {
    await writeFile(
      join(dir, 'contact-policy.json'),
      '\uFEFF{\n\t"channels": {\n\t\t"web": { "maxOffers": 0 }\n\t}\n}\n',
    );
    expect(await messages()).toEqual([
      'contact-policy.json:3:25: channels.web.maxOffers: Too small: expected number to be >=1',
    ]);
  });
});

describe('loading a rule set: what editors and mistakes leave behind', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-rules-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const messages = async () => {
    const r = await loadRuleSet(dir);
    return r.ok ? [] : r.errors.map(formatIssue);
  };
  const setEligibility = async (eligibility: unknown, indent = 2) => {
    const offer = JSON.parse(await readFile(join(dir, 'offers/service-app-download.json'), 'utf8'));
    await writeFile(
      join(dir, 'offers/service-app-download.json'),
      JSON.stringify({ ...offer, eligibility }, null, indent),
    );
  };

  it("ignores editors' dot-files beside the offers, even dangling links", async () => {
    await symlink('nowhere', join(dir, 'offers/.#service-app-download.json'));
    await writeFile(join(dir, 'offers/._service-app-download.json'), 'binary junk');
    expect(await messages()).toEqual([]);
  });

  it('refuses conditions nested too deep, at the place, before any parser recurses', async () => {
    let deep: unknown = { fact: 'clv', operator: 'greaterThan', value: 1 };
    for (let i = 0; i < 3_000; i++) deep = { not: deep };
    // compact: indented, 3 000 levels would be refused by size before the depth is looked at
    await setEligibility({ all: [deep] }, 0);
    expect(await messages()).toEqual([
      expect.stringMatching(/^offers\/service-app-download\.json:\d+:\d+: nested more than 64 levels deep/),
    ]);
  });

  it('says what a condition is when none of its shapes is begun, and suggests only close names', async () => {
    await setEligibility({ all: [{}, { alll: [] }, { fact: 'clv', operator: 'gt', value: 1 }] });
    const errors = await messages();
    expect(errors[0]).toMatch(
      /eligibility\.all\.0: a condition needs "fact", "operator" and "value" \(a test\) or "all", "any" or "not" \(a group\)$/,
    );
    expect(errors[1]).toMatch(/eligibility\.all\.1: a condition needs .*; found "alll"$/);
    expect(errors[2]).toMatch(/eligibility\.all\.2\.operator: "gt" is not one of [^;]*$/);
  });
});
