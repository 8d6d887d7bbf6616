import { compileCondition, type Predicate } from './compile.js';
import type { Journey, Manifest, Offer } from './schema.js';

export interface CompiledOutboundChannel {
  /** the consent a profile's consents must hold; undefined: none needed */
  readonly consent: string | undefined;
  /** contacts a run may send: capacityPerRun, floor(budget / cost), or the smaller of the two */
  readonly capacity: number | undefined;
  readonly costPerContact: number | undefined;
}

export interface CompiledOutbound {
  readonly channels: ReadonlyMap<string, CompiledOutboundChannel>;
  readonly maxContactsPerRun: number;
}

export interface CompiledStep {
  readonly id: string;
  readonly channel: string;
  /** week steps */
  readonly week: number | undefined;
  readonly every: number | undefined;
  /** wave steps */
  readonly after: string | undefined;
  readonly noResponseDays: number | undefined;
  /** one offer ... */
  readonly offer: string | undefined;
  /** ... or the best of these groups */
  readonly groups: ReadonlySet<string> | undefined;
  readonly segments: ReadonlySet<string> | undefined;
}

export interface CompiledJourney {
  readonly id: string;
  readonly name: string;
  /** compileCondition(journey.entry), over buildFacts(profile, request) */
  readonly entry: Predicate;
  readonly lengthWeeks: number;
  readonly reenterAfterWeeks: number | undefined;
  readonly exitOnPhaseChange: boolean;
  readonly exitOnAccept: boolean;
  readonly steps: readonly CompiledStep[];
  /** offers whose accept ends the journey */
  readonly offerIds: ReadonlySet<string>;
  readonly source: Journey;
}

/** Capacity of a channel a run: the smaller of its count and what its budget buys. */
function capacityOf(c: NonNullable<Manifest['outbound']>['channels'][string]): number | undefined {
  const bought =
    c.budgetPerRun !== undefined && c.costPerContact !== undefined
      ? Math.floor(c.budgetPerRun / c.costPerContact)
      : undefined;
  if (bought === undefined) return c.capacityPerRun;
  return c.capacityPerRun === undefined ? bought : Math.min(bought, c.capacityPerRun);
}

export function compileOutbound(manifest: Manifest): CompiledOutbound {
  const channels = new Map<string, CompiledOutboundChannel>();
  for (const [name, c] of Object.entries(manifest.outbound?.channels ?? {}))
    channels.set(
      name,
      Object.freeze({ consent: c.consent, capacity: capacityOf(c), costPerContact: c.costPerContact }),
    );
  return Object.freeze({ channels, maxContactsPerRun: manifest.outbound?.maxContactsPerRun ?? 1 });
}

const setOf = (values: readonly string[] | undefined) => (values === undefined ? undefined : new Set(values));

/**
 * A journey, compiled. Its offers are those its steps name and, for a bestOf step, the offers
 * of its groups with a treatment for its channel: what the journey could send.
 */
export function compileJourney(journey: Journey, offers: readonly Offer[]): CompiledJourney {
  const offerIds = new Set<string>();
  const steps = journey.steps.map((s): CompiledStep => {
    const groups = setOf(s.bestOf);
    if (s.offer !== undefined) offerIds.add(s.offer);
    for (const o of offers) if (groups?.has(o.group) && Object.hasOwn(o.treatments, s.channel)) offerIds.add(o.id);
    return Object.freeze({
      id: s.id,
      channel: s.channel,
      week: s.week,
      every: s.every,
      after: s.after,
      noResponseDays: s.noResponseDays,
      offer: s.offer,
      groups,
      segments: setOf(s.segments),
    });
  });
  return Object.freeze({
    id: journey.id,
    name: journey.name,
    entry: compileCondition(journey.entry),
    lengthWeeks: journey.lengthWeeks,
    reenterAfterWeeks: journey.reenterAfterWeeks,
    exitOnPhaseChange: journey.exits.phaseChange,
    exitOnAccept: journey.exits.accept,
    steps: Object.freeze(steps),
    offerIds,
    source: journey,
  });
}
