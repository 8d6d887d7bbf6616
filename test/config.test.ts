import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { problemsOf } from './support/config.js';

describe('configuration', () => {
  it('has the contract defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      RULES_DIR: './rules',
      PROFILE_STORE: 'memory',
      REDIS_URL: 'redis://127.0.0.1:6379',
      WORKERS: 1,
      workers: 1,
      LOG_LEVEL: 'info',
    });
    expect(c.API_KEYS).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable of every invalid value', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      WORKERS: '-1',
      PROFILE_STORE: 'disk',
      REDIS_URL: 'http://x',
    });
    for (const name of ['PORT', 'LOG_LEVEL', 'WORKERS', 'PROFILE_STORE', 'REDIS_URL']) {
      expect(
        problems.some((p) => p.startsWith(`${name}:`)),
        name,
      ).toBe(true);
    }
  });

  it('parses API keys by scope and refuses malformed pairs', () => {
    const c = loadConfig({ API_KEYS: 'decide:abcdefghijklmnop1, admin:abcdefghijklmnop2' });
    expect([...c.API_KEYS!.entries()]).toEqual([
      ['abcdefghijklmnop1', 'decide'],
      ['abcdefghijklmnop2', 'admin'],
    ]);
    expect(problemsOf({ API_KEYS: 'root:abcdefghijklmnop1' })[0]).toMatch(/^API_KEYS:/);
    expect(problemsOf({ API_KEYS: 'decide:short' })[0]).toMatch(/^API_KEYS:/);
  });

  it('refuses keys that could never work, naming the entry but not the whole key', () => {
    const cases: [string, RegExp][] = [
      [
        'decide:abcdefgh ijklmnop1',
        /entry 1 \(decide:abcd…, 18 characters\): a key holds printable ASCII characters only, no spaces/,
      ],
      [
        'admin:abcdefghijklmnop2,decide:kéy-with-an-accent-1',
        /entry 2 \(decide:kéy-…, 20 characters\): a key holds printable ASCII/,
      ],
      ['decide:abcdefghijklmnop\t1', /entry 1 .*printable ASCII/],
      [
        'admin:abcdefghijklmnop3,decide:abcdefghijklmnop3',
        /entry 2 \(decide:abcd…, 17 characters\): the same key as entry 1 \(admin\); a key has one scope/,
      ],
    ];
    for (const [keys, message] of cases) {
      const problems = problemsOf({ API_KEYS: keys });
      expect(problems[0], keys).toMatch(/^API_KEYS: /);
      expect(problems[0], keys).toMatch(message);
      for (const key of keys.split(',').map((p) => p.slice(p.indexOf(':') + 1))) expect(problems[0]).not.toContain(key);
    }
    // the same key twice with the same scope is one key
    expect([...loadConfig({ API_KEYS: 'admin:abcdefghijklmnop4,admin:abcdefghijklmnop4' }).API_KEYS!]).toEqual([
      ['abcdefghijklmnop4', 'admin'],
    ]);
  });

  it('checks origins, cluster nodes and the token secret', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://shop.example.com,http://localhost:3000' }).CORS_ORIGINS).toEqual([
      'https://shop.example.com',
      'http://localhost:3000',
    ]);
    expect(problemsOf({ CORS_ORIGINS: 'shop.example.com' })[0]).toMatch(/^CORS_ORIGINS:/);
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' }).REDIS_CLUSTER_NODES).toEqual([
      '10.0.0.1:7000',
      '10.0.0.2:7001',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'nohost' })[0]).toMatch(/^REDIS_CLUSTER_NODES:/);
    expect(problemsOf({ REDIS_CLUSTER_NODES: '10.0.0.1:70000' })[0]).toMatch(
      /^REDIS_CLUSTER_NODES: a port from 0 to 65535/,
    );
    expect(problemsOf({ CUSTOMER_TOKEN_SECRET: 'short' })[0]).toMatch(/^CUSTOMER_TOKEN_SECRET:/);
  });

  it('WORKERS=0 means one per core; empty strings count as unset', () => {
    expect(loadConfig({ WORKERS: '0' }).workers).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ PORT: '' }).PORT).toBe(8080);
  });

  it('takes the redis settings, and refuses a preload file with the redis store', () => {
    const c = loadConfig({
      PROFILE_STORE: 'redis',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000',
      REDIS_DEADLINE_MS: '20',
    });
    expect(c).toMatchObject({
      PROFILE_STORE: 'redis',
      REDIS_CLUSTER_NODES: ['10.0.0.1:7000', '10.0.0.2:7000'],
      REDIS_DEADLINE_MS: 20,
      REDIS_KEY_PREFIX: 'nb:',
    });
    expect(problemsOf({ PROFILE_STORE: 'redis', PROFILES_FILE: 'p.ndjson' })[0]).toMatch(
      /^PROFILES_FILE:.*profiles import/,
    );
    expect(problemsOf({ REDIS_DEADLINE_MS: '0' })[0]).toMatch(/^REDIS_DEADLINE_MS:/);
    expect(problemsOf({ REDIS_KEY_PREFIX: 'a{b}' })[0]).toMatch(/^REDIS_KEY_PREFIX:/);
  });

  it('WORKERS defaults to every core in production with Redis, to one in development and with the memory store', () => {
    const cores = availableParallelism();
    expect(loadConfig({ NODE_ENV: 'production', PROFILE_STORE: 'redis' })).toMatchObject({
      WORKERS: 0,
      workers: cores,
    });
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ WORKERS: 1, workers: 1 });
    expect(loadConfig({ PROFILE_STORE: 'redis' })).toMatchObject({ WORKERS: 1, workers: 1 });
    expect(loadConfig({ NODE_ENV: 'development', PROFILE_STORE: 'redis' }).workers).toBe(1);
    // set, it is taken as set, in production too
    expect(loadConfig({ NODE_ENV: 'production', PROFILE_STORE: 'redis', WORKERS: '1' }).workers).toBe(1);
    expect(loadConfig({ NODE_ENV: 'production', WORKERS: '2' }).workers).toBe(2);
  });
});
