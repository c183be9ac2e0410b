import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import type { CatalogModule } from '../catalog/index.ts';
import { reviewRoutes } from './routes.ts';
import { createReviewService, type PurchaseChecker, type ReviewService } from './service.ts';

export { ReviewSchema } from './routes.ts';

export type { Review } from './service.ts';

export interface ReviewsModule extends AppModule {
  name: 'reviews';
  service: ReviewService;
}

export function createReviews(deps: {
  db: Db;
  catalog: CatalogModule;
  orders: PurchaseChecker;
}): ReviewsModule {
  const service = createReviewService(deps);
  return { name: 'reviews', service, routes: reviewRoutes(service) };
}
