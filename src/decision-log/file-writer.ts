import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Reader } from './record-codec.js';
import { type DecisionEntry, recordLine, stampOf } from './store.js';

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

/** The writer's status with its running totals. */
export interface WriterStatus extends FileLogStatus {
  readonly written: number;
  readonly dropped: number;
}

type Say = (details: Record<string, unknown>, message: string) => void;
/** Where the writer says what happens (the service's log, from the writer's thread). */
export interface Notes {
  readonly info: Say;
  readonly warn: Say;
  readonly error: Say;
}

/** Bytes a chunk holds: records are written into chunks as they come, and chunks are reused once written. */
const CHUNK_BYTES = 256 * 1024;
/** Written chunks kept for reuse, so a steady load allocates none. */
const SPARE_CHUNKS = 8;
/** Records wait at most this long before they are written. */
const FLUSH_MS = 50;
const MAX_BACKOFF_MS = 10_000;
/** Most records held while the disk refuses them; beyond it the oldest chunks are dropped and counted. */
export const FILE_LOG_BUFFER = 50_000;
const DAY_MS = 86_400_000;
const NEWLINE = 0x0a;

/** Record lines of one UTC day, as the UTF-8 bytes the file gets. */
interface Chunk {
  readonly day: string;
  readonly buf: Buffer;
  bytes: number;
  lines: number;
}
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
 * `retentionDays`. Each record's line goes into a byte chunk; chunks leave every 50 ms through
 * asynchronous writes and are reused. A write that fails (a full disk) is cut back to the last whole line
 * and its chunks are tried again with a growing pause, up to FILE_LOG_BUFFER records, beyond
 * which the oldest are dropped and counted: a decision never waits for, or fails for, the log.
 * The failure is logged once, until a write succeeds again, and /readyz shows it.
 */
export class FileWriter {
  /** waiting to be written, oldest first; the last is being filled */
  private chunks: Chunk[] = [];
  /** taken by the write under way */
  private inFlight: readonly Chunk[] = [];
  private pendingLines = 0;
  private readonly spare: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private failures = 0;
  private error: string | null = null;
  private current: { day: string; part: number; bytes: number; file: FileHandle | undefined } | undefined;
  private prunedDay = '';
  private written = 0;
  private dropped = 0;
  /** called after each write and each drop */
  onChange: (() => void) | undefined;

  constructor(
    private readonly settings: FileLogSettings,
    private readonly log: Notes,
  ) {}

  append(entry: DecisionEntry): void {
    const { iso, day } = stampOf(entry.at);
    const line = recordLine(entry, iso);
    // a UTF-8 character takes at most 3 bytes per UTF-16 unit: room is checked before writing
    const chunk = this.chunkFor(day, line.length * 3 + 1);
    chunk.bytes += chunk.buf.write(line, chunk.bytes);
    chunk.buf[chunk.bytes++] = NEWLINE;
    this.added(chunk);
  }

  /** Appends the reader's next record, its line written straight from the bytes it came in. */
  appendFrom(reader: Reader): void {
    const { iso, day } = stampOf(reader.nextAt());
    let chunk = this.chunkFor(day, 0);
    let end = reader.line(chunk.buf, chunk.bytes, iso);
    if (end === -1 && chunk.bytes > 0) {
      chunk = this.chunkFor(day, chunk.buf.length);
      end = reader.line(chunk.buf, chunk.bytes, iso);
    }
    // a record larger than a chunk goes the long way, through its entry and its line's string
    if (end === -1) {
      this.append(reader.entry());
      return;
    }
    chunk.bytes = end;
    this.added(chunk);
  }

  /** The chunk this day's next `most` bytes go to: the one being filled, or a new one. */
  private chunkFor(day: string, most: number): Chunk {
    let chunk = this.chunks.at(-1);
    if (!chunk || chunk.day !== day || chunk.bytes + most > chunk.buf.length) {
      chunk = { day, buf: this.chunkOf(most), bytes: 0, lines: 0 };
      this.chunks.push(chunk);
    }
    return chunk;
  }

  private added(chunk: Chunk): void {
    chunk.lines++;
    this.pendingLines++;
    if (this.pendingLines > FILE_LOG_BUFFER) this.trim();
    if (!this.timer && !this.writing) this.later(FLUSH_MS);
  }

  private chunkOf(bytes: number): Buffer {
    if (bytes <= CHUNK_BYTES) return this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
    return Buffer.allocUnsafeSlow(bytes);
  }

  private reuse(chunk: Chunk): void {
    if (chunk.buf.length === CHUNK_BYTES && this.spare.length < SPARE_CHUNKS) this.spare.push(chunk.buf);
  }

  /** Past the buffer, the oldest chunks go (never the one being filled). */
  private trim(): void {
    if (this.pendingLines <= FILE_LOG_BUFFER) return;
    while (this.pendingLines > FILE_LOG_BUFFER * 0.9 && this.chunks.length > 1) {
      const oldest = this.chunks.shift()!;
      this.pendingLines -= oldest.lines;
      this.dropped += oldest.lines;
      this.reuse(oldest);
    }
    this.onChange?.();
  }

  status(): WriterStatus {
    const { error, pendingLines: pending, written, dropped } = this;
    return { ok: error === null, error, pending, written, dropped };
  }

  private later(ms: number): void {
    this.timer = setTimeout(() => void this.flush(), ms);
    this.timer.unref();
  }

  /** Writes what is pending; what fails stays at the head for the next attempt. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
      this.onChange?.();
      if (this.pendingLines > 0 && !this.timer)
        this.later(this.failures === 0 ? FLUSH_MS : Math.min(FLUSH_MS * 2 ** this.failures, MAX_BACKOFF_MS));
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    while (this.chunks.length > 0) {
      // what waits is taken whole; what cannot be written goes back in front
      const taken = this.chunks;
      this.chunks = [];
      this.inFlight = taken;
      let done = 0;
      try {
        for (; done < taken.length; done++) {
          const chunk = taken[done]!;
          await this.put(chunk);
          this.pendingLines -= chunk.lines;
          this.written += chunk.lines;
          this.reuse(chunk);
          if (this.error !== null) this.log.info({ dir: this.settings.dir }, 'decision log: writing again');
          this.error = null;
          this.failures = 0;
          if (chunk.day !== this.prunedDay) await this.prune(chunk.day);
        }
      } catch (err) {
        this.chunks = taken.slice(done).concat(this.chunks);
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
      } finally {
        this.inFlight = [];
      }
    }
  }

  /** Appends a chunk to its day's file whole, or, failing, leaves the file as it was. */
  private async put(chunk: Chunk): Promise<void> {
    const to = await this.fileFor(chunk.day, chunk.bytes);
    const file = (to.file ??= await open(join(this.settings.dir, fileName(to.day, to.part)), 'a'));
    let at = 0;
    try {
      while (at < chunk.bytes) at += (await file.write(chunk.buf, at, chunk.bytes - at)).bytesWritten;
    } catch (err) {
      // a part of the chunk may be in: cut the file back to its last whole line
      if (at > 0) await file.truncate(to.bytes).catch(() => undefined);
      await this.closeFile();
      throw err;
    }
    to.bytes += chunk.bytes;
  }

  private async closeFile(): Promise<void> {
    const file = this.current?.file;
    if (!file) return;
    this.current!.file = undefined;
    await file.close().catch(() => undefined);
  }

  /** Where this day's next `bytes` go: the day's last part, or a new one once it is full. */
  private async fileFor(day: string, bytes: number): Promise<NonNullable<FileWriter['current']>> {
    if (this.current?.day !== day) {
      await this.closeFile();
      await mkdir(this.settings.dir, { recursive: true });
      const parts = (await logFiles(this.settings.dir)).filter((f) => f.day === day);
      const last = parts.at(-1);
      const size = last ? (await stat(join(this.settings.dir, last.name))).size : 0;
      this.current = { day, part: last?.part ?? 0, bytes: size, file: undefined };
    }
    if (this.current.bytes > 0 && this.current.bytes + bytes > this.settings.maxFileBytes) {
      await this.closeFile();
      this.current = { day, part: this.current.part + 1, bytes: 0, file: undefined };
    }
    return this.current;
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
    const needle = `{"decisionId":${JSON.stringify(decisionId)},`;
    for (const chunk of [...this.chunks, ...this.inFlight]) {
      const held = chunk.buf.subarray(0, chunk.bytes);
      const at = held.indexOf(needle);
      if (at !== -1 && (at === 0 || held[at - 1] === NEWLINE))
        return held.toString('utf8', at, held.indexOf(NEWLINE, at));
    }
    for (const f of (await logFiles(this.settings.dir).catch(() => [])).reverse()) {
      const lines = createInterface({
        input: createReadStream(join(this.settings.dir, f.name), 'utf8'),
        crlfDelay: Infinity,
      });
      for await (const line of lines) {
        if (!line.startsWith(needle)) continue;
        lines.close();
        return line;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.closeFile();
    if (this.pendingLines > 0)
      this.log.error({ decisions: this.pendingLines }, 'decisions not written to the decision log at shutdown');
  }
}
