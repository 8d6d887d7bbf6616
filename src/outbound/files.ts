import { closeSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Decision } from '../decision/types.js';
import { type DecisionEntry, recordLine } from '../decision-log/store.js';
import type { Profile } from '../profiles/schema.js';
import type { RuleSet } from '../rules/index.js';
import { type FileMarks, RunRefused } from './records.js';

/** The columns every contact list starts with; the treatment's fields follow, then the journey and step. */
export const LEAD_COLUMNS = ['customerId', 'offerId', 'decisionId', 'sendDate'] as const;
export const DECISIONS_FILE = 'decisions.ndjson';
export const csvName = (channel: string) => `${channel}.csv`;

/** A channel's treatment fields, in the order its offers first name them. */
export function treatmentColumns(ruleset: RuleSet, channel: string): string[] {
  const seen = new Set<string>();
  for (const o of ruleset.byChannel.get(channel) ?? [])
    for (const k of Object.keys(o.treatments[channel] ?? {})) seen.add(k);
  return [...seen];
}

const NEEDS_QUOTES = /[",\r\n]/;
export const csvField = (v: string): string => (NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** One decision a run wrote: a contact (its offer) or a due step logged without one. */
export interface RunDecision {
  readonly decision: Decision;
  readonly profile: Profile;
  readonly journey: string;
  readonly step: string;
  /** epoch ms: the week's Monday */
  readonly at: number;
  readonly sendDate: string;
}

/** Where a run's decisions go: its folder's files, or a simulation's tallies. */
export interface RunSink {
  write(d: RunDecision): void;
  /** what the batch added is out; returns the marks a resumed run cuts back to */
  flush(): FileMarks;
  close(): void;
}

/** Responses to an outbound contact are taken this long after its send date: a letter is answered in weeks, not minutes. */
export const OUTBOUND_RESPONSE_DAYS = 28;

/** The decision-log entry of a run's decision. */
export const entryOf = (d: RunDecision): DecisionEntry => ({
  decision: d.decision,
  at: d.at,
  preview: false,
  interactionId: d.decision.interactionId,
  clv: d.profile.clv,
  churnScore: d.profile.churnScore,
  respondUntil: d.at + OUTBOUND_RESPONSE_DAYS * 86_400_000,
});

/**
 * A run's output folder: one CSV per channel and the decision records, appended batch by batch.
 * Lines reach the files before the contacts reach the store, and each checkpoint notes the
 * files' lengths: a resumed run cuts them back to its checkpoint and writes the rest again.
 */
export class RunFiles implements RunSink {
  private readonly fds = new Map<string, number>();
  private readonly pending = new Map<string, string[]>();
  private readonly bytes = new Map<string, number>();
  readonly columns: ReadonlyMap<string, readonly string[]>;

  private constructor(
    readonly dir: string,
    ruleset: RuleSet,
    readonly channels: readonly string[],
  ) {
    this.columns = new Map(channels.map((c) => [c, treatmentColumns(ruleset, c)] as const));
  }

  /** Opens the folder's files: fresh (headers only) without marks, else cut back to the marks. */
  static async open(dir: string, ruleset: RuleSet, channels: readonly string[], marks?: FileMarks): Promise<RunFiles> {
    await mkdir(dir, { recursive: true });
    const files = new RunFiles(dir, ruleset, channels);
    for (const name of [...channels.map(csvName), DECISIONS_FILE]) {
      const path = join(dir, name);
      const mark = marks?.[name];
      if (mark === undefined) {
        const fd = openSync(path, 'w');
        files.fds.set(name, fd);
        const channel = name.endsWith('.csv') ? name.slice(0, -4) : undefined;
        const header =
          channel === undefined
            ? ''
            : `${[...LEAD_COLUMNS, ...files.columns.get(channel)!, 'journey', 'step'].join(',')}\n`;
        files.bytes.set(name, header ? writeSync(fd, header) : 0);
      } else {
        const size = statSync(path, { throwIfNoEntry: false })?.size;
        if (size === undefined) throw new RunRefused(`${path} is missing: the run cannot resume from this folder`);
        // shorter than its checkpoint: lines that were counted are gone (the disk lost them); cutting it back would pad it
        if (size < mark)
          throw new RunRefused(`${path} is shorter than at the run's checkpoint: run the week into a new folder`);
        truncateSync(path, mark);
        files.fds.set(name, openSync(path, 'a'));
        files.bytes.set(name, mark);
      }
      files.pending.set(name, []);
    }
    return files;
  }

  write(d: RunDecision): void {
    const offer = d.decision.offers[0];
    if (offer !== undefined) {
      const channel = d.decision.channel;
      const row = [d.decision.customerId, offer.offerId, d.decision.decisionId, d.sendDate];
      for (const c of this.columns.get(channel)!) row.push(offer.treatment[c] ?? '');
      row.push(d.journey, d.step);
      this.pending.get(csvName(channel))!.push(`${row.map(csvField).join(',')}\n`);
    }
    this.pending.get(DECISIONS_FILE)!.push(`${recordLine(entryOf(d))}\n`);
  }

  /** Writes what the batch added; returns the files' lengths after it. */
  flush(): FileMarks {
    for (const [name, lines] of this.pending) {
      if (lines.length === 0) continue;
      const n = writeSync(this.fds.get(name)!, lines.join(''));
      this.bytes.set(name, this.bytes.get(name)! + n);
      lines.length = 0;
    }
    return Object.fromEntries(this.bytes);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
