import type { Config } from '../../config.ts';
import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import type { ObjectStorage } from '../../platform/storage/index.ts';
import type { InventoryService } from '../inventory/index.ts';
import { createImageService } from './images.ts';
import { catalogRoutes } from './routes.ts';
import { seedCatalog } from './seed.ts';
import { type CatalogDeps, type CatalogService, createCatalogService } from './service.ts';
import { catalogStore } from './store.ts';

export type { Rendered } from './read-model.ts';
export { CategorySchema, CollectionSchema, ProductListSchema, ProductSchema } from './schemas.ts';
export type { Category, CheckoutVariant } from './service.ts';
export { slugify } from './service.ts';

export interface CatalogModule extends AppModule {
  name: 'catalog';
  service: CatalogService;
  variantsForCheckout: CatalogService['variantsForCheckout'];
  applyRating: CatalogService['applyRating'];
  withdrawRating: CatalogService['withdrawRating'];
  variantIdsOf: CatalogService['variantIdsOf'];
  evict: CatalogService['evict'];
  isLive: CatalogService['isLive'];
  exists: CatalogService['exists'];
  /** Whether the catalog holds no product yet (a first start: the demo shop may be loaded). */
  isEmpty(): Promise<boolean>;
  /** Loads the deterministic demo catalog until it holds `count` demo products; returns how many it added. */
  seed(count: number): Promise<number>;
}

export function createCatalog(deps: {
  config: Pick<Config, 'storeCurrency' | 'requestTimeoutMs' | 'storeLocales'>;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  inventory: InventoryService;
  cache: Cache;
  taxClasses: CatalogDeps['taxClasses'];
  /** A region's currency, for reads that name a region (pricing owns regions). */
  regionCurrency: (code: string) => Promise<string | undefined>;
  /** Where product images are kept. */
  storage: ObjectStorage;
}): CatalogModule {
  const service = createCatalogService({
    db: deps.db,
    cache: deps.cache,
    inventory: deps.inventory,
    metrics: deps.metrics,
    logger: deps.logger,
    storeCurrency: deps.config.storeCurrency,
    locales: deps.config.storeLocales,
    taxClasses: deps.taxClasses,
  });
  const images = createImageService({
    db: deps.db,
    storage: deps.storage,
    logger: deps.logger,
    evictProduct: service.evict,
  });
  const seed = async (count: number) => {
    const added = await seedCatalog(deps.db, deps.inventory, count, deps.config.storeCurrency);
    if (added > 0) await service.evictLists();
    return added;
  };
  return {
    name: 'catalog',
    service,
    variantsForCheckout: service.variantsForCheckout,
    applyRating: service.applyRating,
    withdrawRating: service.withdrawRating,
    variantIdsOf: service.variantIdsOf,
    evict: service.evict,
    isLive: service.isLive,
    exists: service.exists,
    isEmpty: () => catalogStore.isEmpty(deps.db),
    seed,
    // A bucket that cannot be reached makes uploads and image reads fail: the instance is not ready.
    ...(deps.storage.kind === 's3' ? { ready: deps.storage.check } : {}),
    routes: catalogRoutes(service, {
      db: deps.db,
      images,
      idempotencyLockMs: deps.config.requestTimeoutMs + 5_000,
      storeCurrency: deps.config.storeCurrency,
      regionCurrency: deps.regionCurrency,
      locales: deps.config.storeLocales,
    }),
  };
}
