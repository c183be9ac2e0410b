import { type Db, transact } from '../../platform/db/index.ts';
import { conflict, notFound } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { CatalogModule } from '../catalog/index.ts';
import { type ReviewRow, reviewStore as store } from './store.ts';

export interface Review {
  id: string;
  productId: string;
  userId: string;
  rating: number;
  title?: string;
  body: string;
  createdAt: string;
}

const toReview = (row: ReviewRow): Review => ({
  id: row.id,
  productId: row.productId,
  userId: row.userId,
  rating: row.rating,
  ...(row.title === null ? {} : { title: row.title }),
  body: row.body,
  createdAt: row.createdAt.toISOString(),
});

export function createReviewService(deps: {
  db: Db;
  catalog: Pick<CatalogModule, 'applyRating' | 'evict' | 'exists'>;
}) {
  const { db, catalog } = deps;
  return {
    /**
     * Adds the user's review and the product's new rating in one transaction: the rating update
     * also locks the product row and refuses an archived or absent product; a second review by the
     * same user rolls both back.
     */
    async create(
      productId: string,
      userId: string,
      input: { rating: number; title?: string; body: string },
    ): Promise<Review> {
      const row: ReviewRow = {
        id: uuidv7(),
        productId,
        userId,
        rating: input.rating,
        title: input.title ?? null,
        body: input.body,
        createdAt: new Date(),
      };
      await transact(db, async (tx) => {
        if (!(await catalog.applyRating(tx, productId, input.rating))) throw notFound(`Product ${productId}`);
        if (!(await store.insert(tx, row))) {
          throw conflict('REVIEW_EXISTS', 'You have already reviewed this product');
        }
      });
      await catalog.evict(productId);
      return toReview(row);
    },

    async list(productId: string, page: number, size: number) {
      if (!(await catalog.exists(productId))) throw notFound(`Product ${productId}`);
      const [rows, total] = await Promise.all([
        store.listByProduct(db, productId, (page - 1) * size, size),
        store.countByProduct(db, productId),
      ]);
      return { items: rows.map(toReview), page, size, total };
    },

    /** The newest `first` reviews of each product, keyed by product id; one query for any number. */
    async latestByProducts(productIds: readonly string[], first: number): Promise<Map<string, Review[]>> {
      const rows = await store.latestByProducts(db, [...new Set(productIds)], first);
      const byProduct = new Map<string, Review[]>(productIds.map((id) => [id, []]));
      for (const row of rows) byProduct.get(row.productId)?.push(toReview(row));
      return byProduct;
    },
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
