import { z } from 'zod';
import { Arbitration, ContactPolicy, Journey, Manifest, Offer } from './schema.js';

/** The JSON Schemas editors use (rules/schema/*.schema.json), generated from the zod schemas. */
const SCHEMAS = {
  'manifest.schema.json': {
    schema: Manifest,
    title: 'nextbest rule-set manifest',
    example: { version: '2026.11.0', channels: ['web', 'call-center'], defaultLimit: 3 },
  },
  'offer.schema.json': { schema: Offer, title: 'nextbest offer', example: undefined },
  'arbitration.schema.json': {
    schema: Arbitration,
    title: 'nextbest arbitration weights and levers',
    example: undefined,
  },
  'journey.schema.json': {
    schema: Journey,
    title: 'nextbest outbound journey',
    example: {
      id: 'winback',
      name: 'Win back former customers',
      entry: { all: [{ fact: 'lifecyclePhase', operator: 'equal', value: 'regain' }] },
      lengthWeeks: 26,
      steps: [
        { id: 'exit-survey', week: 0, channel: 'email', offer: 'end-exit-survey' },
        { id: 'reminder', after: 'exit-survey', noResponseDays: 14, channel: 'sms', bestOf: ['winback'] },
      ],
    },
  },
  'contact-policy.schema.json': {
    schema: ContactPolicy,
    title: 'nextbest contact policy',
    example: { channels: { web: { maxOffers: 4 } } },
  },
} as const;

export type SchemaFile = keyof typeof SCHEMAS;

export function ruleSchemas(): Record<SchemaFile, string> {
  const out = {} as Record<SchemaFile, string>;
  for (const [file, { schema, title, example }] of Object.entries(SCHEMAS) as [
    SchemaFile,
    (typeof SCHEMAS)[SchemaFile],
  ][]) {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
    const doc = { ...json, $id: `nextbest:${file}`, title, ...(example ? { examples: [example] } : {}) };
    out[file] = `${JSON.stringify(doc, null, 2)}\n`;
  }
  return out;
}
