import { LRUCache } from 'lru-cache';
import { applyEvent, applyPresented, EMPTY_CONTACTS, parseContacts, type ContactState, type Presented } from './contacts.js';
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
/** Customers whose history and contact state one process keeps. */
const MEMORY_CUSTOMERS = 1_000_000;

/** The embedded default: history, recently seen eventIds and contact state per customer, in this process. */
export class MemoryResponseStore implements ResponseStore {
  readonly kind = 'memory';
  private readonly seen = new LRUCache<string, true>({ max: MEMORY_CUSTOMERS, ttl: DEDUP_TTL_MS });
  private readonly histories = new LRUCache<string, ResponseEvent[]>({ max: MEMORY_CUSTOMERS });
  /** the fields, and their parsed form until the next write (decisions read far more often than events arrive) */
  private readonly states = new LRUCache<string, { fields: Map<string, number>; parsed: ContactState | undefined }>({ max: MEMORY_CUSTOMERS });

  /** The customer's fields, for a write: the parsed form is dropped. */
  private fields(customerId: string): Map<string, number> {
    let s = this.states.get(customerId);
    if (!s) this.states.set(customerId, (s = { fields: new Map(), parsed: undefined }));
    s.parsed = undefined;
    return s.fields;
  }

  async record(events: readonly ResponseEvent[]): Promise<WriteResult> {
    const stored: ResponseEvent[] = [];
    const now = Date.now();
    for (const e of events) {
      const key = `${e.customerId}\n${e.eventId}`;
      if (this.seen.has(key)) continue;
      this.seen.set(key, true);
      let history = this.histories.get(e.customerId);
      if (!history) this.histories.set(e.customerId, (history = []));
      history.push(e);
      if (history.length > HISTORY_MAX) history.splice(0, history.length - HISTORY_MAX);
      applyEvent(this.fields(e.customerId), e, now);
      stored.push(e);
    }
    return { accepted: stored.length, duplicates: events.length - stored.length, stored, failed: [] };
  }

  async history(customerId: string): Promise<ResponseEvent[]> {
    return [...(this.histories.get(customerId) ?? [])];
  }

  available(): boolean {
    return true;
  }

  contacts(customerId: string): ContactState {
    const s = this.states.get(customerId);
    if (!s) return EMPTY_CONTACTS;
    return (s.parsed ??= parseContacts(s.fields));
  }

  present(customerId: string, version: number, decisionId: string, presented: readonly Presented[], now: number): boolean {
    if ((this.states.get(customerId)?.fields.get('v') ?? 0) !== version) return false;
    applyPresented(this.fields(customerId), decisionId, presented, now);
    return true;
  }
}
