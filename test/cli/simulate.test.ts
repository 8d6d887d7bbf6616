import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CONTACTS } from '../../src/contacts/state.js';
import { decide } from '../../src/decision/decide.js';
import { priorPropensity } from '../../src/learning/model.js';
import type { ChannelSimulation, Flow } from '../../src/offline/simulate.js';
import { parseProfileLines } from '../../src/profiles/ndjson.js';
import type { Profile } from '../../src/profiles/schema.js';
import type { RuleSet } from '../../src/rules/ruleset.js';
import { ROOT, run } from '../support/process.js';
import { SHIPPED_RULES, shippedRuleSet } from '../support/rules.js';

// Runs the built command (npm test builds dist/ first; alone: npm run build --silent && npx vitest run test/cli).

interface Document {
  rules: { dir: string; version: string };
  baseline: { dir: string; version: string } | null;
  context: Record<string, unknown>;
  profiles: {
    file: string;
    simulated: number;
    rejectedLines: number;
    rejected: { line: number; errors: { path: string; message: string }[] }[];
  };
  channels: ChannelSimulation[];
}

let dir: string;
let population: string;
let profiles: Profile[];
let shipped: RuleSet;

const simulate = (...args: string[]) => run(['bin/nextbest.js', 'simulate', ...args]);

async function simulateJson(...args: string[]): Promise<Document> {
  const r = await simulate(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Document;
}

/** A copy of the shipped rules, edited by `edit`, with its own manifest version. */
async function editedRules(name: string, version: string, edit: (rulesDir: string) => Promise<void>): Promise<string> {
  const target = join(dir, name);
  await cp(SHIPPED_RULES, target, { recursive: true });
  const manifestFile = join(target, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { version: string };
  await writeFile(manifestFile, JSON.stringify({ ...manifest, version }, null, 2));
  await edit(target);
  return target;
}

/** What decide() itself gives as the first offer, counted per "phase/segment" cell and overall. */
function recount(ruleset: RuleSet, channel: string, context: Record<string, string> = {}) {
  const overall = new Map<string | null, number>();
  const cells = new Map<string, Map<string | null, number>>();
  for (const profile of profiles) {
    const { decision } = decide(
      ruleset,
      { request: { customerId: profile.customerId, channel, context }, profile, degraded: false },
      priorPropensity,
      { contacts: EMPTY_CONTACTS, arm: 'champion' },
    );
    const top = decision.offers[0]?.offerId ?? null;
    overall.set(top, (overall.get(top) ?? 0) + 1);
    const key = `${profile.lifecyclePhase}/${profile.valueSegment}`;
    const cell = cells.get(key) ?? new Map<string | null, number>();
    cell.set(top, (cell.get(top) ?? 0) + 1);
    cells.set(key, cell);
  }
  return { overall, cells };
}

/** The JSON mix of one channel as a map offerId (null: no offer) → customers. */
function counts(mix: {
  noOffer: { customers: number };
  topOffers: readonly { offerId: string; customers: number }[];
}): Map<string | null, number> {
  const out = new Map<string | null, number>(mix.topOffers.map((o) => [o.offerId, o.customers]));
  if (mix.noOffer.customers > 0) out.set(null, mix.noOffer.customers);
  return out;
}

const where = (flow: Flow) => flow.segments.map((s) => `${s.lifecyclePhase}/${s.valueSegment}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nextbest-simulate-'));
  population = join(dir, 'population.ndjson');
  const made = await run(['bin/nextbest.js', 'demo-data', '--customers', '2000', '--out', population]);
  expect(made.code, made.stderr).toBe(0);
  const parsed = parseProfileLines((await readFile(population, 'utf8')).split('\n'));
  expect(parsed.rejected).toEqual([]);
  profiles = parsed.profiles;
  shipped = await shippedRuleSet();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nextbest simulate', () => {
  it('reports every declared channel; shares add up to 100 % overall and in every cell', async () => {
    const doc = await simulateJson('--rules', SHIPPED_RULES, '--profiles', population);
    expect(doc.rules.version).toBe(shipped.version);
    expect(doc.baseline).toBeNull();
    expect(doc.profiles).toMatchObject({ simulated: 2000, rejectedLines: 0 });
    expect(doc.channels.map((c) => c.channel)).toEqual(shipped.manifest.channels);
    for (const ch of doc.channels) {
      expect(ch.customers).toBe(2000);
      expect(ch.shift).toBeNull();
      const total = ch.rules.noOffer.share + ch.rules.topOffers.reduce((s, o) => s + o.share, 0);
      expect(total).toBeCloseTo(1, 9);
      expect(ch.rules.segments).toHaveLength(16);
      expect(ch.rules.segments.reduce((n, c) => n + c.customers, 0)).toBe(2000);
      for (const cell of ch.rules.segments.filter((c) => c.customers > 0)) {
        expect(cell.noOffer.share + cell.topOffers.reduce((s, o) => s + o.share, 0)).toBeCloseTo(1, 9);
      }
    }
  });

  it('counts equal what decide() gives, overall and per phase × segment, with the request context', async () => {
    const doc = await simulateJson(
      '--rules',
      SHIPPED_RULES,
      '--profiles',
      population,
      '--channel',
      'call-center',
      '--context',
      'intent=cancel',
    );
    expect(doc.context).toEqual({ intent: 'cancel' });
    expect(doc.channels).toHaveLength(1);
    const ch = doc.channels[0]!;
    const expected = recount(shipped, 'call-center', { intent: 'cancel' });
    expect(counts(ch.rules)).toEqual(expected.overall);
    for (const cell of ch.rules.segments) {
      expect(counts(cell)).toEqual(expected.cells.get(`${cell.lifecyclePhase}/${cell.valueSegment}`) ?? new Map());
    }
    // the context matters: callers who want to cancel get save offers first
    expect(ch.rules.topOffers[0]!.offerId).toMatch(/^save-/);
  });

  it('the text report shows the same figures as --json', async () => {
    const doc = await simulateJson('--rules', SHIPPED_RULES, '--profiles', population);
    const text = await simulate('--rules', SHIPPED_RULES, '--profiles', population);
    expect(text.code).toBe(0);
    const sections = text.stdout.split(/^channel /m).slice(1);
    expect(sections).toHaveLength(doc.channels.length);
    doc.channels.forEach((ch, i) => {
      const section = sections[i]!;
      // counts as the text writes them: grouped digits
      const n = (x: number) => x.toLocaleString('en-US');
      expect(section.startsWith(`${ch.channel}: 2,000 customers, ${n(ch.rules.noOffer.customers)} (`)).toBe(true);
      const overall = section.split('\n\n')[1]!; // the table after the heading
      for (const o of ch.rules.topOffers) {
        expect(overall).toMatch(new RegExp(`^  ${o.offerId} +${n(o.customers)} +${(o.share * 100).toFixed(1)}%$`, 'm'));
      }
      // a cell of the phase × segment table: the customers row of loyalty
      const loyalty = ch.rules.segments.filter((c) => c.lifecyclePhase === 'loyalty').map((c) => c.customers);
      const row = loyalty
        .concat(loyalty.reduce((a, b) => a + b, 0))
        .map(n)
        .join(' +');
      expect(section).toMatch(new RegExp(`^  loyalty +super +top +middle +bottom +all\\n    customers +${row}$`, 'm'));
    });
  });

  it('a baseline identical to the rules shows no shift', async () => {
    const same = await editedRules('same', '2026.11.1', async () => {});
    const doc = await simulateJson('--rules', same, '--baseline', SHIPPED_RULES, '--profiles', population);
    expect(doc.baseline).toEqual({ dir: SHIPPED_RULES, version: shipped.version });
    expect(doc.rules.version).not.toBe(shipped.version);
    for (const ch of doc.channels) {
      expect(ch.baselineDeclaresChannel).toBe(true);
      expect(ch.baseline).toEqual(ch.rules);
      expect(ch.shift!.changed.customers).toBe(0);
      expect(ch.shift!.flows).toEqual([]);
      expect(ch.shift!.offers.every((o) => o.shareChange === 0 && o.before.customers === o.after.customers)).toBe(true);
    }
    const text = await simulate('--rules', same, '--baseline', SHIPPED_RULES, '--profiles', population);
    expect(text.stdout).toContain("against the baseline: no customer's top offer changes");
  });

  it('the save offer opened to every retain customer: bottom retain customers gain it, from the plan right-size, nowhere else', async () => {
    const opened = await editedRules('save-for-all', '2026.12.0', async (rules) => {
      const file = join(rules, 'offers', 'save-loyalty-discount.json');
      const offer = JSON.parse(await readFile(file, 'utf8')) as { eligibility: { all: unknown[] } };
      offer.eligibility.all = offer.eligibility.all.slice(0, 1); // drop the value-segment condition
      await writeFile(file, JSON.stringify(offer, null, 2));
    });
    const doc = await simulateJson(
      '--rules',
      opened,
      '--baseline',
      SHIPPED_RULES,
      '--profiles',
      population,
      '--channel',
      'call-center',
    );
    const ch = doc.channels[0]!;
    const retainBottom = profiles.filter((p) => p.lifecyclePhase === 'retain' && p.valueSegment === 'bottom').length;
    expect(retainBottom).toBeGreaterThan(0);
    // before: the baseline's own answers; after: the new rules' answers
    expect(counts(ch.baseline!)).toEqual(recount(shipped, 'call-center').overall);
    expect(ch.shift!.flows).toHaveLength(1);
    const flow = ch.shift!.flows[0]!;
    expect(flow).toMatchObject({ from: 'save-plan-right-size', to: 'save-loyalty-discount', customers: retainBottom });
    expect(where(flow)).toEqual(['retain/bottom']);
    expect(ch.shift!.changed.customers).toBe(retainBottom);
    const gain = ch.shift!.offers.find((o) => o.offerId === 'save-loyalty-discount')!;
    const loss = ch.shift!.offers.find((o) => o.offerId === 'save-plan-right-size')!;
    expect(gain.after.customers - gain.before.customers).toBe(retainBottom);
    expect(loss.before.customers - loss.after.customers).toBe(retainBottom);
    expect(gain.shareChange).toBeCloseTo(retainBottom / 2000, 9);
    expect(
      ch
        .shift!.offers.slice(0, 2)
        .map((o) => o.offerId)
        .sort(),
    ).toEqual(['save-loyalty-discount', 'save-plan-right-size']);
    const text = await simulate(
      '--rules',
      opened,
      '--baseline',
      SHIPPED_RULES,
      '--profiles',
      population,
      '--channel',
      'call-center',
    );
    expect(text.stdout).toMatch(
      new RegExp(
        `^ +${retainBottom}  save-plan-right-size → save-loyalty-discount  retain/bottom ${retainBottom}$`,
        'm',
      ),
    );
    expect(text.stdout).toMatch(/^ {2}save-loyalty-discount +\d+\.\d% +\d+\.\d% +\+\d+\.\d pts$/m);
  });

  it('an offer removed: the super and top retain customers who had it move to other offers', async () => {
    const removed = await editedRules('no-vip-gift', '2026.12.1', (rules) =>
      rm(join(rules, 'offers', 'anti-churn-vip-retention-gift.json')),
    );
    const doc = await simulateJson(
      '--rules',
      removed,
      '--baseline',
      SHIPPED_RULES,
      '--profiles',
      population,
      '--channel',
      'web',
    );
    const shift = doc.channels[0]!.shift!;
    const had = recount(shipped, 'web').overall.get('anti-churn-vip-retention-gift')!;
    expect(had).toBeGreaterThan(0);
    const lost = shift.offers.find((o) => o.offerId === 'anti-churn-vip-retention-gift')!;
    expect(lost).toMatchObject({ before: { customers: had }, after: { customers: 0 } });
    expect(shift.flows.every((f) => f.from === 'anti-churn-vip-retention-gift')).toBe(true);
    expect(shift.flows.reduce((n, f) => n + f.customers, 0)).toBe(had);
    const cells = new Set(shift.flows.flatMap(where));
    expect([...cells].every((c) => c === 'retain/super' || c === 'retain/top')).toBe(true);
    expect(doc.channels[0]!.rules.topOffers.some((o) => o.offerId === 'anti-churn-vip-retention-gift')).toBe(false);
  });

  it('bad lines are counted and reported with line numbers on stderr; the rest is simulated', async () => {
    const good = (await readFile(population, 'utf8')).split('\n').slice(0, 6);
    const file = join(dir, 'mixed.ndjson');
    await writeFile(
      file,
      `${[
        good[0],
        good[1],
        '{not json',
        good[2],
        JSON.stringify({ ...JSON.parse(good[3]!), valueSegment: 'gold' }),
        '',
        good[4],
        good[5],
      ].join('\n')}\n`,
    );
    const text = await simulate('--rules', SHIPPED_RULES, '--profiles', file);
    expect(text.code).toBe(0);
    expect(text.stderr).toContain(`${file}:3: / invalid JSON`);
    expect(text.stderr).toContain(`${file}:5: /valueSegment`);
    expect(text.stderr).toContain('2 line(s) rejected, 5 profiles simulated');
    expect(text.stdout).toContain('5 customers from');
    const doc = await simulateJson('--rules', SHIPPED_RULES, '--profiles', file);
    expect(doc.profiles).toMatchObject({ simulated: 5, rejectedLines: 2 });
    expect(doc.profiles.rejected.map((r) => r.line)).toEqual([3, 5]);
    expect(doc.channels[0]!.customers).toBe(5);
  });

  it('reads the profiles from stdin with -', async () => {
    const input = await readFile(population);
    const child = spawn(
      process.execPath,
      ['bin/nextbest.js', 'simulate', '--rules', SHIPPED_RULES, '--profiles', '-', '--channel', 'web', '--json'],
      { cwd: ROOT },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Document;
    expect(doc.profiles).toMatchObject({ file: '-', simulated: 2000 });
    expect(counts(doc.channels[0]!.rules)).toEqual(recount(shipped, 'web').overall);
  });

  it('exit codes: 1 for an invalid rule set (file:line:col) or an unreadable file, 2 for usage', async () => {
    const broken = await editedRules('broken', '1', async (rules) =>
      writeFile(join(rules, 'manifest.json'), '{\n  "version": "1",\n  "channels": []\n}\n'),
    );
    const bad = await simulate('--rules', broken, '--profiles', population);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(broken, 'manifest.json')}:3:15: channels: Too small`);
    const badBaseline = await simulate('--rules', SHIPPED_RULES, '--baseline', broken, '--profiles', population);
    expect(badBaseline.code).toBe(1);
    expect(badBaseline.stderr).toContain(`${join(broken, 'manifest.json')}:3:15:`);
    const missing = await simulate('--rules', SHIPPED_RULES, '--profiles', join(dir, 'nope.ndjson'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read ${join(dir, 'nope.ndjson')}`);
    for (const args of [
      ['--rules', SHIPPED_RULES],
      ['--profiles', population],
      ['--rules', SHIPPED_RULES, '--profiles', population, '--nope'],
      ['--rules', SHIPPED_RULES, '--profiles', population, 'extra'],
      ['--rules', SHIPPED_RULES, '--profiles', population, '--channel', 'sms'],
      ['--rules', SHIPPED_RULES, '--profiles', population, '--context', 'intent'],
      ['--rules', SHIPPED_RULES, '--profiles', population, '--context', '__proto__=1'],
    ]) {
      const r = await simulate(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: nextbest simulate');
    }
  });
});
