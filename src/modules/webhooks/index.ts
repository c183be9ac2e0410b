import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { createPollingLoop } from '../../platform/polling.ts';
import { onAccountErased } from '../identity/index.ts';
import { webhookRoutes } from './routes.ts';
import { createWebhookService, type WebhookService } from './service.ts';

export { DeliverySchema, EndpointSchema } from './routes.ts';

export interface WebhooksModule extends AppModule {
  name: 'webhooks';
  service: WebhookService;
}

const POLL_MS = 500;

/**
 * Admin-registered webhooks: a bus consumer turns each event into one delivery row per subscribed
 * endpoint (exactly once: a delivery is unique per endpoint and event), and the delivery worker sends them signed, retrying
 * with exponential backoff until success or the last attempt.
 */
export function createWebhooks(deps: {
  config: Config;
  db: Db;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  /** Every event type the modules emit: what an endpoint may subscribe to. */
  eventTypes: readonly string[];
}): WebhooksModule {
  const { config, bus, logger } = deps;
  const service = createWebhookService({
    ...deps,
    settings: {
      allowPrivate: config.webhooksAllowPrivate,
      maxAttempts: config.webhookMaxAttempts,
      retryBaseMs: config.webhookRetryBaseMs,
      timeoutMs: config.webhookTimeoutMs,
    },
  });
  bus.subscribe('webhooks', '*', (event) => service.queueDeliveries(deps.db, event));
  onAccountErased(bus, 'webhooks-erasure', service.forgetUser);

  const delivery = createPollingLoop({
    name: 'webhook delivery',
    intervalMs: POLL_MS,
    round: () => service.deliverDue(),
    logger,
  });

  return {
    name: 'webhooks',
    service,
    routes: webhookRoutes(service, deps.eventTypes),
    start: delivery.start,
    stop: delivery.stop,
  };
}
