import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signIn } from '../../../test/support/auth.ts';
import { createTestDatabase, dbKinds } from '../../../test/support/db.ts';
import { eventually } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

const PASSWORD = 'correct horse battery staple';

/** The verification link's token in the newest mail to `address` (the file transport's .eml). */
async function linkTokenMailedTo(system: TestSystem, address: string): Promise<string> {
  const dir = path.join(system.config.dataDir, 'mail');
  return eventually(async () => {
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files.sort().reverse()) {
      // Quoted-printable: soft line breaks and escaped '=' undone.
      const text = (await readFile(path.join(dir, file), 'utf8'))
        .replaceAll('=\r\n', '')
        .replaceAll('=3D', '=');
      if (!text.includes(address)) continue;
      const token = /verify-email\?token=([\w%-]+)/.exec(text)?.[1];
      if (token) return decodeURIComponent(token);
    }
    return undefined;
  });
}

/** Opens the stream with a token and resolves once authenticated, with how it later closed. */
async function openStream(system: TestSystem, token: string) {
  const port = (system.app.server.address() as AddressInfo).port;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/stream?access_token=${token}`);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('message', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed };
}

describe.each(dbKinds)('sessions, revocation and verified addresses on %s', (kind) => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await createTestSystem(kind, { ACCESS_TOKEN_TTL_SECONDS: '3' });
    await system.startWorkers();
    await system.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => system.dispose());

  const call = (
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    token?: string,
    payload?: object,
    remoteAddress?: string,
  ) =>
    system.app.inject({
      method,
      url,
      payload,
      remoteAddress,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  const login = (email: string, password: string, remoteAddress = '127.0.0.1') =>
    call('POST', '/v1/auth/login', undefined, { email, password }, remoteAddress);

  it('logout ends every access token of the user on the next request, and closes their streams', async () => {
    const user = await signIn(system);
    const laptop = (await login(user.email, PASSWORD)).json();
    const stream = await openStream(system, user.accessToken);
    expect((await call('GET', '/v1/users/me', user.accessToken)).statusCode).toBe(200);
    const out = await call('POST', '/v1/auth/logout', user.accessToken, { refreshToken: user.refreshToken });
    expect(out.statusCode).toBe(204);
    for (const token of [user.accessToken, laptop.accessToken]) {
      const refused = await call('GET', '/v1/users/me', token);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().code).toBe('TOKEN_REVOKED');
    }
    expect(await stream.closed).toMatchObject({ code: 4001 });
    // The other device's session goes on: its refresh token gives it a working access token.
    const renewed = await call('POST', '/v1/auth/refresh', undefined, { refreshToken: laptop.refreshToken });
    expect(renewed.statusCode).toBe(200);
    expect((await call('GET', '/v1/users/me', renewed.json().accessToken)).statusCode).toBe(200);
    // The signed-out session's refresh token is dead.
    expect(
      (await call('POST', '/v1/auth/refresh', undefined, { refreshToken: user.refreshToken })).statusCode,
    ).toBe(401);
  });

  it('a password change ends every session at once; only the new pair works', async () => {
    const user = await signIn(system);
    const other = (await login(user.email, PASSWORD)).json();
    const stream = await openStream(system, other.accessToken);
    const wrong = await call('POST', '/v1/users/me/password', user.accessToken, {
      currentPassword: 'not it at all',
      newPassword: 'a brand new password',
    });
    expect(wrong.statusCode).toBe(401);
    const changed = await call('POST', '/v1/users/me/password', user.accessToken, {
      currentPassword: PASSWORD,
      newPassword: 'a brand new password',
    });
    expect(changed.statusCode).toBe(200);
    for (const token of [user.accessToken, other.accessToken]) {
      expect((await call('GET', '/v1/users/me', token)).statusCode).toBe(401);
    }
    for (const refreshToken of [user.refreshToken, other.refreshToken]) {
      expect((await call('POST', '/v1/auth/refresh', undefined, { refreshToken })).statusCode).toBe(401);
    }
    expect(await stream.closed).toMatchObject({ code: 4001 });
    expect((await call('GET', '/v1/users/me', changed.json().accessToken)).statusCode).toBe(200);
    expect((await login(user.email, PASSWORD)).statusCode).toBe(401);
    expect((await login(user.email, 'a brand new password')).statusCode).toBe(200);
  });

  it('a role change takes effect on the next request, not when the token expires', async () => {
    const admin = await signIn(system, 'admin');
    const staff = await signIn(system, 'staff');
    expect((await call('GET', '/v1/promotions', staff.accessToken)).statusCode).toBe(200);
    const demoted = await call('PATCH', `/v1/users/${staff.id}/role`, admin.accessToken, {
      role: 'customer',
    });
    expect(demoted.statusCode).toBe(200);
    expect((await call('GET', '/v1/promotions', staff.accessToken)).statusCode).toBe(401);
    const again = (
      await call('POST', '/v1/auth/refresh', undefined, { refreshToken: staff.refreshToken })
    ).json();
    expect(again.user.role).toBe('customer');
    expect((await call('GET', '/v1/promotions', again.accessToken)).statusCode).toBe(403);
  });

  it('closes a stream when the access token it was opened with expires', async () => {
    const user = await signIn(system);
    const opened = Date.now();
    const stream = await openStream(system, user.accessToken);
    const closed = await stream.closed;
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/expired/);
    expect(Date.now() - opened).toBeLessThan(6000);
  });

  it('mails a single-use, expiring link that proves the address; the account says whether it is proven', async () => {
    const email = `verify-${Date.now()}@example.test`;
    const registered = await call('POST', '/v1/auth/register', undefined, {
      email,
      password: PASSWORD,
      name: 'Vera',
    });
    expect(registered.json().user.emailVerified).toBe(false);
    const token = await linkTokenMailedTo(system, email);
    const confirmed = await call('POST', '/v1/auth/verify-email', undefined, { token });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).toMatchObject({ email, emailVerified: true });
    const access = (await login(email, PASSWORD)).json().accessToken;
    expect((await call('GET', '/v1/users/me', access)).json().emailVerified).toBe(true);
    for (const used of [token, 'made-up-token']) {
      const refused = await call('POST', '/v1/auth/verify-email', undefined, { token: used });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().code).toBe('TOKEN_INVALID');
    }
    expect((await call('POST', '/v1/users/me/verification', access)).statusCode).toBe(409);
  });

  it('sends another link on request; an expired one is refused', async () => {
    const user = await signIn(system);
    expect((await call('POST', '/v1/users/me/verification', user.accessToken)).statusCode).toBe(202);
    const token = await linkTokenMailedTo(system, user.email);
    await sql`update user_tokens set expires_at = now() - interval '1 second' where purpose = 'verify_email'`.execute(
      system.database.db,
    );
    const expired = await call('POST', '/v1/auth/verify-email', undefined, { token });
    expect(expired.json().code).toBe('TOKEN_INVALID');
    expect((await call('GET', '/v1/users/me', user.accessToken)).json().emailVerified).toBe(false);
  });

  it('backs off password guesses per account and address, never locking the owner out from elsewhere', async () => {
    const user = await signIn(system);
    const attacker = '203.0.113.9';
    for (let guess = 0; guess < 6; guess++)
      expect((await login(user.email, `guess-${guess}`, attacker)).statusCode).toBe(401);
    // Past the free failures, each one doubles the wait before this address may try again.
    const held = await login(user.email, PASSWORD, attacker);
    expect(held.statusCode).toBe(429);
    expect(held.json().code).toBe('RATE_LIMITED');
    expect(Number(held.headers['retry-after'])).toBe(1);
    // The owner, from their own address, signs in as usual.
    expect((await login(user.email, PASSWORD, '198.51.100.20')).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await login(user.email, 'guess-6', attacker)).statusCode).toBe(401);
    const longer = await login(user.email, 'guess-7', attacker);
    expect(longer.statusCode).toBe(429);
    expect(Number(longer.headers['retry-after'])).toBe(2);
    // Written differently, the same account and the same wait.
    expect((await login(`  ${user.email.toUpperCase()} `, PASSWORD, attacker)).statusCode).toBe(429);
  });
});

describe.each(dbKinds)('the configured admin on %s', (kind) => {
  it('is never promoted with a password the operator did not set: the squatter loses the account and its sessions', async () => {
    const database = await createTestDatabase(kind);
    const first = await createTestSystem(kind, {}, {}, { database });
    const squatter = await first.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: 'boss@shop.test', password: 'the squatters password', name: 'Mallory' },
    });
    expect(squatter.statusCode).toBe(201);
    const { accessToken, refreshToken } = squatter.json();
    await first.dispose();

    const env = { EMPORIUM_ADMIN_EMAIL: 'boss@shop.test', EMPORIUM_ADMIN_PASSWORD: 'the operators password' };
    const second = await createTestSystem(kind, env, {}, { database });
    const inject = second.app.inject.bind(second.app);
    try {
      expect(
        (
          await inject({
            method: 'GET',
            url: '/v1/users/me',
            headers: { authorization: `Bearer ${accessToken}` },
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (await inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } })).statusCode,
      ).toBe(401);
      const asSquatter = { email: 'boss@shop.test', password: 'the squatters password' };
      expect((await inject({ method: 'POST', url: '/v1/auth/login', payload: asSquatter })).statusCode).toBe(
        401,
      );
      const asOperator = { email: 'boss@shop.test', password: 'the operators password' };
      const operator = await inject({ method: 'POST', url: '/v1/auth/login', payload: asOperator });
      expect(operator.json().user).toMatchObject({ role: 'admin', emailVerified: true });
      await second.dispose();

      // Started again with the same settings, nothing changes: the operator stays signed in.
      const third = await createTestSystem(kind, env, {}, { database });
      const me = await third.app.inject({
        method: 'GET',
        url: '/v1/users/me',
        headers: { authorization: `Bearer ${operator.json().accessToken}` },
      });
      expect(me.statusCode).toBe(200);
      await third.dispose();
    } finally {
      await database.dispose();
    }
  });
});

describe.runIf(process.env.DATABASE_URL && process.env.REDIS_URL)(
  'revocation across instances sharing Redis',
  () => {
    it('a token revoked on one instance is refused by another on the next request', async () => {
      const database = await createTestDatabase('postgres');
      const env = { REDIS_URL: process.env.REDIS_URL! };
      const [one, two] = [
        await createTestSystem('postgres', env, {}, { database }),
        await createTestSystem('postgres', env, {}, { database }),
      ];
      try {
        const user = await signIn(one);
        const headers = { authorization: `Bearer ${user.accessToken}` };
        // Both instances have the version cached.
        expect((await two.app.inject({ method: 'GET', url: '/v1/users/me', headers })).statusCode).toBe(200);
        expect((await one.app.inject({ method: 'GET', url: '/v1/users/me', headers })).statusCode).toBe(200);
        const out = await one.app.inject({
          method: 'POST',
          url: '/v1/auth/logout',
          headers,
          payload: { refreshToken: user.refreshToken },
        });
        expect(out.statusCode).toBe(204);
        expect((await two.app.inject({ method: 'GET', url: '/v1/users/me', headers })).statusCode).toBe(401);
      } finally {
        await one.dispose();
        await two.dispose();
        await database.dispose();
      }
    });
  },
);
