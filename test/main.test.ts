import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, ROOT, run, startService } from './support/process.js';

// Real sockets, where the socket is the point: start, serve, drain on SIGTERM, refuse bad config.
describe('the service process', () => {
  it('starts on the embedded default, decides, and drains on SIGTERM with exit 0', async () => {
    const { child, base } = await startService();
    const res = await fetch(`${base}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'C0000001', channel: 'web' }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).offers.length).toBeGreaterThan(0);
    const big = await fetch(`${base}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'C0000001', channel: 'web', placement: 'x'.repeat(70_000) }),
    });
    expect(big.status).toBe(413);
    const chunked = await fetch(`${base}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
      body: new ReadableStream({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode(`{"customerId":"${'x'.repeat(70_000)}"}`));
          ctl.close();
        },
      }),
    } as RequestInit);
    expect(chunked.status).toBe(413);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('answers X-Request-Id on the socket: the caller’s, or a new one, on decisions, problems and the rest', async () => {
    const { child, base } = await startService();
    try {
      const decide = (headers: Record<string, string>, body: unknown) =>
        fetch(`${base}/v1/decisions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const own = await decide({ 'x-request-id': 'crm-4711' }, { customerId: 'C0000001', channel: 'web' });
      expect(own.status).toBe(200);
      expect(own.headers.get('x-request-id')).toBe('crm-4711');
      expect(own.headers.get('content-type')).toBe('application/json');
      const made = await decide({}, { customerId: 'C0000001', channel: 'web' });
      expect(made.headers.get('x-request-id')).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      const bad = await decide({ 'x-request-id': 'bad id' }, { customerId: 'C0000001', channel: 'fax' });
      expect(bad.status).toBe(400);
      expect((await bad.json()).requestId).toBe(bad.headers.get('x-request-id'));
      expect(bad.headers.get('x-request-id')).not.toBe('bad id');
      expect(
        (await fetch(`${base}/readyz`, { headers: { 'x-request-id': 'probe-1' } })).headers.get('x-request-id'),
      ).toBe('probe-1');
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });

  it('runs WORKERS=2 processes sharing the port', async () => {
    const { child, base, output } = await startService({ WORKERS: '2' });
    const deadline = Date.now() + 10_000;
    while ((output().match(/nextbest is serving/g) ?? []).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const pids = new Set([...output().matchAll(/"pid":(\d+)[^\n]*nextbest is serving/g)].map((m) => m[1]));
    expect(pids.size).toBe(2);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('stops at start with a message naming the invalid variable', async () => {
    const r = await run(['dist/main.js'], { PORT: 'abc' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PORT:');
  });

  it('stops at start on an invalid rule set, listing file:line:col', async () => {
    const r = await run(['dist/main.js'], { RULES_DIR: './test', PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RULES_DIR: .*\n.*manifest\.json:1:1: cannot read/);
  });

  it('preloads PROFILES_FILE written by nextbest demo-data', async () => {
    const file = join(tmpdir(), `nextbest-profiles-${process.pid}.ndjson`);
    const gen = await run(['bin/nextbest.js', 'demo-data', '--customers', '50', '--seed', '7', '--out', file]);
    expect(gen.code).toBe(0);
    const { child, base } = await startService({ PROFILES_FILE: file });
    const res = await fetch(`${base}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'C0000050', channel: 'call-center' }),
    });
    expect((await res.json()).profile.found).toBe(true);
    const beyond = await fetch(`${base}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'C0000051', channel: 'call-center' }),
    });
    expect((await beyond.json()).profile.found).toBe(false);
    child.kill('SIGTERM');
    await exited(child);
    await rm(file, { force: true });
  });

  it('never writes an API key to its log, even at trace level', async () => {
    const admin = 'admin-key-never-logged-0123456789';
    const decide = 'decide-key-never-logged-0123456789';
    const unknown = 'unknown-key-never-logged-0123456789';
    const rules = await mkdtemp(join(tmpdir(), 'nextbest-keylog-'));
    await cp(join(ROOT, 'rules'), rules, { recursive: true });
    const { child, base, output } = await startService({
      API_KEYS: `admin:${admin},decide:${decide}`,
      LOG_LEVEL: 'trace',
      RULES_DIR: rules,
      RULES_WATCH: 'false',
    });
    const call = (path: string, key: string, body?: string) =>
      fetch(`${base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
    expect((await call('/v1/decisions', decide, '{"customerId":"C0000001","channel":"web"}')).status).toBe(200);
    expect((await call('/v1/decisions', decide, '{"customerId":')).status).toBe(400);
    expect((await call('/v1/decisions', unknown, '{}')).status).toBe(401);
    expect((await call('/v1/profiles/C0000001', decide)).status).toBe(403);
    // an edit, so the reload activates a new version and is audited with who asked
    const manifest = join(rules, 'manifest.json');
    await writeFile(
      manifest,
      (await readFile(manifest, 'utf8')).replace(/"version": "[^"]+"/, '"version": "2099.1.0"'),
    );
    expect((await call('/v1/rulesets/reload', admin, '')).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    // the reload was audited under the key's fingerprint, never the key
    expect(output()).toMatch(/api admin key [0-9a-f]{8}/);
    for (const key of [admin, decide, unknown]) expect(output()).not.toContain(key);
    await rm(rules, { recursive: true, force: true });
  });

  it('warns at start when API_KEYS is unset', async () => {
    const { child, output } = await startService();
    child.kill('SIGTERM');
    await exited(child);
    expect(output()).toMatch(/"level":40[^\n]*API_KEYS is unset: every route is open/);
  });

  it('refuses a missing PROFILES_FILE', async () => {
    const r = await run(['dist/main.js'], { PROFILES_FILE: '/nonexistent/profiles.ndjson', PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PROFILES_FILE');
  });
});
