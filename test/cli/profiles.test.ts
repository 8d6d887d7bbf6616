import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/process.js';
import { testPrefix, testRedis } from '../support/redis.js';

const good = (id: string) =>
  JSON.stringify({ customerId: id, valueSegment: 'middle', lifecyclePhase: 'new', clv: 300, churnScore: 0.3 });

// `nextbest profiles import` against a real redis-server.
describe('nextbest profiles import', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let r: Redis;
  let dir: string;
  const prefix = testPrefix('import');
  const env = () => ({ REDIS_KEY_PREFIX: prefix });

  beforeAll(async () => {
    redis = await testRedis();
    r = redis.client();
    dir = await mkdtemp(join(tmpdir(), 'nextbest-import-'));
  });
  afterAll(async () => {
    r?.disconnect();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads valid lines, reports each rejected line by number, exits 1', async () => {
    const file = join(dir, 'mixed.ndjson');
    await writeFile(
      file,
      [
        good('I-1'),
        '{"customerId":"I-2","valueSegment":"gold"',
        '',
        good('I-3'),
        '{"customerId":"I-4","valueSegment":"top","lifecyclePhase":"new","clv":-1,"churnScore":0.5}',
        good('I-5'),
      ].join('\n'),
    );
    const res = await run(['bin/nextbest.js', 'profiles', 'import', file, '--redis', redis.url], env());
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/imported 3 profiles in [\d.]+ s \([\d,]+ profiles\/s\); 2 lines rejected/);
    expect(res.stderr).toContain(`${file}:2: / invalid JSON`);
    expect(res.stderr).toMatch(new RegExp(`${file}:5: /clv .*>=0`));
    expect(
      await r.exists(
        `${prefix}{I-1}:profile`,
        `${prefix}{I-3}:profile`,
        `${prefix}{I-5}:profile`,
        `${prefix}{I-4}:profile`,
      ),
    ).toBe(3);
    expect(JSON.parse((await r.get(`${prefix}{I-3}:profile`))!)).toMatchObject({
      customerId: 'I-3',
      tenureDays: 0,
      productsHeld: [],
    });
  });

  it('exits 0 for a clean file, with a JSON report on request', async () => {
    const file = join(dir, 'clean.ndjson');
    await writeFile(file, `${Array.from({ length: 5000 }, (_, i) => good(`J-${i}`)).join('\n')}\n`);
    const res = await run(['bin/nextbest.js', 'profiles', 'import', file, '--json'], {
      ...env(),
      REDIS_URL: redis.url,
    });
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({ imported: 5000, rejectedLines: 0, rejected: [] });
    expect(report.profilesPerSecond).toBeGreaterThan(0);
    expect(await r.exists(`${prefix}{J-0}:profile`, `${prefix}{J-4999}:profile`)).toBe(2);
  });

  it('exits 1 with a clear message when Redis cannot be reached or the file cannot be read', async () => {
    const unreachable = await run([
      'bin/nextbest.js',
      'profiles',
      'import',
      join(dir, 'clean.ndjson'),
      '--redis',
      'redis://127.0.0.1:1',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
    const missing = await run([
      'bin/nextbest.js',
      'profiles',
      'import',
      join(dir, 'none.ndjson'),
      '--redis',
      redis.url,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*none\.ndjson: ENOENT/);
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [
      ['profiles'],
      ['profiles', 'import'],
      ['profiles', 'import', 'a', 'b'],
      ['profiles', 'import', 'a', '--bogus'],
      ['profiles', 'export'],
    ]) {
      const res = await run(['bin/nextbest.js', ...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain('usage:');
    }
    const badUrl = await run(['bin/nextbest.js', 'profiles', 'import', 'x.ndjson', '--redis', 'http://nope']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('REDIS_URL');
  });
});
