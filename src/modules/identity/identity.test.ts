import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(dbKinds)('identity on %s', (kind) => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await createTestSystem(kind, {
      EMPORIUM_ADMIN_EMAIL: 'Root@Example.test',
      EMPORIUM_ADMIN_PASSWORD: 'admin-password-1',
    });
  });
  afterAll(() => system.dispose());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    system.app.inject({ method: 'POST', url, payload: payload as object, headers });
  const me = (token: string) =>
    system.app.inject({ method: 'GET', url: '/v1/users/me', headers: { authorization: `Bearer ${token}` } });

  it('registers with a normalised email, signs in, and answers /users/me', async () => {
    const registered = await post('/v1/auth/register', {
      email: '  Ada@Example.TEST ',
      password: 'long enough',
      name: 'Ada',
    });
    expect(registered.statusCode).toBe(201);
    const body = registered.json();
    expect(body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { email: 'ada@example.test', role: 'customer' },
    });
    expect(body.refreshToken.length).toBeGreaterThanOrEqual(43);
    const profile = await me(body.accessToken);
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toMatchObject({
      id: body.user.id,
      email: 'ada@example.test',
      name: 'Ada',
      role: 'customer',
    });

    const again = await post('/v1/auth/register', {
      email: 'ada@example.test',
      password: 'long enough',
      name: 'Other',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('EMAIL_TAKEN');
  });

  it('announces a sign-up with user.registered through the outbox, once, without secrets', async () => {
    const registered = await post('/v1/auth/register', {
      email: 'Grace@Example.test',
      password: 'long enough',
      name: 'Grace Hopper',
    });
    expect(registered.statusCode).toBe(201);
    const { user } = registered.json();
    const taken = await post('/v1/auth/register', {
      email: 'grace@example.test',
      password: 'long enough',
      name: 'Grace',
    });
    expect(taken.statusCode).toBe(409);
    const events = await system.bus.events({ type: 'user.registered', subject: user.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: '/emporium/identity', subject: user.id });
    expect(events[0].data).toEqual({
      userId: user.id,
      email: 'grace@example.test',
      role: 'customer',
      method: 'password',
      registeredAt: user.createdAt,
    });
    expect(JSON.stringify(events[0])).not.toMatch(/argon2|long enough|Grace Hopper/);
  });

  it('refuses short passwords and malformed emails with 400', async () => {
    const short = await post('/v1/auth/register', { email: 'x@example.test', password: 'short', name: 'X' });
    expect(short.statusCode).toBe(400);
    const badEmail = await post('/v1/auth/register', {
      email: 'not-an-email',
      password: 'long enough',
      name: 'X',
    });
    expect(badEmail.statusCode).toBe(400);
  });

  it('gives the same 401 for an unknown email and a wrong password', async () => {
    await post('/v1/auth/register', { email: 'bob@example.test', password: 'right password', name: 'Bob' });
    const unknown = await post('/v1/auth/login', {
      email: 'nobody@example.test',
      password: 'right password',
    });
    const wrong = await post('/v1/auth/login', { email: 'bob@example.test', password: 'wrong password' });
    for (const response of [unknown, wrong]) {
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('INVALID_CREDENTIALS');
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    expect(unknown.json().detail).toBe(wrong.json().detail);
  });

  it('rotates refresh tokens; reusing a spent one revokes the whole family', async () => {
    const first = (
      await post('/v1/auth/register', { email: 'carol@example.test', password: 'long enough', name: 'C' })
    ).json();
    const second = await post('/v1/auth/refresh', { refreshToken: first.refreshToken });
    expect(second.statusCode).toBe(200);
    const secondBody = second.json();
    expect(secondBody.refreshToken).not.toBe(first.refreshToken);

    const reuse = await post('/v1/auth/refresh', { refreshToken: first.refreshToken });
    expect(reuse.statusCode).toBe(401);
    // The legitimate newer token dies with the family: the thief and the victim both sign in again.
    const afterTheft = await post('/v1/auth/refresh', { refreshToken: secondBody.refreshToken });
    expect(afterTheft.statusCode).toBe(401);
  });

  it('lets only one of two concurrent refreshes with the same token succeed', async () => {
    const pair = (
      await post('/v1/auth/register', { email: 'dan@example.test', password: 'long enough', name: 'D' })
    ).json();
    const results = await Promise.all([
      post('/v1/auth/refresh', { refreshToken: pair.refreshToken }),
      post('/v1/auth/refresh', { refreshToken: pair.refreshToken }),
    ]);
    expect(results.map((response) => response.statusCode).sort()).toEqual([200, 401]);
  });

  it('logout revokes the refresh token', async () => {
    const pair = (
      await post('/v1/auth/register', { email: 'erin@example.test', password: 'long enough', name: 'E' })
    ).json();
    const out = await post(
      '/v1/auth/logout',
      { refreshToken: pair.refreshToken },
      { authorization: `Bearer ${pair.accessToken}` },
    );
    expect(out.statusCode).toBe(204);
    expect((await post('/v1/auth/refresh', { refreshToken: pair.refreshToken })).statusCode).toBe(401);
  });

  it('publishes the verification keys as a JWKS', async () => {
    const response = await system.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(response.statusCode).toBe(200);
    const { keys } = response.json();
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(keys[0].d).toBeUndefined();
  });

  it('keeps tokens signed by a rotated-out key valid', async () => {
    const user = await signIn(system);
    const identity = moduleOf(system, 'identity');
    await identity.rotateSigningKey();
    expect((await me(user.accessToken)).statusCode).toBe(200);
    const fresh = await signIn(system);
    expect(JSON.parse(Buffer.from(fresh.accessToken.split('.')[0], 'base64url').toString()).kid).not.toBe(
      JSON.parse(Buffer.from(user.accessToken.split('.')[0], 'base64url').toString()).kid,
    );
    expect((await me(fresh.accessToken)).statusCode).toBe(200);
  });

  describe('rejects forged and broken access tokens', () => {
    let token: string;
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    beforeAll(async () => {
      token = (await signIn(system)).accessToken;
      header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
      payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    });
    const expectRejected = async (forged: string) => {
      const response = await me(forged);
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('INVALID_TOKEN');
    };

    it('alg none', () => expectRejected(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(payload)}.`));

    it('HS256 signed with the public key (key confusion)', async () => {
      const jwks = (await system.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
      const signingInput = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
      const signature = createHmac('sha256', JSON.stringify(jwks.keys[0]))
        .update(signingInput)
        .digest('base64url');
      await expectRejected(`${signingInput}.${signature}`);
      const byX = createHmac('sha256', jwks.keys[0].x).update(signingInput).digest('base64url');
      await expectRejected(`${signingInput}.${byX}`);
    });

    it('a raised role (tampered payload)', () =>
      expectRejected(`${token.split('.')[0]}.${b64({ ...payload, role: 'admin' })}.${token.split('.')[2]}`));

    it('any flipped byte of the signature', async () => {
      const [h, p, s] = token.split('.');
      const flipped = (s[5] === 'A' ? 'B' : 'A') + s.slice(1);
      await expectRejected(`${h}.${p}.${s.slice(0, 5)}${flipped.slice(0, 1)}${s.slice(6)}`);
    });

    it('wrong issuer, wrong audience, expired, not yet valid (re-signed claims would need the key)', async () => {
      const [h, , s] = token.split('.');
      for (const claims of [
        { ...payload, iss: 'https://evil.example' },
        { ...payload, aud: 'other-api' },
        { ...payload, exp: 1 },
        { ...payload, nbf: 4_000_000_000 },
      ]) {
        await expectRejected(`${h}.${b64(claims)}.${s}`);
      }
    });

    it('garbage and malformed Authorization headers', async () => {
      for (const authorization of [
        'Bearer',
        'Bearer a.b.c',
        'Basic abc',
        'Bearer \u00ff',
        `Bearer ${token}x`,
      ]) {
        const response = await system.app.inject({
          method: 'GET',
          url: '/v1/users/me',
          headers: { authorization },
        });
        expect(response.statusCode).toBe(401);
      }
    });
  });

  it('bootstraps the configured admin idempotently', async () => {
    const login = await post('/v1/auth/login', { email: 'root@example.test', password: 'admin-password-1' });
    expect(login.statusCode).toBe(200);
    expect(login.json().user.role).toBe('admin');
  });
});
