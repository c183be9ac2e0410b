import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../src/modules/payments/index.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { createTracing, runInTraceContext, startServerSpan } from '../src/platform/observability/tracing.ts';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { ADDRESS, addToCart, createProduct, eventually } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/** Stands between the API and the sandbox provider and remembers each request's traceparent. */
async function startRecordingProxy(target: string) {
  const seen: Array<{ path: string; traceparent: string | undefined }> = [];
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    seen.push({ path: request.url ?? '', traceparent: request.headers.traceparent as string | undefined });
    const answer = await fetch(new URL(request.url ?? '/', target), {
      method: request.method,
      headers: {
        'content-type': 'application/json',
        'idempotency-key': String(request.headers['idempotency-key'] ?? ''),
      },
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(dbKinds)('tracing on %s', (kind) => {
  let system: TestSystem;
  let sandbox: Sandbox;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let staff: SignedInUser;
  const exporter = new InMemorySpanExporter();
  beforeAll(async () => {
    sandbox = await startSandbox();
    proxy = await startRecordingProxy(sandbox.url);
    system = await createTestSystem(kind, { PAYMENTS_URL: proxy.url }, {}, { spanExporter: exporter });
    await system.startWorkers();
    staff = await signIn(system, 'staff');
  });
  afterAll(async () => {
    await system.dispose();
    await proxy.close();
    await sandbox.close();
  });

  it('one checkout is one connected trace: HTTP → DB queries → saga steps → payment calls, traceparent sent on', async () => {
    const variant = await createProduct(system, staff, { stock: 5, price: 1200 });
    const buyer = await signIn(system);
    expect((await addToCart(system, buyer, variant.variantId)).statusCode).toBe(201);
    exporter.reset();
    const traceId = randomUUID().replaceAll('-', '');
    const callerSpanId = '00f067aa0ba902b7';
    const answer = await system.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: {
        ...buyer.headers,
        'idempotency-key': randomUUID(),
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      payload: { shippingAddress: ADDRESS, payment: { token: 'tok_visa' } },
    });
    expect(answer.statusCode).toBe(201);
    await eventually(
      async () =>
        exporter.getFinishedSpans().some((span) => span.name === 'POST /v1/orders') ? true : undefined,
      5000,
    );
    // Background work the checkout set off (the outbox relay) must not join its trace later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const inTrace = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    const server = inTrace.find((span) => span.name === 'POST /v1/orders')!;
    const endOf = (span: ReadableSpan) => span.endTime[0] * 1e9 + span.endTime[1];
    for (const span of inTrace) expect(endOf(span), span.name).toBeLessThanOrEqual(endOf(server));
    expect(server.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(server.attributes['http.route']).toBe('/v1/orders');
    expect(server.attributes['http.response.status_code']).toBe(201);

    const byId = new Map(inTrace.map((span) => [span.spanContext().spanId, span]));
    const descendsFromServer = (span: ReadableSpan): boolean => {
      for (let at: ReadableSpan | undefined = span; at; at = byId.get(at.parentSpanContext?.spanId ?? '')) {
        if (at === server) return true;
      }
      return false;
    };
    const db = inTrace.filter((span) => span.attributes['db.system'] === 'postgresql');
    expect(db.length).toBeGreaterThan(3);
    for (const span of db) {
      expect(descendsFromServer(span)).toBe(true);
      const text = String(span.attributes['db.query.text']);
      expect(text).not.toContain(buyer.id);
      expect(text).not.toContain('tok_visa');
    }
    expect(db.some((span) => /insert into "orders"/i.test(String(span.attributes['db.query.text'])))).toBe(
      true,
    );

    const steps = inTrace.filter((span) => span.name.startsWith('checkout.'));
    expect(steps.map((span) => span.name)).toEqual(
      expect.arrayContaining(['checkout.authorize', 'checkout.capture']),
    );
    for (const step of steps) expect(descendsFromServer(step)).toBe(true);

    const payments = inTrace.filter((span) => span.name.startsWith('payments '));
    expect(payments.map((span) => span.name)).toEqual(['payments authorize', 'payments capture']);
    const authorizeStep = steps.find((span) => span.name === 'checkout.authorize')!;
    expect(payments[0].parentSpanContext?.spanId).toBe(authorizeStep.spanContext().spanId);
    // The saga's own queries hang below its step spans.
    expect(db.some((span) => span.parentSpanContext?.spanId === authorizeStep.spanContext().spanId)).toBe(
      true,
    );

    const received = proxy.seen.filter((request) => request.path.startsWith('/v1/authorizations'));
    expect(received.length).toBeGreaterThanOrEqual(2);
    for (const request of received)
      expect(request.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const sentSpanIds = received.map((request) => request.traceparent!.split('-')[2]);
    expect(sentSpanIds).toEqual(payments.map((span) => span.spanContext().spanId));
  });

  it('problem answers carry the trace id', async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const answer = await system.app.inject({
      method: 'GET',
      url: `/v1/products/${randomUUID()}`,
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(answer.statusCode).toBe(404);
    expect(answer.json()).toMatchObject({ code: 'NOT_FOUND', traceId });
  });

  it('a request without traceparent starts a new trace; work outside a request creates no spans', async () => {
    exporter.reset();
    const answer = await system.app.inject({ method: 'GET', url: '/v1/products?size=1' });
    expect(answer.statusCode).toBe(200);
    const [server] = exporter.getFinishedSpans().filter((span) => span.name === 'GET /v1/products');
    expect(server.parentSpanContext).toBeUndefined();
    exporter.reset();
    await system.database.ping();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('trace ids in logs', () => {
  it('every log line written inside a traced request carries its trace id; others none', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger('info', sink);
    const tracing = await createTracing({ serviceName: 'test', exporter: new InMemorySpanExporter() });
    const { span, context } = startServerSpan(tracing.tracer, 'GET /x', {}, {});
    await runInTraceContext(context, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('inside');
    });
    span.end();
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', traceId: span.spanContext().traceId });
    expect(lines[1].msg).toBe('outside');
    expect(lines[1].traceId).toBeUndefined();
    await tracing.shutdown();
  });

  it('without an exporter or endpoint tracing is off and creates nothing', async () => {
    const tracing = await createTracing({ serviceName: 'test' });
    expect(tracing.enabled).toBe(false);
  });
});
