import { connect } from 'node:net';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { DomainError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createHttpApp, type FastifyInstance } from './app.ts';
import { type AccessTokenVerifier, BUILT_IN_PERMISSIONS, STAFF } from './auth.ts';

let ready = true;
let app: FastifyInstance;

/** Tokens named after their role: enough to see which hook answers first. */
const verifier: AccessTokenVerifier = {
  async verify(token) {
    if (token !== 'customer' && token !== 'staff')
      throw new DomainError(401, 'INVALID_TOKEN', 'Unauthorized');
    return {
      id: '0190a4c2-0000-7000-8000-000000000001',
      role: token,
      permissions: BUILT_IN_PERMISSIONS[token],
    };
  },
};

async function buildApp(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({ BODY_LIMIT_BYTES: '2048', ...env });
  return createHttpApp({
    config,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    readiness: {
      database: async () => {
        if (!ready) throw new Error('connection refused');
      },
    },
    verifier,
    serves: true,
    modules: [
      {
        name: 'echo',
        routes: (scope) => {
          scope.post(
            '/echo',
            {
              schema: {
                body: Type.Object(
                  { name: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1 }) },
                  { additionalProperties: false },
                ),
              },
            },
            async (request, reply) => reply.code(201).send(request.body),
          );
          scope.post('/signal', async (request) => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            return { aborted: request.workContext.signal.aborted };
          });
          scope.get('/conflict', async () => {
            throw new DomainError(409, 'OUT_OF_STOCK', 'Out of stock', 'only 2 left');
          });
          scope.get('/boom', async () => {
            throw new Error('select * from secret_table failed at /src/x.ts:12');
          });
          scope.get('/bad-date', async () => {
            // What PostgreSQL answers for '2024-02-30'::timestamptz.
            throw Object.assign(new Error('date/time field value out of range: "2024-02-30"'), {
              code: '22008',
            });
          });
          scope.get('/items/:id', async (request) => request.params);
          scope.post(
            '/staff-only',
            {
              schema: {
                tags: ['catalog'],
                security: STAFF,
                body: Type.Object({ price: Type.Integer() }, { additionalProperties: false }),
              },
            },
            async (request) => ({ by: request.principal?.role }),
          );
        },
      },
    ],
  });
}

beforeAll(async () => {
  app = await buildApp();
});
afterAll(() => app.close());

const json = { 'content-type': 'application/json' };

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): any },
  status: number,
  code: string,
) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json();
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^https:\/\/emporium\.dev\/problems\//),
  });
  expect(typeof body.title).toBe('string');
  return body;
}

describe('HTTP foundation', () => {
  it('accepts a valid body', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: json,
      payload: { name: 'a', quantity: 2 },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ name: 'a', quantity: 2 });
  });

  it('keeps the request signal live over real HTTP after the body has been read', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(`${address}/v1/signal`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'x' }),
    });
    expect(await response.json()).toEqual({ aborted: false });
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: json,
      payload: '{"name": "a",',
    });
    expectProblem(response, 400, 'MALFORMED_JSON');
  });

  it('answers a wrong content type with 415', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'text/xml' },
      payload: '<a/>',
    });
    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a body over the limit with 413', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: json,
      payload: JSON.stringify({ name: 'x'.repeat(5000), quantity: 1 }),
    });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('rejects unknown fields with a JSON pointer to them', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: json,
      payload: { name: 'a', quantity: 1, admin: true },
    });
    const body = expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(body.errors).toContainEqual({ path: '/admin', message: 'is not a known field' });
  });

  it('rejects wrong types without coercing them, listing every error', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: json,
      payload: { name: 5, quantity: '0' },
    });
    const body = expectProblem(response, 400, 'VALIDATION_FAILED');
    const paths = body.errors.map((error: { path: string }) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['/name', '/quantity']));
  });

  it('names a missing field in the error path', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: json,
      payload: { name: 'a' },
    });
    const body = expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(body.errors).toContainEqual({ path: '/quantity', message: expect.any(String) });
  });

  it('answers an unknown route with 404 and a wrong method with 405 + Allow', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/v1/nothing-here' }), 404, 'NOT_FOUND');
    const wrongMethod = await app.inject({ method: 'DELETE', url: '/v1/echo' });
    expectProblem(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers.allow).toContain('POST');
  });

  it('maps domain errors to their status and stable code', async () => {
    const body = expectProblem(await app.inject({ method: 'GET', url: '/v1/conflict' }), 409, 'OUT_OF_STOCK');
    expect(body.detail).toBe('only 2 left');
    expect(body.instance).toBe('/v1/conflict');
  });

  it('never leaks internals on a 500', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/boom' });
    const body = expectProblem(response, 500, 'INTERNAL');
    expect(response.body).not.toMatch(/secret_table|select|\.ts/);
    expect(body.detail).not.toContain('select');
  });

  it('gives every response an x-request-id, echoing a sane one', async () => {
    const generated = await app.inject({ method: 'GET', url: '/livez' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await app.inject({ method: 'GET', url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const hostile = await app.inject({
      method: 'GET',
      url: '/livez',
      headers: { 'x-request-id': 'a\u0007b c' },
    });
    expect(hostile.headers['x-request-id']).not.toBe('a\u0007b c');
  });

  it('sends security headers', async () => {
    const response = await app.inject({ method: 'GET', url: '/livez' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('reports readiness from its checks: 503 with a problem while the database is down', async () => {
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    ready = false;
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    expectProblem(down, 503, 'NOT_READY');
    // Which check fails, never the driver's words (hosts, users, paths stay in the log).
    expect(down.json().checks).toEqual({ database: 'failing' });
    expect(down.body).not.toMatch(/connection refused/);
    ready = true;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('exposes Prometheus metrics with route templates', async () => {
    await app.inject({ method: 'GET', url: '/v1/conflict' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(
      /http_request_duration_seconds_bucket\{[^}]*route="\/v1\/conflict"[^}]*status_code="409"/,
    );
    expect(response.body).toContain('http_requests_in_flight');
    expect(response.body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas, and the docs UI', async () => {
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/v1/echo'].post.requestBody.content['application/json'].schema.required).toEqual([
      'name',
      'quantity',
    ]);
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('maps PostgreSQL date/time errors to 400, not 500', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/v1/bad-date' }), 400, 'BAD_REQUEST');
  });

  it('decides authorization before the body is parsed or validated: no schema is revealed', async () => {
    const bodies = [
      { payload: { unknown: 'field' }, headers: json },
      { payload: '{"price":', headers: json },
      { payload: 'plain words', headers: { 'content-type': 'text/plain' } },
    ];
    for (const body of bodies) {
      const anonymous = await app.inject({ method: 'POST', url: '/v1/staff-only', ...body });
      expectProblem(anonymous, 401, 'UNAUTHENTICATED');
      expect(anonymous.body).not.toContain('price');
      const customer = await app.inject({
        method: 'POST',
        url: '/v1/staff-only',
        payload: body.payload,
        headers: { ...body.headers, authorization: 'Bearer customer' },
      });
      expectProblem(customer, 403, 'FORBIDDEN');
      expect(customer.body).not.toContain('price');
    }
    const staff = { authorization: 'Bearer staff', ...json };
    expectProblem(
      await app.inject({ method: 'POST', url: '/v1/staff-only', payload: { price: 'x' }, headers: staff }),
      400,
      'VALIDATION_FAILED',
    );
    const allowed = await app.inject({
      method: 'POST',
      url: '/v1/staff-only',
      payload: { price: 1 },
      headers: staff,
    });
    expect(allowed.json()).toEqual({ by: 'staff' });
  });

  it('documents the permission a route enforces (read off its tag and method) as its security requirement', async () => {
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(document.paths['/v1/staff-only'].post.security).toEqual([{ bearer: ['catalog:write'] }]);
  });

  it("answers the router's own errors as problems with x-request-id and security headers", async () => {
    for (const [url, status, code] of [
      ['/v1/items/%E0%A4%A', 400, 'BAD_URL'],
      [`/v1/items/${'a'.repeat(300)}`, 414, 'URI_TOO_LONG'],
    ] as const) {
      const response = await app.inject({ method: 'GET', url });
      expectProblem(response, status, code);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('cuts off a request whose body trickles in slower than the deadline, with a 408 problem', async () => {
    const slow = await buildApp({ REQUEST_TIMEOUT_MS: '1000' });
    await slow.listen({ host: '127.0.0.1', port: 0 });
    const port = (slow.server.address() as { port: number }).port;
    try {
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let received = '';
        const drip = setInterval(() => socket.writable && socket.write('1'), 200);
        socket.on('data', (chunk) => {
          clearInterval(drip);
          received += chunk;
        });
        socket.on('close', () => {
          clearInterval(drip);
          resolve(received);
        });
        socket.on('error', reject);
        socket.write(
          'POST /v1/echo HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
        );
      });
      // Cut at the deadline (checked every second), long before the 200 s the body would take.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(answer).toMatch(/x-request-id: [0-9a-f-]{36}/i);
      expect(answer).toMatch(/x-content-type-options: nosniff/i);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        status: 408,
        code: 'REQUEST_TIMEOUT',
      });
    } finally {
      await slow.close();
    }
  });
});
