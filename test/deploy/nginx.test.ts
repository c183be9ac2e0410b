import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dbKinds, type TestDatabase } from '../support/db.ts';
import {
  findExecutable,
  freePort,
  killAll,
  type RunningProcess,
  START_TIMEOUT_MS,
  startEmporium,
  startNginx,
} from './processes.ts';

const SHIPPED_CONF = path.resolve(import.meta.dirname, '../../deploy/nginx/emporium.conf');
const nginxBinary = findExecutable('nginx');
// The instances share one PostgreSQL database when there is one (always in CI); on PGlite each
// has its own data directory, which is enough for what this file proves: routing and failover.
// Draining on SIGTERM is proven without nginx in shutdown.test.ts.
const kind = dbKinds.at(-1)!;

/** Replaces what the pattern matches, and fails loudly when the shipped file changed shape. */
function substitute(text: string, pattern: RegExp, replacement: (...groups: string[]) => string): string {
  if (!pattern.test(text)) throw new Error(`deploy/nginx/emporium.conf no longer contains ${pattern}`);
  return text.replace(pattern, (_match, ...groups: string[]) => replacement(...groups));
}

/**
 * The shipped file with the loopback instances as upstream servers (same parameters), a loopback
 * listen address, the access log in the temp directory and a 3 s upstream read timeout (30 s
 * shipped) so a hung instance is given up on quickly; everything else as deployed.
 */
function renderShippedConf(
  shipped: string,
  listenPort: number,
  upstreamPorts: number[],
  dir: string,
): string {
  let conf = substitute(shipped, /^ *server api:3000 resolve (.*);$/m, (parameters) =>
    upstreamPorts.map((port) => `    server 127.0.0.1:${port} ${parameters};`).join('\n'),
  );
  conf = substitute(conf, /listen 80;/, () => `listen 127.0.0.1:${listenPort};`);
  conf = substitute(conf, /proxy_read_timeout 30s;/, () => 'proxy_read_timeout 3s;');
  return substitute(
    conf,
    /access_log \S+ emporium_json;/,
    () => `access_log ${dir}/access.log emporium_json;`,
  );
}

/** A self-contained main configuration around the shipped one, like the stock nginx.conf. */
function renderMainConf(dir: string): string {
  const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
    (name) => `  ${name}_temp_path ${dir}/${name};`,
  );
  return [
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'daemon off;',
    'events { worker_connections 256; }',
    'http {',
    ...tempPaths,
    // Test only: names the instances that were tried, in order ("a, b" after a failover).
    '  add_header X-Upstream $upstream_addr always;',
    `  include ${dir}/emporium.conf;`,
    '}',
    '',
  ].join('\n');
}

describe.runIf(nginxBinary)(`two Emporium instances behind the shipped nginx config (${kind})`, () => {
  let dir: string;
  let database: TestDatabase | undefined;
  let ports: number[];
  let addresses: string[];
  let instances: RunningProcess[];
  let proxy: string;

  async function startInstance(index: number): Promise<RunningProcess> {
    const env: Record<string, string> = {
      LOG_LEVEL: 'info',
      SEED_PRODUCTS: '0',
      SHUTDOWN_TIMEOUT_MS: '20000',
    };
    if (database?.url) env.DATABASE_URL = database.url;
    else {
      env.DATABASE_URL = '';
      env.DATA_DIR = await mkdtemp(path.join(dir, `data-${index}-`));
    }
    return startEmporium(ports[index], 'api', env);
  }

  /**
   * Freezes instance 0 (SIGSTOP: it accepts connections and answers nothing, like a hung process)
   * and sends requests until one was given up on there; returns every response. Reads nothing
   * into timing: the X-Upstream header says which instances nginx tried.
   */
  async function sendWhileInstance0Hangs(send: () => Promise<Response>): Promise<Response[]> {
    instances[0].child.kill('SIGSTOP');
    const responses: Response[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const response = await send();
      await response.arrayBuffer();
      responses.push(response);
      if (response.headers.get('x-upstream')!.startsWith(addresses[0])) return responses;
    }
    throw new Error(`nginx never tried the hung instance ${addresses[0]}`);
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emporium-nginx-'));
    // nginx workers drop root privileges; they must reach their temp directories in here.
    await chmod(dir, 0o755);
    if (kind === 'postgres') database = await createTestDatabase('postgres');
    ports = [await freePort(), await freePort()];
    addresses = ports.map((port) => `127.0.0.1:${port}`);
    const proxyPort = await freePort();
    proxy = `http://127.0.0.1:${proxyPort}`;
    instances = await Promise.all([startInstance(0), startInstance(1)]);
    const shipped = await readFile(SHIPPED_CONF, 'utf8');
    await writeFile(path.join(dir, 'emporium.conf'), renderShippedConf(shipped, proxyPort, ports, dir));
    await writeFile(path.join(dir, 'nginx.conf'), renderMainConf(dir));
    await startNginx(nginxBinary!, dir, path.join(dir, 'nginx.conf'), proxyPort);
  }, START_TIMEOUT_MS * 2);

  afterAll(async () => {
    await killAll();
    await database?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs both instances on the intended database', () => {
    for (const instance of instances) expect(instance.output()).toContain(`"database":"${kind}"`);
  });

  it('spreads requests over both instances, and both are ready', async () => {
    const answeredBy = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${proxy}/readyz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
      answeredBy.add(response.headers.get('x-upstream')!);
    }
    expect([...answeredBy].sort()).toEqual([...addresses].sort());
  });

  it("passes the client's X-Request-Id through, makes one when absent, and logs it", async () => {
    const given = await fetch(`${proxy}/livez`, { headers: { 'x-request-id': 'checkout-42.retry-1' } });
    expect(given.headers.get('x-request-id')).toBe('checkout-42.retry-1');
    const made = await fetch(`${proxy}/livez`);
    // nginx's $request_id reached the app, which echoes what it received.
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const log = (await readFile(path.join(dir, 'access.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const entry = log.find((line) => line.request_id === 'checkout-42.retry-1');
    expect(entry).toMatchObject({ method: 'GET', uri: '/livez', status: 200, upstream_status: '200' });
    expect(addresses).toContain(entry.upstream_addr);
  });

  it('stops bodies over 1 MiB at the proxy with 413, before any instance', async () => {
    const response = await fetch(`${proxy}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('x-upstream')).toBeNull();
  });

  it('compresses JSON answers for clients that accept gzip', async () => {
    // A problem+json 404 that names a long path: comfortably over gzip_min_length.
    const missing = `/v1/${'no-such-thing-'.repeat(100)}`;
    const response = await fetch(`${proxy}${missing}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(await response.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('keeps /metrics off the public entrance', async () => {
    const response = await fetch(`${proxy}/metrics`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-upstream')).toBeNull();
  });

  it('never resends a POST to another instance once it reached a hung one: 504, not a second submit', async () => {
    const responses = await sendWhileInstance0Hangs(() =>
      fetch(`${proxy}/livez`, { method: 'POST', body: '{}' }),
    );
    const outcomes = responses.map((response) => `${response.status} ${response.headers.get('x-upstream')}`);
    // Instance 1 answers what it gets (405: /livez takes no POST); what went to instance 0 ends there.
    expect(outcomes.slice(0, -1).every((outcome) => outcome === `405 ${addresses[1]}`)).toBe(true);
    expect(outcomes.at(-1)).toBe(`504 ${addresses[0]}`);
  });

  it('moves a GET from a hung instance to the other one', async () => {
    const responses = await sendWhileInstance0Hangs(() => fetch(`${proxy}/readyz`));
    for (const response of responses) expect(response.status).toBe(200);
    expect(responses.at(-1)!.headers.get('x-upstream')).toBe(`${addresses[0]}, ${addresses[1]}`);
  });

  it('keeps answering with one instance dead, writes included when they never reached it', async () => {
    instances[0].child.kill('SIGKILL');
    await instances[0].exited;
    for (let i = 0; i < 10; i++) {
      const read = await fetch(`${proxy}/readyz`);
      expect(read.status).toBe(200);
      expect(read.headers.get('x-upstream')!.split(', ').at(-1)).toBe(addresses[1]);
      // A refused connection means the POST was never sent, so nginx may try the next instance;
      // instance 1 answers it (405: /livez takes no POST), never a 502.
      const write = await fetch(`${proxy}/livez`, { method: 'POST', body: '{}' });
      expect(write.status).toBe(405);
      expect(write.headers.get('x-upstream')!.split(', ').at(-1)).toBe(addresses[1]);
    }
  });
});
