import type { ArmName, DecisionEntry } from './store.js';

/**
 * Decision entries as bytes, for the file log's writer thread: what the decision path writes
 * per decision is a few numbers and three short strings, no text of the record (formatting
 * numbers as JSON is the costly part of a record, and it happens in the writer).
 *
 * The names a decision shares with others (channel, arm, rule-set version, segment, phase,
 * offer ids and groups) are sent once, as words, and then by index. A record is:
 *
 *   u8 flags · f64 at · str decisionId · str customerId · u32 channel · [str interactionId]
 *   u32 arm · u32 rulesetVersion · [u32 valueSegment] · [u32 lifecyclePhase]
 *   f64 clv · f64 churnScore · u32 offers × (u32 offerId · u32 group · f64 rank · f64 score · f64 propensity)
 *
 * little-endian, `str` being a u32 byte length and UTF-8 bytes, a null number being NaN
 * (the record writes any non-finite number as null, so the line is the same).
 */
const DEGRADED = 1;
const PREVIEW = 2;
const FOUND = 4;
const INTERACTION = 8;
const SEGMENT = 16;
const PHASE = 32;

/** Words before the vocabulary starts over (rule-set versions and offer ids come and go). */
export const MOST_WORDS = 100_000;

/** The names sent by index; what was added since last taken goes with the next bytes. */
export class Vocabulary {
  private readonly ids = new Map<string, number>();
  private added: string[] = [];

  id(word: string): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(word, id);
      this.added.push(word);
    }
    return id;
  }

  get size(): number {
    return this.ids.size;
  }

  /** The words added since the last call. */
  take(): string[] {
    const added = this.added;
    this.added = [];
    return added;
  }

  /** Every word again, in the order of their indexes: for a reader that knows none. */
  resend(): void {
    this.added = [...this.ids.keys()];
  }

  clear(): void {
    this.ids.clear();
    this.added = [];
  }
}

/** The most bytes an entry can take: checked before writing it. */
export function mostBytes(e: DecisionEntry): number {
  const d = e.decision;
  return 64 + 3 * (d.decisionId.length + d.customerId.length + (e.interactionId?.length ?? 0)) + 32 * d.offers.length;
}

const orNaN = (n: number | null): number => (n === null ? Number.NaN : n);

/** The view encode writes numbers through: a DataView's setters are cheaper than Buffer's write methods. */
let viewed: Buffer | undefined;
let view: DataView | undefined;
function viewOf(buf: Buffer): DataView {
  if (buf !== viewed || view === undefined) {
    viewed = buf;
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return view;
}

/** Writes `e` at `at` in `buf` (which has mostBytes(e) from there); returns the offset after it. */
export function encode(e: DecisionEntry, words: Vocabulary, buf: Buffer, at: number): number {
  const d = e.decision;
  const p = d.profile;
  const v = viewOf(buf);
  const flags =
    (d.degraded ? DEGRADED : 0) |
    (e.preview ? PREVIEW : 0) |
    (p.found ? FOUND : 0) |
    (e.interactionId !== null ? INTERACTION : 0) |
    (p.valueSegment !== null ? SEGMENT : 0) |
    (p.lifecyclePhase !== null ? PHASE : 0);
  buf[at] = flags;
  v.setFloat64(at + 1, e.at, true);
  let o = str(buf, v, at + 9, d.decisionId);
  o = str(buf, v, o, d.customerId);
  o = u32(v, o, words.id(d.channel));
  if (e.interactionId !== null) o = str(buf, v, o, e.interactionId);
  o = u32(v, o, words.id(d.arm));
  o = u32(v, o, words.id(d.rulesetVersion));
  if (p.valueSegment !== null) o = u32(v, o, words.id(p.valueSegment));
  if (p.lifecyclePhase !== null) o = u32(v, o, words.id(p.lifecyclePhase));
  o = f64(v, o, orNaN(e.clv));
  o = f64(v, o, orNaN(e.churnScore));
  o = u32(v, o, d.offers.length);
  for (const offer of d.offers) {
    o = u32(v, o, words.id(offer.offerId));
    o = u32(v, o, words.id(offer.group));
    o = f64(v, o, offer.rank);
    o = f64(v, o, offer.score);
    o = f64(v, o, offer.propensity);
  }
  return o;
}

function u32(v: DataView, at: number, n: number): number {
  v.setUint32(at, n, true);
  return at + 4;
}

function f64(v: DataView, at: number, n: number): number {
  v.setFloat64(at, n, true);
  return at + 8;
}

/** A u32 byte length and the UTF-8 bytes: IDs are ASCII, copied a character at a time; anything else goes through Buffer.write. */
function str(buf: Buffer, v: DataView, at: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      const bytes = buf.write(s, at + 4);
      v.setUint32(at, bytes, true);
      return at + 4 + bytes;
    }
    buf[at + 4 + i] = c;
  }
  v.setUint32(at, n, true);
  return at + 4 + n;
}

/** The words a reader knows, with each one's JSON text as bytes. */
export class Words {
  private readonly words: string[] = [];
  private readonly json: Buffer[] = [];

  add(words: readonly string[]): void {
    for (const w of words) {
      this.words.push(w);
      this.json.push(Buffer.from(JSON.stringify(w)));
    }
  }

  clear(): void {
    this.words.length = 0;
    this.json.length = 0;
  }

  word(id: number): string {
    const w = this.words[id];
    if (w === undefined) throw new Error('decision log: a record names a word never sent');
    return w;
  }

  bytes(id: number): Buffer {
    const b = this.json[id];
    if (b === undefined) throw new Error('decision log: a record names a word never sent');
    return b;
  }
}

const ascii = (s: string) => Buffer.from(s, 'latin1');
const DECISION_ID = ascii('{"decisionId":');
const AT = ascii(',"at":"');
const CUSTOMER_ID = ascii('","customerId":');
const CHANNEL = ascii(',"channel":');
const INTERACTION_ID = ascii(',"interactionId":');
const ARM = ascii(',"arm":');
const RULESET_VERSION = ascii(',"rulesetVersion":');
const DEGRADED_IS = ascii(',"degraded":');
const PREVIEW_IS = ascii(',"preview":');
const FOUND_IS = ascii(',"profile":{"found":');
const VALUE_SEGMENT = ascii(',"valueSegment":');
const LIFECYCLE_PHASE = ascii(',"lifecyclePhase":');
const CLV = ascii(',"clv":');
const CHURN_SCORE = ascii(',"churnScore":');
const OFFERS = ascii('},"offers":[');
const FIRST_OFFER_ID = ascii('{"offerId":');
const NEXT_OFFER_ID = ascii(',{"offerId":');
const GROUP = ascii(',"group":');
const RANK = ascii(',"rank":');
const SCORE = ascii(',"score":');
const PROPENSITY = ascii(',"propensity":');
const END_OFFER = ascii('}');
const END = ascii(']}\n');
const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The output had no room: the caller writes this record another way. */
class NoRoom extends Error {}
const NO_ROOM = new NoRoom();

/**
 * Reads the records written by encode, in order, with the words known at the time: as
 * entries, or straight as their record lines (recordLine's text, with its newline, written
 * as bytes without the entry's objects or the line's string; held equal by a property test).
 */
export class Reader {
  private o = 0;
  /** the numbers are read through a view: cheaper than Buffer's read methods */
  private readonly view: DataView;

  constructor(
    private readonly buf: Buffer,
    private readonly words: Words,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.o >= this.buf.length;
  }

  /** Epoch ms of the next record. */
  nextAt(): number {
    return this.view.getFloat64(this.o + 1, true);
  }

  entry(): DecisionEntry {
    const buf = this.buf;
    const flags = buf.readUInt8(this.o++);
    const at = this.num();
    const decisionId = this.text();
    const customerId = this.text();
    const channel = this.word();
    const interactionId = flags & INTERACTION ? this.text() : null;
    const arm = this.word() as ArmName;
    const rulesetVersion = this.word();
    const valueSegment = flags & SEGMENT ? this.word() : null;
    const lifecyclePhase = flags & PHASE ? this.word() : null;
    const clv = nullable(this.num());
    const churnScore = nullable(this.num());
    const count = this.u32();
    const offers = new Array<DecisionEntry['decision']['offers'][number]>(count);
    for (let i = 0; i < count; i++) {
      const offerId = this.word();
      const group = this.word();
      offers[i] = { offerId, group, rank: this.num(), score: this.num(), propensity: this.num() };
    }
    return {
      decision: {
        decisionId,
        customerId,
        channel,
        rulesetVersion,
        profile: { found: (flags & FOUND) !== 0, valueSegment, lifecyclePhase },
        offers,
        arm,
        degraded: (flags & DEGRADED) !== 0,
      },
      at,
      preview: (flags & PREVIEW) !== 0,
      interactionId,
      clv,
      churnScore,
    };
  }

  /**
   * Writes the next record's line into `out` from `p`, returning the offset after it; `iso` is
   * the record's time as ISO. With too little room, writes nothing (the reader stays at the
   * record) and returns -1.
   */
  line(out: Buffer, p: number, iso: string): number {
    const start = this.o;
    try {
      return this.writeLine(out, p, iso);
    } catch (err) {
      if (err !== NO_ROOM) throw err;
      this.o = start;
      return -1;
    }
  }

  private writeLine(out: Buffer, p: number, iso: string): number {
    const flags = this.buf.readUInt8(this.o++);
    this.o += 8;
    p = put(out, p, DECISION_ID);
    p = this.string(out, p);
    p = put(out, p, AT);
    p = latin1(out, p, iso);
    p = put(out, p, CUSTOMER_ID);
    p = this.string(out, p);
    p = put(out, p, CHANNEL);
    p = put(out, p, this.words.bytes(this.u32()));
    p = put(out, p, INTERACTION_ID);
    p = flags & INTERACTION ? this.string(out, p) : put(out, p, NULL);
    p = put(out, p, ARM);
    p = put(out, p, this.words.bytes(this.u32()));
    p = put(out, p, RULESET_VERSION);
    p = put(out, p, this.words.bytes(this.u32()));
    p = put(out, p, DEGRADED_IS);
    p = put(out, p, flags & DEGRADED ? TRUE : FALSE);
    p = put(out, p, PREVIEW_IS);
    p = put(out, p, flags & PREVIEW ? TRUE : FALSE);
    p = put(out, p, FOUND_IS);
    p = put(out, p, flags & FOUND ? TRUE : FALSE);
    p = put(out, p, VALUE_SEGMENT);
    p = put(out, p, flags & SEGMENT ? this.words.bytes(this.u32()) : NULL);
    p = put(out, p, LIFECYCLE_PHASE);
    p = put(out, p, flags & PHASE ? this.words.bytes(this.u32()) : NULL);
    p = put(out, p, CLV);
    p = number(out, p, this.num());
    p = put(out, p, CHURN_SCORE);
    p = number(out, p, this.num());
    p = put(out, p, OFFERS);
    const count = this.u32();
    for (let i = 0; i < count; i++) {
      p = put(out, p, i === 0 ? FIRST_OFFER_ID : NEXT_OFFER_ID);
      p = put(out, p, this.words.bytes(this.u32()));
      p = put(out, p, GROUP);
      p = put(out, p, this.words.bytes(this.u32()));
      p = put(out, p, RANK);
      p = number(out, p, this.num());
      p = put(out, p, SCORE);
      p = number(out, p, this.num());
      p = put(out, p, PROPENSITY);
      p = number(out, p, this.num());
      p = put(out, p, END_OFFER);
    }
    return put(out, p, END);
  }

  /** A string field as JSON: its bytes as they are when nothing in them needs escaping. */
  private string(out: Buffer, p: number): number {
    const buf = this.buf;
    const n = this.view.getUint32(this.o, true);
    const from = this.o + 4;
    this.o = from + n;
    if (p + n + 2 > out.length) throw NO_ROOM;
    out[p] = QUOTE;
    for (let i = 0; i < n; i++) {
      const b = buf[from + i]!;
      // control characters, quotes and backslashes are escaped, anything past ASCII is left to JSON.stringify
      if (b < 0x20 || b === QUOTE || b === BACKSLASH || b > 0x7e) {
        const json = JSON.stringify(buf.toString('utf8', from, from + n));
        if (p + Buffer.byteLength(json) > out.length) throw NO_ROOM;
        return p + out.write(json, p);
      }
      out[p + 1 + i] = b;
    }
    out[p + 1 + n] = QUOTE;
    return p + n + 2;
  }

  private word(): string {
    return this.words.word(this.u32());
  }

  private text(): string {
    const n = this.u32();
    const s = this.buf.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }

  private u32(): number {
    const n = this.view.getUint32(this.o, true);
    this.o += 4;
    return n;
  }

  private num(): number {
    const n = this.view.getFloat64(this.o, true);
    this.o += 8;
    return n;
  }
}

const nullable = (n: number): number | null => (Number.isNaN(n) ? null : n);

// put and latin1 copy byte by byte: for the few bytes of a token that beats a call to set() or write()
function put(out: Buffer, p: number, bytes: Buffer): number {
  const n = bytes.length;
  if (p + n > out.length) throw NO_ROOM;
  for (let i = 0; i < n; i++) out[p + i] = bytes[i]!;
  return p + n;
}

/** Text of one-byte characters only (a number, an ISO time). */
function latin1(out: Buffer, p: number, text: string): number {
  const n = text.length;
  if (p + n > out.length) throw NO_ROOM;
  for (let i = 0; i < n; i++) out[p + i] = text.charCodeAt(i);
  return p + n;
}

/** A number as JSON writes it: non-finite ones as null. */
function number(out: Buffer, p: number, n: number): number {
  return Number.isFinite(n) ? latin1(out, p, `${n}`) : put(out, p, NULL);
}
