import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { LoggedLine } from './store.js';

export interface FileLogSettings {
  readonly dir: string;
  /** a day's file is continued in `…-<day>.<n>.ndjson` once it reaches this size */
  readonly maxFileBytes: number;
  /** files of days older than this are deleted */
  readonly retentionDays: number;
}

/** How the file log is doing: /readyz shows it. */
export interface FileLogStatus {
  readonly ok: boolean;
  /** why the last write failed (a full disk, a folder that cannot be written) */
  readonly error: string | null;
  readonly pending: number;
}

/** Entries written per append: one write call per batch. */
const BATCH = 1_000;
/** Records wait at most this long: short enough that they die young in the garbage collector's eyes. */
const FLUSH_MS = 50;
const MAX_BACKOFF_MS = 10_000;
/** Most entries held while the disk refuses them; beyond it the oldest tenth is dropped and counted. */
export const FILE_LOG_BUFFER = 50_000;
const DAY_MS = 86_400_000;

const FILE = /^decisions-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.ndjson$/;
/** The files of one UTC day, in writing order. */
export const fileName = (day: string, part: number) => `decisions-${day}${part === 0 ? '' : `.${part}`}.ndjson`;

/** The log's files in a folder, oldest first, with the UTC day each holds. */
export async function logFiles(dir: string): Promise<{ name: string; day: string; part: number }[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const files: { name: string; day: string; part: number }[] = [];
  for (const name of names) {
    const m = FILE.exec(name);
    if (m) files.push({ name, day: m[1]!, part: Number(m[2] ?? 0) });
  }
  return files.sort((a, b) => (a.day === b.day ? a.part - b.part : a.day < b.day ? -1 : 1));
}

/**
 * The decision log as append-only NDJSON files, one record a line: `decisions-<UTC day>.ndjson`,
 * continued in `decisions-<day>.1.ndjson` and on past `maxFileBytes`, deleted after
 * `retentionDays`. The hot path only pushes to an array; batches leave every 50 ms (or at
 * 1 000 entries) through asynchronous appends. A write that fails (a full disk) keeps its
 * entries and is tried again with a growing pause, up to FILE_LOG_BUFFER entries, beyond
 * which the oldest are dropped and counted: a decision never waits for, or fails for, the log.
 * The failure is logged once, until a write succeeds again, and /readyz shows it.
 */
export class DecisionFiles {
  private pending: LoggedLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** the timer is due at once: a batch is full */
  private soon = false;
  private writing: Promise<void> | undefined;
  private failures = 0;
  private error: string | null = null;
  private current: { day: string; part: number; bytes: number } | undefined;
  private prunedDay = '';
  private readonly written;
  private readonly dropped;

  constructor(
    private readonly settings: FileLogSettings,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.written = metrics.decisionLog.slot('written');
    this.dropped = metrics.decisionLog.slot('dropped');
    metrics.gauge(
      'nextbest_decision_log_pending',
      'Decisions waiting to be written to the decision log',
      () => this.pending.length,
    );
  }

  append(logged: LoggedLine): void {
    this.pending.push(logged);
    if (this.pending.length > FILE_LOG_BUFFER) this.trim();
    // one timer at a time: a full batch brings it forward once, it is never pushed back
    if (this.writing) return;
    if (this.pending.length >= BATCH && !this.soon) {
      this.soon = true;
      this.later(0);
    } else if (!this.timer) this.later(FLUSH_MS);
  }

  /** Past the buffer, the oldest tenth goes: a full buffer does not cost a shift per decision. */
  private trim(): void {
    if (this.pending.length <= FILE_LOG_BUFFER) return;
    const over = this.pending.length - FILE_LOG_BUFFER * 0.9;
    this.pending.splice(0, over);
    this.dropped.n += over;
  }

  status(): FileLogStatus {
    return { ok: this.error === null, error: this.error, pending: this.pending.length };
  }

  private later(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), ms);
    this.timer.unref();
  }

  /** Writes what is pending; what fails stays at the head for the next attempt. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.soon = false;
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 && !this.timer)
        this.later(this.failures === 0 ? FLUSH_MS : Math.min(FLUSH_MS * 2 ** this.failures, MAX_BACKOFF_MS));
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      // what waits is taken whole (no shift per batch); what cannot be written goes back in front
      const taken = this.pending;
      this.pending = [];
      let start = 0;
      try {
        while (start < taken.length) {
          const day = taken[start]!.day;
          // one day a file, at most BATCH lines a write: a batch that spans midnight is written in two
          let end = start + 1;
          while (end < taken.length && end - start < BATCH && taken[end]!.day === day) end++;
          const lines: string[] = new Array(end - start);
          for (let i = start; i < end; i++) lines[i - start] = taken[i]!.line;
          const text = `${lines.join('\n')}\n`;
          // characters for bytes: the records are ASCII but for rare names, and the size limit is a guide
          await appendFile(await this.fileFor(day, text.length), text);
          this.current!.bytes += text.length;
          this.written.n += end - start;
          start = end;
          if (this.error !== null) this.log.info({ dir: this.settings.dir }, 'decision log: writing again');
          this.error = null;
          this.failures = 0;
          if (day !== this.prunedDay) await this.prune(day);
        }
      } catch (err) {
        this.pending = taken.slice(start).concat(this.pending);
        this.trim();
        this.failures++;
        const message = (err as Error).message;
        if (this.error === null)
          this.log.warn(
            { err: message, dir: this.settings.dir },
            'decision log: cannot write; decisions go on, their records wait',
          );
        this.error = message;
        return;
      }
    }
  }

  /** The file this day's next `bytes` go to: the day's last part, or a new one once it is full. */
  private async fileFor(day: string, bytes: number): Promise<string> {
    if (this.current?.day !== day) {
      await mkdir(this.settings.dir, { recursive: true });
      const parts = (await logFiles(this.settings.dir)).filter((f) => f.day === day);
      const last = parts.at(-1);
      const size = last ? (await stat(join(this.settings.dir, last.name))).size : 0;
      this.current = { day, part: last?.part ?? 0, bytes: size };
    }
    if (this.current.bytes > 0 && this.current.bytes + bytes > this.settings.maxFileBytes) {
      this.current = { day, part: this.current.part + 1, bytes: 0 };
    }
    return join(this.settings.dir, fileName(day, this.current.part));
  }

  /** Deletes the files of days past retention, once a day. */
  private async prune(today: string): Promise<void> {
    this.prunedDay = today;
    const oldest = new Date(Date.parse(today) - (this.settings.retentionDays - 1) * DAY_MS).toISOString().slice(0, 10);
    for (const f of await logFiles(this.settings.dir).catch(() => [])) {
      if (f.day < oldest) await unlink(join(this.settings.dir, f.name)).catch(() => undefined);
    }
  }

  /**
   * One decision's record line, searched for in the files newest first (a text match before any
   * parse); what is still pending is looked at first. Reading streams and yields to requests.
   */
  async find(decisionId: string): Promise<string | undefined> {
    const pending = this.pending.find((l) => l.decisionId === decisionId);
    if (pending) return pending.line;
    const needle = `"decisionId":${JSON.stringify(decisionId)},`;
    for (const f of (await logFiles(this.settings.dir).catch(() => [])).reverse()) {
      const lines = createInterface({
        input: createReadStream(join(this.settings.dir, f.name), 'utf8'),
        crlfDelay: Infinity,
      });
      for await (const line of lines) {
        if (!line.startsWith(`{${needle}`)) continue;
        lines.close();
        return line;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.pending.length > 0)
      this.log.error({ decisions: this.pending.length }, 'decisions not written to the decision log at shutdown');
  }
}
