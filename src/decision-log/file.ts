import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import { compiledWorker } from '../ops/threads.js';
import { FILE_LOG_BUFFER, type FileLogSettings, type FileLogStatus, type WriterStatus } from './file-writer.js';
import { encode, MOST_WORDS, mostBytes, Vocabulary } from './record-codec.js';
import type { DecisionEntry } from './store.js';

export { FILE_LOG_BUFFER, type FileLogSettings, type FileLogStatus, fileName, logFiles } from './file-writer.js';

/** What the service sends its writer thread. */
export type ToWriter =
  | {
      readonly t: 'records';
      /** the vocabulary starts over before these words */
      readonly reset: boolean;
      readonly words: readonly string[];
      readonly buf: ArrayBuffer;
      readonly bytes: number;
      readonly records: number;
    }
  | { readonly t: 'flush' | 'close'; readonly ask: number }
  | { readonly t: 'find'; readonly ask: number; readonly decisionId: string };

/** What the writer thread sends back. */
export type FromWriter =
  | ({ readonly t: 'status'; readonly received: number } & WriterStatus)
  | { readonly t: 'spare'; readonly buf: ArrayBuffer }
  | { readonly t: 'answer'; readonly ask: number; readonly line: string | undefined }
  | {
      readonly t: 'log';
      readonly level: 'info' | 'warn' | 'error';
      readonly details: Record<string, unknown>;
      readonly message: string;
    };

/** Bytes of entries sent at a time; a busy second fills a few. */
const CHUNK_BYTES = 256 * 1024;
const SPARE_CHUNKS = 4;
/** Entries wait at most this long before they go to the writer. */
const SEND_MS = 50;
/** A writer thread that stopped is started again after this pause. */
const RESTART_MS = 1_000;
/** The writer's heap: its backlog is bounded by FILE_LOG_BUFFER records, well within. */
const WRITER_HEAP_MB = 256;

const WRITER = compiledWorker('decision-log/file-worker.js');

const NO_STATUS: WriterStatus & { received: number } = {
  ok: true,
  error: null,
  pending: 0,
  written: 0,
  dropped: 0,
  received: 0,
};

/**
 * The decision log's NDJSON files, written by a thread of their own (file-writer.ts says how):
 * the decision path only copies each entry's numbers and IDs into a byte chunk, sent to the
 * writer every 50 ms; formatting the record lines and the disk writes happen there. What is
 * waiting, here or in the writer, is bounded by FILE_LOG_BUFFER records; past it the oldest
 * are dropped and counted. A writer thread that stops is logged and started again.
 */
export class DecisionFiles {
  private worker: Worker | undefined;
  private restartAt = 0;
  private chunk: Buffer | undefined;
  private bytes = 0;
  private records = 0;
  private readonly words = new Vocabulary();
  private reset = false;
  private readonly spare: ArrayBuffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** records sent to the writer (this thread) */
  private sent = 0;
  /** the writer's last word on itself; `stopped`: why it is not running */
  private remote = NO_STATUS;
  private stopped: string | null = null;
  private closing = false;
  private readonly asks = new Map<number, (line: string | undefined) => void>();
  private nextAsk = 0;
  private readonly written;
  private readonly dropped;
  private counted = { written: 0, dropped: 0 };

  constructor(
    private readonly settings: FileLogSettings,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.written = metrics.decisionLog.slot('written');
    this.dropped = metrics.decisionLog.slot('dropped');
    metrics.gauge('nextbest_decision_log_pending', 'Decisions waiting to be written to the decision log', () =>
      this.pending(),
    );
  }

  append(entry: DecisionEntry): void {
    if (this.words.size >= MOST_WORDS) {
      this.send();
      this.words.clear();
      this.reset = true;
    }
    const most = mostBytes(entry);
    if (this.chunk === undefined || this.bytes + most > this.chunk.length) {
      this.send();
      this.chunk = this.chunkOf(most);
    }
    this.bytes = encode(entry, this.words, this.chunk, this.bytes);
    this.records++;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.send();
      }, SEND_MS);
      this.timer.unref();
    }
  }

  status(): FileLogStatus {
    const error = this.stopped ?? this.remote.error;
    return { ok: error === null, error, pending: this.pending() };
  }

  /** Sends what waits and has the writer write everything it holds. */
  async flush(): Promise<void> {
    this.send();
    if (this.worker) await this.ask({ t: 'flush', ask: 0 });
  }

  /** One decision's record line, among those waiting or in the files. */
  async find(decisionId: string): Promise<string | undefined> {
    this.send();
    return this.ask({ t: 'find', ask: 0, decisionId });
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.send();
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    await this.ask({ t: 'close', ask: 0 });
    this.worker = undefined;
    await worker.terminate();
  }

  private pending(): number {
    return this.records + (this.sent - this.remote.received) + this.remote.pending;
  }

  private chunkOf(bytes: number): Buffer {
    const spare = bytes <= CHUNK_BYTES ? this.spare.pop() : undefined;
    return Buffer.from(spare ?? new ArrayBuffer(Math.max(bytes, CHUNK_BYTES)));
  }

  /** Sends the chunk being filled to the writer; drops it when the writer is that far behind. */
  private send(): void {
    const chunk = this.chunk;
    if (chunk === undefined || this.records === 0) return;
    const records = this.records;
    this.records = 0;
    const bytes = this.bytes;
    this.bytes = 0;
    const worker = this.writer();
    if (worker === undefined || this.sent - this.remote.received + records > FILE_LOG_BUFFER) {
      // the words stay to be sent: the next records may name them
      this.dropped.n += records;
      return;
    }
    this.chunk = undefined;
    const message: ToWriter = {
      t: 'records',
      reset: this.reset,
      words: this.words.take(),
      buf: chunk.buffer as ArrayBuffer,
      bytes,
      records,
    };
    this.reset = false;
    this.sent += records;
    worker.postMessage(message, [message.buf]);
  }

  private ask(message: ToWriter & { ask: number }): Promise<string | undefined> {
    const worker = this.writer();
    if (worker === undefined) return Promise.resolve(undefined);
    const ask = ++this.nextAsk;
    return new Promise((resolve) => {
      this.asks.set(ask, resolve);
      worker.postMessage({ ...message, ask });
    });
  }

  /** The running writer thread, started when first needed (and again after it stopped, past a pause). */
  private writer(): Worker | undefined {
    if (this.worker || this.closing || Date.now() < this.restartAt) return this.worker;
    const worker = new Worker(WRITER, {
      workerData: this.settings,
      resourceLimits: { maxOldGenerationSizeMb: WRITER_HEAP_MB },
    });
    worker.unref();
    worker.on('message', (m: FromWriter) => this.heard(m));
    worker.on('error', (err) => this.log.error({ err: err.message }, 'decision log: the writer thread failed'));
    worker.on('exit', () => this.exited(worker));
    this.worker = worker;
    // a new writer knows no words: all of them go with the next records
    this.words.resend();
    this.reset = true;
    this.remote = NO_STATUS;
    this.sent = 0;
    this.counted = { written: 0, dropped: 0 };
    this.stopped = null;
    return worker;
  }

  private heard(m: FromWriter): void {
    switch (m.t) {
      case 'status':
        this.remote = m;
        this.written.n += m.written - this.counted.written;
        this.dropped.n += m.dropped - this.counted.dropped;
        this.counted = { written: m.written, dropped: m.dropped };
        return;
      case 'spare':
        if (this.spare.length < SPARE_CHUNKS && m.buf.byteLength === CHUNK_BYTES) this.spare.push(m.buf);
        return;
      case 'answer': {
        const resolve = this.asks.get(m.ask);
        this.asks.delete(m.ask);
        resolve?.(m.line);
        return;
      }
      case 'log':
        this.log[m.level](m.details, m.message);
        return;
    }
  }

  private exited(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const resolve of this.asks.values()) resolve(undefined);
    this.asks.clear();
    if (this.closing) return;
    // what it held is lost: counted as dropped, and the writer starts again after a pause
    const lost = this.sent - this.remote.received + this.remote.pending;
    this.dropped.n += lost;
    this.remote = NO_STATUS;
    this.sent = 0;
    this.stopped = 'the decision log writer stopped';
    this.restartAt = Date.now() + RESTART_MS;
    this.log.error({ lost }, 'decision log: the writer thread stopped; it starts again, the records it held are lost');
  }
}
