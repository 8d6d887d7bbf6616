import { compileOutbound } from './journeys.js';
import { outboundChannels } from './load-journeys.js';
import { reachablePhases, reachableSegments } from './phases.js';
import type { RuleIssue, SourceFile } from './positions.js';
import type { Journey, JourneyStep, Manifest, Offer } from './schema.js';

const quoteAll = (vs: Iterable<string>) => [...vs].map((v) => JSON.stringify(v)).join(', ');

/** Values both sets allow; undefined stands for "any". */
function meet(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): ReadonlySet<string> | undefined {
  if (!a || !b) return a ?? b;
  return new Set([...a].filter((v) => b.has(v)));
}

/** The offers a step may send: the one it names, or those of its groups with a treatment for its channel. */
const offersOf = (step: JourneyStep, offers: readonly Offer[]): Offer[] =>
  offers.filter((o) =>
    step.offer !== undefined
      ? o.id === step.offer
      : step.bestOf?.includes(o.group) === true && Object.hasOwn(o.treatments, step.channel),
  );

/**
 * Why no offer of a step can be eligible for the journey's customers — their lifecycle phase at
 * entry (kept while they stay, unless phase changes do not end it) and the step's segments — or undefined.
 */
function neverSent(journey: Journey, step: JourneyStep, offers: readonly Offer[]): string | undefined {
  const phases = journey.exits.phaseChange ? reachablePhases(journey.entry) : undefined;
  const segments = meet(reachableSegments(journey.entry), step.segments && new Set(step.segments));
  if (segments?.size === 0)
    return `step "${step.id}" is for value segments the journey's entry never lets in: it is never sent`;
  const candidates = offersOf(step, offers);
  const possible = candidates.some((o) => {
    const p = meet(phases, reachablePhases(o.eligibility));
    const s = meet(segments, reachableSegments(o.eligibility));
    return (p === undefined || p.size > 0) && (s === undefined || s.size > 0);
  });
  if (possible || candidates.length === 0) return undefined;
  const who = [
    phases && `lifecycle phase ${quoteAll(phases)}`,
    segments && `value segment ${quoteAll(segments)}`,
  ].filter(Boolean);
  const what = step.offer !== undefined ? `offer "${step.offer}"` : `no offer of group ${quoteAll(step.bestOf ?? [])}`;
  return step.offer !== undefined
    ? `${what} can never be eligible for this step's customers (${who.join(', ')}): step "${step.id}" is never sent`
    : `${what} on channel "${step.channel}" can be eligible for this step's customers (${who.join(', ')}): step "${step.id}" is never sent`;
}

export interface JourneyLintFiles {
  readonly journeys: ReadonlyMap<string, SourceFile>;
  readonly manifest: SourceFile;
}

/** Steps that can never be sent, and outbound channels no step sends on. */
export function lintJourneys(
  manifest: Manifest,
  journeys: readonly Journey[],
  offers: readonly Offer[],
  files: JourneyLintFiles,
): RuleIssue[] {
  const warnings: RuleIssue[] = [];
  const outbound = compileOutbound(manifest);
  const used = new Set<string>();
  for (const journey of journeys) {
    const src = files.journeys.get(journey.id)!;
    for (const [i, step] of journey.steps.entries()) {
      used.add(step.channel);
      const never = neverSent(journey, step, offers);
      if (never)
        warnings.push(src.issue(['steps', i, step.offer !== undefined ? 'offer' : 'bestOf'], never, 'warning'));
      if (outbound.channels.get(step.channel)?.capacity === 0)
        warnings.push(
          src.issue(
            ['steps', i, 'channel'],
            `channel "${step.channel}" has a capacity of 0 contacts a run in manifest.json: step "${step.id}" is never sent`,
            'warning',
          ),
        );
    }
  }
  for (const channel of outboundChannels(manifest))
    if (!used.has(channel))
      warnings.push(
        files.manifest.issue(
          ['outbound', 'channels', channel],
          `outbound channel "${channel}" is used by no journey step`,
          'warning',
          'key',
        ),
      );
  return warnings;
}
