import { randomBytes, randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

// Counters live in process memory, or in the shared Redis when REDIS_URL is set (CI). Every test
// uses fresh addresses and emails, so runs sharing one Redis never count each other's requests.
const stores = process.env.REDIS_URL ? ['memory', 'redis'] : ['memory'];
const LIMIT = 3;

const randomAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const randomEmail = () => `limit-${randomBytes(6).toString('hex')}@example.test`;

describe.each(stores)('rate limits (%s store)', (store) => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await createTestSystem('pglite', {
      LOGIN_LIMIT_PER_MINUTE: String(LIMIT),
      REGISTER_LIMIT_PER_MINUTE: String(LIMIT),
      RATE_LIMIT_PER_MINUTE: '20',
      ...(store === 'redis' ? { REDIS_URL: process.env.REDIS_URL! } : {}),
    });
  });
  afterAll(() => system.dispose());

  const login = (email: string, password: string, remoteAddress: string) =>
    system.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress });

  const expectRateLimited = (response: Awaited<ReturnType<typeof login>>, limit: number) => {
    expect(response.statusCode).toBe(429);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(response.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(response.headers['ratelimit-limit']).toBe(String(limit));
    expect(response.headers['ratelimit-remaining']).toBe('0');
    expect(Number(response.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    expect(response.headers['ratelimit-policy']).toBe(`${limit};w=60`);
  };

  it('limits sign-ups per client address', async () => {
    const address = randomAddress();
    const register = () =>
      system.app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email: randomEmail(), password: 'long enough', name: 'Newcomer' },
        remoteAddress: address,
      });
    for (let attempt = 0; attempt < LIMIT; attempt++) expect((await register()).statusCode).toBe(201);
    expectRateLimited(await register(), LIMIT);
    // Another address signs up as usual.
    const elsewhere = await system.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: randomEmail(), password: 'long enough', name: 'Newcomer' },
      remoteAddress: randomAddress(),
    });
    expect(elsewhere.statusCode).toBe(201);
  });

  it('limits sign-in attempts per client address across accounts', async () => {
    const address = randomAddress();
    for (let attempt = 0; attempt < LIMIT; attempt++) {
      expect((await login(randomEmail(), 'guess guess', address)).statusCode).toBe(401);
    }
    expectRateLimited(await login(randomEmail(), 'guess guess', address), LIMIT);
    expect((await login(randomEmail(), 'guess guess', randomAddress())).statusCode).toBe(401);
    if (store === 'redis') {
      // The shared counters are named by the system's namespace, scope and key, nothing else.
      const { rows } = await sql<{ value: string }>`
        select value from app_settings where key = 'cache.namespace'`.execute(system.database.db);
      const namespace = `emporium:${rows[0].value}:rl:`;
      const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
      try {
        expect(await redis.get(`${namespace}login-ip:${address}`)).toBe(String(LIMIT + 1));
        expect(await redis.pttl(`${namespace}ip:${address}`)).toBeGreaterThan(0);
        expect((await redis.keys(`*${address}`)).sort()).toEqual([
          `${namespace}ip:${address}`,
          `${namespace}login-ip:${address}`,
        ]);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('applies the global per-address limit to every route, unknown ones included', async () => {
    const address = randomAddress();
    const get = (url: string) => system.app.inject({ method: 'GET', url, remoteAddress: address });
    const first = await get('/livez');
    expect(first.statusCode).toBe(200);
    expect(first.headers['ratelimit-limit']).toBe('20');
    expect(first.headers['ratelimit-remaining']).toBe('19');
    for (let request = 1; request < 20; request++) {
      expect((await get(`/v1/no-such-thing-${request}`)).statusCode).toBe(404);
    }
    expectRateLimited(await get('/v1/no-such-thing'), 20);
    expectRateLimited(await get('/livez'), 20);
    expect(
      (await system.app.inject({ method: 'GET', url: '/livez', remoteAddress: randomAddress() })).statusCode,
    ).toBe(200);
  });

  it('counts clients behind a trusted proxy by X-Forwarded-For, and ignores the header otherwise', async () => {
    const proxied = await createTestSystem('pglite', {
      RATE_LIMIT_PER_MINUTE: '2',
      TRUST_PROXY: '1',
      ...(store === 'redis' ? { REDIS_URL: process.env.REDIS_URL! } : {}),
    });
    try {
      const balancer = randomAddress();
      const [first, second] = [randomAddress(), randomAddress()];
      const get = (app: TestSystem['app'], client: string) =>
        app.inject({
          method: 'GET',
          url: '/livez',
          remoteAddress: balancer,
          headers: { 'x-forwarded-for': client },
        });
      expect((await get(proxied.app, first)).statusCode).toBe(200);
      expect((await get(proxied.app, first)).statusCode).toBe(200);
      expect((await get(proxied.app, first)).statusCode).toBe(429);
      expect((await get(proxied.app, second)).statusCode).toBe(200);
    } finally {
      await proxied.dispose();
    }
    // Without TRUST_PROXY a client cannot pick its own bucket by sending the header.
    const address = randomAddress();
    for (let request = 0; request < 20; request++) {
      await system.app.inject({
        method: 'GET',
        url: '/livez',
        remoteAddress: address,
        headers: { 'x-forwarded-for': randomAddress() },
      });
    }
    const blocked = await system.app.inject({
      method: 'GET',
      url: '/livez',
      remoteAddress: address,
      headers: { 'x-forwarded-for': randomAddress() },
    });
    expect(blocked.statusCode).toBe(429);
  });
});

describe('rate limits with Redis unreachable', () => {
  it('let requests through (fail open) rather than take the API down with the cache', async () => {
    const system = await createTestSystem('pglite', {
      REDIS_URL: 'redis://127.0.0.1:1',
      LOGIN_LIMIT_PER_MINUTE: '1',
    });
    try {
      expect((await system.app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
      for (let attempt = 0; attempt < 3; attempt++) {
        const login = await system.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: 'nobody@example.test', password: 'whatever1' },
        });
        expect(login.statusCode).toBe(401);
      }
    } finally {
      await system.dispose();
    }
  });
});
