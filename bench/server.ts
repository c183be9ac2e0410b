import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScratchDatabase } from '../src/platform/db/scratch.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STDERR_TAIL_BYTES = 8192;

/** The credentials of the staff account the bench creates at server start (for stock top-ups). */
export const BENCH_ADMIN = { email: 'bench-admin@emporium.local', password: 'bench-admin-password' };

export interface Child {
  process: ChildProcess;
  pid: number;
  url: string;
  /** The last few KiB the child wrote to stderr, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface RealServer extends Child {
  database: 'pglite' | 'postgres';
  startupMs: number;
}

/** Every child started here and not yet stopped, so that any way out of the run can stop them. */
const live = new Set<Child>();

export async function stopAllChildren(): Promise<void> {
  await Promise.allSettled([...live].map((child) => child.stop()));
}

/** Last resort when the process exits without awaiting `stopAllChildren`: no orphaned servers. */
export function killAllChildren(): void {
  for (const child of live) child.process.kill('SIGKILL');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function keepStderrTail(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  return () => tail;
}

/** SIGTERM, then SIGKILL when the child has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function exitedEarly(child: ChildProcess, what: string, tail: () => string): Promise<never> {
  return new Promise((_resolve, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`${what} exited before it was ready (code ${code}, signal ${signal})\n${tail()}`)),
    );
  });
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return;
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not become ready within ${timeoutMs} ms`);
}

/** Where the server keeps its data for this run: a fresh PGlite directory or a fresh PostgreSQL database. */
async function freshStorage(
  databaseUrl: string | undefined,
): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  if (databaseUrl) {
    const scratch = await createScratchDatabase(databaseUrl, 'emporium_bench');
    return { env: { DATABASE_URL: scratch.url }, dispose: scratch.drop };
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'emporium-bench-'));
  return {
    env: { DATA_DIR: dataDir },
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
}

/**
 * The node flags `npm start` runs the server with (package.json's start script), so the bench
 * measures the server as it is started, not a differently tuned one.
 */
async function startFlags(): Promise<string[]> {
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const words = String(manifest.scripts.start).split(/\s+/);
  return words
    .slice(words.indexOf('node') + 1, words.indexOf('src/main.ts'))
    .filter((word) => word.startsWith('--'));
}

/**
 * Starts `node src/main.ts serve` (with `npm start`'s node flags) on a free loopback port against fresh storage (PostgreSQL when
 * DATABASE_URL is set, embedded PGlite otherwise), lets it seed `products` demo products, and
 * resolves once /readyz answers 200. Its logs go to /dev/null: formatting them is still paid for.
 */
export async function startRealServer(options: {
  products: number;
  readyTimeoutMs: number;
  /** Extra node flags for the server (the bench's --profile). */
  nodeArgs?: string[];
}): Promise<RealServer> {
  const started = performance.now();
  const storage = await freshStorage(process.env.DATABASE_URL || undefined);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      ...(await startFlags()),
      ...(options.nodeArgs ?? []),
      path.join(ROOT, 'src/main.ts'),
      'serve',
      '--port',
      String(port),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...storage.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        SEED_PRODUCTS: String(options.products),
        EMPORIUM_ADMIN_EMAIL: BENCH_ADMIN.email,
        EMPORIUM_ADMIN_PASSWORD: BENCH_ADMIN.password,
        // One loopback client stands in for many shoppers; per-IP limits would measure the limiter.
        RATE_LIMIT_PER_MINUTE: '10000000',
        LOGIN_LIMIT_PER_MINUTE: '100000',
        REGISTER_LIMIT_PER_MINUTE: '100000',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderrTail = keepStderrTail(child);
  let stopping: Promise<void> | undefined;
  const handle: Child = {
    process: child,
    pid: child.pid!,
    url,
    stderrTail,
    stop() {
      stopping ??= (async () => {
        await stopChild(child, 10_000);
        await storage.dispose();
        live.delete(handle);
      })();
      return stopping;
    },
  };
  live.add(handle);
  try {
    await Promise.race([
      waitUntilReady(url, child, options.readyTimeoutMs),
      exitedEarly(child, 'the server', stderrTail),
    ]);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return {
    ...handle,
    database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    startupMs: Math.round(performance.now() - started),
  };
}

/** Starts bench/baseline.ts in its own process, answering GET /v1/products with `body`. */
export async function startBaseline(body: string, readyTimeoutMs = 15_000): Promise<Child> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bench/baseline.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stderrTail = keepStderrTail(child);
  const handle: Child = {
    process: child,
    pid: child.pid!,
    url: '',
    stderrTail,
    async stop() {
      await stopChild(child);
      live.delete(handle);
    },
  };
  live.add(handle);
  try {
    const port = await Promise.race([
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the baseline server did not start')),
          readyTimeoutMs,
        );
        child.once('message', (message: { port: number }) => {
          clearTimeout(timer);
          resolve(message.port);
        });
        child.send({ body });
      }),
      exitedEarly(child, 'the baseline server', stderrTail),
    ]);
    handle.url = `http://127.0.0.1:${port}`;
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (undefined once it is gone). */
export async function readRss(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (user + system) a process has used, in milliseconds, from /proc/<pid>/stat (undefined
 * once it is gone). Unlike req/s it hardly moves when other work shares the machine.
 */
export async function readCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them,
    // in clock ticks of 1/100 s (USER_HZ, fixed at 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

export interface RssSampler {
  /** The latest sample, in bytes. */
  current(): number;
  /** The highest sample since start, in bytes. */
  peak(): number;
  stop(): Promise<void>;
}

/** Samples a process's RSS every `intervalMs` until stopped (and once more at the end). */
export function sampleRss(pid: number, intervalMs = 200): RssSampler {
  let current = 0;
  let peak = 0;
  const take = async () => {
    const rss = await readRss(pid);
    if (rss === undefined) return;
    current = rss;
    peak = Math.max(peak, rss);
  };
  void take();
  const timer = setInterval(() => void take(), intervalMs);
  return {
    current: () => current,
    peak: () => peak,
    async stop() {
      clearInterval(timer);
      await take();
    },
  };
}
