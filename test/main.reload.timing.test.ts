import { copyFile, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, startService } from './support/process.js';
import { generatedRules, rulesCopy } from './support/rules.js';

const json = { 'content-type': 'application/json' };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Probed {
  readonly latencies: number[];
  readonly failures: string[];
}

/**
 * Sends `perSecond` requests a second, each at its planned time whether or not the last one
 * was answered (open loop), until `stop()`; a latency counts from the planned time, so a stall
 * of the service shows in full.
 */
function probe(send: () => Promise<Response>, perSecond: number) {
  const result: Probed = { latencies: [], failures: [] };
  const every = 1000 / perSecond;
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const planned = start + n * every;
    n++;
    const p = send().then(
      async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) result.failures.push(`status ${res.status}`);
        result.latencies.push(performance.now() - planned);
      },
      (err: Error) => void result.failures.push(err.message),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    setTimeout(tick, Math.max(0, start + n * every - performance.now()));
  };
  tick();
  return {
    async stop(): Promise<Probed> {
      stopped = true;
      await Promise.all(inFlight);
      return result;
    },
  };
}

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

// rule sets weighing what the limits allow, reloaded while a probe asks for 50 decisions a second
describe('a reload while decisions are served', () => {
  const dirs: string[] = [];
  let service: Awaited<ReturnType<typeof startService>>;
  /** RULES_DIR: a symbolic link, pointed at one generated set after another */
  let current: string;
  const sets: Record<'shipped' | 'oversized' | 'refused' | 'big', string> = {
    shipped: '',
    oversized: '',
    refused: '',
    big: '',
  };
  beforeAll(async () => {
    const home = await mkdtemp(join(tmpdir(), 'nextbest-reload-'));
    dirs.push(home);
    // 5 000 offers, 6.5 MB: valid; 2 000 offers padded with a key the schema refuses, 9.3 MB:
    // within the limits, so parsed in full and refused; 2 400 of them, 11 MB: refused from their sizes
    [sets.shipped, sets.big, sets.refused, sets.oversized] = await Promise.all([
      rulesCopy(),
      generatedRules(4_963),
      generatedRules(1_963, 3_000),
      generatedRules(2_563, 3_000),
    ]);
    dirs.push(...Object.values(sets));
    current = join(home, 'rules');
    await symlink(sets.shipped, current);
    service = await startService({ RULES_DIR: current, RULES_WATCH: 'false' });
  }, 120_000);
  /** what each reload took, printed at the end: the figures the documentation gives */
  const reloads: string[] = [];
  afterAll(async () => {
    console.log(`reloads under a 50/s probe:\n  ${reloads.join('\n  ')}`);
    service?.child.kill('SIGTERM');
    if (service) await exited(service.child);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** Points RULES_DIR at `set` and reloads, while the probe runs from half a second before to half a second after. */
  async function reloadWhileProbing(set: string) {
    const next = `${current}.next`;
    await symlink(set, next);
    await rename(next, current);
    let i = 0;
    const p = probe(
      () =>
        fetch(`${service.base}/v1/decisions`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ customerId: `C${String(1 + (i++ % 1000)).padStart(7, '0')}`, channel: 'web' }),
        }),
      50,
    );
    await pause(500);
    const started = performance.now();
    const res = await fetch(`${service.base}/v1/rulesets/reload`, { method: 'POST' });
    const seconds = (performance.now() - started) / 1000;
    const body = await res.json();
    await pause(500);
    const probed = await p.stop();
    reloads.push(
      `${Object.entries(sets).find(([, d]) => d === set)![0]}: ${res.status} in ${seconds.toFixed(2)} s, probe p99 ${quantile(probed.latencies, 0.99).toFixed(1)} ms over ${probed.latencies.length}`,
    );
    return { status: res.status, body, seconds, probed };
  }

  it('refuses an 11 MB set from its sizes within 2 s, decisions answered meanwhile', async () => {
    const before = (await (await fetch(`${service.base}/v1/rulesets`)).json()).active;
    const { status, body, seconds, probed } = await reloadWhileProbing(sets.oversized);
    expect(status).toBe(422);
    expect(body.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/over its limit \(RULES_MAX_SET_MB\)$/) }),
    ]);
    expect(seconds).toBeLessThan(2);
    expect(probed.failures).toEqual([]);
    expect(quantile(probed.latencies, 0.99)).toBeLessThan(50);
    expect((await (await fetch(`${service.base}/v1/rulesets`)).json()).active).toBe(before);
  }, 60_000);

  it('keeps decisions under 50 ms at p99 while a 9 MB set is parsed in full and refused', async () => {
    const before = (await (await fetch(`${service.base}/v1/rulesets`)).json()).active;
    const { status, body, probed } = await reloadWhileProbing(sets.refused);
    expect(status).toBe(422);
    expect(body.errors).toHaveLength(1_963);
    expect(body.errors[0]).toMatchObject({ file: 'offers/gen-0.json', message: expect.stringMatching(/padding/) });
    expect(probed.failures).toEqual([]);
    expect(probed.latencies.length).toBeGreaterThan(50);
    expect(quantile(probed.latencies, 0.99)).toBeLessThan(50);
    const rulesets = await (await fetch(`${service.base}/v1/rulesets`)).json();
    expect(rulesets.active).toBe(before);
  }, 60_000);

  it('keeps decisions under 50 ms at p99 while a 5 000-offer set is read, compiled and activated', async () => {
    const { status, body, probed } = await reloadWhileProbing(sets.big);
    expect(status).toBe(200);
    expect(body.changed).toBe(true);
    expect(probed.failures).toEqual([]);
    expect(quantile(probed.latencies, 0.99)).toBeLessThan(50);
    const rulesets = await (await fetch(`${service.base}/v1/rulesets`)).json();
    expect(rulesets.active).toBe(body.version);
  }, 60_000);
});

describe('a 20 MB file copied into a watched rules folder', () => {
  it('is refused and named in GET /v1/rulesets while /healthz answers every probe within 100 ms', async () => {
    const rules = await rulesCopy();
    const service = await startService({ RULES_DIR: rules, RULES_WATCH: 'true' });
    try {
      const before = (await (await fetch(`${service.base}/v1/rulesets`)).json()).active;
      // written before the probe starts: the test's own work must not delay the probe's requests
      const big = join(tmpdir(), `nextbest-big-${process.pid}.json`);
      await writeFile(big, JSON.stringify({ id: 'zz-big', padding: 'x'.repeat(20 * 1024 * 1024) }));
      const p = probe(() => fetch(`${service.base}/healthz`), 50);
      await pause(300);
      await copyFile(big, join(rules, 'offers', 'zz-big.json'));
      await rm(big);
      let refused: { file: string; message: string } | undefined;
      for (let i = 0; i < 100 && !refused; i++) {
        await pause(100);
        const rulesets = await (await fetch(`${service.base}/v1/rulesets`)).json();
        refused = rulesets.lastError?.errors.find((e: { file: string }) => e.file === 'offers/zz-big.json');
        expect(rulesets.active).toBe(before);
      }
      await pause(300);
      const probed = await p.stop();
      expect(refused?.message).toBe('the file is 20 MB, over the limit of 1 MB a file (RULES_MAX_FILE_MB)');
      expect(probed.failures).toEqual([]);
      expect(probed.latencies.length).toBeGreaterThan(20);
      expect(Math.max(...probed.latencies)).toBeLessThan(100);
    } finally {
      service.child.kill('SIGTERM');
      await exited(service.child);
      await rm(rules, { recursive: true, force: true });
    }
  });
});
