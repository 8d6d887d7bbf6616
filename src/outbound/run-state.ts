import { applySent, type ContactState, type OutboundWrite, parseContacts } from '../contacts/state.js';

/** Days of contact counts a run outside the service keeps: past the longest window a policy may have (400). */
export const RUN_RETENTION_DAYS = 400;

/**
 * Contact and journey state of a whole population for a run outside the service: each
 * customer's fields as one short string, `<name number>:<value>` pairs split by `;`, the names
 * numbered once for the population. About 150 bytes a customer (a million fit in a few hundred
 * MB) where a full contact store keeps history and dedup marks too. What a run reads and
 * writes; nothing else.
 */
export class RunState {
  private readonly customers = new Map<string, string>();
  private readonly numbers = new Map<string, number>();
  private readonly names: string[] = [];

  constructor(private readonly retentionDays = RUN_RETENTION_DAYS) {}

  private number(name: string): number {
    let n = this.numbers.get(name);
    if (n === undefined) {
      n = this.names.push(name) - 1;
      this.numbers.set(name, n);
    }
    return n;
  }

  private *pairs(encoded: string | undefined): IterableIterator<[string, number]> {
    if (encoded === undefined) return;
    let at = 0;
    while (at < encoded.length) {
      const colon = encoded.indexOf(':', at);
      let end = encoded.indexOf(';', colon);
      if (end < 0) end = encoded.length;
      yield [this.names[Number.parseInt(encoded.slice(at, colon), 36)]!, Number(encoded.slice(colon + 1, end))];
      at = end + 1;
    }
  }

  read(customerId: string): ContactState {
    return parseContacts(this.pairs(this.customers.get(customerId)));
  }

  async readMany(customerIds: readonly string[]): Promise<ContactState[]> {
    return customerIds.map((id) => this.read(id));
  }

  send(customerId: string, write: OutboundWrite): boolean {
    const fields = new Map(this.pairs(this.customers.get(customerId)));
    if (!applySent(fields, write, write.at, this.retentionDays)) return false;
    this.set(customerId, fields);
    return true;
  }

  set(customerId: string, fields: Iterable<readonly [string, number]>): void {
    const parts: string[] = [];
    for (const [name, value] of fields)
      if (Number.isFinite(value)) parts.push(`${this.number(name).toString(36)}:${value}`);
    // joined, not concatenated: one flat string, where `+=` would keep every piece
    if (parts.length === 0) this.customers.delete(customerId);
    else this.customers.set(customerId, parts.join(';'));
  }

  *entries(): IterableIterator<[string, IterableIterator<[string, number]>]> {
    for (const [id, encoded] of this.customers) yield [id, this.pairs(encoded)];
  }

  get size(): number {
    return this.customers.size;
  }
}
