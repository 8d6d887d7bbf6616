// Whether dist/ holds a build of src/ as it is now, and the build when it does not: what
// `npm start` and `npm run dev` ask before they compile. Plain Node, no dependencies.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';

/** Files whose change changes the build, besides src/. */
export const CONFIG_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Written by build() after a build that succeeded; its time is when that build began. */
export const STAMP = '.build-stamp';
/** Written by build() when tsc fails: its outputs are written all the same, but are no build to serve. */
export const FAILED = '.build-failed';
/** tsc's record of its last incremental build, so a rebuild compiles only what changed. */
export const BUILD_INFO = '.tsbuildinfo';

/** The arguments of the project's build (`npm run build`), plus the incremental record. */
export const TSC_ARGS = ['-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', `dist/${BUILD_INFO}`];

/** @param {string} path @returns {number | undefined} */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Every file under dir, relative to it, with / between folders. @param {string} dir @returns {string[]} */
function filesUnder(dir) {
  /** @type {string[]} */
  const found = [];
  const walk = (/** @type {string} */ d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else found.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return found.sort();
}

/**
 * Why root/dist is not the build of root/src (`reason`, null when it is), and whether outputs
 * are missing (`missing`: an incremental build would not write them again). Every .ts of src/
 * needs its .js; no file of src/, nor package.json or a tsconfig, may be newer than the build.
 * The build's time: the later of the stamp (when the last build of these scripts began) and the
 * oldest output (`npm run build` and `npm ci` write them all). A build of these scripts that
 * failed leaves dist/ stale until one succeeds.
 * @param {string} root
 * @returns {{ reason: string | null, missing: boolean }}
 */
export function buildState(root) {
  const src = join(root, 'src');
  const dist = join(root, 'dist');
  let sources;
  try {
    sources = filesUnder(src);
  } catch {
    return { reason: 'src/ cannot be read', missing: false };
  }
  if (mtime(join(dist, FAILED)) !== undefined) return { reason: 'the last build failed', missing: false };
  let oldest = Number.POSITIVE_INFINITY;
  for (const file of sources) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const output = `${file.slice(0, -'.ts'.length)}.js`;
    const time = mtime(join(dist, output));
    if (time === undefined) return { reason: `dist/${output} is missing`, missing: true };
    oldest = Math.min(oldest, time);
  }
  const built = Math.max(mtime(join(dist, STAMP)) ?? Number.NEGATIVE_INFINITY, oldest);
  for (const file of sources) {
    if ((mtime(join(src, file)) ?? 0) > built) return { reason: `src/${file} changed since the build`, missing: false };
  }
  for (const file of CONFIG_FILES) {
    if ((mtime(join(root, file)) ?? 0) > built) return { reason: `${file} changed since the build`, missing: false };
  }
  return { reason: null, missing: false };
}

/** The TypeScript compiler of the project, or undefined when it is not installed (production install). */
export function tscPath(/** @type {string} */ root) {
  try {
    return createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

/**
 * Compiles src/ to dist/ (incrementally: what changed since the last build of these scripts;
 * everything when `full`, or outputs are missing); stamps dist/ when tsc succeeds. Returns
 * tsc's exit code.
 * @param {string} root
 * @param {{ full?: boolean }} [options]
 * @returns {number}
 */
export function build(root, options = {}) {
  const tsc = tscPath(root);
  if (!tsc) throw new Error('TypeScript is not installed');
  const began = new Date();
  if (options.full) rmSync(join(root, 'dist', BUILD_INFO), { force: true });
  const run = spawnSync(process.execPath, [tsc, ...TSC_ARGS], { cwd: root, stdio: 'inherit' });
  const code = run.status ?? 1;
  const failed = join(root, 'dist', FAILED);
  if (code !== 0) {
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(failed, `tsc exited with ${code}: what it wrote in dist/ is not served\n`);
    return code;
  }
  rmSync(failed, { force: true });
  const stamp = join(root, 'dist', STAMP);
  writeFileSync(stamp, 'the last build of scripts/start.js began at this file’s time\n');
  // an edit made while tsc ran is newer than the stamp: the next start builds again
  utimesSync(stamp, began, began);
  return code;
}
