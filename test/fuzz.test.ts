import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;

/** Bodies near the valid shape break more code paths than uniformly random JSON. */
const nearlyValid = fc.record(
  {
    customerId: fc.oneof(fc.constantFrom('C0000001', 'nobody', ''), fc.string(), fc.integer(), fc.constant(null)),
    channel: fc.oneof(fc.constantFrom('web', 'call-center', 'fax'), fc.string(), fc.constant(null)),
    placement: fc.oneof(fc.string(), fc.integer()),
    context: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    limit: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.double(), fc.string()),
    explain: fc.oneof(fc.boolean(), fc.string()),
  },
  { requiredKeys: [] },
);

describe('no input makes a 5xx', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });

  it('random JSON posted to /v1/decisions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), nearlyValid), async (body) => {
        const res = await t.post('/v1/decisions', JSON.stringify(body));
        expect(res.status, JSON.stringify(body)).toBeLessThan(500);
        if (res.status !== 200) expect(res.headers.get('content-type')).toContain('application/problem+json');
      }),
      { numRuns: 800 },
    );
  });

  it('random text with random content types', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.constantFrom('application/json', 'text/plain', 'application/x-ndjson', ''),
        async (text, type) => {
          for (const path of ['/v1/decisions', '/v1/profiles/bulk']) {
            const res = await t.app.request(path, {
              method: 'POST',
              body: text,
              headers: type ? { 'content-type': type } : {},
            });
            expect(res.status, `${path} ${type} ${text}`).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random profiles PUT', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        const res = await t.app.request('/v1/profiles/F-1', {
          method: 'PUT',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});
