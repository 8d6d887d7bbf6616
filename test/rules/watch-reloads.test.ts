import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testApp } from '../support/app.js';
import { generatedRules } from '../support/rules.js';

/** Every reload's read of the folder, and how many ran at once at most. */
const reads = vi.hoisted(() => ({ started: 0, running: 0, most: 0 }));
vi.mock('../../src/rules/load-thread.js', async (original) => {
  const real = await original<typeof import('../../src/rules/load-thread.js')>();
  return {
    ...real,
    loadRuleSetInThread: async (...args: Parameters<typeof real.loadRuleSetInThread>) => {
      reads.started++;
      reads.most = Math.max(reads.most, ++reads.running);
      try {
        return await real.loadRuleSetInThread(...args);
      } finally {
        reads.running--;
      }
    },
  };
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// a catalogue that takes about a second to read, edited every 400 ms while the watcher reloads it
describe('edits that come faster than a reload', () => {
  let dir: string;
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    dir = await generatedRules(3_000);
    t = await testApp({ RULES_DIR: dir, RULES_WATCH: 'true' });
  }, 60_000);
  afterAll(async () => {
    await t?.services.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('wait for the reload that runs and then make one together: never two at once, the last edit served', async () => {
    const manifest = join(dir, 'manifest.json');
    const base = JSON.parse(await readFile(manifest, 'utf8'));
    const before = reads.started;
    const edits = 8;
    for (let i = 1; i <= edits; i++) {
      await writeFile(manifest, JSON.stringify({ ...base, version: `2027.1.${i}` }, null, 2));
      await pause(400);
    }
    const deadline = Date.now() + 20_000;
    while (!t.services.rules.active!.version.startsWith(`2027.1.${edits}+`) && Date.now() < deadline) await pause(100);
    // then until the watcher is done: no read started for 2.5 s
    for (let seen = -1; seen !== reads.started || reads.running > 0; ) {
      seen = reads.started;
      await pause(2_500);
    }
    expect(t.services.rules.active!.version).toMatch(new RegExp(`^2027\\.1\\.${edits}\\+`));
    expect(reads.most).toBe(1);
    // each edit outlasts the 300 ms debounce; reading takes longer than two of them
    expect(reads.started - before).toBeLessThan(edits);
    expect(reads.started - before).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
