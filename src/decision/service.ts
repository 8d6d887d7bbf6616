import type { Logger } from 'pino';
import { type ContactState, EMPTY_CONTACTS, type InteractionMark, interactionDecision } from '../contacts/state.js';
import type { ContactStore } from '../contacts/store.js';
import type { DecisionLog } from '../decision-log/store.js';
import { ApiError } from '../errors.js';
import type { PropensityModel } from '../learning/model.js';
import type { Metrics } from '../ops/metrics.js';
import type { Profile } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import type { RuleSet } from '../rules/ruleset.js';
import { Arms } from './arms.js';
import type { Arm } from './assign.js';
import { decide, type Outcome } from './decide.js';
import { explain, type OfferExplanation } from './explain.js';
import { Interactions } from './interactions.js';
import type { Decision, DecisionInput, DecisionRequest } from './types.js';

export type DecisionResponse = Decision & { readonly explanation?: OfferExplanation[] };

export interface DecisionServiceOptions {
  readonly decisionLog: DecisionLog;
  /** the customers' arms and the challenger, if any; by default the active rule set's control group alone */
  readonly arms?: Arms;
  /** told of every decision that reached a customer (not explain previews) */
  readonly onDecision?: (decision: Decision) => void;
  readonly random?: () => number;
  /** past this many ms since the request began, a decision stops retrying its reservation */
  readonly budgetMs?: number;
}

/** What a reservation ends in: the outcome to answer, or the decision of the interaction a concurrent request made. */
type Reserved = Outcome | { readonly decisionId: string; readonly contacts: ContactState; readonly outcome: Outcome };

/** How often a decision re-reads contact state after another write to it won the race. */
const PRESENT_RETRIES = 2;

/**
 * Looks the customer up (profile and contact state read together), picks the arm, runs the
 * synchronous engine on the arm's snapshot, then reserves what the answer presents so
 * concurrent decisions cannot together exceed a cap; records metrics and the decision log.
 */
export class DecisionService {
  private readonly decisionLog: DecisionLog;
  readonly arms: Arms;
  private readonly onDecision: (decision: Decision) => void;
  private readonly random: () => number;
  private readonly budgetMs: number;
  private readonly interactions: Interactions;
  /** round trips to the store waited for, by step */
  private readonly trips: {
    readonly read: { n: number };
    readonly reserve: { n: number };
    readonly reread: { n: number };
  };

  constructor(
    private readonly rules: RuleSetRegistry,
    private readonly profiles: ProfileStore,
    private readonly contacts: ContactStore,
    private readonly model: PropensityModel,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    options: DecisionServiceOptions,
  ) {
    this.decisionLog = options.decisionLog;
    this.arms = options.arms ?? new Arms(rules);
    this.onDecision = options.onDecision ?? (() => {});
    this.random = options.random ?? Math.random;
    this.budgetMs = options.budgetMs ?? 30;
    this.interactions = new Interactions(this.decisionLog, rules);
    const trips = metrics.storeRoundTrips;
    this.trips = { read: trips.slot('read'), reserve: trips.slot('reserve'), reread: trips.slot('reread') };
  }

  /** `requestId` names the request in the log lines about it. */
  async decide(request: DecisionRequest, requestId?: string): Promise<DecisionResponse> {
    const started = performance.now();
    const champion = this.rules.active;
    if (!champion) throw new ApiError('not_ready', 'no rule set is active yet');
    if (!champion.byChannel.has(request.channel)) {
      throw new ApiError(
        'unknown_channel',
        `channel "${request.channel}" is not one of: ${[...champion.byChannel.keys()].join(', ')}`,
        [{ path: '/channel', message: `expected one of ${[...champion.byChannel.keys()].join(', ')}` }],
      );
    }
    const challenger = this.arms.challenger?.ruleset;
    let arm = this.arms.of(request.customerId, champion);
    // a challenger without this channel leaves its customers to the champion here
    if (arm === 'challenger' && !challenger?.byChannel.has(request.channel)) arm = 'champion';
    const ruleset = arm === 'challenger' ? challenger! : champion;
    const id = request.customerId;

    // an explain is a preview: it neither repeats an interaction's decision nor opens one
    const interactionId = request.explain ? undefined : request.interactionId;
    // both reads leave before either is awaited: one round trip to Redis
    const needsContacts = ruleset.policy.rules.length > 0 || interactionId !== undefined;
    let contacts: ContactState | undefined = EMPTY_CONTACTS;
    let contactsLater: Promise<ContactState | undefined> | undefined;
    if (needsContacts) {
      try {
        const read = this.contacts.read(id);
        if (read instanceof Promise) contactsLater = read.catch(() => undefined);
        else contacts = read;
      } catch {
        contacts = undefined;
      }
    }
    let degraded = false;
    // a cached profile is used without a trip through the event loop
    let profile: Profile | null | undefined = this.profiles.peek?.(id);
    if (profile === undefined || contactsLater) this.trips.read.n++;
    if (profile === undefined) {
      try {
        profile = await this.profiles.get(id);
      } catch (err) {
        // the store failed: answer with fallback offers rather than an error. Not logged per
        // request (an outage would flood the log): the store logs its state changes and counts failures
        degraded = true;
        this.log.debug(
          { err: (err as Error).message, store: this.profiles.kind, requestId },
          'profile look-up failed; answering with fallback offers',
        );
      }
    }
    if (contactsLater) contacts = await contactsLater;
    const now = Date.now();

    let interaction: InteractionMark | undefined;
    if (interactionId !== undefined && contacts !== undefined) {
      const again = await this.again(request, interactionId, contacts, now, started);
      if (again) return again;
      const expiresAt = now + ruleset.manifest.interactionMinutes * 60_000;
      interaction = { channel: request.channel, interactionId, expiresAt };
    }

    const input: DecisionInput = { request, profile: profile ?? undefined, degraded };
    let outcome = decide(ruleset, input, this.model, { contacts, now, arm, random: this.random });
    if (!request.explain) {
      let reserved = this.reserve(ruleset, input, outcome, contacts, arm, now, started, interaction);
      if (reserved instanceof Promise) reserved = await reserved;
      if ('decisionId' in reserved) {
        // another request of the interaction decided first
        const again = await this.again(request, interactionId!, reserved.contacts, now, started);
        if (again) return again;
        outcome = reserved.outcome;
      } else outcome = reserved;
    }
    const { decision } = outcome;
    if (interaction) this.interactions.remember(decision, now);
    this.decisionLog.append({
      decision,
      at: now,
      preview: request.explain === true,
      interactionId: decision.interactionId,
      clv: input.profile?.clv ?? null,
      churnScore: input.profile?.churnScore ?? null,
    });
    // an explanation is a preview: in the log, but no contact, counter, tally or learning
    if (request.explain) return { ...decision, explanation: await explain(ruleset, input, outcome, contacts, now) };
    this.record(decision, (performance.now() - started) / 1e3);
    this.onDecision(decision);
    return decision;
  }

  /**
   * The decision an open interaction stands by, as a repeated request gets it: nothing is
   * presented, reserved, logged or tallied again. Undefined when the interaction has none (or
   * it cannot be found): the request is then decided anew.
   */
  private async again(
    request: DecisionRequest,
    interactionId: string,
    contacts: ContactState,
    now: number,
    started: number,
  ): Promise<DecisionResponse | undefined> {
    const open = interactionDecision(contacts, request.channel, interactionId, now);
    if (open === undefined) return undefined;
    const decision = await this.interactions.again(open.decisionId, request, contacts);
    if (decision === undefined) return undefined;
    const m = this.metrics;
    m.decisionDuration.observe((performance.now() - started) / 1e3);
    m.decisions.slot(decision.channel, 'repeated').n++;
    return decision;
  }

  /**
   * Adds what the answer presents, and the interaction it answers, to the customer's contact
   * state, if nobody wrote it since it was read; otherwise reads it again and decides again,
   * while the budget lasts — unless the state read again shows the interaction decided by a
   * concurrent request, which then answers (returned with the state). When that keeps failing,
   * or the state cannot be written, the answer is decided again on the last state read with
   * every offer a cap counts held back (fail closed), and is degraded. A store that answers at
   * once (in memory) and takes the first reservation leaves this without a promise.
   */
  private reserve(
    ruleset: RuleSet,
    input: DecisionInput,
    first: Outcome,
    read: ContactState | undefined,
    arm: Arm,
    now: number,
    started: number,
    interaction: InteractionMark | undefined,
  ): Reserved | Promise<Reserved> {
    // without the history the rules' whenHistoryUnavailable has decided; there is no version to write against
    if (read === undefined) return { ...first, presented: [] };
    if (first.presented.length === 0 && interaction === undefined) return first;
    let result: boolean | Promise<boolean>;
    try {
      result = this.present(input, read, first, now, interaction);
    } catch {
      return this.heldBack(ruleset, input, first, read, arm, now);
    }
    if (result === true) return first;
    return this.reserveAgain(ruleset, input, first, read, arm, now, started, interaction, result);
  }

  /** Asks the store to add what the outcome presents to the contact state it was decided on; a trip to the store is counted. */
  private present(
    input: DecisionInput,
    contacts: ContactState,
    outcome: Outcome,
    now: number,
    interaction: InteractionMark | undefined,
  ): boolean | Promise<boolean> {
    const result = this.contacts.reserve(
      input.request.customerId,
      contacts.version,
      outcome.decision.decisionId,
      outcome.presented,
      now,
      interaction,
    );
    if (result instanceof Promise) this.trips.reserve.n++;
    return result;
  }

  /** reserve() past the first answer: `result` is the first reservation's. */
  private async reserveAgain(
    ruleset: RuleSet,
    input: DecisionInput,
    first: Outcome,
    read: ContactState,
    arm: Arm,
    now: number,
    started: number,
    interaction: InteractionMark | undefined,
    result: boolean | Promise<boolean>,
  ): Promise<Reserved> {
    let outcome = first;
    let contacts: ContactState = read;
    for (let attempt = 0; ; attempt++) {
      let applied: boolean;
      try {
        applied = result instanceof Promise ? await result : result;
      } catch {
        break;
      }
      if (applied) return outcome;
      if (attempt === PRESENT_RETRIES || performance.now() - started > this.budgetMs) break;
      try {
        const again = this.contacts.read(input.request.customerId);
        if (again instanceof Promise) this.trips.reread.n++;
        contacts = again instanceof Promise ? await again : again;
      } catch {
        break;
      }
      if (interaction !== undefined) {
        const open = interactionDecision(contacts, interaction.channel, interaction.interactionId, now);
        if (open !== undefined) return { decisionId: open.decisionId, contacts, outcome };
      }
      outcome = decide(ruleset, input, this.model, { contacts, now, arm, random: this.random });
      if (outcome.presented.length === 0 && interaction === undefined) return outcome;
      try {
        result = this.present(input, contacts, outcome, now, interaction);
      } catch {
        break;
      }
    }
    return this.heldBack(ruleset, input, outcome, contacts, arm, now);
  }

  /** The answer when its reservation failed: decided again with every offer a cap counts held back, degraded. */
  private heldBack(
    ruleset: RuleSet,
    input: DecisionInput,
    outcome: Outcome,
    contacts: ContactState,
    arm: Arm,
    now: number,
  ): Outcome {
    if (outcome.presented.length === 0) return outcome;
    return decide(ruleset, { ...input, degraded: true }, this.model, {
      contacts,
      now,
      arm,
      random: this.random,
      holdCapped: true,
    });
  }

  private record(decision: Decision, seconds: number): void {
    const outcome = decision.degraded
      ? 'degraded'
      : !decision.profile.found
        ? 'fallback'
        : decision.offers.length
          ? 'offers'
          : 'no_offers';
    const m = this.metrics;
    m.decisionDuration.observe(seconds);
    m.decisions.slot(decision.channel, outcome).n++;
    for (const o of decision.offers) m.offersServed.slot(o.offerId, o.group).n++;
  }
}
