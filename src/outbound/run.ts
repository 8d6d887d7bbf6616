import { readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type ContactState, EMPTY_CONTACTS } from '../contacts/state.js';
import type { ContactStore, OutboundWrite } from '../contacts/store.js';
import type { Decision } from '../decision/types.js';
import type { DecisionLog } from '../decision-log/store.js';
import type { PropensityModel } from '../learning/model.js';
import type { Profile } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSet } from '../rules/index.js';
import { type Allocation, type AllocationInput, allocate } from './allocate.js';
import { type CustomerWeek, decideCustomer, decideOn, type RunContext, withoutExploration } from './customer.js';
import { entryOf, type RunDecision, RunFiles, type RunSink } from './files.js';
import { HELD_OUT_OFFER, sendFields, sentAt } from './journeys.js';
import { type AllocationSummary, type RunOwner, type RunRecord, type RunRecords, RunRefused } from './records.js';

export { RunRefused } from './records.js';

import { parseWeek, type Week } from './week.js';

/** What a run reads customers from: a store, or a file read again for the second pass. */
export type RunProfiles = Pick<ProfileStore, 'scan' | 'size'> & Partial<Pick<ProfileStore, 'get' | 'peek'>>;
/** What a run reads and writes of contact state. */
export type RunContacts = Pick<ContactStore, 'readMany' | 'send'>;

/** The stores a run reads customers from and writes contacts to: the service's own, or those a command opens. */
export interface RunStores {
  readonly profiles: RunProfiles;
  readonly contacts: RunContacts;
  /**
   * The profiles come back in the same order at every scan (a file): the second pass reads them
   * again in that order instead of looking each up by ID, and checkpoints by position
   */
  readonly rescan?: boolean;
  /** the service's decision log, told of every decision besides the run's decisions.ndjson */
  readonly decisionLog?: DecisionLog;
  /** told of every decision written, as the service tells its tallies of inbound ones */
  readonly onDecision?: (decision: Decision) => void;
}

export interface RunRequest {
  readonly week: Week;
  readonly ruleset: RuleSet;
  readonly model: PropensityModel;
  /** outbound channels to decide (default: all the rule set declares) */
  readonly channels?: readonly string[];
  /** contacts per channel for this run, over the rule set's capacities */
  readonly capacity?: Readonly<Record<string, number>>;
  /** the run's folder: a CSV per channel, decisions.ndjson */
  readonly dir: string;
  /** where the decisions go instead of the folder's files (a simulation) */
  readonly sink?: RunSink;
  /** told of every customer decided in the first pass: what a simulation tallies */
  readonly onCustomer?: (week: CustomerWeek, profile: Profile) => void;
  readonly records: RunRecords;
  readonly runId?: string;
  /** customers read and written at a time (default 1 000) */
  readonly batchSize?: number;
  /** lets other work in between batches: a run inside the service */
  readonly pause?: () => Promise<void>;
  /** the allocation, where it may run elsewhere (a worker thread); by default here */
  readonly allocate?: (input: AllocationInput) => Promise<Allocation>;
  /** told of every saved record: progress */
  readonly onRecord?: (record: RunRecord) => void;
  /**
   * What the run reads that its stores do not say (a profile file's size and time, the state it
   * goes on from): a stopped run resumes only with the same, or its checkpoint would mean other customers
   */
  readonly inputs?: string;
  /** done before the record says done: what else the run leaves (a state file) is then complete */
  readonly beforeDone?: () => Promise<void>;
  readonly now?: () => number;
}

/**
 * Why a record's run is taken to be under way elsewhere, or undefined: running, saved within
 * STALE_MS, and its process (on this host: known for certain) still there.
 */
export function underWay(record: RunRecord, now: number): string | undefined {
  const moved = now - Date.parse(record.updatedAt);
  if (record.status !== 'running' || !(moved < STALE_MS) || (record.owner && !running(record.owner))) return undefined;
  return `week ${record.week} is being run by another process (its record moved ${Math.round(moved / 1000)} s ago); a run that stopped can be resumed ${STALE_MS / 1000} s after its last move`;
}

/** Whether the process a record names still runs: known for certain on its own host only. */
function running(owner: RunOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a run ended early: the service stopped; asked again, it resumes from its checkpoint. */
export const STOPPED = 'the service stopped: the run resumes from its checkpoint when asked again';

const DEFAULT_BATCH = 1_000;
/** A record saved this recently while running belongs to a run under way; older, to one that stopped. */
export const STALE_MS = 30_000;
/** How often a run's record is saved whatever it is doing: well within STALE_MS. */
const HEARTBEAT_MS = 5_000;
/** A due step's contact worth nothing still goes out when the channel has room: it ranks last. */
const LEAST_SCORE = 1e-9;
/** The run record is saved at most this often while writing (and at every phase change). */
const SAVE_EVERY_MS = 250;

interface Candidates {
  ids: string[];
  customer: Uint32Array;
  channel: Uint8Array;
  score: Float64Array;
  n: number;
  /** per channel: contacts already written by this run before it stopped (a resumed run) */
  used: number[];
  unread: number;
  /** profiles listed again (a file's repeated line, a Redis SCAN's repeat): the first is the one decided */
  duplicates: number;
  /** customers a later week's run already wrote: a week is not run after the one that follows it */
  later: number;
  scanned: number;
}

function grow(c: Candidates): void {
  const size = c.customer.length * 2;
  const customer = new Uint32Array(size);
  customer.set(c.customer);
  const channel = new Uint8Array(size);
  channel.set(c.channel);
  const score = new Float64Array(size);
  score.set(c.score);
  Object.assign(c, { customer, channel, score });
}

function checkRequest(req: RunRequest): { channels: string[]; capacity: Record<string, number> } {
  const declared = [...req.ruleset.outbound.channels.keys()];
  if (declared.length === 0) throw new RunRefused('the rule set declares no outbound channels (manifest "outbound")');
  const channels = req.channels ? [...new Set(req.channels)] : declared;
  const unknown = channels.filter((c) => !req.ruleset.outbound.channels.has(c));
  if (unknown.length > 0)
    throw new RunRefused(
      `not an outbound channel of the rule set: ${unknown.join(', ')} (it has ${declared.join(', ')})`,
    );
  const capacity: Record<string, number> = {};
  for (const [c, n] of Object.entries(req.capacity ?? {})) {
    if (!channels.includes(c)) throw new RunRefused(`capacity for "${c}", which this run does not decide`);
    if (!Number.isInteger(n) || n < 0) throw new RunRefused(`capacity for "${c}" must be a whole number ≥ 0`);
    capacity[c] = n;
  }
  // the rule set's order, whatever order they were asked in: the same run, the same files
  return { channels: declared.filter((c) => channels.includes(c)), capacity };
}

/**
 * One week's outbound run: every customer's journeys moved on and their due steps decided by
 * the inbound engine (pass 1, nothing written), the contacts allocated under channel capacity,
 * then written customer by customer in ID order (pass 2): lines to the files first, then the
 * contacts and journey state to the store in one write per customer, marked with the week so
 * no customer is written twice. A finished week answers its record again; a stopped one resumes
 * from its checkpoint.
 */
export async function runWeek(stores: RunStores, req: RunRequest): Promise<RunRecord> {
  const now = req.now ?? Date.now;
  const { week, ruleset, records } = req;
  const prior = await records.load(week.key);
  if (prior?.status === 'done') return prior;
  const busy = prior && underWay(prior, now());
  if (busy) throw new RunRefused(busy);
  const resumed = prior?.checkpoint ? prior : undefined;
  if (resumed && resumed.rulesetVersion !== ruleset.version)
    throw new RunRefused(
      `week ${week.key} was started with rule set ${resumed.rulesetVersion} and the active one is ${ruleset.version}: resume it with that version, or run the week into a new folder`,
    );
  if (resumed && (resumed.inputs ?? '') !== (req.inputs ?? ''))
    throw new RunRefused(
      `week ${week.key} was started from ${resumed.inputs || 'other inputs'}; resume it from the same (now ${req.inputs || 'none'}), or run the week into a new folder`,
    );
  const { channels, capacity } = resumed
    ? { channels: [...resumed.channels], capacity: { ...resumed.capacity } }
    : checkRequest(req);
  const files = req.sink ?? (await RunFiles.open(req.dir, ruleset, channels, resumed?.checkpoint?.files));
  const at = new Date(now()).toISOString();
  let record: RunRecord = {
    runId: resumed?.runId ?? req.runId ?? `${week.key}`,
    week: week.key,
    status: 'running',
    rulesetVersion: ruleset.version,
    channels,
    capacity,
    startedAt: resumed?.startedAt ?? at,
    updatedAt: at,
    finishedAt: null,
    phase: 'scan',
    progress: { done: 0, total: (await stores.profiles.size()) ?? null },
    counts: resumed?.counts ?? Object.fromEntries(channels.map((c) => [c, 0])),
    heldOut: resumed?.heldOut ?? 0,
    unsent: resumed?.unsent ?? 0,
    customers: resumed?.customers ?? 0,
    entered: resumed?.entered ?? {},
    exited: resumed?.exited ?? {},
    skipped: { unread: 0, duplicates: 0, later: 0 },
    allocation: resumed?.allocation ?? null,
    checkpoint: resumed?.checkpoint ?? null,
    error: null,
    owner: { host: hostname(), pid: process.pid },
    ...(req.inputs !== undefined && { inputs: req.inputs }),
  };
  // saves one at a time, in order: the heartbeat's and the batches' never cross
  let saving = Promise.resolve();
  const save = (changes: Partial<RunRecord>) => {
    record = { ...record, ...changes, updatedAt: new Date(now()).toISOString() };
    const snapshot = record;
    saving = saving.then(async () => {
      await records.save(snapshot);
      req.onRecord?.(snapshot);
    });
    return saving;
  };
  // a long allocation or a slow batch still shows the run alive: no other process takes it over
  const heartbeat = setInterval(() => void save({}).catch(() => {}), HEARTBEAT_MS);
  heartbeat.unref();
  try {
    await save({});
    const ctx: RunContext = {
      ruleset,
      model: withoutExploration(req.model, ruleset.source.arbitration.learning),
      week,
      channels,
    };
    const found = await scan(stores, ctx, req, (done) => save({ progress: { done, total: record.progress.total } }));
    await save({ phase: 'allocate', progress: { done: found.scanned, total: found.scanned } });
    const caps = channels.map((c, i) => {
      const cap = capacity[c] ?? ruleset.outbound.channels.get(c)!.capacity;
      return cap === undefined ? undefined : Math.max(0, cap - found.used[i]!);
    });
    const input: AllocationInput = {
      customers: found.ids.length,
      customer: found.customer.subarray(0, found.n),
      channel: found.channel.subarray(0, found.n),
      score: found.score.subarray(0, found.n),
      capacity: caps,
      perCustomer: ruleset.outbound.maxContactsPerRun,
    };
    // a run stopped while writing goes on with the plan it wrote by: the same contacts, ties and all
    const saved = req.sink === undefined && prior ? await loadPlan(req.dir, week.key, ruleset.version) : undefined;
    if (resumed && saved === undefined)
      throw new RunRefused(
        `week ${week.key} stopped while writing, and its plan (${PLAN_FILE}) is not in ${req.dir}: run the week into a new folder`,
      );
    let chosen: Uint8Array;
    if (saved !== undefined) {
      chosen = new Uint8Array(found.n);
      for (let j = 0; j < found.n; j++)
        chosen[j] = saved.pairs.has(`${found.ids[found.customer[j]!]}|${channels[found.channel[j]!]}`) ? 1 : 0;
      await save({ phase: 'write', progress: { done: 0, total: found.ids.length }, allocation: saved.allocation });
    } else {
      // candidates in customer-ID order: ties go the same way whatever order the store listed them in
      // (a file is read in the same order every time: as read)
      const byId = stores.rescan ? undefined : inIdOrder(found);
      const plan = await (req.allocate ?? (async (i: AllocationInput) => allocate(i)))(
        byId ? { ...input, customer: byId.customer, channel: byId.channel, score: byId.score } : input,
      );
      chosen = byId ? byId.back(plan.chosen) : plan.chosen;
      const allocation: AllocationSummary = {
        candidates: found.n,
        chosen: plan.chosen.reduce((s, x) => s + x, 0),
        total: plan.total,
        bound: plan.bound,
        gap: plan.gap,
        capacity: Object.fromEntries(channels.map((c, i) => [c, caps[i] ?? null])),
      };
      if (req.sink === undefined)
        await savePlan(
          req.dir,
          { week: week.key, rulesetVersion: ruleset.version, allocation },
          found,
          chosen,
          channels,
        );
      await save({ phase: 'write', progress: { done: 0, total: found.ids.length }, allocation });
    }
    await save({ skipped: { unread: found.unread, duplicates: found.duplicates, later: found.later } });
    await write(stores, ctx, req, files, found, chosen, record, save);
    await req.beforeDone?.();
    await save({ status: 'done', phase: 'done', finishedAt: new Date(now()).toISOString() });
    return record;
  } catch (err) {
    const message = (err as Error).message;
    // what the record shows anyone who reads it: the run's own words, never a path or a host of the machine
    const shown =
      err instanceof RunRefused || message === STOPPED
        ? message
        : 'an unexpected error; the log of the process that ran it has the details';
    await save({ status: 'failed', error: shown }).catch(() => {});
    throw err;
  } finally {
    clearInterval(heartbeat);
    files.close();
  }
}

/** Pass 1: every customer's week decided, nothing written; the candidates kept as flat arrays. */
async function scan(
  stores: RunStores,
  ctx: RunContext,
  req: RunRequest,
  progress: (done: number) => Promise<void>,
): Promise<Candidates> {
  const c: Candidates = {
    ids: [],
    customer: new Uint32Array(1 << 14),
    channel: new Uint8Array(1 << 14),
    score: new Float64Array(1 << 14),
    n: 0,
    used: ctx.channels.map(() => 0),
    unread: 0,
    duplicates: 0,
    later: 0,
    scanned: 0,
  };
  const seen = new Set<string>();
  const channelIndex = new Map(ctx.channels.map((ch, i) => [ch, i] as const));
  const stepChannel = stepChannels(ctx.ruleset);
  let saved = Date.now();
  for await (const batch of stores.profiles.scan(req.batchSize ?? DEFAULT_BATCH)) {
    const states = await stores.contacts.readMany(batch.map((p) => p.customerId));
    for (let i = 0; i < batch.length; i++) {
      const profile = batch[i]!;
      const state = states[i];
      if (seen.has(profile.customerId)) {
        c.duplicates++;
        continue;
      }
      seen.add(profile.customerId);
      // a customer whose contacts cannot be read is left out: their caps and journeys are unknown
      if (state === undefined) {
        c.unread++;
        continue;
      }
      if (ranLater(state, ctx.week)) {
        c.later++;
        continue;
      }
      if (state.runs.has(ctx.week.key)) {
        c.ids.push(profile.customerId);
        for (const s of sentAt(state, ctx.week.start)) {
          const ch = channelIndex.get(stepChannel.get(`${s.journey}|${s.step}`) ?? '');
          if (ch !== undefined && s.offerId !== HELD_OUT_OFFER) c.used[ch]!++;
        }
        continue;
      }
      const week = decideCustomer(ctx, profile, state);
      req.onCustomer?.(week, profile);
      if (week.choices.length === 0 && week.moves.set.size === 0 && week.moves.drop.length === 0) continue;
      const k = c.ids.push(profile.customerId) - 1;
      for (const choice of week.choices) {
        const offer = choice.outcome.decision.offers[0];
        if (offer === undefined) continue;
        if (c.n === c.customer.length) grow(c);
        c.customer[c.n] = k;
        c.channel[c.n] = channelIndex.get(choice.channel)!;
        c.score[c.n] = Math.max(offer.score, LEAST_SCORE);
        c.n++;
      }
    }
    c.scanned += batch.length;
    if (Date.now() - saved > SAVE_EVERY_MS) {
      saved = Date.now();
      await progress(c.scanned);
    }
    await req.pause?.();
  }
  return c;
}

/** The allocation's choices, kept in the run's folder for a run that stops while writing. */
const PLAN_FILE = 'plan.json';

interface PlanHead {
  readonly week: string;
  readonly rulesetVersion: string;
  readonly allocation: AllocationSummary;
}

async function savePlan(
  dir: string,
  head: PlanHead,
  found: Candidates,
  chosen: Uint8Array,
  channels: readonly string[],
): Promise<void> {
  const pairs: string[] = [];
  for (let j = 0; j < found.n; j++)
    if (chosen[j]) pairs.push(`${found.ids[found.customer[j]!]}|${channels[found.channel[j]!]}`);
  await writeFile(join(dir, `${PLAN_FILE}.tmp`), JSON.stringify({ ...head, pairs }));
  await rename(join(dir, `${PLAN_FILE}.tmp`), join(dir, PLAN_FILE));
}

/** The plan of this week and rule-set version, if the folder holds one. */
async function loadPlan(
  dir: string,
  week: string,
  version: string,
): Promise<(PlanHead & { readonly pairs: ReadonlySet<string> }) | undefined> {
  const text = await readFile(join(dir, PLAN_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const plan = JSON.parse(text) as PlanHead & { pairs: string[] };
  if (plan.week !== week || plan.rulesetVersion !== version) return undefined;
  return { ...plan, pairs: new Set(plan.pairs) };
}

/** Where each listed customer's candidates start (they are contiguous): customer k's are from[k]..from[k+1]. */
function candidateStarts(found: Candidates): Uint32Array {
  const from = new Uint32Array(found.ids.length + 1);
  for (let j = 0; j < found.n; j++) from[found.customer[j]! + 1]!++;
  for (let k = 0; k < found.ids.length; k++) from[k + 1]! += from[k]!;
  return from;
}

/** The candidates renumbered so that customers come in ID order, and a way back to the scan's numbering. */
function inIdOrder(found: Candidates) {
  const order = sortedIndexes(found.ids);
  const from = candidateStarts(found);
  const customer = new Uint32Array(found.n);
  const channel = new Uint8Array(found.n);
  const score = new Float64Array(found.n);
  const at = new Uint32Array(found.n);
  let i = 0;
  for (let p = 0; p < order.length; p++)
    for (let j = from[order[p]!]!; j < from[order[p]! + 1]!; j++) {
      customer[i] = p;
      channel[i] = found.channel[j]!;
      score[i] = found.score[j]!;
      at[i++] = j;
    }
  const back = (chosen: Uint8Array) => {
    const out = new Uint8Array(found.n);
    for (let x = 0; x < found.n; x++) out[at[x]!] = chosen[x]!;
    return out;
  };
  return { customer, channel, score, back };
}

/** Whether a run of a later week wrote the customer: this week's moves would go back in time. */
function ranLater(state: ContactState, week: Week): boolean {
  for (const key of state.runs.keys()) if ((parseWeek(key)?.index ?? -1) > week.index) return true;
  return false;
}

/** "journey|step" → the step's channel: what a resumed run reads its earlier sends by. */
function stepChannels(ruleset: RuleSet): Map<string, string> {
  const out = new Map<string, string>();
  for (const j of ruleset.journeys) for (const s of j.steps) out.set(`${j.id}|${s.id}`, s.channel);
  return out;
}

const sortedIndexes = (ids: readonly string[]): Uint32Array => {
  const order = new Uint32Array(ids.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
};

async function profilesOf(store: RunProfiles, ids: readonly string[]): Promise<(Profile | undefined)[]> {
  if (store.peek) {
    const out: (Profile | undefined)[] = ids.map((id) => store.peek!(id) ?? undefined);
    if (out.every((p) => p !== undefined)) return out;
  }
  if (!store.get) throw new Error('the profiles can be scanned only: the run needs rescan');
  return Promise.all(ids.map((id) => store.get!(id).catch(() => undefined)));
}

/** A batch of the second pass: the customers' positions in the first pass's list, and their profiles. */
interface Batch {
  readonly ks: readonly number[];
  readonly ids: readonly string[];
  readonly profiles: readonly (Profile | undefined)[];
}

/** The customers the first pass listed, by ID (looked up) or in scan order (read again, matched in step). */
async function* secondPass(stores: RunStores, found: Candidates, batchSize: number): AsyncIterable<Batch> {
  if (!stores.rescan) {
    const order = sortedIndexes(found.ids);
    for (let b = 0; b < order.length; b += batchSize) {
      const ks = Array.from(order.subarray(b, b + batchSize));
      const ids = ks.map((k) => found.ids[k]!);
      yield { ks, ids, profiles: await profilesOf(stores.profiles, ids) };
    }
    return;
  }
  let k = 0;
  for await (const batch of stores.profiles.scan(batchSize)) {
    const ks: number[] = [];
    const ids: string[] = [];
    const profiles: Profile[] = [];
    for (const p of batch) {
      if (k >= found.ids.length) break;
      if (p.customerId !== found.ids[k]) continue;
      ks.push(k++);
      ids.push(p.customerId);
      profiles.push(p);
    }
    if (ks.length > 0) yield { ks, ids, profiles };
  }
  if (k < found.ids.length) throw new Error('the profiles changed between the two passes of the run');
}

/** One written decision: its CSV line, its record, the service's log. */
interface Emit {
  readonly decision: Decision;
  readonly profile: Profile;
  readonly journey: string;
  readonly step: string;
}

/** Pass 2: customers in ID order, a batch at a time: files, then the store, then the checkpoint. */
async function write(
  stores: RunStores,
  ctx: RunContext,
  req: RunRequest,
  sink: RunSink,
  found: Candidates,
  chosen: Uint8Array,
  start: RunRecord,
  save: (changes: Partial<RunRecord>) => Promise<void>,
): Promise<void> {
  const { week, ruleset } = ctx;
  const from = candidateStarts(found);
  const channelIndex = new Map(ctx.channels.map((ch, i) => [ch, i] as const));
  const isChosen = (k: number, channel: string) => {
    const c = channelIndex.get(channel);
    for (let j = from[k]!; j < from[k + 1]!; j++) if (found.channel[j] === c) return chosen[j] === 1;
    return false;
  };
  const stepChannel = stepChannels(ruleset);
  const after = start.checkpoint?.after ?? null;
  const position = start.checkpoint?.position ?? 0;
  // customers before the checkpoint's batch were written for sure: only that batch's writes may not have landed
  const batchFrom = start.checkpoint?.from ?? null;
  const counts: Record<string, number> = { ...start.counts };
  const entered: Record<string, number> = { ...start.entered };
  const exited: Record<string, number> = { ...start.exited };
  let heldOut = start.heldOut;
  let unsent = start.unsent;
  let customers = start.customers;
  const perCustomer = ruleset.outbound.maxContactsPerRun;
  const batchSize = req.batchSize ?? DEFAULT_BATCH;

  const emit = (e: Emit) => {
    const { decision, profile } = e;
    if (decision.offers.length > 0) counts[decision.channel] = (counts[decision.channel] ?? 0) + 1;
    else if (decision.arm === 'control') heldOut++;
    else unsent++;
    const written: RunDecision = { ...e, profile, at: week.start, sendDate: week.sendDate };
    sink.write(written);
    stores.decisionLog?.append(entryOf(written));
    stores.onDecision?.(decision);
  };

  let done = 0;
  for await (const { ks, ids, profiles } of secondPass(stores, found, batchSize)) {
    const states = await stores.contacts.readMany(ids);
    const writes: [string, OutboundWrite][] = [];
    for (let i = 0; i < ks.length; i++) {
      const id = ids[i]!;
      const profile = profiles[i];
      const state = states[i];
      if (profile === undefined || state === undefined) continue;
      // before the checkpoint's batch: written, and listed; the store has it (with Redis) or it is
      // rebuilt quietly (memory: its state went with the process that stopped)
      if (!stores.rescan && batchFrom !== null && id < batchFrom) continue;
      // in the checkpoint's batch: listed in the files already, its write may not have landed
      const quiet = stores.rescan ? ks[i]! < position : after !== null && id <= after;
      if (state.runs.has(week.key)) {
        if (quiet) continue;
        // written after the checkpoint by the run that stopped: its lines again, from its journey state
        customers++;
        const arm = decideCustomer({ ...ctx, channels: [] }, profile, EMPTY_CONTACTS).arm;
        for (const s of sentAt(state, week.start)) {
          const channel = stepChannel.get(`${s.journey}|${s.step}`);
          if (channel === undefined || !channelIndex.has(channel)) continue;
          const outcome = decideOn(ctx, profile, EMPTY_CONTACTS, channel, arm, (o) => o.id === s.offerId);
          emit({ decision: outcome.decision, profile, journey: s.journey, step: s.step });
        }
        continue;
      }
      const cw = decideCustomer(ctx, profile, state);
      const out = sends(cw, state, (channel) => isChosen(ks[i]!, channel), perCustomer, week);
      if (out === undefined) continue;
      if (out.write !== undefined) writes.push([id, out.write]);
      if (quiet) continue;
      if (out.write !== undefined) customers++;
      for (const j of cw.moves.entered) entered[j] = (entered[j] ?? 0) + 1;
      for (const x of cw.moves.exited) exited[x.journey] = (exited[x.journey] ?? 0) + 1;
      for (const e of out.emits) emit({ ...e, profile });
    }
    // the lines are out, then the checkpoint past them, then the contacts: a stop before the
    // contacts are in writes them again (quietly, from the same plan); nobody past the checkpoint is written
    const marks = sink.flush();
    done += ks.length;
    const last = ids.at(-1)!;
    const behind = stores.rescan ? ks.at(-1)! < position : after !== null && last <= after;
    const checkpoint = behind
      ? start.checkpoint
      : { after: last, from: ids[0]!, position: ks.at(-1)! + 1, files: marks };
    await save({
      checkpoint,
      counts,
      entered,
      exited,
      heldOut,
      unsent,
      customers,
      progress: { done, total: found.ids.length },
    });
    await Promise.all(writes.map(([id, w]) => stores.contacts.send(id, w)));
    await req.pause?.();
  }
}

/** What the store gets for one customer and the decisions to list, or undefined when nothing changes. */
function sends(
  cw: CustomerWeek,
  state: ContactState,
  chosen: (channel: string) => boolean,
  perCustomer: number,
  week: Week,
): { write: OutboundWrite | undefined; emits: Omit<Emit, 'profile'>[] } | undefined {
  const set = new Map(cw.moves.set);
  const drop = new Set(cw.moves.drop);
  const sent: { offerId: string; channel: string; decisionId: string }[] = [];
  const emits: Omit<Emit, 'profile'>[] = [];
  let heldOut = false;
  const record = (journey: string, step: string, offerId: string) => {
    const f = sendFields(state, journey, step, offerId, week.start);
    for (const d of f.drop) drop.add(d);
    set.set(f.set[0], f.set[1]);
  };
  for (const choice of cw.choices) {
    const { decision } = choice.outcome;
    const offer = decision.offers[0];
    const { journey, step } = choice.step;
    if (offer !== undefined) {
      if (sent.length >= perCustomer || !chosen(choice.channel)) continue;
      sent.push({ offerId: offer.offerId, channel: choice.channel, decisionId: decision.decisionId });
      record(journey.id, step.id, offer.offerId);
      emits.push({ decision, journey: journey.id, step: step.id });
    } else if (cw.arm === 'control' && !heldOut) {
      // the control group follows the schedule, nothing sent, so the waves after it come as they would
      heldOut = true;
      record(journey.id, step.id, HELD_OUT_OFFER);
      emits.push({ decision, journey: journey.id, step: step.id });
    }
  }
  // every customer a step was due for is logged, contacted or not: both arms are measured the same way
  if (emits.length === 0 && cw.choices.length > 0) {
    const { outcome, step } = cw.choices[0]!;
    emits.push({ decision: { ...outcome.decision, offers: [] }, journey: step.journey.id, step: step.step.id });
  }
  for (const key of set.keys()) drop.delete(key);
  const unchanged = set.size === 0 && drop.size === 0 && sent.length === 0;
  if (unchanged && emits.length === 0) return undefined;
  return {
    // nothing to write, still a decision to log: a due step that got no contact
    write: unchanged ? undefined : { runKey: week.key, at: week.start, sent, journeys: set, dropJourneys: [...drop] },
    emits,
  };
}
