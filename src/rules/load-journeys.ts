import type { Known } from './known-values.js';
import { unknownValues } from './known-values.js';
import type { RuleIssue, SourceFile } from './positions.js';
import type { Journey, JourneyStep, Manifest, Offer } from './schema.js';
import { oneOf, suggestion } from './suggest.js';

/** The outbound channels a manifest declares, in file order. */
export const outboundChannels = (manifest: Manifest): string[] => Object.keys(manifest.outbound?.channels ?? {});

const hasTreatment = (offer: Offer, channel: string) => Object.hasOwn(offer.treatments, channel);

/** What a journey's steps may name: the manifest's channels and the offers, looked up once for every journey. */
export interface JourneyContext {
  readonly manifest: Manifest;
  readonly offers: ReadonlyMap<string, Offer>;
  readonly known: Readonly<Record<string, Known>>;
}

/** Why a step's channel is not one a journey can send on, or undefined when it is. */
function channelProblem(channel: string, manifest: Manifest): string | undefined {
  const outbound = outboundChannels(manifest);
  if (outbound.includes(channel)) return undefined;
  if (outbound.length === 0)
    return `channel "${channel}" is not an outbound channel: manifest.json has no "outbound" block declaring any`;
  if (manifest.channels.includes(channel))
    return `channel "${channel}" answers requests and is not an outbound channel: a journey sends on ${oneOf(outbound)}`;
  return `channel "${channel}" is not an outbound channel of manifest.json${suggestion(channel, outbound)}`;
}

/** A step's timing: a week (with its repeat) or a wave after an earlier step, never both. */
function checkTiming(
  journey: Journey,
  step: JourneyStep,
  i: number,
  earlier: readonly string[],
  src: SourceFile,
  errors: RuleIssue[],
): void {
  const at = (key: string) => ['steps', i, key];
  const name = `step "${step.id}"`;
  if (step.week !== undefined && step.after !== undefined)
    errors.push(src.issue(at('after'), `${name} has both "week" and "after": a step is sent at a week or as a wave`));
  else if (step.week === undefined && step.after === undefined)
    errors.push(
      src.issue(['steps', i], `${name} needs "week" (weeks after entry) or "after" (a wave after an earlier step)`),
    );
  if (step.week !== undefined && step.week >= journey.lengthWeeks)
    errors.push(
      src.issue(
        at('week'),
        `${name} is at week ${step.week}, past the journey's end: lengthWeeks is ${journey.lengthWeeks}, so the last week is ${journey.lengthWeeks - 1}`,
      ),
    );
  if (step.every !== undefined && step.week === undefined)
    errors.push(src.issue(at('every'), `${name} repeats "every" ${step.every} weeks but has no "week" to start from`));
  if (step.noResponseDays !== undefined && step.after === undefined)
    errors.push(src.issue(at('noResponseDays'), `${name} has "noResponseDays" but follows no step: add "after"`));
  if (step.after === undefined) return;
  if (step.noResponseDays === undefined)
    errors.push(
      src.issue(['steps', i], `${name} follows "${step.after}" but has no "noResponseDays" to wait for a response`),
    );
  if (step.after === step.id) errors.push(src.issue(at('after'), `${name} cannot follow itself`));
  else if (!earlier.includes(step.after)) {
    const later = journey.steps.slice(i + 1).some((s) => s.id === step.after);
    errors.push(
      src.issue(
        at('after'),
        later
          ? `${name} follows "${step.after}", which comes after it: "after" names an earlier step`
          : `${name} follows "${step.after}", which is no earlier step of this journey${suggestion(step.after, earlier)}`,
      ),
    );
  }
}

/** A step's content: one offer with a treatment for the channel, or the best of groups that have one. */
function checkContent(step: JourneyStep, i: number, ctx: JourneyContext, src: SourceFile, errors: RuleIssue[]): void {
  const name = `step "${step.id}"`;
  if (step.offer !== undefined && step.bestOf !== undefined)
    errors.push(
      src.issue(
        ['steps', i, 'bestOf'],
        `${name} has both "offer" and "bestOf": a step sends one offer or the best of groups`,
      ),
    );
  else if (step.offer === undefined && step.bestOf === undefined)
    errors.push(src.issue(['steps', i], `${name} needs "offer" (one offer) or "bestOf" (the best of offer groups)`));
  if (step.offer !== undefined) {
    const offer = ctx.offers.get(step.offer);
    if (!offer)
      errors.push(
        src.issue(
          ['steps', i, 'offer'],
          `unknown offer "${step.offer}"${suggestion(step.offer, [...ctx.offers.keys()])}`,
        ),
      );
    else if (!hasTreatment(offer, step.channel))
      errors.push(
        src.issue(
          ['steps', i, 'offer'],
          `offer "${step.offer}" has no treatment for channel "${step.channel}": add one to offers/${step.offer}.json`,
        ),
      );
  }
  if (step.bestOf !== undefined) {
    const groups = new Set<string>(step.bestOf);
    const any = [...ctx.offers.values()].some((o) => groups.has(o.group) && hasTreatment(o, step.channel));
    if (!any)
      errors.push(
        src.issue(
          ['steps', i, 'bestOf'],
          `no offer of group ${oneOf(step.bestOf)} has a treatment for channel "${step.channel}", so ${name} has nothing to send`,
        ),
      );
  }
}

/** References of one valid journey file: entry values, channels, offers, groups and the steps it follows. */
export function checkJourney(journey: Journey, ctx: JourneyContext, src: SourceFile, errors: RuleIssue[]): void {
  unknownValues(journey.entry, ['entry'], ctx.known, src, errors);
  const earlier: string[] = [];
  for (const [i, step] of journey.steps.entries()) {
    if (earlier.includes(step.id))
      errors.push(src.issue(['steps', i, 'id'], `another step of this journey is already named "${step.id}"`));
    const problem = channelProblem(step.channel, ctx.manifest);
    if (problem) errors.push(src.issue(['steps', i, 'channel'], problem));
    checkTiming(journey, step, i, earlier, src, errors);
    if (!problem) checkContent(step, i, ctx, src, errors);
    earlier.push(step.id);
  }
}
