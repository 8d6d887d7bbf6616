import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionFiles, FILE_LOG_BUFFER, fileName, logFiles } from '../../src/decision-log/file.js';
import { type DecisionEntry, toRecord } from '../../src/decision-log/store.js';
import { Metrics } from '../../src/ops/metrics.js';
import { testApp } from '../support/app.js';

const entry = (n: number, at = Date.now()): DecisionEntry => ({
  decision: {
    decisionId: `d-${n}`,
    customerId: `C${n}`,
    channel: 'web',
    rulesetVersion: 'v1+abc',
    profile: { found: true, valueSegment: 'top', lifecyclePhase: 'loyalty' },
    offers: [{ rank: 1, offerId: 'o-1', group: 'care', score: 0.5, propensity: 0.1 }],
    arm: 'champion',
    degraded: false,
  },
  at,
  preview: n % 7 === 0,
  interactionId: null,
  clv: 100 + n,
  churnScore: 0.25,
});
const today = () => new Date().toISOString().slice(0, 10);
const dirs: string[] = [];
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-filelog-'));
  dirs.push(dir);
  return dir;
}
function files(dir: string, settings: { maxFileBytes?: number; retentionDays?: number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const metrics = new Metrics({ defaultMetrics: false });
  const writer = new DecisionFiles(
    { dir, maxFileBytes: settings.maxFileBytes ?? 1 << 20, retentionDays: settings.retentionDays ?? 30 },
    metrics,
    log,
  );
  return { writer, lines, metrics };
}
/** Every record of the folder's log files, in writing order. */
async function readAll(dir: string) {
  const out = [];
  for (const f of await logFiles(dir)) out.push(...(await read(join(dir, f.name))));
  return out;
}
const read = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('the decision log in files', () => {
  it('appends one record a line, in order, to the file of the UTC day', async () => {
    const dir = await folder();
    const { writer } = files(join(dir, 'made/by/the/log'));
    const entries = Array.from({ length: 2_500 }, (_, i) => entry(i));
    for (const e of entries) writer.append(e);
    await writer.close();
    const got = await read(join(dir, 'made/by/the/log', fileName(today(), 0)));
    expect(got).toEqual(entries.map(toRecord));
  });

  it('continues a day in a new part once a file is full, and a new writer picks up the last part', async () => {
    const dir = await folder();
    const { writer } = files(dir, { maxFileBytes: 20_000 });
    for (let i = 0; i < 300; i++) {
      writer.append(entry(i));
      if (i % 25 === 24) await writer.flush(); // a file is checked for room before each batch
    }
    await writer.close();
    const names = (await logFiles(dir)).map((f) => f.name);
    expect(names.length).toBeGreaterThan(2);
    expect(names[0]).toBe(fileName(today(), 0));
    const again = files(dir, { maxFileBytes: 20_000 });
    again.writer.append(entry(300));
    await again.writer.close();
    expect((await readAll(dir)).map((r) => r.decisionId)).toEqual(Array.from({ length: 301 }, (_, i) => `d-${i}`));
  });

  it('deletes the files of days past retention', async () => {
    const dir = await folder();
    await writeFile(join(dir, fileName('2020-01-01', 0)), '{}\n');
    await writeFile(join(dir, 'notes.txt'), 'not the log’s');
    const { writer } = files(dir, { retentionDays: 30 });
    writer.append(entry(1));
    await writer.close();
    expect((await readdir(dir)).sort()).toEqual([fileName(today(), 0), 'notes.txt']);
  });

  it('on a full disk keeps the records, says so once, drops the oldest past its buffer, and writes again when it can', async () => {
    const dir = await folder();
    const path = join(dir, fileName(today(), 0));
    await symlink('/dev/full', path);
    const { writer, lines, metrics } = files(dir);
    for (let i = 0; i < FILE_LOG_BUFFER + 10_000; i++) writer.append(entry(i));
    await writer.flush();
    await writer.flush();
    expect(writer.status()).toMatchObject({ ok: false, error: expect.stringMatching(/ENOSPC|no space/i) });
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    const text = await metrics.registry.metrics();
    const dropped = Number(/^nextbest_decision_log_entries_total\{result="dropped"\} (\d+)$/m.exec(text)![1]);
    expect(dropped + writer.status().pending).toBe(FILE_LOG_BUFFER + 10_000);
    expect(writer.status().pending).toBeLessThanOrEqual(FILE_LOG_BUFFER);
    // space again: the records that waited are written, the oldest kept first
    await rm(path);
    await writer.close();
    expect(writer.status()).toEqual({ ok: true, error: null, pending: 0 });
    const got = await readAll(dir);
    expect(got).toHaveLength(FILE_LOG_BUFFER + 10_000 - dropped);
    expect(got.at(-1).decisionId).toBe(`d-${FILE_LOG_BUFFER + 10_000 - 1}`);
  });

  it('through the service: a decision is logged, and a full disk degrades /readyz but fails no decision', async () => {
    const dir = await folder();
    const t = await testApp({ DECISION_LOG_DIR: dir });
    try {
      const ok = await (await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' })).json();
      await t.services.close();
      const [record] = await read(join(dir, fileName(today(), 0)));
      expect(record).toMatchObject({
        decisionId: ok.decisionId,
        customerId: 'C0000001',
        channel: 'web',
        preview: false,
      });
      expect(Object.keys(record).sort()).toEqual([
        'arm',
        'at',
        'channel',
        'customerId',
        'decisionId',
        'degraded',
        'interactionId',
        'offers',
        'preview',
        'profile',
        'rulesetVersion',
      ]);
    } finally {
      await t.services.close();
    }
    const full = await folder();
    await symlink('/dev/full', join(full, fileName(today(), 0)));
    const t2 = await testApp({ DECISION_LOG_DIR: full });
    try {
      expect((await t2.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' })).status).toBe(200);
      await t2.services.decisionLog.close(); // a write has been tried
      const ready = await t2.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ degraded: true, decisionLog: { ok: false } });
      expect((await t2.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' })).status).toBe(200);
      expect(existsSync(join(full, fileName(today(), 1)))).toBe(false);
    } finally {
      await t2.services.close();
    }
  });
});
