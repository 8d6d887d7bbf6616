import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolContents, spooled } from '../../src/feedback/spool.js';

const log = pino({ level: 'silent' });
const STORE = 'redis://127.0.0.1:6379 nb:';
const contents = (eventId: string): SpoolContents => ({
  responses: [
    {
      event: {
        eventId,
        customerId: 'C1',
        offerId: 'save-discount-12m',
        outcome: 'impression',
        channel: 'web',
        decisionId: 'd1',
        at: 1_700_000_000_000,
      },
      decision: {
        decisionId: 'd1',
        customerId: 'C1',
        channel: 'web',
        arm: 'champion',
        preview: false,
        profile: { valueSegment: 'top', lifecyclePhase: 'retain' },
        offers: [{ offerId: 'save-discount-12m' }],
      },
      attempted: true,
    },
  ],
  counters: {
    kpis: {
      batches: [
        {
          id: `b-${eventId}`,
          entries: [['*|web|retain|top|champion|decision', 2]],
          tallies: [{ id: `C1|${eventId}`, fields: ['a', 'b'], recordedAt: 1_700_000_000_000, owed: true }],
        },
      ],
    },
  },
});

describe('the spool', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-spool-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the next start what a stop wrote, once, and counts it', async () => {
    const spool = new Spool(join(dir, 'not-yet'), STORE, log);
    expect(await spool.take()).toEqual({ responses: [], counters: {}, files: 0 }); // no folder yet: nothing
    await spool.write(contents('e1'));
    await spool.write(contents('e2'));
    const taken = await new Spool(join(dir, 'not-yet'), STORE, log).take();
    expect(taken.files).toBe(2);
    expect(taken.responses.map((r) => r.event.eventId)).toEqual(['e1', 'e2']);
    expect(taken.responses[0]).toEqual(contents('e1').responses[0]);
    expect(taken.counters.kpis!.batches.map((b) => b.id)).toEqual(['b-e1', 'b-e2']);
    expect(spooled(taken)).toEqual({ events: 2, counts: 4 });
    expect(await readdir(join(dir, 'not-yet'))).toEqual([]);
    expect((await spool.take()).files).toBe(0);
  });

  it("leaves another store's files, and unreadable ones, where they are", async () => {
    await new Spool(dir, 'redis://other:6379 nb:', log).write(contents('e1'));
    await new Spool(dir, 'redis://127.0.0.1:6379 other:', log).write(contents('e2'));
    await writeFile(join(dir, 'spool-broken.json'), '{"format":');
    const lines: string[] = [];
    const spool = new Spool(dir, STORE, pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }));
    expect((await spool.take()).files).toBe(0);
    expect(await readdir(dir)).toHaveLength(3);
    expect(lines.filter((l) => l.includes('another Redis or key prefix'))).toHaveLength(2);
    expect(lines.filter((l) => l.includes('unreadable'))).toHaveLength(1);
  });

  it('gives each file to one of several processes starting at once', async () => {
    const spool = new Spool(dir, STORE, log);
    for (let i = 0; i < 20; i++) await spool.write(contents(`e${i}`));
    const takers = await Promise.all(Array.from({ length: 4 }, () => new Spool(dir, STORE, log).take()));
    const ids = takers.flatMap((t) => t.responses.map((r) => r.event.eventId));
    expect(ids.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).sort());
    expect(takers.reduce((n, t) => n + t.files, 0)).toBe(20);
    expect(await readdir(dir)).toEqual([]);
  });
});
