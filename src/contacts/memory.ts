import { LRUCache } from 'lru-cache';
import {
  applyEvent,
  applyPresented,
  applySent,
  type ContactState,
  EMPTY_CONTACTS,
  type InteractionMark,
  type OutboundWrite,
  type Presented,
  parseContacts,
  runField,
  withPresented,
} from './state.js';
import {
  type ContactStore,
  DEDUP_MAX,
  DEDUP_TTL_MS,
  type EarlierRecord,
  fromMark,
  HISTORY_MAX,
  LEARNED_SUCCESS,
  LEARNED_TRIAL,
  type LearningAsk,
  markValue,
  type ResponseEvent,
  successMark,
  trialMark,
  type WriteResult,
} from './store.js';

/** Customers whose history, dedup marks and contact state one process keeps (least recently used go first). */
const MEMORY_CUSTOMERS = 200_000;

interface CustomerState {
  readonly history: ResponseEvent[];
  /** recent eventIds and when they were recorded (with what they learned: markValue), as in Redis: the last DEDUP_MAX within DEDUP_TTL_MS */
  readonly seen: Map<string, number>;
  readonly fields: Map<string, number>;
  /** the fields parsed, until the next write (decisions read far more often than events arrive) */
  parsed: ContactState | undefined;
}

/** The embedded default: each customer's history, dedup marks and contact state, in this process. */
export class MemoryContactStore implements ContactStore {
  readonly kind = 'memory';

  private readonly customers: LRUCache<string, CustomerState>;

  /**
   * `retentionDays`: days of contact buckets to keep, the longest window of the loaded policies;
   * `customers`: how many customers it keeps (a simulation keeps its whole population)
   */
  constructor(
    private readonly retentionDays: () => number = () => 30,
    customers = MEMORY_CUSTOMERS,
  ) {
    this.customers = new LRUCache<string, CustomerState>({ max: customers });
  }

  /** The customer's state (`s` when already looked up), for a write: the parsed form is dropped. */
  private state(customerId: string, s = this.customers.get(customerId)): CustomerState {
    if (!s)
      this.customers.set(customerId, (s = { history: [], seen: new Map(), fields: new Map(), parsed: undefined }));
    s.parsed = undefined;
    return s;
  }

  /** A new eventId is marked (and old marks forgotten, as the Redis script does); a known one is a duplicate. */
  private static mark(seen: Map<string, number>, eventId: string, now: number): boolean {
    for (const [id, at] of seen) {
      if (at > now - DEDUP_TTL_MS) break;
      seen.delete(id);
    }
    if (seen.has(eventId)) return false;
    seen.set(eventId, now);
    if (seen.size > DEDUP_MAX) seen.delete(seen.keys().next().value!);
    return true;
  }

  async record(
    events: readonly ResponseEvent[],
    asks: readonly (LearningAsk | undefined)[] = [],
  ): Promise<WriteResult> {
    const stored: ResponseEvent[] = [];
    const learned: number[] = [];
    const earlier: EarlierRecord[] = [];
    const now = Date.now();
    for (const [i, e] of events.entries()) {
      const known = this.customers.get(e.customerId)?.seen.get(e.eventId);
      if (known !== undefined && known > now - DEDUP_TTL_MS) {
        earlier.push({ event: e, ...fromMark(known) });
        continue;
      }
      const state = this.state(e.customerId);
      if (!MemoryContactStore.mark(state.seen, e.eventId, now)) {
        earlier.push({ event: e, ...fromMark(state.seen.get(e.eventId)!) });
        continue;
      }
      state.history.push(e);
      if (state.history.length > HISTORY_MAX) state.history.splice(0, state.history.length - HISTORY_MAX);
      applyEvent(state.fields, e, now, this.retentionDays());
      stored.push(e);
      const bits = MemoryContactStore.learn(state.seen, e, asks[i], now);
      // kept with the eventId's mark, as in Redis, for a duplicate to say
      if (bits > 0 && state.seen.has(e.eventId)) state.seen.set(e.eventId, markValue(now, bits));
      learned.push(bits);
    }
    return {
      accepted: stored.length,
      duplicates: earlier.length,
      stored,
      learned,
      failed: [],
      recordedAt: now,
      earlier,
    };
  }

  /** The learning marks an outcome sets, as the Redis script sets them: a success only after the trial. */
  private static learn(seen: Map<string, number>, e: ResponseEvent, ask: LearningAsk | undefined, now: number): number {
    if (ask === undefined || e.decisionId === undefined) return 0;
    const trial = trialMark(e.decisionId, e.offerId);
    let learned = 0;
    if (ask.trial && MemoryContactStore.mark(seen, trial, now)) learned |= LEARNED_TRIAL;
    if (ask.success && seen.has(trial) && MemoryContactStore.mark(seen, successMark(e.decisionId, e.offerId), now))
      learned |= LEARNED_SUCCESS;
    return learned;
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    return [...(this.customers.get(customerId)?.history ?? [])];
  }

  available(): boolean {
    return true;
  }

  read(customerId: string): ContactState {
    const s = this.customers.get(customerId);
    if (!s) return EMPTY_CONTACTS;
    return (s.parsed ??= parseContacts(s.fields));
  }

  reserve(
    customerId: string,
    version: number,
    decisionId: string,
    presented: readonly Presented[],
    now: number,
    interaction?: InteractionMark,
  ): boolean {
    const before = this.customers.get(customerId);
    if ((before?.fields.get('v') ?? 0) !== version) return false;
    const parsed = before?.parsed ?? (before === undefined ? EMPTY_CONTACTS : undefined);
    const state = this.state(customerId, before);
    const prunedAt = state.fields.get('p');
    applyPresented(state.fields, decisionId, presented, now, this.retentionDays(), interaction);
    // the next decision reads the state this one wrote: carry the parsed form over unless a prune changed the fields
    if (parsed !== undefined && state.fields.get('p') === prunedAt)
      state.parsed = withPresented(parsed, decisionId, presented, now, interaction);
    return true;
  }

  send(customerId: string, write: OutboundWrite): boolean {
    // a run's second write leaves the customer (and its parsed state) as it was
    if (this.customers.get(customerId)?.fields.has(runField(write.runKey))) return false;
    return applySent(this.state(customerId).fields, write, Date.now(), this.retentionDays());
  }

  async readMany(customerIds: readonly string[]): Promise<ContactState[]> {
    return customerIds.map((id) => this.read(id));
  }
}
