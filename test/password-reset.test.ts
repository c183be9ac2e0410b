import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { linksMailed, mailedLinks } from './support/mail.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Password reset end to end: the request reveals nothing about which addresses exist, the mail
 * carries a single-use link that works within the hour, and using it ends every session.
 */
describe.each(dbKinds)('password reset on %s', (kind) => {
  let system: TestSystem;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-reset-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir, PUBLIC_URL: 'https://shop.example.test' });
    await system.startWorkers();
  });
  afterAll(async () => {
    await system.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  // Each test asks from an address of its own: reset requests are limited per client address.
  let client = '10.0.0.1';
  const post = (url: string, payload: object) =>
    system.app.inject({ method: 'POST', url, payload, remoteAddress: client });
  const RESET_LINK = /https:\/\/shop\.example\.test\/reset-password\?token=[\w%-]+/;
  const linkFor = (email: string, count = 1) =>
    mailedLinks(dataDir, 'password_reset', email, RESET_LINK, count);
  const tokenOf = (link: string) => decodeURIComponent(new URL(link).searchParams.get('token')!);

  it('answers the same for an unknown address and mails nothing', async () => {
    const unknown = await post('/v1/auth/password-reset', { email: 'nobody-here@example.test' });
    const user: SignedInUser = await signIn(system);
    const known = await post('/v1/auth/password-reset', { email: user.email.toUpperCase() });
    expect(unknown.statusCode).toBe(202);
    expect(known.statusCode).toBe(202);
    // The same answer: each names only the address it was asked about.
    expect(unknown.json()).toEqual({ email: 'nobody-here@example.test' });
    expect(known.json()).toEqual({ email: user.email });
    expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(known.headers).sort());
    const blank = await post('/v1/auth/password-reset', { email: '   ' });
    expect(blank.json()).toMatchObject({ status: 400, code: 'INVALID_EMAIL' });
    // Five a minute from one address; then 429 with when to try again.
    for (let asked = 3; asked < 5; asked++) await post('/v1/auth/password-reset', { email: user.email });
    const limited = await post('/v1/auth/password-reset', { email: user.email });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    await linkFor(user.email);
    // The known address's mail is there; none went to the unknown one.
    expect(await linksMailed(dataDir, 'password_reset', 'nobody-here@example.test', RESET_LINK)).toEqual([]);
  });

  it('sets the new password once, ends every session, and makes the other links worthless', async () => {
    client = '10.0.0.2';
    const user = await signIn(system);
    const second = await post('/v1/auth/login', { email: user.email, password: PASSWORD });
    expect(second.statusCode).toBe(200);
    await post('/v1/auth/password-reset', { email: user.email });
    await post('/v1/auth/password-reset', { email: user.email });
    const [first, later] = await linkFor(user.email, 2);

    // Too weak: refused, and the link still works.
    const weak = await post('/v1/auth/password-reset/confirm', { token: tokenOf(later!), password: 'short' });
    expect(weak.statusCode).toBe(400);
    const newPassword = 'a completely new passphrase';
    const reset = await post('/v1/auth/password-reset/confirm', {
      token: tokenOf(later!),
      password: newPassword,
    });
    expect(reset.statusCode, reset.body).toBe(204);

    // Used once; the earlier link was spent with it.
    for (const link of [later!, first!]) {
      const again = await post('/v1/auth/password-reset/confirm', {
        token: tokenOf(link),
        password: newPassword,
      });
      expect(again.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' });
    }
    // Every session ended: the access token and both refresh tokens.
    const me = await system.app.inject({ method: 'GET', url: '/v1/users/me', headers: user.headers });
    expect(me.statusCode).toBe(401);
    for (const refreshToken of [user.refreshToken, second.json().refreshToken])
      expect((await post('/v1/auth/refresh', { refreshToken })).statusCode).toBe(401);
    // The old password no longer works; the new one does, and the address counts as proven.
    expect((await post('/v1/auth/login', { email: user.email, password: PASSWORD })).statusCode).toBe(401);
    const signedIn = await post('/v1/auth/login', { email: user.email, password: newPassword });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json().user.emailVerified).toBe(true);
  });

  it('refuses an unknown or expired token without saying which', async () => {
    client = '10.0.0.3';
    const unknown = await post('/v1/auth/password-reset/confirm', {
      token: 'not-a-token',
      password: 'a completely new passphrase',
    });
    expect(unknown.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' });
    const user = await signIn(system);
    await post('/v1/auth/password-reset', { email: user.email });
    const [link] = await linkFor(user.email);
    await system.testDb.db
      .withTables<{ user_tokens: { user_id: string; expires_at: Date } }>()
      .updateTable('user_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.id)
      .execute();
    const expired = await post('/v1/auth/password-reset/confirm', {
      token: tokenOf(link!),
      password: 'a completely new passphrase',
    });
    expect(expired.json()).toMatchObject({
      status: 400,
      code: 'TOKEN_INVALID',
      detail: unknown.json().detail,
    });
  });
});
