import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../support/process.js';
import { SHIPPED_RULES } from '../support/rules.js';

describe('nextbest command line', () => {
  it('rules validate: 0 for the shipped rules', async () => {
    const r = await run(['bin/nextbest.js', 'rules', 'validate', 'rules']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid, version 2026\.11\.0\+[0-9a-f]{8}/);
  });

  it('rules validate: 1 with file:line:col for a broken rule set, also as JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nextbest-cli-'));
    await cp(SHIPPED_RULES, dir, { recursive: true });
    await writeFile(join(dir, 'manifest.json'), '{\n  "version": "1",\n  "channels": []\n}\n');
    const r = await run(['bin/nextbest.js', 'rules', 'validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('manifest.json:3:15: channels: Too small');
    const j = await run(['bin/nextbest.js', 'rules', 'validate', dir, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).errors[0]).toMatchObject({ file: 'manifest.json', line: 3, column: 15 });
    await rm(dir, { recursive: true, force: true });
  });

  it('usage errors exit 2', async () => {
    expect((await run(['bin/nextbest.js', 'rules', 'validate', '--nope'])).code).toBe(2);
    expect((await run(['bin/nextbest.js', 'frobnicate'])).code).toBe(2);
    expect((await run(['bin/nextbest.js', 'demo-data', '--customers', 'many'])).code).toBe(2);
  });

  it('rules schemas --check passes on the committed schemas', async () => {
    expect((await run(['bin/nextbest.js', 'rules', 'schemas', '--check'])).code).toBe(0);
  });
});
