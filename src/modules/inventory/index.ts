import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { inventoryRoutes } from './routes.ts';
import { createInventoryService, type InventoryService } from './service.ts';

export type { ReservationLine, Stock } from './service.ts';
export { outOfStock } from './service.ts';

export interface InventoryModule extends AppModule, InventoryService {
  name: 'inventory';
}

export function createInventory(deps: { db: Db }): InventoryModule {
  const service = createInventoryService(deps.db);
  return { ...service, name: 'inventory', routes: inventoryRoutes(service) };
}
