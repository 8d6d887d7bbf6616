/**
 * A customer's contact state: what contact policy reads. Kept as flat fields, the same in
 * memory and in a Redis hash (`<prefix>{customerId}:contacts`), so one parser serves both:
 *   v                                       version, +1 on every write (optimistic concurrency)
 *   n|<outcome>|<channel>|<offerId>|<day>   contacts that day (UTC day number); outcome is a
 *                                           response outcome or `decision` (presented)
 *   t|<outcome>|<channel>|<offerId>         time of the latest such outcome, epoch ms
 *   h|<channel>|<offerId>|<decisionId>      presented, impression not yet reported: expiry, epoch ms
 *   i|<channel>|<interactionId>|<decisionId> the decision of an interaction (a call, a page view):
 *                                           until when a repeated request gets it again, epoch ms
 *   J|<key>                                 an outbound journey's value for this customer (the
 *                                           outbound module owns the keys and what the number means)
 *   o|<runKey>                              the outbound run `runKey` wrote this customer: its send time (the week's Monday), epoch ms:
 *                                           a run writes a customer once
 *   p                                       when the state was last pruned, epoch ms
 * Day buckets are kept for the longest window of the loaded policies (`retentionDays`): older
 * ones could change no decision. The latest times and the journey fields are kept regardless;
 * they are few. Run marks are kept RUN_RETENTION_DAYS, long past any repeat of their run.
 */
export const DAY_MS = 86_400_000;
/** Fields at which a write prunes expired holds and old buckets, at most every PRUNE_EVERY_MS. */
export const PRUNE_AT_FIELDS = 128;
export const PRUNE_EVERY_MS = 10 * 60_000;
/** Fields at which every write prunes: a state this large is being flooded. */
export const PRUNE_ALWAYS_AT_FIELDS = 1_024;
/** Days an `o|<runKey>` mark outlives its run: a pruning write drops older ones. */
export const RUN_RETENTION_DAYS = 400;
export const RUN_RETENTION_MS = RUN_RETENTION_DAYS * DAY_MS;

export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

export interface CountEntry {
  readonly outcome: string;
  readonly channel: string;
  readonly offerId: string;
  readonly day: number;
  readonly n: number;
}

export interface LastEntry {
  readonly outcome: string;
  readonly channel: string;
  readonly offerId: string;
  readonly at: number;
}

export interface HoldEntry {
  readonly channel: string;
  readonly offerId: string;
  readonly decisionId: string;
  readonly expiresAt: number;
}

/** An interaction's decision: a repeated request within the interaction window gets it again. */
export interface InteractionEntry {
  readonly channel: string;
  readonly interactionId: string;
  readonly decisionId: string;
  readonly expiresAt: number;
}

export interface ContactState {
  readonly version: number;
  readonly counts: readonly CountEntry[];
  readonly last: readonly LastEntry[];
  readonly holds: readonly HoldEntry[];
  readonly interactions: readonly InteractionEntry[];
  /** `J|<key>` fields by key: the outbound module's journey state */
  readonly journeys: ReadonlyMap<string, number>;
  /** `o|<runKey>` fields by runKey: when that outbound run wrote the customer, epoch ms */
  readonly runs: ReadonlyMap<string, number>;
}

/** Object.freeze leaves a Map's set() working: the shared empty map refuses writes itself. */
function frozenEmptyMap(): ReadonlyMap<string, number> {
  const refuse = () => {
    throw new TypeError('EMPTY_CONTACTS is read-only');
  };
  const hidden = { value: refuse, enumerable: false };
  return Object.freeze(
    Object.defineProperties(new Map<string, number>(), { set: hidden, delete: hidden, clear: hidden }),
  );
}

export const EMPTY_CONTACTS: ContactState = Object.freeze({
  version: 0,
  counts: [],
  last: [],
  holds: [],
  interactions: [],
  journeys: frozenEmptyMap(),
  runs: frozenEmptyMap(),
});

/** The decision an interaction still stands by at `now`, if any (the latest, should there be two). */
export function interactionDecision(
  state: ContactState,
  channel: string,
  interactionId: string,
  now: number,
): InteractionEntry | undefined {
  let found: InteractionEntry | undefined;
  for (const i of state.interactions)
    if (
      i.interactionId === interactionId &&
      i.channel === channel &&
      i.expiresAt > now &&
      (found === undefined || i.expiresAt > found.expiresAt)
    )
      found = i;
  return found;
}

/** The interaction a decision answers, as its reservation records it. */
export type InteractionMark = Omit<InteractionEntry, 'decisionId'>;

/** What a decision adds for the offers it presents, so caps hold across concurrent decisions. */
export interface Presented {
  readonly offerId: string;
  readonly channel: string;
  /** counts toward caps that count decisions */
  readonly decision: boolean;
  /** held as a pending impression (caps that count impressions) until one is reported */
  readonly holdUntil: number | undefined;
}

/*
 * Field names are joined, not concatenated: a template literal makes a tree of string pieces
 * (three or four objects for a hold's name), and an in-memory state keeps its names for as
 * long as the customer, where every collection of the old generation traces them. A joined
 * name is one flat string.
 */
export const countField = (outcome: string, channel: string, offerId: string, day: number) =>
  ['n', outcome, channel, offerId, day].join('|');
export const lastField = (outcome: string, channel: string, offerId: string) =>
  ['t', outcome, channel, offerId].join('|');
export const holdField = (channel: string, offerId: string, decisionId: string) =>
  ['h', channel, offerId, decisionId].join('|');
export const interactionField = (i: Omit<InteractionEntry, 'expiresAt'>) =>
  ['i', i.channel, i.interactionId, i.decisionId].join('|');
export const journeyField = (key: string) => `J|${key}`;
export const runField = (runKey: string) => `o|${runKey}`;

const BAR = 0x7c;
const N = 0x6e;
const T = 0x74;
const H = 0x68;
const I = 0x69;

class StateBuilder {
  version = 0;
  readonly counts: CountEntry[] = [];
  readonly last: LastEntry[] = [];
  readonly holds: HoldEntry[] = [];
  readonly interactions: InteractionEntry[] = [];
  readonly journeys = new Map<string, number>();
  readonly runs = new Map<string, number>();

  add(field: string, raw: string | number): void {
    const value = Number(raw);
    if (!Number.isFinite(value)) return;
    if (field === 'v') {
      this.version = value;
      return;
    }
    // the rest of the field is the key, `|` included: the outbound module's keys may hold one
    if (field.startsWith('J|')) {
      this.journeys.set(field.slice(2), value);
      return;
    }
    if (field.startsWith('o|')) {
      this.runs.set(field.slice(2), value);
      return;
    }
    // the field's parts are found by position, without split's array: a Redis read parses every field of the state
    const kind = field.charCodeAt(0);
    if (field.charCodeAt(1) !== BAR) return;
    const a = field.indexOf('|', 2);
    const b = a < 0 ? -1 : field.indexOf('|', a + 1);
    if (b < 0) return;
    const c = field.indexOf('|', b + 1);
    if (kind === N) {
      if (c < 0 || field.indexOf('|', c + 1) >= 0) return;
      this.counts.push({
        outcome: field.slice(2, a),
        channel: field.slice(a + 1, b),
        offerId: field.slice(b + 1, c),
        day: Number(field.slice(c + 1)),
        n: value,
      });
      return;
    }
    if (c >= 0) return;
    const first = field.slice(2, a);
    const second = field.slice(a + 1, b);
    const third = field.slice(b + 1);
    if (kind === T) this.last.push({ outcome: first, channel: second, offerId: third, at: value });
    else if (kind === H) this.holds.push({ channel: first, offerId: second, decisionId: third, expiresAt: value });
    else if (kind === I)
      this.interactions.push({ channel: first, interactionId: second, decisionId: third, expiresAt: value });
  }

  build(): ContactState {
    const { version, counts, last, holds, interactions, journeys, runs } = this;
    return version === 0 &&
      counts.length === 0 &&
      last.length === 0 &&
      holds.length === 0 &&
      interactions.length === 0 &&
      journeys.size === 0 &&
      runs.size === 0
      ? EMPTY_CONTACTS
      : { version, counts, last, holds, interactions, journeys, runs };
  }
}

/** Parses the fields (a Map, or Redis HGETALL's object); unknown or malformed fields are ignored. */
export function parseContacts(fields: Iterable<readonly [string, string | number]>): ContactState {
  const state = new StateBuilder();
  for (const [field, raw] of fields) state.add(field, raw);
  return state.build();
}

/** The same from a hash's flat reply (HGETALL's field, value, field, value…): no pairs built. */
export function parseContactFields(flat: readonly string[]): ContactState {
  const state = new StateBuilder();
  for (let i = 0; i + 1 < flat.length; i += 2) state.add(flat[i]!, flat[i + 1]!);
  return state.build();
}

/** An outcome as contact state records it. */
export interface ContactEvent {
  readonly outcome: string;
  readonly channel: string;
  readonly offerId: string;
  readonly decisionId: string | undefined;
  readonly at: number;
}

const bump = (fields: Map<string, number>, field: string, by: number) =>
  fields.set(field, (fields.get(field) ?? 0) + by);

/** The oldest day bucket kept. */
export const oldestDay = (now: number, retentionDays: number): number => dayOf(now) - retentionDays + 1;

/**
 * Drops expired holds, buckets past retention and run marks past RUN_RETENTION_MS once the
 * state has grown: every few minutes, or at once when flooded. Journey fields stay.
 */
function prune(fields: Map<string, number>, now: number, retentionDays: number): void {
  if (
    fields.size < PRUNE_AT_FIELDS ||
    (now - (fields.get('p') ?? 0) < PRUNE_EVERY_MS && fields.size < PRUNE_ALWAYS_AT_FIELDS)
  )
    return;
  const oldest = oldestDay(now, retentionDays);
  for (const [field, value] of fields) {
    if ((field.startsWith('h|') || field.startsWith('i|')) && value <= now) fields.delete(field);
    else if (field.startsWith('n|') && Number(field.slice(field.lastIndexOf('|') + 1)) < oldest) fields.delete(field);
    else if (field.startsWith('o|') && value < now - RUN_RETENTION_MS) fields.delete(field);
  }
  fields.set('p', now);
}

/** Records one outcome (the in-process twin of the Redis script in redis.ts). */
export function applyEvent(fields: Map<string, number>, e: ContactEvent, now: number, retentionDays: number): void {
  const day = dayOf(e.at);
  if (day >= oldestDay(now, retentionDays)) bump(fields, countField(e.outcome, e.channel, e.offerId, day), 1);
  const last = lastField(e.outcome, e.channel, e.offerId);
  if ((fields.get(last) ?? -Infinity) < e.at) fields.set(last, e.at);
  // the impression a decision was holding a place for has arrived
  if (e.outcome === 'impression' && e.decisionId !== undefined)
    fields.delete(holdField(e.channel, e.offerId, e.decisionId));
  bump(fields, 'v', 1);
  prune(fields, now, retentionDays);
}

/** Records what a decision presents, and the interaction it answers (the in-process twin of the reservation script). */
export function applyPresented(
  fields: Map<string, number>,
  decisionId: string,
  presented: readonly Presented[],
  now: number,
  retentionDays: number,
  interaction?: InteractionMark,
): void {
  for (const p of presented) {
    if (p.decision) bump(fields, countField('decision', p.channel, p.offerId, dayOf(now)), 1);
    if (p.holdUntil !== undefined) fields.set(holdField(p.channel, p.offerId, decisionId), p.holdUntil);
  }
  if (interaction) fields.set(interactionField({ ...interaction, decisionId }), interaction.expiresAt);
  bump(fields, 'v', 1);
  prune(fields, now, retentionDays);
}

/** What one outbound run writes for one customer, at most once per runKey (ContactStore.send). */
export interface OutboundWrite {
  /** the run, e.g. "2026-W50": `o|<runKey>` marks the customer written */
  readonly runKey: string;
  /** when the contacts are sent, epoch ms */
  readonly at: number;
  /** each counts as a decision and an impression on the day of `at` */
  readonly sent: readonly { readonly offerId: string; readonly channel: string; readonly decisionId: string }[];
  /** `J|<key>` fields to set */
  readonly journeys: ReadonlyMap<string, number>;
  /** `J|<key>` fields to delete (after the sets: a key in both goes) */
  readonly dropJourneys: readonly string[];
}

/**
 * Records what an outbound run sent a customer (the in-process twin of the send script in
 * redis.ts): false, and nothing changes, when the run has written this customer before.
 */
export function applySent(
  fields: Map<string, number>,
  write: OutboundWrite,
  now: number,
  retentionDays: number,
): boolean {
  const run = runField(write.runKey);
  if (fields.has(run)) return false;
  const day = dayOf(write.at);
  const counted = day >= oldestDay(now, retentionDays);
  for (const s of write.sent) {
    if (counted) {
      bump(fields, countField('decision', s.channel, s.offerId, day), 1);
      bump(fields, countField('impression', s.channel, s.offerId, day), 1);
    }
    const last = lastField('impression', s.channel, s.offerId);
    if ((fields.get(last) ?? -Infinity) < write.at) fields.set(last, write.at);
  }
  for (const [key, value] of write.journeys) fields.set(journeyField(key), value);
  for (const key of write.dropJourneys) fields.delete(journeyField(key));
  fields.set(run, write.at);
  bump(fields, 'v', 1);
  prune(fields, now, retentionDays);
  return true;
}

/**
 * The state parseContacts would read after applyPresented, built from the state before it
 * without parsing every field again (a decision's write is the common write). Entry order may
 * differ from a fresh parse; nothing reads contact state by order.
 */
export function withPresented(
  state: ContactState,
  decisionId: string,
  presented: readonly Presented[],
  now: number,
  interaction?: InteractionMark,
): ContactState {
  const day = dayOf(now);
  let counts: CountEntry[] | undefined;
  let added: HoldEntry[] | undefined;
  for (const p of presented) {
    if (p.decision) {
      counts ??= state.counts.slice();
      const i = counts.findIndex(
        (c) => c.outcome === 'decision' && c.day === day && c.offerId === p.offerId && c.channel === p.channel,
      );
      if (i < 0) counts.push({ outcome: 'decision', channel: p.channel, offerId: p.offerId, day, n: 1 });
      else counts[i] = { ...counts[i]!, n: counts[i]!.n + 1 };
    }
    if (p.holdUntil !== undefined) {
      // one field per (channel, offer, decision): a second hold replaces the first, as in the fields
      added = (added ?? []).filter((h) => h.offerId !== p.offerId || h.channel !== p.channel);
      added.push({ channel: p.channel, offerId: p.offerId, decisionId, expiresAt: p.holdUntil });
    }
  }
  let holds = state.holds;
  if (added) {
    const fresh = added;
    const replaced = (h: HoldEntry) =>
      h.decisionId === decisionId && fresh.some((a) => a.offerId === h.offerId && a.channel === h.channel);
    holds = (holds.some(replaced) ? holds.filter((h) => !replaced(h)) : holds).concat(fresh);
  }
  const interactions = interaction
    ? state.interactions
        .filter(
          (i) =>
            i.decisionId !== decisionId ||
            i.channel !== interaction.channel ||
            i.interactionId !== interaction.interactionId,
        )
        .concat({ ...interaction, decisionId })
    : state.interactions;
  return {
    version: state.version + 1,
    counts: counts ?? state.counts,
    last: state.last,
    holds,
    interactions,
    journeys: state.journeys,
    runs: state.runs,
  };
}
