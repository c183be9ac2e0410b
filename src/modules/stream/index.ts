import { LRUCache } from 'lru-cache';
import type { CloudEvent, EventBus } from '../../platform/events/index.ts';
import { envelopeOf } from '../../platform/events/index.ts';
import type { AccessTokenVerifier } from '../../platform/http/auth.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import type { Broadcast } from '../../platform/pubsub/redis.ts';
import { HANDLED_EVENT_TYPES, SESSIONS_REVOKED, STAFF_FEED_TYPES } from './events.ts';
import { createSocketHub, type SocketHub } from './hub.ts';
import { streamRoutes } from './routes.ts';

export interface StreamModule extends AppModule {
  name: 'stream';
  hub: SocketHub;
}

/** The broadcast channel carrying stream events to every instance. */
const STREAM_CHANNEL = 'stream.events';
/** Event ids remembered to drop a second copy (a redelivery, a retried relay round). */
const RECENT_EVENTS = 10_000;

/**
 * GET /v1/stream: pushes each user the events of their own orders (and staff who see the shop's
 * orders its staff feed: new orders, low stock), from whichever instance holds their sockets. Exactly one path brings an event to every instance:
 * - with a broadcast (REDIS_URL): one consumer of the bus (the relay's process in-process, one
 *   worker with a broker) publishes the event on Redis, and every instance pushes what it hears;
 * - without: every instance consumes every event from the bus (`everyInstance`: the broker's
 *   per-instance queues; in-process only the relay's process, the single-process deployment).
 * Each instance drops an event id it has already pushed, so a redelivered event is not shown twice.
 */
export function createStream(deps: {
  bus: EventBus;
  verifier: AccessTokenVerifier;
  logger: Logger;
  metrics: Metrics;
  broadcast?: Broadcast;
  maxBufferedBytes?: number;
  heartbeatMs?: number;
}): StreamModule {
  const { bus, broadcast, logger } = deps;
  const hub = createSocketHub(deps);
  const pushed = new LRUCache<string, true>({ max: RECENT_EVENTS });
  const lost = deps.metrics.counter(
    'stream_broadcast_failures_total',
    'Stream events that could not be broadcast to the instances (Redis unreachable)',
  );

  /**
   * Writes an event to its owner's sockets on this instance (a user sees only their own orders);
   * a revocation of the user's tokens closes their sockets instead.
   */
  function push(event: CloudEvent): void {
    if (pushed.has(event.id)) return;
    pushed.set(event.id, true);
    if (STAFF_FEED_TYPES.includes(event.type)) hub.deliverToStaff(JSON.stringify(envelopeOf(event)));
    const userId = event.data.userId;
    if (typeof userId !== 'string' || event.type === 'inventory.low') return;
    if (event.type === SESSIONS_REVOKED) hub.closeUser(userId);
    else hub.deliver(userId, JSON.stringify(envelopeOf(event)));
  }

  if (broadcast) {
    bus.subscribe('stream', HANDLED_EVENT_TYPES, async (event) => {
      // Best effort, like any push: failing here would hold back the event's other consumers.
      try {
        await broadcast.publish(STREAM_CHANNEL, envelopeOf(event));
      } catch (error) {
        lost.inc();
        logger.warn({ err: error, eventId: event.id }, 'stream event not broadcast');
      }
    });
    broadcast.subscribe(STREAM_CHANNEL, (message) => push(message as CloudEvent));
  } else {
    bus.subscribe('stream', HANDLED_EVENT_TYPES, async (event) => push(event), { everyInstance: true });
  }
  return {
    name: 'stream',
    hub,
    routes: streamRoutes(hub, deps.verifier, {
      authTimeoutMs: 5_000,
      startFanout: () => bus.startInstanceConsumers(),
      metrics: deps.metrics,
    }),
    ...(broadcast ? { ready: broadcast.ready } : {}),
  };
}
