import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { mailedLinks } from './support/mail.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

/** Changing the address: the password confirms the ask, the new address proves itself by its link. */
describe.each(dbKinds)('changing the email address on %s', (kind) => {
  let system: TestSystem;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-email-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir, PUBLIC_URL: 'https://shop.example.test' });
    await system.startWorkers();
  });
  afterAll(async () => {
    await system.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  const LINK = /https:\/\/shop\.example\.test\/verify-email\?token=[\w%-]+/;
  const tokenOf = (link: string) => decodeURIComponent(new URL(link).searchParams.get('token')!);
  const fresh = () => `moved-${randomUUID().slice(0, 8)}@example.test`;
  const login = (email: string) =>
    system.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });

  it('moves the account to the new address only when the link mailed there is opened, and tells the old one', async () => {
    const user = await signIn(system);
    const other = await signIn(system);
    const ask = (payload: object) =>
      system.app.inject({ method: 'POST', url: '/v1/users/me/email', headers: user.headers, payload });
    expect((await ask({ email: fresh(), password: 'wrong password' })).statusCode).toBe(401);
    expect((await ask({ email: other.email, password: PASSWORD })).json()).toMatchObject({
      code: 'EMAIL_TAKEN',
    });
    expect((await ask({ email: user.email, password: PASSWORD })).json()).toMatchObject({
      code: 'EMAIL_UNCHANGED',
    });
    expect((await ask({ email: 'nowhere', password: PASSWORD })).json()).toMatchObject({
      code: 'INVALID_EMAIL',
    });

    const first = fresh();
    const asked = await ask({ email: first.toUpperCase(), password: PASSWORD });
    expect(asked.statusCode).toBe(202);
    expect(asked.json()).toEqual({ email: first });
    const [firstLink] = await mailedLinks(dataDir, 'email_change', first, LINK);
    // Nothing changes before the link is opened.
    expect((await login(user.email)).statusCode).toBe(200);

    // A newer ask makes the older link worthless.
    const second = fresh();
    expect((await ask({ email: second, password: PASSWORD })).statusCode).toBe(202);
    const [secondLink] = await mailedLinks(dataDir, 'email_change', second, LINK);
    const stale = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/verify-email',
      payload: { token: tokenOf(firstLink) },
    });
    expect(stale.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' });

    const opened = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/verify-email',
      payload: { token: tokenOf(secondLink) },
    });
    expect(opened.statusCode).toBe(200);
    expect(opened.json()).toMatchObject({ id: user.id, email: second, emailVerified: true });
    expect((await login(second)).statusCode).toBe(200);
    expect((await login(user.email)).statusCode).toBe(401);
    // The address the account left is told where it went, so a takeover does not go unseen.
    const [told] = await mailedLinks(dataDir, 'email_changed', user.email, /now signs in with \S+?;/);
    expect(told).toBe(`now signs in with ${second};`);
    // Used once.
    const again = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/verify-email',
      payload: { token: tokenOf(secondLink) },
    });
    expect(again.statusCode).toBe(400);
  });
});
