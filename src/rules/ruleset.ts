import type { LifecyclePhase, ValueSegment } from '../profiles/schema.js';
import { compileCondition, type Predicate } from './compile.js';
import type { RuleSetSource } from './load.js';
import { indexByCell, indexByPhase, reachablePhases, reachableSegments } from './phases.js';
import { type CompiledPolicy, compilePolicy } from './policy.js';
import type { Manifest, Offer, OfferGroup, Treatment } from './schema.js';
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

function compileControl(manifest: Manifest): Map<string, ControlView> {
  const control = new Map<string, ControlView>();
  const group = manifest.controlGroup;
  if (!group) return control;
  const heldOut = new Set<string>(group.groups);
  for (const channel of manifest.channels) {
    const offers = typeof group.offers === 'string' ? group.offers : (group.offers[channel] ?? 'none');
    control.set(channel, { heldOut, offers });
  }
  return control;
}

export const versionOf = (manifest: Manifest, hash: string): string => `${manifest.version}+${hash.slice(0, 8)}`;

export function compileRuleSet(source: RuleSetSource, loadedAt = new Date()): RuleSet {
  deepFreeze(source);
  const offers: CompiledOffer[] = source.offers.map((o) => ({
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
  }));
  const byChannel = new Map<string, CompiledOffer[]>();
  const fallbackByChannel = new Map<string, CompiledOffer[]>();
  const byChannelPhase = new Map<string, ReadonlyMap<LifecyclePhase, readonly CompiledOffer[]>>();
  const byChannelCell = new Map<
    string,
    ReadonlyMap<LifecyclePhase, ReadonlyMap<ValueSegment, readonly CompiledOffer[]>>
  >();
  for (const channel of source.manifest.channels) {
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
  }
  const maxOffers = new Map(Object.entries(source.contactPolicy.channels).map(([c, p]) => [c, p.maxOffers] as const));
  return Object.freeze({
    version: versionOf(source.manifest, source.hash),
    hash: source.hash,
    manifest: source.manifest,
    loadedAt: loadedAt.toISOString(),
    offers: Object.freeze(offers.map((o) => Object.freeze(o))),
    byChannel,
    byChannelPhase,
    byChannelCell,
    fallbackByChannel,
    arbitration: compileArbitration(source.arbitration),
    maxOffers,
    control: compileControl(source.manifest),
    policy: compilePolicy(
      source.contactPolicy,
      offers.map((o) => ({ id: o.id, group: o.group, channels: Object.keys(o.treatments) })),
      source.manifest.channels,
    ),
    source,
    bytes: Buffer.byteLength(JSON.stringify(source)),
  });
}
