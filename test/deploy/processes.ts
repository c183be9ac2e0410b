import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The project's Node 24 (the `node` devDependency), not whatever `node` is on PATH. */
const NODE = path.join(ROOT, 'node_modules/.bin/node');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<Exit>;
  /** How killAll ends it: SIGKILL for Emporium; nginx's master must stop its own workers. */
  stopSignal: NodeJS.Signals;
}

/** Every process started here, so a test file's afterAll can kill whatever is still running. */
const started = new Set<RunningProcess>();

function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd: string; stopSignal: NodeJS.Signals },
): RunningProcess {
  const { env = {}, cwd, stopSignal } = options;
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running: RunningProcess = { child, pid: child.pid!, output: () => output, exited, stopSignal };
  started.add(running);
  void exited.then(() => started.delete(running));
  return running;
}

async function waitFor(
  running: RunningProcess,
  what: string,
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let exit: Exit | undefined;
  void running.exited.then((value) => {
    exit = value;
  });
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (exit)
      throw new Error(`${what} exited (${JSON.stringify(exit)}) before it was ready:\n${running.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${what} not ready within ${timeoutMs} ms:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Long enough for a PGlite instance's first start (initdb in WASM) on a busy CI machine. */
export const START_TIMEOUT_MS = 150_000;

/** `emporium serve` on 127.0.0.1:port; resolves once it logged "ready in". */
export function startEmporium(port: number, role: string, env: Record<string, string>) {
  return startCli(['serve', '--role', role, '--port', String(port)], env, 'ready in');
}

/** Any `emporium` command that keeps running; resolves once its output contains `readyText`. */
export async function startCli(args: string[], env: Record<string, string>, readyText: string) {
  const command = run(NODE, ['src/main.ts', ...args], { env, cwd: ROOT, stopSignal: 'SIGKILL' });
  await waitFor(
    command,
    `emporium ${args.join(' ')}`,
    () => command.output().includes(readyText),
    START_TIMEOUT_MS,
  );
  return command;
}

/** Runs an `emporium` command to its end: its exit code and everything it printed. */
export async function runCli(args: string[], env: Record<string, string>) {
  const command = run(NODE, ['src/main.ts', ...args], { env, cwd: ROOT, stopSignal: 'SIGKILL' });
  const { code } = await command.exited;
  return { code, output: command.output() };
}

/** Runs a short Node command (a container health check) with the project's Node; its exit code. */
export async function runNode(args: string[], env: Record<string, string>): Promise<number | null> {
  const command = run(NODE, args, { env, cwd: ROOT, stopSignal: 'SIGKILL' });
  return (await command.exited).code;
}

/** nginx in the foreground with the given prefix and configuration; resolves once port accepts. */
export async function startNginx(binary: string, prefix: string, conf: string, port: number) {
  // SIGTERM: the master stops its workers; SIGKILL would leave them orphaned, still listening.
  const nginx = run(binary, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')], {
    cwd: prefix,
    stopSignal: 'SIGTERM',
  });
  await waitFor(nginx, 'nginx', () => accepts(port), 10_000);
  return nginx;
}

/** Ends every process this module started that is still running, each with its stop signal. */
export async function killAll(): Promise<void> {
  const running = [...started];
  for (const each of running) each.child.kill(each.stopSignal);
  await Promise.all(running.map((each) => each.exited));
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Below the kernel's ephemeral range (32768–60999 on Linux): a port handed out here is never one
 * the kernel gives a `listen(0)` or an outgoing connection in the moment between this check and
 * the child process binding it, which is how a port taken with `listen(0)` was lost to another
 * test. Ports are drawn at random and never handed out twice in one process.
 */
const PORTS = { from: 20_000, count: 12_000 };
const handedOut = new Set<number>();

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORTS.from + Math.floor(Math.random() * PORTS.count);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** The first executable called `name` on PATH or in the sbin directories (nginx lives there). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
