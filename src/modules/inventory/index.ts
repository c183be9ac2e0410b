import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AccessTokenVerifier } from '../../platform/http/auth.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Broadcast } from '../../platform/pubsub/redis.ts';
import type { InventoryGrpc } from './grpc.ts';
import { inventoryRoutes } from './routes.ts';
import { createInventoryService, type InventoryDeps, type InventoryService } from './service.ts';

export { outOfStock } from './errors.ts';
export { INVENTORY_EVENT_TYPES } from './events.ts';
export { LowStockSchema, StockLocationSchema, StockSchema } from './routes.ts';
export type { InventoryService, ReservationLine, Stock, StockLocation } from './service.ts';

export interface InventoryModule extends AppModule {
  name: 'inventory';
  service: InventoryService;
  grpc: () => Promise<InventoryGrpc>;
}

/**
 * Stock per variant. A change that takes an item's available stock to its low-stock threshold or
 * below emits inventory.low (once per crossing); with a broadcast, every instance hears of every
 * committed stock change (their availability caches drop the old counts).
 */
export function createInventory(deps: {
  db: Db;
  verifier: AccessTokenVerifier;
  logger: Logger;
  bus: Pick<EventBus, 'append' | 'nudge'>;
  lowStockThreshold: number;
  broadcast?: Broadcast;
  reportPublishError: (error: unknown) => void;
  products: InventoryDeps['products'];
}): InventoryModule {
  const service = createInventoryService({
    db: deps.db,
    events: deps.bus,
    lowStockThreshold: deps.lowStockThreshold,
    broadcast: deps.broadcast,
    reportPublishError: deps.reportPublishError,
    products: deps.products,
  });
  let grpc: Promise<InventoryGrpc> | undefined;
  return {
    name: 'inventory',
    service,
    routes: inventoryRoutes(service),
    grpc: () => {
      grpc ??= import('./grpc.ts').then((loaded) => loaded.inventoryGrpc(service, deps));
      return grpc;
    },
  };
}
