import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type LoadResult, loadRuleSet, RULE_FILES, type RuleLimits } from '../rules/load.js';
import { formatIssue, type RuleIssue } from '../rules/positions.js';
import { versionOf } from '../rules/ruleset.js';
import type { Io } from './io.js';

export interface ValidateOptions {
  readonly json: boolean;
  /** more warnings than this fail the check too; undefined: any number */
  readonly maxWarnings: number | undefined;
}

/** The rule set's folders of one file each: a file in one of them belongs to the set above it. */
const FILE_FOLDERS: readonly string[] = [RULE_FILES.offers, RULE_FILES.journeys];

/**
 * The rule-set folder a path names: the folder itself, or, for a rule file (an offer, a
 * journey, the manifest…), the set it belongs to — a file is only valid with the rest of its set.
 */
async function ruleSetOf(target: string): Promise<{ dir: string; file?: string }> {
  const info = await stat(target).catch(() => undefined);
  if (!info?.isFile()) return { dir: target };
  const parent = dirname(target);
  const folder = basename(parent);
  return FILE_FOLDERS.includes(folder)
    ? { dir: dirname(parent), file: join(folder, basename(target)) }
    : { dir: parent, file: basename(target) };
}

/** A rule file's issue with its path as the caller wrote the folder: `my-rules/offers/x.json:3:5: …`. */
const located = (dir: string, issue: RuleIssue): RuleIssue => ({ ...issue, file: join(dir, issue.file) });

/**
 * Checks a rule set (or the set a rule file belongs to): every error and warning, then a line
 * that says whether it can be shipped. 0 only without errors and within `maxWarnings`.
 */
export async function validateRuleSet(
  target: string,
  limits: RuleLimits,
  options: ValidateOptions,
  io: Io,
): Promise<number> {
  const { dir, file } = await ruleSetOf(target);
  if (file !== undefined && !options.json)
    io.stderr.write(`${target} belongs to the rule set in ${dir}: checking the whole set\n`);
  const result: LoadResult = await loadRuleSet(dir, limits);
  const errors = result.ok ? [] : result.errors;
  const tooMany = options.maxWarnings !== undefined && result.warnings.length > options.maxWarnings;
  const passes = result.ok && !tooMany;
  if (options.json) {
    const version = result.ok ? versionOf(result.source.manifest, result.source.hash) : null;
    io.stdout.write(
      `${JSON.stringify({ valid: result.ok, passes, version, errors, warnings: result.warnings }, null, 2)}\n`,
    );
    return passes ? 0 : 1;
  }
  for (const issue of [...errors, ...result.warnings]) io.stdout.write(`${formatIssue(located(dir, issue))}\n`);
  const warned = `${result.warnings.length.toLocaleString('en-US')} warning${result.warnings.length === 1 ? '' : 's'}`;
  if (!result.ok) io.stderr.write(`${dir}: ${errors.length.toLocaleString('en-US')} error(s), ${warned}: not valid\n`);
  else if (tooMany) io.stderr.write(`${dir}: valid, but ${warned}, more than --max-warnings ${options.maxWarnings}\n`);
  else {
    const { manifest, hash, offers, journeys } = result.source;
    const counted = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
    io.stdout.write(
      `${dir}: valid, version ${versionOf(manifest, hash)}, ${counted(offers.length, 'offer')}, ${counted(journeys.length, 'journey')}, ${warned}\n`,
    );
  }
  return passes ? 0 : 1;
}
