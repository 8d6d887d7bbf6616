/**
 * The tables of `nextbest rules validate|schemas|diff`: what their --help says and what their
 * options are parsed by (rules.ts).
 */
import type { CommandSpec } from './command.js';

export const RULES_VALIDATE = {
  name: 'rules validate',
  summary: 'check a rule set, or the set a rule file belongs to; errors and warnings as file:line:col',
  description:
    'Checks a rule set the way the service loads it: every error and warning as file:line:col, then a line that ' +
    'says whether it can be shipped. Exit 0 only without errors and within --max-warnings. RULES_MAX_* limits apply.',
  arguments: [
    {
      name: 'DIR|FILE',
      optional: true,
      default: './rules',
      help: 'the rule-set folder, or a rule file (an offer, a journey…): then its whole set is checked',
    },
  ],
  options: {
    json: { type: 'boolean', help: 'the result as one JSON document: valid, version, errors, warnings' },
    'max-warnings': {
      type: 'string',
      value: 'N',
      default: 'any number',
      help: 'more warnings than N fail the check too: exit 1',
    },
  },
  examples: ['rules validate rules', 'rules validate rules/offers/save-price-match.json --max-warnings 0'],
} as const satisfies CommandSpec;

export const RULES_SCHEMAS = {
  name: 'rules schemas',
  summary: "regenerate the editor JSON Schemas of a rule set's files",
  description: 'Writes DIR/schema/*.schema.json from the code, for editors to check rule files as they are typed.',
  arguments: [{ name: 'DIR', optional: true, default: './rules', help: 'the rule-set folder' }],
  options: {
    check: { type: 'boolean', help: 'write nothing; exit 1 when a schema is stale (for CI)' },
  },
  examples: ['rules schemas', 'rules schemas rules --check'],
} as const satisfies CommandSpec;

export const RULES_DIFF = {
  name: 'rules diff',
  summary: 'offers, journeys, weights, levers and contact policy changed from one rule set to another',
  description:
    "What changed from rule set A to rule set B: offers and journeys added, removed and changed (a journey's " +
    'steps named by their id), context weights, levers, learning and the contact policy, one change a line ' +
    'with its old and new value.',
  arguments: [
    { name: 'DIR_A', help: 'the rule set before' },
    { name: 'DIR_B', help: 'the rule set after' },
  ],
  options: {
    json: { type: 'boolean', help: 'the differences as one JSON document (values whole)' },
  },
  examples: ['rules diff rules ../next/rules'],
} as const satisfies CommandSpec;
