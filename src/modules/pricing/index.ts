import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { seedPricingDemo } from './demo.ts';
import { pricingRoutes } from './routes.ts';
import {
  createPricingService,
  type PricingService,
  type PricingSources,
  type TaxProvider,
} from './service.ts';

export { RegionSchema, ShippingMethodSchema } from './routes.ts';

export type { PricingService, Quote, ShippingMethod, ShippingProblem, TaxProvider } from './service.ts';
export { normaliseCode } from './service.ts';
export {
  lineCharge,
  type PricedCart,
  type PricedDiscount,
  type PricedLine,
  priceCart,
  shareOf,
} from './totals.ts';

export interface PricingModule extends AppModule {
  name: 'pricing';
  service: PricingService;
  /** Loads the demo tax rates, shipping methods and codes (beside the demo catalog); idempotent. */
  seedDemo(): Promise<void>;
}

export function createPricing(deps: {
  db: Db;
  taxProvider?: TaxProvider;
  customerGroups?: (userId: string, executor: Db) => Promise<string[]>;
  sources?: PricingSources;
}): PricingModule {
  const service = createPricingService(deps.db, {
    taxProvider: deps.taxProvider,
    customerGroups: deps.customerGroups,
    sources: deps.sources,
  });
  return {
    name: 'pricing',
    service,
    seedDemo: () => seedPricingDemo(deps.db),
    routes: pricingRoutes(service),
  };
}
