import type { EventBus } from '../../platform/events/index.ts';
import { envelopeOf } from '../../platform/events/index.ts';
import type { AccessTokenVerifier } from '../../platform/http/auth.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createSocketHub, type SocketHub } from './hub.ts';
import { streamRoutes } from './routes.ts';

/** The events a user sees about their own orders. */
export const STREAM_EVENT_TYPES = [
  'order.created',
  'order.confirmed',
  'order.cancelled',
  'payment.captured',
  'payment.refunded',
] as const;

export interface StreamModule extends AppModule {
  name: 'stream';
  hub: SocketHub;
}

/**
 * GET /v1/stream: pushes each user the events of their own orders. Every instance consumes
 * every such event (`everyInstance`) and writes it to the sockets it holds for that user.
 */
export function createStream(deps: {
  bus: EventBus;
  verifier: AccessTokenVerifier;
  logger: Logger;
  metrics: Metrics;
  maxBufferedBytes?: number;
  heartbeatMs?: number;
}): StreamModule {
  const hub = createSocketHub(deps);
  deps.bus.subscribe(
    'stream',
    STREAM_EVENT_TYPES,
    async (event) => {
      const userId = event.data.userId;
      if (typeof userId === 'string') hub.deliver(userId, JSON.stringify(envelopeOf(event)));
    },
    { everyInstance: true },
  );
  return {
    name: 'stream',
    hub,
    routes: streamRoutes(hub, deps.verifier, {
      authTimeoutMs: 5_000,
      startFanout: () => deps.bus.startInstanceConsumers(),
      metrics: deps.metrics,
    }),
  };
}
