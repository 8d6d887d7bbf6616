import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonSyntaxError } from '../../src/api/body.js';
import { fromZod } from '../../src/api/problem.js';
import { testApp } from '../support/app.js';

type App = Awaited<ReturnType<typeof testApp>>;

describe('validation problems say what is allowed', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.services.close());

  const problemOf = async (path: string, body: unknown, method = 'POST') => {
    const res = await t.app.request(path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    return res.json();
  };
  const messageAt = (problem: { errors: { path: string; message: string }[] }, path: string) =>
    problem.errors.find((e) => e.path === path)?.message;

  it('a context value that is an object: the kinds and length allowed, in errors and in detail', async () => {
    const problem = await problemOf('/v1/decisions', {
      customerId: 'C1',
      channel: 'web',
      context: { intent: { a: 1 } },
    });
    expect(problem.type).toBe('urn:nextbest:problem:invalid_request');
    expect(problem.errors).toEqual([
      {
        path: '/context/intent',
        message: 'a string, number or boolean (at most 256 characters) is allowed here, not an object',
      },
    ]);
    expect(problem.detail).toBe(
      'the request body has 1 problem: context.intent: a string, number or boolean (at most 256 characters) is allowed here, not an object',
    );
  });

  it('an enum value: the values allowed (through the OpenAPI validator)', async () => {
    const problem = await problemOf(
      '/v1/profiles/HELP-1',
      { valueSegment: 'gold', lifecyclePhase: 'loyalty', clv: 1, churnScore: 0.5 },
      'PUT',
    );
    expect(messageAt(problem, '/valueSegment')).toBe(
      'one of "super", "top", "middle" or "bottom" is allowed here, not "gold"',
    );
    expect(problem.detail).toContain('valueSegment: one of "super", "top", "middle" or "bottom" is allowed here');
  });

  it('unknown keys: the keys allowed', async () => {
    const decision = await problemOf('/v1/decisions', { customerId: 'C1', channel: 'web', chanel: 'web' });
    expect(messageAt(decision, '/')).toBe(
      'the key "chanel" is not allowed here; the allowed keys are customerId, channel, placement, context, limit, explain and interactionId',
    );
    const profile = await problemOf(
      '/v1/profiles/HELP-2',
      { valueSegment: 'top', lifecyclePhase: 'loyalty', clv: 1, churnScore: 0.5, colour: 'red' },
      'PUT',
    );
    expect(messageAt(profile, '/')).toMatch(
      /^the key "colour" is not allowed here; the allowed keys are customerId, .* and attributes$/,
    );
  });

  it('wrong types, missing fields, ranges and lengths: what is allowed, and what came', async () => {
    const problem = await problemOf('/v1/decisions', {
      channel: '',
      limit: 30,
      explain: 'yes',
      placement: 'p'.repeat(65),
      context: { 'bad-key': 1 },
    });
    expect(messageAt(problem, '/customerId')).toBe(
      'missing: a string (1-128 characters of A-Za-z0-9._:-) is required here',
    );
    expect(messageAt(problem, '/channel')).toBe('a string (1 to 32 characters) is allowed here, not an empty string');
    expect(messageAt(problem, '/limit')).toBe('an integer (from 1 to 20) is allowed here, not 30');
    expect(messageAt(problem, '/explain')).toBe('a boolean is allowed here, not "yes"');
    expect(messageAt(problem, '/placement')).toBe(
      'a string (1 to 64 characters) is allowed here, not a string of 65 characters',
    );
    expect(messageAt(problem, '/context/bad-key')).toBe(
      'the key "bad-key" is not allowed: keys are identifiers (A-Za-z0-9_, not starting with a digit)',
    );
    expect(problem.detail).toMatch(/^the request body has 6 problems: .*; and 3 more \(see errors\)$/);
  });

  it('without the schema, words what the issues say', () => {
    const schema = z
      .object({ n: z.number().max(5), kind: z.enum(['a', 'b']), v: z.union([z.string(), z.number()]) })
      .strict();
    const parsed = schema.safeParse({ n: 9, kind: 'c', v: {}, x: 1 });
    expect(parsed.success).toBe(false);
    const err = fromZod(parsed.error!);
    expect(err.errors!.map((e) => [e.path, e.message])).toEqual([
      ['/n', 'at most 5 is allowed here'],
      ['/kind', 'one of "a" or "b" is allowed here'],
      ['/v', 'a string or number is allowed here, not an object'],
      ['/', 'the key "x" is not allowed here'],
    ]);
    // a union of shapes that all fail inside the value: no "an object is allowed, not an object"
    const shapes = z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]);
    const input = { a: 1 };
    const deep = fromZod(shapes.safeParse(input).error!, 'request body', shapes, input);
    expect(deep.errors![0]!.message).not.toMatch(/allowed here/);
  });
});

describe('a body that is not JSON says where', () => {
  let t: App;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.services.close());

  const send = (path: string, body: string, method = 'POST') =>
    t.app.request(path, { method, headers: { 'content-type': 'application/json' }, body });

  it('malformed_json with the line and column, on the hot path and through the OpenAPI validator', async () => {
    const body = '{\n  "customerId": "C1",\n  "channel": "web",\n  }';
    for (const [method, path] of [
      ['POST', '/v1/decisions'],
      ['POST', '/v1/responses'],
      ['PUT', '/v1/profiles/JSON-1'],
    ] as const) {
      const res = await send(path, body, method);
      expect(res.status, path).toBe(400);
      const problem = await res.json();
      expect(problem.type, path).toBe('urn:nextbest:problem:malformed_json');
      expect(problem.detail, path).toBe(
        "the body is not valid JSON: line 4, column 3: a trailing comma: JSON has no ',' before '}'",
      );
      expect(problem.errors, path).toEqual([
        { path: '/', message: "line 4, column 3: a trailing comma: JSON has no ',' before '}'", line: 4, column: 3 },
      ]);
    }
  });

  // the scanner's own positions: the same whichever Node version's JSON.parse refused the text
  const cases: [string, string, number, number, RegExp][] = [
    ['a missing comma', '{"a": 1\n "b": 2}', 2, 2, /',' or '}' is expected after a property's value, not '"'/],
    ['single quotes', "{\n  'a': 1}", 2, 3, /property names take double quotes/],
    ['a single-quoted string', '{"a":\n\n    \'x\'}', 3, 5, /strings take double quotes/],
    ['an unclosed object', '{"a": [1, 2]', 1, 13, /the body ends inside an object: a '}' is missing/],
    ['an unclosed string', '{"a": "xyz', 1, 7, /a string starting here has no closing '"'/],
    ['a raw line break in a string', '{"a": "x\ny"}', 1, 9, /U\+000A inside a string/],
    ['a bad escape', '["\\x"]', 1, 3, /\\x is not an escape JSON knows/],
    ['a leading zero', '[01]', 1, 2, /a number does not start with 0/],
    ['a word', '{"a": True}', 1, 7, /True is not a JSON value/],
    ['two values', '{} {}', 1, 4, /after the end of the JSON value/],
    ['an empty body', '', 1, 1, /the body is empty/],
    ['a trailing comma in an array', '[1, 2,]', 1, 7, /no ',' before '\]'/],
    ['a missing colon', '{"a" 1}', 1, 6, /':' is expected after the property name, not '1'/],
    ['a column counted in characters', '{"é😀": x}', 1, 8, /x is not a JSON value/],
  ];
  it.each(cases)('%s', (_name, text, line, column, message) => {
    expect(() => JSON.parse(text)).toThrow();
    const at = jsonSyntaxError(text);
    expect(at).toMatchObject({ line, column });
    expect(at!.message).toMatch(message);
  });

  it('finds nothing wrong in JSON, however deep', () => {
    for (const text of ['{}', '[]', ' {"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]} ', '0', '"x"'])
      expect(jsonSyntaxError(text), text).toBeUndefined();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(jsonSyntaxError(deep)).toBeUndefined();
    expect(jsonSyntaxError(`${'['.repeat(100_000)}`)).toMatchObject({ line: 1, column: 100_001 });
  });
});
