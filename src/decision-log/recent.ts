import { type DecisionEntry, type Remembered, type Shape, Shapes } from './store.js';

/** Hex digit values of the lower-case characters a UUID is written in; -1 for any other. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;

/**
 * Reads a lower-case UUID (8-4-4-4-12 hex digits, as the service writes its decision IDs)
 * into four 32-bit words of `out`; false, and `out` unspecified, for any other string.
 */
function uuidWords(id: string, out: Uint32Array): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
      continue;
    }
    const n = c < 128 ? NIBBLE[c]! : -1;
    if (n < 0) return false;
    word = (word << 4) | n;
    if (++digits % 8 === 0) {
      out[digits / 8 - 1] = word;
      word = 0;
    }
  }
  return true;
}

/**
 * The most recent decisions, found by decision ID, in a fixed ring of `2 × size` slots that
 * holds what a response needs of each: when, for whom, until when, and its shape (shared with
 * the decisions like it). The IDs the service writes (UUIDs) are kept as 128 bits in a typed
 * array and found through an open-addressing index (linear probing; a slot taken over is
 * removed by shifting back the entries after it), so a decision leaves no key string, map
 * entry or record object behind: only its customer ID string, which a response is checked
 * against. Any other ID (none the service makes) is kept in a map beside.
 *
 * It replaces a pair of maps whose entries every collection of the old generation had to
 * trace: some 165 bytes of objects per decision, 33 MB for 200 000.
 */
export class RecentDecisions {
  private readonly capacity: number;
  private readonly ids: Uint32Array;
  private readonly at: Float64Array;
  /** NaN: none (the log's window applies) */
  private readonly until: Float64Array;
  private readonly customers: (string | undefined)[];
  private readonly shapes: (Shape | undefined)[];
  /** the ID of a slot whose ID is not a UUID, found through `others` */
  private readonly otherIds: (string | undefined)[];
  private readonly others = new Map<string, number>();
  /** slot + 1 per position; 0 is empty */
  private readonly index: Int32Array;
  private readonly mask: number;
  private next = 0;
  private readonly shapeTree = new Shapes();
  private readonly words = new Uint32Array(4);

  /** Keeps at least the last `size` decisions (exactly the last 2 × size). */
  constructor(size: number) {
    this.capacity = 2 * Math.max(1, Math.floor(size));
    this.ids = new Uint32Array(4 * this.capacity);
    this.at = new Float64Array(this.capacity);
    this.until = new Float64Array(this.capacity);
    this.customers = new Array(this.capacity).fill(undefined);
    this.shapes = new Array(this.capacity).fill(undefined);
    this.otherIds = new Array(this.capacity).fill(undefined);
    // at most half full: probes stay short
    let positions = 2;
    while (positions < 2 * this.capacity) positions *= 2;
    this.index = new Int32Array(positions);
    this.mask = positions - 1;
  }

  remember(e: DecisionEntry): void {
    const id = e.decision.decisionId;
    const uuid = uuidWords(id, this.words);
    // a decision remembered again replaces the first
    const known = uuid ? this.find(this.words) : this.others.get(id);
    if (known !== undefined) this.forget(known);
    const slot = this.next;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    if (this.customers[slot] !== undefined) this.forget(slot);
    this.customers[slot] = e.decision.customerId;
    this.shapes[slot] = this.shapeTree.shapeOf(e);
    this.at[slot] = e.at;
    this.until[slot] = e.respondUntil ?? Number.NaN;
    if (uuid) {
      this.ids.set(this.words, 4 * slot);
      let i = this.home(this.words[0]!, this.words[3]!);
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
      this.index[i] = slot + 1;
    } else {
      this.otherIds[slot] = id;
      this.others.set(id, slot);
    }
  }

  get(decisionId: string): Remembered | undefined {
    const slot = uuidWords(decisionId, this.words) ? this.find(this.words) : this.others.get(decisionId);
    if (slot === undefined) return undefined;
    const until = this.until[slot]!;
    return {
      customerId: this.customers[slot]!,
      at: this.at[slot]!,
      until: Number.isNaN(until) ? undefined : until,
      shape: this.shapes[slot]!,
    };
  }

  /** How many decisions it holds. */
  get size(): number {
    let n = 0;
    for (const c of this.customers) if (c !== undefined) n++;
    return n;
  }

  /** The words' position when nothing collides: their first and last words are random bits. */
  private home(first: number, last: number): number {
    return (first ^ last) & this.mask;
  }

  private homeOfSlot(slot: number): number {
    return this.home(this.ids[4 * slot]!, this.ids[4 * slot + 3]!);
  }

  /** The slot holding the UUID `w`, if any. */
  private find(w: Uint32Array): number | undefined {
    const ids = this.ids;
    for (let i = this.home(w[0]!, w[3]!); ; i = (i + 1) & this.mask) {
      const e = this.index[i]!;
      if (e === 0) return undefined;
      const b = 4 * (e - 1);
      if (ids[b] === w[0] && ids[b + 1] === w[1] && ids[b + 2] === w[2] && ids[b + 3] === w[3]) return e - 1;
    }
  }

  /** Empties `slot` and takes its ID out of the index (or the map of other IDs). */
  private forget(slot: number): void {
    const other = this.otherIds[slot];
    this.customers[slot] = undefined;
    this.shapes[slot] = undefined;
    if (other !== undefined) {
      this.otherIds[slot] = undefined;
      this.others.delete(other);
      return;
    }
    const index = this.index;
    const mask = this.mask;
    let i = this.homeOfSlot(slot);
    while (index[i] !== slot + 1) i = (i + 1) & mask;
    // shift back the entries of the run after it that may sit at i, so no probe stops short
    for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const k = this.homeOfSlot(index[j]! - 1);
      // the entry at j stays when its home lies cyclically in (i, j]
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      index[i] = index[j]!;
      i = j;
    }
    index[i] = 0;
  }
}
