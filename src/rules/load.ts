import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { FORBIDDEN_KEYS } from '../profiles/schema.js';
import { preciseIssues } from './issues.js';
import { knownValues, unknownValues } from './known-values.js';
import { lintRuleSet } from './lint.js';
import { checkJourney, outboundChannels } from './load-journeys.js';
import { type RuleIssue, SourceFile } from './positions.js';
import { Arbitration, ContactPolicy, Journey, Manifest, Offer } from './schema.js';
import { didYouMean, suggestion } from './suggest.js';

/** An offer or journey file's name: JSON, and not an editor's or a system's dot-file. */
export const isRuleFileName = (name: string): boolean => name.endsWith('.json') && !name.startsWith('.');

export const RULE_FILES = {
  manifest: 'manifest.json',
  arbitration: 'arbitration.json',
  contactPolicy: 'contact-policy.json',
  offers: 'offers',
  /** optional: a rule set without outbound journeys has no such folder */
  journeys: 'journeys',
} as const;

/** The validated content of a rule-set folder, before compilation. */
export interface RuleSetSource {
  readonly manifest: Manifest;
  readonly arbitration: Arbitration;
  readonly contactPolicy: ContactPolicy;
  readonly offers: readonly Offer[];
  /** in file-name order; empty when there is no journeys/ folder */
  readonly journeys: readonly Journey[];
  /** sha256 over every file's name and bytes: two folders with the same hash serve the same decisions */
  readonly hash: string;
}

export type LoadResult =
  | { readonly ok: true; readonly source: RuleSetSource; readonly warnings: readonly RuleIssue[] }
  | { readonly ok: false; readonly errors: readonly RuleIssue[]; readonly warnings: readonly RuleIssue[] };

interface RawFile {
  readonly name: string;
  readonly text: string;
}

/**
 * What a rule set may weigh, checked before a byte of it is parsed: a file or a set past these
 * is refused at once, naming the limit, so no upload can make the service parse for minutes.
 */
export interface RuleLimits {
  /** bytes per file */
  readonly fileBytes: number;
  /** bytes of every file together */
  readonly setBytes: number;
  /** offer files */
  readonly offers: number;
  /** conditions (comparisons of a fact with a value) of every offer together */
  readonly conditions: number;
  /** conditions of one offer's eligibility */
  readonly offerConditions: number;
}

const MB = 1024 * 1024;
export const DEFAULT_RULE_LIMITS: RuleLimits = {
  fileBytes: 1 * MB,
  setBytes: 10 * MB,
  offers: 5_000,
  conditions: 100_000,
  offerConditions: 1_000,
};

const megabytes = (bytes: number) => `${(bytes / MB).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;

/** Files stat'ed or read at a time: a catalogue of thousands of files is read in parallel, without running out of descriptors. */
const FILES_AT_ONCE = 64;

async function eachFile<T>(names: readonly string[], work: (name: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < names.length; i += FILES_AT_ONCE)
    out.push(...(await Promise.all(names.slice(i, i + FILES_AT_ONCE).map(work))));
  return out;
}

async function readRaw(
  dir: string,
  limits: RuleLimits,
): Promise<{ files: RawFile[]; errors: RuleIssue[]; overLimit: boolean }> {
  const errors: RuleIssue[] = [];
  const missing = (file: string, message: string) =>
    errors.push({ file, path: '/', line: 1, column: 1, message, severity: 'error' });
  const top: string[] = [RULE_FILES.manifest, RULE_FILES.arbitration, RULE_FILES.contactPolicy];
  const unreadable = (name: string) => (top.includes(name) ? `cannot read ${join(dir, name)}` : 'cannot read file');
  // editors leave dot-files beside the ones they edit (.#x.json, ._x.json): not offers
  const offerNames = await readdir(join(dir, RULE_FILES.offers)).then(
    (names) => names.filter(isRuleFileName).sort(),
    () => undefined,
  );
  // a missing journeys/ folder is a rule set without journeys; one that cannot be read is an error
  const journeyNames = await readdir(join(dir, RULE_FILES.journeys)).then(
    (names) => names.filter(isRuleFileName).sort(),
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : undefined),
  );
  const tooMany = offerNames !== undefined && offerNames.length > limits.offers;
  const inFolder = (folder: string, list: readonly string[] | undefined) => (list ?? []).map((n) => `${folder}/${n}`);
  const names = [
    ...top,
    ...(tooMany ? [] : inFolder(RULE_FILES.offers, offerNames)),
    ...(tooMany ? [] : inFolder(RULE_FILES.journeys, journeyNames)),
  ];
  // every size first: nothing is read unless the files are within the limits
  const sizes = await eachFile(names, (name) =>
    stat(join(dir, name)).then(
      (s) => s.size,
      () => undefined,
    ),
  );
  const within: string[] = [];
  let total = 0;
  let overLimit = tooMany;
  for (const [i, name] of names.entries()) {
    const size = sizes[i];
    if (size === undefined) missing(name, unreadable(name));
    else if (size > limits.fileBytes) {
      overLimit = true;
      missing(
        name,
        `the file is ${megabytes(size)}, over the limit of ${megabytes(limits.fileBytes)} a file (RULES_MAX_FILE_MB)`,
      );
    } else if ((total += size) > limits.setBytes) {
      overLimit = true;
      // past the set's limit the rest are not read: one error says why
      missing(
        name,
        `the rule set passes ${megabytes(limits.setBytes)} with this file, over its limit (RULES_MAX_SET_MB)`,
      );
      break;
    } else within.push(name);
  }
  // after the three at the top, as the files are named in order (there are no offer files then)
  if (offerNames === undefined) missing(RULE_FILES.offers, `cannot read the folder ${join(dir, RULE_FILES.offers)}`);
  if (journeyNames === undefined)
    missing(RULE_FILES.journeys, `cannot read the folder ${join(dir, RULE_FILES.journeys)}`);
  if (tooMany)
    missing(
      RULE_FILES.offers,
      `${offerNames!.length.toLocaleString('en-US')} offers, over the limit of ${limits.offers.toLocaleString('en-US')} a rule set (RULES_MAX_OFFERS)`,
    );
  if (overLimit) return { files: [], errors, overLimit };
  const texts = await eachFile(within, (name) =>
    readFile(join(dir, name), 'utf8').then(
      (text) => text,
      () => undefined,
    ),
  );
  const files: RawFile[] = [];
  for (const [i, name] of within.entries()) {
    const text = texts[i];
    if (text === undefined) missing(name, unreadable(name));
    else files.push({ name, text });
  }
  return { files, errors, overLimit };
}

function forbiddenKeys(src: SourceFile, pointers: readonly string[]): RuleIssue[] {
  return pointers
    .filter((p) => p.split('/').some((part) => FORBIDDEN_KEYS.has(part)))
    .map((p) => src.issue(p.split('/').slice(1), `forbidden property name in "${p}"`));
}

/** The comparisons in a parsed condition tree (objects naming a `fact`), counted before it is validated. */
function countConditions(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countConditions(v), 0);
  if (value === null || typeof value !== 'object') return 0;
  if (Object.hasOwn(value, 'fact')) return 1;
  let n = 0;
  for (const v of Object.values(value)) n += countConditions(v);
  return n;
}

/** What a file's top level is, in words. */
function rootNoun(file: string): string {
  if (file === RULE_FILES.manifest) return 'the manifest';
  if (file === RULE_FILES.contactPolicy) return 'the contact policy';
  if (file === RULE_FILES.arbitration) return 'the arbitration file';
  if (file.startsWith(`${RULE_FILES.journeys}/`)) return 'the journey';
  return 'the offer';
}

/** A place in a rule file, in the words of the people who write them: "the call-center treatment". */
function inWords(file: string, path: readonly PropertyKey[]): string {
  if (path.length === 0) return rootNoun(file);
  if (path[0] === 'treatments' && path.length === 2) return `the ${String(path[1])} treatment`;
  if (path[0] === 'steps' && path.length === 2 && typeof path[1] === 'number') return `step ${path[1] + 1}`;
  if (path[0] === 'outbound' && path[1] === 'channels' && path.length === 3)
    return `the ${String(path[2])} outbound channel`;
  return `"${path.join('.')}"`;
}

/** The parts of a zod schema that say what lies below it. */
interface SchemaNode {
  readonly shape?: Record<string, unknown>;
  readonly _zod?: {
    readonly def?: {
      readonly type?: string;
      readonly innerType?: unknown;
      readonly valueType?: unknown;
      readonly element?: unknown;
    };
  };
}

/** The schema inside optional, default and the like. */
function unwrapped(schema: unknown): SchemaNode | undefined {
  let s = schema as SchemaNode | undefined;
  while (s?._zod?.def?.innerType !== undefined) s = s._zod.def.innerType as SchemaNode;
  return s;
}

/** The schema of the value at `key` below `schema`: an object's field, a record's value, an array's item. */
function childOf(schema: unknown, key: PropertyKey): unknown {
  const s = unwrapped(schema);
  const def = s?._zod?.def;
  if (s?.shape && typeof key === 'string') return Object.hasOwn(s.shape, key) ? s.shape[key] : undefined;
  if (def?.type === 'record') return def.valueType;
  if (def?.type === 'array' && typeof key === 'number') return def.element;
  return undefined;
}

/** The keys an object schema allows, where the schema at `path` is an object (else none). */
function keysAt(schema: z.ZodTypeAny, path: readonly PropertyKey[]): string[] {
  const shape = unwrapped(path.reduce<unknown>(childOf, schema))?.shape;
  return shape ? Object.keys(shape) : [];
}

function check<S extends z.ZodTypeAny>(src: SourceFile, schema: S, errors: RuleIssue[]): z.output<S> | undefined {
  const bad = forbiddenKeys(src, src.pointerList());
  if (bad.length > 0) {
    errors.push(...bad);
    return undefined;
  }
  const parsed = schema.safeParse(src.data);
  if (parsed.success) return parsed.data;
  const issues = preciseIssues(parsed.error.issues, src.data);
  const parentOf = (path: readonly PropertyKey[]) => path.slice(0, -1).join('\0');
  // a key that is missing where an unknown one stands near it: one mistake, said once, at the unknown key
  const missing = issues.filter(
    ({ issue }) => issue.code === 'invalid_type' && /received undefined/.test(issue.message),
  );
  /** the missing key an unknown one was meant to be, by the unknown key's path */
  const meant = new Map<string, string>();
  for (const { path, issue } of issues)
    if (issue.code === 'unrecognized_keys')
      for (const key of issue.keys) {
        const absent = missing.filter((m) => parentOf(m.path) === path.join('\0')).map((m) => String(m.path.at(-1)));
        const near = didYouMean(key, absent);
        if (near !== undefined) meant.set([...path, key].join('\0'), near);
      }
  const misspelt = new Set([...meant].map(([unknown, near]) => `${parentOf(unknown.split('\0'))}\0${near}`));
  for (const { path, issue, message } of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = meant.get([...path, key].join('\0')) ?? didYouMean(key, keysAt(schema, path));
        errors.push(
          src.issue(
            [...path, key],
            `"${key}" is not a field of ${inWords(src.file, path)}${near === undefined ? '' : `; did you mean "${near}"?`}`,
            'error',
            'key',
          ),
        );
      }
    } else if (missing.some((m) => m.issue === issue)) {
      if (misspelt.has(`${parentOf(path)}\0${String(path.at(-1))}`)) continue;
      errors.push(src.issue(path, `${inWords(src.file, path.slice(0, -1))} has no "${String(path.at(-1))}"`));
    } else {
      // an unknown key is shown where the key stands, everything else at the value
      errors.push(src.issue(path, `${path.length ? path.join('.') : 'file'}: ${message}`));
    }
  }
  return undefined;
}

/** Reads and validates a rule-set folder; every problem is reported, not just the first. */
export async function loadRuleSet(dir: string, limits: RuleLimits = DEFAULT_RULE_LIMITS): Promise<LoadResult> {
  const { files, errors, overLimit } = await readRaw(dir, limits);
  // a set past a limit is refused at once: not a byte of it parsed
  if (overLimit) return { ok: false, errors, warnings: [] };
  const warnings: RuleIssue[] = [];
  const hash = createHash('sha256');
  const parsed = new Map<string, SourceFile>();
  for (const f of files) {
    hash.update(f.name).update('\0').update(f.text).update('\0');
    const src = SourceFile.parse(f.name, f.text);
    if (src instanceof SourceFile) parsed.set(f.name, src);
    else errors.push(src);
  }
  const get = <S extends z.ZodTypeAny>(name: string, schema: S) => {
    const src = parsed.get(name);
    return src ? check(src, schema, errors) : undefined;
  };
  const manifest = get(RULE_FILES.manifest, Manifest);
  const arbitration = get(RULE_FILES.arbitration, Arbitration);
  const contactPolicy = get(RULE_FILES.contactPolicy, ContactPolicy);
  const offers: Offer[] = [];
  const offerFiles = new Map<string, SourceFile>();
  const journeys: Journey[] = [];
  const journeyFiles = new Map<string, SourceFile>();
  let conditions = 0;
  /** Counts a file's conditions (from the parsed JSON, before the schema or the compiler walks them): an error past a limit. */
  const tooManyConditions = (src: SourceFile, field: 'eligibility' | 'entry', what: 'offer' | 'journey'): boolean => {
    const count = countConditions((src.data as Record<string, unknown> | null)?.[field]);
    const over =
      count > limits.offerConditions
        ? `${field} has ${count.toLocaleString('en-US')} conditions, over the limit of ${limits.offerConditions.toLocaleString('en-US')} ${what === 'offer' ? 'an offer' : 'a journey'} (RULES_MAX_OFFER_CONDITIONS)`
        : conditions + count > limits.conditions
          ? `the rule set passes ${limits.conditions.toLocaleString('en-US')} conditions with this ${what}, over its limit (RULES_MAX_CONDITIONS)`
          : undefined;
    conditions += count;
    if (over) errors.push(src.issue([field], over));
    return over !== undefined;
  };
  for (const [name, src] of parsed) {
    const folder = name.startsWith(`${RULE_FILES.offers}/`)
      ? RULE_FILES.offers
      : name.startsWith(`${RULE_FILES.journeys}/`)
        ? RULE_FILES.journeys
        : undefined;
    // past the set's limit the rest are not checked: one error says why
    if (folder === undefined || conditions > limits.conditions) continue;
    const expected = name.slice(folder.length + 1, -'.json'.length);
    const idMatches = (id: string) => {
      if (id !== expected) errors.push(src.issue(['id'], `id "${id}" must match the file name "${expected}.json"`));
    };
    if (folder === RULE_FILES.offers) {
      if (tooManyConditions(src, 'eligibility', 'offer')) continue;
      const offer = check(src, Offer, errors);
      if (!offer) continue;
      idMatches(offer.id);
      offers.push(offer);
      offerFiles.set(offer.id, src);
    } else {
      if (tooManyConditions(src, 'entry', 'journey')) continue;
      const journey = check(src, Journey, errors);
      if (!journey) continue;
      idMatches(journey.id);
      journeys.push(journey);
      journeyFiles.set(journey.id, src);
    }
  }
  if (offerFiles.size === 0 && !errors.some((e) => e.file === RULE_FILES.offers)) {
    errors.push({
      file: RULE_FILES.offers,
      path: '/',
      line: 1,
      column: 1,
      message: 'the rule set has no offers',
      severity: 'error',
    });
  }
  if (manifest && arbitration && contactPolicy && errors.length === 0) {
    const files = { parsed, offers: offerFiles, journeys: journeyFiles };
    crossCheck({ manifest, arbitration, contactPolicy, offers, journeys }, files, errors);
    // lint only what is valid: warnings about a broken rule set would be noise
    if (errors.length === 0)
      warnings.push(
        ...lintRuleSet(
          { manifest, contactPolicy, offers, journeys },
          {
            offers: offerFiles,
            journeys: journeyFiles,
            contactPolicy: parsed.get(RULE_FILES.contactPolicy)!,
            manifest: parsed.get(RULE_FILES.manifest)!,
          },
        ),
      );
  }
  if (errors.length > 0 || !manifest || !arbitration || !contactPolicy) return { ok: false, errors, warnings };
  return {
    ok: true,
    source: { manifest, arbitration, contactPolicy, offers, journeys, hash: hash.digest('hex') },
    warnings,
  };
}

interface SetFiles {
  readonly parsed: ReadonlyMap<string, SourceFile>;
  readonly offers: ReadonlyMap<string, SourceFile>;
  readonly journeys: ReadonlyMap<string, SourceFile>;
}

/**
 * References between files: channels declared (inbound or outbound), offers named by levers,
 * policy rules and journeys exist, a fallback per inbound channel.
 */
function crossCheck(rs: Omit<RuleSetSource, 'hash'>, files: SetFiles, errors: RuleIssue[]): void {
  const { parsed } = files;
  const outbound = outboundChannels(rs.manifest);
  const declared = [...rs.manifest.channels, ...outbound];
  const channels = new Set(declared);
  const offerIds = new Set(rs.offers.map((o) => o.id));
  const known = knownValues(declared);
  const manifest = parsed.get(RULE_FILES.manifest)!;
  for (const channel of outbound)
    if (rs.manifest.channels.includes(channel))
      errors.push(
        manifest.issue(
          ['outbound', 'channels', channel],
          `outbound channel "${channel}" is also in "channels": a channel answers requests or sends, not both`,
          'error',
          'key',
        ),
      );
  for (const offer of rs.offers) {
    const src = files.offers.get(offer.id)!;
    unknownValues(offer.eligibility, ['eligibility'], known, src, errors);
    for (const channel of Object.keys(offer.treatments)) {
      if (!channels.has(channel))
        errors.push(
          src.issue(
            ['treatments', channel],
            `channel "${channel}" is not declared in ${RULE_FILES.manifest}${suggestion(channel, declared)}`,
          ),
        );
    }
  }
  const control = rs.manifest.controlGroup?.offers;
  for (const channel of typeof control === 'object' ? Object.keys(control) : [])
    if (!channels.has(channel))
      errors.push(
        parsed
          .get(RULE_FILES.manifest)!
          .issue(
            ['controlGroup', 'offers', channel],
            `channel "${channel}" is not declared in channels or outbound${suggestion(channel, declared)}`,
          ),
      );
  const policy = parsed.get(RULE_FILES.contactPolicy)!;
  for (const channel of Object.keys(rs.contactPolicy.channels)) {
    if (!channels.has(channel))
      errors.push(
        policy.issue(
          ['channels', channel],
          `channel "${channel}" is not declared in ${RULE_FILES.manifest}${suggestion(channel, declared)}`,
        ),
      );
  }
  rs.contactPolicy.rules.forEach((rule, i) => {
    (rule.offers ?? []).forEach((id, j) => {
      if (!offerIds.has(id)) errors.push(policy.issue(['rules', i, 'offers', j], `unknown offer "${id}"`));
    });
    if (rule.type === 'suppressAfter')
      (rule.of?.offers ?? []).forEach((id, j) => {
        if (!offerIds.has(id)) errors.push(policy.issue(['rules', i, 'of', 'offers', j], `unknown offer "${id}"`));
      });
    for (const channel of rule.channel === undefined ? [] : [rule.channel].flat()) {
      if (!channels.has(channel))
        errors.push(
          policy.issue(
            ['rules', i, 'channel'],
            `channel "${channel}" is not declared in ${RULE_FILES.manifest}${suggestion(channel, declared)}`,
          ),
        );
    }
  });
  const arb = parsed.get(RULE_FILES.arbitration)!;
  for (const list of ['contextWeights', 'levers'] as const) {
    rs.arbitration[list].forEach((entry, i) => {
      for (const id of Object.keys(entry.offers ?? {})) {
        if (!offerIds.has(id)) errors.push(arb.issue([list, i, 'offers', id], `unknown offer "${id}"`));
      }
      const when = entry.when?.channel;
      for (const channel of when === undefined ? [] : [when].flat()) {
        if (!channels.has(channel))
          errors.push(
            arb.issue(
              [list, i, 'when', 'channel'],
              `channel "${channel}" is not declared in ${RULE_FILES.manifest}${suggestion(channel, declared)}`,
            ),
          );
      }
    });
  }
  for (const channel of Object.keys(rs.arbitration.learning.positive)) {
    if (!channels.has(channel))
      errors.push(
        arb.issue(
          ['learning', 'positive', channel],
          `channel "${channel}" is not declared in ${RULE_FILES.manifest}${suggestion(channel, declared)}`,
        ),
      );
  }
  // a request from an unknown customer needs an answer; a journey only sends to known ones
  for (const channel of rs.manifest.channels) {
    if (!rs.offers.some((o) => o.fallback && Object.hasOwn(o.treatments, channel))) {
      errors.push(manifest.issue(['channels'], `channel "${channel}" has no fallback offer for unknown customers`));
    }
  }
  const context = { manifest: rs.manifest, offers: new Map(rs.offers.map((o) => [o.id, o])), known };
  for (const journey of rs.journeys) checkJourney(journey, context, files.journeys.get(journey.id)!, errors);
}
