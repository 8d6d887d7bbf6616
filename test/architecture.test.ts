import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/**
 * The layers of src/, lowest first: a folder (or top-level file) may import only from layers
 * below its own. The decision path thus crosses each folder once, going down.
 */
const LAYERS: readonly (readonly string[])[] = [
  // types: declarations of the untyped libraries used
  ['types', 'errors.ts', 'config.ts', 'ops', 'math'],
  ['redis'],
  ['profiles', 'contacts', 'counters', 'rate-windows', 'decision-log'],
  ['rules'],
  ['learning'],
  ['decision'],
  ['feedback', 'offline', 'outbound'],
  ['stores.ts'],
  ['api'],
  ['app.ts', 'cli'],
  ['boot.ts'],
  ['main.ts'],
];
const layerOf = new Map(LAYERS.flatMap((units, layer) => units.map((u) => [u, layer] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The files a file imports from src/ (import and export … from, type-only included). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((m) =>
    resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')),
  );
}

/** A file's unit: its top-level folder under src/, or itself at the top. */
const unitOf = (file: string) => relative(SRC, file).split('/')[0]!;

const graph = new Map(sources(SRC).map((f) => [f, imports(f)] as const));

describe('the architecture of src/', () => {
  it('places every folder and top-level file in a layer', () => {
    const units = new Set([...graph.keys()].map(unitOf));
    expect([...units].filter((u) => !layerOf.has(u))).toEqual([]);
  });

  it('imports only downwards, across layers', () => {
    const upwards: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const [from, to] = [unitOf(file), unitOf(target)];
        if (from !== to && !(layerOf.get(to)! < layerOf.get(from)!))
          upwards.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upwards).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('finds the imports it checks (the check can fail)', () => {
    const decisionService = join(SRC, 'decision/service.ts');
    expect(graph.get(decisionService)!.map((f) => relative(SRC, f))).toEqual(
      expect.arrayContaining(['contacts/store.ts', 'learning/model.ts', 'rules/registry.ts']),
    );
  });
});
