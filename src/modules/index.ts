import type { Config } from '../config.ts';
import type { Database, Db } from '../platform/db/index.ts';
import { createAmqpTransport, createEventBus, type EventBus } from '../platform/events/index.ts';
import type { AccessTokenVerifier } from '../platform/http/auth.ts';
import type { AppModule } from '../platform/module.ts';
import type { Logger } from '../platform/observability/logger.ts';
import type { Metrics } from '../platform/observability/metrics.ts';
import { createIdentity } from './identity/index.ts';
import { createInventory } from './inventory/index.ts';
import { createNotifications } from './notifications/index.ts';
import { createPayments } from './payments/index.ts';
import { createPricing } from './pricing/index.ts';
import { createStream } from './stream/index.ts';
import { createWebhooks } from './webhooks/index.ts';

/** What the composition root hands every module factory. */
export interface ModuleDeps {
  config: Config;
  database: Database;
  db: Db;
  logger: Logger;
  metrics: Metrics;
}

export interface Modules {
  list: AppModule[];
  bus: EventBus;
  /** Verifies access tokens for the platform's requireUser/requireRole. */
  verifier: AccessTokenVerifier;
}

/** Builds the modules in dependency order; a later module receives the earlier ones it needs. */
export async function createModules(deps: ModuleDeps): Promise<Modules> {
  const { config, logger, metrics } = deps;
  const transport = config.amqpUrl
    ? createAmqpTransport({ url: config.amqpUrl, exchange: config.amqpExchange, logger, metrics })
    : undefined;
  const bus = createEventBus({ db: deps.db, logger, metrics, transport });
  const events: AppModule = {
    name: 'events',
    start: () => bus.start(),
    stop: () => bus.stop(),
    close: () => bus.stop(),
    ...(transport ? { ready: bus.ready } : {}),
  };
  const identity = await createIdentity(deps);
  const inventory = createInventory(deps);
  const pricing = createPricing(deps);
  const payments = await createPayments(deps);
  const stream = createStream({
    bus,
    verifier: identity.verifier,
    logger,
    metrics,
    heartbeatMs: config.streamHeartbeatMs,
  });
  const webhooks = createWebhooks({ ...deps, bus });
  const notifications = createNotifications({ ...deps, bus, identity });
  return {
    list: [events, identity, inventory, pricing, payments, stream, webhooks, notifications],
    bus,
    verifier: identity.verifier,
  };
}
