import type { LifecyclePhase, ValueSegment } from '../profiles/schema.js';
import { compileCondition, type Predicate } from './compile.js';
import { type CompiledJourney, type CompiledOutbound, compileJourney, compileOutbound } from './journeys.js';
import type { RuleSetSource } from './load.js';
import { outboundChannels } from './load-journeys.js';
import { indexByCell, indexByPhase, reachablePhases, reachableSegments } from './phases.js';
import { type CompiledPolicy, policySteps } from './policy.js';
import type { RuleIssue } from './positions.js';
import type { Manifest, Offer, OfferGroup, Treatment } from './schema.js';
import { runSteps, runStepsYielding, type Steps } from './steps.js';
import { type CompiledArbitration, compileArbitration } from './weights.js';

export interface CompiledOffer {
  readonly id: string;
  readonly name: string;
  readonly group: OfferGroup;
  readonly value: number;
  readonly fallback: boolean;
  readonly eligible: Predicate;
  readonly treatments: Readonly<Record<string, Treatment>>;
  readonly prior: Readonly<Record<string, number>>;
  /** the offer as written, for the reference engine and explain */
  readonly source: Offer;
  readonly phases: ReadonlySet<string> | undefined;
  readonly segments: ReadonlySet<string> | undefined;
}

/** An immutable, compiled rule-set version: what the hot path reads, never changes once built. */
export interface RuleSet {
  readonly version: string;
  readonly hash: string;
  readonly manifest: Manifest;
  readonly loadedAt: string;
  readonly offers: readonly CompiledOffer[];
  /** the journeys of journeys/, in file-name order */
  readonly journeys: readonly CompiledJourney[];
  /** the manifest's outbound channels, with their consent and capacity a run */
  readonly outbound: CompiledOutbound;
  /** byChannel, byChannelPhase, byChannelCell, fallbackByChannel, control and policy cover inbound and outbound channels */
  readonly byChannel: ReadonlyMap<string, readonly CompiledOffer[]>;
  /** per channel and lifecycle phase: the offers whose eligibility can hold for that phase */
  readonly byChannelPhase: ReadonlyMap<string, ReadonlyMap<LifecyclePhase, readonly CompiledOffer[]>>;
  /** per channel, lifecycle phase and value segment: the offers whose eligibility can hold for both (what a decision evaluates) */
  readonly byChannelCell: ReadonlyMap<
    string,
    ReadonlyMap<LifecyclePhase, ReadonlyMap<ValueSegment, readonly CompiledOffer[]>>
  >;
  readonly fallbackByChannel: ReadonlyMap<string, readonly CompiledOffer[]>;
  readonly arbitration: CompiledArbitration;
  readonly maxOffers: ReadonlyMap<string, number>;
  /** the control group's offers, per channel: which groups it holds out and what it gets of them */
  readonly control: ReadonlyMap<string, ControlView>;
  readonly policy: CompiledPolicy;
  readonly source: RuleSetSource;
  /** its size, as the UTF-8 bytes of its validated files' JSON: what keeping it loaded is measured by */
  readonly bytes: number;
  /** what the checks found valid but almost certainly not meant (lint), as its files were read */
  readonly warnings: readonly RuleIssue[];
}

/** When it was loaded, what it weighs (measured when absent), and the warnings it was read with. */
export interface CompileOptions {
  readonly loadedAt?: Date;
  readonly bytes?: number;
  readonly warnings?: readonly RuleIssue[];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** What the control group gets of the offer groups held out from it, on one channel. */
export interface ControlView {
  readonly heldOut: ReadonlySet<string>;
  /** none: held-out offers are not shown; random: the eligible ones fill their places in random order */
  readonly offers: 'none' | 'random';
}

function compileControl(manifest: Manifest, channels: readonly string[]): Map<string, ControlView> {
  const control = new Map<string, ControlView>();
  const group = manifest.controlGroup;
  if (!group) return control;
  const heldOut = new Set<string>(group.groups);
  for (const channel of channels) {
    const offers = typeof group.offers === 'string' ? group.offers : (group.offers[channel] ?? 'none');
    control.set(channel, { heldOut, offers });
  }
  return control;
}

export const versionOf = (manifest: Manifest, hash: string): string => `${manifest.version}+${hash.slice(0, 8)}`;

/** Offers compiled between two looks at the event loop: a few milliseconds' work. */
const OFFERS_PER_STEP = 250;

/**
 * Compiles in steps, each short even for the largest set the limits allow (5 000 offers:
 * about 30 ms a step at most), so a caller on the thread that answers decisions can let them
 * in between (compileRuleSetInSteps).
 */
function* compileSteps(
  source: RuleSetSource,
  { loadedAt = new Date(), bytes = sourceBytes(source), warnings = [] }: CompileOptions,
): Steps<RuleSet> {
  deepFreeze(source.manifest);
  deepFreeze(source.arbitration);
  deepFreeze(source.contactPolicy);
  const offers: CompiledOffer[] = [];
  for (const o of source.offers) {
    deepFreeze(o);
    offers.push({
      id: o.id,
      name: o.name,
      group: o.group,
      value: o.value,
      fallback: o.fallback,
      eligible: compileCondition(o.eligibility),
      treatments: o.treatments as Record<string, Treatment>,
      prior: o.propensity,
      source: o,
      phases: reachablePhases(o.eligibility),
      segments: reachableSegments(o.eligibility),
    });
    if (offers.length % OFFERS_PER_STEP === 0) yield;
  }
  deepFreeze(source);
  yield;
  const byChannel = new Map<string, CompiledOffer[]>();
  const fallbackByChannel = new Map<string, CompiledOffer[]>();
  const byChannelPhase = new Map<string, ReadonlyMap<LifecyclePhase, readonly CompiledOffer[]>>();
  const byChannelCell = new Map<
    string,
    ReadonlyMap<LifecyclePhase, ReadonlyMap<ValueSegment, readonly CompiledOffer[]>>
  >();
  const channels = [...source.manifest.channels, ...outboundChannels(source.manifest)];
  for (const channel of channels) {
    byChannel.set(
      channel,
      offers.filter((o) => Object.hasOwn(o.treatments, channel)),
    );
    byChannelPhase.set(
      channel,
      indexByPhase(byChannel.get(channel)!, (o) => o.phases),
    );
    byChannelCell.set(
      channel,
      indexByCell(
        byChannel.get(channel)!,
        (o) => o.phases,
        (o) => o.segments,
      ),
    );
    fallbackByChannel.set(
      channel,
      offers.filter((o) => o.fallback && Object.hasOwn(o.treatments, channel)),
    );
    yield;
  }
  const policy = yield* policySteps(
    source.contactPolicy,
    offers.map((o) => ({ id: o.id, group: o.group, channels: Object.keys(o.treatments) })),
    channels,
  );
  const journeys = source.journeys.map((j) => compileJourney(j, source.offers));
  yield;
  const maxOffers = new Map(Object.entries(source.contactPolicy.channels).map(([c, p]) => [c, p.maxOffers] as const));
  return Object.freeze({
    version: versionOf(source.manifest, source.hash),
    hash: source.hash,
    manifest: source.manifest,
    loadedAt: loadedAt.toISOString(),
    offers: Object.freeze(offers.map((o) => Object.freeze(o))),
    journeys: Object.freeze(journeys),
    outbound: compileOutbound(source.manifest),
    byChannel,
    byChannelPhase,
    byChannelCell,
    fallbackByChannel,
    arbitration: compileArbitration(source.arbitration),
    maxOffers,
    control: compileControl(source.manifest, channels),
    policy,
    source,
    bytes,
    warnings,
  });
}

/** The size a version is kept at: the UTF-8 bytes of its validated files' JSON (measured before it is frozen, which makes it slower to write). */
export const sourceBytes = (source: RuleSetSource): number => Buffer.byteLength(JSON.stringify(source));

export const compileRuleSet = (source: RuleSetSource, options: CompileOptions = {}): RuleSet =>
  runSteps(compileSteps(source, options));

/** compileRuleSet with the event loop let in between its steps: what a reload on a serving thread uses. */
export const compileRuleSetInSteps = (source: RuleSetSource, options: CompileOptions = {}): Promise<RuleSet> =>
  runStepsYielding(compileSteps(source, options));
