import rateLimit, { type FastifyRateLimitStore, normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { DomainError } from '../errors.ts';

const WINDOW_MS = 60_000;

// Counts one request and starts the window on the first; answers the count and the window left.
const INCREMENT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {current, redis.call('PTTL', KEYS[1])}`;

/**
 * The counters in Redis under our own key names, `<namespace>rl:<scope>:<key>`. The plugin's Redis
 * store names a limit made with createRateLimit after a route it does not have
 * ("undefinedundefined-"); our limits carry their scope in the key already.
 */
function redisStore(redis: Redis, namespace: string): new () => FastifyRateLimitStore {
  const prefix = `${namespace}rl:`;
  return class RedisCounters implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      redis.eval(INCREMENT, 1, prefix + key, timeWindow).then(
        (result) => {
          const [current, ttl] = result as [number, number];
          callback(null, { current, ttl });
        },
        (error: Error) => callback(error),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A hook (onRequest or preHandler) that allows `max` requests a minute per key; `key` returns
     * undefined to leave a request uncounted. Several limits may guard one route: each counts.
     */
    perMinuteLimit(
      name: string,
      max: number,
      key: (request: FastifyRequest) => string | undefined,
    ): onRequestAsyncHookHandler;
  }
}

export interface RateLimitSettings {
  rateLimitPerMinute: number;
  /** Counters shared by every instance live in Redis when set; otherwise in this process. */
  redisUrl?: string;
  /**
   * This system's key prefix in Redis (the cache's, kept in the database): systems on different
   * databases sharing one Redis never count each other's requests. `emporium:` when not given.
   */
  redisNamespace?: string;
}

/** The client's address as a rate-limit key: IPv6 clients count per /64, as they usually own one. */
export const clientAddress = (request: FastifyRequest): string =>
  request.ip ? normalizeIP(request.ip) : 'unknown';

/**
 * The platform's rate limiter: @fastify/rate-limit provides the counting stores (in-process LRU, or
 * Redis); this adds a global per-IP limit on every request, including unknown routes (which
 * would otherwise be free for enumeration), and named limits routes add for themselves.
 * Over the limit the answer is problem+json 429 RATE_LIMITED with Retry-After and the IETF
 * RateLimit-Limit/-Remaining/-Reset and RateLimit-Policy headers.
 */
export async function registerRateLimiting(app: FastifyInstance, settings: RateLimitSettings): Promise<void> {
  // Fail fast rather than queue while Redis is away; the limiter then lets requests through
  // (skipOnError) instead of failing the whole API on a cache outage.
  // ioredis is loaded only when Redis is configured.
  const redis = settings.redisUrl
    ? new (await import('ioredis')).Redis(settings.redisUrl, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: 2000,
        lazyConnect: true,
      })
    : undefined;
  if (redis) {
    // Listen before connecting: an unheard 'error' event would be reported as unhandled. A failed
    // connect is logged there and retried by ioredis; meanwhile the limiter fails open.
    redis.on('error', (error) => app.log.warn({ err: error }, 'rate limits: Redis error'));
    await redis.connect().catch(() => {});
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
  }
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { store: redisStore(redis, settings.redisNamespace ?? 'emporium:') } : {}),
    skipOnError: true,
    cache: 20_000,
  });

  app.decorate(
    'perMinuteLimit',
    (name: string, max: number, key: (request: FastifyRequest) => string | undefined) => {
      const count = app.createRateLimit({
        max,
        timeWindow: WINDOW_MS,
        keyGenerator: (request) => `${name}:${key(request)}`,
      });
      return async (request: FastifyRequest, reply: FastifyReply) => {
        if (key(request) === undefined) return;
        const state = await count(request);
        if (state.isAllowed) return;
        // The tightest limit on a request speaks in the headers.
        const shown = reply.getHeader('ratelimit-remaining');
        if (shown === undefined || Number(shown) >= state.remaining) {
          reply.headers({
            'ratelimit-limit': String(state.max),
            'ratelimit-remaining': String(state.remaining),
            'ratelimit-reset': String(state.ttlInSeconds),
            'ratelimit-policy': `${state.max};w=${WINDOW_MS / 1000}`,
          });
        }
        if (state.isExceeded) {
          throw new DomainError(
            429,
            'RATE_LIMITED',
            'Too many requests',
            `Too many requests; retry in ${state.ttlInSeconds} s`,
            {
              headers: { 'retry-after': String(state.ttlInSeconds) },
            },
          );
        }
      };
    },
  );

  app.addHook('onRequest', app.perMinuteLimit('ip', settings.rateLimitPerMinute, clientAddress));
}
