import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleSchemas } from '../../src/rules/json-schema.js';
import { SHIPPED_RULES } from '../support/rules.js';

describe('editor JSON Schemas', () => {
  it('committed schemas match the zod schemas (run `nextbest rules schemas` after changing them)', async () => {
    for (const [file, text] of Object.entries(ruleSchemas())) {
      expect(await readFile(join(SHIPPED_RULES, 'schema', file), 'utf8'), file).toBe(text);
    }
  });

  it('every shipped rule file names its schema', async () => {
    const { readdir } = await import('node:fs/promises');
    const offers = (await readdir(join(SHIPPED_RULES, 'offers'))).map((f) => [
      `offers/${f}`,
      '../schema/offer.schema.json',
    ]);
    const journeys = (await readdir(join(SHIPPED_RULES, 'journeys'))).map((f) => [
      `journeys/${f}`,
      '../schema/journey.schema.json',
    ]);
    const files = [
      ['manifest.json', './schema/manifest.schema.json'],
      ['arbitration.json', './schema/arbitration.schema.json'],
      ['contact-policy.json', './schema/contact-policy.schema.json'],
      ...offers,
      ...journeys,
    ];
    for (const [file, schema] of files) {
      expect(JSON.parse(await readFile(join(SHIPPED_RULES, file!), 'utf8')).$schema, file).toBe(schema);
    }
  });
});
