import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';

// A real OpenID provider (oidc-provider) on loopback. Its development login form accepts any login
// name as the account id; these accounts decide what it says about their email.
const accounts: Record<string, { email: string; email_verified: boolean; name: string }> = {
  alice: { email: 'Alice@Example.test', email_verified: true, name: 'Alice Liddell' },
  existing: { email: 'existing@example.test', email_verified: true, name: 'Existing' },
  proven: { email: 'proven@example.test', email_verified: true, name: 'Proven' },
  squatted: { email: 'squatted@example.test', email_verified: true, name: 'Victim' },
  unverified: { email: 'victim@example.test', email_verified: false, name: 'Mallory' },
};
const REDIRECT_URI = 'http://127.0.0.1:3000/v1/auth/oidc/test-idp/callback';

async function startProvider(): Promise<{ server: Server; issuer: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'emporium',
        client_secret: 'emporium-test-secret-0123456789abcdef',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    cookies: { keys: ['oidc-test-cookie-key'] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    findAccount: (_ctx, id) =>
      accounts[id] ? { accountId: id, claims: () => ({ sub: id, ...accounts[id] }) } : undefined,
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider', error));
  server.on('request', provider.callback());
  return { server, issuer };
}

/**
 * Plays the browser at the provider: follows redirects with its cookies, fills in the login form
 * and approves the consent screen, until the provider redirects back to our callback.
 */
async function authorizeAtProvider(authorizationUrl: string, login: string): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl;
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < 12; hop++) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form?.toString(),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    form = undefined;
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location')!, url);
      if (location.href.startsWith(REDIRECT_URI)) return location;
      url = location.href;
      continue;
    }
    const page = await response.text();
    if (response.status !== 200) throw new Error(`provider answered ${response.status}: ${page}`);
    form = page.includes('name="prompt" value="login"')
      ? new URLSearchParams({ prompt: 'login', login, password: 'any' })
      : new URLSearchParams({ prompt: 'consent' });
  }
  throw new Error('the provider never redirected back');
}

describe.each(dbKinds)('OpenID Connect sign-in on %s', (kind) => {
  let provider: { server: Server; issuer: string };
  let system: TestSystem;
  beforeAll(async () => {
    provider = await startProvider();
    system = await createTestSystem(kind, {
      OIDC_ALLOW_INSECURE_REQUESTS: 'true',
      OIDC_PROVIDERS: JSON.stringify({
        'test-idp': {
          issuer: provider.issuer,
          clientId: 'emporium',
          clientSecret: 'emporium-test-secret-0123456789abcdef',
          redirectUri: REDIRECT_URI,
        },
      }),
    });
  });
  afterAll(async () => {
    await system?.dispose();
    await new Promise((resolve) => provider.server.close(resolve));
  });

  // The browser's cookie from the latest start, sent back with callbacks as a browser would.
  let binding = '';
  const start = async () => {
    const response = await system.app.inject({ method: 'GET', url: '/v1/auth/oidc/test-idp/start' });
    expect(response.statusCode).toBe(302);
    binding = String(response.headers['set-cookie']).split(';')[0];
    return new URL(response.headers.location as string);
  };
  const callback = (query: string, cookie = binding) =>
    system.app.inject({
      method: 'GET',
      url: `/v1/auth/oidc/test-idp/callback${query}`,
      headers: { 'user-agent': 'oidc-test-browser', cookie },
    });

  it('redirects to the provider with PKCE (S256), state and nonce, binding the attempt to the browser', async () => {
    const response = await system.app.inject({ method: 'GET', url: '/v1/auth/oidc/test-idp/start' });
    expect(response.headers['set-cookie']).toMatch(
      /^emporium_oidc=[\w-]{43}; Path=\/v1\/auth\/oidc; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    expect(response.headers['cache-control']).toBe('no-store');
    const location = new URL(response.headers.location as string);
    expect(location.origin).toBe(provider.issuer);
    const params = location.searchParams;
    expect(params.get('client_id')).toBe('emporium');
    expect(params.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(params.get('state')).toMatch(/^[\w-]{32,}$/);
    expect(params.get('nonce')).toMatch(/^[\w-]{32,}$/);
    expect(params.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email']));
  });

  it('signs in a new person as a customer, and the same person again later', async () => {
    const back = await authorizeAtProvider((await start()).href, 'alice');
    const response = await callback(back.search);
    expect(response.statusCode).toBe(200);
    const pair = response.json();
    expect(pair).toMatchObject({
      tokenType: 'Bearer',
      user: { email: 'alice@example.test', role: 'customer' },
    });
    expect(pair.user.name).toBe('Alice Liddell');
    const me = await system.app.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(me.json().id).toBe(pair.user.id);
    // The account has no password: password sign-in stays closed.
    const login = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'alice@example.test', password: '' },
    });
    expect(login.statusCode).toBe(400);

    const again = await callback((await authorizeAtProvider((await start()).href, 'alice')).search);
    expect(again.statusCode).toBe(200);
    expect(again.json().user.id).toBe(pair.user.id);
    // The first sign-in created the account and announced it once; the second created nothing.
    const registered = await system.bus.events({ type: 'user.registered', subject: pair.user.id });
    expect(registered.map((event) => event.data)).toEqual([
      {
        userId: pair.user.id,
        email: 'alice@example.test',
        role: 'customer',
        method: 'oidc',
        provider: 'test-idp',
        registeredAt: pair.user.createdAt,
      },
    ]);
  });

  it('links an existing account whose address is proven, keeping its role', async () => {
    const identity = moduleOf(system, 'identity');
    const existing = await identity.createUser({
      email: 'proven@example.test',
      password: 'a password long enough',
      name: 'Proven',
      role: 'staff',
    });
    const token = await identity.issueEmailVerification(existing.id, 'proven@example.test');
    const verified = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/verify-email',
      payload: { token },
    });
    expect(verified.json()).toMatchObject({ id: existing.id, emailVerified: true });
    const response = await callback((await authorizeAtProvider((await start()).href, 'proven')).search);
    expect(response.statusCode).toBe(200);
    expect(response.json().user).toMatchObject({ id: existing.id, role: 'staff' });
  });

  it("links an account whose address is unproven only with that account's password", async () => {
    const identity = moduleOf(system, 'identity');
    const existing = await identity.createUser({
      email: 'existing@example.test',
      password: 'a password long enough',
      name: 'Existing',
      role: 'staff',
    });
    const refused = await callback((await authorizeAtProvider((await start()).href, 'existing')).search);
    expect(refused.statusCode).toBe(409);
    const problem = refused.json();
    expect(problem).toMatchObject({
      code: 'ACCOUNT_LINK_REQUIRED',
      provider: 'test-idp',
      email: 'existing@example.test',
    });
    expect(problem.detail).toContain("Enter that account's password");
    expect(problem.accessToken).toBeUndefined();
    const link = (linkToken: string, password: string) =>
      system.app.inject({ method: 'POST', url: '/v1/auth/oidc/link', payload: { linkToken, password } });
    expect((await link(problem.linkToken, 'not the password')).statusCode).toBe(401);
    expect((await link('forged-token', 'a password long enough')).json().code).toBe('TOKEN_INVALID');
    const linked = await link(problem.linkToken, 'a password long enough');
    expect(linked.statusCode).toBe(200);
    expect(linked.json().user).toMatchObject({ id: existing.id, role: 'staff', emailVerified: true });
    // Once: the token is spent; and from now on the provider signs in straight away.
    expect((await link(problem.linkToken, 'a password long enough')).json().code).toBe('TOKEN_INVALID');
    const again = await callback((await authorizeAtProvider((await start()).href, 'existing')).search);
    expect(again.statusCode).toBe(200);
    expect(again.json().user.id).toBe(existing.id);
  });

  it("does not let someone who registered another person's address first capture their provider sign-ins", async () => {
    const squatter = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: 'squatted@example.test', password: 'the squatters password', name: 'Mallory' },
    });
    expect(squatter.statusCode).toBe(201);
    for (let attempt = 0; attempt < 2; attempt++) {
      const victim = await callback((await authorizeAtProvider((await start()).href, 'squatted')).search);
      expect(victim.statusCode).toBe(409);
      expect(victim.json().code).toBe('ACCOUNT_LINK_REQUIRED');
      expect(victim.json().accessToken).toBeUndefined();
    }
  });

  it('refuses to link or create an account for an unverified email', async () => {
    const response = await callback((await authorizeAtProvider((await start()).href, 'unverified')).search);
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('EMAIL_NOT_VERIFIED');
  });

  it('refuses a tampered state', async () => {
    const back = await authorizeAtProvider((await start()).href, 'alice');
    const state = back.searchParams.get('state')!;
    back.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    const response = await callback(back.search);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('OIDC_SIGN_IN_FAILED');
    const identity = moduleOf(system, 'identity');
    const failures = (await identity.service.auditTrail({})).filter((row) => row.event === 'login.failed');
    expect(failures.at(-1)).toMatchObject({
      userAgent: 'oidc-test-browser',
      detail: { provider: 'test-idp', reason: expect.stringContaining('unknown, expired or already used') },
    });
    const missing = await callback(`?code=${back.searchParams.get('code')}`);
    expect(missing.statusCode).toBe(401);
  });

  it('refuses a replayed callback, and a code replayed into another sign-in attempt', async () => {
    const back = await authorizeAtProvider((await start()).href, 'alice');
    expect((await callback(back.search)).statusCode).toBe(200);
    const replay = await callback(back.search);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('OIDC_SIGN_IN_FAILED');

    // The spent code with a fresh, valid state: the provider refuses it (used, and PKCE-bound).
    const fresh = (await start()).searchParams.get('state')!;
    const injected = new URLSearchParams(back.search);
    injected.set('state', fresh);
    const response = await callback(`?${injected}`);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('OIDC_SIGN_IN_FAILED');
  });

  it("refuses a callback from someone else's sign-in attempt (login CSRF)", async () => {
    // The attacker signs in to their own account and hands the victim the callback URL.
    const attackersCallback = await authorizeAtProvider((await start()).href, 'alice');
    const attackersCookie = binding;
    await start();
    const victimsCookie = binding;
    const inVictimsBrowser = await callback(attackersCallback.search, victimsCookie);
    expect(inVictimsBrowser.statusCode).toBe(401);
    expect(inVictimsBrowser.json().code).toBe('OIDC_SIGN_IN_FAILED');
    expect(
      (await callback((await authorizeAtProvider((await start()).href, 'alice')).search, '')).statusCode,
    ).toBe(401);
    expect(attackersCookie).not.toBe(victimsCookie);
  });

  it('refuses an ID token whose nonce is not the one this attempt issued', async () => {
    const location = await start();
    location.searchParams.set('nonce', 'a-nonce-the-server-never-issued-0123456789');
    const response = await callback((await authorizeAtProvider(location.href, 'alice')).search);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('OIDC_SIGN_IN_FAILED');
  });

  it('refuses a denied authorization and an unknown provider', async () => {
    const state = (await start()).searchParams.get('state')!;
    const denied = await callback(
      `?error=access_denied&state=${state}&iss=${encodeURIComponent(provider.issuer)}`,
    );
    expect(denied.statusCode).toBe(401);
    const unknown = await system.app.inject({ method: 'GET', url: '/v1/auth/oidc/nope/start' });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('OpenID Connect with the provider unreachable', () => {
  it('answers 503 with Retry-After', async () => {
    const system = await createTestSystem('pglite', {
      OIDC_ALLOW_INSECURE_REQUESTS: 'true',
      OIDC_PROVIDERS: JSON.stringify({
        down: {
          issuer: 'http://127.0.0.1:1',
          clientId: 'emporium',
          clientSecret: 'secret',
          redirectUri: 'http://127.0.0.1:3000/v1/auth/oidc/down/callback',
        },
      }),
    });
    try {
      const response = await system.app.inject({ method: 'GET', url: '/v1/auth/oidc/down/start' });
      expect(response.statusCode).toBe(503);
      expect(response.json().code).toBe('OIDC_PROVIDER_UNAVAILABLE');
      expect(response.headers['retry-after']).toBe('5');
    } finally {
      await system.dispose();
    }
  });
});
