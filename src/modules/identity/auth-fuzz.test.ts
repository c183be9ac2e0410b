import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

// Whatever a client sends to the auth surface, the answer is a 4xx problem — never a 5xx.
const RUNS = 150;

// Characters an HTTP client can put in a header value (visible ASCII, space, tab and Latin-1).
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.constant(0x09),
  fc.integer({ min: 0x80, max: 0xff }),
);
const headerText = fc.string({ unit: headerChar.map((code) => String.fromCharCode(code)), maxLength: 300 });
const base64url = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  maxLength: 120,
});
const jwtShaped = fc
  .tuple(fc.jsonValue(), fc.jsonValue(), base64url)
  .map(
    ([header, payload, signature]) =>
      `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`,
  );
const authorization = fc.oneof(
  headerText,
  headerText.map((value) => `Bearer ${value}`),
  jwtShaped.map((token) => `Bearer ${token}`),
  fc
    .tuple(fc.constantFrom('Bearer', 'bearer', 'Basic', 'Token', ''), base64url)
    .map(([scheme, value]) => `${scheme} ${value}`),
);

// Any code point, with the troublesome ones made likely: PostgreSQL text refuses NUL, and lone
// surrogates and separators trip naive validation.
const trickyChar = fc.oneof(
  fc.constantFrom('\u0000', '\u0007', '\u007f', '\ud800', '\udfff', '\u2028', '\u00a0', '@', '.'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const anyText = fc.oneof(fc.string(), fc.string({ unit: trickyChar }));
const anyValue = fc.oneof(anyText, fc.jsonValue());
const authBody = fc.oneof(
  fc.jsonValue(),
  fc.record(
    { email: anyValue, password: anyValue, name: anyValue, refreshToken: anyValue, role: anyValue },
    { requiredKeys: [] },
  ),
  fc.record({ email: anyText, password: anyText, name: anyText }),
  fc.record({ email: anyText, password: anyText }),
  fc.record({ refreshToken: anyText }),
);
// Email-shaped strings with arbitrary parts get past the shape check and reach the database.
const emailShaped = fc.record({
  email: fc.tuple(anyText, anyText).map(([local, domain]) => `${local}@${domain}.test`),
  password: fc.oneof(anyText, fc.constant('long enough')),
  name: fc.oneof(anyText, fc.constant('Name')),
});
const rawBody = fc.string({ maxLength: 400 });

describe('the auth surface under arbitrary input', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await createTestSystem('pglite');
  });
  afterAll(() => system.dispose());

  const CLIENT_ERRORS = [400, 401, 409, 429];

  it('arbitrary Authorization headers give 401 (or 400 for a bad body), never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(authorization, async (header) => {
        for (const request of [
          { method: 'GET' as const, url: '/v1/users/me' },
          { method: 'POST' as const, url: '/v1/auth/logout', payload: { refreshToken: 'x' } },
          {
            method: 'PATCH' as const,
            url: '/v1/users/0190a4c2-0000-7000-8000-000000000000/role',
            payload: { role: 'admin' },
          },
        ]) {
          const response = await system.app.inject({ ...request, headers: { authorization: header } });
          expect([400, 401]).toContain(response.statusCode);
          expect(response.headers['content-type']).toContain('application/problem+json');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary JSON bodies to register, login, refresh and logout give only client errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/auth/register', '/v1/auth/login', '/v1/auth/refresh', '/v1/auth/logout'),
        authBody,
        async (url, body) => {
          const response = await system.app.inject({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          });
          // A body that happens to be a valid new account registers; nothing else may succeed.
          const allowed = url === '/v1/auth/register' ? [...CLIENT_ERRORS, 201] : CLIENT_ERRORS;
          expect(allowed).toContain(response.statusCode);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('email-shaped strings with arbitrary characters to register and login give no 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/auth/register', '/v1/auth/login'),
        emailShaped,
        async (url, body) => {
          const response = await system.app.inject({ method: 'POST', url, payload: body });
          expect([...CLIENT_ERRORS, 201]).toContain(response.statusCode);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('NUL characters, which PostgreSQL text refuses, give 400 in emails and names', async () => {
    for (const [url, payload] of [
      ['/v1/auth/register', { email: 'nul\u0000@example.test', password: 'long enough', name: 'N' }],
      ['/v1/auth/register', { email: 'nul@example.test', password: 'long enough', name: 'N\u0000' }],
      ['/v1/auth/login', { email: 'nul\u0000@example.test', password: 'long enough' }],
      ['/v1/auth/refresh', { refreshToken: '\u0000' }],
    ] as const) {
      const response = await system.app.inject({ method: 'POST', url, payload });
      expect([400, 401], `${url} ${JSON.stringify(payload)}`).toContain(response.statusCode);
    }
    // Passwords are only ever hashed, so any character is fine there.
    const password = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: 'nul2@example.test', password: 'long\u0000enough', name: 'N' },
    });
    expect(password.statusCode).toBe(201);
  });

  it('arbitrary text sent as JSON gives 400, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/auth/register', '/v1/auth/login', '/v1/auth/refresh', '/v1/auth/logout'),
        rawBody,
        async (url, payload) => {
          const response = await system.app.inject({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            payload,
          });
          expect(CLIENT_ERRORS).toContain(response.statusCode);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
