import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ruleSchemas } from '../rules/json-schema.js';
import { loadRuleSet } from '../rules/load.js';
import { formatIssue } from '../rules/positions.js';
import { versionOf } from '../rules/ruleset.js';
import type { Io } from './io.js';

const USAGE = `usage:
  nextbest rules validate [DIR] [--json]     check a rule set (default ./rules)
  nextbest rules schemas [DIR] [--check]     write DIR/schema/*.schema.json from the code (--check: fail if stale)`;

async function validate(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length > 1) return usage(io);
  const dir = positionals[0] ?? './rules';
  const result = await loadRuleSet(dir);
  const errors = result.ok ? [] : result.errors;
  if (values.json) {
    const version = result.ok ? versionOf(result.source.manifest, result.source.hash) : null;
    io.stdout.write(`${JSON.stringify({ valid: result.ok, version, errors, warnings: result.warnings }, null, 2)}\n`);
  } else {
    for (const issue of [...errors, ...result.warnings]) io.stdout.write(`${formatIssue(issue)}\n`);
    if (result.ok) io.stdout.write(`${dir}: valid, version ${versionOf(result.source.manifest, result.source.hash)}, ${result.source.offers.length} offers\n`);
    else io.stderr.write(`${dir}: ${errors.length} error(s)\n`);
  }
  return result.ok ? 0 : 1;
}

async function schemas(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { check: { type: 'boolean' } }, allowPositionals: true });
  const dir = join(positionals[0] ?? './rules', 'schema');
  let stale = 0;
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(ruleSchemas())) {
    const path = join(dir, file);
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current === text) continue;
    stale++;
    if (values.check) io.stderr.write(`${path} is stale: run nextbest rules schemas\n`);
    else {
      await writeFile(path, text);
      io.stdout.write(`wrote ${path}\n`);
    }
  }
  return values.check && stale > 0 ? 1 : 0;
}

function usage(io: Io): number {
  io.stderr.write(`${USAGE}\n`);
  return 2;
}

export async function runRules(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'validate') return await validate(rest, io);
    if (sub === 'schemas') return await schemas(rest, io);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`${(err as Error).message}\n`);
      return usage(io);
    }
    throw err;
  }
  return usage(io);
}
