import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestDatabase, dbKinds, type TestDatabase } from '../support/db.ts';
import {
  accepts,
  freePort,
  killAll,
  type RunningProcess,
  runNode,
  START_TIMEOUT_MS,
  startCli,
  startEmporium,
} from './processes.ts';

const DEPLOY = path.resolve(import.meta.dirname, '../../deploy');

/**
 * The container health checks as shipped, as arguments to `node`: the Dockerfile's (which reads
 * PORT) and compose's for the API and the worker (the container port swapped for the test's).
 */
function shippedHealthChecks(port: number): { name: string; args: string[] }[] {
  const dockerfile = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const image = JSON.parse(dockerfile.match(/^HEALTHCHECK .*? CMD (\[.*\])$/m)![1]) as string[];
  const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true });
  const checks = [{ name: 'Dockerfile HEALTHCHECK', command: image }];
  for (const service of ['api', 'worker']) {
    const command = compose.services[service].healthcheck.test.slice(1) as string[];
    checks.push({
      name: `compose ${service}`,
      command: command.map((arg) => arg.replace(/\b3000\b/, String(port))),
    });
  }
  return checks.map(({ name, command }) => {
    expect(command[0], name).toBe('node');
    return { name, args: command.slice(1) };
  });
}

/** A raw HTTP/1.1 connection, so the test decides when each byte of a request is sent. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const connection = {
    socket,
    received: '',
    closed: new Promise<void>((resolve) => socket.once('close', () => resolve())),
  };
  socket.on('data', (chunk: Buffer) => {
    connection.received += chunk.toString();
  });
  return connection;
}

describe.each(dbKinds)(
  'a real server process: container health checks and graceful shutdown (%s)',
  (kind) => {
    let dir: string;
    let database: TestDatabase | undefined;
    let port: number;
    let server: RunningProcess;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'emporium-shutdown-'));
      if (kind === 'postgres') database = await createTestDatabase('postgres');
      port = await freePort();
      server = await startEmporium(port, 'api', {
        LOG_LEVEL: 'info',
        SEED_PRODUCTS: '0',
        // Far beyond what the drain needs: a drain that waits for it ends with exit code 1.
        SHUTDOWN_TIMEOUT_MS: '20000',
        DATABASE_URL: database?.url ?? '',
        DATA_DIR: dir,
      });
    }, START_TIMEOUT_MS * 2);

    afterAll(async () => {
      await killAll();
      await database?.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it("passes the image's and compose's health checks while serving", async () => {
      for (const check of shippedHealthChecks(port)) {
        expect(await runNode(check.args, { PORT: String(port) }), check.name).toBe(0);
      }
    });

    it('on SIGTERM refuses new connections, finishes the request in flight, lets keep-alive go, exits 0', async () => {
      // A keep-alive connection that has been served and sits idle, as a proxy's pool keeps them.
      const idle = connect(port);
      idle.socket.write('GET /livez HTTP/1.1\r\nHost: emporium\r\n\r\n');
      await expect
        .poll(() => idle.received, { timeout: 10_000 })
        .toMatch(/HTTP\/1\.1 200 [\s\S]*"status":"ok"/);

      // A request in flight: "100 Continue" is the server saying it holds it; the body is to come.
      const inFlight = connect(port);
      inFlight.socket.write(
        'POST /livez HTTP/1.1\r\nHost: emporium\r\nContent-Type: application/json\r\n' +
          'Content-Length: 2\r\nExpect: 100-continue\r\n\r\n',
      );
      await expect.poll(() => inFlight.received, { timeout: 10_000 }).toContain('100 Continue');

      server.child.kill('SIGTERM');
      await expect.poll(() => server.output(), { timeout: 10_000 }).toContain('shutting down');
      await expect.poll(() => accepts(port), { timeout: 10_000 }).toBe(false);
      await idle.closed;

      inFlight.socket.write('{}');
      await inFlight.closed;
      // Answered in full (405: /livez takes no POST), then the server closed the connection itself.
      expect(inFlight.received).toMatch(/HTTP\/1\.1 405 [\s\S]*"status":405/);
      expect(inFlight.received).toMatch(/^connection: close\r$/im);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.output()).toContain('"msg":"stopped"');
      expect(server.output()).not.toContain('shutdown deadline passed');
    });

    it('fails the same health checks once stopped', async () => {
      for (const check of shippedHealthChecks(port)) {
        expect(await runNode(check.args, { PORT: String(port) }), check.name).toBe(1);
      }
    });
  },
);

describe('the payment sandbox as compose runs it', () => {
  afterAll(killAll);

  it('passes its compose health check while up, stops on SIGTERM with exit 0, then fails it', async () => {
    const port = await freePort();
    const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true });
    const { command, healthcheck } = compose.services.payments;
    // Its container port and address swapped for a free loopback port.
    const args = (command as string[]).map((arg) =>
      arg === '4000' ? String(port) : arg === '0.0.0.0' ? '127.0.0.1' : arg,
    );
    expect(args).toEqual(['psp-sandbox', '--port', String(port), '--host', '127.0.0.1']);
    const check = (healthcheck.test as string[]).slice(2).map((arg) => arg.replace(/\b4000\b/, String(port)));
    const sandbox = await startCli(args, {}, 'payment sandbox listening on');
    expect(await runNode(check, {})).toBe(0);
    sandbox.child.kill('SIGTERM');
    expect(await sandbox.exited).toEqual({ code: 0, signal: null });
    expect(await runNode(check, {})).toBe(1);
  });
});
