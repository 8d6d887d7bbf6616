/**
 * The file log's writer thread: reads the decision entries the service sends as bytes, writes
 * their record lines to the files, and answers the service's questions (flush, find, close).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWriter, ToWriter } from './file.js';
import { type FileLogSettings, FileWriter, type Notes } from './file-writer.js';
import { Reader, Words } from './record-codec.js';

const port = parentPort!;
const send = (message: FromWriter, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const say =
  (level: 'info' | 'warn' | 'error') =>
  (details: Record<string, unknown>, message: string): void =>
    send({ t: 'log', level, details, message });
const notes: Notes = { info: say('info'), warn: say('warn'), error: say('error') };

const writer = new FileWriter(workerData as FileLogSettings, notes);
const words = new Words();
let received = 0;
const status = (): FromWriter => ({ t: 'status', received, ...writer.status() });
writer.onChange = () => send(status());

port.on('message', (m: ToWriter) => {
  switch (m.t) {
    case 'records': {
      if (m.reset) words.clear();
      words.add(m.words);
      const reader = new Reader(Buffer.from(m.buf, 0, m.bytes), words);
      while (!reader.done) writer.appendFrom(reader);
      received += m.records;
      send(status());
      send({ t: 'spare', buf: m.buf }, [m.buf]);
      return;
    }
    case 'flush':
      void writer.flush().then(() => send({ t: 'answer', ask: m.ask, line: undefined }));
      return;
    case 'find':
      void writer.find(m.decisionId).then(
        (line) => send({ t: 'answer', ask: m.ask, line }),
        (err: Error) => {
          notes.warn({ err: err.message }, 'decision log: a look-up in the files failed');
          send({ t: 'answer', ask: m.ask, line: undefined });
        },
      );
      return;
    case 'close':
      void writer.close().then(() => {
        send(status());
        send({ t: 'answer', ask: m.ask, line: undefined });
      });
      return;
  }
});
