/**
 * Key names. Everything about one customer carries the hash tag `{customerId}`, so the
 * profile, the contact history and the dedup marks of a customer share one Cluster slot and
 * can be read or written together in one round trip or one script.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  profile(customerId: string): string {
    return `${this.prefix}{${customerId}}:profile`;
  }

  /** SCAN's MATCH pattern for every profile key under this prefix (glob characters in the prefix escaped) */
  get profilePattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:profile`;
  }

  /** The customer ID in a profile key; undefined for a key of another shape or prefix. */
  profileCustomerId(key: string): string | undefined {
    const head = `${this.prefix}{`;
    const tail = '}:profile';
    if (!key.startsWith(head) || !key.endsWith(tail) || key.length <= head.length + tail.length) return undefined;
    return key.slice(head.length, key.length - tail.length);
  }

  /** the customer's response events, a stream: the contact history */
  events(customerId: string): string {
    return `${this.prefix}{${customerId}}:events`;
  }

  /** the customer's contact state: counts, latest outcomes, pending impressions (contacts/state.ts) */
  contacts(customerId: string): string {
    return `${this.prefix}{${customerId}}:contacts`;
  }

  /** one decision, as the decision log records it, for the responses that name it (expires after the response window) */
  decision(decisionId: string): string {
    return `${this.prefix}decision:${decisionId}`;
  }

  /** the customer's recent eventIds (a sorted set by time of receipt), for idempotency */
  seen(customerId: string): string {
    return `${this.prefix}{${customerId}}:seen`;
  }

  /** shared totals: `learning` (propensity counts), `kpis` (report tallies); hashes, tagged so their batch markers share a slot */
  counters(name: string): string {
    return `${this.prefix}{${name}}`;
  }

  /** one API key's requests in one rate-limit window (a counter that expires with the window) */
  rateWindow(keyId: string, windowStart: number): string {
    return `${this.prefix}rate:{${keyId}}:${windowStart}`;
  }

  /** rule-set activations, refusals and rollbacks of every node, a stream */
  get audit(): string {
    return `${this.prefix}rulesets:audit`;
  }

  /** the decision log, a stream */
  get decisions(): string {
    return `${this.prefix}decisions`;
  }

  /** an outbound run's record (outbound/records.ts), one per ISO week */
  outboundRun(week: string): string {
    return `${this.prefix}outbound:run:${week}`;
  }

  /** pub/sub channel: customer IDs whose profile was written, newline-separated */
  get invalidations(): string {
    return `${this.prefix}profiles:written`;
  }
}
