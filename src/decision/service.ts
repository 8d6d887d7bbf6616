import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { Profile } from '../profiles/schema.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RuleSetRegistry } from '../rules/registry.js';
import { decide } from './decide.js';
import { explain, type OfferExplanation } from './explain.js';
import { noDecisionLog, type DecisionLog } from './log.js';
import type { PropensityModel } from './propensity.js';
import type { Decision, DecisionRequest } from './types.js';

export type DecisionResponse = Decision & { readonly explanation?: OfferExplanation[] };

/** Looks the customer up, runs the synchronous engine on the active snapshot, records metrics and the decision log. */
export class DecisionService {
  constructor(
    private readonly rules: RuleSetRegistry,
    private readonly profiles: ProfileStore,
    private readonly model: PropensityModel,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly decisionLog: DecisionLog = noDecisionLog,
  ) {}

  async decide(request: DecisionRequest): Promise<DecisionResponse> {
    const started = performance.now();
    const ruleset = this.rules.active;
    if (!ruleset) throw new ApiError('not_ready', 'no rule set is active yet');
    if (!ruleset.byChannel.has(request.channel)) {
      throw new ApiError('unknown_channel', `channel "${request.channel}" is not one of: ${ruleset.manifest.channels.join(', ')}`, [
        { path: '/channel', message: `expected one of ${ruleset.manifest.channels.join(', ')}` },
      ]);
    }
    let degraded = false;
    // a cached profile is used without a trip through the event loop
    let profile: Profile | null | undefined = this.profiles.peek?.(request.customerId);
    if (profile === undefined) {
      try {
        profile = await this.profiles.get(request.customerId);
      } catch (err) {
        // the store failed: answer with fallback offers rather than an error. Not logged per
        // request (an outage would flood the log): the store logs its state changes and counts failures
        degraded = true;
        this.log.debug({ err: (err as Error).message, store: this.profiles.kind }, 'profile look-up failed; answering with fallback offers');
      }
    }
    const input = { request, profile: profile ?? undefined, degraded };
    const outcome = decide(ruleset, input, this.model);
    const { decision } = outcome;
    const seconds = (performance.now() - started) / 1e3;
    this.record(decision, seconds);
    this.decisionLog.append(decision, Date.now());
    if (!request.explain) return decision;
    return { ...decision, explanation: await explain(ruleset, input, outcome) };
  }

  private record(decision: Decision, seconds: number): void {
    const outcome = decision.degraded ? 'degraded' : !decision.profile.found ? 'fallback' : decision.offers.length ? 'offers' : 'no_offers';
    const m = this.metrics;
    m.decisionDuration.observe(seconds);
    m.decisions.slot(decision.channel, outcome).n++;
    for (const o of decision.offers) m.offersServed.slot(o.offerId, o.group).n++;
  }
}
