import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULE_LIMITS, loadRuleSet } from '../../src/rules/load.js';
import { formatIssue } from '../../src/rules/positions.js';
import { rulesCopy, SHIPPED_RULES } from '../support/rules.js';

const FILE = 'journeys/test.json';

/** 1-based "line:col" where the n-th (1-based) `needle` starts in `text`. */
function positionOf(text: string, needle: string, n = 1): string {
  let offset = -1;
  for (let i = 0; i < n; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`${needle} not found`);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/** A journey file for customers at risk, one step a line, as a marketer lays it out. */
const journey = (steps: string[], { id = 'test', entry = '"retain"' } = {}) => `{
  "$schema": "../schema/journey.schema.json",
  "id": "${id}",
  "name": "Test journey",
  "entry": { "all": [{ "fact": "lifecyclePhase", "operator": "equal", "value": ${entry} }] },
  "lengthWeeks": 12,
  "steps": [
    ${steps.join(',\n    ')}
  ]
}
`;

const FIRST = '{ "id": "wave-1", "week": 0, "channel": "email", "bestOf": ["anti-churn"] }';

describe('journey files', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const copy = async (edit: Parameters<typeof rulesCopy>[0] = {}) => {
    const dir = await rulesCopy(edit);
    dirs.push(dir);
    return dir;
  };
  /** The errors of the shipped rules with journeys/test.json written as `text`. */
  const errorsWith = async (text: string) => {
    const dir = await copy();
    await writeFile(join(dir, FILE), text);
    const r = await loadRuleSet(dir);
    return r.ok ? [] : r.errors.map(formatIssue);
  };
  const at = (text: string, needle: string, message: string, n = 1) =>
    `${FILE}:${positionOf(text, needle, n)}: ${message}`;

  it('the shipped set loads its 4 journeys without a warning', async () => {
    const r = await loadRuleSet(SHIPPED_RULES);
    expect(r.ok && r.warnings).toEqual([]);
    if (r.ok) expect(r.source.journeys.map((j) => j.id)).toEqual(['anti-churn', 'loyalty', 'onboarding', 'winback']);
  });

  it('a step sends on an outbound channel: not an inbound one, a misspelt one named', async () => {
    let text = journey(['{ "id": "a", "week": 0, "channel": "web", "offer": "service-app-download" }']);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '"web"',
        'channel "web" answers requests and is not an outbound channel: a journey sends on "email", "sms", "direct-mail" or "outbound-call"',
      ),
    ]);
    text = journey(['{ "id": "a", "week": 0, "channel": "emial", "offer": "service-app-download" }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '"emial"', 'channel "emial" is not an outbound channel of manifest.json; did you mean "email"?'),
    ]);
  });

  it('a step names an offer that exists and has a treatment for its channel', async () => {
    let text = journey(['{ "id": "a", "week": 0, "channel": "email", "offer": "service-app-downlaod" }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '"service-app-downlaod"', 'unknown offer "service-app-downlaod"; did you mean "service-app-download"?'),
    ]);
    text = journey(['{ "id": "a", "week": 0, "channel": "sms", "offer": "care-vip-invitation" }']);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '"care-vip-invitation"',
        'offer "care-vip-invitation" has no treatment for channel "sms": add one to offers/care-vip-invitation.json',
      ),
    ]);
  });

  it('a bestOf step needs an offer of its groups with a treatment for its channel', async () => {
    const text = journey(['{ "id": "a", "week": 0, "channel": "email", "bestOf": ["save"] }']);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '["save"]',
        'no offer of group "save" has a treatment for channel "email", so step "a" has nothing to send',
      ),
    ]);
  });

  it('a step has one offer or bestOf, and a week or an after', async () => {
    let text = journey([
      '{ "id": "a", "week": 0, "channel": "email", "offer": "anti-churn-speed-boost", "bestOf": ["anti-churn"] }',
    ]);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '["anti-churn"]',
        'step "a" has both "offer" and "bestOf": a step sends one offer or the best of groups',
      ),
    ]);
    text = journey(['{ "id": "a", "week": 0, "channel": "email" }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '{ "id": "a"', 'step "a" needs "offer" (one offer) or "bestOf" (the best of offer groups)'),
    ]);
    text = journey([
      FIRST,
      '{ "id": "b", "week": 2, "after": "wave-1", "noResponseDays": 7, "channel": "sms", "bestOf": ["anti-churn"] }',
    ]);
    expect(await errorsWith(text)).toEqual([
      at(text, '"wave-1"', 'step "b" has both "week" and "after": a step is sent at a week or as a wave', 2),
    ]);
    text = journey(['{ "id": "a", "channel": "email", "bestOf": ["anti-churn"] }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '{ "id": "a"', 'step "a" needs "week" (weeks after entry) or "after" (a wave after an earlier step)'),
    ]);
  });

  it('a week is within the journey, and every repeats a week', async () => {
    let text = journey(['{ "id": "a", "week": 12, "channel": "email", "bestOf": ["anti-churn"] }']);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '12, "channel"',
        `step "a" is at week 12, past the journey's end: lengthWeeks is 12, so the last week is 11`,
      ),
    ]);
    text = journey([
      FIRST,
      '{ "id": "b", "after": "wave-1", "noResponseDays": 7, "every": 2, "channel": "sms", "bestOf": ["anti-churn"] }',
    ]);
    expect(await errorsWith(text)).toEqual([
      at(text, '2, "channel"', 'step "b" repeats "every" 2 weeks but has no "week" to start from'),
    ]);
  });

  it('a wave follows an earlier step of the journey, after some days without a response', async () => {
    let text = journey([
      '{ "id": "a", "after": "b", "noResponseDays": 7, "channel": "sms", "bestOf": ["anti-churn"] }',
      '{ "id": "b", "week": 0, "channel": "email", "bestOf": ["anti-churn"] }',
    ]);
    expect(await errorsWith(text)).toEqual([
      at(text, '"b"', 'step "a" follows "b", which comes after it: "after" names an earlier step'),
    ]);
    text = journey([
      FIRST,
      '{ "id": "b", "after": "wave-l", "noResponseDays": 7, "channel": "sms", "bestOf": ["anti-churn"] }',
    ]);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '"wave-l"',
        'step "b" follows "wave-l", which is no earlier step of this journey; did you mean "wave-1"?',
      ),
    ]);
    text = journey([FIRST, '{ "id": "b", "after": "wave-1", "channel": "sms", "bestOf": ["anti-churn"] }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '{ "id": "b"', 'step "b" follows "wave-1" but has no "noResponseDays" to wait for a response'),
    ]);
    text = journey(['{ "id": "a", "week": 0, "noResponseDays": 7, "channel": "email", "bestOf": ["anti-churn"] }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '7, "channel"', 'step "a" has "noResponseDays" but follows no step: add "after"'),
    ]);
  });

  it('step ids are unique, and the journey id is the file name', async () => {
    let text = journey([FIRST, FIRST.replace('"week": 0', '"week": 4')]);
    expect(await errorsWith(text)).toEqual([
      at(text, '"wave-1"', 'another step of this journey is already named "wave-1"', 2),
    ]);
    text = journey([FIRST], { id: 'other' });
    expect(await errorsWith(text)).toEqual([at(text, '"other"', 'id "other" must match the file name "test.json"')]);
  });

  it('entry and segments name phases and segments that exist', async () => {
    let text = journey([FIRST], { entry: '"retian"' });
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '"retian"',
        '"retian" is not a lifecycle phase: lifecyclePhase is "new", "loyalty", "retain" or "regain"; did you mean "retain"?',
      ),
    ]);
    text = journey(['{ "id": "a", "week": 0, "channel": "email", "bestOf": ["anti-churn"], "segments": ["Super"] }']);
    expect(await errorsWith(text)).toEqual([
      at(
        text,
        '"Super"',
        'steps.0.segments.0: "Super" is not one of "super", "top", "middle", "bottom"; did you mean "super"?',
      ),
    ]);
  });

  it('a misspelt field is said in the words of the file', async () => {
    let text = journey(['{ "id": "a", "week": 0, "chanel": "email", "bestOf": ["anti-churn"] }']);
    expect(await errorsWith(text)).toEqual([
      at(text, '"chanel"', '"chanel" is not a field of step 1; did you mean "channel"?'),
    ]);
    text = journey([FIRST]).replace('"lengthWeeks"', '"lenghtWeeks"');
    expect(await errorsWith(text)).toEqual([
      at(text, '"lenghtWeeks"', '"lenghtWeeks" is not a field of the journey; did you mean "lengthWeeks"?'),
    ]);
  });

  it("are read like offers: editors' dot-files ignored, counted in the hash and the size limits", async () => {
    const dir = await copy();
    const before = await loadRuleSet(dir);
    await writeFile(join(dir, 'journeys/.#winback.json'), 'junk');
    const same = await loadRuleSet(dir);
    expect(same.ok && before.ok && same.source.hash === before.source.hash).toBe(true);
    const winback = await readFile(join(dir, 'journeys/winback.json'), 'utf8');
    await writeFile(join(dir, 'journeys/winback.json'), winback.replace('"week": 8', '"week": 9'));
    const edited = await loadRuleSet(dir);
    expect(edited.ok && before.ok && edited.source.hash !== before.source.hash).toBe(true);
    await writeFile(join(dir, 'journeys/winback.json'), `${winback}${' '.repeat(200_000)}`);
    const big = await loadRuleSet(dir, { ...DEFAULT_RULE_LIMITS, fileBytes: 100_000 });
    expect(big.ok ? [] : big.errors.map(formatIssue)).toEqual([
      'journeys/winback.json:1:1: the file is 0.2 MB, over the limit of 0.1 MB a file (RULES_MAX_FILE_MB)',
    ]);
  });

  it('a rule set without a journeys folder loads with none', async () => {
    const dir = await copy();
    await rm(join(dir, 'journeys'), { recursive: true });
    const r = await loadRuleSet(dir);
    expect(r.ok && r.source.journeys).toEqual([]);
  });
});

describe('the manifest outbound block and the contact policy', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const errorsOf = async (edit: Parameters<typeof rulesCopy>[0]) => {
    const dir = await rulesCopy(edit);
    dirs.push(dir);
    const r = await loadRuleSet(dir);
    return r.ok ? [] : r.errors.map((e) => `${e.file} ${e.path}: ${e.message}`);
  };

  it('an outbound channel may not repeat an inbound one', async () => {
    expect(await errorsOf({ 'manifest.json': (m) => (m.outbound.channels.web = {}) })).toEqual([
      'manifest.json /outbound/channels/web: outbound channel "web" is also in "channels": a channel answers requests or sends, not both',
    ]);
  });

  it('a misspelt field of an outbound channel, in words', async () => {
    expect(await errorsOf({ 'manifest.json': (m) => (m.outbound.channels.sms = { consnet: 'sms' }) })).toEqual([
      'manifest.json /outbound/channels/sms/consnet: "consnet" is not a field of the sms outbound channel; did you mean "consent"?',
    ]);
  });

  it('a budget needs a cost per contact', async () => {
    expect(
      await errorsOf({ 'manifest.json': (m) => delete m.outbound.channels['direct-mail'].costPerContact }),
    ).toEqual([
      'manifest.json /outbound/channels/direct-mail/budgetPerRun: outbound.channels.direct-mail.budgetPerRun: budgetPerRun and costPerContact go together: give both or neither',
    ]);
  });

  it('outbound channels are declared channels: policy rules, weights and offers may name them', async () => {
    expect(
      await errorsOf({
        'arbitration.json': (a) => (a.learning.positive.email = 'click'),
        'contact-policy.json': (p) => (p.channels.email = { maxOffers: 1 }),
      }),
    ).toEqual([]);
  });

  it("a suppression's of names offers that exist, and names something", async () => {
    const last = (edit: (rule: Record<string, any>) => void) => ({
      'contact-policy.json': (p: Record<string, any>) => edit(p.rules.at(-2)),
    });
    expect(await errorsOf(last((r) => (r.of = { offers: ['save-loyalty-discont'] })))).toEqual([
      'contact-policy.json /rules/6/of/offers/0: unknown offer "save-loyalty-discont"',
    ]);
    expect(await errorsOf(last((r) => (r.of = {})))).toEqual([
      'contact-policy.json /rules/6/of: rules.6.of: name "offers", "groups" or both',
    ]);
  });
});
