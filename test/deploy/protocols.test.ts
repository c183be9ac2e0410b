import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_ROOT } from '../../src/platform/grpc/server.ts';
import { createTestDatabase, dbKinds, type TestDatabase } from '../support/db.ts';
import { freePort, killAll, type RunningProcess, START_TIMEOUT_MS, startEmporium } from './processes.ts';

/** A stand-in OpenTelemetry collector: keeps every OTLP/HTTP trace export it is sent. */
async function startCollector() {
  const exports: Array<{ contentType: string | undefined; body: string }> = [];
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.url === '/v1/traces') {
      exports.push({ contentType: request.headers['content-type'], body: Buffer.concat(chunks).toString() });
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(dbKinds)('GraphQL, gRPC and trace export in a real server process (%s)', (kind) => {
  let dir: string;
  let database: TestDatabase | undefined;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let port: number;
  let grpcPort: number;
  let server: RunningProcess;
  const admin = { email: 'admin@protocols.test', password: 'admin-password-1' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emporium-protocols-'));
    if (kind === 'postgres') database = await createTestDatabase('postgres');
    collector = await startCollector();
    [port, grpcPort] = [await freePort(), await freePort()];
    server = await startEmporium(port, 'all', {
      LOG_LEVEL: 'info',
      SEED_PRODUCTS: '3',
      DATABASE_URL: database?.url ?? '',
      DATA_DIR: dir,
      GRPC_PORT: String(grpcPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      EMPORIUM_ADMIN_EMAIL: admin.email,
      EMPORIUM_ADMIN_PASSWORD: admin.password,
    });
  }, START_TIMEOUT_MS * 2);

  afterAll(async () => {
    await killAll();
    await collector.close();
    await database?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers GraphQL and gRPC, logs trace ids, and exports the spans on shutdown', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const graphql = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ query: '{ products(first: 2) { totalCount nodes { id variants { sku } } } }' }),
    });
    expect(graphql.status).toBe(200);
    const { data } = (await graphql.json()) as {
      data: { products: { totalCount: number; nodes: Array<{ variants: Array<{ sku: string }> }> } };
    };
    expect(data.products.totalCount).toBe(3);
    expect(data.products.nodes).toHaveLength(2);
    const sku: string = data.products.nodes[0].variants[0].sku;

    const login = await fetch(`http://127.0.0.1:${port}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const definition = protoLoader.loadSync('emporium/inventory/v1/inventory.proto', {
      includeDirs: [PROTO_ROOT],
      longs: Number,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      emporium: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } };
    };
    const client = new loaded.emporium.inventory.v1.InventoryService(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${accessToken}`);
    const stock = await new Promise<{ sku: string; onHand: number }>((resolve, reject) =>
      client.GetStock({ sku }, metadata, (error: Error | null, answer: { sku: string; onHand: number }) =>
        error ? reject(error) : resolve(answer),
      ),
    );
    expect(stock.sku).toBe(sku);
    expect(stock.onHand).toBeGreaterThanOrEqual(0);
    client.close();

    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    const completed = lines.find((line) => line.msg === 'request completed' && line.route === '/graphql');
    expect(completed.traceId).toBe(traceId);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const exported = collector.exports.map((each) => each.body).join('\n');
    expect(exported).toContain('POST /graphql');
    expect(exported).toContain('db.query.text');
  });
});
