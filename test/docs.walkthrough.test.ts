import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, run, startService } from './support/process.js';
import { SHIPPED_RULES } from './support/rules.js';

const RULES_PAGE = new URL('../docs/rules.md', import.meta.url);

/** The offer docs/rules.md has a marketer add: the first JSON block after "Add the offer". */
async function offerFromThePage(): Promise<{ id: string } & Record<string, unknown>> {
  const page = await readFile(RULES_PAGE, 'utf8');
  const step = page.slice(page.indexOf('**1. Add the offer.**'));
  const block = /```json\n([\s\S]*?)\n```/.exec(step);
  if (!block) throw new Error('docs/rules.md: no JSON block after "1. Add the offer."');
  return JSON.parse(block[1]!);
}

// a marketer's first change, done as docs/rules.md tells it: add, check, preview, ship, roll back
describe('the change step by step in docs/rules.md', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('works as written', async () => {
    const home = await mkdtemp(join(tmpdir(), 'nextbest-walkthrough-'));
    dirs.push(home);
    const mine = join(home, 'my-rules');
    const live = join(home, 'live');
    await cp(SHIPPED_RULES, mine, { recursive: true });
    await cp(SHIPPED_RULES, live, { recursive: true });
    // 1. add the offer
    const offer = await offerFromThePage();
    const file = join('offers', `${offer.id}.json`);
    await writeFile(join(mine, file), JSON.stringify(offer, null, 2));
    // 2. check it
    const checked = await run(['bin/nextbest.js', 'rules', 'validate', mine]);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/valid, version .*, 38 offers/);
    // 3. preview it on a population
    const customers = join(home, 'customers.ndjson');
    expect((await run(['bin/nextbest.js', 'demo-data', '--customers', '3000', '--out', customers])).code).toBe(0);
    const preview = await run([
      'bin/nextbest.js',
      'simulate',
      '--rules',
      mine,
      '--baseline',
      SHIPPED_RULES,
      '--profiles',
      customers,
      '--channel',
      'call-center',
      '--context',
      'intent=cancel',
    ]);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(String(offer.id));
    // 4. ship it, then roll it back in one call
    const service = await startService({ RULES_DIR: live, RULES_WATCH: 'false' });
    try {
      const before = (await (await fetch(`${service.base}/v1/rulesets`)).json()).active;
      await cp(join(mine, file), join(live, file));
      const shipped = await (await fetch(`${service.base}/v1/rulesets/reload`, { method: 'POST' })).json();
      expect(shipped).toMatchObject({ changed: true, previous: before, summary: `offers +1 (${offer.id}) -0 ~0` });
      const listed = await (await fetch(`${service.base}/v1/rulesets`)).json();
      expect(listed.audit[0]).toMatchObject({ action: 'reload', result: 'activated', version: shipped.version });
      const undone = await fetch(`${service.base}/v1/rulesets/${before}/activate`, {
        method: 'POST',
        headers: { 'x-nextbest-actor': 'Maria' },
      });
      expect(await undone.json()).toMatchObject({
        changed: true,
        version: before,
        summary: `offers +0 -1 (${offer.id}) ~0`,
      });
    } finally {
      service.child.kill('SIGTERM');
      await exited(service.child);
    }
  });
});
