import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { InventoryService } from '../inventory/index.ts';
import type { OrderingModule } from '../ordering/index.ts';
import { fulfillmentRoutes } from './routes.ts';
import { createFulfillmentService, type FulfillmentService } from './service.ts';

export { FULFILLMENT_EVENT_TYPES } from './events.ts';
export { FulfillmentSchema, ReturnSchema } from './routes.ts';
export type { FulfillmentService } from './service.ts';

export interface FulfillmentModule extends AppModule {
  name: 'fulfillment';
  service: FulfillmentService;
}

export function createFulfillment(deps: {
  db: Db;
  ordering: OrderingModule;
  payments: { refund(orderId: string, amount: number, key: string, signal?: AbortSignal): Promise<unknown> };
  inventory: InventoryService;
  bus: EventBus;
  returnWindowDays: number;
}): FulfillmentModule {
  const service = createFulfillmentService({ ...deps, orders: deps.ordering.service.fulfillment });
  return { name: 'fulfillment', service, routes: fulfillmentRoutes(service) };
}
