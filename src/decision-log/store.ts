export type ArmName = 'control' | 'champion' | 'challenger';

/** A decision as the service answered it: the part of decision/types.ts's Decision the log reads. */
export interface AnsweredDecision {
  readonly decisionId: string;
  readonly customerId: string;
  readonly channel: string;
  readonly rulesetVersion: string;
  readonly profile: {
    readonly found: boolean;
    readonly valueSegment: string | null;
    readonly lifecyclePhase: string | null;
  };
  readonly offers: readonly {
    readonly rank: number;
    readonly offerId: string;
    readonly group: string;
    readonly score: number;
    readonly propensity: number;
  }[];
  readonly arm: ArmName;
  readonly degraded: boolean;
}

/** What the decision path hands the log: the answer, and what the record adds to it. */
export interface DecisionEntry {
  readonly decision: AnsweredDecision;
  /** epoch ms */
  readonly at: number;
  /** an explain request: logged, shown to nobody */
  readonly preview: boolean;
  readonly interactionId: string | null;
  readonly clv: number | null;
  readonly churnScore: number | null;
  /** epoch ms until which responses may name it, when later than the log's window allows (an outbound contact) */
  readonly respondUntil?: number;
}

/** The decision-log record: one JSON object per line of the file log, one entry of the Redis stream. */
export interface DecisionRecord {
  readonly decisionId: string;
  /** ISO time */
  readonly at: string;
  readonly customerId: string;
  readonly channel: string;
  readonly interactionId: string | null;
  readonly arm: ArmName;
  readonly rulesetVersion: string;
  readonly degraded: boolean;
  readonly preview: boolean;
  readonly profile: {
    readonly found: boolean;
    readonly valueSegment: string | null;
    readonly lifecyclePhase: string | null;
    readonly clv: number | null;
    readonly churnScore: number | null;
  };
  readonly offers: readonly {
    readonly offerId: string;
    readonly group: string;
    readonly rank: number;
    readonly score: number;
    readonly propensity: number;
  }[];
}

export function toRecord(e: DecisionEntry): DecisionRecord {
  const d = e.decision;
  return {
    decisionId: d.decisionId,
    at: new Date(e.at).toISOString(),
    customerId: d.customerId,
    channel: d.channel,
    interactionId: e.interactionId,
    arm: d.arm,
    rulesetVersion: d.rulesetVersion,
    degraded: d.degraded,
    preview: e.preview,
    profile: {
      found: d.profile.found,
      valueSegment: d.profile.valueSegment,
      lifecyclePhase: d.profile.lifecyclePhase,
      clv: e.clv,
      churnScore: e.churnScore,
    },
    offers: d.offers.map((o) => ({
      offerId: o.offerId,
      group: o.group,
      rank: o.rank,
      score: o.score,
      propensity: o.propensity,
    })),
  };
}

const SAFE = /^[\w .:+-]*$/;
/** A string as JSON: most are IDs and names of a safe alphabet and need no escaping (nor JSON.stringify's call). */
export const quoted = (s: string): string => (SAFE.test(s) ? `"${s}"` : JSON.stringify(s));
export const orNull = (s: string | null): string => (s === null ? 'null' : quoted(s));
/** A finite number as JSON writes it; anything else as null, as JSON writes that. */
export const num = (n: number | null): string => (n !== null && Number.isFinite(n) ? `${n}` : 'null');

/**
 * JSON.stringify(toRecord(e)), written directly: the log's one line per decision without the
 * record's objects (a property test holds the two equal).
 */
export function recordLine(e: DecisionEntry, iso = new Date(e.at).toISOString()): string {
  const d = e.decision;
  const p = d.profile;
  let offers = '';
  for (let i = 0; i < d.offers.length; i++) {
    const o = d.offers[i]!;
    offers += `${i ? ',' : ''}{"offerId":${quoted(o.offerId)},"group":${quoted(o.group)},"rank":${num(o.rank)},"score":${num(o.score)},"propensity":${num(o.propensity)}}`;
  }
  return `{"decisionId":${quoted(d.decisionId)},"at":"${iso}","customerId":${quoted(d.customerId)},"channel":${quoted(d.channel)},"interactionId":${orNull(e.interactionId)},"arm":${quoted(d.arm)},"rulesetVersion":${quoted(d.rulesetVersion)},"degraded":${d.degraded},"preview":${e.preview},"profile":{"found":${p.found},"valueSegment":${orNull(p.valueSegment)},"lifecyclePhase":${orNull(p.lifecyclePhase)},"clv":${num(e.clv)},"churnScore":${num(e.churnScore)}},"offers":[${offers}]}`;
}

/** What a response needs of the decision it names: a part of its record. */
export interface IssuedDecision {
  readonly decisionId: string;
  readonly customerId: string;
  readonly channel: string;
  readonly arm: ArmName;
  readonly preview: boolean;
  readonly profile: { readonly valueSegment: string | null; readonly lifecyclePhase: string | null };
  readonly offers: readonly { readonly offerId: string }[];
}

/** What many decisions have in common: where and how they were made, and the offers presented. */
export interface Shape {
  readonly channel: string;
  readonly arm: ArmName;
  readonly preview: boolean;
  readonly valueSegment: string | null;
  readonly lifecyclePhase: string | null;
  readonly offerIds: readonly string[];
}

/** A decision as remembered for the responses that name it: its customer, its time, and its shape. */
export interface Remembered {
  readonly customerId: string;
  /** epoch ms */
  readonly at: number;
  /** responses may name it until then (epoch ms), past the log's window */
  readonly until: number | undefined;
  readonly shape: Shape;
}

/** Whether responses may still name a remembered decision: within the window, or until its own time. */
export const answerable = (r: Remembered, since: number, now: number): boolean =>
  r.at >= since || (r.until !== undefined && r.until >= now);

/** Shapes kept for sharing; past this they start over. */
const MOST_SHAPES = 10_000;

/** A node of the shapes' tree: the shape of the decisions whose path ends here, and the nodes a name further. */
interface ShapeNode {
  shape: Shape | undefined;
  readonly next: Map<string, ShapeNode>;
}

const shapeNode = (): ShapeNode => ({ shape: undefined, next: new Map() });

/** The node a name further down, added when new. */
function child(node: ShapeNode, name: string): ShapeNode {
  let next = node.next.get(name);
  if (next === undefined) node.next.set(name, (next = shapeNode()));
  return next;
}

/**
 * The shapes decisions share (a customer segment's decisions on a channel mostly present the
 * same offers), each kept once, found down a tree by channel, arm, preview, segment, phase and
 * the offers in order (no key string built per decision).
 */
export class Shapes {
  private shapes = shapeNode();
  private count = 0;

  /** The shape of a decision, shared with those like it. */
  shapeOf(e: DecisionEntry): Shape {
    const d = e.decision;
    const { valueSegment, lifecyclePhase } = d.profile;
    if (this.count >= MOST_SHAPES) {
      this.shapes = shapeNode();
      this.count = 0;
    }
    let node = child(child(child(this.shapes, d.channel), d.arm), e.preview ? '1' : '0');
    node = child(child(node, valueSegment ?? '\n'), lifecyclePhase ?? '\n');
    for (const o of d.offers) node = child(node, o.offerId);
    let shape = node.shape;
    if (shape === undefined) {
      const offerIds = d.offers.map((o) => o.offerId);
      shape = { channel: d.channel, arm: d.arm, preview: e.preview, valueSegment, lifecyclePhase, offerIds };
      node.shape = shape;
      this.count++;
    }
    return shape;
  }
}

export function recalled(decisionId: string, r: Remembered): IssuedDecision {
  const s = r.shape;
  return {
    decisionId,
    customerId: r.customerId,
    channel: s.channel,
    arm: s.arm,
    preview: s.preview,
    profile: { valueSegment: s.valueSegment, lifecyclePhase: s.lifecyclePhase },
    offers: s.offerIds.map((offerId) => ({ offerId })),
  };
}

/** A decision's record as one JSON line, on its way to a file or to Redis, with what the writers look up without parsing it. */
export interface LoggedLine {
  readonly line: string;
  readonly decisionId: string;
  readonly customerId: string;
  /** epoch ms */
  readonly at: number;
  /** its UTC day, YYYY-MM-DD */
  readonly day: string;
  /** responses may name it until then, epoch ms, when later than the log's window */
  readonly respondUntil?: number;
}

/** A time as the log writes it: ISO, and its UTC day. */
export interface Stamp {
  readonly at: number;
  readonly iso: string;
  /** YYYY-MM-DD */
  readonly day: string;
}

/** The last time stamped: decisions of the same millisecond are many under load. */
let last: Stamp = { at: Number.NaN, iso: '', day: '' };

export function stampOf(at: number): Stamp {
  if (at !== last.at) {
    const iso = new Date(at).toISOString();
    last = { at, iso, day: iso.slice(0, 10) };
  }
  return last;
}

export function loggedLine(e: DecisionEntry): LoggedLine {
  const { iso, day } = stampOf(e.at);
  const { decisionId, customerId } = e.decision;
  const line = { line: recordLine(e, iso), decisionId, customerId, at: e.at, day };
  return e.respondUntil === undefined ? line : { ...line, respondUntil: e.respondUntil };
}

/**
 * Where every decision is recorded, for analytics and audits (who got what, when, from which
 * rules), and where the responses that name a decision find it.
 */
export interface DecisionLog {
  /** Called on the hot path: must not wait on anything. */
  append(entry: DecisionEntry): void;
  /**
   * This customer's decisions among `decisionIds`, made within the response window (previews
   * included: the caller refuses responses to them); another customer's are not found.
   */
  find(customerId: string, decisionIds: readonly string[]): Promise<ReadonlyMap<string, IssuedDecision>>;
  /** One decision by its id, whoever's: within the response window, or further back where the log can look. */
  get(decisionId: string): Promise<DecisionRecord | undefined>;
  /** How writing the log goes, where the log can fail on its own (files); undefined where nothing is to say. */
  status?(): { readonly ok: boolean; readonly error: string | null; readonly pending: number } | undefined;
  /** Writes out what is pending (at shutdown). */
  close(): Promise<void>;
}

/**
 * The latest entries by key, in two generations: when the newer is full it becomes the older
 * and the older is dropped whole. An entry is set once and read a few times, so a recency
 * list (an LRU) would be work on every decision for no gain.
 */
export class Generations<V> {
  private newer = new Map<string, V>();
  private older = new Map<string, V>();
  constructor(private readonly size: number) {}
  set(key: string, value: V): void {
    if (this.newer.size >= this.size) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(key, value);
  }
  get(key: string): V | undefined {
    return this.newer.get(key) ?? this.older.get(key);
  }
}
