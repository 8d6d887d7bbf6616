// A larger catalogue for measuring: the shipped rule set plus variants of its offers, up to N offers.
// node bench/catalogue.js N DIR — writes the rule set to DIR (replacing it) and prints DIR.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIPPED_RULES = fileURLToPath(new URL('../rules/', import.meta.url));
const SEGMENTS = ['super', 'top', 'middle', 'bottom'];

/** The segments an offer names in its valueSegment tests (all four when it names none): a variant for another could never be eligible. */
function segmentsOf(offer) {
  const named = new Set();
  const walk = (c) => {
    if (c.all) c.all.forEach(walk);
    else if (c.any) c.any.forEach(walk);
    else if (c.not) return;
    else if (c.fact === 'valueSegment' && c.path === undefined)
      for (const v of [c.value].flat()) if (SEGMENTS.includes(v)) named.add(v);
  };
  walk(offer.eligibility);
  return named.size > 0 ? SEGMENTS.filter((s) => named.has(s)) : SEGMENTS;
}

/**
 * Copies the shipped rules to `dir` and adds variants of the shipped offers, round-robin, until
 * the catalogue holds `offers`. A variant is its original tailored to one value segment, the
 * way catalogues grow (a version of an offer per segment): the original's conditions, group
 * and channels, plus `valueSegment` equal to one of the four segments in turn; its own id, a
 * value and priors a few per cent apart; never a fallback. Each variant is thus eligible for
 * about a quarter of its original's customers, and costs as much to evaluate for them.
 * Returns the number of offers.
 */
export function writeCatalogue(dir, offers) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(SHIPPED_RULES, dir, { recursive: true });
  const shipped = readdirSync(join(SHIPPED_RULES, 'offers'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (offers < shipped.length) throw new Error(`a catalogue holds at least the ${shipped.length} shipped offers`);
  const sources = shipped.map((f) => JSON.parse(readFileSync(join(SHIPPED_RULES, 'offers', f), 'utf8')));
  for (let n = shipped.length, k = 0; n < offers; n++, k++) {
    const source = sources[k % sources.length];
    const round = 2 + Math.floor(k / sources.length);
    const factor = 1 + (((k * 7) % 11) - 5) / 100; // 0.95 … 1.05, fixed per variant
    const variant = {
      ...source,
      id: `${source.id}-v${round}`,
      name: `${source.name} (variant ${round})`,
      value: Math.round(source.value * factor * 100) / 100,
      propensity: Object.fromEntries(
        Object.entries(source.propensity).map(([channel, p]) => [
          channel,
          Math.min(0.99, Math.round(p * factor * 1e4) / 1e4),
        ]),
      ),
      fallback: false,
      eligibility: {
        all: [
          source.eligibility,
          {
            fact: 'valueSegment',
            operator: 'equal',
            value: segmentsOf(source)[(round - 2) % segmentsOf(source).length],
          },
        ],
      },
    };
    writeFileSync(join(dir, 'offers', `${variant.id}.json`), `${JSON.stringify(variant, null, 2)}\n`);
  }
  return offers;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [n, dir] = process.argv.slice(2);
  if (!(Number(n) > 0) || !dir) {
    console.error('usage: node bench/catalogue.js OFFERS DIR');
    process.exit(2);
  }
  writeCatalogue(dir, Number(n));
  console.log(dir);
}
