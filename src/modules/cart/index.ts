import type { Config } from '../../config.ts';
import type { Db } from '../../platform/db/index.ts';
import type { EventBus } from '../../platform/events/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { createPollingLoop } from '../../platform/polling.ts';
import { onAccountErased } from '../identity/index.ts';
import type { PricingService } from '../pricing/index.ts';
import { cartRoutes } from './routes.ts';
import { type CartService, type CatalogReader, createCartService, type StockReader } from './service.ts';

export { AddressSchema, CartSchema, LineItemSchema, TotalsSchema } from './routes.ts';
export type {
  Cart,
  CartLine,
  CartService,
  CatalogReader,
  CheckoutCart,
  Destination,
  Discount,
  Money,
  Shopper,
  Totals,
} from './service.ts';
export { discountsIn } from './service.ts';

export interface CartModule extends AppModule {
  name: 'cart';
  service: CartService;
}

export function createCart(deps: {
  db: Db;
  config: Pick<Config, 'guestCartTtlHours' | 'guestCartsPerMinute' | 'recoveryIntervalMs' | 'storeCurrency'>;
  catalog: CatalogReader;
  stock: StockReader;
  pricing: PricingService;
  bus: Pick<EventBus, 'subscribe'>;
  logger: Logger;
}): CartModule {
  const { config } = deps;
  const service = createCartService({
    ...deps,
    guestCartTtlMs: config.guestCartTtlHours * 3_600_000,
    storeCurrency: config.storeCurrency,
  });
  // An erased account's cart goes with it.
  onAccountErased(deps.bus, 'cart', service.forget);
  const sweep = createPollingLoop({
    name: 'guest cart sweep',
    intervalMs: Math.max(config.recoveryIntervalMs, 60_000),
    round: () => service.sweepExpiredGuests(),
    logger: deps.logger,
  });
  return {
    name: 'cart',
    service,
    routes: cartRoutes(service, { guestCartsPerMinute: config.guestCartsPerMinute }),
    /** Guest carts unused past GUEST_CART_TTL_HOURS are deleted, a batch at a time. */
    start: sweep.start,
    stop: sweep.stop,
  };
}
