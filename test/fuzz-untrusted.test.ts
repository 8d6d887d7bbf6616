import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './support/app.js';
import { SHIPPED_RULES } from './support/rules.js';

type App = Awaited<ReturnType<typeof testApp>>;
const ADMIN = 'admin-key-fuzz-0123456789';
const PUBLIC = 'public-key-fuzz-0123456789';
const SECRET = 'fuzz-customer-token-secret-0123456789';
const FILES = [
  'manifest.json',
  'arbitration.json',
  'contact-policy.json',
  'offers/save-loyalty-discount.json',
] as const;
/** keys that reach Object.prototype if a parser lets them, and keys near the valid ones */
const key = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'fact',
    'path',
    'value',
    'operator',
    'all',
    'any',
    'not',
    'id',
    'when',
    'context',
    'groups',
    'offers',
  ),
  fc.string({ maxLength: 12 }),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Replaces the value at a random path of a parsed rule file (or adds a key there). */
function mutate(doc: unknown, steps: readonly number[], k: string, v: unknown): unknown {
  if (steps.length === 0 || typeof doc !== 'object' || doc === null) return v;
  const entries = Object.keys(doc);
  const copy: Record<string, unknown> = Array.isArray(doc)
    ? ([...doc] as unknown as Record<string, unknown>)
    : { ...(doc as Record<string, unknown>) };
  if (entries.length === 0) {
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
    return copy;
  }
  const at = entries[steps[0]! % entries.length]!;
  copy[at] = mutate((doc as Record<string, unknown>)[at], steps.slice(1), k, v);
  return copy;
}

describe('untrusted data: rule files and public callers', () => {
  let dir: string;
  let t: App;
  const originals = new Map<string, string>();
  const admin = { authorization: `Bearer ${ADMIN}` };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextbest-fuzz-rules-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
    for (const f of FILES) originals.set(f, await readFile(join(dir, f), 'utf8'));
    t = await testApp({ RULES_DIR: dir, API_KEYS: `admin:${ADMIN},public:${PUBLIC}`, CUSTOMER_TOKEN_SECRET: SECRET });
  });
  afterAll(async () => {
    await t?.services.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a mangled rule file is refused with a 422 (or taken, if still valid), quickly, and never pollutes a prototype', async () => {
    const active = t.services.rules.active!.version;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FILES),
        fc.array(fc.nat(), { maxLength: 6 }),
        key,
        json,
        fc.boolean(),
        async (file, steps, k, v, raw) => {
          const original = originals.get(file)!;
          const text = raw ? JSON.stringify(v) : JSON.stringify(mutate(JSON.parse(original), steps, k, v), null, 2);
          await writeFile(join(dir, file), text);
          const started = performance.now();
          const res = await t.app.request('/v1/rulesets/reload', { method: 'POST', headers: admin });
          expect(performance.now() - started).toBeLessThan(2_000);
          expect([200, 422], text.slice(0, 300)).toContain(res.status);
          if (res.status === 422) {
            refused++;
            const problem = await res.json();
            for (const e of problem.errors) expect(e.file, JSON.stringify(e)).toBeTypeOf('string');
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.getPrototypeOf({})).toBe(Object.prototype);
          // back to the shipped file: the next case starts from a valid rule set
          await writeFile(join(dir, file), original);
          // decisions are answered whatever the files held
          expect((await t.post('/v1/decisions', { customerId: 'C0000001', channel: 'web' }, admin)).status).toBe(200);
        },
      ),
      { numRuns: 150 },
    );
    expect(refused).toBeGreaterThan(50);
    // the version that was active is still there to roll back to
    expect((await t.app.request(`/v1/rulesets/${active}/activate`, { method: 'POST', headers: admin })).status).toBe(
      200,
    );
  });

  it('random bodies and tokens from a public key never make a 5xx, and never name another customer', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc
        .record(
          {
            sub: fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), fc.jsonValue()),
            exp: fc.oneof(fc.integer({ min: now - 100, max: now + 200_000 }), fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map((claims) => sign(claims as never, SECRET, 'HS256')),
    );
    await fc.assert(
      fc.asyncProperty(token, json, fc.constantFrom('/v1/decisions', '/v1/responses'), async (tok, extra, path) => {
        const customerToken = await tok;
        const body =
          typeof extra === 'object' && extra !== null && !Array.isArray(extra)
            ? { ...extra, customerToken }
            : { customerToken, channel: 'web', extra };
        const res = await t.post(path, body, { authorization: `Bearer ${PUBLIC}` });
        expect(res.status, JSON.stringify(body).slice(0, 300)).toBeLessThan(500);
        if (res.status === 200) {
          const d = await res.json();
          expect(d.profile.valueSegment).toBeNull();
          expect(d.profile.lifecyclePhase).toBeNull();
        }
      }),
      { numRuns: 300 },
    );
  });
});
