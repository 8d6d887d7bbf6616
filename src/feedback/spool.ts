import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CounterBacklog } from '../counters/store.js';
import type { UnwrittenResponse } from './service.js';

/** What a stop could not write to the shared store: response events, and counter additions by counter name. */
export interface SpoolContents {
  readonly responses: readonly UnwrittenResponse[];
  readonly counters: Readonly<Record<string, CounterBacklog>>;
}

interface SpoolFile extends SpoolContents {
  readonly format: typeof FORMAT;
  readonly store: string;
  readonly writtenAt: string;
}

const FORMAT = 'nextbest-spool/1';
const NAME = /^spool-[\w.-]+\.json$/;
const EMPTY: SpoolContents = { responses: [], counters: {} };

/** How many additions a spool holds: response events, and counter fields and tallies. */
export function spooled(c: SpoolContents): { events: number; counts: number } {
  let counts = 0;
  for (const backlog of Object.values(c.counters))
    for (const b of backlog.batches) counts += b.entries.length + b.tallies.length;
  return { events: c.responses.length, counts };
}

function parse(text: string, store: string): SpoolFile | 'other store' {
  const file = JSON.parse(text) as Partial<SpoolFile>;
  if (file.format !== FORMAT || !Array.isArray(file.responses) || typeof file.counters !== 'object' || !file.counters)
    throw new Error('not a spool file of this version');
  return file.store === store ? (file as SpoolFile) : 'other store';
}

/**
 * Local files holding what a stop could not write while the shared store (Redis) was away,
 * for the next start to deliver. Each stop writes a file of its own (written whole under a
 * temporary name, then renamed); a start takes every file of its store — the same Redis and
 * key prefix — renaming each before reading it, so that of several processes starting at once
 * one takes each. Delivery is idempotent (eventIds, batch ids), so a file delivered twice
 * counts once.
 */
export class Spool {
  constructor(
    readonly dir: string,
    /** the store the spooled writes belong to: the Redis target (without credentials) and key prefix */
    private readonly store: string,
    private readonly log: Logger,
  ) {}

  /** Writes `contents` to a new file; answers its path. */
  async write(contents: SpoolContents): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const name = `spool-${new Date().toISOString().replace(/[:]/g, '')}-${process.pid}-${randomUUID().slice(0, 8)}.json`;
    const file: SpoolFile = { format: FORMAT, store: this.store, writtenAt: new Date().toISOString(), ...contents };
    const temporary = join(this.dir, `.${name}.tmp`);
    await writeFile(temporary, JSON.stringify(file), { flush: true });
    await rename(temporary, join(this.dir, name));
    return join(this.dir, name);
  }

  /** Takes the files of this store, oldest first, and deletes them; answers what they held. */
  async take(): Promise<SpoolContents & { files: number }> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => NAME.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY, files: 0 };
      throw err;
    }
    const responses: UnwrittenResponse[] = [];
    const counters: Record<string, CounterBacklog['batches'][number][]> = {};
    let files = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      let file: SpoolFile | 'other store';
      try {
        file = parse(await readFile(path, 'utf8'), this.store);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken by another process
        this.log.error({ file: path, err: (err as Error).message }, 'spool file unreadable; left in place');
        continue;
      }
      if (file === 'other store') {
        this.log.warn({ file: path }, 'spool file of another Redis or key prefix; left in place');
        continue;
      }
      const taken = `${path}.taking-${process.pid}-${randomUUID().slice(0, 8)}`;
      try {
        await rename(path, taken);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken by another process
        throw err;
      }
      responses.push(...file.responses);
      for (const [name, backlog] of Object.entries(file.counters)) (counters[name] ??= []).push(...backlog.batches);
      await unlink(taken);
      files++;
    }
    return {
      responses,
      counters: Object.fromEntries(Object.entries(counters).map(([name, batches]) => [name, { batches }])),
      files,
    };
  }
}
