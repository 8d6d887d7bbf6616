import type { DecisionResponse } from '../decision/index.js';
import type { RankedOffer } from '../decision/types.js';
import type { Treatment } from '../rules/schema.js';

/**
 * JSON text of a decision, faster than JSON.stringify of the whole object: what comes from
 * the rule set (offer id, name, group, treatment) is serialised once per treatment and
 * reused. Output is byte-identical to JSON.stringify (tested).
 */
interface Fragments {
  readonly head: string;
  readonly tail: string;
}
const fragments = new WeakMap<Treatment, Fragments>();
const str = JSON.stringify as (value: string | number) => string;

function fragmentsOf(o: RankedOffer): Fragments {
  let f = fragments.get(o.treatment);
  if (f === undefined) {
    f = {
      head: `,"offerId":${str(o.offerId)},"name":${str(o.name)},"group":${str(o.group)},"score":`,
      tail: `,"treatment":${JSON.stringify(o.treatment)}}`,
    };
    fragments.set(o.treatment, f);
  }
  return f;
}

/** A string as JSON: IDs and names of a safe alphabet need no escaping, and skip JSON.stringify's call. */
const text = (s: string): string => (SAFE.test(s) ? `"${s}"` : str(s));
const SAFE = /^[\w .:+-]*$/;
const nullable = (s: string | null): string => (s === null ? 'null' : text(s));
/** A number as JSON writes it: non-finite ones as null. */
const num = (n: number): string => (Number.isFinite(n) ? `${n}` : 'null');

export function decisionJson(d: DecisionResponse): string {
  if (d.explanation) return JSON.stringify(d);
  let offers = '';
  for (let i = 0; i < d.offers.length; i++) {
    const o = d.offers[i]!;
    const f = fragmentsOf(o);
    offers += `${i === 0 ? '' : ','}{"rank":${o.rank}${f.head}${num(o.score)},"propensity":${num(o.propensity)}${f.tail}`;
  }
  const p = d.profile;
  return (
    `{"decisionId":${text(d.decisionId)},"customerId":${text(d.customerId)},"channel":${text(d.channel)},` +
    `"placement":${nullable(d.placement)},"rulesetVersion":${text(d.rulesetVersion)},` +
    `"profile":{"found":${p.found},"valueSegment":${nullable(p.valueSegment)},"lifecyclePhase":${nullable(p.lifecyclePhase)}},` +
    `"offers":[${offers}],"controlGroup":${d.controlGroup},"arm":${text(d.arm)},` +
    `"interactionId":${nullable(d.interactionId)},"degraded":${d.degraded}}`
  );
}
