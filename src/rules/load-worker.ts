import { parentPort, workerData } from 'node:worker_threads';
import { loadRuleSet, type RuleLimits } from './load.js';
import type { FromLoader } from './load-thread.js';
import { compileRuleSet, sourceBytes } from './ruleset.js';

/** Offers per message: the serving thread takes each message in at once, so it stays small. */
const OFFERS_PER_MESSAGE = 200;

const { dir, limits } = workerData as { dir: string; limits: RuleLimits };
const port = parentPort!;
const post = (message: FromLoader) => port.postMessage(message);

const loaded = await loadRuleSet(dir, limits);
if (!loaded.ok) post({ t: 'done', ok: false, errors: loaded.errors, warnings: loaded.warnings });
else {
  const bytes = sourceBytes(loaded.source);
  const { offers, ...rest } = loaded.source;
  const chunks: (typeof offers)[] = [];
  for (let i = 0; i < offers.length; i += OFFERS_PER_MESSAGE) chunks.push(offers.slice(i, i + OFFERS_PER_MESSAGE));
  try {
    // compiled here first, so a set that cannot be compiled is refused without the serving thread's time
    compileRuleSet(loaded.source, { bytes });
    // then sent a message at a time, the next when the serving thread asks: it takes each in between decisions
    let sent = 0;
    const next = () => {
      if (sent < chunks.length) post({ t: 'offers', offers: chunks[sent++]! });
      else post({ t: 'done', ok: true, source: rest, warnings: loaded.warnings, bytes });
    };
    port.on('message', next);
    next();
  } catch (err) {
    const message = `cannot be compiled: ${(err as Error).message}`;
    post({
      t: 'done',
      ok: false,
      errors: [{ file: '.', path: '/', line: 1, column: 1, message, severity: 'error' }],
      warnings: loaded.warnings,
    });
  }
}
