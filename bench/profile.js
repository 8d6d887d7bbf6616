// node bench/profile.js FILE.cpuprofile [N] — where a BENCH_CPU_PROF profile spent its busy time:
// the N functions with the most self time, self time by package, and the library and app functions
// with the most time under them (where the node-core time comes from), as shares of non-idle time.
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile.js FILE.cpuprofile [N]');
  process.exit(2);
}
const { nodes, samples, timeDeltas } = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(nodes.map((node) => [node.id, node]));
const selfUs = new Map();
samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (timeDeltas[i] ?? 0));
});

const where = ({ url, lineNumber }) =>
  (url.includes('node_modules/') ? url.replace(/^.*node_modules\//, '') : url.replace(/^.*\/(dist|bench)\//, '$1/')) +
  (url ? `:${lineNumber + 1}` : '');
const pkg = ({ url, functionName }) =>
  url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1] ??
  url.match(/\/(dist\/[^/]+)/)?.[1] ??
  (url.startsWith('node:') ? 'node (core)' : url ? url : functionName);

function top(keyOf) {
  const totals = new Map();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)') continue;
    const key = keyOf(frame);
    totals.set(key, (totals.get(key) ?? 0) + us);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/** Time under each app or library function, each stack counted once per function. */
function inclusive() {
  const parent = new Map(nodes.flatMap((node) => (node.children ?? []).map((child) => [child, node.id])));
  const totals = new Map();
  for (const [id, us] of selfUs) {
    if (byId.get(id).callFrame.functionName === '(idle)') continue;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame;
      if (!frame.url || frame.url.startsWith('node:')) continue;
      const key = `${frame.functionName || '(anonymous)'}  ${where(frame)}`;
      if (!seen.has(key)) {
        totals.set(key, (totals.get(key) ?? 0) + us);
        seen.add(key);
      }
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

const functions = top((f) => `${f.functionName || '(anonymous)'}  ${where(f)}`);
const busyUs = functions.reduce((sum, [, us]) => sum + us, 0);
const line = ([key, us]) => console.log(`${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${key}`);
console.log(`busy ${(busyUs / 1e6).toFixed(1)} s; self time, top ${n} functions:`);
functions.slice(0, Number(n)).forEach(line);
console.log('\nself time by package:');
top(pkg).slice(0, 15).forEach(line);
console.log(`\ntime under app and library functions, top ${n}:`);
inclusive().slice(0, Number(n)).forEach(line);
