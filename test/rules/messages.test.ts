import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../src/rules/load.js';
import { formatIssue, SourceFile } from '../../src/rules/positions.js';
import { didYouMean } from '../../src/rules/suggest.js';
import { rulesCopy } from '../support/rules.js';

const OFFER = 'offers/anti-churn-early-renewal.json';

// what a marketer reads when a rule file is wrong: where the slip is, in words, with the name meant
describe('messages about rule files', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const errorsOf = async (edit: (offer: Record<string, any>) => void) => {
    const dir = await rulesCopy({ [OFFER]: edit });
    dirs.push(dir);
    const r = await loadRuleSet(dir);
    return r.ok ? [] : r.errors.map((e) => e.message);
  };

  it('a required field missing: the place in words, and the field', async () => {
    expect(await errorsOf((o) => delete o.treatments['call-center'].script)).toEqual([
      'the call-center treatment has no "script"',
    ]);
  });

  it('a misspelt field: one error at the word written, with the word meant', async () => {
    expect(
      await errorsOf((o) => {
        o.treatment = o.treatments;
        delete o.treatments;
      }),
    ).toEqual(['"treatment" is not a field of the offer; did you mean "treatments"?']);
    expect(await errorsOf((o) => (o.descripton = 'x'))).toEqual([
      '"descripton" is not a field of the offer; did you mean "description"?',
    ]);
  });

  it('a misspelt channel: the channel meant', async () => {
    expect(
      await errorsOf((o) => {
        o.treatments.callcenter = o.treatments['call-center'];
        o.propensity.callcenter = o.propensity['call-center'];
        delete o.treatments['call-center'];
        delete o.propensity['call-center'];
      }),
    ).toEqual(['channel "callcenter" is not declared in manifest.json; did you mean "call-center"?']);
  });

  it('JSON slips where they are: a comma missing after a value, a comma before a closing bracket', () => {
    const issue = (text: string) => formatIssue(SourceFile.parse('x.json', text) as never);
    expect(issue('{\n  "value": 280\n  "group": "save"\n}')).toBe(
      'x.json:2:15: invalid JSON: a comma is missing after this value',
    );
    expect(issue('{\n  "propensity": { "web": 0.1, }\n}')).toBe(
      'x.json:2:29: invalid JSON: a comma before "}" is not allowed in JSON: remove it',
    );
    expect(issue('{\n  "a": [1, 2,]\n}')).toBe(
      'x.json:2:13: invalid JSON: a comma before "]" is not allowed in JSON: remove it',
    );
  });

  it('suggests a name only when near: case first, then a few edits', () => {
    const segments = ['super', 'top', 'middle', 'bottom'];
    expect(didYouMean('Super', segments)).toBe('super');
    expect(didYouMean('TOP', segments)).toBe('top');
    expect(didYouMean('midle', segments)).toBe('middle');
    expect(didYouMean('gold', segments)).toBeUndefined();
    expect(didYouMean('tp', segments)).toBe('top');
    expect(didYouMean('xyz', segments)).toBeUndefined();
  });
});
