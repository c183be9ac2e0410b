import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
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
  Money,
  Totals,
} from './service.ts';

export interface CartModule extends AppModule {
  name: 'cart';
  service: CartService;
}

export function createCart(deps: {
  db: Db;
  catalog: CatalogReader;
  stock: StockReader;
  pricing: PricingService;
}): CartModule {
  const service = createCartService(deps);
  return { name: 'cart', service, routes: cartRoutes(service) };
}
