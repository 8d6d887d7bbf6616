import { type ContactState, DAY_MS } from '../contacts/state.js';
import { buildFacts } from '../decision/facts.js';
import type { Profile } from '../profiles/schema.js';
import type { CompiledJourney, CompiledStep, RuleSet } from '../rules/index.js';
import type { Week } from './week.js';

/**
 * A customer's journey state, as `J|` fields of their contact state (keys here without `J|`):
 *   <journey>|in|<phase>           in the journey since this week index, entered in this phase
 *   <journey>|left                 the week index they left or completed it (for re-entry)
 *   <journey>|s|<step>|<offerId>   when the step last went out, epoch ms; offerId "-" when it was
 *                                  due but held out (control group): the schedule goes on, nothing is sent
 */
export const HELD_OUT_OFFER = '-';

export type ExitReason = 'phase' | 'accept' | 'complete';

export interface DueStep {
  readonly journey: CompiledJourney;
  readonly step: CompiledStep;
}

/** What a week changes for one customer before any contact is chosen. */
export interface JourneyMoves {
  readonly due: DueStep[];
  /** J| fields to set (without the prefix) */
  readonly set: Map<string, number>;
  /** J| fields to drop (without the prefix) */
  readonly drop: string[];
  readonly entered: string[];
  readonly exited: { readonly journey: string; readonly reason: ExitReason }[];
  /** due steps not sent for want of the channel's consent */
  noConsent: number;
}

interface Standing {
  phase: string | undefined;
  since: number | undefined;
  left: number | undefined;
  /** per step: the latest send and its offer */
  sends: Map<string, { readonly at: number; readonly offerId: string; readonly key: string }>;
}

/** What answers a wave: the customer did something with its offer (a complaint too). */
const RESPONSES: ReadonlySet<string> = new Set(['click', 'accept', 'reject', 'complaint']);

function standings(state: ContactState): Map<string, Standing> {
  const out = new Map<string, Standing>();
  for (const [key, value] of state.journeys) {
    const p = key.split('|');
    const id = p[0]!;
    let s = out.get(id);
    if (s === undefined) out.set(id, (s = { phase: undefined, since: undefined, left: undefined, sends: new Map() }));
    if (p[1] === 'in' && p.length === 3) {
      s.phase = p[2];
      s.since = value;
    } else if (p[1] === 'left' && p.length === 2) s.left = value;
    else if (p[1] === 's' && p.length === 4) {
      const last = s.sends.get(p[2]!);
      if (last === undefined || last.at < value) s.sends.set(p[2]!, { at: value, offerId: p[3]!, key });
    }
  }
  return out;
}

const NONE: Standing = { phase: undefined, since: undefined, left: undefined, sends: new Map() };

/** An accept of an offer the journey could send, since it was entered, on any channel: inbound counts too. */
function accepted(journey: CompiledJourney, state: ContactState, since: number): boolean {
  for (const l of state.last)
    if (l.outcome === 'accept' && l.at >= since && journey.offerIds.has(l.offerId)) return true;
  return false;
}

function answered(state: ContactState, offerId: string, after: number): boolean {
  for (const l of state.last) if (l.offerId === offerId && l.at > after && RESPONSES.has(l.outcome)) return true;
  return false;
}

function isDue(step: CompiledStep, s: Standing, weeksIn: number, week: Week, state: ContactState): boolean {
  const last = s.sends.get(step.id);
  // already out this week (a re-evaluation of a week whose writes are in)
  if (last !== undefined && last.at >= week.start) return false;
  if (step.week !== undefined) {
    if (weeksIn < step.week) return false;
    return step.every === undefined ? weeksIn === step.week : (weeksIn - step.week) % step.every === 0;
  }
  const before = s.sends.get(step.after!);
  if (before === undefined) return false;
  if (last !== undefined && last.at >= before.at) return false;
  if (week.start < before.at + step.noResponseDays! * DAY_MS) return false;
  return before.offerId === HELD_OUT_OFFER || !answered(state, before.offerId, before.at);
}

/**
 * Where a customer stands in each journey this week: who leaves (phase changed, accepted,
 * completed), who enters, and which steps are due. A pure function of the rule set, the
 * profile, the contact state and the week: a re-run of the week evaluates the same.
 */
export function journeyMoves(ruleset: RuleSet, profile: Profile, state: ContactState, week: Week): JourneyMoves {
  const moves: JourneyMoves = { due: [], set: new Map(), drop: [], entered: [], exited: [], noConsent: 0 };
  if (ruleset.journeys.length === 0) return moves;
  const all = state.journeys.size === 0 ? undefined : standings(state);
  let facts: ReturnType<typeof buildFacts> | undefined;
  for (const journey of ruleset.journeys) {
    let s = all?.get(journey.id) ?? NONE;
    if (s.since !== undefined) {
      const reason: ExitReason | undefined =
        journey.exitOnPhaseChange && s.phase !== profile.lifecyclePhase
          ? 'phase'
          : journey.exitOnAccept && accepted(journey, state, weekStartOf(s.since, week))
            ? 'accept'
            : week.index - s.since >= journey.lengthWeeks
              ? 'complete'
              : undefined;
      if (reason !== undefined) {
        moves.drop.push(`${journey.id}|in|${s.phase}`);
        for (const send of s.sends.values()) moves.drop.push(send.key);
        moves.set.set(`${journey.id}|left`, week.index);
        moves.exited.push({ journey: journey.id, reason });
        // a cycle that starts again at once (reenterAfterWeeks 0) starts again this week: 52 weeks a cycle, not 53
        if (reason !== 'complete' || journey.reenterAfterWeeks !== 0) continue;
        s = { phase: undefined, since: undefined, left: week.index, sends: new Map() };
      }
    }
    if (s.since === undefined) {
      if (
        s.left !== undefined &&
        (journey.reenterAfterWeeks === undefined || week.index - s.left < journey.reenterAfterWeeks)
      )
        continue;
      facts ??= buildFacts(profile, { customerId: profile.customerId, channel: '' });
      if (!journey.entry(facts)) continue;
      const left = `${journey.id}|left`;
      if (s.left !== undefined && !moves.set.delete(left)) moves.drop.push(left);
      moves.set.set(`${journey.id}|in|${profile.lifecyclePhase}`, week.index);
      moves.entered.push(journey.id);
      s = { phase: profile.lifecyclePhase, since: week.index, left: undefined, sends: new Map() };
    }
    const weeksIn = week.index - s.since!;
    for (const step of journey.steps) {
      if (step.segments !== undefined && !step.segments.has(profile.valueSegment)) continue;
      if (!isDue(step, s, weeksIn, week, state)) continue;
      const consent = ruleset.outbound.channels.get(step.channel)?.consent;
      if (consent !== undefined && !profile.consents.includes(consent)) {
        moves.noConsent++;
        continue;
      }
      moves.due.push({ journey, step });
    }
  }
  return moves;
}

/** The Monday a week index starts on, epoch ms, from a week known to be on the same calendar. */
const weekStartOf = (index: number, week: Week) => week.start - (week.index - index) * 7 * DAY_MS;

/** The J| fields that record a step's send (offerId "-": due, held out), replacing its earlier send. */
export function sendFields(
  state: ContactState,
  journey: string,
  step: string,
  offerId: string,
  at: number,
): { readonly set: readonly [string, number]; readonly drop: readonly string[] } {
  const prefix = `${journey}|s|${step}|`;
  const drop: string[] = [];
  for (const key of state.journeys.keys()) if (key.startsWith(prefix)) drop.push(key);
  return { set: [`${prefix}${offerId}`, at], drop };
}

/** The sends a run wrote for a customer (their `s|` fields at the run's time): what a resumed run lists again. */
export function sentAt(state: ContactState, at: number): { journey: string; step: string; offerId: string }[] {
  const out: { journey: string; step: string; offerId: string }[] = [];
  for (const [key, value] of state.journeys) {
    if (value !== at) continue;
    const p = key.split('|');
    if (p[1] === 's' && p.length === 4) out.push({ journey: p[0]!, step: p[2]!, offerId: p[3]! });
  }
  return out;
}
