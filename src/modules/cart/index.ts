import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { PricingModule } from '../pricing/index.ts';
import { cartRoutes } from './routes.ts';
import { type CartService, type CatalogReader, createCartService, type StockReader } from './service.ts';

export { AddressSchema, CartSchema, LineItemSchema, TotalsSchema } from './routes.ts';
export type {
  Cart,
  CartLine,
  CatalogReader,
  CheckoutCart,
  Destination,
  Money,
  Totals,
} from './service.ts';

export interface CartModule extends AppModule, CartService {
  name: 'cart';
}

export function createCart(deps: {
  db: Db;
  catalog: CatalogReader;
  stock: StockReader;
  pricing: PricingModule;
}): CartModule {
  const service = createCartService(deps);
  return { ...service, name: 'cart', routes: cartRoutes(service) };
}
