import { describe, expect, it } from 'vitest';
import { describeTarget, redactUrl } from '../../src/redis/index.js';

// What reaches logs and messages about a Redis target: never its credentials.
describe('Redis targets in logs', () => {
  it('strips user and password from a URL', () => {
    expect(redactUrl('redis://app:s3cret@10.0.0.5:6380/2')).toBe('redis://10.0.0.5:6380/2');
    expect(redactUrl('rediss://:s3cret@cache.example.com')).toBe('rediss://cache.example.com');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('redis://%zz:s3cret@[bad')).not.toContain('s3cret');
  });

  it('names a Cluster by its seeds, not by the URL that carries its password', () => {
    expect(describeTarget({ url: 'redis://:s3cret@x', clusterNodes: ['10.0.0.1:7000', '10.0.0.2:7000'] })).toBe(
      'cluster 10.0.0.1:7000,10.0.0.2:7000',
    );
    expect(describeTarget({ url: 'redis://u:s3cret@10.0.0.1:7000' })).toBe('redis://10.0.0.1:7000');
  });
});
