import { LRUCache } from 'lru-cache';
import { applyEvent, applyPresented, EMPTY_CONTACTS, parseContacts, withPresented, type ContactState, type Presented } from '../decision/contacts.js';
import type { RecordResult, ResponseEvent } from './schema.js';

export interface WriteResult extends RecordResult {
  /** the events stored now (not duplicates, not failed), for learning and reports */
  readonly stored: readonly ResponseEvent[];
  /** events that could not be written (and may be tried again: duplicates are recognised) */
  readonly failed: readonly ResponseEvent[];
}

/**
 * Where response events go: each customer's contact history, deduplicated by eventId, and
 * the contact state contact policy reads. In-process stores answer synchronously, so the
 * decision path does not wait a turn of the event loop for them.
 */
export interface ResponseStore {
  readonly kind: string;
  /** Stores the events not seen before; those it could not write come back in `failed`. */
  record(events: readonly ResponseEvent[]): Promise<WriteResult>;
  /** The customer's stored events, oldest first. */
  history(customerId: string): Promise<ResponseEvent[]>;
  /** false while writes would fail at once (Redis down, circuit open); events then wait in the buffer */
  available(): boolean;
  /** The customer's contact state; throws when it cannot be read. */
  contacts(customerId: string): ContactState | Promise<ContactState>;
  /** Adds what a decision presents, if the state is still at `version`; false when it has moved on. */
  present(customerId: string, version: number, decisionId: string, presented: readonly Presented[], now: number): boolean | Promise<boolean>;
}

/** How long an eventId is remembered for deduplication. */
export const DEDUP_TTL_MS = 7 * 24 * 3600_000;
/** The newest events kept per customer. */
export const HISTORY_MAX = 1_000;
/** The most eventIds remembered per customer (within DEDUP_TTL_MS). */
export const DEDUP_MAX = 2 * HISTORY_MAX;
/** Customers whose history, dedup marks and contact state one process keeps (least recently used go first). */
const MEMORY_CUSTOMERS = 200_000;

interface CustomerState {
  readonly history: ResponseEvent[];
  /** recent eventIds and when they were recorded, as in Redis: the last DEDUP_MAX within DEDUP_TTL_MS */
  readonly seen: Map<string, number>;
  readonly fields: Map<string, number>;
  /** the fields parsed, until the next write (decisions read far more often than events arrive) */
  parsed: ContactState | undefined;
}

/** The embedded default: each customer's history, dedup marks and contact state, in this process. */
export class MemoryResponseStore implements ResponseStore {
  readonly kind = 'memory';

  /** `retentionDays`: days of contact buckets to keep, the longest window of the loaded policies */
  constructor(private readonly retentionDays: () => number = () => 30) {}

  private readonly customers = new LRUCache<string, CustomerState>({ max: MEMORY_CUSTOMERS });

  /** The customer's state, for a write: the parsed form is dropped. */
  private state(customerId: string): CustomerState {
    let s = this.customers.get(customerId);
    if (!s) this.customers.set(customerId, (s = { history: [], seen: new Map(), fields: new Map(), parsed: undefined }));
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

  async record(events: readonly ResponseEvent[]): Promise<WriteResult> {
    const stored: ResponseEvent[] = [];
    const now = Date.now();
    for (const e of events) {
      const s = this.customers.get(e.customerId);
      if (s?.seen.has(e.eventId) && s.seen.get(e.eventId)! > now - DEDUP_TTL_MS) continue;
      const state = this.state(e.customerId);
      if (!MemoryResponseStore.mark(state.seen, e.eventId, now)) continue;
      state.history.push(e);
      if (state.history.length > HISTORY_MAX) state.history.splice(0, state.history.length - HISTORY_MAX);
      applyEvent(state.fields, e, now, this.retentionDays());
      stored.push(e);
    }
    return { accepted: stored.length, duplicates: events.length - stored.length, stored, failed: [] };
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    return [...(this.customers.get(customerId)?.history ?? [])];
  }

  available(): boolean {
    return true;
  }

  contacts(customerId: string): ContactState {
    const s = this.customers.get(customerId);
    if (!s) return EMPTY_CONTACTS;
    return (s.parsed ??= parseContacts(s.fields));
  }

  present(customerId: string, version: number, decisionId: string, presented: readonly Presented[], now: number): boolean {
    const before = this.customers.get(customerId);
    if ((before?.fields.get('v') ?? 0) !== version) return false;
    const parsed = before?.parsed ?? (before === undefined ? EMPTY_CONTACTS : undefined);
    const state = this.state(customerId);
    const prunedAt = state.fields.get('p');
    applyPresented(state.fields, decisionId, presented, now, this.retentionDays());
    // the next decision reads the state this one wrote: carry the parsed form over unless a prune changed the fields
    if (parsed !== undefined && state.fields.get('p') === prunedAt) state.parsed = withPresented(parsed, decisionId, presented, now);
    return true;
  }
}
