import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const INSTALL = 'install it (Debian: apt-get install -y redis-server; macOS: brew install redis)';

/** Is this port free on loopback? */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose Cluster bus port (port + 10000) is free too. */
export async function freeRedisPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for redis-server');
}

/**
 * A redis-server of the test's own, on a free port, with its data in a temporary folder so a
 * restart after kill() finds what save() wrote. Fails with a clear message when the binary
 * is missing; tests never skip.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extra: string[],
    readonly password: string | undefined,
  ) {}

  static async start(options: { cluster?: boolean; password?: string; args?: string[] } = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'nextbest-redis-'));
    const cluster = options.cluster
      ? [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '1000',
          '--cluster-require-full-coverage',
          'no',
        ]
      : [];
    const auth = options.password ? ['--requirepass', options.password, '--masterauth', options.password] : [];
    const server = new RedisServer(
      await freeRedisPort(),
      dir,
      [...cluster, ...auth, ...(options.args ?? [])],
      options.password,
    );
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      ...this.extra,
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.log = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start on port ${this.port}:\n${this.log}`)),
        10_000,
      );
      child.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.code === 'ENOENT' ? new Error(`redis-server is not on PATH: ${INSTALL}, or set REDIS_URL`) : err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${this.log}`));
      });
      child.stdout!.on('data', (d: Buffer) => {
        this.log += d.toString();
        if (this.log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    });
    await ready;
  }

  /** A plain client for the test's own checks. */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1, password: this.password });
  }

  /** Writes the data to disk, so a restart after kill() finds it. */
  async save(): Promise<void> {
    const c = this.client();
    try {
      await c.save();
    } finally {
      c.disconnect();
    }
  }

  /** SIGKILL: the server is gone at once, connections reset. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGSTOP: the server holds its connections open and answers nothing (a hang, not a crash). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts again on the same port and folder. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    this.resume();
    await this.signal('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(sig);
    await gone;
  }
}

/** The Redis the store tests use: REDIS_URL when set, else a redis-server of their own. */
export async function testRedis(): Promise<{ url: string; client(): Redis; stop(): Promise<void> }> {
  const external = process.env.REDIS_URL;
  if (external) return { url: external, client: () => new Redis(external), stop: async () => {} };
  const server = await RedisServer.start();
  return { url: server.url, client: () => server.client(), stop: () => server.stop() };
}

/** A unique key prefix, so tests sharing one Redis never see each other's keys. */
export const testPrefix = (name: string) => `t${process.pid}${name}${Math.floor(Math.random() * 1e6)}:`;

/** Waits until `check` returns true, polling; fails with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}

/**
 * A Redis Cluster of `masters` redis-servers on free ports, slots spread by redis-cli.
 * Full coverage is not required, so the other masters keep serving when one is killed.
 */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(masters = 3, password?: string): Promise<RedisCluster> {
    const nodes = await Promise.all(
      Array.from({ length: masters }, () => RedisServer.start({ cluster: true, password })),
    );
    const cluster = new RedisCluster(nodes);
    const auth = password ? ['-a', password, '--no-auth-warning'] : [];
    const create = spawn(
      'redis-cli',
      [...auth, '--cluster', 'create', ...nodes.map((n) => n.hostPort), '--cluster-yes'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    create.stdout.on('data', (d: Buffer) => (out += d.toString()));
    create.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      create.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new Error(`redis-cli is not on PATH: ${INSTALL}`) : err),
      );
      create.once('exit', resolve);
    });
    if (code !== 0) {
      await cluster.stop();
      throw new Error(`redis-cli --cluster create failed (${code}):\n${out}`);
    }
    await cluster.waitOk(nodes);
    return cluster;
  }

  get seeds(): string {
    return this.nodes.map((n) => n.hostPort).join(',');
  }

  /** Until every running node says cluster_state:ok and knows every slot. */
  async waitOk(nodes = this.nodes.filter((n) => n.running)): Promise<void> {
    await eventually(
      'cluster_state:ok on every node',
      async () => {
        for (const n of nodes) {
          const c = n.client();
          try {
            const info = (await c.cluster('INFO')) as string;
            if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
          } catch {
            return false;
          } finally {
            c.disconnect();
          }
        }
        return true;
      },
      20_000,
    );
  }

  /** The node serving a key's slot. */
  async nodeFor(key: string): Promise<RedisServer> {
    const c = this.nodes.find((n) => n.running)!.client();
    try {
      const slot = (await c.cluster('KEYSLOT', key)) as number;
      const owner = (await c.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)!;
      return this.nodes.find((n) => n.port === owner[2]![1])!;
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
