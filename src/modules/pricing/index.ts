import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { pricingRoutes } from './routes.ts';
import { createPricingService, type PricingService } from './service.ts';

export type { Quote, ShippingMethod } from './service.ts';
export { normaliseCode } from './service.ts';
export { type PricedCart, type PricedLine, priceCart, refundFor } from './totals.ts';

export interface PricingModule extends AppModule, PricingService {
  name: 'pricing';
}

export function createPricing(deps: { db: Db }): PricingModule {
  const service = createPricingService(deps.db);
  return { ...service, name: 'pricing', routes: pricingRoutes(service) };
}
