import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/process.js';
import { rulesCopy } from '../support/rules.js';

// runs the built CLI: npm test builds dist/ first (or npm run build --silent)
const validate = (...args: string[]) => run(['bin/nextbest.js', 'rules', 'validate', ...args]);

/** line:col (1-based) of what follows the first `before` in `text`, or of `before` itself with `at: true`. */
function positionOf(text: string, before: string, at = false): string {
  const lines = text.slice(0, text.indexOf(before) + (at ? 0 : before.length)).split('\n');
  return `${lines.length}:${lines.at(-1)!.length + 1}`;
}

describe('nextbest rules validate: journeys', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('counts the journeys in its summary line', async () => {
    const r = await validate('rules');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rules: valid, version 2026\.11\.0\+[0-9a-f]{8}, 37 offers, 4 journeys, 0 warnings$/m);
  });

  it('a journey file checks the set it belongs to, not its folder', async () => {
    const r = await validate('rules/journeys/winback.json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('rules/journeys/winback.json belongs to the rule set in rules: checking the whole set');
    expect(r.stdout).toMatch(/^rules: valid, .*, 37 offers, 4 journeys, 0 warnings$/m);
  });

  it('an error in that journey file as journeys/x.json:line:col, exit 1', async () => {
    const dir = await rulesCopy({ 'journeys/winback.json': (j) => (j.lengthWeeks = 0) });
    dirs.push(dir);
    const file = join(dir, 'journeys/winback.json');
    const text = await readFile(file, 'utf8');
    const r = await validate(file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${file}:${positionOf(text, '"lengthWeeks": ')}: lengthWeeks: Too small`);
    expect(r.stderr).toContain(`${dir}: 1 error(s), 0 warnings: not valid`);
    const j = await validate(file, '--json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({
      valid: false,
      errors: [{ file: 'journeys/winback.json', path: '/lengthWeeks', message: expect.stringContaining('Too small') }],
    });
  });

  it("a step on a channel that is not outbound: the step's line and column", async () => {
    const dir = await rulesCopy({
      'journeys/winback.json': (j) => {
        j.steps.find((s: { id: string }) => s.id === 'come-back-sms').channel = 'fax';
      },
    });
    dirs.push(dir);
    const file = join(dir, 'journeys/winback.json');
    const text = await readFile(file, 'utf8');
    const r = await validate(file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `${file}:${positionOf(text, '"fax"', true)}: channel "fax" is not an outbound channel of manifest.json`,
    );
  });
});
