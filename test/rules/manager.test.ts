import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, startService } from '../support/process.js';
import { eventually } from '../support/redis.js';
import { SHIPPED_RULES } from '../support/rules.js';

const OFFER = 'offers/service-help-centre.json';
const save = async (dir: string, file: string, text: string) => {
  await writeFile(join(dir, `${file}.tmp`), text);
  await rename(join(dir, `${file}.tmp`), join(dir, file));
};

// The service as deployed, under load, while a marketer saves a broken edit and then a good one.
describe('editing the rules under load', () => {
  it('refuses the broken edit and activates the good one without one failed request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nextbest-edit-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
    const service = await startService({ RULES_DIR: dir, LOG_LEVEL: 'warn' });
    const statuses = new Map<number, number>();
    const versions = new Map<string, number>();
    let stop = false;
    const loop = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const res = await fetch(`${service.base}/v1/decisions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            customerId: `C${String(1 + ((i * 97 + n) % 900)).padStart(7, '0')}`,
            channel: n % 2 ? 'web' : 'call-center',
          }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.ok) {
          const v = (await res.json()).rulesetVersion as string;
          versions.set(v, (versions.get(v) ?? 0) + 1);
        } else await res.text();
      }
    };
    const rulesets = async () => (await fetch(`${service.base}/v1/rulesets`)).json();
    try {
      const first = (await rulesets()).active;
      const loops = Array.from({ length: 12 }, (_, i) => loop(i));
      await new Promise((r) => setTimeout(r, 500));
      const good = await readFile(join(dir, OFFER), 'utf8');
      await save(dir, OFFER, good.slice(0, good.length / 2)); // saved half-way: not JSON
      await eventually('the broken edit is refused', async () => (await rulesets()).lastError !== null, 8_000);
      expect((await rulesets()).active).toBe(first);
      await new Promise((r) => setTimeout(r, 300));
      const changed = JSON.parse(good);
      await save(dir, OFFER, JSON.stringify({ ...changed, value: changed.value * 2 }, null, 2));
      await eventually('the good edit is active', async () => (await rulesets()).active !== first, 8_000);
      const second = (await rulesets()).active;
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(loops);
      expect([...statuses.keys()]).toEqual([200]);
      expect(statuses.get(200)).toBeGreaterThan(200);
      expect(versions.get(first)).toBeGreaterThan(0);
      expect(versions.get(second)).toBeGreaterThan(0);
      expect([...versions.keys()].sort()).toEqual([first, second].sort());
      const audit = (await rulesets()).audit.map((a: { result: string; who: string }) => `${a.who}: ${a.result}`);
      expect(audit).toContain('file watch: refused');
      expect(audit).toContain('file watch: activated');
    } finally {
      stop = true;
      service.child.kill('SIGTERM');
      await exited(service.child);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
