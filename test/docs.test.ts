import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The documentation holds together: every relative link of README.md and docs/*.md reaches a
 * file of the repository and, with an anchor, a heading of that file; the README fits on a
 * screen and its map names every page; the widget's size the pages state is the file's.
 * No markdown parser is installed, so links are found by regex outside fenced code blocks and
 * code spans, and anchors are computed as GitHub computes heading ids.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = join(ROOT, 'docs');
const README = 'README.md';
const MAX_README_LINES = 250;
const WIDGET = 'web/widget.js';
const SIZE_TOLERANCE_KB = 0.5;

const docsPages = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => `docs/${f}`);
const pages = [README, ...docsPages];
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The text with fenced code blocks blanked line by line, so line numbers stay. */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === null && marker) {
        fence = marker;
        return '';
      }
      if (fence !== null) {
        if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
          fence = null;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** Prose: fences blanked, and code spans (which may wrap, never across a blank line) blanked to the same length. */
function prose(markdown: string): string {
  return withoutFences(markdown).replace(/(`+)((?:(?!\n\s*\n)[\s\S])*?)\1(?!`)/g, (span) =>
    span.replace(/[^\n]/g, 'x'),
  );
}

/** A heading's id as GitHub makes it: markup dropped, lowercase, punctuation but hyphens gone, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every heading id of a markdown text, duplicates numbered -1, -2, … in order. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const ids = new Set<string>();
  for (const line of withoutFences(markdown).split('\n')) {
    const text = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line)?.[1];
    if (text === undefined) continue;
    const base = slug(text);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

interface Link {
  readonly line: number;
  readonly target: string;
}

/** Inline links and images `[text](target)`, `![alt](target "title")`, outside code. */
function links(markdown: string): Link[] {
  const text = prose(markdown);
  const found: Link[] = [];
  for (const m of text.matchAll(
    /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)>?(?:\s+["'(][^)]*)?\)/g,
  ))
    found.push({ line: text.slice(0, m.index).split('\n').length, target: m[1]! });
  return found;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/**
 * What is wrong with the relative links of `file` (a path from the repository root): a target
 * outside the repository, a file that does not exist, an anchor that is no heading of its
 * markdown target. `readFile` and `exists` take paths from the root.
 */
function brokenLinks(
  file: string,
  markdown: string,
  readFile: (path: string) => string = read,
  exists: (path: string) => boolean = (path) => existsSync(join(ROOT, path)),
): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (path: string) => {
    let ids = anchorCache.get(path);
    if (!ids) anchorCache.set(path, (ids = anchors(path === file ? markdown : readFile(path))));
    return ids;
  };
  for (const { line, target } of links(markdown)) {
    const where = `${file}:${line}: ${target}`;
    if (isExternal(target)) continue;
    if (target === '') {
      problems.push(`${where}: empty link`);
      continue;
    }
    const hash = target.indexOf('#');
    const pathPart = decodeURI(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    if (isAbsolute(pathPart)) {
      problems.push(`${where}: an absolute path; link relative to the page`);
      continue;
    }
    const resolved = pathPart === '' ? file : relative(ROOT, resolve(ROOT, dirname(file), pathPart));
    if (resolved.startsWith('..') || isAbsolute(resolved)) {
      problems.push(`${where}: outside the repository`);
      continue;
    }
    if (!exists(resolved)) {
      problems.push(`${where}: no such file ${resolved}`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md')) problems.push(`${where}: an anchor into ${resolved}, which is not markdown`);
    else if (!anchorsOf(resolved).has(anchor)) problems.push(`${where}: no heading #${anchor} in ${resolved}`);
  }
  return problems;
}

describe('heading ids', () => {
  it('are computed as GitHub computes them', () => {
    expect(slug('`POST /v1/decisions`')).toBe('post-v1decisions');
    expect(slug('The rule set (`rules/`)')).toBe('the-rule-set-rules');
    expect(slug('"Tips for you" on any web page')).toBe('tips-for-you-on-any-web-page');
    expect(slug("The hot path's shortcuts")).toBe('the-hot-paths-shortcuts');
    expect(slug('Deadlines, not hangs')).toBe('deadlines-not-hangs');
    expect(slug('Keys and `PROFILE_STORE`')).toBe('keys-and-profile_store');
    expect(slug('Control-group customers')).toBe('control-group-customers');
  });

  it('number duplicate headings and ignore headings in code', () => {
    const ids = anchors('# A\n\n## Keys\n\n```sh\n# Keys\n```\n\n### Keys\n\n## Keys ##\n');
    expect([...ids]).toEqual(['a', 'keys', 'keys-1', 'keys-2']);
  });
});

describe('the link checker', () => {
  const files: Record<string, string> = { 'docs/a.md': '# Alpha\n\n## Two words\n', 'docs/b.md': '# Beta\n' };
  /** docs/a.md with `body` after its three lines of headings. */
  const check = (body: string) =>
    brokenLinks(
      'docs/a.md',
      files['docs/a.md'] + body,
      (p) => files[p] ?? '',
      (p) => p in files || p === 'README.md',
    );

  it('passes links that reach a file and a heading', () => {
    expect(check('[a](#two-words) [b](b.md) [c](b.md#beta) [d](../README.md) [e](https://example.com/x#y)')).toEqual(
      [],
    );
  });

  it('fails a missing file, a missing anchor, and a link out of the repository', () => {
    expect(check('[a](#nowhere)\n[b](c.md)\n[c](b.md#alpha)\n[d](../../outside.md)')).toEqual([
      'docs/a.md:4: #nowhere: no heading #nowhere in docs/a.md',
      'docs/a.md:5: c.md: no such file docs/c.md',
      'docs/a.md:6: b.md#alpha: no heading #alpha in docs/b.md',
      'docs/a.md:7: ../../outside.md: outside the repository',
    ]);
  });

  it('reads no links in code', () => {
    expect(check('`[a](missing.md)`\n\n```md\n[b](missing.md)\n```\n')).toEqual([]);
  });
});

describe('the documentation', () => {
  it('has pages under docs/', () => {
    expect(docsPages.length).toBeGreaterThan(0);
  });

  it.each(pages)('%s: every relative link reaches a file of the repository and a heading of it', (file) => {
    expect(brokenLinks(file, read(file))).toEqual([]);
  });

  it(`keeps the README within ${MAX_README_LINES} lines`, () => {
    expect(read(README).split('\n').length - 1).toBeLessThanOrEqual(MAX_README_LINES);
  });

  it("links every page of docs/ from the README's map", () => {
    const readme = read(README);
    const map = /^## Documentation$([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
    expect(map, 'a "## Documentation" section in the README').toBeDefined();
    const linked = new Set(links(map!).map((l) => l.target.split('#')[0]));
    expect(docsPages.filter((p) => !linked.has(p))).toEqual([]);
  });

  it('states the widget size the file has', () => {
    const bytes = statSync(join(ROOT, WIDGET)).size;
    const stated = pages.flatMap((file) =>
      withoutFences(read(file))
        .split('\n')
        .filter((line) => line.includes('widget.js'))
        .flatMap((line) => [...line.matchAll(/(\d+(?:\.\d+)?)\s*(KiB|KB|kB)\b/g)])
        .map((m) => ({ file, value: Number(m[1]), unit: m[2]! })),
    );
    expect(stated.length, `a size stated beside widget.js in ${pages.join(', ')}`).toBeGreaterThan(0);
    for (const { file, value, unit } of stated) {
      const actual = bytes / (unit === 'KiB' ? 1024 : 1000);
      expect(
        Math.abs(actual - value),
        `${file}: ${value} ${unit}, the file is ${actual.toFixed(2)} ${unit}`,
      ).toBeLessThanOrEqual(SIZE_TOLERANCE_KB);
    }
  });

  it('keeps what the pages tell users to generate in the checkout out of git', () => {
    // the concrete names the pages use: --out customers.ndjson, --html impact.html, --world world, cp -r rules my-rules
    const generated = new Set(
      pages.flatMap((file) =>
        [...read(file).matchAll(/(?:--out|--html|--world|cp -r rules) ([\w.-]+)/g)]
          .map((m) => m[1]!)
          .filter((name) => name !== name.toUpperCase()),
      ),
    );
    expect(generated.size).toBeGreaterThan(3);
    const kept = [...generated].filter(
      (name) => spawnSync('git', ['check-ignore', '-q', name], { cwd: ROOT }).status !== 0,
    );
    expect(kept, 'names missing from .gitignore').toEqual([]);
  });
});
