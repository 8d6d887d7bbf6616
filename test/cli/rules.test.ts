import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/process.js';
import { rulesCopy, SHIPPED_RULES } from '../support/rules.js';

// runs the built CLI: npm test builds dist/ first (or npm run build --silent)
const diff = (...args: string[]) => run(['bin/nextbest.js', 'rules', 'diff', ...args]);
const occurrences = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

async function copyOfRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-diff-'));
  await cp(SHIPPED_RULES, dir, { recursive: true });
  return dir;
}

/** Edits one JSON file of a rule-set folder in place. */
async function edit(dir: string, file: string, change: (json: any) => void): Promise<void> {
  const json = JSON.parse(await readFile(join(dir, file), 'utf8'));
  change(json);
  await writeFile(join(dir, file), `${JSON.stringify(json, null, 2)}\n`);
}

describe('nextbest rules diff', () => {
  const dirs: string[] = [];
  let same: string;
  let edited: string;

  beforeAll(async () => {
    same = await copyOfRules();
    edited = await copyOfRules();
    dirs.push(same, edited);
    await edit(edited, 'manifest.json', (m) => (m.version = '2026.12.0'));
    const fibre = JSON.parse(await readFile(join(edited, 'offers/develop-fibre-upgrade.json'), 'utf8'));
    await writeFile(
      join(edited, 'offers/develop-fibre-max.json'),
      JSON.stringify({ ...fibre, id: 'develop-fibre-max', name: 'Fibre Max' }),
    );
    // an offer no journey names: removing one a journey sends would make the set invalid
    await rm(join(edited, 'offers/end-final-bill-explained.json'));
    await edit(edited, 'offers/save-price-match.json', (o) => {
      o.value = 150;
      o.propensity['call-center'] = 0.25;
      o.eligibility.all.splice(2, 0, { fact: 'churnScore', operator: 'greaterThan', value: 0.5 });
      o.treatments['call-center'].title = "Match a competitor's price";
    });
    await edit(edited, 'arbitration.json', (a) => {
      a.levers.find((l: any) => l.name === 'Autumn fibre campaign').offers['develop-fibre-upgrade'] = 1.5;
      a.contextWeights.find((w: any) => w.name === 'Billing question: help with the bill').groups.service = 4;
    });
    await edit(edited, 'contact-policy.json', (p) => {
      p.channels.web.maxOffers = 5;
      p.rules.find((r: any) => r.name === 'a web tip 3 times a week').max = 2;
      p.rules.push({
        type: 'frequencyCap',
        name: '2 save offers a month',
        groups: ['save'],
        counts: 'decision',
        max: 2,
        windowDays: 30,
      });
    });
  });
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('says "no differences" for identical folders, exit 0', async () => {
    const r = await diff('rules', same);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no differences');
    expect(r.stdout).toMatch(/^A {2}2026\.11\.0\+[0-9a-f]{8} {2}rules$/m);
    const j = await diff('rules', same, '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({
      identical: true,
      differences: 0,
      manifest: [],
      offers: { added: [], removed: [], changed: [] },
    });
  });

  it('lists every change once, with its old and new value', async () => {
    const r = await diff('rules', edited);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const once = [
      /^B {2}2026\.12\.0\+[0-9a-f]{8} {2}/,
      /^ {2}\/version {2}"2026\.11\.0" → "2026\.12\.0"$/,
      /^offers: 1 added, 1 removed, 1 changed$/,
      /^ {2}\+ develop-fibre-max +develop +Fibre Max$/,
      /^ {2}- end-final-bill-explained +end +Your final bill$/,
      /^ {2}~ save-price-match +save +Competitor price match$/,
      /^ {6}\/value +350 → 150$/,
      /^ {6}\/propensity\/call-center +0\.2 → 0\.25$/,
      /^ {6}\/eligibility\/all\/2 +added \{"fact":"churnScore","operator":"greaterThan","value":0\.5\}$/,
      /^ {6}\/treatments\/call-center\/title +"Match the competitor price" → "Match a competitor's price"$/,
      /^ {4}~ "Billing question: help with the bill"$/,
      /^ {8}\/groups\/service +3 → 4$/,
      /^ {4}~ "Autumn fibre campaign"$/,
      /^ {8}\/offers\/develop-fibre-upgrade +1\.3 → 1\.5$/,
      /^ {2}\/channels\/web\/maxOffers +4 → 5$/,
      /^ {4}~ "a web tip 3 times a week"$/,
      /^ {8}\/max +3 → 2$/,
      /^ {4}\+ "2 save offers a month" +\{"type":"frequencyCap"/,
      /^12 differences$/,
    ];
    for (const pattern of once) expect(occurrences(r.stdout, pattern), String(pattern)).toBe(1);
    for (const id of ['develop-fibre-max', 'end-final-bill-explained', 'save-price-match'])
      expect(occurrences(r.stdout, new RegExp(id))).toBe(1);
  });

  it('--json has the same changes as one document', async () => {
    const r = await diff('rules', edited, '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.a).toMatchObject({
      dir: 'rules',
      version: expect.stringMatching(/^2026\.11\.0\+/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(d.b).toMatchObject({ dir: edited, version: expect.stringMatching(/^2026\.12\.0\+/) });
    expect(d.identical).toBe(false);
    expect(d.differences).toBe(12);
    expect(d.manifest).toEqual([{ path: '/version', op: 'changed', old: '2026.11.0', new: '2026.12.0' }]);
    expect(d.offers.added).toEqual([{ id: 'develop-fibre-max', name: 'Fibre Max', group: 'develop' }]);
    expect(d.offers.removed).toEqual([{ id: 'end-final-bill-explained', name: 'Your final bill', group: 'end' }]);
    expect(d.offers.changed).toEqual([
      {
        id: 'save-price-match',
        name: 'Competitor price match',
        group: 'save',
        changes: [
          { path: '/value', op: 'changed', old: 350, new: 150 },
          { path: '/propensity/call-center', op: 'changed', old: 0.2, new: 0.25 },
          { path: '/eligibility/all/2', op: 'added', new: { fact: 'churnScore', operator: 'greaterThan', value: 0.5 } },
          {
            path: '/treatments/call-center/title',
            op: 'changed',
            old: 'Match the competitor price',
            new: "Match a competitor's price",
          },
        ],
      },
    ]);
    const noNamed = { added: [], removed: [], changed: [] };
    expect(d.arbitration).toEqual({
      contextWeights: {
        ...noNamed,
        changed: [
          {
            name: 'Billing question: help with the bill',
            changes: [{ path: '/groups/service', op: 'changed', old: 3, new: 4 }],
          },
        ],
      },
      levers: {
        ...noNamed,
        changed: [
          {
            name: 'Autumn fibre campaign',
            changes: [{ path: '/offers/develop-fibre-upgrade', op: 'changed', old: 1.3, new: 1.5 }],
          },
        ],
      },
      learning: [],
    });
    expect(d.contactPolicy.settings).toEqual([{ path: '/channels/web/maxOffers', op: 'changed', old: 4, new: 5 }]);
    expect(d.contactPolicy.rules.added).toEqual([
      {
        name: '2 save offers a month',
        entry: expect.objectContaining({ type: 'frequencyCap', groups: ['save'], max: 2, windowDays: 30 }),
      },
    ]);
    expect(d.contactPolicy.rules.removed).toEqual([]);
    expect(d.contactPolicy.rules.changed).toEqual([
      { name: 'a web tip 3 times a week', changes: [{ path: '/max', op: 'changed', old: 3, new: 2 }] },
    ]);
    expect(d.contactPolicy.order).toBeNull();
  });

  it('tells a change of layout only from no change at all', async () => {
    const dir = await copyOfRules();
    dirs.push(dir);
    await edit(dir, 'manifest.json', () => {}); // same content, new whitespace
    const r = await diff('rules', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no differences in content');
  });

  it('exits 1 with file:line:col when a folder is invalid', async () => {
    const dir = await copyOfRules();
    dirs.push(dir);
    await writeFile(join(dir, 'manifest.json'), '{\n  "version": "1",\n  "channels": []\n}\n');
    for (const args of [
      ['rules', dir],
      [dir, 'rules'],
      [dir, 'rules', '--json'],
    ]) {
      const r = await diff(...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`${join(dir, 'manifest.json')}:3:15: channels: Too small`);
    }
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [[], ['rules'], ['rules', 'rules', 'rules'], ['rules', 'rules', '--nope']]) {
      const r = await diff(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('nextbest rules diff DIR_A DIR_B');
    }
  });
});

describe('nextbest rules diff: journeys', () => {
  let dir: string;
  const reminder = { id: 'reminder', after: 'exit-survey', noResponseDays: 7, channel: 'sms', bestOf: ['winback'] };

  beforeAll(async () => {
    dir = await rulesCopy({
      'journeys/winback.json': (j) => {
        j.lengthWeeks = 30;
        j.steps.find((s: any) => s.id === 'come-back-email').week = 9;
        j.steps.splice(1, 0, reminder);
      },
    });
    await rm(join(dir, 'journeys/loyalty.json'));
    const winback = JSON.parse(await readFile(join(SHIPPED_RULES, 'journeys/winback.json'), 'utf8'));
    winback.entry.all.push({ fact: 'valueSegment', operator: 'in', value: ['super', 'top'] });
    await writeFile(
      join(dir, 'journeys/winback-vip.json'),
      JSON.stringify({ ...winback, id: 'winback-vip', name: 'Win back VIPs' }, null, 2),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists journeys added, removed and changed, steps by their id', async () => {
    const r = await diff('rules', dir);
    expect(r.code, r.stderr).toBe(0);
    const once = [
      /^journeys: 1 added, 1 removed, 1 changed$/,
      /^ {2}\+ winback-vip {2}Win back VIPs$/,
      /^ {2}- loyalty {6}Loyalty: a year of care$/,
      /^ {2}~ winback {6}Win back former customers$/,
      /^ {6}\/lengthWeeks +26 → 30$/,
      /^ {6}\/steps\/reminder +added \{"id":"reminder","after":"exit-survey",/,
      /^ {6}\/steps\/come-back-email\/week +8 → 9$/,
      /^5 differences$/,
    ];
    for (const pattern of once) expect(occurrences(r.stdout, pattern), String(pattern)).toBe(1);
    // in the file's order: lengthWeeks before steps; the new step before the one it precedes
    const at = (text: string) => r.stdout.indexOf(text);
    expect(at('/lengthWeeks')).toBeLessThan(at('/steps/reminder'));
    expect(at('/steps/reminder')).toBeLessThan(at('/steps/come-back-email/week'));
    expect(r.stdout).not.toMatch(/^offers/m);
  });

  it('--json has them too, steps by their position in B', async () => {
    const r = await diff('rules', dir, '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.differences).toBe(5);
    expect(d.offers).toEqual({ added: [], removed: [], changed: [] });
    expect(d.journeys).toEqual({
      added: [{ id: 'winback-vip', name: 'Win back VIPs' }],
      removed: [{ id: 'loyalty', name: 'Loyalty: a year of care' }],
      changed: [
        {
          id: 'winback',
          name: 'Win back former customers',
          changes: [
            { path: '/lengthWeeks', op: 'changed', old: 26, new: 30 },
            { path: '/steps/1', op: 'added', new: reminder },
            { path: '/steps/2/week', op: 'changed', old: 8, new: 9 },
          ],
        },
      ],
    });
  });

  it('a journey whose entry changed shows the condition', async () => {
    const entry = await rulesCopy({
      'journeys/anti-churn.json': (j) => {
        j.entry.all[1].value = 0.4;
      },
    });
    try {
      const r = await diff('rules', entry);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^journeys: 1 changed$/m);
      expect(r.stdout).toMatch(/^ {2}~ anti-churn {2}Multi-wave anti-churn$/m);
      expect(r.stdout).toMatch(/^ {6}\/entry\/all\/1\/value {2}0\.3 → 0\.4$/m);
      expect(r.stdout).toMatch(/^1 difference$/m);
    } finally {
      await rm(entry, { recursive: true, force: true });
    }
  });
});
