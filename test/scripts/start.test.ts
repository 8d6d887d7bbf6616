import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILD_INFO, buildState, STAMP } from '../../scripts/build-state.js';
import { ROOT } from '../support/process.js';

/** A project in a temporary folder: src/, dist/, config files, a fake tsc that notes its calls. */
let root: string;
const at = (path: string) => join(root, path);
const write = (path: string, text = '', secondsAgo?: number) => {
  mkdirSync(dirname(at(path)), { recursive: true });
  writeFileSync(at(path), text);
  if (secondsAgo !== undefined) {
    const time = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(at(path), time, time);
  }
};

/** tsc, as the start script finds it: notes its arguments, writes dist/ from src/ (main.js says it ran). */
const FAKE_TSC = `const fs = require('node:fs');
fs.appendFileSync('tsc-calls', JSON.stringify(process.argv.slice(2)) + '\\n');
if (process.env.FAKE_TSC_FAIL) process.exit(2);
fs.mkdirSync('dist/api', { recursive: true });
fs.writeFileSync('dist/main.js', "console.log('served ' + process.argv[1].split('/').pop())");
fs.writeFileSync('dist/api/docs.js', '');
`;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nextbest-start-script-'));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) write(file, '{}', 300);
  write('package.json', '{"type":"module"}', 300);
  write('src/main.ts', '', 200);
  write('src/api/docs.ts', '', 200);
  write('src/types/lib.d.ts', '', 200);
  write('dist/main.js', "console.log('served ' + process.argv[1].split('/').pop())", 100);
  write('dist/api/docs.js', '', 100);
  write('node_modules/typescript/package.json', '{"name":"typescript"}');
  write('node_modules/typescript/bin/tsc', FAKE_TSC);
  for (const file of ['start.js', 'build-state.js']) {
    mkdirSync(at('scripts'), { recursive: true });
    copyFileSync(join(ROOT, 'scripts', file), at(`scripts/${file}`));
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const tscCalls = () => (existsSync(at('tsc-calls')) ? readFileSync(at('tsc-calls'), 'utf8').trim().split('\n') : []);
const npmStart = (env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['scripts/start.js'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });

describe('the build state: is dist/ the build of src/?', () => {
  it('is fresh when every output is newer than src/ and the config files', () => {
    expect(buildState(root)).toEqual({ reason: null, missing: false });
  });

  it('is stale when a file of src/ is newer than the build', () => {
    write('src/api/docs.ts', '// edited');
    expect(buildState(root)).toEqual({ reason: 'src/api/docs.ts changed since the build', missing: false });
    // declarations too: they are part of what tsc checks
    write('src/api/docs.ts', '', 200);
    write('src/types/lib.d.ts', '// edited');
    expect(buildState(root).reason).toBe('src/types/lib.d.ts changed since the build');
  });

  it('is stale when package.json or a tsconfig changed', () => {
    write('tsconfig.build.json', '{"compilerOptions":{}}');
    expect(buildState(root).reason).toBe('tsconfig.build.json changed since the build');
  });

  it('is stale, outputs missing, when a source has no output or dist/ is gone', () => {
    write('src/new.ts', '', 200);
    expect(buildState(root)).toEqual({ reason: 'dist/new.js is missing', missing: true });
    rmSync(at('dist'), { recursive: true });
    expect(buildState(root).missing).toBe(true);
  });

  it('takes the stamp of an incremental build as the build time, not the outputs it left alone', () => {
    write('src/api/docs.ts', '', 50);
    expect(buildState(root).reason).not.toBeNull();
    write(`dist/${STAMP}`, '', 10);
    expect(buildState(root).reason).toBeNull();
  });
});

describe('npm start (scripts/start.js)', () => {
  it('starts the build as it is when it is fresh: no tsc', () => {
    const r = npmStart();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('served');
    expect(tscCalls()).toEqual([]);
    expect(r.stderr).toBe('');
  });

  it('builds, incrementally, when a source is newer, then starts; the next start does not build', () => {
    write('src/main.ts', '// edited');
    const r = npmStart();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('building, src/main.ts changed since the build');
    expect(r.stdout).toContain('served');
    expect(tscCalls()).toEqual([
      JSON.stringify(['-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', `dist/${BUILD_INFO}`]),
    ]);
    expect(existsSync(at(`dist/${STAMP}`))).toBe(true);
    expect(npmStart().stdout).toContain('served');
    expect(tscCalls()).toHaveLength(1);
  });

  it('builds everything when outputs are missing (an incremental build would not write them again)', () => {
    write(`dist/${BUILD_INFO}`, '{}');
    rmSync(at('dist/api/docs.js'));
    expect(npmStart().status).toBe(0);
    expect(tscCalls()).toHaveLength(1);
    expect(existsSync(at(`dist/${BUILD_INFO}`))).toBe(false);
  });

  it('does not start when the build fails, and builds again the next time, though tsc wrote its outputs', () => {
    write('src/main.ts', '// edited');
    const r = npmStart({ FAKE_TSC_FAIL: '1' });
    expect(r.status).toBe(2);
    expect(r.stdout).not.toContain('served');
    expect(r.stderr).toContain('the build failed');
    // tsc writes its outputs despite errors: newer than every source, and still no build
    write('dist/main.js', "console.log('served')");
    write('dist/api/docs.js');
    expect(buildState(root).reason).toBe('the last build failed');
    const again = npmStart({ FAKE_TSC_FAIL: '1' });
    expect(again.status).toBe(2);
    expect(again.stdout).not.toContain('served');
    expect(npmStart().stdout).toContain('served');
    expect(tscCalls()).toHaveLength(3);
    expect(buildState(root).reason).toBeNull();
  });

  it('says what to do when dist/ is stale and TypeScript is not installed', () => {
    rmSync(at('node_modules'), { recursive: true });
    write('src/main.ts', '// edited');
    const r = npmStart();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^nextbest: cannot start: src\/main\.ts changed .* TypeScript is not installed/);
  });

  it('is what npm start and npm run dev run', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('node --max-semi-space-size=32 scripts/start.js');
    expect(pkg.scripts.dev).toBe('node scripts/dev.js');
    expect(pkg.scripts.prepare).toBe('npm run build');
  });
});
