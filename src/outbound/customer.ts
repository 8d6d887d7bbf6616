import { createHash } from 'node:crypto';
import type { ContactState } from '../contacts/state.js';
import { armOf } from '../decision/arms.js';
import type { Arm } from '../decision/assign.js';
import { decide, type Outcome } from '../decision/decide.js';
import type { PropensityModel } from '../learning/model.js';
import { mixSeed, seededRng } from '../math/random.js';
import type { Profile } from '../profiles/schema.js';
import type { CompiledOffer, RuleSet } from '../rules/index.js';
import type { Learning } from '../rules/schema.js';
import { type DueStep, type JourneyMoves, journeyMoves } from './journeys.js';
import type { Week } from './week.js';

/** What every customer of one run is decided with. */
export interface RunContext {
  readonly ruleset: RuleSet;
  /** the learned propensities, read as their means: a run ranks by expected value, without exploration */
  readonly model: PropensityModel;
  readonly week: Week;
  /** the outbound channels this run decides, in output order */
  readonly channels: readonly string[];
}

/** A model that ranks by the estimate: a re-run of the week must rank the same. */
export function withoutExploration(model: PropensityModel, learning: Learning): PropensityModel {
  const estimate: Learning = { ...learning, exploration: 'none' };
  return { assess: (offer, channel, profile) => model.assess(offer, channel, profile, estimate) };
}

/** One channel's decision for a customer this week: its best offer among the due steps', or none. */
export interface ChannelChoice {
  readonly channel: string;
  /** the step the offer answers (the first due step on the channel that can send it) */
  readonly step: DueStep;
  readonly outcome: Outcome;
}

export interface CustomerWeek {
  readonly moves: JourneyMoves;
  readonly arm: Arm;
  /** one per run channel with a due step, in the run's channel order */
  readonly choices: ChannelChoice[];
}

/** A decision ID fixed by the run, the customer and the channel (UUID layout, version 8): a re-run issues the same. */
export function outboundDecisionId(week: Week, customerId: string, channel: string): string {
  const h = createHash('sha256').update(`outbound\n${week.key}\n${customerId}\n${channel}`).digest('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** How an outbound decision names what it answers: the run, in the decision log's interactionId. */
export const runInteraction = (week: Week): string => `outbound-${week.key}`;

const sends = (step: DueStep, offer: CompiledOffer) =>
  step.step.offer !== undefined ? step.step.offer === offer.id : step.step.groups!.has(offer.group);

/** The customer's week decided by the inbound engine: one decision per run channel with a due step. */
export function decideCustomer(ctx: RunContext, profile: Profile, state: ContactState): CustomerWeek {
  const { ruleset, week } = ctx;
  const moves = journeyMoves(ruleset, profile, state, week);
  const arm = armOf(profile.customerId, ruleset);
  const choices: ChannelChoice[] = [];
  if (moves.due.length === 0) return { moves, arm, choices };
  for (const channel of ctx.channels) {
    const steps = moves.due.filter((d) => d.step.channel === channel);
    if (steps.length === 0) continue;
    const outcome = decideOn(ctx, profile, state, channel, arm, (o) => steps.some((s) => sends(s, o)));
    const offer = outcome.decision.offers[0];
    const step =
      offer === undefined
        ? steps[0]!
        : steps.find((s) => s.step.offer === offer.offerId || s.step.groups?.has(offer.group))!;
    choices.push({ channel, step, outcome });
  }
  return { moves, arm, choices };
}

/** decide() for one outbound channel, limited to `only`, with the run's decision ID and seeded order. */
export function decideOn(
  ctx: RunContext,
  profile: Profile,
  state: ContactState,
  channel: string,
  arm: Arm,
  only: (offer: CompiledOffer) => boolean,
): Outcome {
  const customerId = profile.customerId;
  const decisionId = outboundDecisionId(ctx.week, customerId, channel);
  return decide(
    ctx.ruleset,
    { request: { customerId, channel, limit: 1, interactionId: runInteraction(ctx.week) }, profile, degraded: false },
    ctx.model,
    {
      contacts: state,
      now: ctx.week.start,
      arm,
      only,
      decisionId,
      random: seededRng(mixSeed(Number.parseInt(decisionId.slice(0, 8), 16), ctx.week.index)),
    },
  );
}
