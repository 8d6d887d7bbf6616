import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../support/app.js';
import { eventually } from '../support/redis.js';
import { SHIPPED_RULES } from '../support/rules.js';

type App = Awaited<ReturnType<typeof testApp>>;
const ADMIN = 'admin-key-0123456789abcdef';
const DECIDE = 'decide-key-0123456789abcdef';
const OFFER = 'offers/service-help-centre.json';

/** Writes like an editor that saves by rename: a temp file, then over the old one. */
async function save(dir: string, file: string, text: string): Promise<void> {
  const tmp = join(dir, `.${file.replace('/', '_')}.swp`);
  await writeFile(tmp, text);
  await rename(tmp, join(dir, file));
}

async function copyRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nextbest-rulesets-'));
  await cp(SHIPPED_RULES, dir, { recursive: true });
  return dir;
}

// Rule-set versions in the service: reload, refuse, roll back, audit; by API and by watching the folder.
describe('rule-set versions', () => {
  let dir: string;
  let t: App;
  const admin = { authorization: `Bearer ${ADMIN}`, 'x-nextbest-actor': 'Maria (CRM)' };
  const get = async () => (await t.app.request('/v1/rulesets', { headers: admin })).json();
  const reload = () => t.app.request('/v1/rulesets/reload', { method: 'POST', headers: admin });
  const decide = async () =>
    (
      await (
        await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, { authorization: `Bearer ${ADMIN}` })
      ).json()
    ).rulesetVersion as string;

  beforeAll(async () => {
    dir = await copyRules();
    t = await testApp({ RULES_DIR: dir, API_KEYS: `admin:${ADMIN},decide:${DECIDE}` });
  });
  afterAll(async () => {
    await t?.services.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the active version, loaded versions and the start in the audit trail', async () => {
    const body = await get();
    expect(body.active).toBe(t.services.rules.active!.version);
    expect(body.versions).toEqual([
      {
        version: body.active,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        loadedAt: expect.any(String),
        offers: 37,
        active: true,
        warnings: [],
      },
    ]);
    expect(body.lastError).toBeNull();
    expect(body.audit[0]).toMatchObject({
      who: 'start',
      action: 'reload',
      result: 'activated',
      version: body.active,
      summary: '37 offers',
    });
  });

  it('refuses a broken edit with every error at file:line:col, and the last good version keeps serving', async () => {
    const before = await decide();
    const good = await readFile(join(dir, OFFER), 'utf8');
    await save(dir, OFFER, good.replace('"value": ', '"value": "lots", "valu": '));
    const res = await reload();
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem).toMatchObject({ type: 'urn:nextbest:problem:invalid_ruleset', status: 422 });
    expect(problem.errors.length).toBeGreaterThanOrEqual(2);
    for (const e of problem.errors)
      expect(e).toMatchObject({
        file: OFFER,
        line: expect.any(Number),
        column: expect.any(Number),
        path: expect.any(String),
        message: expect.any(String),
      });
    expect(await decide()).toBe(before);
    const listed = await get();
    expect(listed.lastError.errors.length).toBe(problem.errors.length);
    expect(listed.audit[0]).toMatchObject({
      result: 'refused',
      version: before,
      who: expect.stringMatching(/^api admin key [0-9a-f]{8}, Maria \(CRM\)$/),
    });
    expect(JSON.stringify(listed)).not.toContain(ADMIN);
    await save(dir, OFFER, good);
  });

  it('activates a changed folder in one step, then rolls back to the earlier version', async () => {
    const first = await decide();
    const offer = JSON.parse(await readFile(join(dir, OFFER), 'utf8'));
    await save(dir, OFFER, JSON.stringify({ ...offer, value: offer.value + 7 }, null, 2));
    const res = await reload();
    expect(res.status).toBe(200);
    const change = await res.json();
    expect(change).toMatchObject({ changed: true, previous: first, summary: 'offers +0 -0 ~1 (service-help-centre)' });
    expect(change.version).not.toBe(first);
    expect(await decide()).toBe(change.version);
    expect((await get()).lastError).toBeNull();
    expect(await (await reload()).json()).toMatchObject({ changed: false, version: change.version });

    const back = await t.app.request(`/v1/rulesets/${encodeURIComponent(first)}/activate`, {
      method: 'POST',
      headers: admin,
    });
    expect(await back.json()).toMatchObject({ changed: true, version: first, previous: change.version });
    expect(await decide()).toBe(first);
    const listed = await get();
    expect(listed.versions.map((v: { version: string; active: boolean }) => [v.version, v.active])).toEqual([
      [change.version, false],
      [first, true],
    ]);
    expect(listed.audit[0]).toMatchObject({ action: 'activate', result: 'rolled_back', version: first });
    const metrics = await (await t.app.request('/metrics')).text();
    for (const result of ['activated', 'refused', 'rolled_back'])
      expect(metrics).toMatch(new RegExp(`^nextbest_ruleset_changes_total\\{result="${result}"\\} [1-9]`, 'm'));
    expect(metrics).toContain(`nextbest_ruleset_active_info{version="${first}"} 1`);
    expect(metrics).not.toContain(`nextbest_ruleset_active_info{version="${change.version}"}`);
  });

  it('audits the API request that asked by its X-Request-Id', async () => {
    const text = await readFile(join(dir, OFFER), 'utf8');
    await save(dir, OFFER, text.replace('"value": ', '"valu": '));
    const refused = await t.app.request('/v1/rulesets/reload', {
      method: 'POST',
      headers: { ...admin, 'x-request-id': 'reload-7' },
    });
    expect(refused.status).toBe(422);
    expect((await refused.json()).requestId).toBe('reload-7');
    await save(dir, OFFER, text);
    const { active, versions } = await get();
    const other = versions.find((v: { active: boolean }) => !v.active).version;
    const res = await t.app.request(`/v1/rulesets/${encodeURIComponent(other)}/activate`, {
      method: 'POST',
      headers: { ...admin, 'x-request-id': 'activate-7' },
    });
    expect(res.status).toBe(200);
    const { audit } = await get();
    expect(audit[0]).toMatchObject({
      action: 'activate',
      result: 'rolled_back',
      version: other,
      requestId: 'activate-7',
    });
    expect(audit[1]).toMatchObject({ action: 'reload', result: 'refused', requestId: 'reload-7' });
    expect(audit.at(-1)).toMatchObject({ who: 'start' });
    expect(audit.at(-1)).not.toHaveProperty('requestId');
    await t.app.request(`/v1/rulesets/${encodeURIComponent(active)}/activate`, { method: 'POST', headers: admin });
  });

  it('answers 404 for a version never loaded, and guards every route with the admin scope', async () => {
    const res = await t.app.request('/v1/rulesets/9.9.9+00000000/activate', { method: 'POST', headers: admin });
    expect(res.status).toBe(404);
    for (const [method, path] of [
      ['GET', '/v1/rulesets'],
      ['POST', '/v1/rulesets/reload'],
      ['POST', '/v1/rulesets/x/activate'],
    ] as const) {
      expect((await t.app.request(path, { method })).status).toBe(401);
      expect((await t.app.request(path, { method, headers: { authorization: `Bearer ${DECIDE}` } })).status).toBe(403);
    }
  });
});

describe('rule-set versions picked up from the folder by themselves', () => {
  it('activates an edit within seconds, refuses a broken one, saved by rename', async () => {
    const dir = await copyRules();
    const t = await testApp({ RULES_DIR: dir, RULES_WATCH: 'true' });
    try {
      const first = t.services.rules.active!.version;
      const offer = JSON.parse(await readFile(join(dir, OFFER), 'utf8'));
      await save(dir, OFFER, '{ "id": "service-help-centre", ');
      await eventually('the broken edit is refused', () => t.services.rules.lastError !== null, 8_000);
      expect(t.services.rules.active!.version).toBe(first);
      await save(dir, OFFER, JSON.stringify({ ...offer, name: `${offer.name} (new)` }, null, 2));
      const ms = await eventually('the fixed edit is active', () => t.services.rules.active!.version !== first, 8_000);
      expect(ms).toBeLessThan(5_000);
      expect(t.services.rules.lastError).toBeNull();
      expect(t.services.audit.latest()[0]).toMatchObject({ who: 'file watch', result: 'activated' });
    } finally {
      await t.services.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('warnings and slips', () => {
  it('are answered by a reload and listed with their version; a segment that does not exist is refused, with the one meant', async () => {
    const dir = await copyRules();
    const t = await testApp({ RULES_DIR: dir });
    try {
      const offer = JSON.parse(await readFile(join(dir, OFFER), 'utf8'));
      const twice = (value: string) => ({ fact: 'lifecyclePhase', operator: 'equal', value });
      await save(
        dir,
        OFFER,
        JSON.stringify({ ...offer, eligibility: { all: [twice('new'), twice('loyalty')] } }, null, 2),
      );
      const res = await t.app.request('/v1/rulesets/reload', { method: 'POST' });
      expect(res.status).toBe(200);
      const change = await res.json();
      expect(change.warnings).toEqual([
        expect.objectContaining({
          file: OFFER,
          path: '/eligibility/all/1',
          message: expect.stringMatching(
            /can never be eligible: lifecyclePhase must equal "new" and "loyalty" at once/,
          ),
        }),
      ]);
      const listed = await (await t.app.request('/v1/rulesets')).json();
      expect(listed.versions.find((v: { active: boolean }) => v.active).warnings).toEqual(change.warnings);
      await save(
        dir,
        OFFER,
        JSON.stringify(
          { ...offer, eligibility: { all: [{ fact: 'valueSegment', operator: 'in', value: ['Super', 'Top'] }] } },
          null,
          2,
        ),
      );
      const refused = await t.app.request('/v1/rulesets/reload', { method: 'POST' });
      expect(refused.status).toBe(422);
      expect((await refused.json()).errors.map((e: { message: string }) => e.message)).toEqual([
        '"Super" is not a value segment: valueSegment is "super", "top", "middle" or "bottom"; did you mean "super"?',
        '"Top" is not a value segment: valueSegment is "super", "top", "middle" or "bottom"; did you mean "top"?',
      ]);
    } finally {
      await t.services.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a broken edit undone', () => {
  it('clears the refusal once the folder is back to the version that serves', async () => {
    const dir = await copyRules();
    const t = await testApp({ RULES_DIR: dir, RULES_WATCH: 'true' });
    try {
      const first = t.services.rules.active!.version;
      const original = await readFile(join(dir, OFFER), 'utf8');
      await save(dir, OFFER, '{ "id": "service-help-centre", ');
      await eventually('the broken edit is refused', () => t.services.rules.lastError !== null, 8_000);
      await save(dir, OFFER, original);
      await eventually('the refusal is cleared', () => t.services.rules.lastError === null, 8_000);
      expect(t.services.rules.active!.version).toBe(first);
    } finally {
      await t.services.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('rule-set versions: order, rollbacks that stay, edits during start', () => {
  let dir: string;
  let t: App;
  beforeAll(async () => {
    dir = await copyRules();
    t = await testApp({ RULES_DIR: dir });
  });
  afterAll(async () => {
    await t?.services.close();
    await rm(dir, { recursive: true, force: true });
  });
  const bump = async (by: number) => {
    const offer = JSON.parse(await readFile(join(dir, OFFER), 'utf8'));
    await save(dir, OFFER, JSON.stringify({ ...offer, value: offer.value + by }, null, 2));
  };

  it('runs reloads and activations in the order asked', async () => {
    const { manager, rules } = t.services;
    const first = rules.active!.version;
    await bump(1);
    const [reloaded, back] = await Promise.all([manager.reload('test'), manager.activate(first, 'test')]);
    expect(reloaded.changed).toBe(true);
    expect(back).toMatchObject({ changed: true, version: first, previous: reloaded.version });
    expect(rules.active!.version).toBe(first);
  });

  it('picks up an edit made before watching began (while the service was starting)', async () => {
    const { manager, rules } = t.services;
    const before = rules.active!.version;
    await bump(2);
    await manager.watch(); // its first look finds the folder changed
    expect(rules.active!.version).not.toBe(before);
  });

  it('keeps a rollback while files are only touched, and reloads on the next real change', async () => {
    const { manager, rules, audit } = t.services;
    const current = rules.active!.version;
    const older = rules.versions().find((r) => r.version !== current)!.version;
    await manager.activate(older, 'test');
    const text = await readFile(join(dir, OFFER), 'utf8');
    await save(dir, OFFER, text); // the same content again
    await writeFile(join(dir, 'offers/.service-help-centre.json.swp'), 'swap');
    await new Promise((r) => setTimeout(r, 1_200)); // past the debounce
    expect(rules.active!.version).toBe(older);
    expect(audit.latest()[0]).toMatchObject({ action: 'activate', result: 'rolled_back', version: older });
    await bump(3);
    await eventually(
      'the real edit is served',
      () => rules.active!.version !== older && rules.active!.version !== current,
      6_000,
    );
  });

  it('refuses, not fails, a folder no parser could take, through the API too', async () => {
    const good = await readFile(join(dir, OFFER), 'utf8');
    let deep = '{ "fact": "clv", "operator": "greaterThan", "value": 1 }';
    for (let i = 0; i < 3_000; i++) deep = `{ "not": ${deep} }`;
    await save(dir, OFFER, good.replace(/"eligibility": \{[\s\S]*?\n {2}\},/, `"eligibility": { "all": [${deep}] },`));
    const res = await t.app.request('/v1/rulesets/reload', { method: 'POST' });
    expect(res.status).toBe(422);
    expect((await res.json()).errors[0].message).toMatch(/nested more than 64 levels deep/);
    await save(dir, OFFER, good);
  });
});
