import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, freePort, ROOT, startService } from './support/process.js';

/** A folder anyone may write: the service may run as another user below. */
const scratch = mkdtempSync(join(tmpdir(), 'nextbest-start-'));
chmodSync(scratch, 0o777);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** root reads every file and binds every port: the cases about permissions run as nobody */
const asRoot = process.getuid?.() === 0;
const unprivileged = asRoot ? { uid: 65534, gid: 65534 } : {};
/** nobody must reach the checkout to run it: say so rather than fail on a missing module */
function reachable(): void {
  if (!asRoot) return;
  const probe = spawnSync(
    process.execPath,
    ['-e', 'require("fs").accessSync(process.argv[1])', join(ROOT, 'dist/main.js')],
    {
      ...unprivileged,
    },
  );
  if (probe.status !== 0)
    throw new Error(
      `run as root, these cases run the service as nobody, who cannot run ${process.execPath} on ${ROOT}/dist/main.js: let others reach both (chmod o+x on their folders; .ci/run does)`,
    );
}

/** Runs dist/main.js to its exit. */
function start(
  env: Record<string, string>,
  options: { uid?: number; gid?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        DEMO_CUSTOMERS: '100',
        DECISION_LOG_DIR: join(scratch, 'decisions'),
        SPOOL_DIR: join(scratch, 'spool'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit 1 with one line on stderr, no stack; answers the line. */
function oneLine(r: { code: number | null; stderr: string }): string {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr, r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^nextbest: /);
  return lines[0]!;
}

async function holdPort(): Promise<{ port: number; server: Server }> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, server };
}

describe('a start that cannot go on says why in one line, and exits 1', () => {
  it('a port in use', async () => {
    const { port, server } = await holdPort();
    try {
      const line = oneLine(await start({ PORT: String(port) }));
      expect(line).toContain(`port ${port} is in use`);
      expect(line).toContain('set PORT');
    } finally {
      server.close();
    }
  });

  it('a port in use, with WORKERS=2: one line, not one a worker', async () => {
    const { port, server } = await holdPort();
    try {
      expect(oneLine(await start({ PORT: String(port), WORKERS: '2' }))).toContain(`port ${port} is in use`);
    } finally {
      server.close();
    }
  });

  const portStart = (() => {
    try {
      return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
    } catch {
      return 1024;
    }
  })();
  it.skipIf(portStart <= 80)('a port the user may not bind', async () => {
    reachable();
    const line = oneLine(await start({ PORT: '80' }, unprivileged));
    expect(line).toContain('no permission to listen on port 80');
  });

  it('a RULES_DIR that does not exist', async () => {
    const line = oneLine(await start({ PORT: '0', RULES_DIR: join(scratch, 'no-rules') }));
    expect(line).toMatch(/RULES_DIR: .*no-rules does not exist: set RULES_DIR/);
  });

  it('a RULES_DIR missing, with WORKERS=2', async () => {
    const line = oneLine(await start({ PORT: '0', WORKERS: '2', RULES_DIR: join(scratch, 'no-rules') }));
    expect(line).toContain('does not exist');
  });

  it('a PROFILES_FILE that cannot be read', async () => {
    const file = join(scratch, 'locked.ndjson');
    writeFileSync(file, '');
    chmodSync(file, 0o000);
    reachable();
    const line = oneLine(await start({ PORT: '0', PROFILES_FILE: file }, unprivileged));
    expect(line).toMatch(/PROFILES_FILE: .*locked\.ndjson cannot be read by this user \(permission denied\)/);
  });

  it('a PROFILES_FILE that is a folder, or not there', async () => {
    expect(oneLine(await start({ PORT: '0', PROFILES_FILE: scratch }))).toContain('is a folder, not a file');
    expect(oneLine(await start({ PORT: '0', PROFILES_FILE: join(scratch, 'none.ndjson') }))).toContain(
      'none.ndjson does not exist: set PROFILES_FILE',
    );
  });
});

describe('the start log', () => {
  it('names the URLs to open, for the address bound', async () => {
    const { child, base, output } = await startService();
    child.kill('SIGTERM');
    await exited(child);
    const line = output()
      .split('\n')
      .find((l) => l.includes('/demo/web'));
    for (const path of ['/v1', '/docs', '/demo/web', '/demo/agent']) expect(line).toContain(`${base}${path}`);
  });

  it('is JSON lines with LOG_FORMAT=json, lines for a person with LOG_FORMAT=pretty', async () => {
    const lines = async (format: string) => {
      const r = await start({ PORT: '0', LOG_FORMAT: format, RULES_DIR: join(scratch, 'no-rules') });
      const out = r.stdout.trim().split('\n');
      expect(out.length, r.stdout).toBeGreaterThan(0);
      return out;
    };
    const isJson = (l: string) => {
      try {
        return typeof JSON.parse(l) === 'object';
      } catch {
        return false;
      }
    };
    expect((await lines('json')).every(isJson)).toBe(true);
    const pretty = await lines('pretty');
    expect(pretty.some(isJson)).toBe(false);
    expect(pretty[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: API_KEYS is unset/);
  });
});
