import type { Db } from '../../platform/db/index.ts';
import type { AccessTokenVerifier } from '../../platform/http/auth.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { InventoryGrpc } from './grpc.ts';
import { inventoryRoutes } from './routes.ts';
import { createInventoryService, type InventoryService } from './service.ts';

export type { ReservationLine, Stock } from './service.ts';
export { outOfStock } from './service.ts';

export interface InventoryModule extends AppModule, InventoryService {
  name: 'inventory';
  grpc: () => Promise<InventoryGrpc>;
}

export function createInventory(deps: {
  db: Db;
  verifier: AccessTokenVerifier;
  logger: Logger;
}): InventoryModule {
  const service = createInventoryService(deps.db);
  let grpc: Promise<InventoryGrpc> | undefined;
  return {
    ...service,
    name: 'inventory',
    routes: inventoryRoutes(service),
    grpc: () => {
      grpc ??= import('./grpc.ts').then((loaded) => loaded.inventoryGrpc(service, deps));
      return grpc;
    },
  };
}
