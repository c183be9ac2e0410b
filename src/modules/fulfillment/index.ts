import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { createPollingLoop } from '../../platform/polling.ts';
import type { InventoryService } from '../inventory/index.ts';
import type { OrderingModule } from '../ordering/index.ts';
import { fulfillmentRoutes } from './routes.ts';
import { createFulfillmentService, type FulfillmentPayments, type FulfillmentService } from './service.ts';

type FulfillmentDeps = Parameters<typeof createFulfillmentService>[0];

export { FULFILLMENT_EVENT_TYPES } from './events.ts';
export { FulfillmentSchema, ReturnSchema } from './routes.ts';
export type { FulfillmentPayments, FulfillmentService } from './service.ts';

export interface FulfillmentModule extends AppModule {
  name: 'fulfillment';
  service: FulfillmentService;
}

export function createFulfillment(deps: {
  db: Db;
  config: Pick<Config, 'returnWindowDays' | 'payments' | 'requestTimeoutMs' | 'recoveryIntervalMs'>;
  ordering: OrderingModule;
  payments: FulfillmentPayments;
  inventory: InventoryService;
  storeCredit: FulfillmentDeps['storeCredit'];
  bus: EventBus;
  logger: Logger;
}): FulfillmentModule {
  const { config } = deps;
  const service = createFulfillmentService({
    ...deps,
    orders: deps.ordering.service.fulfillment,
    returnWindowDays: config.returnWindowDays,
    captureOnShipment: config.payments.capture === 'on_shipment',
    // Past the shipping request's own deadline, so recovery never races a request still capturing.
    captureStaleAfterMs: config.requestTimeoutMs + 5_000,
  });
  const recovery = createPollingLoop({
    name: 'shipment capture recovery',
    intervalMs: config.recoveryIntervalMs,
    round: () => service.recoverCapturesOnce(),
    logger: deps.logger,
  });
  return {
    name: 'fulfillment',
    service,
    routes: fulfillmentRoutes(service),
    /** Shipments whose capture was cut off (a crash, the provider down) are finished or given up. */
    start: recovery.start,
    stop: recovery.stop,
  };
}
